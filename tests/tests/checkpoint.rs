//! Checkpoints, migration and restart, driven directly through the kernel
//! (no domain programs): the storage path on its own.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use disk_image::CheckpointState;
use disk_image::storage::{FaultKind, FaultPlan, FaultyStorage, Storage};
use gnosis_tests::{boot, boot_with, formatted_image, load_with};
use kernel::builder::Builder;
use kernel::check;
use kernel::kernel::Config;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key, KeyType};
use kernel::object::node;
use rand::{Rng, SeedableRng};

const IMAGE: u64 = 4 << 20;

/// What a run recorded: the digest of every checkpoint at its snapshot, and
/// the storage event count by which each generation had committed.
#[derive(Default, Clone)]
struct Record {
    digests: BTreeMap<u64, u64>,
    committed_by: BTreeMap<u64, u64>,
}

/// A workload of page and node writes and checkpoints, deterministic from `seed`.
fn workload(storage: &Arc<FaultyStorage>, seed: u64, record: Rc<RefCell<Record>>) -> Kernel {
    workload_with(storage, seed, record, Config::default())
}

/// [`workload`] with a kernel configuration.
fn workload_with(
    storage: &Arc<FaultyStorage>,
    seed: u64,
    record: Rc<RefCell<Record>>,
    config: Config,
) -> Kernel {
    {
        // The restarted state before boot touches anything.
        let (_, loaded) = load_with(storage.clone());
        record.borrow_mut().digests.insert(loaded.opened.header.generation, check::digest(&loaded.store));
    }
    let (_, mut k) = boot_with(storage.clone(), config);
    let r = record.clone();
    k.observe_snapshots(Box::new(move |generation, store| {
        r.borrow_mut().digests.insert(generation, check::digest(store));
    }));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (pages, nodes) = {
        let mut b = Builder::new(&mut k);
        let pages: Vec<Cda> = (0..12).map(|_| b.page().unwrap()).collect();
        let nodes: Vec<Cda> = (0..6).map(|_| b.node().unwrap()).collect();
        (pages, nodes)
    };
    for round in 0..5 {
        for _ in 0..20 {
            let page = pages[rng.gen_range(0..pages.len())];
            let offset = rng.gen_range(0..4000);
            let bytes: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.r#gen()).collect();
            k.write_page(page, offset, &bytes).unwrap();
            let n = nodes[rng.gen_range(0..nodes.len())];
            let target = pages[rng.gen_range(0..pages.len())];
            let key = Key::object(KeyType::Page, target, 0, 0);
            node::set_slot(k.store_mut(), n, rng.gen_range(0..16), key).unwrap();
            step_and_note(&mut k, storage, &record);
        }
        if round % 2 == 0 {
            k.request_checkpoint();
        }
    }
    k.checkpoint_now().unwrap();
    note_commit(&k, storage, &record);
    k.finish_background().unwrap();
    k
}

fn step_and_note(k: &mut Kernel, storage: &Arc<FaultyStorage>, record: &Rc<RefCell<Record>>) {
    k.step().unwrap();
    note_commit(k, storage, record);
}

fn note_commit(k: &Kernel, storage: &Arc<FaultyStorage>, record: &Rc<RefCell<Record>>) {
    let g = k.checkpoint_header().generation;
    record.borrow_mut().committed_by.entry(g).or_insert(storage.event_count());
}

#[test]
fn a_checkpoint_round_trips_through_restart() {
    let storage = Arc::new(FaultyStorage::new(&formatted_image(IMAGE), None));
    let record = Rc::new(RefCell::new(Record::default()));
    let k = workload(&storage, 7, record.clone());
    let last = k.checkpoint_header().generation;
    assert!(last >= 4, "the workload took several checkpoints (got generation {last})");
    assert_eq!(k.checkpoint_header().state, CheckpointState::Migrated);
    let live = check::digest(k.store());
    drop(k);
    let durable = Arc::new(FaultyStorage::new(&storage.durable_image(), None));
    let (durable, loaded) = load_with(durable);
    assert_eq!(loaded.opened.header.generation, last);
    assert_eq!(check::digest(&loaded.store), live, "restart sees exactly the last checkpoint");
    assert_eq!(record.borrow().digests[&last], live);
    let dynamic: Arc<dyn Storage> = durable;
    let report = check::check_image(dynamic, IMAGE).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
}

/// Crashes the workload at every storage event (stopping before the write,
/// tearing it, losing unsynced writes) and restarts: the image must come
/// back exactly at a checkpoint no older than the last one committed before
/// the crash. (Bit flips, and crashes during restart, are in the campaign
/// tests: they may legitimately end in detected damage.)
#[test]
fn a_crash_at_every_write_restarts_to_the_last_committed_checkpoint() {
    let image = formatted_image(IMAGE);
    let clean = Arc::new(FaultyStorage::new(&image, None));
    let reference = Rc::new(RefCell::new(Record::default()));
    drop(workload(&clean, 11, reference.clone()));
    let events = clean.event_count();
    let reference = reference.borrow().clone();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for event in 0..events {
        for kind in [FaultKind::StopAtWrite, FaultKind::TornWrite, FaultKind::LostUnsynced] {
            let plan = FaultPlan { event, kind, seed: event * 31 + kind as u64 };
            let storage = Arc::new(FaultyStorage::new(&image, Some(plan)));
            drop(workload(&storage, 11, Rc::new(RefCell::new(Record::default()))));
            let crash = storage.crash_image().expect("the plan's event happens");
            let outcome = verify_restart(&crash.bytes, event, &reference)
                .unwrap_or_else(|e| panic!("{kind:?} at event {event} ({}): {e}", crash.detail));
            // Losing power never damages the image.
            assert_eq!(outcome, "exact", "{kind:?} at event {event} ({})", crash.detail);
            *outcomes.entry(outcome).or_default() += 1;
        }
    }
    println!("crash points: {events} events x 3 kinds: {outcomes:?}");
    assert!(outcomes.get("exact").copied().unwrap_or(0) > 0);
}

fn verify_restart(bytes: &[u8], event: u64, reference: &Record) -> Result<&'static str, String> {
    let storage: Arc<dyn Storage> = Arc::new(FaultyStorage::new(bytes, None));
    let loaded = match kernel::restart::load(storage, bytes.len() as u64) {
        Ok(l) => l,
        Err(disk_image::ImageError::Damaged { .. } | disk_image::ImageError::NoValidHeader { .. }) => {
            return Ok("detected-damage");
        }
        Err(other) => return Err(format!("unexpected error {other}")),
    };
    let h = loaded.opened.header.generation;
    let must_have =
        reference.committed_by.iter().filter(|&(_, &at)| at <= event).map(|(&g, _)| g).max().unwrap_or(1);
    if h < must_have {
        return Err(format!("restarted at generation {h}, but {must_have} had committed"));
    }
    let expected = reference.digests.get(&h).ok_or(format!("generation {h} was never snapshotted"))?;
    if check::digest(&loaded.store) != *expected {
        return Err(format!("generation {h} restarted with different contents"));
    }
    Ok(if loaded.fell_back.is_some() { "older" } else { "exact" })
}

/// Writes made while a snapshot is being written go to the new working
/// area: the committed checkpoint holds the contents of the snapshot
/// instant. Runs the writer on its own thread against a real mapped file.
#[test]
fn writes_during_the_background_write_do_not_reach_the_checkpoint() {
    use disk_image::storage::MmapStorage;
    use kernel::kernel::Background;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cow.img");
    std::fs::write(&path, formatted_image(16 << 20)).unwrap();
    let storage: Arc<dyn Storage> = Arc::new(MmapStorage::open(&path).unwrap());
    let loaded = kernel::restart::load(storage, 16 << 20).unwrap();
    let clock = kernel::clock::Clock::simulated_after_restart(0, 1);
    let mut k = Kernel::boot(loaded, clock, Config::default(), Background::Thread).unwrap();
    let pages: Vec<Cda> = {
        let mut b = Builder::new(&mut k);
        (0..200).map(|_| b.page().unwrap()).collect()
    };
    for (i, &p) in pages.iter().enumerate() {
        k.write_page(p, 0, &[i as u8 + 1; 4096]).unwrap();
    }
    let before = Rc::new(RefCell::new(0u64));
    let b2 = before.clone();
    k.observe_snapshots(Box::new(move |_, store| *b2.borrow_mut() = check::digest(store)));
    k.request_checkpoint();
    k.step().unwrap(); // takes the snapshot; the writer starts on its thread
    let generation = k.checkpoint_header().generation + 1;
    let mut rewrites = 0;
    while k.checkpoint_header().generation < generation {
        for &p in &pages {
            k.write_page(p, 0, &[0xEE; 64]).unwrap();
            rewrites += 1;
        }
        k.step().unwrap();
    }
    k.finish_background().unwrap();
    assert!(rewrites > 0);
    drop(k);
    let storage: Arc<dyn Storage> = Arc::new(MmapStorage::open(&path).unwrap());
    let loaded = kernel::restart::load(storage, 16 << 20).unwrap();
    assert_eq!(loaded.opened.header.generation, generation);
    assert_eq!(check::digest(&loaded.store), *before.borrow(), "the checkpoint holds the snapshot instant");
    let mut first = [0u8; 64];
    kernel::object::page::read(&loaded.store, pages[0], 0, &mut first);
    assert_eq!(first, [1u8; 64]);
}

/// Filling the working area triggers checkpoints by itself, and nothing is
/// lost: every page holds its last write after a restart.
#[test]
fn a_full_working_area_triggers_checkpoints() {
    let storage = Arc::new(FaultyStorage::new(&formatted_image(IMAGE), None));
    let (_, mut k) = boot(storage.clone());
    let area = k.layout().geometry.area_frames;
    let pages: Vec<Cda> = {
        let mut b = Builder::new(&mut k);
        (0..area * 3).map(|_| b.page().unwrap()).collect()
    };
    let start = k.checkpoint_header().generation;
    for (i, &p) in pages.iter().enumerate() {
        k.write_page(p, 8, &(i as u64).to_le_bytes()).unwrap_or_else(|e| panic!("write {i}: {e}"));
        k.step().unwrap();
    }
    assert!(k.checkpoint_header().generation >= start + 2, "checkpoints were taken without being asked for");
    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    drop(k);
    let (_, loaded) = load_with(Arc::new(FaultyStorage::new(&storage.durable_image(), None)));
    for (i, &p) in pages.iter().enumerate() {
        let mut b = [0u8; 8];
        kernel::object::page::read(&loaded.store, p, 8, &mut b);
        assert_eq!(u64::from_le_bytes(b), i as u64, "page {i}");
    }
}

/// The journal page keeps its newest contents across a crash that loses
/// everything unsynced, whatever the checkpoints say.
#[test]
fn the_journal_page_survives_a_crash() {
    let image = formatted_image(IMAGE);
    for seed in 0..8 {
        let storage = Arc::new(FaultyStorage::new(&image, None));
        let (_, mut k) = boot(storage.clone());
        k.write_page(kernel::journal::JOURNAL_PAGE, 100, b"first").unwrap();
        k.checkpoint_now().unwrap();
        k.write_page(kernel::journal::JOURNAL_PAGE, 100, b"newer").unwrap();
        k.write_page(kernel::journal::JOURNAL_PAGE, 200, b"acked").unwrap();
        drop(k);
        // Power fails now: only synced data remains (plus a random part of the rest).
        let crashed = lost_power(&storage, seed);
        let (s2, mut k2) = boot(Arc::new(FaultyStorage::new(&crashed, None)));
        let mut b = [0u8; 5];
        kernel::object::page::read(k2.store(), kernel::journal::JOURNAL_PAGE, 100, &mut b);
        assert_eq!(&b, b"newer", "seed {seed}");
        kernel::object::page::read(k2.store(), kernel::journal::JOURNAL_PAGE, 200, &mut b);
        assert_eq!(&b, b"acked", "seed {seed}");
        let fields = k2.kernel_fields();
        assert_eq!(fields.restarts, 2, "each boot counts a restart");
        assert!(fields.restart_ns > fields.restart_checkpoint_ns);
        k2.finish_background().unwrap();
        drop(s2);
    }
}

/// The image after a power failure now: durable data plus a random subset
/// of unsynced frames.
fn lost_power(storage: &FaultyStorage, seed: u64) -> Vec<u8> {
    let mut image = storage.durable_image();
    let volatile = storage.volatile_image();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for frame in 0..image.len() / 4096 {
        let span = frame * 4096..(frame + 1) * 4096;
        if image[span.clone()] != volatile[span.clone()] && rng.gen_bool(0.5) {
            image[span.clone()].copy_from_slice(&volatile[span]);
        }
    }
    image
}

/// A checkpoint of a kernel whose invariants do not hold is refused, and
/// the image keeps its previous checkpoint.
#[test]
fn a_corrupt_kernel_state_is_not_checkpointed() {
    let storage = Arc::new(FaultyStorage::new(&formatted_image(IMAGE), None));
    let (_, mut k) = boot(storage.clone());
    let before = k.checkpoint_header().generation;
    k.corrupt_for_test();
    let err = k.checkpoint_now().unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
    drop(k);
    let (_, loaded) = load_with(Arc::new(FaultyStorage::new(&storage.durable_image(), None)));
    assert_eq!(loaded.opened.header.generation, before);
}

/// Holds every migration until the next snapshot is asked for.
fn keeping_previous() -> Config {
    Config { keep_previous_ns: u64::MAX / 2, ..Config::default() }
}

/// Rolls the image in `bytes` back one checkpoint; the new header, or why not.
fn roll_back(bytes: &[u8]) -> (Vec<u8>, Result<disk_image::CheckpointHeader, disk_image::ImageError>) {
    let storage = FaultyStorage::new(bytes, None);
    let result = disk_image::roll_back(&storage, bytes.len() as u64);
    (storage.durable_image(), result)
}

/// With migrations held, the checkpoint before the newest stays exactly
/// restartable: rolling back restarts the previous checkpoint's contents,
/// under a new generation, and the world goes on from there through more
/// checkpoints. Without the hold, migration overwrites it and a rollback
/// is refused without a write.
#[test]
fn a_kept_previous_checkpoint_restarts_exactly_after_a_rollback() {
    let storage = Arc::new(FaultyStorage::new(&formatted_image(IMAGE), None));
    let record = Rc::new(RefCell::new(Record::default()));
    let k = workload_with(&storage, 5, record.clone(), keeping_previous());
    let newest = k.checkpoint_header().clone();
    let previous = newest.previous.expect("the newest checkpoint keeps the one before it").generation;
    assert_eq!(newest.state, CheckpointState::Committed, "its migration is held");
    assert!(k.checkpoint_progress().migration.is_none(), "nothing is being copied home");
    drop(k);

    let (rolled, back) = roll_back(&storage.durable_image());
    let back = back.expect("roll back");
    assert_eq!(back.generation, newest.generation + 1);
    let (restarted, loaded) = load_with(Arc::new(FaultyStorage::new(&rolled, None)));
    assert_eq!(loaded.opened.header, back);
    assert_eq!(
        check::digest(&loaded.store),
        record.borrow().digests[&previous],
        "exactly the previous checkpoint"
    );
    drop(loaded);
    let (_, mut k) = boot(restarted.clone());
    let page = Builder::new(&mut k).page().unwrap();
    k.write_page(page, 0, b"after the rollback").unwrap();
    let later = k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    let live = check::digest(k.store());
    drop(k);
    let (durable, loaded) = load_with(Arc::new(FaultyStorage::new(&restarted.durable_image(), None)));
    assert_eq!(loaded.opened.header.generation, later);
    assert_eq!(check::digest(&loaded.store), live);
    let dynamic: Arc<dyn Storage> = durable;
    let report = check::check_image(dynamic, IMAGE).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);

    // Without the hold the previous checkpoint is migrated over at once.
    let storage = Arc::new(FaultyStorage::new(&formatted_image(IMAGE), None));
    drop(workload(&storage, 5, Rc::new(RefCell::new(Record::default()))));
    let image = storage.durable_image();
    let (after, refused) = roll_back(&image);
    assert!(matches!(refused, Err(disk_image::ImageError::NoPrevious { .. })), "{refused:?}");
    assert!(after == image, "a refused rollback writes nothing");
}

/// The digest the checkpoint kept by the newest header of `bytes` had at
/// its snapshot.
fn kept_digest(bytes: &[u8], reference: &Record) -> u64 {
    let storage = FaultyStorage::new(bytes, None);
    let header = disk_image::open(&storage, bytes.len() as u64).unwrap().header;
    reference.digests[&header.previous.expect("a kept checkpoint").generation]
}

/// Crashes a workload whose migrations are held at every storage event:
/// restart finds the newest committed checkpoint exactly, and wherever the
/// header still keeps the one before it, rolling back finds that one
/// exactly. Then crashes the rollback itself at every event: it has either
/// not happened or happened, never anything between.
#[test]
fn a_crash_at_every_write_leaves_a_kept_checkpoint_restartable() {
    let image = formatted_image(IMAGE);
    let clean = Arc::new(FaultyStorage::new(&image, None));
    let reference = Rc::new(RefCell::new(Record::default()));
    drop(workload_with(&clean, 13, reference.clone(), keeping_previous()));
    let reference = reference.borrow().clone();
    let mut rollbacks = 0;
    for event in 0..clean.event_count() {
        for kind in [FaultKind::StopAtWrite, FaultKind::TornWrite, FaultKind::LostUnsynced] {
            let plan = FaultPlan { event, kind, seed: event * 17 + kind as u64 };
            let storage = Arc::new(FaultyStorage::new(&image, Some(plan)));
            drop(workload_with(&storage, 13, Rc::new(RefCell::new(Record::default())), keeping_previous()));
            let crash = storage.crash_image().expect("the plan's event happens");
            let outcome = verify_restart(&crash.bytes, event, &reference)
                .unwrap_or_else(|e| panic!("{kind:?} at event {event} ({}): {e}", crash.detail));
            assert_eq!(outcome, "exact", "{kind:?} at event {event} ({})", crash.detail);
            let (rolled, back) = roll_back(&crash.bytes);
            if back.is_ok() {
                let (_, loaded) = load_with(Arc::new(FaultyStorage::new(&rolled, None)));
                assert_eq!(
                    check::digest(&loaded.store),
                    kept_digest(&crash.bytes, &reference),
                    "{kind:?} at event {event}: the rollback restarts the kept checkpoint"
                );
                rollbacks += 1;
            }
        }
    }
    assert!(rollbacks > 0, "some crash points keep a previous checkpoint");

    let held = clean.durable_image();
    let newest = check::digest(&load_with(Arc::new(FaultyStorage::new(&held, None))).1.store);
    let kept = kept_digest(&held, &reference);
    let probe = FaultyStorage::new(&held, None);
    disk_image::roll_back(&probe, held.len() as u64).unwrap();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for event in 0..probe.event_count() {
        for kind in FaultKind::ALL {
            let plan = FaultPlan { event, kind, seed: event * 7 + kind as u64 };
            let storage = FaultyStorage::new(&held, Some(plan));
            let _ = disk_image::roll_back(&storage, held.len() as u64);
            let crash = storage.crash_image().expect("the plan's event happens");
            let (_, loaded) = load_with(Arc::new(FaultyStorage::new(&crash.bytes, None)));
            let digest = check::digest(&loaded.store);
            let outcome = match digest {
                d if d == newest => "not rolled back",
                d if d == kept => "rolled back",
                _ => panic!("{kind:?} at rollback event {event} ({}): neither checkpoint", crash.detail),
            };
            *outcomes.entry(outcome).or_default() += 1;
        }
    }
    println!("rollback crash points: {outcomes:?}");
    assert_eq!(outcomes.len(), 2, "crashes land on both sides of the rollback's commit: {outcomes:?}");
}
