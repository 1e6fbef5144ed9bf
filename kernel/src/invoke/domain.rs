//! Domain keys: full authority over a domain (KeyKOS `Base/jdomainc.c`,
//! `Dom/include/domain.h`). The brand (root slot 0) and the general-keys
//! and registers nodes (slots 14, 15) are never given out.
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 1, 2, 3, 10, 11, 12 | get root slot n (meter, keeper, memory, name, instructions, priority) | key 0 |
//! | 16..=31 | get key register n − 16 | key 0; rc 2 malformed |
//! | 33, 34, 35, 42, 44 | swap root slot n − 32 (meter, keeper, memory, name, priority) with key 0 | key 0 = old |
//! | 48..=63 | swap key register n − 48 with key 0 | key 0 = old; rc 2 malformed |
//! | 64 | make a start key, databyte = string byte 0 | key 0 |
//! | 65 | make available (resume keys become obsolete; stalled invokers retry) | rc 0 was available, 1 was busy |
//! | 66 | make busy and give a fault key | rc 0 + key 0; rc 1 already busy |
//! | 67 | make busy (resume keys become obsolete), give a fault key | rc 0 made busy, 1 already; key 0 |
//! | 68 | get control: pc, trap code, trap detail, run state (4 × u32) | string |
//! | 69 | put control: pc, trap code, trap detail | rc 0 |
//! | 70 | get registers: pc, x1..x31 (32 × u32) | string |
//! | 71 | put registers | rc 0 |
//! | 73 | make busy and give a return key | rc 0 + key 0; rc 1 already busy |
//! | 74 | replace memory (root slot 3 := key 0) and pc := string word 0 | rc 0 |
//! | 75 | put registers (128 bytes) then control (12 bytes) | rc 0 |
//! | 80 | compare: is key 0 a start or return/restart key to this domain? | rc 0 yes, 1 no |
//! | KT | alleged type | 7 |
//!
//! Orders on a malformed domain (slots 14/15 not node keys) that need its
//! state answer rc 2.

use super::{Invocation, KT, Message, Outcome};
use crate::abi::*;
use crate::domain::{self, RunState, TrapState};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType, ResumeKind};
use crate::object::{self, node};
use crate::transition::call_id;

/// Return code: the domain is malformed.
/// Root slots the get orders (0 + n) may read.
const READABLE: [usize; 6] = [1, 2, 3, 10, 11, 12];
/// Root slots the swap orders (32 + n) may replace.
const SWAPPABLE: [usize; 5] = [1, 2, 3, 10, 12];

/// Handles an invocation of a domain key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let root = inv.key.cda();
    let order = inv.order();
    match order {
        n if n < 16 && READABLE.contains(&(n as usize)) => {
            let key = object::validate(&k.store, node::slot(&k.store, root, n as usize));
            Ok(reply_key(0, key))
        }
        n if (DOMAIN_SWAP_SLOT..DOMAIN_SWAP_KEY).contains(&n)
            && SWAPPABLE.contains(&((n - DOMAIN_SWAP_SLOT) as usize)) =>
        {
            swap_root_slot(k, root, (n - DOMAIN_SWAP_SLOT) as usize, inv)
        }
        DOMAIN_GET_KEY..=31 | DOMAIN_SWAP_KEY..=63 | DOMAIN_MAKE_AVAILABLE..=DOMAIN_PUT_REGS_CONTROL
            if k.prepare(root)?.is_none() =>
        {
            Ok(Outcome::code(DOMAIN_RC_MALFORMED))
        }
        DOMAIN_GET_KEY..=31 => {
            let raw = k.prepare(root)?.expect("DOMKEY001").keys[(order - DOMAIN_GET_KEY) as usize];
            Ok(reply_key(0, object::validate(&k.store, raw)))
        }
        DOMAIN_SWAP_KEY..=63 => {
            swap_key_register(k, root, (order - DOMAIN_SWAP_KEY) as usize, inv.key_arg(0))
        }
        DOMAIN_MAKE_START => {
            let id = object::allocation(&k.store, root).id;
            Ok(reply_key(0, Key::object(KeyType::Start, root, id, inv.bytes::<1>()[0])))
        }
        DOMAIN_MAKE_AVAILABLE => make_available(k, root),
        DOMAIN_MAKE_FAULT_KEY => make_resume_key(k, root, ResumeKind::Fault),
        DOMAIN_MAKE_RETURN_KEY => make_resume_key(k, root, ResumeKind::Return),
        DOMAIN_MAKE_BUSY => make_busy(k, root),
        DOMAIN_GET_CONTROL => Ok(get_control(k, root)?),
        DOMAIN_PUT_CONTROL => put_control(k, root, inv, 0),
        DOMAIN_GET_REGS => Ok(get_registers(k, root)?),
        DOMAIN_PUT_REGS => put_registers(k, root, inv),
        DOMAIN_REPLACE_MEMORY => replace_memory(k, root, inv),
        DOMAIN_PUT_REGS_CONTROL => {
            put_registers(k, root, inv)?;
            put_control(k, root, inv, 128)
        }
        DOMAIN_COMPARE => Ok(Outcome::code(u32::from(!is_gate_to(inv.key_arg(0), root)))),
        KT => Ok(Outcome::code(AKT_DOMAIN)),
        _ => Ok(Outcome::invalid()),
    }
}

fn reply_key(code: u32, key: Key) -> Outcome {
    Outcome::Reply(Message::code(code).with_key(0, key))
}

fn swap_root_slot(k: &mut Kernel, root: Cda, slot: usize, inv: &Invocation) -> Result<Outcome, KernelError> {
    let old = object::validate(&k.store, node::slot(&k.store, root, slot));
    node::set_slot(&mut k.store, root, slot, inv.key_arg(0))?;
    k.meters_changed();
    if slot == domain::SLOT_MEMORY {
        // The domain's address space changed: every translation is stale.
        k.store.bump_location_generation();
    }
    Ok(reply_key(0, old))
}

fn swap_key_register(k: &mut Kernel, root: Cda, slot: usize, new: Key) -> Result<Outcome, KernelError> {
    let store_key = if slot == 0 { Key::NULL } else { new };
    let dib = k.prepare(root)?.expect("DOMKEY002");
    let old = std::mem::replace(&mut dib.keys[slot], store_key);
    Ok(reply_key(0, object::validate(&k.store, old)))
}

fn is_busy(state: RunState) -> bool {
    state != RunState::Available
}

fn make_available(k: &mut Kernel, root: Cda) -> Result<Outcome, KernelError> {
    k.zap_resume_keys(root)?;
    let dib = k.prepare(root)?.expect("DOMKEY003");
    let was_busy = is_busy(dib.state);
    dib.state = RunState::Available;
    k.wake_stalled(root);
    Ok(Outcome::code(u32::from(was_busy)))
}

fn make_resume_key(k: &mut Kernel, root: Cda, kind: ResumeKind) -> Result<Outcome, KernelError> {
    let dib = k.prepare(root)?.expect("DOMKEY004");
    if is_busy(dib.state) {
        return Ok(Outcome::code(DOMAIN_RC_BUSY));
    }
    dib.state = RunState::Waiting;
    Ok(reply_key(0, Key::resume(kind, root, call_id(&k.store, root))))
}

fn make_busy(k: &mut Kernel, root: Cda) -> Result<Outcome, KernelError> {
    k.zap_resume_keys(root)?;
    let dib = k.prepare(root)?.expect("DOMKEY005");
    let was_busy = is_busy(dib.state);
    if !was_busy {
        dib.state = RunState::Waiting;
    }
    let fault = Key::resume(ResumeKind::Fault, root, call_id(&k.store, root));
    Ok(reply_key(u32::from(was_busy), fault))
}

fn get_control(k: &mut Kernel, root: Cda) -> Result<Outcome, KernelError> {
    let dib = k.prepare(root)?.expect("DOMKEY006");
    let words = [dib.hart.pc, dib.trap.code, dib.trap.detail, dib.state.code() as u32];
    Ok(Outcome::Reply(Message::code(0).with_string(&le_words(&words))))
}

fn put_control(k: &mut Kernel, root: Cda, inv: &Invocation, at: usize) -> Result<Outcome, KernelError> {
    let (pc, code, detail) = (inv.word(at), inv.word(at + 4), inv.word(at + 8));
    let dib = k.prepare(root)?.expect("DOMKEY007");
    dib.hart.pc = pc;
    dib.trap = TrapState { code, pc, detail };
    Ok(Outcome::code(0))
}

fn get_registers(k: &mut Kernel, root: Cda) -> Result<Outcome, KernelError> {
    let dib = k.prepare(root)?.expect("DOMKEY008");
    let words: Vec<u32> = (0..32).map(|i| if i == 0 { dib.hart.pc } else { dib.hart.x(i) }).collect();
    Ok(Outcome::Reply(Message::code(0).with_string(&le_words(&words))))
}

fn put_registers(k: &mut Kernel, root: Cda, inv: &Invocation) -> Result<Outcome, KernelError> {
    let words: Vec<u32> = (0..32).map(|i| inv.word(4 * i)).collect();
    let dib = k.prepare(root)?.expect("DOMKEY009");
    dib.hart.pc = words[0];
    for (i, &w) in words.iter().enumerate().skip(1) {
        dib.hart.set_x(i, w);
    }
    Ok(Outcome::code(0))
}

fn replace_memory(k: &mut Kernel, root: Cda, inv: &Invocation) -> Result<Outcome, KernelError> {
    node::set_slot(&mut k.store, root, domain::SLOT_MEMORY, inv.key_arg(0))?;
    k.store.bump_location_generation();
    k.prepare(root)?.expect("DOMKEY010").hart.pc = inv.word(0);
    Ok(Outcome::code(0))
}

fn is_gate_to(key: Key, root: Cda) -> bool {
    key.cda() == root
        && match key.kind() {
            KeyType::Start => true,
            KeyType::Resume => key.resume_kind() != Some(ResumeKind::Fault),
            _ => false,
        }
}

fn le_words(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
