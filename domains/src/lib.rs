//! Domain programs shipped with Gnosis.

pub mod compute_loop;
