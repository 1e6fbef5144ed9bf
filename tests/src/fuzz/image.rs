//! Fuzz targets over the image format: single structures (label, header,
//! directory, process list, journal descriptor) and whole images (open,
//! restart).

use std::sync::Arc;

use disk_image::directory::{self, DirectoryEntry};
use disk_image::frame::{self, FRAME_SIZE, Frame};
use disk_image::journal::JournalDescriptor;
use disk_image::layout::{Layout, VolumeLabel};
use disk_image::storage::{FaultyStorage, Storage};
use disk_image::{CheckpointHeader, FRAME_BYTES};
use kernel::builder::Builder;
use kernel::clock::Clock;
use kernel::kernel::{Background, Config, Kernel};
use kernel::key::Key;

use super::Mutator;
use crate::{boot, boot_with, formatted_image};

/// Bytes of the base images: the smallest `format` makes.
const IMAGE: u64 = disk_image::layout::MIN_IMAGE_BYTES;

/// Offsets of the label's integer fields.
const LABEL_FIELDS: [usize; 12] = [8, 12, 16, 24, 32, 40, 44, 48, 56, 64, 72, 76];
/// Offsets of the header's integer fields (the fixed part and the kept
/// previous checkpoint; history entries are figures only).
const HEADER_FIELDS: [usize; 23] =
    [8, 12, 16, 24, 32, 40, 48, 52, 56, 60, 64, 68, 72, 76, 80, 88, 96, 2136, 2144, 2152, 2160, 2168, 2172];
/// Offsets of a journal descriptor's fields.
const JOURNAL_FIELDS: [usize; 6] = [8, 16, 24, 32, 36, 40];

/// One valid image and what it is made of.
pub struct Base {
    bytes: Vec<u8>,
    layout: Layout,
    image_id: u64,
    header: CheckpointHeader,
}

impl Base {
    fn new(bytes: Vec<u8>) -> Base {
        let opened =
            disk_image::open(&FaultyStorage::new(&bytes, None), bytes.len() as u64).expect("a base opens");
        Base { layout: opened.layout, image_id: opened.label.image_id, header: opened.header, bytes }
    }

    fn frame(&self, n: u64) -> Box<Frame> {
        let mut f = Box::new([0u8; FRAME_SIZE]);
        f.copy_from_slice(&self.bytes[n as usize * FRAME_SIZE..][..FRAME_SIZE]);
        f
    }
}

/// The images mutations start from.
pub struct Bases {
    /// Just formatted.
    formatted: Base,
    /// Pages, nodes and a running domain, checkpointed and migrated.
    migrated: Base,
    /// As `migrated`, then more writes, journal-page writes, and a
    /// checkpoint whose migration is held: committed, with a directory,
    /// journal records and a kept previous checkpoint.
    committed: Base,
}

impl Bases {
    /// Builds the three images (deterministic).
    pub fn build() -> Bases {
        let formatted = formatted_image(IMAGE);
        let storage = Arc::new(FaultyStorage::new(&formatted, None));
        let (_, mut k) = boot(storage.clone());
        populate(&mut k, 0);
        k.checkpoint_now().expect("checkpoint");
        k.finish_background().expect("migration");
        drop(k);
        let migrated = storage.durable_image();
        let held = Config { keep_previous_ns: u64::MAX / 2, ..Config::default() };
        let storage = Arc::new(FaultyStorage::new(&migrated, None));
        let (_, mut k) = boot_with(storage.clone(), held);
        populate(&mut k, 1);
        for i in 0..3u8 {
            k.write_page(kernel::journal::JOURNAL_PAGE, 100 + usize::from(i), &[i + 1]).expect("journal");
        }
        k.checkpoint_now().expect("checkpoint");
        drop(k);
        Bases {
            formatted: Base::new(formatted),
            migrated: Base::new(migrated),
            committed: Base::new(storage.durable_image()),
        }
    }

    fn pick(&self, m: &mut Mutator) -> &Base {
        [&self.formatted, &self.migrated, &self.committed, &self.committed][m.below(4)]
    }
}

/// Pages with contents, nodes with keys, and a domain left running.
fn populate(k: &mut Kernel, round: u8) {
    let mut b = Builder::new(k);
    let pages: Vec<_> = (0..12).map(|_| b.page().expect("page")).collect();
    let nodes: Vec<_> = (0..6).map(|_| b.node().expect("node")).collect();
    let space = b.address_space().expect("space");
    let code = b.map_fresh(space, 0x1_0000, 4096, true).expect("code")[0];
    let spec = kernel::builder::DomainSpec {
        memory: space,
        pc: 0x1_0000,
        name: "spin".into(),
        ..Default::default()
    };
    b.domain(&spec).expect("domain");
    // `j .` : the domain stays running, so the process list names it.
    k.write_page(code, 0, &0x0000_006Fu32.to_le_bytes()).expect("code");
    for (i, (&p, &n)) in pages.iter().zip(nodes.iter().cycle()).enumerate() {
        k.write_page(p, i * 7, &[round, i as u8 + 1, 0xA5]).expect("write");
        kernel::object::node::set_slot(k.store_mut(), n, i % 16, Key::data(i as u64)).expect("slot");
    }
}

/// Fixes the plain CRC of a frame that carries one (label, header, journal
/// descriptor) at 4092.
fn fix_crc(f: &mut [u8]) {
    let sum = frame::checksum(&f[..FRAME_SIZE - 4]);
    frame::write_u32(f, FRAME_SIZE - 4, sum);
}

/// A checkpoint header's raw fields the fix-ups recompute checksums for.
struct RawHeader {
    directory: (u32, u32, u32, u32),
    processes: (u32, u32),
}

fn raw_header(f: &[u8]) -> RawHeader {
    let u = |at| frame::read_u32(f, at);
    RawHeader { directory: (u(48), u(52), u(56), u(60)), processes: (u(68), u(72)) }
}

/// Makes every checksum of `image` agree with its (mutated) contents, as
/// far as `layout` (the base's) places them: directory entries, directory
/// and process-list checksums and CRCs of the headers, pot seals, journal
/// descriptors, the label's CRC.
fn fix_image(image: &mut [u8], layout: &Layout) {
    let frames = (image.len() / FRAME_SIZE) as u64;
    let span = |n: u64| n as usize * FRAME_SIZE..(n as usize + 1) * FRAME_SIZE;
    for region in [layout.checksum_pots, layout.allocation_pots, layout.node_pots] {
        for n in region.first..region.end().min(frames) {
            let f: &mut Frame = (&mut image[span(n)]).try_into().expect("a frame");
            if f.iter().any(|&b| b != 0) {
                frame::write_frame_seal(f);
            }
        }
    }
    for slot in 0..layout.geometry.journal_slots {
        let s = layout.journal_slot(slot);
        for copy in s.descriptors.first..s.descriptors.end().min(frames) {
            if &image[span(copy)][..8] != disk_image::journal::JOURNAL_MAGIC {
                continue;
            }
            let index = frame::read_u32(&image[span(copy)], 40) as usize;
            if let Some(&data) = s.data.get(index).filter(|&&d| d < frames) {
                let sum = frame::checksum(&image[span(data)]);
                frame::write_u32(&mut image[span(copy)], 32, sum);
            }
            fix_crc(&mut image[span(copy)]);
        }
    }
    for header in layout.headers.first..layout.headers.end().min(frames) {
        if &image[span(header)][..8] != disk_image::header::HEADER_MAGIC {
            continue;
        }
        let raw = raw_header(&image[span(header)]);
        if let Some(sum) = directory_checksum(image, layout, &raw) {
            frame::write_u32(&mut image[span(header)], 64, sum);
        }
        if let Some(sum) = process_list_checksum(image, layout, &raw) {
            frame::write_u32(&mut image[span(header)], 76, sum);
        }
        fix_crc(&mut image[span(header)]);
    }
    fix_crc(&mut image[span(0)]);
}

/// Recomputes the directory's entry checksums and its CRC, if the raw
/// fields place it inside the image.
fn directory_checksum(image: &mut [u8], layout: &Layout, raw: &RawHeader) -> Option<u32> {
    let (area, first, count, entries) = raw.directory;
    let area = *layout.areas.get(area as usize)?;
    let start = area.first + u64::from(first);
    let end = start.checked_add(u64::from(count))?;
    if end > area.end() || end as usize * FRAME_SIZE > image.len() {
        return None;
    }
    let frame_at = |n: u64| n as usize * FRAME_SIZE;
    let mut frames: Vec<Box<Frame>> = (start..end)
        .map(|n| Box::new(image[frame_at(n)..frame_at(n + 1)].try_into().expect("a frame")))
        .collect();
    let listed = directory::decode_directory(&frames, entries as usize)?;
    let fixed: Vec<DirectoryEntry> = listed
        .into_iter()
        .map(|e| {
            let at = area.first + u64::from(e.area_frame);
            let checksum =
                match (at < area.end() && frame_at(at + 1) <= image.len(), layout.home().contains(e.home)) {
                    (true, true) => frame::checksum_at(
                        e.home,
                        &image[frame_at(at)..frame_at(at + 1)],
                        layout.checksummed_len(e.home),
                    ),
                    _ => e.checksum,
                };
            DirectoryEntry { checksum, ..e }
        })
        .collect();
    for (i, encoded) in directory::encode_directory(&fixed).into_iter().enumerate() {
        // The encoding zero-pads its last frame: keep what follows the entries.
        let keep = (fixed.len() - i * directory::ENTRIES_PER_FRAME).min(directory::ENTRIES_PER_FRAME) * 16;
        frames[i][..keep].copy_from_slice(&encoded[..keep]);
        let n = start + i as u64;
        image[frame_at(n)..frame_at(n + 1)].copy_from_slice(&frames[i][..]);
    }
    Some(directory::frames_checksum(&frames))
}

/// The process-list checksum of the entries the raw fields name, if inside
/// the slot.
fn process_list_checksum(image: &[u8], layout: &Layout, raw: &RawHeader) -> Option<u32> {
    let (slot, count) = raw.processes;
    if slot > 1 || u64::from(count) > layout.geometry.process_capacity() {
        return None;
    }
    let first = layout.process_list_slot(slot).first as usize * FRAME_SIZE;
    let bytes = image.get(first..first + count as usize * 8)?;
    let roots: Vec<u64> = bytes.chunks_exact(8).map(|b| frame::read_u64(b, 0)).collect();
    Some(directory::process_list_checksum(&roots))
}

/// A mutated copy of one of the bases: one to four frames mutated (drawn
/// from every region), checksums fixed up in most cases, and now and then
/// truncated or extended.
fn mutated_image(m: &mut Mutator, base: &Base) -> Vec<u8> {
    let l = &base.layout;
    let mut image = base.bytes.clone();
    for _ in 0..1 + m.below(4) {
        let (region, fields): (disk_image::Region, &[usize]) = match m.below(10) {
            0 => (l.label, &LABEL_FIELDS),
            1 | 2 => (l.headers, &HEADER_FIELDS),
            3 => (l.process_lists, &[0, 8, 16]),
            4 => (l.journal, &JOURNAL_FIELDS),
            5 => (l.node_pots, &[0, 4, 8, 16, 24, 272, 288]),
            6 => (
                disk_image::Region { first: l.checksum_pots.first, count: 2 * l.checksum_pots.count },
                &[0, 4, 8],
            ),
            7 => (l.areas[base.header.directory.area as usize & 1], &[0, 8, 12, 16, 24, 28]),
            8 => (l.pages, &[]),
            _ => (disk_image::Region { first: 0, count: l.geometry.total_frames }, &[]),
        };
        let n = region.first + m.below(region.count.max(1) as usize) as u64;
        let f = &mut image[n as usize * FRAME_SIZE..][..FRAME_SIZE];
        m.mutate(f, fields);
    }
    if m.chance(0.7) {
        fix_image(&mut image, l);
    }
    if m.chance(0.08) {
        m.resize(&mut image, FRAME_SIZE, FRAME_SIZE);
    }
    image
}

/// The file length to tell the opener: the image's, mostly.
fn file_bytes(m: &mut Mutator, image: &[u8]) -> u64 {
    match m.below(10) {
        0 => m.value(),
        1 => (image.len() as u64).saturating_sub(FRAME_BYTES * m.below(4) as u64),
        _ => image.len() as u64,
    }
}

/// `VolumeLabel::decode` of a mutated label, and the layout it gives.
pub fn label(m: &mut Mutator, bases: &Bases) -> bool {
    let base = bases.pick(m);
    let mut f = base.frame(0);
    m.mutate(&mut f[..], &LABEL_FIELDS);
    if m.chance(0.75) {
        fix_crc(&mut f[..]);
    }
    let Ok(label) = VolumeLabel::decode(&f, file_bytes(m, &base.bytes)) else {
        let _ = disk_image::Geometry::for_size(m.value()).map(|g| g.layout());
        return false;
    };
    let l = label.geometry.layout().expect("a decoded label has a layout");
    let g = label.geometry;
    let frame = m.value() % g.total_frames;
    let _ = (l.home_kind(frame), l.checksummed_len(frame), l.home(), g.min_area_frames());
    let _ = l.journal_slot((m.value() % u64::from(g.journal_slots)) as u32);
    let _ = l.process_list_slot(m.below(2) as u32);
    let page = m.value() % g.page_count;
    let _ = (l.page_frame(page), l.allocation_place(page), l.checksum_place(page));
    let _ = l.node_place(m.value() % g.node_count());
    assert_eq!(VolumeLabel::decode(&label.encode(), g.total_frames * FRAME_BYTES).ok(), Some(label));
    true
}

/// `CheckpointHeader::decode` of a mutated header; a header that decodes
/// must encode to itself, and its rollback, if it has one, must decode.
pub fn header(m: &mut Mutator, bases: &Bases) -> bool {
    let base = bases.pick(m);
    let mut f = base.frame(1 + m.below(2) as u64);
    m.mutate(&mut f[..], &HEADER_FIELDS);
    if m.chance(0.75) {
        fix_crc(&mut f[..]);
    }
    let Ok(h) = CheckpointHeader::decode(&f, base.image_id, &base.layout) else { return false };
    assert_eq!(CheckpointHeader::decode(&h.encode(), base.image_id, &base.layout).as_ref(), Ok(&h));
    if let Some(back) = h.rollback() {
        assert_eq!(
            CheckpointHeader::decode(&back.encode(), base.image_id, &base.layout).as_ref(),
            Ok(&back),
            "the header a rollback writes validates"
        );
    }
    true
}

/// Directory, process-list and journal-descriptor decoding of mutated
/// frames with counts that may exceed them.
pub fn directory(m: &mut Mutator, bases: &Bases) -> bool {
    let base = &bases.committed;
    let d = base.header.directory;
    let area = base.layout.areas[d.area as usize];
    let count = 1 + m.below(3);
    let mut frames: Vec<Box<Frame>> =
        (0..count as u64).map(|i| base.frame(area.first + u64::from(d.first) + i)).collect();
    for f in &mut frames {
        m.mutate(&mut f[..], &[0, 8, 12, 16, 24, 28]);
    }
    let entries = if m.chance(0.5) { u64::from(d.entries) } else { m.value() };
    let listed = directory::decode_directory(&frames, entries as usize);
    let _ = directory::frames_checksum(&frames);
    let roots = directory::decode_process_list(&frames, (m.value() % 4096) as usize);
    let slot = base.layout.journal_slot(m.below(base.layout.geometry.journal_slots as usize) as u32);
    let mut descriptor = base.frame(slot.descriptors.first);
    m.mutate(&mut descriptor[..], &JOURNAL_FIELDS);
    if m.chance(0.75) {
        fix_crc(&mut descriptor[..]);
    }
    let decoded = JournalDescriptor::decode(&descriptor);
    if let Some(j) = decoded {
        assert_eq!(JournalDescriptor::decode(&j.encode()), Some(j));
    }
    listed.is_some() || roots.is_some() || decoded.is_some()
}

/// `disk_image::open` of a mutated image, then everything `OpenedImage`
/// loads, the fallback's too, and now and then a rollback.
pub fn open(m: &mut Mutator, bases: &Bases) -> bool {
    let base = bases.pick(m);
    let image = mutated_image(m, base);
    let storage = FaultyStorage::new(&image, None);
    let Ok(opened) = disk_image::open(&storage, file_bytes(m, &image)) else { return false };
    let verify = m.chance(0.5);
    let loads = |o: &disk_image::OpenedImage| {
        let directory = o.load_directory(&storage, verify);
        let processes = o.load_process_list(&storage);
        let journal = o.journal_records(&storage);
        directory.is_ok() && processes.is_ok() && journal.is_ok()
    };
    let accepted = loads(&opened);
    if let Some(older) = opened.fallback() {
        loads(&older);
    }
    if m.chance(0.2) {
        let _ = disk_image::roll_back(&storage, image.len() as u64);
    }
    accepted
}

/// `kernel::restart::load` of a mutated image; one in eight that load is
/// booted and run for a while.
pub fn restart(m: &mut Mutator, bases: &Bases) -> bool {
    let base = bases.pick(m);
    let image = mutated_image(m, base);
    let storage = Arc::new(FaultyStorage::new(&image, None));
    let dynamic: Arc<dyn Storage> = storage.clone();
    let Ok(loaded) = kernel::restart::load(dynamic, file_bytes(m, &image)) else { return false };
    if m.chance(0.125) {
        let clock = Clock::simulated_after_restart(loaded.opened.header.checkpoint_time_ns, 1_000);
        if let Ok(mut k) = Kernel::boot(loaded, clock, Config::default(), Background::Inline) {
            let _ = k.run(20_000);
            let _ = k.checkpoint_now();
        }
    }
    true
}
