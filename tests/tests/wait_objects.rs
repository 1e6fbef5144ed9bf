//! Wait objects and the wait multiplexer (design.md §24): WaitF's and a
//! wait object's order codes and return codes (KeyKOS `wait.h`), programs
//! waking each at its own times over the one BWAIT the multiplexer holds,
//! a second waiter refused, a destroyed object's waiter told, hostile
//! keys, and a crash while a program waits; on the interpreter and on the
//! translation tier.

use std::sync::Arc;

use disk_image::storage::FaultyStorage;
use domains::world::big_bang::{Settings, WAITF_FACET, operator_keys};
use gnosis_tests::{Spawn, assemble, boot, run_world, spawn, world};
use kernel::abi::*;
use kernel::builder::Builder;
use kernel::cpu::Tier;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key, KeyType};
use kernel::operator::{Operator, Reply};

/// Operator key registers the tests use.
const WAITF: usize = 7;
const BANK: usize = 8;
const WAIT: usize = 9;
const OTHER: usize = 10;

/// A program that waits on the wait object in k1 with order `order` and
/// the u64 in `arg`, `times` times (0: forever), counting its wake-ups at
/// `wakes` and keeping the last return code after it; it stops then, or
/// at the first return code that is not 0.
fn waiter(order: u32, arg: u64, times: u32) -> (Vec<u8>, u32) {
    let src = format!(
        r#"
    .include "gnosis.inc"
_start:
    li   s0, {times}
1:  KCALL_STR 1, {order}, arg, 8
    la   t0, wakes
    lw   t1, 0(t0)
    addi t1, t1, 1
    sw   t1, 0(t0)
    sw   a0, 4(t0)
    bnez a0, 2f
    addi s0, s0, -1
    bnez s0, 1b
2:  ebreak
    .data
arg:   .word {lo}, {hi}
wakes: .word 0, 0
"#,
        lo = arg as u32,
        hi = (arg >> 32) as u32,
    );
    let program = assemble(&src);
    (program.to_elf(), program.symbols["wakes"])
}

struct Rig {
    storage: Arc<FaultyStorage>,
    k: Kernel,
    op: Operator,
}

impl Rig {
    fn new(tier: Tier) -> Rig {
        let (storage, mut k) = world(32 << 20, Settings::default());
        k.set_tier(tier);
        run_world(&mut k, 200_000);
        let op = Operator::find(&k).unwrap().unwrap();
        let mut rig = Rig { storage, k, op };
        let waitf = kernel::inspect::domain_named(rig.k.store(), "waitf").expect("the world has waitf");
        let key = Builder::new(&mut rig.k).start_key(waitf, WAITF_FACET);
        rig.set(WAITF, key);
        let bank = rig.call(operator_keys::BANK, BANK_CREATE_BANK, &[], &[]);
        rig.set(BANK, bank.keys[0]);
        rig
    }

    fn set(&mut self, slot: usize, key: Key) {
        self.op.set_key(&mut self.k, slot, key).unwrap();
    }

    fn call(&mut self, slot: usize, order: u32, string: &[u8], pass: &[usize]) -> Reply {
        self.op.call(&mut self.k, slot, order, string, pass).unwrap()
    }

    /// A new wait object paid by BANK; its key.
    fn create(&mut self) -> Key {
        let r = self.call(WAITF, WAITF_CREATE, &[], &[BANK, 0, BANK]);
        assert_eq!((r.code, r.keys[0].kind()), (0, KeyType::Segment));
        r.keys[0]
    }

    /// Starts a waiter program on the user meter holding `wait` in k1; its root.
    fn start(&mut self, wait: Key, program: &[u8]) -> Cda {
        let meter = self.op.key(&mut self.k, operator_keys::USER_METER).unwrap();
        spawn(&mut self.k, meter, program, Spawn { keys: vec![(1, wait)], ..Default::default() })
    }

    /// Runs the world for `ns` of simulated time.
    fn run_for(&mut self, ns: u64) {
        let end = self.k.clock().now_ns() + ns;
        while self.k.clock().now_ns() < end {
            run_world(&mut self.k, 1_000_000);
        }
    }

    fn now_unix(&mut self) -> u64 {
        let r = self.call(WAIT, WAIT_SHOW_TOD, &[], &[]);
        assert_eq!((r.code, r.string.len()), (0, 8));
        u64::from_le_bytes(r.string.try_into().unwrap())
    }
}

/// (wake-ups, last return code) of a waiter program.
fn wakes(k: &mut Kernel, root: Cda, at: u32) -> (u32, u32) {
    let mut b = [0u8; 8];
    k.read_memory(root, at, &mut b).expect("mapped");
    (u32::from_le_bytes(b[..4].try_into().unwrap()), u32::from_le_bytes(b[4..].try_into().unwrap()))
}

fn programs_wake_each_at_their_own_times(tier: Tier) {
    let mut t = Rig::new(tier);
    let (fast, slow) = (t.create(), t.create());
    let (fast_elf, at) = waiter(WAIT_SET_INTERVAL_AND_WAIT, 100_000, 0);
    let (slow_elf, _) = waiter(WAIT_SET_INTERVAL_AND_WAIT, 250_000, 0);
    let (a, b) = (t.start(fast, &fast_elf), t.start(slow, &slow_elf));
    t.run_for(1_050_000_000);
    assert_eq!(wakes(&mut t.k, a, at), (10, 0), "every 100 ms");
    assert_eq!(wakes(&mut t.k, b, at), (4, 0), "every 250 ms");
    t.k.check_invariants().unwrap();
}

#[test]
fn programs_wake_each_at_their_own_times_over_one_bwait_interpreted() {
    programs_wake_each_at_their_own_times(Tier::Interpret);
}

#[test]
fn programs_wake_each_at_their_own_times_over_one_bwait_translated() {
    programs_wake_each_at_their_own_times(Tier::default());
}

fn orders(tier: Tier) {
    let mut t = Rig::new(tier);
    assert_eq!(t.call(WAITF, KT, &[], &[]).code, AKT_WAITF);
    assert_eq!(t.call(WAITF, 1, &[], &[BANK]).code, RC_INVALID);
    let wait = t.create();
    t.set(WAIT, wait);
    assert_eq!(t.call(WAIT, KT, &[], &[]).code, AKT_WAIT);
    assert_eq!(t.call(WAIT, WAIT_SHOW_TIME, &[], &[]).code, WAIT_RC_NOT_SET);
    let now = t.now_unix();
    t.run_for(1_000_000);
    assert!(t.now_unix() > now, "the time of day moves on");
    // A time that has passed: Wait answers at once.
    assert_eq!(t.call(WAIT, WAIT_SET_TOD, &(now - 1).to_le_bytes(), &[]).code, 0);
    assert_eq!(t.call(WAIT, WAIT_WAIT, &[], &[]).code, 0);
    assert_eq!(t.call(WAIT, WAIT_SET_TOD_AND_WAIT, &now.to_le_bytes(), &[]).code, 0);
    let shown = t.call(WAIT, WAIT_SHOW_TIME, &[], &[]);
    let mut iso = [0u8; 24];
    system_iso8601(now, &mut iso);
    assert_eq!((shown.code, shown.string), (0, iso.to_vec()));
    // Bad strings and orders.
    assert_eq!(t.call(WAIT, WAIT_SET_TOD, &[1, 2, 3], &[]).code, WAIT_RC_FORMAT);
    assert_eq!(t.call(WAIT, WAIT_SET_INTERVAL, &[], &[]).code, WAIT_RC_FORMAT);
    assert_eq!(t.call(WAIT, 6, &[], &[]).code, RC_INVALID);
    assert_eq!(t.call(WAIT, WAIT_SET_INTERVAL, &u64::MAX.to_le_bytes(), &[]).code, 0, "saturates");
    let shown = t.call(WAIT, WAIT_SHOW_TIME, &[], &[]);
    assert_eq!(shown.code, 0, "a far future is still a time");
    t.k.check_invariants().unwrap();
}

/// The ISO 8601 text the clock gives for Unix ns `ns` (checked against
/// chrono-free arithmetic: days since 1970 to a civil date).
fn system_iso8601(ns: u64, out: &mut [u8; 24]) {
    let secs = ns / 1_000_000_000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let text = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        ns / 1_000_000 % 1000
    );
    out.copy_from_slice(text.as_bytes());
}

#[test]
fn wait_objects_answer_keykos_orders_and_return_codes_interpreted() {
    orders(Tier::Interpret);
}

#[test]
fn wait_objects_answer_keykos_orders_and_return_codes_translated() {
    orders(Tier::default());
}

#[test]
fn a_second_waiter_is_refused_and_destroying_the_object_tells_the_first() {
    let mut t = Rig::new(Tier::default());
    let before = (t.call(BANK, BANK_NODES_AVAILABLE, &[], &[]).string)[..4].to_vec();
    let wait = t.create();
    t.set(WAIT, wait);
    let (elf, at) = waiter(WAIT_SET_INTERVAL_AND_WAIT, 3_600_000_000, 1);
    let root = t.start(wait, &elf);
    t.run_for(10_000_000);
    assert_eq!(wakes(&mut t.k, root, at), (0, 0), "an hour to go");
    assert_eq!(t.call(WAIT, WAIT_WAIT, &[], &[]).code, WAIT_RC_BUSY);
    assert_eq!(t.call(WAIT, WAIT_DESTROY, &[], &[]).code, 0);
    t.run_for(1_000_000);
    assert_eq!(wakes(&mut t.k, root, at), (1, RC_DATA), "the waiter was told the object died");
    assert!(!kernel::object::is_current(t.k.store(), wait));
    assert_eq!(t.call(WAIT, WAIT_WAIT, &[], &[]).code, RC_DATA, "DK(0) now");
    let after = (t.call(BANK, BANK_NODES_AVAILABLE, &[], &[]).string)[..4].to_vec();
    assert_eq!(before, after, "its node went back to its bank");
}

#[test]
fn hostile_keys_get_return_codes_and_the_multiplexer_serves_on() {
    let mut t = Rig::new(Tier::default());
    let node = t.call(BANK, BANK_CREATE_NODE, &[], &[]).keys[0];
    for fake in [Key::NULL, Key::data(7), node, t.create()] {
        t.set(OTHER, fake);
        assert_eq!(t.call(WAITF, WAITF_CREATE, &[], &[OTHER]).code, RCF_RC_NOT_OFFICIAL_BANK, "{fake:?}");
    }
    // A start key with a wait object's databyte but no front end.
    let waitf = kernel::inspect::domain_named(t.k.store(), "waitf").unwrap();
    let stray = Builder::new(&mut t.k).start_key(waitf, 0);
    t.set(OTHER, stray);
    t.set(WAIT, node);
    assert_eq!(t.call(OTHER, WAIT_WAIT, &[], &[WAIT, WAIT, WAIT]).code, RC_INVALID);
    // A bank destroyed under a waiting program's wait object: the program
    // waits on (its object is gone), and others still wake.
    let doomed = t.create();
    let (elf, at) = waiter(WAIT_SET_INTERVAL_AND_WAIT, 50_000, 0);
    let lost = t.start(doomed, &elf);
    let bank = t.call(operator_keys::BANK, BANK_CREATE_BANK, &[], &[]).keys[0];
    assert_eq!(t.call(BANK, BANK_DESTROY, &[], &[]).code, 0);
    t.set(BANK, bank);
    let alive = t.create();
    let fine = t.start(alive, &elf);
    t.run_for(520_000_000);
    assert!(wakes(&mut t.k, fine, at).0 >= 10, "{:?}", wakes(&mut t.k, fine, at));
    assert_eq!(wakes(&mut t.k, lost, at).1, RC_DATA, "its object is DK(0)");
    let d = kernel::inspect::domains(t.k.store()).into_iter().find(|d| d.name == "waitf").unwrap();
    assert_eq!(d.trap.0, 0, "waitf never faulted");
}

#[test]
fn a_program_waiting_through_a_crash_wakes_once_after_the_restart() {
    let mut t = Rig::new(Tier::default());
    let wait = t.create();
    let (elf, at) = waiter(WAIT_SET_INTERVAL_AND_WAIT, 5_000_000, 1);
    let root = t.start(wait, &elf);
    t.run_for(1_000_000_000);
    assert_eq!(wakes(&mut t.k, root, at), (0, 0));
    t.k.checkpoint_now().unwrap();
    t.k.finish_background().unwrap();
    let mut k = boot(Arc::new(FaultyStorage::new(&t.storage.durable_image(), None))).1;
    let end = k.clock().now_ns() + 6_000_000_000;
    while k.clock().now_ns() < end {
        run_world(&mut k, 1_000_000);
    }
    assert_eq!(wakes(&mut k, root, at), (1, 0), "woken once, by its own time");
    k.check_invariants().unwrap();
}
