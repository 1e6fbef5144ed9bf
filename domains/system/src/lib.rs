//! What the system domains written in Rust share (design.md §24): the key
//! registers every one of them has, and objects made of nodes.
//!
//! Every system object (a domain creator, a factory, a KID, a record
//! collection, a wait object, a VCS) is made of nodes bought from the bank
//! of whoever asked for it, and served by one domain per kind of object
//! (the space bank's design, §18): a key to an object is a segment key to
//! one of its *front-end nodes*, a red node whose keeper slot holds a start
//! key to its server, so invoking it calls the server with key 2 replaced
//! by a node key to that front end. The start key's databyte names the
//! facet. Only the server holds start keys to itself, so only the server
//! can make front ends: the front end a call arrives through is genuine.
//! The object's state lives in its nodes, so it is checkpointed with them,
//! paid for by the bank that bought them, and gone when that bank is
//! destroyed.

#![no_std]

pub mod object;
pub mod records;
pub mod time;
pub mod window;

/// A u64 field of a page mapped read-only at `address` (the journal page's
/// kernel fields, for the clock).
pub fn journal_field(address: usize) -> u64 {
    // Safety: the big bang maps the journal page read-only at JOURNAL in
    // every domain that calls this, and the kernel fields are aligned u64s
    // inside it; a volatile read, because the kernel rewrites them at
    // every restart.
    unsafe { core::ptr::read_volatile(address as *const u64) }
}
