//! Resuming a snapshot in a world (design.md §22): [`plan`] checks
//! everything that depends on the world (the name, every `--map`, the
//! operator) and decides what each import becomes, without changing
//! anything; [`resume`] then buys a fresh object for every object of the
//! snapshot from a new sub-bank of the prime bank (as `gnosis install`
//! does), rewrites every key to the new objects with their current
//! allocation and call ids, and sets the domain going as its manifest says.

use kernel::builder::{Builder, name_key};
use kernel::domain::{self, RunState};
use kernel::inspect;
use kernel::kernel::{Kernel, KernelError};
use kernel::key::{Cda, Key, KeyType};
use kernel::object::{self, node};
use kernel::store::Store;

use super::SnapshotError;
use super::format::{ImportKind, Resumption, Slot, Snapshot};
use domains::world::install::{self, Grant, InstallError, Purchase};

/// The name of the space bank domain (the big bang's): its front-end keys
/// are bank keys.
const BANK_DOMAIN: &str = "bank";

/// What an import becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// What `--map` (or the automatic mapping) named.
    Grant(Grant),
    /// A start key with this databyte to the domain of this name.
    Gate {
        /// The domain's name.
        domain: String,
        /// The databyte.
        databyte: u8,
    },
    /// The user meter, which installed programs run on.
    UserMeter,
    /// DK(0).
    Nothing,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Grant(Grant::Bank) => f.write_str("bank (its own new sub-bank)"),
            Target::Grant(grant) => write!(f, "{grant}"),
            Target::Gate { domain, databyte } => write!(f, "start key to {domain} (databyte {databyte})"),
            Target::UserMeter => f.write_str("the user meter"),
            Target::Nothing => f.write_str("DK(0)"),
        }
    }
}

/// A resume, checked against a world.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The resumed domain's name.
    pub name: String,
    /// What each import becomes, by import number.
    pub targets: Vec<Target>,
}

/// Checks that the world in `store` can take `snapshot` as the domain
/// `name` (default: the snapshot's) with imports mapped by `maps`, and
/// decides every import: a `--map` first; else a start key to a named
/// domain becomes the same key to the domain of that name if the world has
/// one, a space bank key the domain's own new bank, a meter key the user
/// meter; anything else DK(0).
pub fn plan(
    store: &Store,
    snapshot: &Snapshot,
    name: Option<&str>,
    maps: &[(u32, Grant)],
) -> Result<Plan, SnapshotError> {
    let imports = &snapshot.manifest.imports;
    let name = name.unwrap_or(&snapshot.manifest.domain.name);
    install::check_world(store)?;
    install::check_name(store, name)?;
    let mut mapped: Vec<Option<Grant>> = vec![None; imports.len()];
    for (index, grant) in maps {
        let slot = mapped
            .get_mut(*index as usize)
            .ok_or(SnapshotError::NoImport { index: *index, count: imports.len() })?;
        if slot.is_some() {
            return Err(SnapshotError::MappedTwice(*index));
        }
        install::check_grant(store, grant)?;
        *slot = Some(grant.clone());
    }
    let targets = imports
        .iter()
        .zip(mapped)
        .map(|(import, grant)| match (grant, &import.kind) {
            (Some(grant), _) => Target::Grant(grant),
            (None, ImportKind::Gate { domain, databyte })
                if inspect::domain_named(store, domain).is_some() =>
            {
                Target::Gate { domain: domain.clone(), databyte: *databyte }
            }
            (None, ImportKind::FrontEnd { domain }) if domain == BANK_DOMAIN => Target::Grant(Grant::Bank),
            (None, ImportKind::Meter) => Target::UserMeter,
            (None, _) => Target::Nothing,
        })
        .collect();
    Ok(Plan { name: name.into(), targets })
}

/// Brings `snapshot` into the world in `k` as `plan` (made against this
/// world) says; returns the new domain's root. On failure everything
/// bought is given back.
pub fn resume(k: &mut Kernel, snapshot: &Snapshot, plan: &Plan) -> Result<Cda, SnapshotError> {
    Purchase::make(k, |k, purchase| build(k, purchase, snapshot, plan))
}

fn build(
    k: &mut Kernel,
    purchase: &Purchase,
    snapshot: &Snapshot,
    plan: &Plan,
) -> Result<Cda, SnapshotError> {
    let mut imports = Vec::with_capacity(plan.targets.len());
    for target in &plan.targets {
        imports.push(match target {
            Target::Grant(grant) => purchase.grant(k, grant, None)?,
            Target::Gate { domain, databyte } => {
                let root = inspect::domain_named(k.store(), domain)
                    .ok_or_else(|| InstallError::NoDomain(domain.clone()))?;
                Builder::new(k).start_key(root, *databyte)
            }
            Target::UserMeter => purchase.user_meter(k)?,
            Target::Nothing => Key::NULL,
        });
    }
    let (pages, nodes) = {
        let mut b = purchase.builder(k);
        let pages = snapshot.pages.iter().map(|_| b.page()).collect::<Result<Vec<_>, _>>()?;
        let nodes = snapshot.nodes.iter().map(|_| b.node()).collect::<Result<Vec<_>, _>>()?;
        (pages, nodes)
    };
    for (&cda, bytes) in pages.iter().zip(&snapshot.pages) {
        make_room(k)?;
        k.write_page(cda, 0, &bytes[..])?;
    }
    for (&cda, slots) in nodes.iter().zip(&snapshot.nodes) {
        let keys = slots.map(|slot| match slot {
            Slot::Literal(key) => key,
            Slot::Import(index) => imports[index as usize],
            Slot::Local { kind, databyte, index } => {
                let target =
                    if kind == KeyType::Page { pages[index as usize] } else { nodes[index as usize] };
                let id = if kind == KeyType::Resume {
                    node::header(k.store(), target).call_id
                } else {
                    object::allocation(k.store(), target).id
                };
                Key::object(kind, target, id, databyte)
            }
        });
        make_room(k)?;
        node::set_slots(k.store_mut(), cda, &keys).map_err(KernelError::from)?;
    }
    let root = nodes[snapshot.manifest.domain.root as usize];
    let store = k.store_mut();
    node::set_slot(store, root, domain::SLOT_NAME, name_key(&plan.name)).map_err(KernelError::from)?;
    match &snapshot.manifest.domain.resumption {
        Resumption::Run | Resumption::Trap => {
            // A trapped domain runs again only to have its trap delivered
            // to its keeper in this world.
            node::set_slot(store, root, domain::SLOT_STATE, Key::data(RunState::Running.code()))
                .map_err(KernelError::from)?;
            domain::set_process_bit(store, root, true).map_err(KernelError::from)?;
            k.make_ready(root);
        }
        Resumption::Reply { code, .. } => k.reply_to_waiting(root, *code)?,
        Resumption::Available | Resumption::Wait => {}
    }
    Ok(root)
}

/// Makes room for the next object's write (each writes at most one frame:
/// the page, or the node's pot), taking a checkpoint when the working area
/// is out of room, so a snapshot larger than the area still fits.
fn make_room(k: &mut Kernel) -> Result<(), KernelError> {
    k.host_room(1)
}
