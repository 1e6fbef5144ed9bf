//! Domains: a root node, a general-keys node and a registers node.
//!
//! Root node slots (after the 370 KeyKOS layout, design.md §Domains):
//!
//! | slot | holds |
//! |---:|---|
//! | 0 | brand (recognised by the domain tool; never given out by the domain key) |
//! | 1 | meter key |
//! | 2 | domain keeper (usually a start key) |
//! | 3 | address segment (a memory key) |
//! | 4 | reserved, DK(0) |
//! | 5 | trap code, DK(code); 0 = none |
//! | 6 | trap information, DK(pc ‖ address) |
//! | 7..9 | reserved, DK(0) |
//! | 10 | name: a data key of up to 11 bytes (Gnosis) |
//! | 11 | instructions executed, DK(count) (Gnosis, kernel-maintained) |
//! | 12 | priority, DK(0..255) |
//! | 13 | run state, DK(0 available, 1 running, 2 waiting) |
//! | 14 | node key to the general-keys node (the 16 key registers) |
//! | 15 | node key to the registers node |
//!
//! The registers node holds the hart as 16 data keys, two 32-bit registers
//! each (bytes 8..12 and 12..16): slot i holds x[2i] and x[2i+1], with the pc
//! in place of x0.
//!
//! While a domain runs or is invoked, the kernel caches it in a domain info
//! block ([`Dib`]): hart, key registers, run state, trap, TLBs. The cache is
//! written back to the nodes when the block is evicted, when one of its
//! nodes is touched through a node key, and at every checkpoint.

mod cache;

pub use cache::DomainCache;

use crate::cpu::{CodeTlb, DataTlb, Hart};
use crate::key::{Cda, Key, KeyType};
use crate::object::{self, node};
use crate::store::{Store, StoreError};

/// Root slot: brand.
pub const SLOT_BRAND: usize = 0;
/// Root slot: meter key.
pub const SLOT_METER: usize = 1;
/// Root slot: domain keeper.
pub const SLOT_KEEPER: usize = 2;
/// Root slot: address segment.
pub const SLOT_MEMORY: usize = 3;
/// Root slot: trap code.
pub const SLOT_TRAP_CODE: usize = 5;
/// Root slot: trap information.
pub const SLOT_TRAP_INFO: usize = 6;
/// Root slot: name.
pub const SLOT_NAME: usize = 10;
/// Root slot: instructions executed.
pub const SLOT_INSTRUCTIONS: usize = 11;
/// Root slot: priority.
pub const SLOT_PRIORITY: usize = 12;
/// Root slot: run state.
pub const SLOT_STATE: usize = 13;
/// Root slot: general-keys node.
pub const SLOT_KEYS: usize = 14;
/// Root slot: registers node.
pub const SLOT_REGISTERS: usize = 15;

/// The three states of a domain (KeyKOS "Domain States").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunState {
    /// Waiting for a start-key invocation; has no resume keys.
    Available,
    /// Ready to run, running, or stalled re-trying an invocation.
    Running,
    /// Waiting for a reply through one of its resume keys.
    Waiting,
}

impl RunState {
    /// The number stored in root slot 13.
    pub fn code(self) -> u64 {
        match self {
            RunState::Available => 0,
            RunState::Running => 1,
            RunState::Waiting => 2,
        }
    }

    /// Decodes root slot 13; anything unknown reads as available.
    pub fn from_code(code: u64) -> RunState {
        match code {
            1 => RunState::Running,
            2 => RunState::Waiting,
            _ => RunState::Available,
        }
    }
}

/// A trap a domain is stopped by, as kept in root slots 5 and 6.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrapState {
    /// Trap code (see `trap`); 0 when none.
    pub code: u32,
    /// The pc of the trapping instruction.
    pub pc: u32,
    /// The address or word the trap is about.
    pub detail: u32,
}

impl TrapState {
    fn to_key(self) -> Key {
        Key::data(u64::from(self.pc) << 32 | u64::from(self.detail))
    }
}

/// The nodes a well-formed domain is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainNodes {
    /// The root node.
    pub root: Cda,
    /// The general-keys node (key registers).
    pub keys: Cda,
    /// The registers node.
    pub registers: Cda,
}

/// Finds a domain's nodes, or `None` if `root` is not a well-formed domain
/// root (slots 14 and 15 must hold current node keys to two distinct nodes
/// other than the root). A gate to a malformed domain acts as DK(0).
pub fn nodes(store: &Store, root: Cda) -> Option<DomainNodes> {
    let keys = node::slot(store, root, SLOT_KEYS);
    let registers = node::slot(store, root, SLOT_REGISTERS);
    let well_formed =
        [keys, registers].iter().all(|k| k.kind() == KeyType::Node && object::is_current(store, *k))
            && keys.cda() != registers.cda()
            && keys.cda() != root
            && registers.cda() != root;
    well_formed.then(|| DomainNodes { root, keys: keys.cda(), registers: registers.cda() })
}

/// A domain info block: a cached, running copy of a domain.
pub struct Dib {
    /// The domain's nodes.
    pub nodes: DomainNodes,
    /// Registers and pc.
    pub hart: Hart,
    /// The 16 key registers (slot 0 always reads DK(0)).
    pub keys: [Key; 16],
    /// Run state.
    pub state: RunState,
    /// Current trap, if any.
    pub trap: TrapState,
    /// Instructions executed (root slot 11).
    pub instructions: u64,
    /// Data translations.
    pub data_tlb: DataTlb,
    /// Code translations.
    pub code_tlb: CodeTlb,
    /// The store's location generation the TLBs were filled under.
    pub tlb_generation: u64,
    /// The root node's allocation id and call id (read-only copies of its
    /// header: while the domain is cached its root cannot be severed, and
    /// `zap_resume_keys` keeps the call id in step), so gates to it are
    /// validated without reading the store.
    pub root_ids: (u32, u32),
    /// The meter chain, with the kernel's chain epoch it was found under.
    pub meter_chain: Option<(u64, crate::meter::Chain)>,
}

impl Dib {
    /// Loads a domain's cached state from its nodes.
    pub fn load(store: &Store, nodes: DomainNodes) -> Dib {
        let regs = node::slots(store, nodes.registers);
        let mut hart = Hart::default();
        for (i, key) in regs.iter().enumerate() {
            let body = key.data_value();
            let (even, odd) = (body as u32, (body >> 32) as u32);
            if i == 0 {
                hart.pc = even
            } else {
                hart.regs[2 * i] = even
            }
            hart.regs[2 * i + 1] = odd;
        }
        let mut keys = node::slots(store, nodes.keys);
        keys[0] = Key::NULL;
        let root = node::slots(store, nodes.root);
        let header = node::header(store, nodes.root);
        let trap_info = root[SLOT_TRAP_INFO].data_value();
        Dib {
            nodes,
            hart,
            keys,
            state: RunState::from_code(root[SLOT_STATE].data_value()),
            trap: TrapState {
                code: root[SLOT_TRAP_CODE].data_value() as u32,
                pc: (trap_info >> 32) as u32,
                detail: trap_info as u32,
            },
            instructions: root[SLOT_INSTRUCTIONS].data_value(),
            data_tlb: DataTlb::default(),
            code_tlb: CodeTlb::default(),
            tlb_generation: 0,
            root_ids: (header.allocation_id, header.call_id),
            meter_chain: None,
        }
    }

    /// Writes the cached state back into the domain's nodes.
    pub fn write_back(&self, store: &mut Store) -> Result<(), StoreError> {
        let regs: [Key; 16] = std::array::from_fn(|i| {
            let even = if i == 0 { self.hart.pc } else { self.hart.regs[2 * i] };
            Key::data(u64::from(even) | u64::from(self.hart.regs[2 * i + 1]) << 32)
        });
        node::set_slots(store, self.nodes.registers, &regs)?;
        node::set_slots(store, self.nodes.keys, &self.keys)?;
        let root = self.nodes.root;
        node::set_slot(store, root, SLOT_STATE, Key::data(self.state.code()))?;
        node::set_slot(store, root, SLOT_TRAP_CODE, Key::data(u64::from(self.trap.code)))?;
        node::set_slot(store, root, SLOT_TRAP_INFO, self.trap.to_key())?;
        node::set_slot(store, root, SLOT_INSTRUCTIONS, Key::data(self.instructions))?;
        set_process_bit(store, root, self.state == RunState::Running)
    }

    /// Flushes the TLBs if translations changed since they were filled.
    pub fn refresh_tlbs(&mut self, location_generation: u64) {
        if self.tlb_generation != location_generation {
            self.data_tlb.flush();
            self.code_tlb.flush();
            self.tlb_generation = location_generation;
        }
    }
}

/// Sets or clears the process bit of a root node.
pub fn set_process_bit(store: &mut Store, root: Cda, on: bool) -> Result<(), StoreError> {
    let mut h = node::header(store, root);
    let flags =
        if on { h.flags | disk_image::pots::FLAG_PROCESS } else { h.flags & !disk_image::pots::FLAG_PROCESS };
    if flags != h.flags {
        h.flags = flags;
        node::set_header(store, root, h)?;
    }
    Ok(())
}
