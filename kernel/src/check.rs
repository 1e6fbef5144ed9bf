//! The whole-store invariant checker (KeyKOS's CHECK; `gnosis fsck`).
//!
//! Walks everything a checkpoint consists of and reports every violation it
//! finds, each with a unique tag:
//!
//! * the label and both header slots (a slot that does not validate is a
//!   note: it is what a crash during a commit leaves);
//! * the directory and every frame it lists (checksums, ranges, duplicates);
//! * the process list (each entry an allocated node with its process bit);
//! * every node pot, allocation pot and checksum pot (seals);
//! * every page against its checksum-pot entry (the journal page excepted:
//!   it is written through, never checkpointed);
//! * every key in every allocated node: a known type, a CDA inside the
//!   image, and never a current key to a destroyed object;
//! * journal records;
//! * that every read of the image succeeded (a failing disk).

use std::collections::HashSet;
use std::sync::Arc;

use disk_image::frame::{frame_seal_ok, read_u32, seal};
use disk_image::storage::Storage;
use disk_image::{CheckpointState, ImageError, pots};

use crate::key::{Cda, KeyType};
use crate::object::{self, node, page};
use crate::restart::{self, LoadedImage};
use crate::store::Store;

pub use crate::journal::JOURNAL_PAGE;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Expected after a crash; not damage.
    Note,
    /// A violated invariant: the image is damaged.
    Error,
}

/// One thing the checker found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Note or error.
    pub severity: Severity,
    /// Unique tag, e.g. `FSCK-POT`.
    pub tag: &'static str,
    /// What was found, in words.
    pub what: String,
}

/// What the checker looked at and found.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Everything found, in the order found.
    pub findings: Vec<Finding>,
    /// Generation of the checkpoint checked.
    pub generation: u64,
    /// Allocated nodes checked.
    pub nodes: u64,
    /// Pages checked.
    pub pages: u64,
    /// Keys checked.
    pub keys: u64,
    /// Valid journal records.
    pub journal_records: u64,
}

impl CheckReport {
    /// Whether no error was found.
    pub fn is_clean(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Error)
    }

    fn add(&mut self, severity: Severity, tag: &'static str, what: String) {
        self.findings.push(Finding { severity, tag, what });
    }
}

/// A digest of the logical state of every page and node as the store sees
/// it now: page contents (the journal page excepted), node pots and
/// allocation pots without their seals. Two stores with the same digest
/// hold the same world. Reads every frame: for tests and crash experiments.
pub fn digest(store: &Store) -> u64 {
    use std::hash::Hasher;
    let l = *store.layout();
    let mut h = rustc_hash::FxHasher::default();
    let journal = l.page_frame(JOURNAL_PAGE.number());
    for home in l.allocation_pots.first..l.pages.end() {
        if home == journal {
            continue;
        }
        let f = store.read_frame(home);
        let len = if l.pages.contains(home) { f.len() } else { f.len() - 4 };
        h.write(&f[..len]);
    }
    h.finish()
}

/// Checks the image in `storage`. Fails only if it cannot be opened at all.
pub fn check_image(storage: Arc<dyn Storage>, file_bytes: u64) -> Result<CheckReport, ImageError> {
    let loaded = restart::load_unverified(storage.clone(), file_bytes)?;
    let mut report = CheckReport { generation: loaded.opened.header.generation, ..Default::default() };
    check_headers(&loaded, &mut report);
    check_directory_duplicates(&loaded, &mut report);
    check_pots(&loaded.store, &mut report);
    check_pages(&loaded.store, &mut report);
    check_nodes(&loaded.store, &mut report);
    check_processes(&loaded, &mut report);
    match loaded.opened.journal_records(storage.as_ref()) {
        Ok(records) => report.journal_records = records.len() as u64,
        Err(damage) => report.add(Severity::Error, "FSCK-JOURNAL", damage.to_string()),
    }
    let failed = storage.failed_reads();
    if failed > 0 {
        report.add(
            Severity::Error,
            "FSCK-READ",
            format!("{failed} reads of the image failed (the disk may be failing)"),
        );
    }
    Ok(report)
}

fn check_headers(loaded: &LoadedImage, report: &mut CheckReport) {
    for (name, slot) in ["primary", "secondary"].iter().zip(&loaded.opened.slots) {
        if let Err(problem) = slot {
            report.add(Severity::Note, "FSCK-HEADER", format!("{name} header slot: {problem}"));
        }
    }
    if let Some(damage) = &loaded.fell_back {
        report.add(
            Severity::Error,
            "FSCK-FALLBACK",
            format!("newest checkpoint unusable ({damage}); the older one was checked"),
        );
    }
    if loaded.opened.header.state == CheckpointState::Committed {
        report.add(
            Severity::Note,
            "FSCK-UNMIGRATED",
            format!("{} frames await migration", loaded.store.frozen().len()),
        );
    }
}

fn check_directory_duplicates(loaded: &LoadedImage, report: &mut CheckReport) {
    let frozen = loaded.store.frozen();
    let targets: HashSet<u64> = frozen.values().copied().collect();
    if targets.len() != frozen.len() {
        report.add(Severity::Error, "FSCK-DIRDUP", "two directory entries share an area frame".into());
    }
}

fn check_pots(store: &Store, report: &mut CheckReport) {
    let l = *store.layout();
    for (name, region) in
        [("checksum", l.checksum_pots), ("allocation", l.allocation_pots), ("node", l.node_pots)]
    {
        for home in region.first..region.end() {
            if !frame_seal_ok(&store.read_frame(home)) {
                report.add(
                    Severity::Error,
                    "FSCK-POT",
                    format!("{name} pot at home frame {home} fails its seal"),
                );
            }
        }
    }
}

fn check_pages(store: &Store, report: &mut CheckReport) {
    let l = *store.layout();
    for number in 0..l.geometry.page_count {
        let cda = Cda::page(number);
        report.pages += 1;
        if cda == JOURNAL_PAGE {
            continue;
        }
        let (pot, index) = l.checksum_place(number);
        let mut entry = [0u8; 4];
        store.read(pot, pots::entry_offset(index), &mut entry);
        let actual = seal(&store.read_frame(page::home(store, cda))[..]);
        if actual != read_u32(&entry, 0) {
            report.add(Severity::Error, "FSCK-PAGESUM", format!("{cda} does not match its checksum"));
        }
    }
}

fn check_nodes(store: &Store, report: &mut CheckReport) {
    for number in 0..store.layout().geometry.node_count() {
        let cda = Cda::node(number);
        if !object::allocation(store, cda).allocated {
            continue;
        }
        report.nodes += 1;
        for (slot, key) in node::slots(store, cda).iter().enumerate() {
            report.keys += 1;
            let Some(kind) = key.key_type() else {
                report.add(
                    Severity::Error,
                    "FSCK-KEYTYPE",
                    format!("{cda} slot {slot}: invalid key type byte {}", key.to_bytes()[0]),
                );
                continue;
            };
            let designates = kind.designates_node() || kind == KeyType::Page;
            if !designates {
                continue;
            }
            let target = key.cda();
            if target.is_node() != kind.designates_node() || !object::exists(store, target) {
                report.add(
                    Severity::Error,
                    "FSCK-KEYCDA",
                    format!("{cda} slot {slot}: {key:?} names no object of its kind"),
                );
                continue;
            }
            let alloc = object::allocation(store, target);
            if kind != KeyType::Resume && !alloc.allocated && alloc.id == key.allocation_id() {
                report.add(
                    Severity::Error,
                    "FSCK-DANGLING",
                    format!("{cda} slot {slot}: current key to destroyed {target}"),
                );
            }
        }
    }
}

fn check_processes(loaded: &LoadedImage, report: &mut CheckReport) {
    let store = &loaded.store;
    for &root in &loaded.processes {
        let ok = root.is_node()
            && object::exists(store, root)
            && object::allocation(store, root).allocated
            && node::header(store, root).flags & pots::FLAG_PROCESS != 0;
        if !ok {
            report.add(
                Severity::Error,
                "FSCK-PROCESS",
                format!("process list names {root}, which is not a running domain root"),
            );
        }
    }
}
