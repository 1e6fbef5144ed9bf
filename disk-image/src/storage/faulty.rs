//! The in-memory storage twin that can crash the machine.
//!
//! It keeps two copies of the image: the **volatile** one the kernel works
//! on (what the OS page cache would hold) and the **durable** one (what the
//! disk holds). A sync copies the frames it covers from volatile to durable.
//! Every `write` and every `sync` is an event, numbered from 0; a
//! [`FaultPlan`] names one event at which the machine crashes, and the kind
//! of damage the crash does. The resulting [`CrashImage`] is what a restart
//! would find on disk. After the crash the storage keeps accepting calls (so
//! the kernel can be stopped at a convenient point) but records nothing.
//!
//! Crash models, for an event on frame F (a write, or one of the frames a
//! sync was about to make durable):
//! * `StopAtWrite`: every earlier write landed, this one did not.
//! * `TornWrite`: every earlier write landed; F landed only as a prefix of
//!   whole sectors (1 to 7 of its 8).
//! * `LostUnsynced`: only what was synced is there, plus a random subset of
//!   the frames written since (F included).
//! * `BitFlip`: everything landed, but one bit is flipped in a frame
//!   written by this or an earlier event (chosen at random): data at rest
//!   going bad, which checksums must catch wherever it lands.
//!
//! Besides crashing, the twin can **fail** operations the way a full or
//! failing disk does ([`IoFaultPlan`]): from event N on, writes and/or
//! syncs return [`StorageError::NoSpace`] (ENOSPC, until
//! [`FaultyStorage::free_space`]) or [`StorageError::Failed`] (EIO, once or
//! persistently). A failed write does not land; a failed sync makes a
//! seeded random part of what it covered durable (writeback got that far).
//! The twin also models allocation: a frame is allocated once written or
//! [`Storage::allocate`]d (frames that are not all zero at the start are),
//! so "no space for new frames" can fail exactly the writes a real file
//! system would refuse when full.
//!
//! Everything random is drawn from a ChaCha generator seeded by the plan's
//! seed and the event number, so a plan always gives the same image. The
//! crash copies the volatile image, so the twin is meant for single-threaded
//! simulation.

use std::collections::BTreeSet;
use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::memory::AlignedBuffer;
use super::{FrameMemory, Storage};
use crate::error::StorageError;
use crate::frame::{FRAME_SIZE, SECTOR_SIZE};
use crate::layout::Region;

/// The kind of damage a crash does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// The machine stops just before the event lands.
    StopAtWrite,
    /// The event's frame lands as a prefix of sectors.
    TornWrite,
    /// Writes since the last sync are lost, in a random subset.
    LostUnsynced,
    /// Everything lands; then one bit flips in some frame written so far.
    BitFlip,
}

impl FaultKind {
    /// All kinds, in a fixed order.
    pub const ALL: [FaultKind; 4] =
        [FaultKind::StopAtWrite, FaultKind::TornWrite, FaultKind::LostUnsynced, FaultKind::BitFlip];

    /// Short name used in reports and command lines.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::StopAtWrite => "stop",
            FaultKind::TornWrite => "torn",
            FaultKind::LostUnsynced => "lost",
            FaultKind::BitFlip => "flip",
        }
    }

    /// Parses a name produced by [`FaultKind::name`].
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// When and how the machine crashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultPlan {
    /// Index of the event (write or sync, from 0) at which to crash.
    pub event: u64,
    /// What the crash does.
    pub kind: FaultKind,
    /// Seed for every random choice the crash makes.
    pub seed: u64,
}

/// The error an [`IoFaultPlan`] makes operations fail with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IoFault {
    /// ENOSPC: the file system is full.
    NoSpace,
    /// EIO: the device failed the operation.
    Eio,
}

/// Which operations an [`IoFaultPlan`] fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IoTarget {
    /// Every write, and allocation of frames not yet allocated.
    Writes,
    /// Every sync.
    Syncs,
    /// Writes, allocation and syncs.
    All,
    /// Only what needs a new frame: writes to, grants of and allocation of
    /// frames not yet allocated (a full file system under an image whose
    /// areas were allocated ahead).
    NewFrames,
}

/// From which event on, and how, operations fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoFaultPlan {
    /// The first event (write or sync, counted as for [`FaultPlan`]) that
    /// may fail.
    pub from_event: u64,
    /// The error.
    pub error: IoFault,
    /// The operations that fail.
    pub target: IoTarget,
    /// Fail only the first matching operation (a transient error); else
    /// every one until [`FaultyStorage::free_space`].
    pub once: bool,
    /// Seed for which frames a failed sync still makes durable.
    pub seed: u64,
}

/// An operation an [`IoFaultPlan`] may fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    /// A write, or a grant or allocation; `new` if it needs a frame not yet allocated.
    Write {
        new: bool,
    },
    Sync,
}

impl IoFaultPlan {
    fn fails(&self, operation: Operation) -> bool {
        match (self.target, operation) {
            (IoTarget::All, _) => true,
            (IoTarget::Writes, Operation::Write { .. }) | (IoTarget::Syncs, Operation::Sync) => true,
            (IoTarget::NewFrames, Operation::Write { new }) => new,
            _ => false,
        }
    }

    fn error(&self, action: &'static str, bytes: u64) -> StorageError {
        let source = match self.error {
            IoFault::NoSpace => std::io::Error::from_raw_os_error(nix::libc::ENOSPC),
            IoFault::Eio => std::io::Error::from_raw_os_error(nix::libc::EIO),
        };
        StorageError::from_os(IMAGE_NAME, action, bytes, source)
    }
}

/// How the twin names itself in error messages.
const IMAGE_NAME: &str = "the simulated image";

/// One recorded storage event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageEvent {
    /// `write` of `len` bytes at `offset` of `frame`.
    Write {
        /// The frame written.
        frame: u64,
        /// Byte offset in the frame.
        offset: u32,
        /// Bytes written.
        len: u32,
    },
    /// `sync` of a region.
    Sync(Region),
}

/// What the disk holds after a crash.
#[derive(Clone, Debug)]
pub struct CrashImage {
    /// The image bytes a restart would find.
    pub bytes: Vec<u8>,
    /// The plan that produced it.
    pub plan: FaultPlan,
    /// The event it crashed at.
    pub event: StorageEvent,
    /// What exactly the damage was, for reports.
    pub detail: String,
}

struct FaultState {
    durable: Vec<u8>,
    dirty: BTreeSet<u64>,
    events: u64,
    log: Vec<StorageEvent>,
    plan: Option<FaultPlan>,
    crash: Option<CrashImage>,
    io: Option<IoFaultPlan>,
    /// Operations failed so far.
    failures: u64,
    /// One flag per frame: space has been allocated for it.
    allocated: Vec<bool>,
}

/// In-memory storage with deterministic crash injection.
pub struct FaultyStorage {
    // Field order: `memory` views `volatile` and must be dropped first.
    memory: FrameMemory,
    volatile: AlignedBuffer,
    state: Mutex<FaultState>,
}

impl FaultyStorage {
    /// A twin whose volatile and durable copies both start as `image`.
    pub fn new(image: &[u8], plan: Option<FaultPlan>) -> FaultyStorage {
        let volatile = AlignedBuffer::from_bytes(image);
        let memory = volatile.view();
        let allocated = image.chunks(FRAME_SIZE).map(|f| f.iter().any(|&b| b != 0)).collect();
        let state = FaultState {
            durable: image.to_vec(),
            dirty: BTreeSet::new(),
            events: 0,
            log: Vec::new(),
            plan,
            crash: None,
            io: None,
            failures: 0,
            allocated,
        };
        FaultyStorage { memory, volatile, state: Mutex::new(state) }
    }

    /// From now on, fails operations as `plan` says.
    pub fn fail_io(&self, plan: IoFaultPlan) {
        self.lock().io = Some(plan);
    }

    /// Ends an I/O fault: space was freed, or the device recovered.
    pub fn free_space(&self) {
        self.lock().io = None;
    }

    /// Operations the I/O fault plan has failed so far.
    pub fn failures(&self) -> u64 {
        self.lock().failures
    }

    /// Frames with space allocated.
    pub fn allocated_frames(&self) -> u64 {
        self.lock().allocated.iter().filter(|&&a| a).count() as u64
    }

    /// The machine after a power cycle: a twin whose image is what is
    /// durable now, with the same space allocated (allocation is file-system
    /// metadata, durable at once) and the same I/O fault, if one is on, on
    /// from its first event (the disk is still full, or still failing).
    pub fn power_cycled(&self) -> FaultyStorage {
        let state = self.lock();
        let twin = FaultyStorage::new(&state.durable, None);
        {
            let mut t = twin.lock();
            t.allocated.clone_from(&state.allocated);
            t.io = state.io.map(|plan| IoFaultPlan { from_event: 0, ..plan });
        }
        twin
    }

    /// Events (writes and syncs) so far, up to the crash if there was one.
    pub fn event_count(&self) -> u64 {
        self.lock().events
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<StorageEvent> {
        self.lock().log.clone()
    }

    /// Whether the planned crash has happened.
    pub fn crashed(&self) -> bool {
        self.lock().crash.is_some()
    }

    /// The image after the planned crash, if it happened.
    pub fn crash_image(&self) -> Option<CrashImage> {
        self.lock().crash.clone()
    }

    /// What the disk holds now if the machine lost power without damage:
    /// the synced state only.
    pub fn durable_image(&self) -> Vec<u8> {
        self.lock().durable.clone()
    }

    /// The volatile image: what a clean shutdown would leave after a full sync.
    pub fn volatile_image(&self) -> Vec<u8> {
        self.volatile.to_vec()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts an event; crashes if it is the planned one. Returns whether the
    /// event should still take effect on the durable copy.
    fn event(&self, state: &mut FaultState, event: StorageEvent, post_write: Option<(usize, &[u8])>) -> bool {
        if state.crash.is_some() {
            return false;
        }
        let index = state.events;
        state.events += 1;
        state.log.push(event);
        match state.plan {
            Some(plan) if plan.event == index => {
                let crash = self.materialize(state, plan, event, post_write);
                state.crash = Some(crash);
                false
            }
            _ => true,
        }
    }

    /// Whether the I/O fault plan fails `operation`, which happens at
    /// `event` (a write or sync: its own number; a grant or allocation,
    /// which are not events: the next event's).
    fn io_failure(
        state: &mut FaultState,
        event: u64,
        operation: Operation,
        (action, bytes): (&'static str, u64),
    ) -> Option<StorageError> {
        let plan = state.io?;
        if event < plan.from_event || !plan.fails(operation) {
            return None;
        }
        state.failures += 1;
        if plan.once {
            state.io = None;
        }
        Some(plan.error(action, bytes))
    }

    /// Fails an allocation of the frames of `region` that need one, if the
    /// plan says so; else marks them allocated.
    fn allocate_frames(
        state: &mut FaultState,
        region: Region,
        action: &'static str,
    ) -> Result<(), StorageError> {
        let span = region.first as usize..region.end().min(state.allocated.len() as u64) as usize;
        let missing = state.allocated[span.clone()].iter().filter(|&&a| !a).count() as u64;
        let (event, new) = (state.events, missing > 0);
        let what = (action, missing * FRAME_SIZE as u64);
        if new && let Some(error) = Self::io_failure(state, event, Operation::Write { new }, what) {
            return Err(error);
        }
        state.allocated[span].fill(true);
        Ok(())
    }

    /// A failed sync: a seeded part of the dirty frames of `region` lands.
    fn partial_sync(&self, state: &mut FaultState, region: Region) {
        let seed = state.io.map_or(0, |p| p.seed) ^ state.events.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let frames: Vec<u64> = state.dirty.range(region.first..region.end()).copied().collect();
        for frame in frames {
            if rng.gen_bool(0.5) {
                let span = frame_span(frame);
                self.memory.read(frame, 0, &mut state.durable[span]);
                state.dirty.remove(&frame);
            }
        }
    }

    fn materialize(
        &self,
        state: &FaultState,
        plan: FaultPlan,
        event: StorageEvent,
        post_write: Option<(usize, &[u8])>,
    ) -> CrashImage {
        let mut rng = ChaCha8Rng::seed_from_u64(plan.seed ^ plan.event.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let pre = self.volatile.to_vec();
        let mut post = pre.clone();
        let target = match event {
            StorageEvent::Write { frame, .. } => {
                let (at, data) = post_write.expect("FAULTY001 write without data");
                post[at..at + data.len()].copy_from_slice(data);
                Some(frame)
            }
            StorageEvent::Sync(region) => {
                let candidates: Vec<u64> = state.dirty.range(region.first..region.end()).copied().collect();
                (!candidates.is_empty()).then(|| candidates[rng.gen_range(0..candidates.len())])
            }
        };
        let (bytes, detail) = match plan.kind {
            FaultKind::StopAtWrite => (pre, "stopped before the event landed".to_string()),
            FaultKind::TornWrite => torn(pre, &post, target, &state.durable, event, &mut rng),
            FaultKind::LostUnsynced => lost_unsynced(state, &post, target, &mut rng),
            FaultKind::BitFlip => bit_flip(post, &state.log, &mut rng),
        };
        CrashImage { bytes, plan, event, detail }
    }
}

fn frame_span(frame: u64) -> std::ops::Range<usize> {
    let start = frame as usize * FRAME_SIZE;
    start..start + FRAME_SIZE
}

fn torn(
    mut image: Vec<u8>,
    post: &[u8],
    target: Option<u64>,
    durable: &[u8],
    event: StorageEvent,
    rng: &mut ChaCha8Rng,
) -> (Vec<u8>, String) {
    let Some(frame) = target else {
        return (post.to_vec(), "nothing unsynced to tear".to_string());
    };
    let sectors = FRAME_SIZE / SECTOR_SIZE;
    let landed = rng.gen_range(1..sectors);
    let span = frame_span(frame);
    // For a sync, the old contents are what is durable; for a write, what
    // was in the frame before it.
    let old = match event {
        StorageEvent::Write { .. } => image[span.clone()].to_vec(),
        StorageEvent::Sync(_) => durable[span.clone()].to_vec(),
    };
    image[span.clone()].copy_from_slice(&old);
    let cut = span.start + landed * SECTOR_SIZE;
    image[span.start..cut].copy_from_slice(&post[span.start..cut]);
    if let StorageEvent::Sync(_) = event {
        // The other frames of the sync landed whole.
        let mut rest = post.to_vec();
        rest[span].copy_from_slice(&image[frame_span(frame)]);
        image = rest;
    }
    (image, format!("frame {frame} torn after {landed} of {sectors} sectors"))
}

fn lost_unsynced(
    state: &FaultState,
    post: &[u8],
    target: Option<u64>,
    rng: &mut ChaCha8Rng,
) -> (Vec<u8>, String) {
    let mut image = state.durable.clone();
    let mut frames: BTreeSet<u64> = state.dirty.clone();
    frames.extend(target);
    let mut kept = 0usize;
    for &frame in &frames {
        if rng.gen_bool(0.5) {
            let span = frame_span(frame);
            image[span.clone()].copy_from_slice(&post[span]);
            kept += 1;
        }
    }
    (image, format!("{kept} of {} unsynced frames landed", frames.len()))
}

fn bit_flip(mut image: Vec<u8>, log: &[StorageEvent], rng: &mut ChaCha8Rng) -> (Vec<u8>, String) {
    let written: Vec<(usize, u64)> = log
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            StorageEvent::Write { frame, .. } => Some((i, *frame)),
            StorageEvent::Sync(_) => None,
        })
        .collect();
    let Some(&(index, frame)) = written.get(rng.gen_range(0..written.len().max(1))) else {
        return (image, "nothing written yet to flip".to_string());
    };
    let offset = rng.gen_range(0..FRAME_SIZE);
    let bit = rng.gen_range(0..8);
    image[frame_span(frame).start + offset] ^= 1 << bit;
    (image, format!("bit {bit} of byte {offset} of frame {frame} (written at event {index}) flipped"))
}

impl Storage for FaultyStorage {
    fn memory(&self) -> &FrameMemory {
        &self.memory
    }

    fn grant_write(&self, frame: u64) -> Result<(), StorageError> {
        let mut state = self.lock();
        Self::allocate_frames(
            &mut state,
            Region { first: frame, count: 1 },
            "allocating a frame to store into",
        )?;
        if state.crash.is_none() {
            state.dirty.insert(frame);
        }
        Ok(())
    }

    fn write(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        let mut state = self.lock();
        let event = StorageEvent::Write { frame, offset: offset as u32, len: data.len() as u32 };
        let at = frame as usize * FRAME_SIZE + offset;
        let lands = self.event(&mut state, event, Some((at, data)));
        let new = !state.allocated[frame as usize];
        let event = state.events.saturating_sub(1);
        let what = ("writing a frame", FRAME_SIZE as u64);
        if lands && let Some(error) = Self::io_failure(&mut state, event, Operation::Write { new }, what) {
            return Err(error);
        }
        if lands {
            state.dirty.insert(frame);
        }
        state.allocated[frame as usize] = true;
        self.memory.write(frame, offset, data);
        Ok(())
    }

    fn store(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        self.grant_write(frame)?;
        self.memory.write(frame, offset, data);
        Ok(())
    }

    fn sync(&self, region: Region) -> Result<(), StorageError> {
        let mut state = self.lock();
        if !self.event(&mut state, StorageEvent::Sync(region), None) {
            return Ok(());
        }
        let event = state.events.saturating_sub(1);
        let what = ("syncing frames to disk", region.count * FRAME_SIZE as u64);
        if let Some(error) = Self::io_failure(&mut state, event, Operation::Sync, what) {
            self.partial_sync(&mut state, region);
            return Err(error);
        }
        let frames: Vec<u64> = state.dirty.range(region.first..region.end()).copied().collect();
        for frame in frames {
            let span = frame_span(frame);
            self.memory.read(frame, 0, &mut state.durable[span]);
            state.dirty.remove(&frame);
        }
        Ok(())
    }

    fn allocate(&self, region: Region) -> Result<(), StorageError> {
        Self::allocate_frames(&mut self.lock(), region, "allocating space for the image")
    }

    fn unallocated_frames(&self, region: Region) -> Result<u64, StorageError> {
        let state = self.lock();
        let span = region.first as usize..region.end().min(state.allocated.len() as u64) as usize;
        Ok(state.allocated[span].iter().filter(|&&a| !a).count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAMES: u64 = 8;

    fn storage(plan: Option<FaultPlan>) -> FaultyStorage {
        FaultyStorage::new(&vec![0u8; FRAMES as usize * FRAME_SIZE], plan)
    }

    fn all() -> Region {
        Region { first: 0, count: FRAMES }
    }

    #[test]
    fn sync_makes_writes_durable_and_only_then() {
        let s = storage(None);
        s.write(3, 10, &[1, 2, 3]).unwrap();
        assert_eq!(s.durable_image()[3 * FRAME_SIZE + 10], 0);
        s.sync(Region { first: 0, count: 3 }).unwrap();
        assert_eq!(s.durable_image()[3 * FRAME_SIZE + 10], 0, "frame 3 is outside the synced region");
        s.sync(all()).unwrap();
        assert_eq!(&s.durable_image()[3 * FRAME_SIZE + 10..][..3], &[1, 2, 3]);
        assert_eq!(s.event_count(), 3);
    }

    #[test]
    fn stop_at_write_loses_exactly_that_write() {
        let plan = FaultPlan { event: 2, kind: FaultKind::StopAtWrite, seed: 1 };
        let s = storage(Some(plan));
        s.write(1, 0, &[7]).unwrap();
        s.sync(all()).unwrap();
        s.write(2, 0, &[9]).unwrap();
        s.write(4, 0, &[5]).unwrap();
        let crash = s.crash_image().expect("crashed at event 2");
        assert_eq!(crash.bytes[FRAME_SIZE], 7);
        assert_eq!(crash.bytes[2 * FRAME_SIZE], 0);
        assert_eq!(crash.bytes[4 * FRAME_SIZE], 0, "events after the crash are not recorded");
        assert_eq!(s.event_count(), 3);
    }

    #[test]
    fn torn_write_lands_a_strict_prefix_of_sectors() {
        let data = vec![0xAB; FRAME_SIZE];
        for seed in 0..20 {
            let s = storage(Some(FaultPlan { event: 0, kind: FaultKind::TornWrite, seed }));
            s.write(5, 0, &data).unwrap();
            let image = s.crash_image().unwrap().bytes;
            let frame = &image[frame_span(5)];
            let landed = frame.iter().take_while(|&&b| b == 0xAB).count();
            assert!(landed > 0 && landed < FRAME_SIZE && landed % SECTOR_SIZE == 0, "seed {seed}: {landed}");
            assert!(frame[landed..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn lost_unsynced_keeps_synced_data_and_is_deterministic() {
        let run = |seed| {
            let s = storage(Some(FaultPlan { event: 6, kind: FaultKind::LostUnsynced, seed }));
            s.write(0, 0, &[1]).unwrap();
            s.sync(all()).unwrap();
            for frame in 1..5 {
                s.write(frame, 0, &[frame as u8]).unwrap();
            }
            s.sync(all()).unwrap();
            s.crash_image().unwrap().bytes
        };
        let a = run(3);
        assert_eq!(a[0], 1);
        assert_eq!(a, run(3));
        let subsets: BTreeSet<Vec<u8>> =
            (0..16).map(|seed| (1..5).map(|f| run(seed)[f * FRAME_SIZE]).collect()).collect();
        assert!(subsets.len() > 4, "different seeds drop different subsets");
    }

    #[test]
    fn bit_flip_changes_one_bit_of_a_written_frame() {
        for seed in 0..16 {
            let s = storage(Some(FaultPlan { event: 2, kind: FaultKind::BitFlip, seed }));
            s.write(2, 100, &[0xFF; 8]).unwrap();
            s.sync(all()).unwrap();
            s.write(5, 0, &[0x0F; 4]).unwrap();
            let image = s.crash_image().unwrap().bytes;
            let mut expected = vec![0u8; FRAMES as usize * FRAME_SIZE];
            expected[2 * FRAME_SIZE + 100..][..8].fill(0xFF);
            expected[5 * FRAME_SIZE..][..4].fill(0x0F);
            let changed: Vec<usize> = (0..image.len()).filter(|&i| image[i] != expected[i]).collect();
            assert_eq!(changed.len(), 1, "seed {seed}");
            assert_eq!((image[changed[0]] ^ expected[changed[0]]).count_ones(), 1);
            let frame = changed[0] / FRAME_SIZE;
            assert!(frame == 2 || frame == 5, "the flip lands in a written frame, not {frame}");
        }
    }

    fn failing(target: IoTarget, error: IoFault, once: bool) -> FaultyStorage {
        let s = storage(None);
        s.fail_io(IoFaultPlan { from_event: 2, error, target, once, seed: 5 });
        s
    }

    #[test]
    fn no_space_fails_writes_from_its_event_until_space_is_freed() {
        let s = failing(IoTarget::Writes, IoFault::NoSpace, false);
        s.write(1, 0, &[1]).unwrap();
        s.sync(all()).unwrap();
        for _ in 0..3 {
            let e = s.write(2, 0, &[2]).unwrap_err();
            assert!(e.is_no_space(), "{e}");
            assert!(e.to_string().contains("free at least"), "{e}");
        }
        assert_eq!(s.volatile_image()[2 * FRAME_SIZE], 0, "a failed write does not land");
        s.sync(all()).unwrap();
        s.free_space();
        s.write(2, 0, &[2]).unwrap();
        s.sync(all()).unwrap();
        assert_eq!(s.durable_image()[2 * FRAME_SIZE], 2);
        assert_eq!(s.failures(), 3);
    }

    #[test]
    fn a_transient_eio_fails_one_sync_and_lands_part_of_it() {
        let s = failing(IoTarget::Syncs, IoFault::Eio, true);
        for frame in 1..8 {
            s.write(frame, 0, &[frame as u8]).unwrap();
        }
        let e = s.sync(all()).unwrap_err();
        assert!(matches!(e, StorageError::Failed(_)), "{e}");
        let landed = (1..8).filter(|&f| s.durable_image()[f * FRAME_SIZE] != 0).count();
        assert!(landed < 7, "a failed sync does not make everything durable");
        s.sync(all()).unwrap();
        assert!((1..8).all(|f| s.durable_image()[f * FRAME_SIZE] == f as u8), "the retry does");
    }

    #[test]
    fn a_full_disk_refuses_only_new_frames() {
        let mut image = vec![0u8; FRAMES as usize * FRAME_SIZE];
        image[3 * FRAME_SIZE] = 9;
        let s = FaultyStorage::new(&image, None);
        s.allocate(Region { first: 5, count: 2 }).unwrap();
        s.fail_io(IoFaultPlan {
            from_event: 0,
            error: IoFault::NoSpace,
            target: IoTarget::NewFrames,
            once: false,
            seed: 0,
        });
        s.write(3, 1, &[1]).unwrap();
        s.write(5, 0, &[1]).unwrap();
        s.grant_write(6).unwrap();
        assert!(s.write(1, 0, &[1]).unwrap_err().is_no_space());
        assert!(s.grant_write(2).unwrap_err().is_no_space());
        assert!(s.allocate(Region { first: 4, count: 3 }).unwrap_err().is_no_space());
        s.allocate(Region { first: 5, count: 2 }).unwrap();
        assert_eq!(s.unallocated_frames(all()).unwrap(), FRAMES - 3);
        s.sync(all()).unwrap();
    }
}
