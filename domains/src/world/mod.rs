//! The world these programs make: the big bang that builds the primordial
//! world in a new image ([`big_bang`]), installing users' programs in a
//! world ([`install`]), and the checkpoint driver's crash table
//! ([`crash_table`]). Here, beside the programs, so that the command line
//! (`tools`) and the tests share one home for the world.

pub mod big_bang;
pub mod crash_table;
pub mod install;
