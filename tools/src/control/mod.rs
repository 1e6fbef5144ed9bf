//! The control socket of a running world: how `gnosis checkpoint`, `ps`,
//! `status`, `top`, `install`, `snapshot` and `resume` reach the world a
//! `gnosis run` keeps running.
//!
//! **Where** ([`location`]): a Unix socket named after the image file's
//! device and inode (so every path to one image finds one socket), mode
//! 0600, in a directory only its owner can enter and write:
//! `$XDG_RUNTIME_DIR/gnosis/`, else `/tmp/gnosis-UID/`, made 0700 and
//! checked before every use (a directory, not a symlink, ours, no access
//! for group or others).
//!
//! **Who** ([`server`]): only processes of the world's own user (the
//! peer's uid from `SO_PEERCRED`); the client checks the server the same
//! way. At most [`MAX_CONNECTIONS`] at once.
//!
//! **Protocol.** One request per connection. The request is a line of at
//! most [`MAX_REQUEST_LINE`] bytes, tab-separated fields, the verb first;
//! a request that carries files ends with their lengths in bytes, and the
//! files follow the line. The server never opens a path a client names:
//! files travel as contents, read and written by the client with its own
//! rights.
//!
//! | request | carries | answer |
//! |---|---|---|
//! | `checkpoint` | | `checkpoint generation N` |
//! | `ps` | | the `gnosis ps` table |
//! | `status` | | the status, JSON |
//! | `install NAME KEYS LEN` | the ELF program | `installed …` |
//! | `snapshot ID kill\|keep` | | `snapshot ROOT M P N` then the snapshot's three files (see below) |
//! | `resume ORIGIN NAME MAPS M P N` | the snapshot's three files | `resumed …` |
//!
//! Every other answer is text until the server closes the connection;
//! one that starts with `error` is a refusal. A snapshot comes back as
//! its manifest, pages and nodes files (`M`, `P`, `N` bytes), which the
//! client checks in full and writes itself; with `kill`, the world waits
//! (at most [`SNAPSHOT_CONFIRM`]) until the client answers `written` before
//! it stops the domain (and answers `stopped GENERATION`), or `failed`, and
//! then the domain runs on. Lengths over a request's limits, lines over
//! [`MAX_REQUEST_LINE`] and unknown requests are refused with an error
//! before anything is read into memory.
//!
//! **Time.** Every client waits at most a timeout (its `--timeout`: 10 s
//! for `ps`, `status` and `top`, more for the commands that do work) and
//! then says the world is not responding; the server gives a client
//! [`SERVER_PATIENCE`] to send its request and read its answer.

pub mod client;
pub mod location;
pub mod server;

use std::time::Duration;

pub use client::{Client, Refused, Unanswered};
pub use server::{Reply, Request, Server};

/// The longest request line, in bytes.
pub const MAX_REQUEST_LINE: usize = 4096;
/// The biggest program `install` takes, in bytes.
pub const MAX_PROGRAM_BYTES: u64 = 64 << 20;
/// Control connections served at once; more are refused with an error.
pub const MAX_CONNECTIONS: usize = 16;
/// How long the server waits for a client to send its request, or to read
/// its answer.
pub const SERVER_PATIENCE: Duration = Duration::from_secs(30);
/// How long a world waits for a client to write a `snapshot --kill` before
/// it gives up and lets the domain run on.
pub const SNAPSHOT_CONFIRM: Duration = Duration::from_secs(60);

/// A request the server knows: its verb, how many text fields follow it,
/// and the limit of each file it carries (their lengths end the line).
pub struct Verb {
    /// The first field.
    pub name: &'static str,
    /// Text fields after the verb.
    pub fields: usize,
    /// Each carried file's limit in bytes, in order.
    pub files: &'static [u64],
}

/// Every request.
pub const VERBS: &[Verb] = &[
    Verb { name: "checkpoint", fields: 0, files: &[] },
    Verb { name: "ps", fields: 0, files: &[] },
    Verb { name: "status", fields: 0, files: &[] },
    Verb { name: "install", fields: 2, files: &[MAX_PROGRAM_BYTES] },
    Verb { name: "snapshot", fields: 2, files: &[] },
    Verb { name: "resume", fields: 3, files: &crate::snapshot::format::FILE_LIMITS },
];
