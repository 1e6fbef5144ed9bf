//! Checkpoints, migration and restart, driven directly through the kernel
//! (no domain programs): the storage path on its own.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use disk_image::CheckpointState;
use disk_image::storage::{FaultKind, FaultPlan, FaultyStorage, Storage};
use gnosis_tests::{boot, formatted_image, load_with};
use kernel::builder::Builder;
use kernel::check;
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
    {
        // The restarted state before boot touches anything.
        let (_, loaded) = load_with(storage.clone());
        record.borrow_mut().digests.insert(loaded.opened.header.generation, check::digest(&loaded.store));
    }
    let (_, mut k) = boot(storage.clone());
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

/// Crashes the workload at every storage event, with every kind of damage,
/// and restarts: the image must come back exactly at a checkpoint no older
/// than the last one committed before the crash, or report damage.
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
        for kind in FaultKind::ALL {
            let plan = FaultPlan { event, kind, seed: event * 31 + kind as u64 };
            let storage = Arc::new(FaultyStorage::new(&image, Some(plan)));
            drop(workload(&storage, 11, Rc::new(RefCell::new(Record::default()))));
            let crash = storage.crash_image().expect("the plan's event happens");
            let outcome = verify_restart(&crash.bytes, event, &reference)
                .unwrap_or_else(|e| panic!("{kind:?} at event {event} ({}): {e}", crash.detail));
            // Losing power never damages the image; only a flipped bit may
            // (and must then be detected, which verify_restart checked).
            assert!(
                outcome == "exact" || kind == FaultKind::BitFlip,
                "{kind:?} at event {event} ({}): {outcome}",
                crash.detail
            );
            *outcomes.entry(outcome).or_default() += 1;
        }
    }
    println!("crash points: {events} events x {} kinds: {outcomes:?}", FaultKind::ALL.len());
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
