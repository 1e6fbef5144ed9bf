//! Crafted and damaged images: every label and header field out of range
//! is refused with an error naming it, never a panic; damage restart or
//! boot would trip over is found by `restart::load`, before anything is
//! written.

use std::sync::Arc;

use disk_image::frame::{self, FRAME_SIZE};
use disk_image::journal::JournalDescriptor;
use disk_image::storage::{FaultyStorage, Storage};
use disk_image::{HeaderProblem, ImageError};
use gnosis_tests::{boot, boot_with, formatted_image, kernel_with_operator};
use kernel::builder::Builder;
use kernel::kernel::Config;
use kernel::key::{Cda, Key};
use kernel::operator::Operator;

const IMAGE: u64 = 4 << 20;

/// Overwrites bytes of frame `frame` of `image`, then its plain CRC (at
/// 4092) so that the change passes the checksum and reaches validation.
fn craft(image: &mut [u8], frame: usize, at: usize, bytes: &[u8]) {
    let f = &mut image[frame * FRAME_SIZE..][..FRAME_SIZE];
    f[at..at + bytes.len()].copy_from_slice(bytes);
    let sum = frame::checksum(&f[..FRAME_SIZE - 4]);
    frame::write_u32(f, FRAME_SIZE - 4, sum);
}

fn open(image: &[u8]) -> Result<disk_image::OpenedImage, ImageError> {
    disk_image::open(&FaultyStorage::new(image, None), image.len() as u64)
}

/// Loads `image`; also asserts the load wrote nothing.
fn load(image: &[u8]) -> Result<kernel::restart::LoadedImage, ImageError> {
    let storage = Arc::new(FaultyStorage::new(image, None));
    let dynamic: Arc<dyn Storage> = storage.clone();
    let loaded = kernel::restart::load(dynamic, image.len() as u64);
    assert_eq!(storage.event_count(), 0, "loading writes nothing");
    assert!(storage.volatile_image() == image, "loading changes nothing");
    loaded
}

/// A world with some pages and nodes, checkpointed and migrated home.
fn world() -> Vec<u8> {
    let storage = Arc::new(FaultyStorage::new(&formatted_image(IMAGE), None));
    let (_, mut k) = boot(storage.clone());
    let mut b = Builder::new(&mut k);
    let pages: Vec<Cda> = (0..40).map(|_| b.page().unwrap()).collect();
    let nodes: Vec<Cda> = (0..40).map(|_| b.node().unwrap()).collect();
    for (i, (&p, &n)) in pages.iter().zip(&nodes).enumerate() {
        k.write_page(p, 0, &[i as u8 + 1; 64]).unwrap();
        kernel::object::node::set_slot(k.store_mut(), n, 3, Key::data(i as u64)).unwrap();
    }
    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    drop(k);
    storage.durable_image()
}

/// The label fields the issue names, at boundary values: each refused,
/// with its field named, by open, load and fsck alike.
#[test]
fn crafted_label_fields_are_refused_by_name() {
    let u64s = |v: u64| v.to_le_bytes().to_vec();
    let u32s = |v: u32| v.to_le_bytes().to_vec();
    let cases: [(usize, Vec<u8>, &str); 9] = [
        (56, u64s(u64::MAX - 2), "node pot count"),
        (56, u64s(0), "node pot count"),
        (48, u64s(u64::MAX - 99), "page count"),
        (48, u64s(1 << 62), "page count"),
        (64, u64s((1 << 63) + 512), "frames per checkpoint area"),
        (64, u64s(3), "frames per checkpoint area"),
        (72, u32s(0), "journal slots"),
        (76, u32s(0), "frames per process-list slot"),
        (16, u64s(u64::MAX), "total frames"),
    ];
    for (at, bytes, field) in cases {
        let mut image = formatted_image(IMAGE);
        craft(&mut image, 0, at, &bytes);
        for result in [open(&image).map(|_| ()), load(&image).map(|_| ())] {
            match result {
                Err(ImageError::BadLabel { field: f, .. }) => assert_eq!(f, field, "offset {at}"),
                other => panic!("offset {at}: expected a bad {field}, got {other:?}"),
            }
        }
        let dynamic: Arc<dyn Storage> = Arc::new(FaultyStorage::new(&image, None));
        assert!(kernel::check::check_image(dynamic, IMAGE).is_err(), "fsck refuses it too");
    }
}

/// A checkpoint time of u64::MAX (which made the checkpoint key answer
/// "already committed" forever, so the checkpoint driver spun) is refused;
/// with one slot still sane, that one is used.
#[test]
fn a_header_time_beyond_the_bound_is_refused() {
    let mut image = world();
    craft(&mut image, 1, 32, &u64::MAX.to_le_bytes());
    let opened = open(&image).unwrap();
    assert!(matches!(&opened.slots[0], Err(HeaderProblem::Field { field: "checkpoint time", .. })));
    assert!(opened.slots[1].is_ok());
    craft(&mut image, 2, 32, &u64::MAX.to_le_bytes());
    let e = load(&image).err().expect("no valid header");
    assert!(matches!(e, ImageError::NoValidHeader { .. }), "{e}");
    assert!(e.to_string().contains("checkpoint time"), "{e}");
}

/// Header fields the kernel would index or add with: generation,
/// directory placement, process-list slot. Each is refused by name.
#[test]
fn crafted_header_fields_are_refused_by_name() {
    let base = world();
    let cases: [(usize, Vec<u8>, &str); 5] = [
        (24, u64::MAX.to_le_bytes().to_vec(), "generation"),
        (24, 0u64.to_le_bytes().to_vec(), "generation"),
        (12, 7u32.to_le_bytes().to_vec(), "state"),
        (80, 33u32.to_le_bytes().to_vec(), "history entries"),
        (68, 2u32.to_le_bytes().to_vec(), "process list"),
    ];
    for (at, bytes, field) in cases {
        let mut image = base.clone();
        craft(&mut image, 1, at, &bytes);
        match &open(&image).unwrap().slots[0] {
            Err(HeaderProblem::Field { field: f, .. }) => assert_eq!(*f, field, "offset {at}"),
            other => panic!("offset {at}: expected a bad {field}, got {other:?}"),
        }
    }
}

/// A file cut below three frames, whose frame 0 is an intact label, is
/// truncated (with both sizes), not "not a Gnosis image".
#[test]
fn an_image_cut_below_three_frames_is_truncated() {
    let image = formatted_image(IMAGE);
    for frames in [1, 2] {
        let cut = &image[..frames * FRAME_SIZE];
        match open(cut) {
            Err(ImageError::Truncated { bytes, expected }) => {
                assert_eq!((bytes, expected), ((frames * FRAME_SIZE) as u64, IMAGE));
            }
            other => panic!("{frames} frames: {other:?}"),
        }
    }
    assert!(matches!(open(&vec![0u8; 2 * FRAME_SIZE]), Err(ImageError::NotAnImage)));
}

/// A bit flipped in any pot holding data is found by the restart load,
/// which writes nothing; the message names the pot.
#[test]
fn damaged_pots_are_found_before_anything_is_written() {
    let base = world();
    let layout = open(&base).unwrap().layout;
    let mut found = 0;
    for region in [layout.checksum_pots, layout.allocation_pots, layout.node_pots] {
        for home in region.first..region.end() {
            let span = home as usize * FRAME_SIZE..(home as usize + 1) * FRAME_SIZE;
            if base[span.clone()].iter().all(|&b| b == 0) {
                continue;
            }
            let mut image = base.clone();
            image[span.start + (home as usize * 37) % FRAME_SIZE] ^= 0x10;
            let e = load(&image).err().unwrap_or_else(|| panic!("a flip in pot frame {home} goes unseen"));
            assert!(matches!(e, ImageError::Damaged { .. }), "{e}");
            assert!(e.to_string().contains(&format!("(home frame {home}) fails its seal")), "{e}");
            found += 1;
        }
    }
    assert!(found >= 3, "the world has data in every kind of pot ({found} pots)");
}

/// Home damage under a committed, unmigrated checkpoint's version of the
/// same pot is not what restart uses: the area's version is, and it is
/// intact, so the image restarts.
#[test]
fn home_damage_hidden_by_the_directory_does_not_stop_a_restart() {
    let storage = Arc::new(FaultyStorage::new(&world(), None));
    let config = Config { keep_previous_ns: u64::MAX / 2, ..Config::default() };
    let (_, mut k) = boot_with(storage.clone(), config);
    let n = Builder::new(&mut k).node().unwrap();
    kernel::object::node::set_slot(k.store_mut(), n, 1, Key::data(7)).unwrap();
    k.checkpoint_now().unwrap();
    drop(k);
    let mut image = storage.durable_image();
    let opened = open(&image).unwrap();
    assert_eq!(opened.header.state, disk_image::CheckpointState::Committed, "migration is held");
    let pot = opened.layout.node_place(n.number()).0;
    image[pot as usize * FRAME_SIZE + 5] ^= 1;
    let loaded = load(&image).expect("the directory's version of the pot is used");
    assert!(loaded.store.frozen().contains_key(&pot));
}

/// A journal record whose page's checkpointed contents are damaged: boot
/// would restore the record over a page it cannot verify; found first.
#[test]
fn a_damaged_page_a_journal_record_restores_is_found_before_boot() {
    let mut image = world();
    let opened = open(&image).unwrap();
    let l = opened.layout;
    let page = 5;
    let data = [0xAB; FRAME_SIZE];
    let slot = l.journal_slot(l.geometry.journal_slots - 1);
    let descriptor = JournalDescriptor {
        page,
        epoch: opened.header.generation + 1,
        sequence: 1000,
        data_checksum: frame::checksum(&data),
        allocation_id: 0,
        data_index: 0,
    };
    image[slot.data[0] as usize * FRAME_SIZE..][..FRAME_SIZE].copy_from_slice(&data);
    for copy in 0..2 {
        let at = (slot.descriptors.first + copy) as usize * FRAME_SIZE;
        image[at..at + FRAME_SIZE].copy_from_slice(&descriptor.encode()[..]);
    }
    load(&image).expect("the record alone is fine");
    image[l.page_frame(page) as usize * FRAME_SIZE + 9] ^= 4;
    let e = load(&image).err().expect("damage found");
    assert!(e.to_string().contains("page 5, which a journal record restores"), "{e}");
}

/// A journal descriptor with a valid CRC but a data index, page or
/// sequence out of range is damage, not an index out of bounds.
#[test]
fn crafted_journal_descriptors_are_damage() {
    let base = world();
    let l = open(&base).unwrap().layout;
    let slot = l.journal_slot(3);
    for (data_index, page, sequence) in [(2, 4, 9), (u32::MAX, 4, 9), (0, u64::MAX, 9), (0, 4, u64::MAX)] {
        let mut image = base.clone();
        let d =
            JournalDescriptor { page, epoch: 1, sequence, data_checksum: 0, allocation_id: 0, data_index };
        let at = slot.descriptors.first as usize * FRAME_SIZE;
        image[at..at + FRAME_SIZE].copy_from_slice(&d.encode()[..]);
        let e = load(&image).err().unwrap_or_else(|| panic!("{d:?} accepted"));
        assert!(e.to_string().contains("journal slot 3"), "{e}");
    }
}

/// A process list whose checksum matches but which names a page, or a
/// node past the end, is damage found at load.
#[test]
fn a_process_list_naming_no_node_is_damage() {
    let base = world();
    let opened = open(&base).unwrap();
    for root in [Cda::page(3).0, Cda::node(opened.layout.geometry.node_count()).0, u64::MAX] {
        let mut image = base.clone();
        let mut header = opened.header.clone();
        let list = [root];
        header.processes.count = 1;
        header.processes.checksum = disk_image::directory::process_list_checksum(&list);
        let frame = opened.layout.process_list_slot(header.processes.slot).first as usize;
        image[frame * FRAME_SIZE..][..8].copy_from_slice(&root.to_le_bytes());
        for slot in 1..3 {
            image[slot * FRAME_SIZE..][..FRAME_SIZE].copy_from_slice(&header.encode()[..]);
        }
        let e = load(&image).err().unwrap_or_else(|| panic!("root {root:#x} accepted"));
        assert!(e.to_string().contains("process-list entry 0"), "{e}");
    }
}

/// An operator whose address space no longer maps its buffers is an
/// error from `Operator::from_root`, not a panic.
#[test]
fn a_broken_operator_is_an_error() {
    let (_, mut k, op, _) = kernel_with_operator(IMAGE);
    assert!(Operator::from_root(&k, op.root).is_ok());
    kernel::object::node::set_slot(k.store_mut(), op.root, kernel::domain::SLOT_MEMORY, Key::NULL).unwrap();
    let e = Operator::from_root(&k, op.root).expect_err("broken operator");
    assert!(e.to_string().contains("does not map its buffer"), "{e}");
    assert!(Operator::find(&k).is_err());
}
