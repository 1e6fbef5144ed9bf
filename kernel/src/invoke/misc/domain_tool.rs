//! The domain tool: rights amplification by brand (KeyKOS `Base/jmiscc.c`,
//! [G-46]). Whoever holds the brand a domain creator put in a root's slot 0
//! can recognise that creator's domains, directly (a start, resume or
//! domain key to one) or as the keeper of a segment or meter, and get full
//! access to them.
//!
//! | order | key 0 must be | then | reply |
//! |---|---|---|---|
//! | 0 | a node key | | rc 0 + key 0 = a domain key to the node |
//! | 1, 2, 3 | a start (1), return or fault (2) or domain (3) key to a domain whose brand equals key 1 | | rc = its databyte + key 0 = a node key to the root |
//! | 5, 6, 7 | a red segment key (lss 0, callable) whose keeper slot holds a start (5), return or fault (6) or domain (7) key to a domain of brand key 1 | | rc = keeper slot · 256 + the keeper key's databyte + key 0 = a node key to the segment node (its databyte kept) |
//! | 9, 10, 11 | a meter key whose keeper (meter slot 2) is such a key | | as 5..7, with the meter node |
//! | KT | | | 0x109 |
//!
//! Anything else answers `DOMAIN_TOOL_RC_NO` (KeyKOS's −1); orders not
//! listed answer KT+2.

use crate::abi::*;
use crate::domain::SLOT_BRAND;
use crate::invoke::{Invocation, Message, Outcome};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Key, KeyType, MemoryFlags, ResumeKind};
use crate::meter;
use crate::object;

/// Handles an invocation of the domain tool.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let subject = inv.key_arg(0);
    let brander = inv.key_arg(1);
    Ok(match inv.order() {
        DOMAIN_TOOL_MAKE_DOMAIN if subject.kind() == KeyType::Node => {
            let domain = subject.with_type(KeyType::Domain).with_databyte(0);
            Outcome::Reply(Message::code(0).with_key(0, domain))
        }
        DOMAIN_TOOL_MAKE_DOMAIN => Outcome::code(DOMAIN_TOOL_RC_NO),
        order @ DOMAIN_TOOL_IDENTIFY_START..=DOMAIN_TOOL_IDENTIFY_DOMAIN => {
            let kind = gate_kind(order - DOMAIN_TOOL_IDENTIFY_START);
            match branded(k, subject, kind, brander)? {
                true => identified(subject.databyte().into(), node_key(k, subject.cda(), 0)),
                false => Outcome::code(DOMAIN_TOOL_RC_NO),
            }
        }
        order @ (DOMAIN_TOOL_IDENTIFY_SEGMENT_START..=DOMAIN_TOOL_IDENTIFY_SEGMENT_DOMAIN
        | DOMAIN_TOOL_IDENTIFY_METER_START..=DOMAIN_TOOL_IDENTIFY_METER_DOMAIN) => {
            let segment = order <= DOMAIN_TOOL_IDENTIFY_SEGMENT_DOMAIN;
            let first =
                if segment { DOMAIN_TOOL_IDENTIFY_SEGMENT_START } else { DOMAIN_TOOL_IDENTIFY_METER_START };
            identify_keeper(k, subject, segment, gate_kind(order - first), brander)?
        }
        KT => Outcome::code(AKT_DOMAIN_TOOL),
        _ => Outcome::invalid(),
    })
}

/// The kind of key orders 1/5/9, 2/6/10 and 3/7/11 look for.
fn gate_kind(offset: u32) -> KeyType {
    [KeyType::Start, KeyType::Resume, KeyType::Domain][offset as usize]
}

fn identified(code: u32, key: Key) -> Outcome {
    Outcome::Reply(Message::code(code).with_key(0, key))
}

fn node_key(k: &Kernel, cda: crate::key::Cda, databyte: u8) -> Key {
    Key::object(KeyType::Node, cda, object::allocation(&k.store, cda).id, databyte)
}

/// Whether `key` (current) is of `kind` (a resume key: return or fault, not
/// restart) to a domain whose brand equals `brander`.
fn branded(k: &mut Kernel, key: Key, kind: KeyType, brander: Key) -> Result<bool, KernelError> {
    if key.kind() != kind || (kind == KeyType::Resume && key.resume_kind() == Some(ResumeKind::Restart)) {
        return Ok(false);
    }
    if crate::domain::nodes(&k.store, key.cda()).is_none() {
        return Ok(false);
    }
    let raw = k.read_slot(key.cda(), SLOT_BRAND)?;
    let brand = object::validate(&k.store, raw);
    Ok(brand != Key::NULL && brand == brander)
}

/// Orders 5..=11: is `subject` a segment (or meter) key whose keeper is a
/// `kind` key to a domain of brand `brander`?
fn identify_keeper(
    k: &mut Kernel,
    subject: Key,
    segment: bool,
    kind: KeyType,
    brander: Key,
) -> Result<Outcome, KernelError> {
    let no = Ok(Outcome::code(DOMAIN_TOOL_RC_NO));
    let slot = if segment {
        let callable_red = subject.kind() == KeyType::Segment
            && subject.lss() == 0
            && !subject.memory_flags().contains(MemoryFlags::NO_CALL);
        if !callable_red {
            return no;
        }
        let format = k.read_slot(subject.cda(), 15)?;
        if format.kind() != KeyType::Data {
            return no;
        }
        ((format.data_value() >> 8) & 0xF) as usize
    } else {
        if subject.kind() != KeyType::Meter {
            return no;
        }
        meter::SLOT_KEEPER
    };
    let raw = k.read_slot(subject.cda(), slot)?;
    let keeper = object::validate(&k.store, raw);
    if !branded(k, keeper, kind, brander)? {
        return no;
    }
    let code = slot as u32 * 256 + u32::from(keeper.databyte());
    Ok(identified(code, node_key(k, subject.cda(), subject.databyte())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_map_to_the_kinds_keykos_gives_them() {
        assert_eq!(gate_kind(DOMAIN_TOOL_IDENTIFY_RESUME - DOMAIN_TOOL_IDENTIFY_START), KeyType::Resume);
        assert_eq!(
            gate_kind(DOMAIN_TOOL_IDENTIFY_SEGMENT_DOMAIN - DOMAIN_TOOL_IDENTIFY_SEGMENT_START),
            KeyType::Domain
        );
        assert_eq!(
            gate_kind(DOMAIN_TOOL_IDENTIFY_METER_START - DOMAIN_TOOL_IDENTIFY_METER_START),
            KeyType::Start
        );
    }
}
