//! Read-only summaries of an image for `gnosis inspect`.

use disk_image::frame::read_u32;
use disk_image::pots::{self, FLAG_ALLOCATED, PAGE_ALLOCATED};
use disk_image::{FRAME_SIZE, layout::NODES_PER_POT, layout::PAGES_PER_POT};

use crate::domain::{self, RunState};
use crate::key::{Cda, Key, KeyType};
use crate::object::node::{self, NodeHeader};
use crate::object::{self as objects};
use crate::restart::LoadedImage;
use crate::store::Store;

/// Counts of created objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    /// Pages with the allocated bit.
    pub pages: u64,
    /// Nodes with the allocated bit.
    pub nodes: u64,
    /// Nodes with the process bit (running domain roots).
    pub processes: u64,
}

/// Counts allocated pages and nodes by scanning the allocation and node pots.
pub fn count_objects(store: &Store) -> ObjectCounts {
    let l = *store.layout();
    let mut counts = ObjectCounts::default();
    for (pot, home) in (l.allocation_pots.first..l.allocation_pots.end()).enumerate() {
        let f = store.read_frame(home);
        let entries = (l.geometry.page_count - pot as u64 * PAGES_PER_POT).min(PAGES_PER_POT) as usize;
        counts.pages += (0..entries)
            .filter(|&i| read_u32(&f[..], pots::entry_offset(i)) & PAGE_ALLOCATED != 0)
            .count() as u64;
    }
    for home in l.node_pots.first..l.node_pots.end() {
        let f = store.read_frame(home);
        for i in 0..NODES_PER_POT as usize {
            let flags = read_u32(&f[..], pots::node_offset(i) + pots::NODE_FLAGS);
            counts.nodes += u64::from(flags & FLAG_ALLOCATED != 0);
            counts.processes += u64::from(flags & pots::FLAG_PROCESS != 0);
        }
    }
    counts
}

/// One node, as `inspect --node` shows it.
#[derive(Clone, Debug)]
pub struct NodeDump {
    /// The node.
    pub cda: Cda,
    /// Its header fields.
    pub header: NodeHeader,
    /// Its slots, exactly as stored.
    pub slots: [Key; node::SLOTS],
    /// Whether each slot's key is current (obsolete ones read as DK(0)).
    pub current: [bool; node::SLOTS],
}

/// Dumps node `cda` of the loaded checkpoint.
pub fn dump_node(loaded: &LoadedImage, cda: Cda) -> NodeDump {
    let store = &loaded.store;
    let slots = node::slots(store, cda);
    NodeDump {
        cda,
        header: node::header(store, cda),
        slots,
        current: std::array::from_fn(|i| crate::object::is_current(store, slots[i])),
    }
}

/// The bytes of page `cda` of the loaded checkpoint.
pub fn dump_page(loaded: &LoadedImage, cda: Cda) -> Box<[u8; FRAME_SIZE]> {
    let store = &loaded.store;
    store.read_frame(crate::object::page::home(store, cda))
}

/// One domain, as `gnosis ps` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSummary {
    /// Its root node.
    pub root: Cda,
    /// Its name (root slot 10).
    pub name: String,
    /// Its run state.
    pub state: RunState,
    /// Its trap code (0: none) and the pc it trapped at.
    pub trap: (u32, u32),
    /// Its meter node, if its meter slot holds a current meter key.
    pub meter: Option<Cda>,
    /// Instructions left on that meter.
    pub meter_left: Option<u64>,
    /// Instructions it has executed.
    pub instructions: u64,
}

/// Every domain in the store, by root CDA: a well-formed root (see
/// `domain::nodes`) whose run state is a data key and which has a meter or
/// a name. (Any node can be a domain root in KeyKOS; without the last two
/// rules a segment node that happens to hold node keys in slots 14 and 15
/// would be listed as a domain.)
pub fn domains(store: &Store) -> Vec<DomainSummary> {
    (0..store.layout().geometry.node_count())
        .map(Cda::node)
        .filter(|&c| objects::allocation(store, c).allocated && domain::nodes(store, c).is_some())
        .filter(|&c| node::slot(store, c, domain::SLOT_STATE).kind() == KeyType::Data)
        .map(|root| summarize(store, root))
        .filter(|d| d.meter.is_some() || !d.name.is_empty())
        .collect()
}

fn summarize(store: &Store, root: Cda) -> DomainSummary {
    let slots = node::slots(store, root);
    let info = slots[domain::SLOT_TRAP_INFO].data_value();
    let meter_key = objects::validate(store, slots[domain::SLOT_METER]);
    let meter = (meter_key.kind() == KeyType::Meter).then(|| meter_key.cda());
    DomainSummary {
        root,
        name: match slots[domain::SLOT_NAME].kind() {
            KeyType::Data => crate::builder::name_of(slots[domain::SLOT_NAME]),
            _ => String::new(),
        },
        state: RunState::from_code(slots[domain::SLOT_STATE].data_value()),
        trap: (slots[domain::SLOT_TRAP_CODE].data_value() as u32, (info >> 32) as u32),
        meter,
        meter_left: meter.map(|m| crate::meter::cpu_counter(store, m)),
        instructions: slots[domain::SLOT_INSTRUCTIONS].data_value(),
    }
}

/// The root of the domain named `name`, if there is exactly one.
pub fn domain_named(store: &Store, name: &str) -> Option<Cda> {
    let mut found = domains(store).into_iter().filter(|d| d.name == name);
    match (found.next(), found.next()) {
        (Some(d), None) => Some(d.root),
        _ => None,
    }
}

/// Reads a domain's memory as it would (through its address segment);
/// `None` if an address does not translate.
pub fn read_domain_memory(store: &Store, root: Cda, vaddr: u32, buf: &mut [u8]) -> Option<()> {
    let space = node::slot(store, root, domain::SLOT_MEMORY);
    let mut done = 0usize;
    while done < buf.len() {
        let at = vaddr.checked_add(done as u32)?;
        let mut walked = rustc_hash::FxHashSet::default();
        let t = crate::segment::translate(store, &mut walked, space, at, crate::cpu::Access::Read).ok()?;
        let offset = (at & 0xFFF) as usize;
        let n = (FRAME_SIZE - offset).min(buf.len() - done);
        objects::page::read(store, t.page, offset, &mut buf[done..done + n]);
        done += n;
    }
    Some(())
}
