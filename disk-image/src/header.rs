//! Checkpoint headers (frames 1 and 2): the commit record.
//!
//! A checkpoint is committed when its header is durable. The same header is
//! written to the primary slot, synced, then to the secondary slot, synced;
//! at every moment at least one slot holds a header that validates, and
//! restart takes the newest one that does.
//!
//! A header is in one of two states. **Committed**: the checkpoint's changed
//! frames are in a checkpoint area, listed by a directory there, and are
//! overlaid on the home frames. **Migrated**: migration has copied them
//! home, so the home frames alone are the checkpoint; the area may be reused.
//!
//! A committed header may also name the **previous** checkpoint (always
//! migrated: a snapshot waits for the migration before it). Until this
//! checkpoint's migration copies its first frame, the home frames still hold
//! exactly that previous checkpoint, and its process list is untouched, so
//! it can be restarted again ([`CheckpointHeader::rollback`]). Migration
//! first rewrites the header without it, primary then secondary.
//!
//! Byte layout (little endian):
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | magic `GNOSCKPT` |
//! | 8 | 4 | format version |
//! | 12 | 4 | state: 1 committed, 2 migrated |
//! | 16 | 8 | image id (must equal the label's) |
//! | 24 | 8 | generation |
//! | 32 | 8 | checkpoint time: system clock at the snapshot, ns |
//! | 40 | 8 | wall clock at the snapshot, Unix ns |
//! | 48 | 4 | directory area (0 or 1) |
//! | 52 | 4 | directory first frame, relative to the area |
//! | 56 | 4 | directory frames |
//! | 60 | 4 | directory entries |
//! | 64 | 4 | CRC-32C of the directory frames |
//! | 68 | 4 | process-list slot (0 or 1) |
//! | 72 | 4 | processes in the list |
//! | 76 | 4 | CRC-32C of the process-list entries |
//! | 80 | 4 | history entries that follow |
//! | 88 | 64 × n | checkpoint history, newest first (see [`CheckpointStats`]) |
//! | 2136 | 4 | previous checkpoint kept: 0 no, 1 yes (then the fields below) |
//! | 2144 | 8 | previous: generation |
//! | 2152 | 8 | previous: checkpoint time, ns |
//! | 2160 | 8 | previous: wall clock, Unix ns |
//! | 2168 | 4 | previous: process-list slot |
//! | 2172 | 4 | previous: processes in the list |
//! | 2176 | 4 | previous: CRC-32C of the process-list entries |
//! | 4092 | 4 | CRC-32C of bytes 0..4092 |

use crate::error::HeaderProblem;
use crate::frame::{self, FRAME_SIZE, Frame};
use crate::layout::{FORMAT_VERSION, Layout};

/// Magic at offset 0 of a header slot.
pub const HEADER_MAGIC: &[u8; 8] = b"GNOSCKPT";
/// Checkpoints remembered in each header's history.
pub const HISTORY_LEN: usize = 32;
const HISTORY_OFFSET: usize = 88;
const HISTORY_ENTRY: usize = 64;
const CHECKSUM_OFFSET: usize = FRAME_SIZE - 4;

/// Whether a checkpoint's frames are still in its area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckpointState {
    /// Frames are in the area, listed by the directory; home frames are older.
    Committed,
    /// Frames have been migrated home; the directory is no longer needed.
    Migrated,
}

/// Where a checkpoint's directory lies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectoryLocation {
    /// Checkpoint area (0 or 1).
    pub area: u32,
    /// First directory frame, relative to the area's first frame.
    pub first: u32,
    /// Directory frames.
    pub frames: u32,
    /// Entries (one per checkpointed frame).
    pub entries: u32,
    /// CRC-32C over all directory frames.
    pub checksum: u32,
}

/// Where a checkpoint's process list lies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessListLocation {
    /// Process-list slot (0 or 1).
    pub slot: u32,
    /// Root-node CDAs in the list.
    pub count: u32,
    /// CRC-32C over the `count × 8` entry bytes.
    pub checksum: u32,
}

/// Figures recorded for one checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// The checkpoint's generation.
    pub generation: u64,
    /// System clock at its snapshot, ns.
    pub checkpoint_time_ns: u64,
    /// How long domains were stopped for the snapshot, ns.
    pub pause_ns: u64,
    /// From the snapshot to the durable header, ns.
    pub commit_ns: u64,
    /// Pages written into the area.
    pub page_frames: u32,
    /// Node pots written into the area.
    pub node_pot_frames: u32,
    /// Other frames (allocation and checksum pots) written into the area.
    pub other_frames: u32,
    /// Directory frames written.
    pub directory_frames: u32,
    /// Time domains waited for the previous migration before the snapshot, ns.
    pub migration_wait_ns: u64,
    /// Frames copied on write whose contents turned out unchanged, left out.
    pub skipped_frames: u64,
}

/// The checkpoint before a committed one, while its migration has not
/// begun: home holds it exactly. See the module doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreviousCheckpoint {
    /// Its generation.
    pub generation: u64,
    /// System clock at its snapshot, ns.
    pub checkpoint_time_ns: u64,
    /// Wall clock at its snapshot, Unix ns.
    pub wall_time_ns: u64,
    /// Its process list.
    pub processes: ProcessListLocation,
}

/// A decoded checkpoint header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointHeader {
    /// Identity of the image this header belongs to.
    pub image_id: u64,
    /// Checkpoint generation; the big bang is generation 1.
    pub generation: u64,
    /// Committed (overlay in the area) or migrated (home only).
    pub state: CheckpointState,
    /// System clock at the snapshot, ns.
    pub checkpoint_time_ns: u64,
    /// Wall clock at the snapshot, Unix ns.
    pub wall_time_ns: u64,
    /// The directory (meaningful when committed).
    pub directory: DirectoryLocation,
    /// The process list.
    pub processes: ProcessListLocation,
    /// Recent checkpoints, newest first, at most [`HISTORY_LEN`].
    pub history: Vec<CheckpointStats>,
    /// The previous checkpoint, still restartable (committed headers only).
    pub previous: Option<PreviousCheckpoint>,
}

mod offsets {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 8;
    pub const STATE: usize = 12;
    pub const IMAGE_ID: usize = 16;
    pub const GENERATION: usize = 24;
    pub const CHECKPOINT_TIME: usize = 32;
    pub const WALL_TIME: usize = 40;
    pub const DIR_AREA: usize = 48;
    pub const DIR_FIRST: usize = 52;
    pub const DIR_FRAMES: usize = 56;
    pub const DIR_ENTRIES: usize = 60;
    pub const DIR_CHECKSUM: usize = 64;
    pub const PROC_SLOT: usize = 68;
    pub const PROC_COUNT: usize = 72;
    pub const PROC_CHECKSUM: usize = 76;
    pub const HISTORY_COUNT: usize = 80;
    pub const PREVIOUS: usize = 2136;
    pub const PREV_GENERATION: usize = 2144;
    pub const PREV_CHECKPOINT_TIME: usize = 2152;
    pub const PREV_WALL_TIME: usize = 2160;
    pub const PREV_PROC_SLOT: usize = 2168;
    pub const PREV_PROC_COUNT: usize = 2172;
    pub const PREV_PROC_CHECKSUM: usize = 2176;
}

impl CheckpointHeader {
    /// The order in which headers supersede each other.
    pub fn recency(&self) -> (u64, CheckpointState) {
        (self.generation, self.state)
    }

    /// The header that commits the previous checkpoint again, if this one
    /// still keeps it: migrated (home alone holds it), with its times and
    /// process list, under the next generation number so that it supersedes
    /// this one and generations only grow. Its parity matches the previous
    /// one's (generation + 2), so its process-list slot is where the
    /// writer's alternation expects it, and the area it leaves free for the
    /// next epoch is this checkpoint's, which is abandoned.
    pub fn rollback(&self) -> Option<CheckpointHeader> {
        let p = self
            .previous
            .filter(|_| self.state == CheckpointState::Committed && self.generation < MAX_GENERATION)?;
        let generation = self.generation + 1;
        Some(CheckpointHeader {
            image_id: self.image_id,
            generation,
            state: CheckpointState::Migrated,
            checkpoint_time_ns: p.checkpoint_time_ns,
            wall_time_ns: p.wall_time_ns,
            directory: DirectoryLocation { area: (generation % 2) as u32, ..Default::default() },
            processes: p.processes,
            history: self.history.clone(),
            previous: None,
        })
    }

    /// Encodes the header as a frame.
    pub fn encode(&self) -> Box<Frame> {
        use offsets as o;
        assert!(self.history.len() <= HISTORY_LEN, "HEADER001 history too long");
        let mut f = Box::new([0u8; FRAME_SIZE]);
        let b = &mut f[..];
        b[o::MAGIC..o::MAGIC + 8].copy_from_slice(HEADER_MAGIC);
        frame::write_u32(b, o::VERSION, FORMAT_VERSION);
        frame::write_u32(b, o::STATE, state_code(self.state));
        frame::write_u64(b, o::IMAGE_ID, self.image_id);
        frame::write_u64(b, o::GENERATION, self.generation);
        frame::write_u64(b, o::CHECKPOINT_TIME, self.checkpoint_time_ns);
        frame::write_u64(b, o::WALL_TIME, self.wall_time_ns);
        let d = &self.directory;
        for (at, v) in [
            (o::DIR_AREA, d.area),
            (o::DIR_FIRST, d.first),
            (o::DIR_FRAMES, d.frames),
            (o::DIR_ENTRIES, d.entries),
            (o::DIR_CHECKSUM, d.checksum),
            (o::PROC_SLOT, self.processes.slot),
            (o::PROC_COUNT, self.processes.count),
            (o::PROC_CHECKSUM, self.processes.checksum),
            (o::HISTORY_COUNT, self.history.len() as u32),
        ] {
            frame::write_u32(b, at, v);
        }
        for (i, stats) in self.history.iter().enumerate() {
            encode_stats(stats, &mut b[HISTORY_OFFSET + i * HISTORY_ENTRY..][..HISTORY_ENTRY]);
        }
        if let Some(p) = &self.previous {
            frame::write_u32(b, o::PREVIOUS, 1);
            frame::write_u64(b, o::PREV_GENERATION, p.generation);
            frame::write_u64(b, o::PREV_CHECKPOINT_TIME, p.checkpoint_time_ns);
            frame::write_u64(b, o::PREV_WALL_TIME, p.wall_time_ns);
            frame::write_u32(b, o::PREV_PROC_SLOT, p.processes.slot);
            frame::write_u32(b, o::PREV_PROC_COUNT, p.processes.count);
            frame::write_u32(b, o::PREV_PROC_CHECKSUM, p.processes.checksum);
        }
        let sum = frame::checksum(&b[..CHECKSUM_OFFSET]);
        frame::write_u32(b, CHECKSUM_OFFSET, sum);
        f
    }

    /// Decodes and validates a header slot against the image's label.
    pub fn decode(f: &Frame, image_id: u64, layout: &Layout) -> Result<CheckpointHeader, HeaderProblem> {
        use offsets as o;
        if &f[o::MAGIC..o::MAGIC + 8] != HEADER_MAGIC {
            return Err(HeaderProblem::NoMagic);
        }
        if frame::checksum(&f[..CHECKSUM_OFFSET]) != frame::read_u32(f, CHECKSUM_OFFSET) {
            return Err(HeaderProblem::Checksum);
        }
        let version = frame::read_u32(f, o::VERSION);
        if version != FORMAT_VERSION {
            return Err(HeaderProblem::Version(version));
        }
        let found_id = frame::read_u64(f, o::IMAGE_ID);
        if found_id != image_id {
            return Err(HeaderProblem::ForeignImage(found_id));
        }
        let u32_at = |at| frame::read_u32(f, at);
        let state = match u32_at(o::STATE) {
            1 => CheckpointState::Committed,
            2 => CheckpointState::Migrated,
            other => return Err(HeaderProblem::field("state", format!("{other} is neither 1 nor 2"))),
        };
        let previous = match u32_at(o::PREVIOUS) {
            0 => None,
            1 => Some(PreviousCheckpoint {
                generation: frame::read_u64(f, o::PREV_GENERATION),
                checkpoint_time_ns: frame::read_u64(f, o::PREV_CHECKPOINT_TIME),
                wall_time_ns: frame::read_u64(f, o::PREV_WALL_TIME),
                processes: ProcessListLocation {
                    slot: u32_at(o::PREV_PROC_SLOT),
                    count: u32_at(o::PREV_PROC_COUNT),
                    checksum: u32_at(o::PREV_PROC_CHECKSUM),
                },
            }),
            other => {
                return Err(HeaderProblem::field(
                    "previous-checkpoint flag",
                    format!("{other} is neither 0 nor 1"),
                ));
            }
        };
        let history_count = u32_at(o::HISTORY_COUNT) as usize;
        if history_count > HISTORY_LEN {
            return Err(HeaderProblem::field(
                "history entries",
                format!("{history_count} exceed {HISTORY_LEN}"),
            ));
        }
        let header = CheckpointHeader {
            image_id,
            generation: frame::read_u64(f, o::GENERATION),
            state,
            checkpoint_time_ns: frame::read_u64(f, o::CHECKPOINT_TIME),
            wall_time_ns: frame::read_u64(f, o::WALL_TIME),
            directory: DirectoryLocation {
                area: u32_at(o::DIR_AREA),
                first: u32_at(o::DIR_FIRST),
                frames: u32_at(o::DIR_FRAMES),
                entries: u32_at(o::DIR_ENTRIES),
                checksum: u32_at(o::DIR_CHECKSUM),
            },
            processes: ProcessListLocation {
                slot: u32_at(o::PROC_SLOT),
                count: u32_at(o::PROC_COUNT),
                checksum: u32_at(o::PROC_CHECKSUM),
            },
            history: (0..history_count)
                .map(|i| decode_stats(&f[HISTORY_OFFSET + i * HISTORY_ENTRY..][..HISTORY_ENTRY]))
                .collect(),
            previous,
        };
        header.check_fields(layout)?;
        Ok(header)
    }

    /// Checks every field the kernel relies on, naming the first that is
    /// out of range. Generations and times are bounded well below 2^64 so
    /// that the arithmetic restart and the clock do on them cannot overflow.
    fn check_fields(&self, layout: &Layout) -> Result<(), HeaderProblem> {
        use HeaderProblem as P;
        if !(1..=MAX_GENERATION).contains(&self.generation) {
            return Err(P::field(
                "generation",
                format!("{} is not in 1..={MAX_GENERATION}", self.generation),
            ));
        }
        check_time("checkpoint time", self.checkpoint_time_ns)?;
        if self.state == CheckpointState::Committed {
            check_directory(&self.directory, self.generation, layout)?;
        }
        check_process_list("process list", &self.processes, self.generation, layout)?;
        if let Some(p) = &self.previous {
            if self.state != CheckpointState::Committed {
                return Err(P::field("previous-checkpoint flag", "is set in a migrated header"));
            }
            // A snapshot waits for the previous checkpoint's migration, so
            // the previous checkpoint is always the one just before.
            if p.generation != self.generation - 1 {
                return Err(P::field(
                    "previous: generation",
                    format!("{} is not {} - 1", p.generation, self.generation),
                ));
            }
            check_time("previous: checkpoint time", p.checkpoint_time_ns)?;
            check_process_list("previous: process list", &p.processes, p.generation, layout)?;
        }
        Ok(())
    }
}

/// Highest generation a header may carry: rollback and the next snapshot
/// add to it.
pub const MAX_GENERATION: u64 = 1 << 62;
/// Latest system time a header may carry, ns (about 146 years): the clock
/// adds the downtime to it, and domains add intervals to what it reads.
pub const MAX_SYSTEM_TIME_NS: u64 = 1 << 62;

fn check_time(field: &'static str, ns: u64) -> Result<(), HeaderProblem> {
    if ns > MAX_SYSTEM_TIME_NS {
        return Err(HeaderProblem::field(field, format!("{ns} ns is later than {MAX_SYSTEM_TIME_NS} ns")));
    }
    Ok(())
}

/// A committed checkpoint's directory: in area `generation % 2` (restart
/// makes the other area the working one), inside it, and exactly as many
/// frames as its entries need.
fn check_directory(d: &DirectoryLocation, generation: u64, layout: &Layout) -> Result<(), HeaderProblem> {
    use HeaderProblem as P;
    if u64::from(d.area) != generation % 2 {
        return Err(P::field("directory area", format!("{} is not generation {generation} mod 2", d.area)));
    }
    if u64::from(d.first) + u64::from(d.frames) > layout.geometry.area_frames {
        return Err(P::field(
            "directory first frame",
            format!("{} + {} frames run past the area's {}", d.first, d.frames, layout.geometry.area_frames),
        ));
    }
    let needed = u64::from(d.entries).div_ceil(crate::directory::ENTRIES_PER_FRAME as u64);
    if u64::from(d.frames) != needed {
        return Err(P::field(
            "directory frames",
            format!("{} are not the {needed} that {} entries take", d.frames, d.entries),
        ));
    }
    if d.entries > d.first {
        return Err(P::field(
            "directory entries",
            format!("{} exceed the {} area frames before the directory", d.entries, d.first),
        ));
    }
    Ok(())
}

/// A process list: no longer than its slot, and (when it names any
/// domain) in slot `generation % 2`, the one the next checkpoint's writer
/// leaves alone.
fn check_process_list(
    field: &'static str,
    p: &ProcessListLocation,
    generation: u64,
    layout: &Layout,
) -> Result<(), HeaderProblem> {
    let capacity = layout.geometry.process_capacity();
    if u64::from(p.count) > capacity {
        return Err(HeaderProblem::field(
            field,
            format!("of {} entries is longer than its slot ({capacity})", p.count),
        ));
    }
    if p.slot > 1 || (p.count > 0 && u64::from(p.slot) != generation % 2) {
        return Err(HeaderProblem::field(
            field,
            format!("slot {} is not generation {generation} mod 2", p.slot),
        ));
    }
    Ok(())
}

fn state_code(state: CheckpointState) -> u32 {
    match state {
        CheckpointState::Committed => 1,
        CheckpointState::Migrated => 2,
    }
}

fn encode_stats(s: &CheckpointStats, b: &mut [u8]) {
    frame::write_u64(b, 0, s.generation);
    frame::write_u64(b, 8, s.checkpoint_time_ns);
    frame::write_u64(b, 16, s.pause_ns);
    frame::write_u64(b, 24, s.commit_ns);
    frame::write_u32(b, 32, s.page_frames);
    frame::write_u32(b, 36, s.node_pot_frames);
    frame::write_u32(b, 40, s.other_frames);
    frame::write_u32(b, 44, s.directory_frames);
    frame::write_u64(b, 48, s.migration_wait_ns);
    frame::write_u64(b, 56, s.skipped_frames);
}

fn decode_stats(b: &[u8]) -> CheckpointStats {
    CheckpointStats {
        generation: frame::read_u64(b, 0),
        checkpoint_time_ns: frame::read_u64(b, 8),
        pause_ns: frame::read_u64(b, 16),
        commit_ns: frame::read_u64(b, 24),
        page_frames: frame::read_u32(b, 32),
        node_pot_frames: frame::read_u32(b, 36),
        other_frames: frame::read_u32(b, 40),
        directory_frames: frame::read_u32(b, 44),
        migration_wait_ns: frame::read_u64(b, 48),
        skipped_frames: frame::read_u64(b, 56),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Geometry;

    fn sample() -> CheckpointHeader {
        CheckpointHeader {
            image_id: 0xABCD,
            generation: 17,
            state: CheckpointState::Committed,
            checkpoint_time_ns: 123_456,
            wall_time_ns: 1_700_000_000_000_000_000,
            directory: DirectoryLocation { area: 1, first: 300, frames: 2, entries: 300, checksum: 99 },
            processes: ProcessListLocation { slot: 1, count: 5, checksum: 7 },
            history: vec![CheckpointStats {
                generation: 17,
                pause_ns: 40_000,
                page_frames: 12,
                ..Default::default()
            }],
            previous: Some(PreviousCheckpoint {
                generation: 16,
                checkpoint_time_ns: 100_000,
                wall_time_ns: 1_699_999_999_000_000_000,
                processes: ProcessListLocation { slot: 0, count: 4, checksum: 3 },
            }),
        }
    }

    #[test]
    fn rollback_commits_the_previous_checkpoint_again_under_a_newer_generation() {
        let h = sample();
        let back = h.rollback().expect("a committed header that keeps its previous one");
        assert_eq!(back.generation, 18);
        assert!(back.recency() > h.recency(), "it supersedes the abandoned checkpoint");
        assert_eq!(back.state, CheckpointState::Migrated);
        assert_eq!((back.checkpoint_time_ns, back.wall_time_ns), (100_000, 1_699_999_999_000_000_000));
        assert_eq!(back.processes, ProcessListLocation { slot: 0, count: 4, checksum: 3 });
        assert_eq!(back.processes.slot as u64, back.generation % 2, "the slot parity holds");
        assert_eq!(back.previous, None);
        assert_eq!(CheckpointHeader { previous: None, ..sample() }.rollback(), None);
        assert_eq!(CheckpointHeader { state: CheckpointState::Migrated, ..sample() }.rollback(), None);
    }

    #[test]
    fn a_migrated_header_that_claims_a_previous_checkpoint_is_refused() {
        let layout = Geometry::for_size(16 << 20).unwrap().layout().unwrap();
        let bad = CheckpointHeader { state: CheckpointState::Migrated, ..sample() };
        assert!(matches!(
            CheckpointHeader::decode(&bad.encode(), 0xABCD, &layout),
            Err(HeaderProblem::Field { .. })
        ));
    }

    #[test]
    fn header_round_trips() {
        let layout = Geometry::for_size(16 << 20).unwrap().layout().unwrap();
        let h = sample();
        assert_eq!(CheckpointHeader::decode(&h.encode(), 0xABCD, &layout).unwrap(), h);
    }

    #[test]
    fn header_problems_are_distinguished() {
        let layout = Geometry::for_size(16 << 20).unwrap().layout().unwrap();
        let f = sample().encode();
        assert_eq!(CheckpointHeader::decode(&f, 1, &layout), Err(HeaderProblem::ForeignImage(0xABCD)));
        let mut torn = f.clone();
        torn[2048..].fill(0);
        assert_eq!(CheckpointHeader::decode(&torn, 0xABCD, &layout), Err(HeaderProblem::Checksum));
        assert_eq!(CheckpointHeader::decode(&[0; FRAME_SIZE], 0xABCD, &layout), Err(HeaderProblem::NoMagic));
    }

    #[test]
    fn migrated_supersedes_committed_of_the_same_generation() {
        let committed = sample();
        let migrated = CheckpointHeader { state: CheckpointState::Migrated, previous: None, ..sample() };
        let older =
            CheckpointHeader { generation: 16, state: CheckpointState::Migrated, previous: None, ..sample() };
        assert!(migrated.recency() > committed.recency());
        assert!(committed.recency() > older.recency());
    }
}
