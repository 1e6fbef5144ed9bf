//! The big bang: the primordial world `gnosis format` builds in a new
//! image (KeyKOS `Base/ckitems.c`): the meter tree, the system domains
//! (space bank, checkpoint driver, migrator, console, shell), the demos
//! (counter, key-value store) and the operator, with the keys wired between
//! them. design.md ("The primordial world") draws it; each program's source
//! in `domains/programs/` documents its keys and protocol.
//!
//! Everything here is made with the builder's lowest-first allocation; the
//! space bank's range keys cover every object above what the big bang used,
//! so from then on new objects come only from the bank.

use crate::layout::{
    CHANNEL_COUNTER, CHANNEL_SHELL, CHANNEL_USER, CONFIG, CRASH_TABLE, JOURNAL, NODE_OWNER, PAGE_OWNER,
    WINDOW,
};
use kernel::builder::{Builder, DomainSpec};
use kernel::device::CONSOLE;
use kernel::domain::RunState;
use kernel::journal::JOURNAL_PAGE;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key, KeyType, MemoryFlags, MiscKind};
use kernel::operator::Operator;

/// Instructions on the prime meter: all ones, unlimited in practice (KeyKOS).
pub const PRIME_CPU: u64 = u64::MAX;

/// Choices a new world is made with.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Seconds between the checkpoint driver's checkpoints (1..=300).
    pub checkpoint_interval_s: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { checkpoint_interval_s: 30 }
    }
}

/// Key registers of the operator domain, which tools use to act in the world.
pub mod operator_keys {
    /// The prime bank.
    pub const BANK: usize = 1;
    /// The console, on the operator's channel; `install` makes each
    /// program a channel of its own from it.
    pub const CONSOLE: usize = 2;
    /// The key-value store.
    pub const KV: usize = 3;
    /// The user meter, which installed programs run on.
    pub const USER_METER: usize = 4;
    /// The system directory (a name-sequence record collection, design.md
    /// §24), with every right.
    pub const DIRECTORY: usize = 5;
    /// Scratch: the bank `gnosis install` is buying from.
    pub const SCRATCH_BANK: usize = 6;
}

/// The databyte of the record-collection factory's start key (RCF) to the
/// `rcol` server; its collections' front ends use 0..=0x7F, their rights.
pub const RCF_FACET: u8 = 0xFF;
/// The databyte of the wait-object factory's start key (WaitF) to the
/// `waitf` server.
pub const WAITF_FACET: u8 = 0xFF;

/// The console's control facet: a start key with this databyte mutes any
/// channel (the shell's `counter on|off`); only the shell holds one.
pub const CONSOLE_CONTROL: u8 = 0;

/// Stack of each system domain (their programs use a few hundred bytes).
const SYSTEM_STACK: u32 = 16 * 1024;
/// The checkpoint driver's BWAIT object.
const BWAIT_CKPTDVR: u32 = 0;
/// The counter's BWAIT object.
const BWAIT_COUNTER: u32 = 1;
/// The wait multiplexer's BWAIT object (`waitf` and its ticker); `install`
/// must never grant it.
pub const BWAIT_WAIT_MULTIPLEXER: u32 = 7;
/// The databyte of the wait multiplexer's tick facet, which only its
/// ticker holds (`domains/system/src/bin/waitf.rs`).
const WAIT_TICK_FACET: u8 = 0xFE;
/// The front-end node slot holding the bank's start key.
const BANK_KEEPER_SLOT: u8 = 14;
/// The front-end node slot holding its format key.
const FORMAT_SLOT: usize = 15;

/// Extra pages a system domain maps besides its program.
enum Mapping {
    /// The configuration page at `CONFIG`, read-only, with these bytes.
    Config(Vec<u8>),
    /// The journal page at `JOURNAL`.
    Journal { writable: bool },
    /// Fresh zeroed pages over `len` bytes at `vaddr`.
    Fresh { vaddr: u32, len: u32 },
    /// The server's window (`domains/system/src/window.rs`): an lss-5 node
    /// whose slot 0 covers the MiB at `WINDOW`, a node key to it in key
    /// register `register`.
    Window { register: usize, keeper: Key },
}

/// Builds the primordial world in a freshly formatted, booted image. Every
/// domain starts running: servers run their start-up code and become
/// available on their own, so no request can reach one before it is ready.
pub fn build(k: &mut Kernel, settings: &Settings) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=300).contains(&settings.checkpoint_interval_s),
        "the checkpoint interval must be 1 to 300 seconds (KeyKOS's driver checkpoints at least every 5 minutes)"
    );
    let geometry = k.layout().geometry;
    let stamp = k.restart_stamp();
    let mut b = Builder::new(k);
    let prime = b.prime_meter(PRIME_CPU)?;
    let system = b.meter(prime, PRIME_CPU, Key::NULL)?;
    let user = b.meter(prime, PRIME_CPU, Key::NULL)?;
    // The migrator runs on its own meter right under the prime meter, as
    // EMIGC does, so it runs whatever happens to the other meters.
    let migration = b.meter(prime, PRIME_CPU, Key::NULL)?;
    let creator = Key::misc(MiscKind::DeviceCreator);
    let device = Key::device(CONSOLE, 0, stamp);
    let timer = Key::misc(MiscKind::SystemTimer);
    let checkpoint = Key::misc(MiscKind::Checkpoint);

    // Servers reply through the returner, never through a key a client
    // passed them (`REPLY_WAIT` in gnosis.inc).
    let returner = Key::misc(MiscKind::Returner);
    let console_keys = [(1, creator), (2, device), (3, returner)];
    let console = spawn(&mut b, "console", system, RunState::Running, &console_keys, vec![])?.0;
    let kv = spawn(
        &mut b,
        "kv",
        user,
        RunState::Running,
        &[(1, timer), (2, checkpoint), (3, returner)],
        vec![Mapping::Journal { writable: true }],
    )?
    .0;
    let interval = settings.checkpoint_interval_s.to_le_bytes().to_vec();
    let ckptdvr_keys = [(1, timer), (2, Key::misc_indexed(MiscKind::Bwait, BWAIT_CKPTDVR)), (3, checkpoint)];
    let ckptdvr_maps = vec![
        Mapping::Config(interval),
        Mapping::Journal { writable: false },
        Mapping::Fresh { vaddr: CRASH_TABLE, len: 4096 },
    ];
    spawn(&mut b, "ckptdvr", system, RunState::Running, &ckptdvr_keys, ckptdvr_maps)?;
    spawn(&mut b, "migrator", migration, RunState::Running, &[(1, Key::misc(MiscKind::Migrate))], vec![])?;
    let counter_keys = [
        (1, timer),
        (2, Key::misc_indexed(MiscKind::Bwait, BWAIT_COUNTER)),
        (3, b.start_key(console, CHANNEL_COUNTER as u8)),
    ];
    spawn(&mut b, "counter", user, RunState::Running, &counter_keys, vec![])?;
    let shell_keys = [
        (1, creator),
        (2, device),
        (3, b.start_key(console, CHANNEL_SHELL as u8)),
        (4, b.start_key(kv, 0)),
        (5, b.start_key(console, CONSOLE_CONTROL)),
    ];
    spawn(&mut b, "shell", user, RunState::Running, &shell_keys, vec![])?;

    // The space bank: its owner tables cover the whole image (a bound on
    // its ranges, which are only known once everything else is made).
    let owner_tables = vec![
        Mapping::Config(vec![0; 8]),
        Mapping::Fresh { vaddr: NODE_OWNER, len: (2 * geometry.node_count()) as u32 },
        Mapping::Fresh { vaddr: PAGE_OWNER, len: (2 * geometry.page_count) as u32 },
    ];
    let format = kernel::segment::format_key(0, 0, Some(BANK_KEEPER_SLOT), None);
    let bank_own = [(8, format), (10, returner)];
    let (bank, bank_config) = spawn(&mut b, "bank", system, RunState::Running, &bank_own, owner_tables)?;
    let front = b.node()?;
    let bank_gate = b.start_key(bank, 0);
    b.set(front, FORMAT_SLOT, format)?;
    b.set(front, BANK_KEEPER_SLOT as usize, bank_gate)?;
    let prime_bank = b.key(KeyType::Segment, front, 0);

    let operator = Operator::new(&mut b, system)?;
    let operator_keys = [
        (operator_keys::BANK, prime_bank),
        (operator_keys::CONSOLE, b.start_key(console, CHANNEL_USER as u8)),
        (operator_keys::KV, b.start_key(kv, 0)),
        (operator_keys::USER_METER, user),
    ];
    for (slot, key) in operator_keys {
        b.set_key_register(operator.root, slot, key)?;
    }

    // The system servers written in Rust (design.md §24).
    spawn_server(
        &mut b,
        "clock",
        system,
        prime_bank,
        &[(7, timer)],
        vec![Mapping::Journal { writable: false }],
    )?;
    let scratch = scratch_segment(&mut b)?;
    let wkeeper_keys = [(1, Key::misc(MiscKind::Returner)), (2, scratch), (3, Key::misc(MiscKind::Discrim))];
    let wkeeper = spawn(&mut b, "wkeeper", system, RunState::Running, &wkeeper_keys, vec![])?.0;
    let window = Mapping::Window { register: 7, keeper: b.start_key(wkeeper, 0) };
    let rcol = spawn_server(&mut b, "rcol", system, prime_bank, &[], vec![window])?;
    let directory = empty_directory(&mut b, rcol, prime_bank)?;
    b.set_key_register(operator.root, operator_keys::DIRECTORY, directory)?;
    let bwait = Key::misc_indexed(MiscKind::Bwait, BWAIT_WAIT_MULTIPLEXER);
    let waitf_keys = [(7, bwait), (8, timer), (9, parking_tree(&mut b)?)];
    let journal = vec![Mapping::Journal { writable: false }];
    let waitf = spawn_server(&mut b, "waitf", system, prime_bank, &waitf_keys, journal)?;
    let ticker_keys = [(1, bwait), (2, b.start_key(waitf, WAIT_TICK_FACET))];
    spawn(&mut b, "waittick", system, RunState::Running, &ticker_keys, vec![])?;

    // The ranges: every object above what the big bang used.
    let (first_node, first_page) = b.high_water();
    let nodes = u32::try_from(geometry.node_count() - first_node)?;
    let pages = u32::try_from(geometry.page_count - first_page)?;
    let prime_front = b.key(KeyType::Node, front, 0);
    let bank_keys = [
        (1, Key::range(KeyType::NodeRange, Cda::node(first_node), nodes)),
        (2, Key::range(KeyType::PageRange, Cda::page(first_page), pages)),
        (3, bank_gate),
        (9, prime_front),
        (14, Key::misc(MiscKind::DomainTool)),
    ];
    for (slot, key) in bank_keys {
        b.set_key_register(bank, slot, key)?;
    }
    // The bank's brand is the node key to the prime bank's front end, a key
    // only the bank holds: VerifyBank recognises every bank key by it.
    b.set(bank, kernel::domain::SLOT_BRAND, prime_front)?;
    let counts: Vec<u8> = [nodes, pages].iter().flat_map(|n| n.to_le_bytes()).collect();
    b.kernel().write_page(bank_config.expect("the bank has a configuration page"), 0, &counts)?;
    Ok(())
}

/// A system server written in Rust: [`spawn`] with the key registers every
/// one has (`domains/system/src/object.rs`, `reg`: the returner, a domain
/// key to itself, the data-key creator, discrim, the domain tool, the
/// prime bank) and its own `keys` (from key register 7).
fn spawn_server(
    b: &mut Builder,
    name: &str,
    meter: Key,
    prime_bank: Key,
    keys: &[(usize, Key)],
    mappings: Vec<Mapping>,
) -> anyhow::Result<Cda> {
    let common = [
        (1, Key::misc(MiscKind::Returner)),
        (3, Key::misc(MiscKind::DataKeyCreator)),
        (4, Key::misc(MiscKind::Discrim)),
        (5, Key::misc(MiscKind::DomainTool)),
        (6, prime_bank),
    ];
    let all: Vec<(usize, Key)> = common.iter().chain(keys).copied().collect();
    let root = spawn(b, name, meter, RunState::Running, &all, mappings)?.0;
    let own = b.domain_key(root);
    b.set_key_register(root, 2, own)?;
    Ok(root)
}

/// Loads the program `name` into a new domain with `keys` and the extra
/// `mappings`; returns its root and its configuration page, if it has one.
fn spawn(
    b: &mut Builder,
    name: &str,
    meter: Key,
    state: RunState,
    keys: &[(usize, Key)],
    mappings: Vec<Mapping>,
) -> anyhow::Result<(Cda, Option<Cda>)> {
    let program = crate::program(name).ok_or_else(|| anyhow::anyhow!("no domain program called {name}"))?;
    let elf = kernel::elf::parse(program.elf)?;
    let space = b.address_space()?;
    let (pc, sp) = kernel::elf::load_with_stack(b, space, &elf, SYSTEM_STACK)?;
    let mut config = None;
    let mut keys = keys.to_vec();
    for mapping in mappings {
        match mapping {
            Mapping::Config(bytes) => {
                let page = b.map_fresh(space, CONFIG, 4096, true)?[0];
                b.kernel().write_page(page, 0, &bytes)?;
                config = Some(page);
            }
            Mapping::Journal { writable } => {
                let flags = if writable { 0 } else { MemoryFlags::READ_ONLY.bits() };
                let key = b.key(KeyType::Page, JOURNAL_PAGE, flags);
                b.map(space, JOURNAL, key)?;
            }
            Mapping::Fresh { vaddr, len } => {
                b.map_fresh(space, vaddr, len.max(1), false)?;
            }
            Mapping::Window { register, keeper } => keys.push((register, window_node(b, space, keeper)?)),
        }
    }
    let spec =
        DomainSpec { memory: space, meter, pc, sp, keys, name: name.into(), state, ..Default::default() };
    Ok((b.domain(&spec)?, config))
}

/// Makes the nodes down to the lss-6 node covering `WINDOW` in the black
/// tree `space` (nothing else is mapped in its 16 MiB) and, in its slot,
/// the window: a red node whose slot 0 covers the 1 MiB at `WINDOW`
/// (slot size 16⁵, one initial slot) and whose keeper is `keeper` (the
/// window keeper, `wkeeper.s`); a node key to the red node.
fn window_node(b: &mut Builder, space: Key, keeper: Key) -> anyhow::Result<Key> {
    let mut node = space.cda();
    for lss in (6..kernel::builder::ROOT_LSS).rev() {
        let fresh = b.node()?;
        let slot = (WINDOW >> (4 * (u32::from(lss) + 1)) & 0xF) as usize;
        b.set(node, slot, b.key(KeyType::Node, fresh, lss))?;
        node = fresh;
    }
    let window = b.node()?;
    b.set(window, WINDOW_KEEPER_SLOT, keeper)?;
    b.set(window, FORMAT_SLOT, kernel::segment::format_key(5, 1, Some(WINDOW_KEEPER_SLOT as u8), None))?;
    b.set(node, (WINDOW >> 24 & 0xF) as usize, b.key(KeyType::Segment, window, 0))?;
    Ok(b.key(KeyType::Node, window, 0))
}

/// The window keeper's scratch segment: 1 MiB (an lss-4 node) every page
/// of which is one shared, writable page.
fn scratch_segment(b: &mut Builder) -> anyhow::Result<Key> {
    let page = b.page()?;
    let (pages, megabyte) = (b.node()?, b.node()?);
    for slot in 0..16 {
        b.set(pages, slot, b.key(KeyType::Page, page, 0))?;
        b.set(megabyte, slot, b.key(KeyType::Node, pages, 3))?;
    }
    Ok(b.key(KeyType::Node, megabyte, 4))
}

/// The keeper slot of a window's red node.
const WINDOW_KEEPER_SLOT: usize = 14;

/// Record-collection front-end kind (`domains/system/src/bin/rcol.rs`).
const RC_KIND: u64 = b'R' as u64;
/// The state-node slots of a collection (`rcol.rs`).
const RC_DATA: usize = 0;
const RC_BANK: usize = 1;
const RC_FRONTS: usize = 3;
const RC_SHAPE: usize = 4;
/// A name-sequence collection of records up to 512 bytes.
const RC_NAME_SEQUENCE_512: u64 = 1 | 512 << 8;

/// The system directory: an empty name-sequence record collection, laid
/// out as `rcol.rs` lays out the ones its factory makes (a front end, the
/// state node, the data segment's lss-4 root and first lss-3 node, a zero
/// header page), whose bank is the prime bank; a key with every right.
fn empty_directory(b: &mut Builder, rcol: Cda, prime_bank: Key) -> anyhow::Result<Key> {
    let header = b.page()?;
    let first = b.node()?;
    b.set(first, 0, b.key(KeyType::Page, header, 0))?;
    let data = b.node()?;
    b.set(data, 0, b.key(KeyType::Node, first, 3))?;
    let state = b.node()?;
    let front = b.node()?;
    let front_format = kernel::segment::format_key(0, 0, Some(BANK_KEEPER_SLOT), None);
    for (node, slot, key) in [
        (state, RC_DATA, b.key(KeyType::Node, data, 4)),
        (state, RC_BANK, prime_bank),
        (state, RC_FRONTS, b.key(KeyType::Node, front, 0)),
        (state, RC_SHAPE, Key::data(RC_NAME_SEQUENCE_512)),
        (front, 0, b.key(KeyType::Node, state, 0)),
        (front, 13, Key::data(RC_KIND << 8)),
        (front, BANK_KEEPER_SLOT as usize, b.start_key(rcol, 0)),
        (front, FORMAT_SLOT, front_format),
    ] {
        b.set(node, slot, key)?;
    }
    Ok(b.key(KeyType::Segment, front, 0))
}

/// The wait multiplexer's parking tree: a node of 16 node keys to nodes
/// whose slots hold waiters' resume keys (`waitf.rs`); a node key to it.
fn parking_tree(b: &mut Builder) -> anyhow::Result<Key> {
    let root = b.node()?;
    for slot in 0..16 {
        let leaf = b.node()?;
        b.set(root, slot, b.key(KeyType::Node, leaf, 0))?;
    }
    Ok(b.key(KeyType::Node, root, 0))
}
