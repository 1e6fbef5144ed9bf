//! A full or failing disk under the checkpoint, migration and journal
//! paths: at every storage event of a workload, writes and syncs start
//! failing with ENOSPC or EIO. The kernel must stop with the typed error,
//! never panic; what is on disk (after a power cut, or as the page cache
//! left it when the process stopped) must restart to exactly a checkpoint
//! no older than the last one committed; and once space is freed, a later
//! restart carries on.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use disk_image::storage::{FaultyStorage, IoFault, IoFaultPlan, IoTarget, Storage};
use disk_image::{FRAME_BYTES, ImageError, StorageError};
use gnosis_tests::formatted_image;
use kernel::builder::Builder;
use kernel::check;
use kernel::clock::Clock;
use kernel::journal::JOURNAL_PAGE;
use kernel::kernel::{Background, Config, Kernel, KernelError};
use kernel::key::{Cda, Key, KeyType};
use kernel::object::node;
use rand::{Rng, SeedableRng};

const IMAGE: u64 = 4 << 20;

/// The digest of every checkpoint at its snapshot (and of the restarted
/// state), from a run without faults.
type Digests = BTreeMap<u64, u64>;

/// How a run under a fault ended.
struct Stopped {
    /// What stopped it, if anything did.
    error: Option<KernelError>,
    /// The newest generation the kernel knew committed when it stopped.
    committed: u64,
}

/// Boots `storage`; the error if loading or booting fails.
fn boot(storage: &Arc<FaultyStorage>) -> Result<Kernel, KernelError> {
    let dynamic: Arc<dyn Storage> = storage.clone();
    let loaded = kernel::restart::load(dynamic, storage.frame_count() * FRAME_BYTES)?;
    let clock = Clock::simulated_after_restart(loaded.opened.header.checkpoint_time_ns, 1_000);
    Kernel::boot(loaded, clock, Config::default(), Background::Inline)
}

/// Page and node writes, journal-page writes and checkpoints, deterministic
/// from `seed`; ends with a checkpoint and its migration. Records the
/// digest of every snapshot in `digests`.
fn workload(k: &mut Kernel, seed: u64, digests: &Rc<RefCell<Digests>>) -> Result<(), KernelError> {
    let d = digests.clone();
    k.observe_snapshots(Box::new(move |generation, store| {
        d.borrow_mut().insert(generation, check::digest(store));
    }));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (pages, nodes) = {
        let mut b = Builder::new(k);
        let pages = (0..10).map(|_| b.page()).collect::<Result<Vec<Cda>, _>>()?;
        let nodes = (0..4).map(|_| b.node()).collect::<Result<Vec<Cda>, _>>()?;
        (pages, nodes)
    };
    for round in 0..4u8 {
        for _ in 0..12 {
            let page = pages[rng.gen_range(0..pages.len())];
            let bytes: Vec<u8> = (0..rng.gen_range(1..48)).map(|_| rng.r#gen()).collect();
            k.write_page(page, rng.gen_range(0..4000), &bytes)?;
            let target = pages[rng.gen_range(0..pages.len())];
            let key = Key::object(KeyType::Page, target, 0, 0);
            node::set_slot(k.store_mut(), nodes[rng.gen_range(0..nodes.len())], rng.gen_range(0..16), key)
                .map_err(KernelError::from)?;
            k.step()?;
        }
        k.write_page(JOURNAL_PAGE, 64 + usize::from(round), &[round + 1])?;
        if round % 2 == 0 {
            k.request_checkpoint();
        }
    }
    k.checkpoint_now()?;
    k.finish_background()
}

/// Boots and runs the workload on `storage`, stopping at the first error.
fn run(storage: &Arc<FaultyStorage>, seed: u64, digests: &Rc<RefCell<Digests>>) -> Stopped {
    let mut k = match boot(storage) {
        Ok(k) => k,
        Err(error) => return Stopped { error: Some(error), committed: 0 },
    };
    let error = workload(&mut k, seed, digests).err();
    Stopped { error, committed: k.checkpoint_header().generation }
}

/// A clean run: the digests of its checkpoints, and its storage events.
fn reference(seed: u64) -> (Digests, u64) {
    let storage = Arc::new(FaultyStorage::new(&formatted_image(IMAGE), None));
    let digests = Rc::new(RefCell::new(Digests::new()));
    {
        let dynamic: Arc<dyn Storage> = storage.clone();
        let loaded = kernel::restart::load(dynamic, IMAGE).unwrap();
        digests.borrow_mut().insert(loaded.opened.header.generation, check::digest(&loaded.store));
    }
    let stopped = run(&storage, seed, &digests);
    assert!(stopped.error.is_none(), "the clean run fails: {:?}", stopped.error);
    let digests = digests.borrow().clone();
    (digests, storage.event_count())
}

/// Whether a kernel error is the storage refusing, typed: what a full or
/// failing disk must end in.
fn is_typed_storage_error(e: &KernelError) -> bool {
    matches!(
        e,
        KernelError::Storage(StorageError::NoSpace(_) | StorageError::Failed(_))
            | KernelError::Image(ImageError::Storage(StorageError::NoSpace(_) | StorageError::Failed(_)))
    )
}

/// Restarts `image` without faults: exactly a checkpoint at least as new
/// as `committed`; returns its generation.
fn restarts_exactly(image: &[u8], committed: u64, digests: &Digests, what: &str) -> u64 {
    let storage: Arc<dyn Storage> = Arc::new(FaultyStorage::new(image, None));
    let loaded = kernel::restart::load(storage, image.len() as u64).unwrap_or_else(|e| panic!("{what}: {e}"));
    let h = loaded.opened.header.generation;
    assert!(h >= committed, "{what}: restarted at generation {h}, but {committed} had committed");
    assert!(loaded.fell_back.is_none(), "{what}: fell back to an older checkpoint");
    assert_eq!(Some(&check::digest(&loaded.store)), digests.get(&h), "{what}: generation {h} differs");
    h
}

/// With space back, the world restarts from `storage` and goes on: a new
/// checkpoint, restarted exactly.
fn carries_on(storage: &Arc<FaultyStorage>, what: &str) {
    storage.free_space();
    let mut k = boot(storage).unwrap_or_else(|e| panic!("{what}: restart after freeing space: {e}"));
    let page = Builder::new(&mut k).page().unwrap();
    k.write_page(page, 0, b"after the disk was full").unwrap();
    let generation = k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    let live = check::digest(k.store());
    drop(k);
    let durable: Arc<dyn Storage> = Arc::new(FaultyStorage::new(&storage.durable_image(), None));
    let loaded = kernel::restart::load(durable, IMAGE).unwrap();
    assert_eq!(loaded.opened.header.generation, generation, "{what}");
    assert_eq!(check::digest(&loaded.store), live, "{what}: the new checkpoint restarts exactly");
}

/// Runs the workload with `fault` from every event on; checks each run.
fn every_event(fault: IoFaultPlan, label: &str) -> BTreeMap<&'static str, usize> {
    let (digests, events) = reference(3);
    let image = formatted_image(IMAGE);
    let mut outcomes = BTreeMap::new();
    for event in 0..events {
        let what = format!("{label} from event {event}");
        let storage = Arc::new(FaultyStorage::new(&image, None));
        storage.fail_io(IoFaultPlan { from_event: event, seed: event, ..fault });
        let stopped = run(&storage, 3, &Rc::new(RefCell::new(Digests::new())));
        let outcome = match &stopped.error {
            Some(e) if is_typed_storage_error(e) => "stopped",
            Some(e) => panic!("{what}: stopped with {e} instead of a typed storage error"),
            None if storage.failures() > 0 => panic!("{what}: an operation failed but the run went on"),
            None => "unaffected",
        };
        *outcomes.entry(outcome).or_default() += 1;
        restarts_exactly(
            &storage.durable_image(),
            stopped.committed,
            &digests,
            &format!("{what}, power cut"),
        );
        restarts_exactly(
            &storage.volatile_image(),
            stopped.committed,
            &digests,
            &format!("{what}, page cache"),
        );
        if event % 7 == 0 {
            carries_on(&storage, &what);
        }
    }
    println!("{label}: {events} events: {outcomes:?}");
    outcomes
}

/// ENOSPC on every write, allocation and sync from event N on, persisting.
#[test]
fn a_disk_that_fills_at_any_event_stops_the_world_cleanly() {
    let fault =
        IoFaultPlan { from_event: 0, error: IoFault::NoSpace, target: IoTarget::All, once: false, seed: 0 };
    let outcomes = every_event(fault, "ENOSPC");
    assert!(outcomes.get("stopped").copied().unwrap_or(0) > 0);
}

/// One EIO, on a write or a sync (a sync then lands only part of what it
/// covered), at every event.
#[test]
fn an_io_error_at_any_event_stops_the_world_cleanly() {
    for target in [IoTarget::Writes, IoTarget::Syncs] {
        let fault = IoFaultPlan { from_event: 0, error: IoFault::Eio, target, once: true, seed: 0 };
        let outcomes = every_event(fault, &format!("EIO on {target:?}"));
        assert!(outcomes.get("stopped").copied().unwrap_or(0) > 0);
    }
}

/// A file system that fills up under an image whose regions were
/// allocated ahead: only writes needing new space fail (migration copying
/// frames home). The world stops with ENOSPC; restarting while the disk is
/// still full says how much to free before writing anything; once it is
/// freed the world carries on.
#[test]
fn a_full_file_system_is_reported_before_the_next_start_writes() {
    let (digests, events) = reference(3);
    let image = formatted_image(IMAGE);
    let mut refused_before_writing = 0;
    let mut stopped_runs = 0;
    for event in 0..events {
        let what = format!("full file system from event {event}");
        let storage = Arc::new(FaultyStorage::new(&image, None));
        // A first restart allocates the regions written in place, as
        // `format` and every restart of a real image do.
        let dynamic: Arc<dyn Storage> = storage.clone();
        drop(kernel::restart::load(dynamic, IMAGE).unwrap());
        storage.fail_io(IoFaultPlan {
            from_event: event,
            error: IoFault::NoSpace,
            target: IoTarget::NewFrames,
            once: false,
            seed: event,
        });
        let stopped = run(&storage, 3, &Rc::new(RefCell::new(Digests::new())));
        match &stopped.error {
            Some(KernelError::Storage(StorageError::NoSpace(_))) => stopped_runs += 1,
            Some(e) => panic!("{what}: stopped with {e}"),
            None => {}
        }
        restarts_exactly(&storage.durable_image(), stopped.committed, &digests, &what);
        let cycled = Arc::new(storage.power_cycled());
        let before = cycled.durable_image();
        match boot(&cycled) {
            Err(KernelError::Image(ImageError::Storage(StorageError::NoSpace(e)))) => {
                assert!(e.bytes >= FRAME_BYTES, "{what}: says how much to free: {e}");
                assert_eq!(cycled.event_count(), 0, "{what}: the refused restart wrote nothing");
                assert!(cycled.volatile_image() == before, "{what}: the image is unchanged");
                refused_before_writing += 1;
            }
            Err(e) => panic!("{what}: the restart on a full disk failed with {e}"),
            Ok(k) => drop(k),
        }
        if event % 5 == 0 {
            carries_on(&Arc::new(storage.power_cycled()), &what);
        }
    }
    println!(
        "{events} events: {stopped_runs} runs stopped, {refused_before_writing} restarts refused before writing"
    );
    assert!(stopped_runs > 0 && refused_before_writing > 0);
}
