//! Taking a snapshot of one domain: the boundary between what is the
//! domain's and what it shares with the rest of the world, and the
//! translation of every key into the snapshot's terms (design.md §22).
//!
//! The boundary: *shared* is everything reachable through object keys
//! from every other domain's root, the kernel node and the journal page,
//! never entering the domain's own three nodes nor the key registers of
//! the holder of the range keys (the space bank, which holds a key to the
//! last object it sold until its next request). The snapshot is the
//! domain's three nodes and everything reachable from its root without
//! entering a shared object or following a front-end key of another
//! domain (a space bank key: the bank made that node, and only the bank
//! understands it). Keys out of the snapshot are imports.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use kernel::domain::{self, RunState};
use kernel::inspect;
use kernel::invoke::front_end_domain;
use kernel::journal::JOURNAL_PAGE;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key, KeyType};
use kernel::object::{self, node, page};
use kernel::store::Store;
use kernel::wait::{BWAIT_OBJECTS, KERNEL_NODE, RC_RESTARTED};

use super::SnapshotError;
use super::format::{
    DomainRecord, FORMAT, Import, ImportKind, Manifest, ObjectRecord, Resumption, Slot, Snapshot, Source,
    VERSION,
};

/// The root of the domain `id`: a name, or a root node number.
pub fn find_domain(store: &Store, id: &str) -> Result<Cda, SnapshotError> {
    let domains = inspect::domains(store);
    if let Ok(number) = id.parse::<u64>() {
        return domains
            .iter()
            .find(|d| d.root == Cda::node(number))
            .map(|d| d.root)
            .ok_or_else(|| SnapshotError::NoDomain(format!("with root node {number}")));
    }
    let named: Vec<Cda> = domains.iter().filter(|d| d.name == id).map(|d| d.root).collect();
    match named.as_slice() {
        [root] => Ok(*root),
        [] => Err(SnapshotError::NoDomain(format!("called {id}"))),
        _ => Err(SnapshotError::Ambiguous { name: id.into(), count: named.len() }),
    }
}

/// Whether the domain rooted at `root` was stopped for good by `--kill`.
pub fn stopped(store: &Store, root: Cda) -> bool {
    node::slots(store, root)[domain::SLOT_TRAP_CODE].data_value() == u64::from(kernel::trap::STOPPED)
}

/// Captures the domain rooted at `root` of the world in `k` (whose caches
/// must have been written back), taken from `image`.
pub fn capture(k: &Kernel, root: Cda, image: &Path) -> Result<Snapshot, SnapshotError> {
    let store = k.store();
    let own = domain::nodes(store, root).ok_or_else(|| SnapshotError::NoDomain(root.to_string()))?;
    let own = [own.root, own.keys, own.registers];
    let names: HashMap<Cda, String> = inspect::domains(store).into_iter().map(|d| (d.root, d.name)).collect();
    let name = names.get(&root).cloned().unwrap_or_default();
    let root_slots = node::slots(store, root);

    let others: Vec<Cda> = names.keys().copied().filter(|&r| r != root).collect();
    // The holder of the range keys (the space bank) can make a key to any
    // object, so the keys in its registers say nothing about sharing: they
    // are the last object it sold (until its next request) and the like.
    let suppliers: HashSet<Cda> = others
        .iter()
        .filter_map(|&r| domain::nodes(store, r))
        .map(|n| n.keys)
        .filter(|&keys| node::slots(store, keys).iter().any(|k| is_range(*k)))
        .collect();
    let shared = reach(store, others.into_iter().chain([KERNEL_NODE, JOURNAL_PAGE]), |target, _| {
        !own.contains(&target) && !suppliers.contains(&target)
    });
    let shared: HashSet<Cda> = shared.into_iter().collect();
    let objects = reach(store, [root], |target, key| {
        let foreign_front_end = front_end_domain(store, key).is_some_and(|d| d != root);
        (own.contains(&target) || !shared.contains(&target)) && !foreign_front_end
    });
    // Pages and nodes are numbered apart, in the order they were reached
    // (the root is node 0).
    let (node_cdas, page_cdas): (Vec<Cda>, Vec<Cda>) = objects.into_iter().partition(|c| c.is_node());
    let local: HashMap<Cda, u32> = node_cdas
        .iter()
        .enumerate()
        .chain(page_cdas.iter().enumerate())
        .map(|(i, &c)| (c, i as u32))
        .collect();

    let mut imports = Imports::default();
    let nodes: Vec<[Slot; node::SLOTS]> = node_cdas
        .iter()
        .map(|&n| {
            node::slots(store, n).map(|key| {
                let key = object::validate(store, key);
                translate(key, &local).unwrap_or_else(|| Slot::Import(imports.index(store, &names, key)))
            })
        })
        .collect();
    let pages: Vec<Box<disk_image::frame::Frame>> =
        page_cdas.iter().map(|&p| store.read_frame(page::home(store, p))).collect();
    let waits_inside =
        nodes.iter().flatten().any(|s| matches!(s, Slot::Local { kind: KeyType::Resume, index: 0, .. }));
    let header = k.checkpoint_header();
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_unix_ns: kernel::clock::wall_now_ns(),
        source: Source {
            image: image.display().to_string(),
            image_id: header.image_id,
            generation: header.generation,
        },
        domain: DomainRecord {
            name,
            root: 0,
            resumption: resumption(store, root, &root_slots, waits_inside),
        },
        pages: page_cdas.iter().zip(&pages).map(|(c, p)| ObjectRecord::page(c.0, p)).collect(),
        nodes: node_cdas.iter().zip(&nodes).map(|(c, s)| ObjectRecord::node(c.0, s)).collect(),
        imports: imports.list,
        checksum: 0,
    };
    Ok(Snapshot { manifest, pages, nodes })
}

/// Every object reachable from `roots` through current object keys,
/// entering an object only if `enter(object, key)` allows it, in
/// breadth-first order (the roots first).
fn reach(store: &Store, roots: impl IntoIterator<Item = Cda>, enter: impl Fn(Cda, Key) -> bool) -> Vec<Cda> {
    let mut seen: HashSet<Cda> = HashSet::new();
    let mut order = Vec::new();
    let mut queue: VecDeque<Cda> = roots.into_iter().filter(|&c| seen.insert(c)).collect();
    while let Some(cda) = queue.pop_front() {
        order.push(cda);
        if !cda.is_node() {
            continue;
        }
        for key in node::slots(store, cda) {
            let key = object::validate(store, key);
            let Some(target) = designated(key) else { continue };
            if !seen.contains(&target) && enter(target, key) {
                seen.insert(target);
                queue.push_back(target);
            }
        }
    }
    order
}

fn is_range(key: Key) -> bool {
    matches!(key.kind(), KeyType::NodeRange | KeyType::PageRange)
}

/// The object a current key designates, if it designates one.
fn designated(key: Key) -> Option<Cda> {
    let kind = key.kind();
    (!key.is_null() && (kind == KeyType::Page || kind.designates_node())).then(|| key.cda())
}

/// A current key in the snapshot's terms; `None` when it is an import.
fn translate(key: Key, local: &HashMap<Cda, u32>) -> Option<Slot> {
    match key.key_type() {
        // Not a key any image holds (fsck reports it): it reads as DK(0).
        None => Some(Slot::Literal(Key::NULL)),
        // The same in every image: data, and the kernel's services.
        Some(KeyType::Data | KeyType::Misc) => Some(Slot::Literal(key)),
        Some(kind) => designated(key).and_then(|target| local.get(&target)).map(|&index| Slot::Local {
            kind,
            databyte: key.databyte(),
            index,
        }),
    }
}

/// The imports found so far, each key once.
#[derive(Default)]
struct Imports {
    list: Vec<Import>,
    index: HashMap<Key, u32>,
}

impl Imports {
    fn index(&mut self, store: &Store, names: &HashMap<Cda, String>, key: Key) -> u32 {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(classify(store, names, key));
        self.index.insert(key, i);
        i
    }
}

/// What an import is, for the manifest and for resume's automatic mapping.
fn classify(store: &Store, names: &HashMap<Cda, String>, key: Key) -> Import {
    let named = |cda: Cda| names.get(&cda).filter(|n| !n.is_empty()).cloned();
    let kind = key.kind();
    if let Some(domain) = (kind == KeyType::Start).then(|| named(key.cda())).flatten() {
        let what = format!("start key to {domain} (databyte {})", key.databyte());
        return Import { what, kind: ImportKind::Gate { domain, databyte: key.databyte() } };
    }
    if let Some(domain) = front_end_domain(store, key).and_then(named) {
        let what = format!("front-end key of {domain} ({})", key.cda());
        return Import { what, kind: ImportKind::FrontEnd { domain } };
    }
    let what = match designated(key) {
        Some(cda) => match named(cda) {
            Some(domain) => format!("{kind:?} key to {cda} ({domain})"),
            None => format!("{kind:?} key to {cda}"),
        },
        None => format!("{kind:?} key"),
    };
    let kind = if kind == KeyType::Meter { ImportKind::Meter } else { ImportKind::Other };
    Import { what, kind }
}

/// How the domain goes on when resumed. A waiting domain whose resume key
/// stays behind is answered as a restart answers the waits it cannot keep
/// (§14): a BWAIT wait returns early with 0, any other with
/// `RC_RESTARTED`, and so does a call to another domain, whose answer will
/// never come.
fn resumption(store: &Store, root: Cda, slots: &[Key; node::SLOTS], waits_inside: bool) -> Resumption {
    let state = RunState::from_code(slots[domain::SLOT_STATE].data_value());
    match state {
        RunState::Running => Resumption::Run,
        RunState::Available => Resumption::Available,
        RunState::Waiting if slots[domain::SLOT_TRAP_CODE].data_value() != 0 => Resumption::Trap,
        RunState::Waiting if waits_inside => Resumption::Wait,
        RunState::Waiting => {
            let kernel_wait = (0..node::SLOTS).find(|&s| {
                let key = object::validate(store, node::slot(store, KERNEL_NODE, s));
                key.kind() == KeyType::Resume && key.cda() == root
            });
            let (code, reason) = match kernel_wait {
                Some(s) if s < BWAIT_OBJECTS => (0, "it waited on a BWAIT timer, which returns early"),
                Some(_) => (RC_RESTARTED, "it waited for a checkpoint, migration or console input"),
                None => (RC_RESTARTED, "it waited for a reply that stays behind"),
            };
            Resumption::Reply { code, reason: reason.into() }
        }
    }
}
