//! The translation tier: hot code runs as host machine code made by
//! cranelift; everything else, and every hard case, runs in the
//! interpreter.
//!
//! [`run`] is a dispatcher over the two. At each block start it looks in the
//! decoded page for a translation of that slot; each slot entered
//! [`Tier::Translate`]`.threshold` times gets one (see `translate` for what
//! a translation covers and how it stays exact). A translation that retires
//! nothing (its first instruction needs the interpreter) hands the next
//! block to the interpreter, so every round makes progress. Translations
//! live in the [`DecodedPage`] they were made from: whatever drops the
//! decoded page (a write to it) drops its translations too, so code that
//! rewrites itself never runs a stale translation.
//!
//! What the guest sees is the interpreter's semantics exactly: the same
//! registers, memory, exits and instruction counts for any budget (the
//! differential tests in `tests/tests/conformance.rs` hold the two tiers to
//! that).

mod native;
mod translate;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rustc_hash::FxHashMap;

use self::native::{Context, Native};
pub use self::translate::{MAX_OPS, TranslateError, Translator};
use super::code::{DecodedPage, OPS_PER_PAGE};
use super::decode::OpKind;
use super::tlb::{CodeTlb, DataTlb};
use super::{Exit, Hart, Mmu, exec};

/// How a hart's code is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter alone.
    Interpret,
    /// Translate a block start once the dispatcher has come to it this
    /// many times (0: at once).
    Translate {
        /// Entries before translation.
        threshold: u32,
    },
}

/// Entries of a block start before it is translated: enough that code run
/// once is never compiled (a translation costs about as much as
/// interpreting it some thousands of times), few enough that a loop is
/// translated in its first microseconds.
pub const HOT: u32 = 32;

/// Translations one decoded page may have; hot block starts beyond them
/// stay interpreted. With [`CODE_BYTES_LIMIT`] this bounds what a domain
/// can make the kernel hold, whatever its code does.
pub const TRANSLATIONS_PER_PAGE: usize = 64;

/// Executable memory all translations together may hold; past it, hot
/// block starts wait (interpreted) until decoded pages, and their
/// translations, are dropped.
pub const CODE_BYTES_LIMIT: usize = 64 << 20;

impl Default for Tier {
    fn default() -> Self {
        Tier::Translate { threshold: HOT }
    }
}

/// What a block start of a decoded page has become.
enum Slot {
    /// Entered this many times, not translated yet.
    Cold(u32),
    /// Translated.
    Native(Rc<Native>),
    /// Translation failed; the interpreter keeps it.
    Refused,
}

/// The translations made from one decoded page, by entry slot.
#[derive(Default)]
pub struct Translations {
    slots: RefCell<FxHashMap<u16, Slot>>,
    /// How many slots are `Slot::Native`.
    made: Cell<usize>,
}

impl Translations {
    /// How many block starts of the page have been translated.
    pub fn count(&self) -> usize {
        self.made.get()
    }
    /// The translation for entry `slot` of `page` (at guest `base`),
    /// counting this entry and translating once it is hot.
    fn hot(&self, page: &DecodedPage, base: u32, slot: usize, threshold: u32) -> Option<Rc<Native>> {
        let mut slots = self.slots.borrow_mut();
        let state = slots.entry(slot as u16).or_insert(Slot::Cold(0));
        match state {
            Slot::Native(native) => return Some(native.clone()),
            Slot::Refused => return None,
            Slot::Cold(n) if *n < threshold => {
                *n += 1;
                return None;
            }
            Slot::Cold(_) if native::live_bytes() >= CODE_BYTES_LIMIT => return None,
            Slot::Cold(_) if self.made.get() >= TRANSLATIONS_PER_PAGE => {
                *state = Slot::Refused;
                return None;
            }
            Slot::Cold(_) => {}
        }
        *state = match with_translator(|t| t.translate(page, base, slot)) {
            Some(Ok(native)) => {
                tracing::trace!(base, slot, bytes = native.size(), "translated");
                self.made.set(self.made.get() + 1);
                Slot::Native(Rc::new(native))
            }
            Some(Err(e)) => {
                tracing::debug!(base, slot, error = %e, "translation refused");
                Slot::Refused
            }
            None => Slot::Refused,
        };
        match state {
            Slot::Native(native) => Some(native.clone()),
            _ => None,
        }
    }
}

thread_local! {
    /// One code generator per thread (the kernel runs on one): building
    /// the ISA description costs far more than a translation.
    static TRANSLATOR: RefCell<Option<Option<Translator>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's translator, or returns `None` where the host
/// has none.
fn with_translator<R>(f: impl FnOnce(&mut Translator) -> R) -> Option<R> {
    TRANSLATOR.with_borrow_mut(|t| t.get_or_insert_with(Translator::for_host).as_mut().map(f))
}

/// Runs `hart` for at most `budget` instructions with the tier its code
/// TLB asks for. Returns why it stopped and how many instructions retired,
/// exactly as the interpreter (`exec::run`) would.
pub fn run<M: Mmu>(
    hart: &mut Hart,
    data: &mut DataTlb,
    code: &mut CodeTlb,
    mmu: &mut M,
    budget: u64,
) -> (Exit<M::Fault>, u64) {
    let Tier::Translate { threshold } = code.tier() else {
        return exec::run(hart, data, code, mmu, budget);
    };
    let mut remaining = budget;
    while remaining > 0 {
        let (retired, ecall) = translated(hart, data, code, remaining, threshold);
        remaining -= retired;
        code.count_translated(retired);
        if ecall {
            return (Exit::Ecall, budget - remaining);
        }
        if retired > 0 {
            continue;
        }
        let (exit, n) = exec::run(hart, data, code, mmu, remaining.min(block_len(code, hart.pc)));
        remaining -= n;
        if !matches!(exit, Exit::Budget) {
            return (exit, budget - remaining);
        }
    }
    (Exit::Budget, budget)
}

/// Runs the translation for the hart's pc if there is one (or it is hot
/// now) and the budget covers its first block; returns what it retired and
/// whether it stopped at an `ecall` (retired, the pc at it).
fn translated(
    hart: &mut Hart,
    data: &DataTlb,
    code: &CodeTlb,
    remaining: u64,
    threshold: u32,
) -> (u64, bool) {
    let pc = hart.pc;
    let Some(page) = code.lookup(pc).filter(|_| pc & 3 == 0) else { return (0, false) };
    let slot = slot_of(pc);
    if remaining < u64::from(page.run_len[slot]) || left_to_interpreter(page.ops[slot].kind) {
        return (0, false);
    }
    let Some(native) = page.translations.hot(page, pc & !0xFFF, slot, threshold) else { return (0, false) };
    let (read, write) = data.raw_tables();
    let mut context = Context { regs: hart.regs.as_mut_ptr(), read, write, remaining, pc, reason: 0 };
    native.call(&mut context);
    hart.pc = context.pc;
    (remaining - context.remaining, context.reason == native::ECALL)
}

/// Ops translated code never executes (it returns before them): a
/// translation starting at one would retire nothing.
fn left_to_interpreter(kind: OpKind) -> bool {
    matches!(kind, OpKind::Ebreak | OpKind::FenceI | OpKind::Illegal)
}

/// Instructions from `pc` to its block's end, or 1 if its page is not
/// decoded yet (the interpreter then fetches it).
fn block_len(code: &CodeTlb, pc: u32) -> u64 {
    code.lookup(pc).map_or(1, |page| u64::from(page.run_len[slot_of(pc)]))
}

fn slot_of(pc: u32) -> usize {
    ((pc >> 2) as usize) % OPS_PER_PAGE
}
