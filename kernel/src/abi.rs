// The numbers of the invocation ABI (design.md §9, §10, §11, §18): every
// order code, return code, alleged type, misc-key subtype, trap code and
// segment fault code a domain program can see, and the loader's address
// map, in one place.
//
// The kernel's handlers use these constants, and `domains/build.rs`
// `include!`s this very file to generate the C header of the SDK
// (`gnosis_abi.h`) and the Rust guest crate's constants, so a program and
// the kernel can never disagree on a number. That is why the file has no
// dependencies and no `use`: it must compile on its own inside a build
// script. [`TABLE`] lists every constant with its group and its doc line,
// in the order the header prints them.
//
// (Plain comments, not `//!`: an `include!`d file cannot carry inner doc
// comments. The module's doc is on `pub mod abi` in lib.rs.)

/// One constant of the ABI, as the header generator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Constant {
    /// The section it belongs to (a key type, a system domain, …).
    pub group: &'static str,
    /// Its name (upper case, the same in C, Rust and assembly).
    pub name: &'static str,
    /// Its value.
    pub value: u32,
    /// What it means (its doc comment).
    pub doc: &'static str,
}

/// Declares constants and appends them to the table of their group.
macro_rules! abi {
    ($table:ident, $group:literal: $( $(#[doc = $doc:literal])+ $name:ident = $value:expr; )+) => {
        $( $(#[doc = $doc])+ pub const $name: u32 = $value; )+
        const $table: &[Constant] = &[ $( Constant {
            group: $group,
            name: stringify!($name),
            value: $name,
            doc: concat!($($doc),+),
        }, )+ ];
    };
}

abi! { COMMON, "every key":
    /// Order code asking any key for its alleged type; also the base of the kernel's return codes.
    KT = 0x8000_0000;
    /// Return code: done.
    RC_OK = 0;
    /// Return code of a data key (any order): the string holds its value.
    RC_DATA = KT + 1;
    /// Return code: the key does not know this order code.
    RC_INVALID = KT + 2;
    /// Return code: the device key is stale (rescinded by a restart); get a fresh one.
    RC_STALE = KT + 3;
    /// Return code of a wait that a restart ended: the reply will never come.
    RC_RESTARTED = 2;
    /// Order code a meter keeper receives when the meter is exhausted.
    METER_EXHAUSTED = 1;
    /// The longest string an invocation sends (longer traps with code 7).
    MAX_STRING = 4096;
}

abi! { JUMPS, "jump types (exit block bits 4..6)":
    /// CALL: a fresh return key goes as key 3 and the invoker waits.
    JUMP_CALL = 0;
    /// RETURN: the invoker becomes available.
    JUMP_RETURN = 1;
    /// FORK: the invoker goes on running.
    JUMP_FORK = 2;
}

abi! { ALLEGED, "alleged types (the answer to order KT)":
    /// A read-write page key.
    AKT_PAGE = 0x202;
    /// A read-only page key.
    AKT_PAGE_RO = 0x1202;
    /// A node key.
    AKT_NODE = 3;
    /// A fetch key.
    AKT_FETCH = 4;
    /// A sense key.
    AKT_SENSE = 1;
    /// A segment key of lss 0 (add lss · 256, and 0x1000 when read-only).
    AKT_SEGMENT = 5;
    /// A meter key.
    AKT_METER = 6;
    /// A domain key.
    AKT_DOMAIN = 7;
    /// A node range key.
    AKT_NODE_RANGE = 771;
    /// A page range key.
    AKT_PAGE_RANGE = 770;
    /// A console device key.
    AKT_DEVICE = 0x10;
    /// The returner.
    AKT_RETURNER = 0x9;
    /// The domain tool.
    AKT_DOMAIN_TOOL = 0x109;
    /// The keybits key.
    AKT_KEYBITS = 0x209;
    /// The data-key creator.
    AKT_DATA_KEY_CREATOR = 0x309;
    /// The discrim key.
    AKT_DISCRIM = 0x409;
    /// A BWAIT key.
    AKT_BWAIT = 0x0C09;
    /// The checkpoint key.
    AKT_CHECKPOINT = 0x1209;
    /// The error key.
    AKT_ERROR = 0x1609;
    /// The journalize key.
    AKT_JOURNALIZE = 0x1C09;
    /// The migrate key.
    AKT_MIGRATE = 0x2A09;
    /// The system timer.
    AKT_TIMER = 0x509;
    /// The device creator.
    AKT_DEVICE_CREATOR = 0x4009;
    /// A console domain start key (the console program's answer).
    AKT_CONSOLE_DOMAIN = 0x434F4E;
    /// A key-value store start key (the kv program's answer).
    AKT_KV = 0x4B56;
    /// A space bank key (the bank program's answer).
    AKT_BANK = 0x0C;
}

abi! { MISC, "misc key subtypes (KeyKOS numbering)":
    /// Replies through a passed resume key, or returns keys to the caller.
    MISC_RETURNER = 0;
    /// Identifies start, resume and domain keys of a brand.
    MISC_DOMAIN_TOOL = 2;
    /// The 16-byte encoding of a key.
    MISC_KEYBITS = 4;
    /// Makes data keys.
    MISC_DATA_KEY_CREATOR = 6;
    /// Classifies and compares keys.
    MISC_DISCRIM = 8;
    /// A timer wait object.
    MISC_BWAIT = 12;
    /// Takes or waits for a checkpoint.
    MISC_CHECKPOINT = 18;
    /// Traps the invoker.
    MISC_ERROR = 22;
    /// Journals a page.
    MISC_JOURNALIZE = 28;
    /// Drives migration.
    MISC_MIGRATE = 42;
    /// Reads the system time.
    MISC_TIMER = 50;
    /// Makes fresh device keys.
    MISC_DEVICE_CREATOR = 64;
}

abi! { DATA, "data keys":
    /// Data key order: the 16-byte key image (any other order: the 8-byte value).
    DATA_IMAGE = 1;
}

abi! { PAGE, "page keys":
    /// A read-only key to the page.
    PAGE_MAKE_READ_ONLY = 0;
    /// Zero the page (RC_INVALID through a read-only key).
    PAGE_CLEAR = 39;
    /// rc 0 if the page is all zero, else 1.
    PAGE_TEST_ZERO = 41;
    /// Base: PAGE_WRITE + n writes the string at offset n (rc 1 past the end).
    PAGE_WRITE = 4096;
}

abi! { NODE, "node keys (fetch and sense keys answer NODE_FETCH and NODE_DATABYTE)":
    /// Base: NODE_FETCH + n fetches slot n (0..15).
    NODE_FETCH = 0;
    /// Base: NODE_SWAP + n swaps slot n with key 0.
    NODE_SWAP = 16;
    /// A fetch key (databyte = string byte 0).
    NODE_MAKE_FETCH = 32;
    /// A segment key (databyte = string byte 0).
    NODE_MAKE_SEGMENT = 33;
    /// A meter key.
    NODE_MAKE_METER = 34;
    /// A node key (databyte = string byte 0).
    NODE_MAKE_NODE = 35;
    /// A sense key.
    NODE_MAKE_SENSE = 36;
    /// rc 0 if key 0 designates this node.
    NODE_COMPARE = 38;
    /// Every slot DK(0).
    NODE_CLEAR = 39;
    /// rc = the key's databyte.
    NODE_DATABYTE = 40;
    /// Write data keys: string = first (u32), last (u32), 16-byte values.
    NODE_WRITE_DATA = 45;
    /// NODE_WRITE_DATA: the slot range is bad.
    NODE_RC_BAD_RANGE = 1;
    /// NODE_WRITE_DATA: a value's first 5 bytes were not zero (ignored).
    NODE_RC_HIGH_BYTES = 2;
}

abi! { DOMAIN, "domain keys":
    /// Base: DOMAIN_GET_SLOT + s gets root slot s (1, 2, 3, 10, 11, 12).
    DOMAIN_GET_SLOT = 0;
    /// Base: DOMAIN_GET_KEY + r gets key register r.
    DOMAIN_GET_KEY = 16;
    /// Base: DOMAIN_SWAP_SLOT + s swaps root slot s (1, 2, 3, 10, 12) with key 0.
    DOMAIN_SWAP_SLOT = 32;
    /// Base: DOMAIN_SWAP_KEY + r swaps key register r with key 0.
    DOMAIN_SWAP_KEY = 48;
    /// A start key (databyte = string byte 0).
    DOMAIN_MAKE_START = 64;
    /// Make the domain available (rc 1: it was busy).
    DOMAIN_MAKE_AVAILABLE = 65;
    /// A fault key (rc 1: busy).
    DOMAIN_MAKE_FAULT_KEY = 66;
    /// Make the domain busy; key 0 a fault key (rc 1: it was busy).
    DOMAIN_MAKE_BUSY = 67;
    /// Get control: pc, trap code, detail, state (4 × u32).
    DOMAIN_GET_CONTROL = 68;
    /// Put control: pc, trap code, detail.
    DOMAIN_PUT_CONTROL = 69;
    /// Get registers: pc, x1..x31 (32 × u32).
    DOMAIN_GET_REGS = 70;
    /// Put registers: pc, x1..x31.
    DOMAIN_PUT_REGS = 71;
    /// A return key (rc 1: busy).
    DOMAIN_MAKE_RETURN_KEY = 73;
    /// Replace the address segment by key 0 and the pc by the string's u32.
    DOMAIN_REPLACE_MEMORY = 74;
    /// Put registers (128 bytes) then control.
    DOMAIN_PUT_REGS_CONTROL = 75;
    /// rc 0 if key 0 is a gate to this domain.
    DOMAIN_COMPARE = 80;
    /// Return code: the domain is busy.
    DOMAIN_RC_BUSY = 1;
    /// Return code: the domain's nodes are malformed.
    DOMAIN_RC_MALFORMED = 2;
    /// Root slot: brand.
    DOMAIN_SLOT_BRAND = 0;
    /// Root slot: meter key.
    DOMAIN_SLOT_METER = 1;
    /// Root slot: domain keeper.
    DOMAIN_SLOT_KEEPER = 2;
    /// Root slot: address segment.
    DOMAIN_SLOT_MEMORY = 3;
    /// Root slot: trap code.
    DOMAIN_SLOT_TRAP_CODE = 5;
    /// Root slot: trap information.
    DOMAIN_SLOT_TRAP_INFO = 6;
    /// Root slot: name (a data key).
    DOMAIN_SLOT_NAME = 10;
    /// Root slot: instructions executed.
    DOMAIN_SLOT_INSTRUCTIONS = 11;
    /// Root slot: priority.
    DOMAIN_SLOT_PRIORITY = 12;
}

abi! { RANGE, "node range and page range keys":
    /// Create the object at the offset in the string (u64).
    RANGE_CREATE = 0;
    /// rc 0 and the offset (u64) of key 0's object; RANGE_RC_NOT_IN_RANGE.
    RANGE_IDENTIFY = 1;
    /// Sever key 0's object: a new key, every old one obsolete.
    RANGE_SEVER = 2;
    /// Destroy key 0's object.
    RANGE_DESTROY = 6;
    /// Destroy the object at the offset in the string.
    RANGE_DESTROY_AT = 8;
    /// Create the object at the offset, cleared.
    RANGE_CREATE_CLEAR = 9;
    /// Return code: the offset is outside the range.
    RANGE_RC_OUTSIDE = 1;
    /// Return code: the object is already allocated.
    RANGE_RC_IN_USE = 2;
    /// Return code: key 0 is not a full key to an object of the range.
    RANGE_RC_NOT_IN_RANGE = 0xFFFF_FFFF;
}

abi! { DEVICE, "console device keys":
    /// Read input: string u32 = most bytes (0: 4096); rc 1 another reader waits.
    CONSOLE_READ = 0;
    /// Write the string to the console (the console domain answers this order too).
    CONSOLE_WRITE = 1;
    /// CONSOLE_READ: another reader is waiting.
    CONSOLE_RC_BUSY = 1;
    /// Device subtype of the console (device creator order).
    DEVICE_CONSOLE = 1;
}

abi! { MISC_ORDERS, "misc keys":
    /// Domain tool: key 0 (a node key) as a domain key (rc DOMAIN_TOOL_RC_NO if not a node key).
    DOMAIN_TOOL_MAKE_DOMAIN = 0;
    /// Domain tool: identify key 0 as a start key to a domain of brand key 1: rc its databyte + key 0 a node key to the root, or DOMAIN_TOOL_RC_NO.
    DOMAIN_TOOL_IDENTIFY_START = 1;
    /// Domain tool: identify key 0 as a return or fault key of brand key 1 (as IDENTIFY_START).
    DOMAIN_TOOL_IDENTIFY_RESUME = 2;
    /// Domain tool: identify key 0 as a domain key of brand key 1 (as IDENTIFY_START).
    DOMAIN_TOOL_IDENTIFY_DOMAIN = 3;
    /// Domain tool: identify key 0 as a segment key whose keeper is a start key to a domain of brand key 1: rc keeper slot * 256 + the keeper key's databyte + key 0 a node key to the segment node, or DOMAIN_TOOL_RC_NO.
    DOMAIN_TOOL_IDENTIFY_SEGMENT_START = 5;
    /// Domain tool: as IDENTIFY_SEGMENT_START, the keeper a return or fault key.
    DOMAIN_TOOL_IDENTIFY_SEGMENT_RESUME = 6;
    /// Domain tool: as IDENTIFY_SEGMENT_START, the keeper a domain key.
    DOMAIN_TOOL_IDENTIFY_SEGMENT_DOMAIN = 7;
    /// Domain tool: identify key 0 as a meter key whose keeper (meter slot 2) is a start key to a domain of brand key 1 (as IDENTIFY_SEGMENT_START).
    DOMAIN_TOOL_IDENTIFY_METER_START = 9;
    /// Domain tool: as IDENTIFY_METER_START, the keeper a return or fault key.
    DOMAIN_TOOL_IDENTIFY_METER_RESUME = 10;
    /// Domain tool: as IDENTIFY_METER_START, the keeper a domain key.
    DOMAIN_TOOL_IDENTIFY_METER_DOMAIN = 11;
    /// Domain tool: the key is not what was asked (KeyKOS's -1).
    DOMAIN_TOOL_RC_NO = 0xFFFF_FFFF;
    /// Keybits: the 16-byte encoding of key 0 (order 0 only).
    KEYBITS_GET = 0;
    /// Data-key creator: DK(u64 in the string).
    DKC_FROM_U64 = 0;
    /// Data-key creator: an 11-byte data key from a 16-byte image (rc 1 high bytes ignored).
    DKC_FROM_IMAGE = 1;
    /// Discrim: classify key 0 (rc DISCRIM_CLASS_*).
    DISCRIM_CLASSIFY = 0;
    /// Discrim: rc 0 if key 0 is discreet.
    DISCRIM_DISCREET = 1;
    /// Discrim: rc 0 if keys 0 and 1 are the same.
    DISCRIM_COMPARE = 2;
    /// Discrim class: a data key.
    DISCRIM_CLASS_DATA = 1;
    /// Discrim class: a resume key.
    DISCRIM_CLASS_RESUME = 2;
    /// Discrim class: a memory key (page, segment, node, fetch, sense).
    DISCRIM_CLASS_MEMORY = 3;
    /// Discrim class: a meter key.
    DISCRIM_CLASS_METER = 4;
    /// Discrim class: anything else.
    DISCRIM_CLASS_OTHER = 5;
    /// BWAIT: wait until the wake time (rc 1 another waiter; RC_RESTARTED never: 0 at restart).
    BWAIT_WAIT = 0;
    /// BWAIT: set the wake time (u64 ns of system time).
    BWAIT_SET = 1;
    /// BWAIT_WAIT: another domain is waiting on this object.
    BWAIT_RC_BUSY = 1;
    /// Checkpoint: wait for a checkpoint at or after T (u64 ns).
    CKPT_WAIT = 0;
    /// Checkpoint: take one now and wait for it (string T = now).
    CKPT_TAKE = 1;
    /// Checkpoint: T is in the future.
    CKPT_RC_FUTURE = 1;
    /// Journalize: journal key 0's page.
    JOURNALIZE_PAGE = 0;
    /// Journalize: the page is new since the checkpoint.
    JOURNALIZE_RC_NEW_PAGE = 1;
    /// Journalize: the journal is full.
    JOURNALIZE_RC_FULL = 5;
    /// Migrate: wait for a migration.
    MIGRATE_WAIT = 0;
    /// Migrate: move these home frames (u64 each) to the front.
    MIGRATE_THESE = 1;
    /// Migrate: read the directory from entry n (u32).
    MIGRATE_READ = 2;
    /// Migrate: no migration under way / past the end.
    MIGRATE_RC_DONE = 1;
    /// System timer: read the system time (u64 ns).
    TIMER_READ = 7;
    /// Device creator: a current console device key.
    DEVICE_CREATOR_CONSOLE = 1;
}

abi! { TRAPS, "trap codes (root slot 5; the order code the keeper gets)":
    /// Illegal instruction (detail: the word; compressed instructions are illegal).
    TRAP_ILLEGAL_INSTRUCTION = 1;
    /// ebreak.
    TRAP_BREAKPOINT = 2;
    /// Jump or taken branch to a misaligned address.
    TRAP_MISALIGNED_JUMP = 3;
    /// Misaligned load.
    TRAP_MISALIGNED_LOAD = 4;
    /// Misaligned store.
    TRAP_MISALIGNED_STORE = 5;
    /// Bad invocation (exit block, string longer than 4096).
    TRAP_BAD_INVOCATION = 7;
    /// A received string could not be stored.
    TRAP_RECEIVE_FAULT = 8;
    /// The domain invoked the error key.
    TRAP_ERROR_KEY = 9;
    /// Stopped for good by gnosis snapshot --kill.
    TRAP_STOPPED = 10;
    /// Base: TRAP_MEMORY_FAULT + c is a memory fault with segment fault code c.
    TRAP_MEMORY_FAULT = 0x100;
}

abi! { FAULTS, "segment fault codes":
    /// A write through a read-only key.
    FAULT_READ_ONLY = 1;
    /// No memory at the address.
    FAULT_NO_MEMORY = 3;
    /// A red node's format slot is not a data key.
    FAULT_FORMAT_NOT_DATA = 7;
    /// A bad red-node format.
    FAULT_FORMAT_BAD = 8;
    /// lss out of range, or a path too long.
    FAULT_LSS = 9;
    /// A misaligned window.
    FAULT_WINDOW = 10;
    /// A damaged frame.
    FAULT_DAMAGED = 11;
}

abi! { LOADER, "the loader (design.md, the loader ABI)":
    /// The initial sp: the top of the stack.
    STACK_TOP = 0x7FFF_0000;
    /// The stack's size, mapped below STACK_TOP.
    STACK_BYTES = 256 * 1024;
    /// The lowest address a program should load at (the first page stays unmapped).
    LOAD_BASE = 0x1_0000;
}

abi! { CONSOLE_DOMAIN, "the console domain (console.s; a start key per client)":
    /// Write the string (unless the caller's channel is muted).
    CONSOLE_DOMAIN_WRITE = 1;
    /// Set the mute mask (u32, bit c mutes channel c).
    CONSOLE_DOMAIN_MUTE = 2;
}

abi! { KV, "the key-value store (kv.s)":
    /// Set: klen (u8), key, value. rc 0 durable; 1 full; 2 bad sizes.
    KV_SET = 1;
    /// Get: key. rc 0 + the value; 1 not set.
    KV_GET = 2;
    /// Delete: key. rc 0; 1 not set.
    KV_DELETE = 3;
    /// List: "key=value\n" lines.
    KV_LIST = 4;
    /// Count: rc = the number of entries.
    KV_COUNT = 5;
    /// KV_SET: the store is full. KV_GET, KV_DELETE: not set.
    KV_RC_MISSING = 1;
    /// KV_SET: key not 1..15 bytes or value over 40.
    KV_RC_BAD_SIZE = 2;
    /// Longest key.
    KV_MAX_KEY = 15;
    /// Longest value.
    KV_MAX_VALUE = 40;
}

abi! { BANK, "the space bank (bank.s; page orders are node orders + 16)":
    /// Create a node (key 0).
    BANK_CREATE_NODE = 0;
    /// Destroy key 0 (a node from this bank).
    BANK_DESTROY_NODE = 1;
    /// Sever key 0 (a node from this bank): key 0 a new key.
    BANK_SEVER_NODE = 2;
    /// Nodes available (u32).
    BANK_NODES_AVAILABLE = 5;
    /// Node statistics: u32 creates, u32 destroys.
    BANK_NODE_STATISTICS = 6;
    /// Change the node limit by an i32 delta.
    BANK_CHANGE_NODE_LIMIT = 11;
    /// Create a page (key 0).
    BANK_CREATE_PAGE = 16;
    /// Destroy key 0 (a page from this bank).
    BANK_DESTROY_PAGE = 17;
    /// Sever key 0 (a page from this bank).
    BANK_SEVER_PAGE = 18;
    /// Pages available (u32).
    BANK_PAGES_AVAILABLE = 21;
    /// Page statistics.
    BANK_PAGE_STATISTICS = 22;
    /// Change the page limit by an i32 delta.
    BANK_CHANGE_PAGE_LIMIT = 27;
    /// Destroy this bank and all its space.
    BANK_DESTROY = 64;
    /// Statistics: u64 node creates, node destroys, page creates, page destroys.
    BANK_STATISTICS = 65;
    /// Create a sub-bank (string: u32 node limit, u32 page limit; none: unlimited).
    BANK_CREATE_BANK = 67;
    /// Create two nodes at once (keys 0 and 1; all or none).
    BANK_CREATE_TWO_NODES = 7;
    /// Create three nodes at once (keys 0..2; all or none).
    BANK_CREATE_THREE_NODES = 8;
    /// Destroy the nodes keys 0 and 1 (both from this bank, or neither).
    BANK_DESTROY_TWO_NODES = 9;
    /// Create two pages at once.
    BANK_CREATE_TWO_PAGES = 23;
    /// Create three pages at once.
    BANK_CREATE_THREE_PAGES = 24;
    /// Destroy the pages keys 0 and 1.
    BANK_DESTROY_TWO_PAGES = 25;
    /// A weaker key: BANK_WEAKEN + what it may not do (BANK_NO_* bits, 1..=7).
    BANK_WEAKEN = 32;
    /// A weaker key may not destroy the bank.
    BANK_NO_DESTROY = 1;
    /// A weaker key may not query (available, statistics).
    BANK_NO_QUERY = 2;
    /// A weaker key may not change limits.
    BANK_NO_LIMITS = 4;
    /// Verify: is key 0 an official bank key? rc 0 yes, 1 no.
    BANK_VERIFY = 66;
    /// Return code: a limit is reached (or: not from this bank).
    BANK_RC_LIMIT = 1;
    /// Return code: the range is exhausted (or: no room for another bank).
    BANK_RC_EXHAUSTED = 2;
}

abi! { CLOCK, "the clock (domains/system/src/bin/clock.rs, design.md §24)":
    /// Alleged type of the clock.
    AKT_CLOCK = 0x12;
    /// Nanoseconds since midnight UTC (u64) of the u64 Unix ns given, or of now.
    CLOCK_SINCE_MIDNIGHT = 3;
    /// The time now: u64 Unix ns.
    CLOCK_NOW = 4;
    /// "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) of the u64 Unix ns given, or of now.
    CLOCK_ISO8601 = 5;
    /// The calendar offset: i64 Unix ns minus system ns.
    CLOCK_OFFSET = 9;
}

abi! { RECORDS, "record collections (domains/system/src/bin/rcol.rs, design.md §24; KeyKOS rc.h)":
    /// Alleged type of the record-collection factory (RCF).
    AKT_RCF = 0x0F;
    /// Alleged type of an entry-sequence record collection.
    AKT_RC_ENTRY_SEQUENCE = 0x16;
    /// Alleged type of a name-sequence record collection.
    AKT_RC_NAME_SEQUENCE = 0x17;
    /// RCF: keys (psb, meter, sb) -> an entry-sequence collection; + 2 * the longest record (0: RCOL_MAX_RECORD).
    RCF_CREATE_ENTRY_SEQUENCE = 0;
    /// RCF: keys (psb, meter, sb) -> a name-sequence collection; + 2 * the longest record.
    RCF_CREATE_NAME_SEQUENCE = 1;
    /// RCF return code: key 0 is not an official bank.
    RCF_RC_NOT_OFFICIAL_BANK = 1;
    /// RCF return code: the bank has no room for the collection.
    RCF_RC_NO_SPACE = 2;
    /// u32 rights mask (RCOL_NO_* bits) ORed into this key's -> u32 the new rights + key 0 a weaker key.
    RCOL_WEAKEN = 0;
    /// Delete every record.
    RCOL_EMPTY = 1;
    /// Add the record or replace the one of its name (reply: the old record, rc 1 with its key or 2).
    RCOL_ADD_REPLACE = 2;
    /// Add the record (rc 3 if the name exists; entry sequence: name 4 zero bytes, reply [4, the new name]).
    RCOL_ADD = 3;
    /// Replace the record of its name (rc 4 if none; reply the old record, rc 1 with its key or 2).
    RCOL_REPLACE = 4;
    /// RCOL_ADD_REPLACE, the record holding key 0.
    RCOL_ADD_REPLACE_KEY = 5;
    /// RCOL_ADD, the record holding key 0.
    RCOL_ADD_KEY = 6;
    /// RCOL_REPLACE, the record holding key 0.
    RCOL_REPLACE_KEY = 7;
    /// The first record (rc 1: with its key as key 0; 4: none).
    RCOL_GET_FIRST = 8;
    /// The last record whose name is less than the one given.
    RCOL_GET_LESS = 9;
    /// The last record whose name is less than or equal to the one given.
    RCOL_GET_LESS_EQUAL = 10;
    /// The record of the name given.
    RCOL_GET_EQUAL = 11;
    /// The first record whose name is greater than or equal to the one given.
    RCOL_GET_GREATER_EQUAL = 12;
    /// The first record whose name is greater than the one given.
    RCOL_GET_GREATER = 13;
    /// The last record.
    RCOL_GET_LAST = 14;
    /// Name sequence: delete the record of the name given; reply it and its key (rc 0).
    RCOL_DELETE = 15;
    /// Entry sequence: delete the record named and every later one (name sequence: RCOL_DELETE).
    RCOL_TRUNCATE_AT = 16;
    /// Entry sequence: delete every record after the one named (no name: every record).
    RCOL_TRUNCATE_AFTER = 17;
    /// Keep up to RCOL_MAX_USER_DATA bytes of the user's.
    RCOL_WRITE_USER_DATA = 18;
    /// The user's bytes.
    RCOL_READ_USER_DATA = 19;
    /// Destroy the collection: every node and page it bought goes back to its bank.
    RCOL_DESTROY = KT + 4;
    /// Return code: done, the reply holds a key (or: the record replaced held one).
    RCOL_RC_WITH_KEY = 1;
    /// Return code: the record replaced held no key.
    RCOL_RC_NO_KEY_REPLACED = 2;
    /// Return code: a record of that name exists.
    RCOL_RC_DUPLICATE = 3;
    /// Return code: no such record.
    RCOL_RC_NOT_FOUND = 4;
    /// Return code: the user data is longer than RCOL_MAX_USER_DATA.
    RCOL_RC_LENGTH = 6;
    /// Return code: not a name of this entry sequence (4 bytes; 4 zero bytes to add), or a weaken mask not 4 bytes.
    RCOL_RC_BAD_NAME = 7;
    /// Return code: this key's rights do not allow it.
    RCOL_RC_NOT_ALLOWED = 8;
    /// Return code: the collection's bank has no node for it.
    RCOL_RC_NO_NODES = 9;
    /// Return code: the collection's bank has no page for it.
    RCOL_RC_NO_PAGES = 10;
    /// Return code: the collection holds RCOL_MAX_RECORDS records.
    RCOL_RC_FULL = 11;
    /// Return code: the record is longer than the collection's longest.
    RCOL_RC_MAX_LENGTH = 12;
    /// Return code: the record's name length runs past its end.
    RCOL_RC_FORMAT = KT + 3;
    /// Right: may not read the user data.
    RCOL_NO_READ_USER = 0x40;
    /// Right: may not write the user data.
    RCOL_NO_WRITE_USER = 0x20;
    /// Right: may not read records.
    RCOL_NO_READ = 0x10;
    /// Right: may not add or replace records.
    RCOL_NO_WRITE = 0x08;
    /// Right: may not replace an existing record.
    RCOL_NO_UPDATE = 0x04;
    /// Right: may not delete records.
    RCOL_NO_DELETE = 0x02;
    /// Right: may not empty, truncate or destroy the collection.
    RCOL_NO_EMPTY = 0x01;
    /// The longest record: 1 byte name length, the name, the data.
    RCOL_MAX_RECORD = 512;
    /// The most user data.
    RCOL_MAX_USER_DATA = 128;
    /// The most records in one collection.
    RCOL_MAX_RECORDS = 1008;
}

abi! { WAIT, "wait objects and their factory (domains/system/src/bin/waitf.rs, design.md §24; KeyKOS wait.h)":
    /// Alleged type of the wait-object factory (WaitF).
    AKT_WAITF = 0x325;
    /// Alleged type of a wait object.
    AKT_WAIT = 0x25;
    /// WaitF: keys (psb, meter, sb) -> a wait object (rc RCF_RC_NOT_OFFICIAL_BANK, RCF_RC_NO_SPACE).
    WAITF_CREATE = 0;
    /// Wait until the wake-up time (rc 0; at once if it has passed; never if none is set).
    WAIT_WAIT = 0;
    /// Set the wake-up time: u64 Unix ns.
    WAIT_SET_TOD = 1;
    /// Set the wake-up time to now + u64 microseconds.
    WAIT_SET_INTERVAL = 2;
    /// WAIT_SET_TOD, then WAIT_WAIT.
    WAIT_SET_TOD_AND_WAIT = 3;
    /// WAIT_SET_INTERVAL, then WAIT_WAIT.
    WAIT_SET_INTERVAL_AND_WAIT = 4;
    /// The wake-up time as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes; rc 4 if none is set).
    WAIT_SHOW_TIME = 5;
    /// The time now: u64 Unix ns.
    WAIT_SHOW_TOD = 7;
    /// Destroy the wait object (its waiter gets RC_DATA); its node goes back to its bank.
    WAIT_DESTROY = KT + 4;
    /// Return code: another caller is waiting on this object.
    WAIT_RC_BUSY = 1;
    /// Return code: the multiplexer has no room for another waiter.
    WAIT_RC_FULL = 2;
    /// Return code of WAIT_SHOW_TIME: no wake-up time is set.
    WAIT_RC_NOT_SET = 4;
    /// Return code: the string is not a u64.
    WAIT_RC_FORMAT = KT + 3;
    /// The most callers waiting on wait objects at once.
    WAIT_MAX_WAITERS = 128;
}

/// Every constant, by group, in header order.
pub const TABLE: &[&[Constant]] = &[
    COMMON,
    JUMPS,
    ALLEGED,
    MISC,
    DATA,
    PAGE,
    NODE,
    DOMAIN,
    RANGE,
    DEVICE,
    MISC_ORDERS,
    TRAPS,
    FAULTS,
    LOADER,
    CONSOLE_DOMAIN,
    KV,
    BANK,
    CLOCK,
    RECORDS,
    WAIT,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MiscKind;
    use crate::segment::FaultCode;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = TABLE.iter().flat_map(|g| g.iter().map(|c| c.name)).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "two constants share a name");
    }

    #[test]
    fn misc_subtypes_are_the_kernels() {
        let pairs = [
            (MiscKind::Returner, MISC_RETURNER),
            (MiscKind::DomainTool, MISC_DOMAIN_TOOL),
            (MiscKind::Keybits, MISC_KEYBITS),
            (MiscKind::DataKeyCreator, MISC_DATA_KEY_CREATOR),
            (MiscKind::Discrim, MISC_DISCRIM),
            (MiscKind::Bwait, MISC_BWAIT),
            (MiscKind::Checkpoint, MISC_CHECKPOINT),
            (MiscKind::Error, MISC_ERROR),
            (MiscKind::Journalize, MISC_JOURNALIZE),
            (MiscKind::Migrate, MISC_MIGRATE),
            (MiscKind::SystemTimer, MISC_TIMER),
            (MiscKind::DeviceCreator, MISC_DEVICE_CREATOR),
        ];
        for (kind, code) in pairs {
            assert_eq!(kind as u16 as u32, code, "{kind:?}");
            assert_eq!(MiscKind::from_code(code as u16), Some(kind));
        }
        assert_eq!(MISC.len(), pairs.len(), "a misc subtype without a MiscKind");
    }

    #[test]
    fn fault_codes_and_loader_are_the_kernels() {
        let faults = [
            (FaultCode::ReadOnly, FAULT_READ_ONLY),
            (FaultCode::Outside, FAULT_NO_MEMORY),
            (FaultCode::FormatNotData, FAULT_FORMAT_NOT_DATA),
            (FaultCode::FormatBad, FAULT_FORMAT_BAD),
            (FaultCode::LssRange, FAULT_LSS),
            (FaultCode::WindowMisaligned, FAULT_WINDOW),
            (FaultCode::Damaged, FAULT_DAMAGED),
        ];
        for (fault, code) in faults {
            assert_eq!(fault as u32, code, "{fault:?}");
        }
        assert_eq!(crate::elf::STACK_TOP, STACK_TOP);
        assert_eq!(crate::elf::STACK_BYTES, STACK_BYTES);
        assert_eq!(crate::device::CONSOLE as u32, DEVICE_CONSOLE);
        assert_eq!(crate::domain::SLOT_MEMORY as u32, DOMAIN_SLOT_MEMORY);
    }
}
