//! What a world is doing, as `gnosis status`, `gnosis top` and `gnosis
//! inspect --history` show it: the checkpoint generation and its age, the
//! last pause, the working area's fill, migration progress, every domain,
//! the recent crash table and the per-checkpoint statistics the headers
//! keep (pause, time to commit, frames written and skipped, bytes).
//!
//! A running instance builds a [`Status`] from its live kernel and sends it
//! as JSON over the control socket; a stopped image gives one from its
//! newest checkpoint (no live figures). Both print the same way.

pub mod view;

use std::fmt::Write as _;
use std::path::Path;

use disk_image::{CheckpointHeader, CheckpointState, CheckpointStats, FRAME_BYTES};
use kernel::domain::RunState;
use kernel::inspect::DomainSummary;
use kernel::kernel::Kernel;
use kernel::restart::LoadedImage;
use serde::{Deserialize, Serialize};

use domains::world::crash_table;

/// A world's state at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The image.
    pub image: String,
    /// Figures from a running instance (else from the newest checkpoint).
    pub running: bool,
    /// System time, ns (a stopped image: its checkpoint's).
    pub system_time_ns: u64,
    /// Instructions executed by this instance since it booted.
    pub instructions: u64,
    /// Of those, the ones run as translated host code.
    #[serde(default)]
    pub translated_instructions: u64,
    /// The newest checkpoint and the work on the next.
    pub checkpoint: Checkpoint,
    /// Every domain.
    pub domains: Vec<Domain>,
    /// The newest restarts the checkpoint driver recorded, oldest first.
    pub crash_table: Vec<Restart>,
    /// The newest checkpoints' statistics, newest first.
    pub history: Vec<HistoryEntry>,
}

/// The newest checkpoint, and the next one's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Its generation.
    pub generation: u64,
    /// "committed" (being migrated) or "migrated".
    pub state: String,
    /// Seconds since it was taken (wall clock).
    pub age_s: f64,
    /// The last snapshot pause of this instance, ns.
    pub last_pause_ns: Option<u64>,
    /// The longest snapshot pause of this instance, ns.
    pub max_pause_ns: Option<u64>,
    /// Working-area frames written since the last snapshot.
    pub dirty_frames: Option<u64>,
    /// Frames in a checkpoint area.
    pub area_frames: u64,
    /// Migration: directory entries left to copy home, of how many.
    pub migration: Option<(u64, u64)>,
    /// The generation before this one, while it can still be restarted
    /// (this checkpoint's migration is held).
    pub previous_kept: Option<u64>,
}

/// One domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// Its root node's number.
    pub root: u64,
    /// Its name.
    pub name: String,
    /// Running, available, waiting or faulted (with the trap).
    pub state: String,
    /// Instructions left on its meter (`None`: no meter; huge: unlimited).
    pub meter_left: Option<u64>,
    /// Instructions it has executed.
    pub instructions: u64,
}

/// One restart from the crash table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Restart {
    /// The restart's number.
    pub number: u32,
    /// System time of the checkpoint restarted from, s.
    pub checkpoint_s: f64,
    /// Downtime: checkpoint to restart, s.
    pub downtime_s: f64,
}

/// One checkpoint's statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Generation.
    pub generation: u64,
    /// System time of its snapshot, s.
    pub taken_s: f64,
    /// Domains stopped for the snapshot, ns.
    pub pause_ns: u64,
    /// Snapshot to durable header, ns.
    pub commit_ns: u64,
    /// Pages written.
    pub pages: u32,
    /// Node pots written.
    pub node_pots: u32,
    /// Allocation and checksum pots, and directory frames, written.
    pub other: u32,
    /// Frames copied on write but unchanged, left out.
    pub skipped: u64,
    /// Bytes written into the area.
    pub bytes: u64,
    /// Domains waited for the previous migration, ns.
    pub migration_wait_ns: u64,
}

impl From<&CheckpointStats> for HistoryEntry {
    fn from(s: &CheckpointStats) -> HistoryEntry {
        let frames = u64::from(s.page_frames + s.node_pot_frames + s.other_frames + s.directory_frames);
        HistoryEntry {
            generation: s.generation,
            taken_s: s.checkpoint_time_ns as f64 / 1e9,
            pause_ns: s.pause_ns,
            commit_ns: s.commit_ns,
            pages: s.page_frames,
            node_pots: s.node_pot_frames,
            other: s.other_frames + s.directory_frames,
            skipped: s.skipped_frames,
            bytes: frames * FRAME_BYTES,
            migration_wait_ns: s.migration_wait_ns,
        }
    }
}

impl Status {
    /// The status of a running kernel.
    pub fn of_kernel(k: &mut Kernel, image: &Path) -> Status {
        let header = k.checkpoint_header().clone();
        let stats = k.checkpoint_stats();
        let progress = k.checkpoint_progress();
        let committed = stats.committed > 0;
        let checkpoint = Checkpoint {
            last_pause_ns: committed.then_some(stats.last_pause_ns),
            max_pause_ns: committed.then_some(stats.max_pause_ns),
            dirty_frames: Some(progress.dirty_frames),
            area_frames: progress.area_frames,
            migration: progress.migration.map(|m| (m.left, m.total)),
            ..Checkpoint::of_header(&header)
        };
        Status {
            image: image.display().to_string(),
            running: true,
            system_time_ns: k.clock().now_ns(),
            instructions: k.stats().instructions,
            translated_instructions: k.stats().translated,
            checkpoint,
            domains: k.live_domains().iter().map(Domain::from).collect(),
            crash_table: restarts(k.store()),
            history: header.history.iter().map(HistoryEntry::from).collect(),
        }
    }

    /// The status of a stopped image, from its newest checkpoint.
    pub fn of_image(loaded: &LoadedImage, image: &Path) -> Status {
        let header = &loaded.opened.header;
        let checkpoint =
            Checkpoint { area_frames: loaded.opened.layout.areas[0].count, ..Checkpoint::of_header(header) };
        Status {
            image: image.display().to_string(),
            running: false,
            system_time_ns: header.checkpoint_time_ns,
            instructions: 0,
            translated_instructions: 0,
            checkpoint,
            domains: kernel::inspect::domains(&loaded.store).iter().map(Domain::from).collect(),
            crash_table: restarts(&loaded.store),
            history: header.history.iter().map(HistoryEntry::from).collect(),
        }
    }
}

impl Checkpoint {
    fn of_header(h: &CheckpointHeader) -> Checkpoint {
        let state = match h.state {
            CheckpointState::Committed => "committed",
            CheckpointState::Migrated => "migrated",
        };
        Checkpoint {
            generation: h.generation,
            state: state.into(),
            age_s: kernel::clock::wall_now_ns().saturating_sub(h.wall_time_ns) as f64 / 1e9,
            previous_kept: h.previous.map(|p| p.generation),
            ..Checkpoint::default()
        }
    }
}

impl From<&DomainSummary> for Domain {
    fn from(d: &DomainSummary) -> Domain {
        Domain {
            root: d.root.number(),
            name: d.name.clone(),
            state: state_text(d),
            meter_left: d.meter.and(d.meter_left),
            instructions: d.instructions,
        }
    }
}

/// A domain's state in words: running, available, waiting, or the trap
/// that stopped it.
pub fn state_text(d: &DomainSummary) -> String {
    match (d.state, d.trap.0) {
        (_, code) if code != 0 => format!("faulted: {} at {:#x}", kernel::trap::describe(code), d.trap.1),
        (RunState::Running, _) => "running".into(),
        (RunState::Available, _) => "available".into(),
        (RunState::Waiting, _) => "waiting".into(),
    }
}

/// A meter's figure in words: instructions left, or ∞.
pub fn meter_text(left: Option<u64>) -> String {
    match left {
        Some(left) if left > u64::MAX / 2 => "∞".into(),
        Some(left) => left.to_string(),
        None => "none".into(),
    }
}

/// The crash table, or nothing if the image has no checkpoint driver.
fn restarts(store: &kernel::store::Store) -> Vec<Restart> {
    let table = crash_table::read(store).unwrap_or_default();
    table
        .iter()
        .map(|r| Restart {
            number: r.number,
            checkpoint_s: r.checkpoint_ns as f64 / 1e9,
            downtime_s: r.downtime_ns() as f64 / 1e9,
        })
        .collect()
}

/// A duration in ns for people: 850 ns, 12.3 µs, 4.5 ms, 2.1 s.
pub fn duration(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

/// The checkpoint history as a table, newest first.
pub fn history_table(history: &[HistoryEntry]) -> String {
    let mut out = format!(
        "{:>6} {:>10} {:>10} {:>10} {:>7} {:>6} {:>6} {:>8} {:>10} {:>10}\n",
        "gen", "taken (s)", "pause", "commit", "pages", "nodes", "other", "skipped", "bytes", "mig. wait"
    );
    for h in history {
        let _ = writeln!(
            out,
            "{:>6} {:>10.3} {:>10} {:>10} {:>7} {:>6} {:>6} {:>8} {:>10} {:>10}",
            h.generation,
            h.taken_s,
            duration(h.pause_ns),
            duration(h.commit_ns),
            h.pages,
            h.node_pots,
            h.other,
            h.skipped,
            crate::human_bytes(h.bytes),
            duration(h.migration_wait_ns)
        );
    }
    out
}

impl Status {
    /// The status as `gnosis status` prints it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {}, system time {:.3} s",
            self.image,
            if self.running { "running" } else { "stopped (figures from its newest checkpoint)" },
            self.system_time_ns as f64 / 1e9
        );
        if self.running {
            let _ = writeln!(
                out,
                "{} instructions since boot, {:.1}% of them translated",
                self.instructions,
                100.0 * self.translated_instructions as f64 / self.instructions.max(1) as f64
            );
        }
        for line in self.checkpoint_lines() {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\n{:<8} {:<12} {:<24} {:>12} {:>14}",
            "root", "name", "state", "meter", "instructions"
        );
        for d in &self.domains {
            let _ = writeln!(
                out,
                "{:<8} {:<12} {:<24} {:>12} {:>14}",
                d.root,
                crate::printable(&d.name),
                d.state,
                meter_text(d.meter_left),
                d.instructions
            );
        }
        let _ = writeln!(out, "\nrecent restarts:");
        for line in self.restart_lines() {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "\ncheckpoint history:\n{}", history_table(&self.history));
        out
    }

    /// The checkpoint, the working area and migration, in lines.
    pub fn checkpoint_lines(&self) -> Vec<String> {
        let c = &self.checkpoint;
        let mut lines =
            vec![format!("checkpoint generation {} ({}), taken {:.1} s ago", c.generation, c.state, c.age_s)];
        if let (Some(last), Some(max)) = (c.last_pause_ns, c.max_pause_ns) {
            lines.push(format!("last pause {}, longest {} (this run)", duration(last), duration(max)));
        }
        if let Some(dirty) = c.dirty_frames {
            let fill = 100.0 * dirty as f64 / c.area_frames.max(1) as f64;
            lines.push(format!("working area: {dirty} of {} frames dirty ({fill:.1}%)", c.area_frames));
        }
        lines.push(match (c.migration, c.previous_kept) {
            (Some((left, total)), _) => format!("migration: {left} of {total} entries left to copy home"),
            (None, Some(g)) => format!("migration: held, so generation {g} can still be restarted"),
            (None, None) => "migration: idle".into(),
        });
        lines
    }

    /// The crash table, in lines.
    pub fn restart_lines(&self) -> Vec<String> {
        if self.crash_table.is_empty() {
            return vec!["none recorded".into()];
        }
        self.crash_table
            .iter()
            .map(|r| {
                format!(
                    "restart {}: from the checkpoint at {:.3} s, down {:.3} s",
                    r.number, r.checkpoint_s, r.downtime_s
                )
            })
            .collect()
    }
}
