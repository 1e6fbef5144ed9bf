//! The snapshot reader as a fuzz target: `Snapshot::read` of a mutated
//! snapshot directory (manifest, pages, nodes), with the objects' CRCs and
//! the manifest's checksum fixed up in most cases.

use std::path::Path;

use domains::world::big_bang::Settings;
use tools::snapshot::format::{MANIFEST, Manifest, NODES, PAGES};
use tools::snapshot::{Snapshot, capture};

use super::Mutator;

/// A snapshot's three files, and a directory to write mutations into.
pub struct Base {
    manifest: Manifest,
    pages: Vec<u8>,
    nodes: Vec<u8>,
    dir: tempfile::TempDir,
}

impl Base {
    /// Snapshots the counter domain of a primordial world.
    pub fn build() -> Base {
        let (_, mut k) = crate::world(16 << 20, Settings::default());
        crate::run_world(&mut k, 2_000_000);
        k.write_back_caches().expect("write back");
        let root = tools::snapshot::admissible(k.store(), "counter", false).expect("the counter domain");
        let snapshot = capture::capture(&k, root, Path::new("fuzz.img")).expect("capture");
        let dir = tempfile::tempdir().expect("a directory");
        let written = dir.path().join("base");
        snapshot.write(&written).expect("write");
        let read = |name: &str| std::fs::read(written.join(name)).expect("read back");
        Base { manifest: snapshot.manifest, pages: read(PAGES), nodes: read(NODES), dir }
    }
}

/// The manifest's checksum as `Manifest::read` computes it.
fn seal(manifest: &mut Manifest) {
    manifest.checksum = 0;
    manifest.checksum = crc32c::crc32c(&serde_json::to_vec(manifest).expect("serializes"));
}

/// Reads a mutated snapshot directory.
pub fn snapshot(m: &mut Mutator, base: &Base) -> bool {
    let mut manifest = base.manifest.clone();
    let (mut pages, mut nodes) = (base.pages.clone(), base.nodes.clone());
    for _ in 0..1 + m.below(3) {
        match m.below(6) {
            0 => m.mutate(&mut pages, &[]),
            1 => m.mutate(&mut nodes, &[0, 1, 5, 17, 18, 22]),
            2 => {
                let (which, unit) = (m.chance(0.5), 1 + m.below(300));
                m.resize(if which { &mut pages } else { &mut nodes }, unit, 0);
            }
            _ => mutate_manifest(m, &mut manifest),
        }
    }
    if m.chance(0.75) {
        for (record, object) in manifest.pages.iter_mut().zip(pages.chunks(disk_image::FRAME_SIZE)) {
            record.crc32c = crc32c::crc32c(object);
        }
        for (record, object) in
            manifest.nodes.iter_mut().zip(nodes.chunks(tools::snapshot::format::NODE_BYTES))
        {
            record.crc32c = crc32c::crc32c(object);
        }
    }
    let mut text = match m.chance(0.8) {
        true => {
            seal(&mut manifest);
            serde_json::to_vec(&manifest).expect("serializes")
        }
        false => serde_json::to_vec(&manifest).expect("serializes"),
    };
    if m.chance(0.15) {
        m.mutate(&mut text, &[]);
    }
    let dir = base.dir.path().join("input");
    std::fs::create_dir_all(&dir).expect("input directory");
    for (name, bytes) in [(MANIFEST, &text), (PAGES, &pages), (NODES, &nodes)] {
        std::fs::write(dir.join(name), bytes).expect("write input");
    }
    if m.chance(0.03) {
        let _ = std::fs::remove_file(dir.join([MANIFEST, PAGES, NODES][m.below(3)]));
    }
    Snapshot::read(&dir).is_ok()
}

/// Changes one field of the manifest: a number to a boundary value, or an
/// object or import record added, dropped or changed.
fn mutate_manifest(m: &mut Mutator, manifest: &mut Manifest) {
    let mut value = serde_json::to_value(&*manifest).expect("serializes");
    let mut numbers = Vec::new();
    collect_numbers(&mut value, &mut numbers);
    if !numbers.is_empty() {
        let target = m.below(numbers.len());
        let v = m.value();
        *numbers.swap_remove(target) = serde_json::Value::from(v);
    }
    if let Ok(mutated) = serde_json::from_value::<Manifest>(value) {
        *manifest = mutated;
    }
    match m.below(4) {
        0 if !manifest.nodes.is_empty() => {
            manifest.nodes.truncate(m.below(manifest.nodes.len()));
        }
        1 if !manifest.pages.is_empty() => {
            let i = m.below(manifest.pages.len());
            manifest.pages.push(manifest.pages[i]);
        }
        _ => {}
    }
}

fn collect_numbers<'a>(value: &'a mut serde_json::Value, out: &mut Vec<&'a mut serde_json::Value>) {
    match value {
        serde_json::Value::Number(_) => out.push(value),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| collect_numbers(v, out)),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(|v| collect_numbers(v, out)),
        _ => {}
    }
}
