//! The primordial world: the system domains and the demos, in process with
//! a simulated clock, crashing by restarting from what was durable.

use std::sync::Arc;

use disk_image::storage::{FaultKind, FaultPlan, FaultyStorage, Storage};
use domains::world::big_bang::{Settings, operator_keys};
use domains::world::crash_table;
use gnosis_tests::{boot, run_world, world};
use kernel::kernel::Kernel;
use kernel::key::{Key, KeyType};
use kernel::operator::{Operator, Reply};

/// Runs until the console has printed `pattern` (returns everything printed).
fn run_until(k: &mut Kernel, pattern: &str) -> String {
    let mut out = String::new();
    for _ in 0..200 {
        out.push_str(&run_world(k, 200_000));
        if out.contains(pattern) {
            return out;
        }
    }
    panic!("the console never printed {pattern:?}; it printed:\n{out}");
}

/// Types a line at the console and runs until the answer containing `expect`.
fn command(k: &mut Kernel, line: &str, expect: &str) -> String {
    k.console().feed(format!("{line}\n").as_bytes());
    run_until(k, expect)
}

/// A power cut: a new kernel on what was durable.
fn crash(storage: &FaultyStorage) -> Kernel {
    boot(Arc::new(FaultyStorage::new(&storage.durable_image(), None))).1
}

#[test]
fn the_counter_goes_on_from_the_last_checkpoint_and_the_crash_table_records_the_restart() {
    let (storage, mut k) = world(64 << 20, Settings::default());
    run_until(&mut k, "counter: 3\n");
    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    let checkpoint_ns = k.checkpoint_header().checkpoint_time_ns;
    let before = crash_table::read(k.store()).unwrap();
    let later = run_until(&mut k, "counter: 6\n");
    assert!(!later.contains("counter: 1\n"));

    let mut k = crash(&storage);
    let out = run_until(&mut k, "counter: ");
    let first = out.lines().find(|l| l.starts_with("counter: ")).unwrap();
    assert_eq!(first, "counter: 4", "the count goes on from 3, its value in the checkpoint");
    run_world(&mut k, 100_000);
    let after = crash_table::read(k.store()).unwrap();
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    let newest = after.last().unwrap();
    assert_eq!(newest.checkpoint_ns, checkpoint_ns);
    assert!(newest.restart_ns > checkpoint_ns && newest.downtime_ns() > 0);
}

#[test]
fn acknowledged_key_value_writes_survive_a_crash_right_after_the_acknowledgement() {
    let (storage, mut k) = world(64 << 20, Settings::default());
    run_until(&mut k, "type help");
    command(&mut k, "set apple red", "ok\n");
    command(&mut k, "set pear green and ripe", "ok\n");
    command(&mut k, "del apple", "ok\n");
    command(&mut k, "set plum blue", "ok\n");
    assert_eq!(
        k.checkpoint_header().generation,
        2,
        "no checkpoint since the big bang: only the journal helps"
    );

    let mut k = crash(&storage);
    run_until(&mut k, "type help");
    assert!(command(&mut k, "get pear", "pear").contains("pear = green and ripe"));
    assert!(command(&mut k, "get apple", "apple").contains("apple is not set"));
    let list = command(&mut k, "list", "plum");
    assert!(list.contains("pear=green and ripe\n") && list.contains("plum=blue\n"), "{list}");
    assert!(!list.contains("apple"), "{list}");
}

#[test]
fn a_crash_at_any_write_while_setting_a_key_loses_at_most_that_unacknowledged_write() {
    let (storage, mut k) = world(32 << 20, Settings::default());
    run_until(&mut k, "type help");
    command(&mut k, "set kept yes", "ok\n");
    let base = storage.durable_image();
    let (first, last) = {
        let (probe, mut k) = boot(Arc::new(FaultyStorage::new(&base, None)));
        run_until(&mut k, "type help");
        let first = probe.event_count();
        command(&mut k, "set fresh value", "ok\n");
        (first, probe.event_count())
    };
    assert!(last > first, "setting a key writes the journal");
    let mut lost = 0;
    for event in first..last + 2 {
        let plan = FaultPlan { event, kind: FaultKind::StopAtWrite, seed: event };
        let (faulty, mut k) = boot(Arc::new(FaultyStorage::new(&base, Some(plan))));
        run_until(&mut k, "type help");
        k.console().feed(b"set fresh value\n");
        // The acknowledgement counts only if it was printed before the
        // crash point: output of the step that crashed, or of any later
        // one, never reached the outside world.
        let mut printed = String::new();
        for _ in 0..10_000 {
            k.step().unwrap();
            if faulty.crashed() || printed.contains("ok\n") {
                break;
            }
            printed.push_str(&String::from_utf8_lossy(&k.console().take_output()));
            if !k.has_ready() {
                k.idle_until_next_timer();
            }
        }
        let acknowledged = printed.contains("ok\n");
        let image = faulty.crash_image().map_or_else(|| faulty.durable_image(), |c| c.bytes);
        let mut k = boot(Arc::new(FaultyStorage::new(&image, None))).1;
        run_until(&mut k, "type help");
        assert!(command(&mut k, "get kept", "kept").contains("kept = yes"), "event {event}");
        let fresh = command(&mut k, "get fresh", "fresh");
        if acknowledged {
            assert!(fresh.contains("fresh = value"), "event {event}: acknowledged, then lost");
        } else if fresh.contains("is not set") {
            lost += 1;
        } else {
            assert!(fresh.contains("fresh = value"), "event {event}: corrupt: {fresh}");
        }
    }
    eprintln!("{} crash points while setting a key; {lost} lost the unacknowledged write", last + 2 - first);
}

fn bank_call(k: &mut Kernel, op: &Operator, bank: usize, order: u32, string: &[u8], pass: &[usize]) -> Reply {
    op.call(k, bank, order, string, pass).unwrap()
}

#[test]
fn the_space_bank_sells_limits_and_destroys_whole_sub_banks() {
    let (storage, mut k) = world(32 << 20, Settings::default());
    run_world(&mut k, 100_000);
    let op = Operator::find(&k).unwrap().unwrap();
    let prime = operator_keys::BANK;
    let available = |k: &mut Kernel, bank: usize, order: u32| {
        let r = bank_call(k, &op, bank, order, &[], &[]);
        assert_eq!(r.code, 0);
        u32::from_le_bytes(r.string[..4].try_into().unwrap())
    };
    let pages_free = available(&mut k, prime, 21);

    // A sub-bank limited to 2 nodes and 3 pages.
    let limits: Vec<u8> = [2u32, 3].iter().flat_map(|n| n.to_le_bytes()).collect();
    let r = bank_call(&mut k, &op, prime, 67, &limits, &[]);
    assert_eq!((r.code, r.keys[0].kind()), (0, KeyType::Segment));
    op.set_key(&mut k, 5, r.keys[0]).unwrap();
    assert_eq!(available(&mut k, 5, 21), 3);
    let mut pages = Vec::new();
    for _ in 0..3 {
        let r = bank_call(&mut k, &op, 5, 16, &[], &[]);
        assert_eq!((r.code, r.keys[0].kind()), (0, KeyType::Page));
        pages.push(r.keys[0]);
    }
    assert_eq!(bank_call(&mut k, &op, 5, 16, &[], &[]).code, 1, "the limit holds");
    assert_eq!(available(&mut k, prime, 21), pages_free - 3, "the prime bank was debited too");

    // A sub-sub-bank is bounded by its parent's limit.
    let r = bank_call(&mut k, &op, 5, 67, &[], &[]);
    assert_eq!(r.code, 0);
    op.set_key(&mut k, 6, r.keys[0]).unwrap();
    assert_eq!(available(&mut k, 6, 5), 2, "nodes: what the parent has left");
    let r = bank_call(&mut k, &op, 6, 0, &[], &[]);
    assert_eq!((r.code, r.keys[0].kind()), (0, KeyType::Node));
    let node = r.keys[0];
    assert_eq!(available(&mut k, 5, 5), 1);

    // Destroying a page returns it; destroying through another bank does not.
    op.set_key(&mut k, 7, pages[0]).unwrap();
    assert_eq!(bank_call(&mut k, &op, 6, 17, &[], &[7]).code, 1, "not the sub-sub-bank's page");
    assert_eq!(bank_call(&mut k, &op, 5, 17, &[], &[7]).code, 0);
    assert!(!kernel::object::is_current(k.store(), pages[0]));
    let stats = bank_call(&mut k, &op, 5, 22, &[], &[]).string;
    assert_eq!(stats[..8], [3, 0, 0, 0, 1, 0, 0, 0], "3 pages created, 1 destroyed");

    // Destroying the sub-bank destroys all its space, its sub-bank's too,
    // and every key to either bank.
    let sub_bank = op.key(&mut k, 5).unwrap();
    assert_eq!(bank_call(&mut k, &op, 5, 64, &[], &[]).code, 0);
    for key in [pages[1], pages[2], node, sub_bank, op.key(&mut k, 6).unwrap()] {
        assert!(!kernel::object::is_current(k.store(), key), "{key:?} survived its bank");
    }
    assert_eq!(available(&mut k, prime, 21), pages_free, "everything came back");
    assert_eq!(bank_call(&mut k, &op, prime, 64, &[], &[]).code, 1, "the prime bank cannot be destroyed");
    assert_eq!(bank_call(&mut k, &op, 6, 0, &[], &[]).code, kernel::invoke::RC_DATA, "DK(0) now");

    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    let len = storage.frame_count() * disk_image::FRAME_BYTES;
    let report = kernel::check::check_image(storage, len).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
}

#[test]
fn the_space_bank_sells_two_and_three_at_once_weakens_its_keys_and_verifies_banks() {
    let (storage, mut k) = world(32 << 20, Settings::default());
    run_world(&mut k, 100_000);
    let op = Operator::find(&k).unwrap().unwrap();
    let prime = operator_keys::BANK;
    let r = bank_call(
        &mut k,
        &op,
        prime,
        67,
        &[3u32, 8].iter().flat_map(|n| n.to_le_bytes()).collect::<Vec<_>>(),
        &[],
    );
    op.set_key(&mut k, 5, r.keys[0]).unwrap();
    let sub = 5;

    // Create two and three at once; all or nothing.
    let r = bank_call(&mut k, &op, sub, 8, &[], &[]);
    assert_eq!(r.code, 0);
    let nodes: Vec<_> = r.keys[..3].to_vec();
    assert!(nodes.iter().all(|n| n.kind() == KeyType::Node && kernel::object::is_current(k.store(), *n)));
    assert!(nodes[0] != nodes[1] && nodes[1] != nodes[2] && nodes[0] != nodes[2], "three objects");
    assert_eq!(bank_call(&mut k, &op, sub, 7, &[], &[]).code, 1, "the node limit (3) holds: none made");
    let r = bank_call(&mut k, &op, sub, 24, &[], &[]);
    assert_eq!((r.code, r.keys[..3].iter().filter(|p| p.kind() == KeyType::Page).count()), (0, 3));
    let (p0, p1) = (r.keys[0], r.keys[1]);
    // Destroy two at once: both must be this bank's.
    op.set_key(&mut k, 7, p0).unwrap();
    op.set_key(&mut k, 8, p1).unwrap();
    op.set_key(&mut k, 9, nodes[0]).unwrap();
    assert_eq!(bank_call(&mut k, &op, sub, 25, &[], &[7, 7]).code, 1, "the same page twice");
    assert_eq!(bank_call(&mut k, &op, sub, 25, &[], &[7, 8]).code, 0);
    assert!(!kernel::object::is_current(k.store(), p0) && !kernel::object::is_current(k.store(), p1));
    assert_eq!(bank_call(&mut k, &op, sub, 9, &[], &[9, 9]).code, 1);

    // Weaker keys: no destroy, no query; their limits add up.
    let weak = bank_call(&mut k, &op, sub, 33, &[], &[]);
    assert_eq!((weak.code, weak.keys[0].kind()), (0, KeyType::Segment));
    op.set_key(&mut k, 10, weak.keys[0]).unwrap();
    assert_eq!(bank_call(&mut k, &op, 10, 64, &[], &[]).code, kernel::invoke::RC_INVALID, "may not destroy");
    assert_eq!(bank_call(&mut k, &op, 10, 21, &[], &[]).code, 0, "may query");
    let weaker = bank_call(&mut k, &op, 10, 34, &[], &[]);
    op.set_key(&mut k, 11, weaker.keys[0]).unwrap();
    assert_eq!(bank_call(&mut k, &op, 11, 21, &[], &[]).code, kernel::invoke::RC_INVALID, "may not query");
    assert_eq!(
        bank_call(&mut k, &op, 11, 64, &[], &[]).code,
        kernel::invoke::RC_INVALID,
        "still may not destroy"
    );
    let page = bank_call(&mut k, &op, 11, 16, &[], &[]);
    assert_eq!(page.code, 0, "a weak key still buys, from the same bank");

    // VerifyBank: bank keys (weakened or not) are official; other keys are not.
    for (slot, official) in [(sub, true), (11, true), (prime, true), (9, false)] {
        let rc = bank_call(&mut k, &op, prime, 66, &[], &[slot]).code;
        assert_eq!(rc, u32::from(!official), "key register {slot}");
    }
    op.set_key(&mut k, 12, Key::data(5)).unwrap();
    assert_eq!(bank_call(&mut k, &op, prime, 66, &[], &[12]).code, 1, "a data key");

    // Destroying the bank kills its weak keys too.
    let weak_key = op.key(&mut k, 11).unwrap();
    assert_eq!(bank_call(&mut k, &op, sub, 64, &[], &[]).code, 0);
    assert!(!kernel::object::is_current(k.store(), weak_key));
    assert!(!kernel::object::is_current(k.store(), page.keys[0]));
    assert_eq!(bank_call(&mut k, &op, prime, 66, &[], &[11]).code, 1, "a destroyed bank is not official");
    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    let len = storage.frame_count() * disk_image::FRAME_BYTES;
    assert!(kernel::check::check_image(storage, len).unwrap().is_clean());
}

#[test]
fn the_checkpoint_driver_checkpoints_on_schedule() {
    let (_s, mut k) = world(32 << 20, Settings { checkpoint_interval_s: 1 });
    let start = (k.clock().now_ns(), k.checkpoint_header().generation);
    while k.clock().now_ns() < start.0 + 5_500_000_000 {
        run_world(&mut k, 1_000_000);
    }
    k.finish_background().unwrap();
    let taken = k.checkpoint_header().generation - start.1;
    assert!((4..=6).contains(&taken), "{taken} checkpoints in 5.5 s at one a second");
}

#[test]
fn the_migrator_waits_between_migrations_instead_of_spinning() {
    let (_s, mut k) = world(32 << 20, Settings::default());
    run_until(&mut k, "type help");
    for round in 0..3 {
        command(&mut k, &format!("set round {round}"), "ok\n");
        k.checkpoint_now().unwrap();
        run_until(&mut k, "counter: ");
        run_until(&mut k, "counter: ");
    }
    k.finish_background().unwrap();
    let migrator = kernel::inspect::domains(k.store()).into_iter().find(|d| d.name == "migrator").unwrap();
    assert!(migrator.instructions > 0, "the migrator ran");
    assert!(migrator.instructions < 200_000, "the migrator spun: {} instructions", migrator.instructions);
    assert_eq!(k.checkpoint_stats().migrated, k.checkpoint_stats().committed);
}

#[test]
fn installed_programs_join_the_world_and_persist() {
    let (storage, mut k) = world(32 << 20, Settings::default());
    run_until(&mut k, "type help");
    let elf = gnosis_tests::asm(
        r#"
        .include "gnosis.inc"
    _start:
        la   s0, text
        li   s1, 13
        KCALL_SEND 1, CONSOLE_WRITE, s0, s1
        KCALL 2, 5               # the key-value store's count of keys
        mv   s2, a0
        ebreak
        .data
    text: .ascii "hello, world\n"
    "#,
    );
    let grants = ["console", "start:kv", "bank"].map(|g| g.parse().unwrap());
    let root = domains::world::install::install(&mut k, &elf, "hello", &grants).unwrap();
    let out = run_until(&mut k, "hello, world\n");
    assert!(out.contains("hello, world"));
    let err = domains::world::install::install(&mut k, &elf, "hello", &[]).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!("start:".parse::<domains::world::install::Grant>().is_err());

    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    let k = crash(&storage);
    let hello = kernel::inspect::domains(k.store()).into_iter().find(|d| d.name == "hello").unwrap();
    assert_eq!(hello.root, root);
    assert_eq!(hello.trap.0, kernel::trap::BREAKPOINT, "it ran to its ebreak");
}
