// The addresses and numbers the system domains and the big bang agree on.
// This file is also included by `build.rs`, which passes every constant in
// `DEFINES` to the assembler, so the programs and the Rust side share one
// definition.

/// Where the big bang maps a domain's configuration page (read-only).
pub const CONFIG: u32 = 0x00F0_0000;
/// Where the checkpoint driver and the key-value store map the journal page.
pub const JOURNAL: u32 = 0x0020_0000;
/// Where the checkpoint driver maps its crash table page.
pub const CRASH_TABLE: u32 = 0x0030_0000;
/// Where the space bank maps its node owner table (a u16 per node of its range).
pub const NODE_OWNER: u32 = 0x0100_0000;
/// Where the space bank maps its page owner table (a u16 per page of its range).
pub const PAGE_OWNER: u32 = 0x0200_0000;
/// Where a server that works on objects' segments sees them (a 1 MiB
/// window, slot 0 of an lss-5 node; `domains/system/src/window.rs`).
pub const WINDOW: u32 = 0x4000_0000;
/// The most banks (the prime bank and its sub-banks) at once.
pub const MAX_BANKS: u32 = 1024;
/// Entries the crash table keeps (the newest; KeyKOS kept 100).
pub const CRASH_ENTRIES: u32 = 100;
/// Console channels (the databyte of a console start key; a channel can be muted).
pub const CHANNEL_COUNTER: u32 = 1;
/// The key-value store's channel.
pub const CHANNEL_KV: u32 = 2;
/// The shell's channel.
pub const CHANNEL_SHELL: u32 = 3;
/// Channel of programs installed by users.
pub const CHANNEL_USER: u32 = 4;

/// Every constant above, by the name the assembly sources use.
pub const DEFINES: &[(&str, u32)] = &[
    ("CONFIG", CONFIG),
    ("JOURNAL", JOURNAL),
    ("WINDOW", WINDOW),
    ("CRASH_TABLE", CRASH_TABLE),
    ("NODE_OWNER", NODE_OWNER),
    ("PAGE_OWNER", PAGE_OWNER),
    ("MAX_BANKS", MAX_BANKS),
    ("CRASH_ENTRIES", CRASH_ENTRIES),
    ("CHANNEL_COUNTER", CHANNEL_COUNTER),
    ("CHANNEL_KV", CHANNEL_KV),
    ("CHANNEL_SHELL", CHANNEL_SHELL),
    ("CHANNEL_USER", CHANNEL_USER),
];
