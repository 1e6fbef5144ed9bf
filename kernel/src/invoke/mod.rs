//! The gate: every invocation, explicit (`ecall`) or implicit (a trap or
//! fault calling a keeper), goes through here.
//!
//! The gate validates the invoked key once (an obsolete key acts as DK(0)),
//! then either jumps to a domain (start and resume keys, `start.rs` and
//! `resume.rs`) or asks the handler of the key's type (one file per type,
//! after the KeyKOS `j*.c` files) for the kernel object's reply. Every
//! handler has the same shape:
//!
//! ```ignore
//! fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError>
//! ```
//!
//! and only returns: the gate applies the invoker's transition (CALL:
//! waiting; RETURN: available; FORK: still running) and sends the reply
//! through key 3 when it is a resume key (on CALL, the fresh return key).
//! Every change of a domain's state is a function of `transition`, so an
//! invocation reads gate -> transition -> handler -> transition.
//! Anything a domain supplies (registers, slots, order codes, addresses,
//! lengths) is validated here or in the handler; a bad value becomes a
//! return code or a trap, never a panic. An invocation starts only when the
//! working area has room for all it may write ([`INVOCATION_FRAMES`]);
//! otherwise the invoker waits for room and executes it again afterwards.

pub mod message;

mod data;
mod device;
mod domain;
mod fetch;
mod meter;
pub mod misc;
mod node;
mod page;
mod range;
mod resume;
mod segment;
pub(crate) mod sense;
mod start;

pub use message::{EntryBlock, ExitBlock, Jump, MAX_STRING, Message};

use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType, ResumeKind};
use crate::object;
use crate::store::{Claim, Store};
use crate::transition::call_id;
use crate::trap;

/// The "key type" order code and the base of the conventional return codes.
pub const KT: u32 = crate::abi::KT;
/// Return code: success.
pub const RC_OK: u32 = crate::abi::RC_OK;
/// Return code of every data key (and obsolete key).
pub const RC_DATA: u32 = crate::abi::RC_DATA;
/// Return code: the order code is not valid for this key.
pub const RC_INVALID: u32 = crate::abi::RC_INVALID;
/// Return code: a device key made before the last restart.
pub const RC_STALE: u32 = crate::abi::RC_STALE;
/// Order code of the implicit call to a meter keeper.
pub const METER_EXHAUSTED: u32 = crate::abi::METER_EXHAUSTED;
/// Most working-area frames one invocation can write (copies on first
/// write, and the growth of the snapshot's write-back as it prepares the
/// invoker and the jumpee): the gate performs an invocation only when the
/// kernel may take this many (`store::Claim::Kernel`).
pub const INVOCATION_FRAMES: u64 = 24;

/// One invocation of a kernel object, as its handler sees it.
pub struct Invocation<'a> {
    /// Root of the invoking domain.
    pub invoker: Cda,
    /// The key invoked (current).
    pub key: Key,
    /// The message.
    pub message: &'a Message,
}

impl Invocation<'_> {
    /// The order code.
    pub fn order(&self) -> u32 {
        self.message.code
    }

    /// Key `i` of the message (DK(0) if not passed).
    pub fn key_arg(&self, i: usize) -> Key {
        if self.message.key_mask & (1 << i) != 0 { self.message.keys[i] } else { Key::NULL }
    }

    /// The first `N` bytes of the string, zero-padded (KeyKOS: short strings
    /// are extended with zeros).
    pub fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.message.string.len());
        out[..n].copy_from_slice(&self.message.string[..n]);
        out
    }

    /// The string as a little-endian u32 at `offset` (zero-padded).
    pub fn word(&self, offset: usize) -> u32 {
        let mut b = [0u8; 4];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = self.message.string.get(offset + i).copied().unwrap_or(0);
        }
        u32::from_le_bytes(b)
    }

    /// The string as a little-endian u64 at `offset` (zero-padded).
    pub fn dword(&self, offset: usize) -> u64 {
        u64::from(self.word(offset)) | u64::from(self.word(offset + 4)) << 32
    }
}

/// An event a deferred reply waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A checkpoint taken at or after this system time to commit.
    Checkpoint {
        /// The system time, ns.
        after: u64,
    },
    /// A BWAIT timer's wake-up time.
    Timer(u32),
    /// Migration to be needed (the migrate key's Wait).
    Migration,
    /// Console input to arrive (at most this many bytes wanted).
    Input(u32),
    /// Nothing: a wait the checkpoint recorded, which a restart ends with
    /// this return code (design.md §14).
    Restarted(u32),
}

/// What a kernel object does about an invocation.
pub enum Outcome {
    /// Reply with this message through key 3.
    Reply(Message),
    /// No reply (the handler sent one itself, or there is none to send).
    Done,
    /// The kernel keeps key 3 and replies when the event happens.
    Later(Wait),
    /// The invoker traps (the error key): it runs again with its trap code
    /// set, and the trap goes to its keeper like any other.
    Trap {
        /// The trap code.
        code: u32,
        /// The trap's detail word.
        detail: u32,
    },
}

impl Outcome {
    /// A reply with only a return code.
    pub fn code(code: u32) -> Outcome {
        Outcome::Reply(Message::code(code))
    }

    /// The reply to an order code the key does not know.
    pub fn invalid() -> Outcome {
        Outcome::code(RC_INVALID)
    }
}

/// Performs the `ecall` of the domain rooted at `root`, whose pc is at it.
pub(crate) fn ecall(k: &mut Kernel, root: Cda) -> Result<(), KernelError> {
    if !k.room_for(root, INVOCATION_FRAMES) {
        return Ok(());
    }
    k.stats.invocations += 1;
    let Some(dib) = k.prepare(root)? else {
        return Err(KernelError::Invariant(format!("GATE001 invoker {root} is not a domain")));
    };
    let [a0, a1, a3, a4] = [10, 11, 13, 14].map(|r| dib.hart.x(r));
    let registers = dib.keys;
    let Some(exit) = ExitBlock::decode(a1) else { return k.set_trap(root, trap::BAD_INVOCATION, a1) };
    if exit.send_string && a4 as usize > MAX_STRING {
        return k.set_trap(root, trap::BAD_INVOCATION, a4);
    }
    let key = k.validate(registers[exit.invoked]);
    let mut keys = [Key::NULL; 4];
    for (i, slot) in exit.slots.iter().enumerate() {
        if exit.key_mask & (1 << i) != 0 {
            keys[i] = k.validate(registers[*slot]);
        }
    }
    let mut string = std::mem::take(&mut k.send);
    string.clear();
    if exit.send_string {
        string.resize(a4 as usize, 0);
        if let Err(fault) = k.memory_of(root, Claim::Kernel).read(a3, &mut string) {
            k.send = string;
            return k.memory_fault_at(root, fault);
        }
    }
    let mut message = Message { code: a0, string, keys, key_mask: exit.key_mask };
    if exit.jump == Jump::Call {
        let call_id = k.domains.get(root).map_or_else(|| call_id(&k.store, root), |d| d.root_ids.1);
        message.keys[3] = Key::resume(ResumeKind::Return, root, call_id);
        message.key_mask |= 8;
    }
    perform(k, root, exit.jump, key, message)
}

/// Whether `key` is a current gate (start or resume key) to a well-formed domain.
pub fn is_gate(store: &Store, key: Key) -> bool {
    matches!(key.kind(), KeyType::Start | KeyType::Resume)
        && object::is_current(store, key)
        && crate::domain::nodes(store, key.cda()).is_some()
}

/// The domain a front-end key leads to: `key` is a segment key to a red
/// node whose invocations go to a gate in its keeper slot (a space bank
/// key is one: the bank made the node, and only the bank understands it).
pub fn front_end_domain(store: &Store, key: Key) -> Option<Cda> {
    if key.kind() != KeyType::Segment {
        return None;
    }
    segment::keeper(store, key).filter(|k| is_gate(store, *k)).map(Key::cda)
}

/// Performs an invocation of `key` (already validated) by `invoker`.
pub(crate) fn perform(
    k: &mut Kernel,
    invoker: Cda,
    jump: Jump,
    key: Key,
    message: Message,
) -> Result<(), KernelError> {
    match key.kind() {
        KeyType::Start if k.is_domain(key.cda()) => start::jump(k, invoker, jump, key, message),
        KeyType::Resume if k.is_domain(key.cda()) => resume::jump(k, invoker, jump, key, message),
        KeyType::Segment if segment::forwards(&k.store, key) => {
            segment::forward(k, invoker, jump, key, message)
        }
        _ => {
            // A gate to a malformed domain acts as a data key.
            let key = if matches!(key.kind(), KeyType::Start | KeyType::Resume) { Key::NULL } else { key };
            // The invoker's side of the jump happens first, as in KeyKOS
            // (`handlejumper` before the object acts): an object acting on
            // the invoker itself sees it after its jump.
            k.finish(invoker, jump)?;
            let outcome = handle(k, &Invocation { invoker, key, message: &message })?;
            let reply_key = message.reply_key();
            k.send = message.string;
            match outcome {
                Outcome::Reply(reply) => reply_through(k, reply_key, reply),
                Outcome::Later(wait) => k.defer_reply(wait, reply_key),
                Outcome::Trap { code, detail } => k.set_trap(invoker, code, detail),
                Outcome::Done => Ok(()),
            }
        }
    }
}

fn handle(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    match inv.key.kind() {
        KeyType::Data => Ok(data::invoke(inv)),
        KeyType::Page => page::invoke(k, inv),
        KeyType::Node => node::invoke(k, inv),
        KeyType::Fetch => fetch::invoke(k, inv),
        KeyType::Sense => sense::invoke(k, inv),
        KeyType::Segment => Ok(segment::invoke(inv)),
        KeyType::Meter => Ok(meter::invoke(inv)),
        KeyType::Domain => domain::invoke(k, inv),
        KeyType::NodeRange | KeyType::PageRange => range::invoke(k, inv),
        KeyType::Misc => misc::invoke(k, inv),
        KeyType::Device => device::invoke(k, inv),
        KeyType::Start | KeyType::Resume => unreachable!("GATE003 gates are not kernel objects"),
    }
}

/// Sends a kernel object's reply through `key` if it is a resume key to a
/// waiting domain; otherwise there is no one to reply to.
pub(crate) fn reply_through(k: &mut Kernel, key: Option<Key>, reply: Message) -> Result<(), KernelError> {
    let Some(key) = key.map(|key| object::validate(&k.store, key)) else { return Ok(()) };
    if key.kind() == KeyType::Resume && crate::domain::nodes(&k.store, key.cda()).is_some() {
        resume::resume(k, key, reply)?;
    }
    Ok(())
}
