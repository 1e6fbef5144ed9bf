//! The snapshot directory (design.md §22): what `gnosis snapshot` writes
//! and `gnosis resume` reads.
//!
//! | file | holds |
//! |---|---|
//! | `manifest.json` | format name and version, when, from which image, the domain and how it resumes, one record per object (its CDA in the source image and the CRC-32C of its bytes in the files below), the imports, and the CRC-32C of the manifest itself |
//! | `pages.bin` | page i at offset 4096·i |
//! | `nodes.bin` | node i at offset 272·i: 16 slots of 17 bytes |
//!
//! A node slot is a tag byte and 16 bytes:
//!
//! | tag | meaning | bytes 1..17 |
//! |---:|---|---|
//! | 0 | a key that means the same in every image: a data or misc key | the key |
//! | 1 | a key to object `index` of the snapshot (a page for page keys, else a node) | type, databyte, 2 zero bytes, index (u32 LE), 8 zero bytes |
//! | 2 | import `index` of the manifest | index (u32 LE), 12 zero bytes |
//!
//! The manifest's checksum is the CRC-32C of its compact JSON with the
//! checksum field 0, so reformatting the file does not matter but any
//! change of content does. [`Snapshot::read`] returns only a snapshot that
//! is complete, undamaged and consistent: every object matches its
//! checksum, every reference is in range and of the right kind, and the
//! domain is well formed, so a resume can be planned in full before any
//! image is touched. [`Snapshot::write`] writes into a `.partial` sibling
//! and renames it, so a directory with the final name is always complete.

use std::io::Write;
use std::path::{Path, PathBuf};

use disk_image::frame::{FRAME_SIZE, Frame};
use kernel::domain;
use kernel::key::{KEY_BYTES, Key, KeyType};
use kernel::object::node::SLOTS;
use serde::{Deserialize, Serialize};

use super::SnapshotError;
use crate::user_file::{self, UserFileError};

/// The manifest's `format` field.
pub const FORMAT: &str = "gnosis-snapshot";
/// The format version this code reads and writes.
pub const VERSION: u32 = 1;
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The pages' file name.
pub const PAGES: &str = "pages.bin";
/// The nodes' file name.
pub const NODES: &str = "nodes.bin";
/// Bytes of one node slot: the tag and 16 bytes.
const SLOT_BYTES: usize = 1 + KEY_BYTES;
/// Bytes of one node in `nodes.bin`.
pub const NODE_BYTES: usize = SLOTS * SLOT_BYTES;
/// The biggest manifest read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;
/// The biggest `pages.bin` a running world takes, in bytes.
pub const MAX_PAGES_BYTES: u64 = 1 << 30;
/// The biggest `nodes.bin` a running world takes, in bytes.
pub const MAX_NODES_BYTES: u64 = 256 << 20;
/// The limits of the three files, in [`Snapshot::files`] order.
pub const FILE_LIMITS: [u64; 3] = [MAX_MANIFEST_BYTES, MAX_PAGES_BYTES, MAX_NODES_BYTES];

/// The manifest: everything about a snapshot but the objects' contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written by this code.
    pub version: u32,
    /// Wall clock when taken, Unix ns (what `prune` ages by).
    pub created_unix_ns: u64,
    /// Where it was taken.
    pub source: Source,
    /// The domain.
    pub domain: DomainRecord,
    /// One record per page, in `pages.bin` order.
    pub pages: Vec<ObjectRecord>,
    /// One record per node, in `nodes.bin` order.
    pub nodes: Vec<ObjectRecord>,
    /// Keys that lead outside the snapshot, by import number.
    pub imports: Vec<Import>,
    /// CRC-32C of the compact JSON of this manifest with this field 0.
    pub checksum: u32,
}

/// The image a snapshot was taken from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Its path.
    pub image: String,
    /// Its image id (label).
    pub image_id: u64,
    /// The newest checkpoint generation it had.
    pub generation: u64,
}

/// The snapshotted domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRecord {
    /// Its name (root slot 10).
    pub name: String,
    /// Its root node's index in `nodes.bin` (always 0 when taken by this code).
    pub root: u32,
    /// How it goes on when resumed.
    pub resumption: Resumption,
}

/// How a resumed domain goes on, from its state when taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resumption {
    /// It was running: it is ready again (a stalled invocation is re-executed).
    Run,
    /// It was available: it waits for a start-key invocation again.
    Available,
    /// It waited on a resume key that is in the snapshot: it still does.
    Wait,
    /// It waited on a resume key that stays behind: its call returns this code.
    Reply {
        /// The return code.
        code: u32,
        /// Why that code.
        reason: String,
    },
    /// It was stopped by a trap: the trap goes to its keeper again.
    Trap,
}

/// One object: where it came from and its checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Its CDA in the source image.
    pub was: u64,
    /// CRC-32C of its bytes in `pages.bin` or `nodes.bin`.
    pub crc32c: u32,
}

impl ObjectRecord {
    /// The record of a page.
    pub fn page(was: u64, bytes: &Frame) -> ObjectRecord {
        ObjectRecord { was, crc32c: crc32c::crc32c(bytes) }
    }

    /// The record of a node.
    pub fn node(was: u64, slots: &[Slot; SLOTS]) -> ObjectRecord {
        ObjectRecord { was, crc32c: crc32c::crc32c(&encode_node(slots)) }
    }
}

/// A key that leads outside the snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Import {
    /// The key, in words.
    pub what: String,
    /// What a resume can map it to on its own.
    pub kind: ImportKind,
}

/// The kinds of import, by what a resume maps them to when not told.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// A start key to a named domain: the same to the domain of that name.
    Gate {
        /// The domain's name.
        domain: String,
        /// The start key's databyte.
        databyte: u8,
    },
    /// A front-end key (a red segment with a gate as keeper) of a named
    /// server; a space bank's becomes the resumed domain's own bank.
    FrontEnd {
        /// The server's name.
        domain: String,
    },
    /// A meter key: the user meter.
    Meter,
    /// Anything else: DK(0).
    Other,
}

/// One key of a snapshot node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A key that means the same in every image (a data or misc key).
    Literal(Key),
    /// A key to an object of the snapshot.
    Local {
        /// The key's type.
        kind: KeyType,
        /// Its databyte (a resume key's kind).
        databyte: u8,
        /// Index into the pages (page keys) or the nodes (every other type).
        index: u32,
    },
    /// Import `n` of the manifest.
    Import(u32),
}

impl Slot {
    fn encode(self) -> [u8; SLOT_BYTES] {
        let mut b = [0u8; SLOT_BYTES];
        match self {
            Slot::Literal(key) => b[1..].copy_from_slice(&key.to_bytes()),
            Slot::Local { kind, databyte, index } => {
                b[0] = 1;
                b[1] = kind as u8;
                b[2] = databyte;
                b[5..9].copy_from_slice(&index.to_le_bytes());
            }
            Slot::Import(index) => {
                b[0] = 2;
                b[1..5].copy_from_slice(&index.to_le_bytes());
            }
        }
        b
    }

    /// Decodes a slot; `None` for bytes this format never writes.
    fn decode(b: &[u8; SLOT_BYTES]) -> Option<Slot> {
        let zero = |range: std::ops::Range<usize>| b[range].iter().all(|&x| x == 0);
        let word = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        match b[0] {
            0 => {
                let key = Key::from_bytes(b[1..].try_into().expect("16 bytes"));
                matches!(key.key_type(), Some(KeyType::Data | KeyType::Misc)).then_some(Slot::Literal(key))
            }
            1 => {
                let kind = KeyType::from_code(b[1]).filter(|t| *t == KeyType::Page || t.designates_node())?;
                (zero(3..5) && zero(9..SLOT_BYTES)).then_some(Slot::Local {
                    kind,
                    databyte: b[2],
                    index: word(5),
                })
            }
            2 => zero(5..SLOT_BYTES).then_some(Slot::Import(word(1))),
            _ => None,
        }
    }
}

fn encode_node(slots: &[Slot; SLOTS]) -> [u8; NODE_BYTES] {
    let mut b = [0u8; NODE_BYTES];
    for (chunk, slot) in b.chunks_exact_mut(SLOT_BYTES).zip(slots) {
        chunk.copy_from_slice(&slot.encode());
    }
    b
}

impl Manifest {
    /// Reads and checks the manifest of the snapshot in `dir`: ours
    /// ([`FORMAT`]), of [`VERSION`], and matching its checksum. (The
    /// objects are checked by [`Snapshot::read`].)
    pub fn read(dir: &Path) -> Result<Manifest, SnapshotError> {
        let path = dir.join(MANIFEST);
        let text = match user_file::read(&path, MAX_MANIFEST_BYTES, "a snapshot manifest") {
            Ok(text) => text,
            Err(UserFileError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && dir.is_dir() =>
            {
                return Err(SnapshotError::NotASnapshot(dir.to_path_buf()));
            }
            Err(e) => return Err(e.into()),
        };
        Manifest::parse(&path, &text)
    }

    /// Checks the manifest `text`, from the file `path` (for messages).
    fn parse(path: &Path, text: &[u8]) -> Result<Manifest, SnapshotError> {
        let path = path.to_path_buf();
        let foreign = |detail: String| SnapshotError::Foreign { path: path.clone(), detail };
        // The format and version are read first, loosely, so that a file
        // of another kind or version is named as such, not as damage.
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| foreign(format!("not JSON: {e}")))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => return Err(foreign(format!("its format is {other:?}, not {FORMAT:?}"))),
            None => return Err(foreign(format!("it has no \"format\": {FORMAT:?} field"))),
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(VERSION) {
            return Err(SnapshotError::Version { path, found: version });
        }
        let damaged = |detail: String| SnapshotError::Damaged { path: path.clone(), detail };
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| damaged(e.to_string()))?;
        let expected = manifest.compute_checksum();
        if manifest.checksum != expected {
            return Err(damaged(format!(
                "its checksum is {:#010x}, its contents give {expected:#010x}",
                manifest.checksum
            )));
        }
        Ok(manifest)
    }

    /// The manifest file's contents, with its checksum.
    fn encode(&self) -> Vec<u8> {
        let sealed = Manifest { checksum: self.compute_checksum(), ..self.clone() };
        serde_json::to_string_pretty(&sealed).expect("a manifest always serializes").into_bytes()
    }

    /// Writes the manifest into `dir`, with its checksum, and syncs it.
    pub fn write(&self, dir: &Path) -> Result<(), SnapshotError> {
        write_synced(&dir.join(MANIFEST), &self.encode())
    }

    fn compute_checksum(&self) -> u32 {
        let unsealed = Manifest { checksum: 0, ..self.clone() };
        crc32c::crc32c(&serde_json::to_vec(&unsealed).expect("a manifest always serializes"))
    }
}

/// A whole snapshot: its manifest and its objects.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The manifest.
    pub manifest: Manifest,
    /// The pages' contents.
    pub pages: Vec<Box<Frame>>,
    /// The nodes' slots.
    pub nodes: Vec<[Slot; SLOTS]>,
}

impl Snapshot {
    /// Reads the snapshot in `dir` and checks all of it (see the module doc).
    pub fn read(dir: &Path) -> Result<Snapshot, SnapshotError> {
        let manifest = Manifest::read(dir)?;
        let pages = read_part(dir, PAGES, manifest.pages.len() * FRAME_SIZE)?;
        let nodes = read_part(dir, NODES, manifest.nodes.len() * NODE_BYTES)?;
        Snapshot::decode(dir, manifest, &pages, &nodes)
    }

    /// The snapshot's three files, manifest, pages and nodes, as
    /// [`Snapshot::write`] writes them (what a running world sends).
    pub fn files(&self) -> [Vec<u8>; 3] {
        let pages = self.pages.iter().flat_map(|p| p.iter().copied()).collect();
        let nodes = self.nodes.iter().flat_map(encode_node).collect();
        [self.manifest.encode(), pages, nodes]
    }

    /// Checks all of a snapshot's three `files` as [`Snapshot::read`] does
    /// the directory's; `dir` names them in messages.
    pub fn from_files(dir: &Path, files: &[Vec<u8>; 3]) -> Result<Snapshot, SnapshotError> {
        let manifest = Manifest::parse(&dir.join(MANIFEST), &files[0])?;
        Snapshot::decode(dir, manifest, &files[1], &files[2])
    }

    fn decode(dir: &Path, manifest: Manifest, pages: &[u8], nodes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let pages = objects(&dir.join(PAGES), pages, FRAME_SIZE, &manifest.pages, "page")?
            .into_iter()
            .map(|bytes| bytes.to_vec().into_boxed_slice().try_into().expect("FRAME_SIZE bytes"))
            .collect();
        let mut decoded = Vec::with_capacity(manifest.nodes.len());
        for (i, bytes) in
            objects(&dir.join(NODES), nodes, NODE_BYTES, &manifest.nodes, "node")?.iter().enumerate()
        {
            let mut slots = [Slot::Literal(Key::NULL); SLOTS];
            for (s, chunk) in bytes.chunks_exact(SLOT_BYTES).enumerate() {
                slots[s] = Slot::decode(chunk.try_into().expect("SLOT_BYTES")).ok_or_else(|| {
                    SnapshotError::Inconsistent {
                        dir: dir.to_path_buf(),
                        detail: format!("node {i} slot {s} is not a slot this format writes"),
                    }
                })?;
            }
            decoded.push(slots);
        }
        let snapshot = Snapshot { manifest, pages, nodes: decoded };
        snapshot.check().map_err(|detail| SnapshotError::Inconsistent { dir: dir.to_path_buf(), detail })?;
        Ok(snapshot)
    }

    /// Checks that every reference is in range and of the right kind and
    /// that the root is a well-formed domain (as `domain::nodes` wants).
    fn check(&self) -> Result<(), String> {
        let m = &self.manifest;
        let root = m.domain.root as usize;
        if root >= self.nodes.len() {
            return Err(format!("the root is node {root} of {}", self.nodes.len()));
        }
        for (i, slots) in self.nodes.iter().enumerate() {
            for (s, slot) in slots.iter().enumerate() {
                let fits = match *slot {
                    Slot::Literal(_) => true,
                    Slot::Local { kind: KeyType::Page, index, .. } => (index as usize) < self.pages.len(),
                    // Every domain but the root is outside the snapshot, so
                    // resume keys can only be to the root.
                    Slot::Local { kind: KeyType::Resume, index, .. } => index as usize == root,
                    Slot::Local { index, .. } => (index as usize) < self.nodes.len(),
                    Slot::Import(index) => (index as usize) < m.imports.len(),
                };
                if !fits {
                    return Err(format!("node {i} slot {s} refers to nothing in the snapshot: {slot:?}"));
                }
            }
        }
        let part = |slot: usize| match self.nodes[root][slot] {
            Slot::Local { kind: KeyType::Node, index, .. } => Some(index),
            _ => None,
        };
        let well_formed = match (part(domain::SLOT_KEYS), part(domain::SLOT_REGISTERS)) {
            (Some(keys), Some(registers)) => {
                keys != registers && keys != m.domain.root && registers != m.domain.root
            }
            _ => false,
        };
        if !well_formed {
            return Err(format!("node {root}, the root, is not a well-formed domain root"));
        }
        Ok(())
    }

    /// Writes the snapshot to `dir`, which must not exist: into a
    /// `.partial` sibling first, synced, then renamed into place.
    pub fn write(&self, dir: &Path) -> Result<(), SnapshotError> {
        if dir.exists() {
            return Err(SnapshotError::Exists(dir.to_path_buf()));
        }
        let mut partial = dir.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        if let Some(parent) = partial.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(SnapshotError::io("create", parent))?;
        }
        std::fs::create_dir(&partial).map_err(SnapshotError::io("create", &partial))?;
        let written = self.write_files(&partial).and_then(|()| {
            std::fs::rename(&partial, dir).map_err(SnapshotError::io("rename into place", dir))
        });
        if written.is_err() {
            // Made just now by this call: nothing else is in it.
            let _ = std::fs::remove_dir_all(&partial);
        }
        written
    }

    fn write_files(&self, dir: &Path) -> Result<(), SnapshotError> {
        let [manifest, pages, nodes] = self.files();
        write_synced(&dir.join(PAGES), &pages)?;
        write_synced(&dir.join(NODES), &nodes)?;
        // Last: a manifest says the rest is there.
        write_synced(&dir.join(MANIFEST), &manifest)
    }
}

/// Reads `file` of `dir`, which should hold `expected` bytes (one more
/// would already be damage).
fn read_part(dir: &Path, file: &str, expected: usize) -> Result<Vec<u8>, SnapshotError> {
    let path = dir.join(file);
    match user_file::read(&path, expected as u64, "this part of the snapshot") {
        Ok(bytes) => Ok(bytes),
        Err(UserFileError::TooBig { size, .. }) => Err(SnapshotError::Damaged {
            detail: format!(
                "it holds {size} bytes, the manifest accounts for {expected}: overwritten or appended to"
            ),
            path,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Splits `bytes`, the contents of `path`, into `records.len()` objects of
/// `size` bytes, each checked against its record's checksum.
fn objects<'a>(
    path: &Path,
    bytes: &'a [u8],
    size: usize,
    records: &[ObjectRecord],
    what: &str,
) -> Result<Vec<&'a [u8]>, SnapshotError> {
    let damaged = |detail: String| SnapshotError::Damaged { path: path.to_path_buf(), detail };
    if bytes.len() != records.len() * size {
        return Err(damaged(format!(
            "it holds {} bytes, the manifest lists {} {what}s of {size} bytes: truncated or overwritten",
            bytes.len(),
            records.len()
        )));
    }
    bytes
        .chunks_exact(size)
        .zip(records)
        .enumerate()
        .map(|(i, (object, record))| {
            let crc = crc32c::crc32c(object);
            if crc != record.crc32c {
                return Err(damaged(format!(
                    "{what} {i} of the snapshot ({} when taken) has CRC-32C {crc:#010x}, the manifest says {:#010x}",
                    kernel::key::Cda(record.was),
                    record.crc32c
                )));
            }
            Ok(object)
        })
        .collect()
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let mut file = std::fs::File::create(path).map_err(SnapshotError::io("create", path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(SnapshotError::io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::key::{Cda, MiscKind};

    #[test]
    fn slots_round_trip_and_foreign_bytes_are_refused() {
        let slots = [
            Slot::Literal(Key::data(42)),
            Slot::Literal(Key::misc_indexed(MiscKind::Bwait, 3)),
            Slot::Local { kind: KeyType::Page, databyte: 0x80, index: 7 },
            Slot::Local { kind: KeyType::Resume, databyte: 2, index: 0 },
            Slot::Import(5),
        ];
        for slot in slots {
            assert_eq!(Slot::decode(&slot.encode()), Some(slot));
        }
        // An object key copied verbatim would point into the source image.
        let mut raw = [0u8; SLOT_BYTES];
        raw[1..].copy_from_slice(&Key::object(KeyType::Node, Cda::node(9), 0, 0).to_bytes());
        assert_eq!(Slot::decode(&raw), None);
        let mut local = Slot::Local { kind: KeyType::Node, databyte: 0, index: 1 }.encode();
        local[12] = 1;
        assert_eq!(Slot::decode(&local), None, "stray bytes in a local key");
        assert_eq!(Slot::decode(&[3; SLOT_BYTES]), None, "unknown tag");
        let data_key_slot = Slot::Local { kind: KeyType::Data, databyte: 0, index: 0 }.encode();
        assert_eq!(Slot::decode(&data_key_slot), None, "data keys are never local");
    }
}
