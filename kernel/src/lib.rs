//! The Gnosis kernel: pages, nodes and keys in a memory-mapped image.

/// Every number of the invocation ABI (order, return, trap and fault codes,
/// alleged types, the loader's map), shared with the SDK: see the file's head.
pub mod abi;
pub mod builder;
pub mod check;
pub mod checkpoint;
pub mod clock;
pub mod cpu;
pub mod debug;
pub mod device;
pub mod domain;
pub mod elf;
pub mod inspect;
pub mod invoke;
pub mod journal;
pub mod kernel;
pub mod key;
pub mod memory;
pub mod meter;
pub mod object;
pub mod operator;
pub mod restart;
pub mod segment;
pub mod store;
pub mod transition;
pub mod trap;
pub mod wait;
