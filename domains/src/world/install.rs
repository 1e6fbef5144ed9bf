//! Installing users' programs in a world (`gnosis install`): a new domain
//! built from an ELF executable, from objects bought from a new sub-bank of
//! the prime bank (so destroying that bank reclaims all of it), given the
//! keys the user names, in key registers 1, 2, … in order, and started on
//! the user meter. It is then part of the persistent world like any other
//! domain.
//!
//! A program is given only what a program may hold: its own sub-bank,
//! never the prime bank or the bank's domain; start keys to services meant
//! for clients (the key-value store, other installed programs), never to
//! the system's own domains; a console channel of its own, which it alone
//! can mute. The world is checked to have the space the program needs
//! before anything is bought; a program larger than the checkpoint area
//! is loaded across checkpoints (the builder makes room as it goes), and
//! if the world stops half way, the next install gives the half-built
//! program's space back.
//!
//! [`Purchase`] and [`Grant`] are shared with `gnosis resume`
//! (`snapshot::restore`), which brings a domain into a world the same way.

use std::str::FromStr;

use kernel::builder::{Builder, DomainSpec};
use kernel::domain::RunState;
use kernel::inspect;
use kernel::kernel::{Kernel, KernelError};
use kernel::key::{Cda, Key, KeyType, MiscKind};
use kernel::operator::{HostError, Operator};
use kernel::store::Store;

use super::big_bang::operator_keys;

/// Space bank order: create a sub-bank.
const BANK_CREATE_BANK: u32 = 67;
/// Space bank order: destroy the bank and all its space.
const BANK_DESTROY: u32 = 64;
/// Space bank orders: nodes and pages available.
const BANK_NODES_AVAILABLE: u32 = 5;
const BANK_PAGES_AVAILABLE: u32 = 21;
/// Nodes a program takes besides its address space: its three, and its
/// sub-bank's front end.
const DOMAIN_NODES: u64 = 4;
/// The first console channel `install` hands out (below: the system's own).
const FIRST_USER_CHANNEL: u8 = 16;
/// The channel programs share once every other is taken; no holder can
/// mute it.
const SHARED_CHANNEL: u8 = 255;
/// System domains no program may hold a start key to, and what to grant instead.
const SYSTEM_DOMAINS: &[(&str, &str)] = &[
    ("bank", "grant `bank` for a bank of the program's own"),
    ("console", "grant `console` for a console channel of the program's own"),
    ("ckptdvr", "grant `checkpoint` to take checkpoints"),
    ("migrator", "it serves no requests"),
    ("shell", "it serves no requests"),
    ("operator", "it is the host's hand in the world"),
];
/// BWAIT objects the primordial world uses (the checkpoint driver's and the counter's).
const BWAITS_IN_USE: u32 = 2;

/// Why a world cannot take a new domain as asked.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The name is empty, too long or not printable ASCII.
    #[error("a domain name is 1 to 11 printable ASCII characters, no spaces ({0:?} is not)")]
    BadName(String),
    /// Another domain has the name.
    #[error("a domain called {0} already exists; choose another --name")]
    NameTaken(String),
    /// The image was not made by `gnosis format` (no operator, no bank).
    #[error("this image has no operator domain: make worlds with `gnosis format`")]
    NoOperator,
    /// A `start:NAME` names no domain.
    #[error("start:{0}: there is no domain called {0}")]
    NoDomain(String),
    /// A key only one program may hold is held already.
    #[error("{0} is held by the domain {1}: one program per BWAIT object (choose another N)")]
    Taken(String, String),
    /// A grant that makes sense only for a new program.
    #[error("{0} can be given only to a program being installed")]
    NotHere(String),
    /// A `start:NAME` names one of the system's own domains.
    #[error("start:{0}: {0} is one of the system's own domains, not a service for programs; {1}")]
    SystemDomain(String, &'static str),
    /// The world has too little space for the program.
    #[error(
        "the program needs {pages} pages ({kib} KiB) and {nodes} nodes; the world has {free_pages} pages and \
         {free_nodes} nodes free: remove programs, or make a bigger world (`gnosis format IMAGE --size SIZE`)"
    )]
    NoSpace {
        /// Pages the program needs.
        pages: u64,
        /// The same in KiB.
        kib: u64,
        /// Nodes it needs.
        nodes: u64,
        /// Pages free in the prime bank.
        free_pages: u64,
        /// Nodes free in the prime bank.
        free_nodes: u64,
    },
    /// The prime bank refused a sub-bank.
    #[error("the prime bank could not make a sub-bank (rc {0})")]
    NoBank(u32),
    /// Calling the bank through the operator failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The kernel failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// A key to give an installed program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// A start key to the console (the users' channel).
    Console,
    /// The program's own bank: the sub-bank its objects came from.
    Bank,
    /// The system timer.
    Timer,
    /// The checkpoint key.
    Checkpoint,
    /// A BWAIT object (2..=6: 0 and 1 are the checkpoint driver's and the counter's, 7 the wait multiplexer's).
    Bwait(u32),
    /// A start key to the domain of that name.
    Start(String),
    /// The returner: servers reply through it, so a client cannot make them wait.
    Returner,
    /// The discrim key: classifies and compares keys.
    Discrim,
    /// The data-key creator.
    Dkc,
    /// The journalize key: makes a page's contents durable at once,
    /// without a checkpoint (design.md §15).
    Journalize,
    /// A meter of the program's own under the user meter (a node bought
    /// from its bank), to run domains it makes on.
    Meter,
    /// A node key to the program's own address space (the root of its
    /// segment tree), so it can map pages it buys.
    Space,
}

/// The grants, as the command line names them.
const GRANT_NAMES: &str = "console, bank, timer, checkpoint, returner, discrim, dkc, journalize, meter, space, bwait:N (N from 2 to 6), start:NAME";

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grant::Console => f.write_str("console"),
            Grant::Bank => f.write_str("bank"),
            Grant::Timer => f.write_str("timer"),
            Grant::Checkpoint => f.write_str("checkpoint"),
            Grant::Bwait(n) => write!(f, "bwait:{n}"),
            Grant::Start(name) => write!(f, "start:{name}"),
            Grant::Returner => f.write_str("returner"),
            Grant::Discrim => f.write_str("discrim"),
            Grant::Dkc => f.write_str("dkc"),
            Grant::Journalize => f.write_str("journalize"),
            Grant::Meter => f.write_str("meter"),
            Grant::Space => f.write_str("space"),
        }
    }
}

impl FromStr for Grant {
    type Err = String;

    fn from_str(text: &str) -> Result<Grant, String> {
        let usage = format!("keys are: {GRANT_NAMES}");
        match text.split_once(':') {
            None => match text {
                "console" => Ok(Grant::Console),
                "bank" => Ok(Grant::Bank),
                "timer" => Ok(Grant::Timer),
                "checkpoint" => Ok(Grant::Checkpoint),
                "returner" => Ok(Grant::Returner),
                "discrim" => Ok(Grant::Discrim),
                "dkc" => Ok(Grant::Dkc),
                "journalize" => Ok(Grant::Journalize),
                "meter" => Ok(Grant::Meter),
                "space" => Ok(Grant::Space),
                _ => Err(format!("unknown key '{text}'; {usage}")),
            },
            Some(("bwait", n)) => match n.parse::<u32>() {
                Ok(n) if (BWAITS_IN_USE..super::big_bang::BWAIT_WAIT_MULTIPLEXER).contains(&n) => {
                    Ok(Grant::Bwait(n))
                }
                _ => Err(format!(
                    "'{text}': the free BWAIT objects are 2 to 6 (0, 1 and 7 are the system's; a wait object is a timer of a program's own)"
                )),
            },
            Some(("start", name)) if !name.is_empty() => Ok(Grant::Start(name.to_string())),
            _ => Err(format!("unknown key '{text}'; {usage}")),
        }
    }
}

/// Checks that a new domain may be called `name` in the world in `store`.
pub fn check_name(store: &Store, name: &str) -> Result<(), InstallError> {
    if name.is_empty() || name.len() > 11 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(InstallError::BadName(name.into()));
    }
    if inspect::domains(store).iter().any(|d| d.name == name) {
        return Err(InstallError::NameTaken(name.into()));
    }
    Ok(())
}

/// Checks that the world in `store` can take new domains: it has an
/// operator (hence a prime bank, a console and a user meter).
pub fn check_world(store: &Store) -> Result<(), InstallError> {
    match inspect::domain_named(store, kernel::operator::NAME) {
        Some(_) => Ok(()),
        None => Err(InstallError::NoOperator),
    }
}

/// Checks that the world in `store` can give `grant`: a `start:NAME` names
/// exactly one domain, which is not one of the system's own.
pub fn check_grant(store: &Store, grant: &Grant) -> Result<(), InstallError> {
    match grant {
        Grant::Start(name) => {
            if let Some((_, instead)) = SYSTEM_DOMAINS.iter().find(|(system, _)| system == name) {
                return Err(InstallError::SystemDomain(name.clone(), instead));
            }
            start_target(store, name).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// The name (or root node number) of a domain whose key registers hold
/// `key`, if one does.
fn holder_of(k: &Kernel, key: Key) -> Option<String> {
    inspect::domains(k.store()).into_iter().find_map(|d| {
        let holds = k.key_registers(d.root).is_some_and(|keys| keys.contains(&key));
        holds.then(|| if d.name.is_empty() { format!("at node {}", d.root.number()) } else { d.name })
    })
}

/// A console channel no domain's key registers hold yet (from
/// [`FIRST_USER_CHANNEL`] up), or the shared channel when all are taken.
fn free_channel(k: &Kernel, console: Cda) -> u8 {
    let mut used = [false; 256];
    for d in inspect::domains(k.store()) {
        for key in k.key_registers(d.root).into_iter().flatten() {
            if key.kind() == KeyType::Start && key.cda() == console {
                used[usize::from(key.databyte())] = true;
            }
        }
    }
    (FIRST_USER_CHANNEL..SHARED_CHANNEL).find(|&c| !used[usize::from(c)]).unwrap_or(SHARED_CHANNEL)
}

fn start_target(store: &Store, name: &str) -> Result<Cda, InstallError> {
    inspect::domain_named(store, name).ok_or_else(|| InstallError::NoDomain(name.into()))
}

/// A new sub-bank of the prime bank, held in the operator's scratch key
/// register, that a new domain's objects are bought from: destroying it
/// ([`Purchase::abandon`]) gives every one of them back.
pub struct Purchase {
    operator: Operator,
    bank: Key,
}

impl Purchase {
    /// Asks the prime bank for the sub-bank. A sub-bank still in the
    /// operator's hands is an install or resume the world stopped in the
    /// middle of (a crash after a checkpoint it took on the way): its
    /// half-built program is given back first.
    fn open(k: &mut Kernel) -> Result<Purchase, InstallError> {
        let operator = Operator::find(k).map_err(HostError::from)?.ok_or(InstallError::NoOperator)?;
        let scratch = operator.key(k, operator_keys::SCRATCH_BANK)?;
        if kernel::object::validate(k.store(), scratch) != Key::NULL {
            let _ = operator.call(k, operator_keys::SCRATCH_BANK, BANK_DESTROY, &[], &[])?;
            operator.set_key(k, operator_keys::SCRATCH_BANK, Key::NULL)?;
        }
        let reply = operator.call(k, operator_keys::BANK, BANK_CREATE_BANK, &[], &[])?;
        if reply.code != 0 {
            return Err(InstallError::NoBank(reply.code));
        }
        let bank = reply.keys[0];
        operator.set_key(k, operator_keys::SCRATCH_BANK, bank)?;
        Ok(Purchase { operator, bank })
    }

    /// A builder that buys from the sub-bank.
    pub fn builder<'k>(&self, k: &'k mut Kernel) -> Builder<'k> {
        Builder::with_bank(k, self.operator, operator_keys::SCRATCH_BANK)
    }

    /// The user meter, which installed programs run on.
    pub fn user_meter(&self, k: &mut Kernel) -> Result<Key, InstallError> {
        Ok(self.operator.key(k, operator_keys::USER_METER)?)
    }

    /// The key `grant` names (`bank` is the sub-bank, `console` a channel
    /// of the program's own, `meter` a new meter of its own) for a domain
    /// whose address space is `space` (`None`: a domain brought back by
    /// `gnosis resume`, which cannot be given its own space).
    pub fn grant(&self, k: &mut Kernel, grant: &Grant, space: Option<Key>) -> Result<Key, InstallError> {
        Ok(match grant {
            Grant::Console => {
                let console = self.operator.key(k, operator_keys::CONSOLE)?;
                console.with_databyte(free_channel(k, console.cda()))
            }
            Grant::Bank => self.bank,
            Grant::Timer => Key::misc(MiscKind::SystemTimer),
            Grant::Checkpoint => Key::misc(MiscKind::Checkpoint),
            Grant::Bwait(n) => {
                let bwait = Key::misc_indexed(MiscKind::Bwait, *n);
                if let Some(holder) = holder_of(k, bwait) {
                    return Err(InstallError::Taken(grant.to_string(), holder));
                }
                bwait
            }
            Grant::Returner => Key::misc(MiscKind::Returner),
            Grant::Discrim => Key::misc(MiscKind::Discrim),
            Grant::Dkc => Key::misc(MiscKind::DataKeyCreator),
            Grant::Journalize => Key::misc(MiscKind::Journalize),
            Grant::Meter => {
                let user = self.user_meter(k)?;
                self.builder(k).meter(user, u64::MAX, Key::NULL)?
            }
            Grant::Space => space.ok_or_else(|| InstallError::NotHere(grant.to_string()))?.with_databyte(0),
            Grant::Start(name) => {
                let root = start_target(k.store(), name)?;
                Builder::new(k).start_key(root, 0)
            }
        })
    }

    /// Buys a domain: opens a purchase, runs `build` with it, and closes it;
    /// if `build` fails, everything bought is given back.
    pub fn make<T, E: From<InstallError>>(
        k: &mut Kernel,
        build: impl FnOnce(&mut Kernel, &Purchase) -> Result<T, E>,
    ) -> Result<T, E> {
        let purchase = Purchase::open(k)?;
        match build(k, &purchase) {
            Ok(made) => {
                purchase.close(k)?;
                Ok(made)
            }
            Err(e) => {
                purchase.abandon(k);
                Err(e)
            }
        }
    }

    /// Ends a purchase that built its domain: the operator lets go of the
    /// sub-bank and of the keys the purchases handed it, so what was bought
    /// is reachable only from the new domain (`gnosis snapshot` would take
    /// anything the operator holds as shared with the rest of the world).
    fn close(self, k: &mut Kernel) -> Result<(), InstallError> {
        self.operator.forget_received(k)?;
        self.operator.set_key(k, operator_keys::SCRATCH_BANK, Key::NULL)?;
        Ok(())
    }

    /// Gives the space back: destroying the sub-bank destroys what was
    /// bought from it. Best effort, on the way out of a failure.
    fn abandon(self, k: &mut Kernel) {
        let _ = self.operator.call(k, operator_keys::SCRATCH_BANK, BANK_DESTROY, &[], &[]);
        let _ = self.close(k);
    }
}

/// Builds and starts the program, with the loader's stack
/// (`kernel::elf::STACK_BYTES`); returns its root.
pub fn install(k: &mut Kernel, elf: &[u8], name: &str, grants: &[Grant]) -> anyhow::Result<Cda> {
    install_with_stack(k, elf, name, grants, kernel::elf::STACK_BYTES)
}

/// [`install`] with a stack of `stack_bytes` (rounded up to pages).
pub fn install_with_stack(
    k: &mut Kernel,
    elf: &[u8],
    name: &str,
    grants: &[Grant],
    stack_bytes: u32,
) -> anyhow::Result<Cda> {
    check_name(k.store(), name)?;
    anyhow::ensure!(
        grants.len() <= 15,
        "a domain has 15 key registers; {} keys were asked for",
        grants.len()
    );
    let program = kernel::elf::parse(elf)?;
    check_world(k.store())?;
    for grant in grants {
        check_grant(k.store(), grant)?;
    }
    check_space(k, program.footprint(stack_bytes))?;
    Purchase::make(k, |k, purchase| build(k, purchase, &program, name, grants, stack_bytes))
}

/// Checks that the prime bank has the pages and nodes a program needs.
fn check_space(k: &mut Kernel, needs: kernel::elf::Footprint) -> Result<(), InstallError> {
    let operator = Operator::find(k).map_err(HostError::from)?.ok_or(InstallError::NoOperator)?;
    let mut available = |order| -> Result<u64, InstallError> {
        let reply = operator.call(k, operator_keys::BANK, order, &[], &[])?;
        Ok(reply.string.get(..4).map_or(0, |b| u64::from(u32::from_le_bytes(b.try_into().expect("4 bytes")))))
    };
    let (free_pages, free_nodes) = (available(BANK_PAGES_AVAILABLE)?, available(BANK_NODES_AVAILABLE)?);
    let nodes = needs.nodes + DOMAIN_NODES;
    if needs.pages > free_pages || nodes > free_nodes {
        return Err(InstallError::NoSpace {
            pages: needs.pages,
            kib: needs.pages * 4,
            nodes,
            free_pages,
            free_nodes,
        });
    }
    Ok(())
}

fn build(
    k: &mut Kernel,
    purchase: &Purchase,
    program: &kernel::elf::Program,
    name: &str,
    grants: &[Grant],
    stack_bytes: u32,
) -> anyhow::Result<Cda> {
    let space = purchase.builder(k).address_space()?;
    let mut keys = Vec::with_capacity(grants.len());
    for (i, grant) in grants.iter().enumerate() {
        keys.push((i + 1, purchase.grant(k, grant, Some(space))?));
    }
    let meter = purchase.user_meter(k)?;
    let mut b = purchase.builder(k);
    let (pc, sp) = kernel::elf::load_with_stack(&mut b, space, program, stack_bytes)?;
    let spec = DomainSpec {
        memory: space,
        meter,
        pc,
        sp,
        keys,
        name: name.into(),
        state: RunState::Running,
        ..Default::default()
    };
    Ok(b.domain(&spec)?)
}
