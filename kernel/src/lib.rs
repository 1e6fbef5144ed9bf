//! The Gnosis kernel: pages, nodes and keys in a memory-mapped image.

pub mod check;
pub mod inspect;
pub mod key;
pub mod object;
pub mod restart;
pub mod store;
