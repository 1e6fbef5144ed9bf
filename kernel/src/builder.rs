//! Building objects directly, outside any domain: the big bang, `gnosis
//! exec`'s scratch world, and tests. In a running world new objects come
//! from the space bank through range keys; the builder is the kernel's own
//! hand before there is a world (KeyKOS `Base/ckitems.c`).
//!
//! Every write makes room first (`Kernel::host_room`): when the working
//! area runs out, the builder takes a checkpoint and goes on, so anything
//! it builds, however large, fits.
//!
//! Objects are taken from the lowest CDAs not yet allocated, or, in a
//! world, bought from a space bank through the operator domain
//! ([`Builder::with_bank`]), so they belong to that bank like any other
//! domain's purchases. Address spaces are black segment trees: a root node
//! of lss 7 (16 × 256 MiB covers the 32-bit space) and nodes of lss 6, 5,
//! 4, 3 down to the pages.

use crate::domain::{self, RunState};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType, MemoryFlags};
use crate::meter;
use crate::object::{self, node};
use crate::operator::{HostError, Operator};

/// lss of the root node of a full 32-bit address space.
pub const ROOT_LSS: u8 = 7;

/// Hands out fresh objects and wires them together.
pub struct Builder<'k> {
    kernel: &'k mut Kernel,
    next_page: u64,
    next_node: u64,
    bank: Option<(Operator, usize)>,
}

/// Working-area frames making an object may write (its pot, or the
/// allocation pot and the page).
const OBJECT_FRAMES: u64 = 2;

/// Space bank order codes the builder uses (see `domains/programs/bank.s`).
const BANK_CREATE_NODE: u32 = 0;
const BANK_CREATE_PAGE: u32 = 16;

/// What a new domain starts with.
#[derive(Clone, Debug)]
pub struct DomainSpec {
    /// Memory key for root slot 3.
    pub memory: Key,
    /// Meter key for root slot 1.
    pub meter: Key,
    /// Keeper for root slot 2.
    pub keeper: Key,
    /// Initial pc.
    pub pc: u32,
    /// Initial sp (x2).
    pub sp: u32,
    /// Key registers 1..16 to set (slot, key).
    pub keys: Vec<(usize, Key)>,
    /// Name (up to 11 bytes) for root slot 10.
    pub name: String,
    /// Initial state.
    pub state: RunState,
    /// Brand for root slot 0.
    pub brand: Key,
}

impl Default for DomainSpec {
    fn default() -> Self {
        DomainSpec {
            memory: Key::NULL,
            meter: Key::NULL,
            keeper: Key::NULL,
            pc: 0,
            sp: 0,
            keys: Vec::new(),
            name: String::new(),
            state: RunState::Running,
            brand: Key::NULL,
        }
    }
}

impl<'k> Builder<'k> {
    /// A builder over `kernel` (no domain may be running).
    pub fn new(kernel: &'k mut Kernel) -> Builder<'k> {
        Builder { kernel, next_page: 0, next_node: 0, bank: None }
    }

    /// A builder that buys every object from the bank in key register
    /// `slot` of `operator` (the world keeps running while it does).
    pub fn with_bank(kernel: &'k mut Kernel, operator: Operator, slot: usize) -> Builder<'k> {
        Builder { kernel, next_page: 0, next_node: 0, bank: Some((operator, slot)) }
    }

    /// How many nodes and pages the lowest-first search has passed: every
    /// object at or above these numbers was free when the builder started.
    pub fn high_water(&self) -> (u64, u64) {
        (self.next_node, self.next_page)
    }

    /// The kernel.
    pub fn kernel(&mut self) -> &mut Kernel {
        self.kernel
    }

    /// A new node: the lowest free one, or one bought from the bank.
    pub fn node(&mut self) -> Result<Cda, KernelError> {
        if self.bank.is_some() {
            return self.buy(BANK_CREATE_NODE);
        }
        let count = self.kernel.layout().geometry.node_count();
        self.take(count, true)
    }

    /// A new page: the lowest free one, or one bought from the bank.
    pub fn page(&mut self) -> Result<Cda, KernelError> {
        if self.bank.is_some() {
            return self.buy(BANK_CREATE_PAGE);
        }
        let count = self.kernel.layout().geometry.page_count;
        self.take(count, false)
    }

    fn buy(&mut self, order: u32) -> Result<Cda, KernelError> {
        let (operator, slot) = self.bank.expect("BUILDER006 buying without a bank");
        let reply = operator.call(self.kernel, slot, order, &[], &[]).map_err(|e| match e {
            HostError::Kernel(e) => e,
            HostError::NoReply(_) => KernelError::Refused("the space bank did not answer".into()),
        })?;
        match reply.code {
            0 => Ok(reply.keys[0].cda()),
            1 => Err(KernelError::Refused("the space bank's limit is reached".into())),
            2 => Err(KernelError::Refused("the image has no free objects left".into())),
            rc => Err(KernelError::Refused(format!("the space bank answered {rc:#x}"))),
        }
    }

    fn take(&mut self, count: u64, nodes: bool) -> Result<Cda, KernelError> {
        let cursor = if nodes { &mut self.next_node } else { &mut self.next_page };
        while *cursor < count {
            let cda = if nodes { Cda::node(*cursor) } else { Cda::page(*cursor) };
            *cursor += 1;
            if !object::allocation(self.kernel.store(), cda).allocated {
                self.kernel.host_room(OBJECT_FRAMES)?;
                object::create(self.kernel.store_mut(), cda)?;
                return Ok(cda);
            }
        }
        Err(KernelError::Refused(format!(
            "the image has no free {} left",
            if nodes { "node" } else { "page" }
        )))
    }

    /// Allocates a specific object (e.g. the prime meter's well-known node).
    pub fn claim(&mut self, cda: Cda) -> Result<Key, KernelError> {
        self.kernel.host_room(OBJECT_FRAMES)?;
        object::create(self.kernel.store_mut(), cda)?;
        Ok(self.key(if cda.is_node() { KeyType::Node } else { KeyType::Page }, cda, 0))
    }

    /// A current key of `kind` to `cda`.
    pub fn key(&self, kind: KeyType, cda: Cda, databyte: u8) -> Key {
        Key::object(kind, cda, object::allocation(self.kernel.store(), cda).id, databyte)
    }

    /// Stores `key` in a node slot.
    pub fn set(&mut self, node: Cda, slot: usize, key: Key) -> Result<(), KernelError> {
        self.kernel.host_room(1)?;
        node::set_slot(self.kernel.store_mut(), node, slot, key)?;
        Ok(())
    }

    /// Makes the well-known prime meter (with `cpu` instructions) and returns a meter key to it.
    pub fn prime_meter(&mut self, cpu: u64) -> Result<Key, KernelError> {
        let prime = self.kernel.config().prime_meter;
        self.claim(prime)?;
        self.set(prime, meter::SLOT_CPU, Key::data(cpu))?;
        Ok(self.key(KeyType::Meter, prime, 0))
    }

    /// A new meter under `superior` with `cpu` instructions and `keeper`.
    pub fn meter(&mut self, superior: Key, cpu: u64, keeper: Key) -> Result<Key, KernelError> {
        let n = self.node()?;
        self.set(n, meter::SLOT_SUPERIOR, superior)?;
        self.set(n, meter::SLOT_KEEPER, keeper)?;
        self.set(n, meter::SLOT_CPU, Key::data(cpu))?;
        Ok(self.key(KeyType::Meter, n, 0))
    }

    /// An empty address space: a node key of lss 7 to a fresh node.
    pub fn address_space(&mut self) -> Result<Key, KernelError> {
        let n = self.node()?;
        Ok(self.key(KeyType::Node, n, ROOT_LSS))
    }

    /// Maps `page` at `vaddr` (page aligned) in the black tree `space`,
    /// making the nodes on the way.
    pub fn map(&mut self, space: Key, vaddr: u32, page: Key) -> Result<(), KernelError> {
        assert_eq!(vaddr & 0xFFF, 0, "BUILDER002 unaligned mapping");
        let mut node = space.cda();
        for lss in (3..=ROOT_LSS).rev() {
            let slot = ((vaddr >> (4 * u32::from(lss))) & 0xF) as usize;
            if lss == 3 {
                return self.set(node, slot, page);
            }
            let child = object::validate(self.kernel.store(), node::slot(self.kernel.store(), node, slot));
            node = if child.kind() == KeyType::Node {
                child.cda()
            } else {
                let fresh = self.node()?;
                let key = self.key(KeyType::Node, fresh, lss - 1);
                self.set(node, slot, key)?;
                fresh
            };
        }
        unreachable!("BUILDER003 walked past the pages")
    }

    /// Maps fresh zeroed pages over `[vaddr, vaddr + len)`; returns them.
    pub fn map_fresh(
        &mut self,
        space: Key,
        vaddr: u32,
        len: u32,
        read_only: bool,
    ) -> Result<Vec<Cda>, KernelError> {
        let first = u64::from(vaddr & !0xFFF);
        let end = (u64::from(vaddr) + u64::from(len)).next_multiple_of(4096);
        assert!(end <= 1 << 32, "BUILDER004 range passes the top of the address space");
        let databyte = if read_only { MemoryFlags::READ_ONLY.bits() } else { 0 };
        let mut pages = Vec::new();
        for at in (first..end).step_by(4096) {
            let page = self.page()?;
            let key = self.key(KeyType::Page, page, databyte);
            self.map(space, at as u32, key)?;
            pages.push(page);
        }
        Ok(pages)
    }

    /// Writes bytes into guest pages (as mapped by `space`) at `vaddr`.
    pub fn write_memory(&mut self, space: Key, vaddr: u32, data: &[u8]) -> Result<(), KernelError> {
        // Each page the bytes touch may be copied into the working area.
        self.kernel.host_room(data.len().div_ceil(4096) as u64 + 1)?;
        let mut memory = crate::memory::DomainMemory {
            store: &mut self.kernel.store,
            code: &mut self.kernel.code,
            walked: &mut self.kernel.walked,
            memory: space.with_databyte(ROOT_LSS),
            journal_written: false,
            claim: crate::store::Claim::Kernel,
        };
        match memory.write(vaddr, data) {
            Ok(()) => Ok(()),
            Err(crate::memory::MemoryFault::Storage(e)) => Err(e.into()),
            Err(other) => panic!("BUILDER005 writing unmapped memory at {vaddr:#x}: {other:?}"),
        }
    }

    /// A new domain: root, general-keys and registers nodes.
    pub fn domain(&mut self, spec: &DomainSpec) -> Result<Cda, KernelError> {
        let (root, keys, regs) = (self.node()?, self.node()?, self.node()?);
        for (slot, key) in [
            (domain::SLOT_BRAND, spec.brand),
            (domain::SLOT_METER, spec.meter),
            (domain::SLOT_KEEPER, spec.keeper),
            (domain::SLOT_MEMORY, spec.memory),
            (domain::SLOT_NAME, name_key(&spec.name)),
            (domain::SLOT_STATE, Key::data(spec.state.code())),
            (domain::SLOT_KEYS, self.key(KeyType::Node, keys, 0)),
            (domain::SLOT_REGISTERS, self.key(KeyType::Node, regs, 0)),
        ] {
            self.set(root, slot, key)?;
        }
        self.set(regs, 0, Key::data(u64::from(spec.pc)))?;
        self.set(regs, 1, Key::data(u64::from(spec.sp)))?;
        for &(slot, key) in &spec.keys {
            if slot != 0 {
                self.set(keys, slot & 15, key)?;
            }
        }
        if spec.state == RunState::Running {
            domain::set_process_bit(self.kernel.store_mut(), root, true)?;
            self.kernel.make_ready(root);
        }
        Ok(root)
    }

    /// Sets key register `slot` of a domain that has not run yet.
    pub fn set_key_register(&mut self, root: Cda, slot: usize, key: Key) -> Result<(), KernelError> {
        let keys = node::slot(self.kernel.store(), root, domain::SLOT_KEYS).cda();
        self.set(keys, slot & 15, key)
    }

    /// A start key to a domain.
    pub fn start_key(&self, root: Cda, databyte: u8) -> Key {
        self.key(KeyType::Start, root, databyte)
    }

    /// A domain key to a domain.
    pub fn domain_key(&self, root: Cda) -> Key {
        self.key(KeyType::Domain, root, 0)
    }
}

/// A data key holding up to 11 bytes of a name.
pub fn name_key(name: &str) -> Key {
    let mut body = [0u8; 11];
    let bytes = name.as_bytes();
    body[..bytes.len().min(11)].copy_from_slice(&bytes[..bytes.len().min(11)]);
    Key::data_bytes(body)
}

/// The name held by a name key.
pub fn name_of(key: Key) -> String {
    let body = key.data_body();
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}
