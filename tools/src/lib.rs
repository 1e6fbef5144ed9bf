//! The machinery behind the `gnosis` commands that is worth testing and
//! reusing on its own: benchmark measurements, crash-injection campaigns,
//! worlds and the GDB stub.

pub mod bench;
pub mod crash;
pub mod gdb;
pub mod world;
