//! The machinery behind the `gnosis` commands that is worth testing and
//! reusing on its own: benchmark measurements and crash-injection campaigns.

pub mod bench;
pub mod crash;
pub mod world;
