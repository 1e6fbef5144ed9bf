//! Installing users' programs in a world (`gnosis install`): a new domain
//! built from an ELF executable, from objects bought from a new sub-bank of
//! the prime bank (so destroying that bank reclaims all of it), given the
//! keys the user names, in key registers 1, 2, … in order, and started on
//! the user meter. It is then part of the persistent world like any other
//! domain.

use std::str::FromStr;

use kernel::builder::{Builder, DomainSpec};
use kernel::domain::RunState;
use kernel::inspect;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key, MiscKind};
use kernel::operator::Operator;

use super::big_bang::operator_keys;

/// Space bank order: create a sub-bank.
const BANK_CREATE_BANK: u32 = 67;
/// Space bank order: destroy the bank and all its space.
const BANK_DESTROY: u32 = 64;
/// BWAIT objects the primordial world uses (the checkpoint driver's and the counter's).
const BWAITS_IN_USE: u32 = 2;

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
    /// A BWAIT object (2..8: 0 and 1 belong to the checkpoint driver and the counter).
    Bwait(u32),
    /// A start key to the domain of that name.
    Start(String),
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grant::Console => f.write_str("console"),
            Grant::Bank => f.write_str("bank"),
            Grant::Timer => f.write_str("timer"),
            Grant::Checkpoint => f.write_str("checkpoint"),
            Grant::Bwait(n) => write!(f, "bwait:{n}"),
            Grant::Start(name) => write!(f, "start:{name}"),
        }
    }
}

impl FromStr for Grant {
    type Err = String;

    fn from_str(text: &str) -> Result<Grant, String> {
        let usage = "keys are: console, bank, timer, checkpoint, bwait:N (N from 2 to 7), start:NAME";
        match text.split_once(':') {
            None => match text {
                "console" => Ok(Grant::Console),
                "bank" => Ok(Grant::Bank),
                "timer" => Ok(Grant::Timer),
                "checkpoint" => Ok(Grant::Checkpoint),
                _ => Err(format!("unknown key '{text}'; {usage}")),
            },
            Some(("bwait", n)) => match n.parse::<u32>() {
                Ok(n) if (BWAITS_IN_USE..kernel::wait::BWAIT_OBJECTS as u32).contains(&n) => {
                    Ok(Grant::Bwait(n))
                }
                _ => Err(format!("'{text}': the free BWAIT objects are 2 to 7")),
            },
            Some(("start", name)) if !name.is_empty() => Ok(Grant::Start(name.to_string())),
            _ => Err(format!("unknown key '{text}'; {usage}")),
        }
    }
}

/// Builds and starts the program; returns its root.
pub fn install(k: &mut Kernel, elf: &[u8], name: &str, grants: &[Grant]) -> anyhow::Result<Cda> {
    anyhow::ensure!(
        !name.is_empty() && name.len() <= 11 && name.is_ascii(),
        "a domain name is 1 to 11 ASCII characters ('{name}' is not)"
    );
    anyhow::ensure!(
        grants.len() <= 15,
        "a domain has 15 key registers; {} keys were asked for",
        grants.len()
    );
    anyhow::ensure!(
        inspect::domains(k.store()).iter().all(|d| d.name != name),
        "a domain called {name} already exists; choose another --name"
    );
    let program = kernel::elf::parse(elf)?;
    let mut starts = Vec::new();
    for grant in grants {
        if let Grant::Start(target) = grant {
            let root = inspect::domain_named(k.store(), target)
                .ok_or_else(|| anyhow::anyhow!("start:{target}: there is no domain called {target}"))?;
            starts.push(root);
        }
    }
    let operator = Operator::find(k).ok_or_else(|| {
        anyhow::anyhow!("this image has no operator domain: make worlds with `gnosis format`")
    })?;
    let reply = operator.call(k, operator_keys::BANK, BANK_CREATE_BANK, &[], &[])?;
    anyhow::ensure!(reply.code == 0, "the prime bank could not make a sub-bank (rc {})", reply.code);
    let bank = reply.keys[0];
    operator.set_key(k, operator_keys::SCRATCH_BANK, bank)?;
    let console = operator.key(k, operator_keys::CONSOLE)?;
    let meter = operator.key(k, operator_keys::USER_METER)?;
    let keys: Vec<(usize, Key)> = {
        let mut starts = starts.into_iter();
        let b = Builder::new(k);
        grants
            .iter()
            .enumerate()
            .map(|(i, grant)| {
                let key = match grant {
                    Grant::Console => console,
                    Grant::Bank => bank,
                    Grant::Timer => Key::misc(MiscKind::SystemTimer),
                    Grant::Checkpoint => Key::misc(MiscKind::Checkpoint),
                    Grant::Bwait(n) => Key::misc_indexed(MiscKind::Bwait, *n),
                    Grant::Start(_) => b.start_key(starts.next().expect("resolved above"), 0),
                };
                (i + 1, key)
            })
            .collect()
    };
    let built = build(k, operator, &program, name, keys, meter);
    if built.is_err() {
        // Give the space back: destroying the sub-bank destroys what was bought.
        let _ = operator.call(k, operator_keys::SCRATCH_BANK, BANK_DESTROY, &[], &[]);
    }
    built
}

fn build(
    k: &mut Kernel,
    operator: Operator,
    program: &kernel::elf::Program,
    name: &str,
    keys: Vec<(usize, Key)>,
    meter: Key,
) -> anyhow::Result<Cda> {
    let mut b = Builder::with_bank(k, operator, operator_keys::SCRATCH_BANK);
    let space = b.address_space()?;
    let (pc, sp) = kernel::elf::load(&mut b, space, program)?;
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
