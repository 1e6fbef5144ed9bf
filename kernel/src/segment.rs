//! Address segments: applying a domain's addresses to its memory key.
//!
//! A memory key is a page key, or a segment-mode key (node, fetch, sense or
//! segment key) to a node whose databyte holds read-only (0x80), no-call
//! (0x40) and **lss**, the log16 of the size of each of its 16 slots:
//!
//! * lss 3..=8: a **black** node; slot `addr >> 4·lss` covers `16^lss` bytes.
//! * lss 0: a **red** node, described by the **format key** in slot 15, a
//!   data key whose value holds (nibbles, low first) the slot size code
//!   (3..=8), the number of initial slots, the keeper slot and the
//!   background slot (15 = none); all higher bits must be zero. Addresses
//!   beyond the initial slots go to the background key. An initial slot may
//!   hold a **window key**: a data key whose low two bits are 2 (a window
//!   onto slot `bits 4..8` of the same node) or 3 (onto the background key),
//!   bit 2 read-only, bit 3 no-call, and an offset (`value & !0xFFF`) that
//!   must be a multiple of the slot size.
//!
//! Read-only and no-call accumulate down the path; fetch keys are read-only
//! and sense keys read-only and no-call. A fault names the innermost red
//! node with a keeper on the path, unless a no-call key was seen above it.
//! Fault codes follow KeyKOS ([`FaultCode`]).

use rustc_hash::FxHashSet;

use crate::cpu::Access;
use crate::key::{Cda, Key, KeyType, MemoryFlags};
use crate::object::{self, node};
use crate::store::Store;

/// Longest path through segment nodes before the walk gives up (fault 9):
/// bounds walks through cycles of windows and nodes.
pub const MAX_DEPTH: usize = 40;

/// Why an address could not be applied (KeyKOS codes, [G-28]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FaultCode {
    /// A write through a read-only key.
    ReadOnly = 1,
    /// No memory at the address: outside the segment, or an empty slot.
    Outside = 3,
    /// A red node's format slot does not hold a data key.
    FormatNotData = 7,
    /// A red node's format key is malformed.
    FormatBad = 8,
    /// lss out of range, or the path is too long.
    LssRange = 9,
    /// A window's offset is not a multiple of the slot size.
    WindowMisaligned = 10,
    /// The frame holding the page failed its checksum.
    Damaged = 11,
}

/// A segment keeper to call about a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentKeeper {
    /// The red segment node.
    pub node: Cda,
    /// The key in its keeper slot.
    pub keeper: Key,
}

/// A failed translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentFault {
    /// What went wrong.
    pub code: FaultCode,
    /// The address applied.
    pub address: u32,
    /// The access attempted.
    pub access: Access,
    /// Whom to call, if a red node with a keeper is on the path.
    pub keeper: Option<SegmentKeeper>,
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The page the address falls in.
    pub page: Cda,
    /// Whether the path allows writing.
    pub writable: bool,
}

/// One step's view of the walk.
struct Walk<'a> {
    store: &'a Store,
    address: u32,
    access: Access,
    read_only: bool,
    no_call: bool,
    keeper: Option<SegmentKeeper>,
}

impl Walk<'_> {
    fn fault(&self, code: FaultCode) -> SegmentFault {
        SegmentFault { code, address: self.address, access: self.access, keeper: self.keeper }
    }

    fn restrict(&mut self, flags: MemoryFlags) {
        self.read_only |= flags.contains(MemoryFlags::READ_ONLY);
        self.no_call |= flags.contains(MemoryFlags::NO_CALL);
    }
}

/// Applies `address` to `memory` for `access`. Every node walked through is
/// added to `walked`, so the kernel knows which node writes change
/// translations.
pub fn translate(
    store: &Store,
    walked: &mut FxHashSet<Cda>,
    memory: Key,
    address: u32,
    access: Access,
) -> Result<Translation, SegmentFault> {
    let mut w = Walk { store, address, access, read_only: false, no_call: false, keeper: None };
    let mut key = object::validate(store, memory);
    let mut offset = u64::from(address);
    for _ in 0..MAX_DEPTH {
        match key.kind() {
            KeyType::Page => return finish_page(&mut w, key, offset),
            KeyType::Node | KeyType::Segment | KeyType::Fetch | KeyType::Sense => {
                w.restrict(key_flags(key));
                walked.insert(key.cda());
                (key, offset) = match key.lss() {
                    0 => red_step(&mut w, key.cda(), offset)?,
                    lss @ 3..=8 => black_step(&w, key.cda(), lss, offset)?,
                    _ => return Err(w.fault(FaultCode::LssRange)),
                };
            }
            _ => return Err(w.fault(FaultCode::Outside)),
        }
    }
    Err(w.fault(FaultCode::LssRange))
}

/// The authority a segment-mode key's own type and databyte impose.
fn key_flags(key: Key) -> MemoryFlags {
    let mut flags = key.memory_flags();
    match key.kind() {
        KeyType::Fetch => flags |= MemoryFlags::READ_ONLY,
        KeyType::Sense => flags |= MemoryFlags::READ_ONLY | MemoryFlags::NO_CALL,
        _ => {}
    }
    flags
}

fn finish_page(w: &mut Walk<'_>, key: Key, offset: u64) -> Result<Translation, SegmentFault> {
    if offset >= 4096 {
        return Err(w.fault(FaultCode::Outside));
    }
    w.restrict(key.memory_flags() & MemoryFlags::READ_ONLY);
    if w.access == Access::Write && w.read_only {
        return Err(w.fault(FaultCode::ReadOnly));
    }
    Ok(Translation { page: key.cda(), writable: !w.read_only })
}

fn black_step(w: &Walk<'_>, cda: Cda, lss: u8, offset: u64) -> Result<(Key, u64), SegmentFault> {
    let shift = 4 * u32::from(lss);
    let slot = offset >> shift;
    if slot >= 16 {
        return Err(w.fault(FaultCode::Outside));
    }
    let child = object::validate(w.store, node::slot(w.store, cda, slot as usize));
    Ok((child, offset & ((1 << shift) - 1)))
}

/// A red node's format key, decoded.
struct Format {
    slot_shift: u32,
    initial: u64,
    keeper: Option<usize>,
    background: Option<usize>,
}

fn format(w: &Walk<'_>, cda: Cda) -> Result<Format, SegmentFault> {
    let key = node::slot(w.store, cda, 15);
    if key.kind() != KeyType::Data {
        return Err(w.fault(FaultCode::FormatNotData));
    }
    let v = key.data_value();
    let nibble = |i: u32| ((v >> (4 * i)) & 0xF) as usize;
    let ssc = nibble(0) as u32;
    if v >> 16 != 0 || key.data_body()[..3] != [0, 0, 0] || !(3..=8).contains(&ssc) {
        return Err(w.fault(FaultCode::FormatBad));
    }
    let slot = |n: usize| (n != 15).then_some(n);
    Ok(Format {
        slot_shift: 4 * ssc,
        initial: nibble(1) as u64,
        keeper: slot(nibble(2)),
        background: slot(nibble(3)),
    })
}

fn red_step(w: &mut Walk<'_>, cda: Cda, offset: u64) -> Result<(Key, u64), SegmentFault> {
    let f = format(w, cda)?;
    if let (Some(slot), false) = (f.keeper, w.no_call) {
        w.keeper = Some(SegmentKeeper { node: cda, keeper: node::slot(w.store, cda, slot) });
    }
    let background = || f.background.map(|slot| object::validate(w.store, node::slot(w.store, cda, slot)));
    let slot = offset >> f.slot_shift;
    if slot >= f.initial {
        return background().map(|bg| (bg, offset)).ok_or_else(|| w.fault(FaultCode::Outside));
    }
    let within = offset & ((1 << f.slot_shift) - 1);
    let key = object::validate(w.store, node::slot(w.store, cda, slot as usize));
    let window = key.data_value();
    if key.kind() != KeyType::Data || window & 2 == 0 {
        return Ok((key, within));
    }
    // A window key: bits 0-1 kind, bit 2 read-only, bit 3 no-call, 4-7 slot.
    let base = window & !0xFFF;
    if base & ((1 << f.slot_shift) - 1) != 0 {
        return Err(w.fault(FaultCode::WindowMisaligned));
    }
    let mut flags = MemoryFlags::empty();
    flags.set(MemoryFlags::READ_ONLY, window & 4 != 0);
    flags.set(MemoryFlags::NO_CALL, window & 8 != 0);
    w.restrict(flags);
    let target = match window & 3 {
        3 => background().ok_or_else(|| w.fault(FaultCode::Outside))?,
        _ => object::validate(w.store, node::slot(w.store, cda, ((window >> 4) & 0xF) as usize)),
    };
    Ok((target, base + within))
}

/// The value of a red node's format key.
pub fn format_key(
    slot_size_code: u8,
    initial_slots: u8,
    keeper_slot: Option<u8>,
    background_slot: Option<u8>,
) -> Key {
    let v = u64::from(slot_size_code & 0xF)
        | u64::from(initial_slots & 0xF) << 4
        | u64::from(keeper_slot.unwrap_or(15) & 0xF) << 8
        | u64::from(background_slot.unwrap_or(15) & 0xF) << 12;
    Key::data(v)
}

/// The value of a window key onto `slot` (or the background key) at `offset`.
pub fn window_key(offset: u64, slot: Option<u8>, read_only: bool, no_call: bool) -> Key {
    let kind = if slot.is_some() { 2 } else { 3 };
    Key::data(
        (offset & !0xFFF)
            | kind
            | u64::from(read_only) << 2
            | u64::from(no_call) << 3
            | u64::from(slot.unwrap_or(0) & 0xF) << 4,
    )
}
