//! Per-domain snapshots in process (design.md §21): the boundary (what is
//! the domain's is copied, what it shares with other domains or the
//! kernel is an import), the directory round trip, the checks a resume
//! plan makes, and a resumed copy made of fresh objects with the same
//! contents whose keys are mapped as the plan says and whose BWAIT wait
//! returns early.

use std::path::Path;

use disk_image::storage::Storage;
use domains::world::big_bang::{Settings, operator_keys};
use domains::world::install::{self, Grant};
use gnosis_tests::{Spawn, run_world, spawn, world};
use kernel::domain::{self, RunState};
use kernel::key::{Cda, Key, KeyType};
use kernel::object::{self, node, page};
use kernel::operator::Operator;
use kernel::wait::KERNEL_NODE;
use tools::snapshot::format::{ImportKind, Resumption, Slot};
use tools::snapshot::{Snapshot, SnapshotError, capture, restore};

/// Waits on BWAIT 3 until the end of time, then records the return code.
const SOLO: &str = r#"
    .include "gnosis.inc"
_start:
    li   t0, -1
    sw   t0, wake, t1
    sw   t0, wake + 4, t1
    KCALL_STR 5, BWAIT_SET, wake, 8, wake, 0
    KCALL 5, BWAIT_WAIT
    sw   a0, woken, t1
    ebreak
    .data
    .align 2
wake:  .word 0, 0
woken: .word 0xff
"#;

fn key_register(k: &kernel::kernel::Kernel, root: Cda, slot: usize) -> Key {
    let keys = node::slot(k.store(), root, domain::SLOT_KEYS).cda();
    object::validate(k.store(), node::slot(k.store(), keys, slot))
}

#[test]
fn a_snapshot_copies_what_is_the_domains_and_imports_what_it_shares() {
    let (storage, mut k) = world(32 << 20, Settings::default());
    run_world(&mut k, 1_000_000);
    let program = gnosis_tests::assemble(SOLO);
    let woken_at = program.symbols["woken"];
    let elf = program.to_elf();
    let grants = ["console", "bank", "timer", "start:kv", "bwait:3"].map(|g| g.parse::<Grant>().unwrap());
    let solo = install::install(&mut k, &elf, "solo", &grants).unwrap();

    // A page it shares with another domain, a key to the kernel node, and a
    // node and page only it holds.
    let mut b = kernel::builder::Builder::new(&mut k);
    let shared = b.page().unwrap();
    let shared_key = b.key(KeyType::Page, shared, 0);
    let kernel_node_key = b.key(KeyType::Node, KERNEL_NODE, 0);
    let (private_node, private_page) = (b.node().unwrap(), b.page().unwrap());
    let private_page_key = b.key(KeyType::Page, private_page, 0x80);
    b.set(private_node, 0, private_page_key).unwrap();
    let private_node_key = b.key(KeyType::Node, private_node, 0);
    for (slot, key) in [(6, kernel_node_key), (7, shared_key), (8, private_node_key)] {
        b.set_key_register(solo, slot, key).unwrap();
    }
    b.kernel().write_page(private_page, 100, b"mine alone").unwrap();
    let meter = Operator::find(&k).unwrap().unwrap().key(&mut k, operator_keys::USER_METER).unwrap();
    let peer =
        Spawn { keys: vec![(1, shared_key)], available: true, name: "peer".into(), ..Default::default() };
    spawn(&mut k, meter, &gnosis_tests::asm("_start: ebreak"), peer);
    run_world(&mut k, 1_000_000);
    assert_eq!(k.domain_state(solo).unwrap().unwrap().state, RunState::Waiting, "solo waits on BWAIT");

    k.write_back_caches().unwrap();
    let snap = capture::capture(&k, solo, Path::new("mem")).unwrap();
    let m = &snap.manifest;
    assert!(matches!(m.domain.resumption, Resumption::Reply { code: 0, .. }), "{:?}", m.domain.resumption);
    let was_nodes: Vec<u64> = m.nodes.iter().map(|r| r.was).collect();
    let was_pages: Vec<u64> = m.pages.iter().map(|r| r.was).collect();
    assert_eq!(was_nodes[0], solo.0, "the root is node 0");
    assert!(was_nodes.contains(&private_node.0) && was_pages.contains(&private_page.0));
    assert!(!was_pages.contains(&shared.0), "the shared page stays behind");
    // The domain's console channel is its own (install hands out one per program).
    let console = kernel::inspect::domain_named(k.store(), "console").unwrap();
    let console_key = k.key_registers(solo).unwrap().into_iter().find(|key| key.cda() == console).unwrap();
    let console_databyte = console_key.databyte();
    assert!(console_databyte >= 16, "a channel of its own: {console_databyte}");
    let kinds: Vec<&ImportKind> = m.imports.iter().map(|i| &i.kind).collect();
    for kind in [
        ImportKind::Gate { domain: "console".into(), databyte: console_databyte },
        ImportKind::Gate { domain: "kv".into(), databyte: 0 },
        ImportKind::FrontEnd { domain: "bank".into() },
        ImportKind::Meter,
    ] {
        assert!(kinds.contains(&&kind), "{kind:?} not among {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| ***k == ImportKind::Other).count(), 2, "{kinds:?}");
    let keys_node = match snap.nodes[0][domain::SLOT_KEYS] {
        Slot::Local { kind: KeyType::Node, index, .. } => index as usize,
        other => panic!("the root's keys node is {other:?}"),
    };
    let registers = &snap.nodes[keys_node];
    assert!(
        matches!(registers[3], Slot::Literal(key) if key == Key::misc(kernel::key::MiscKind::SystemTimer))
    );
    assert!(matches!(registers[6], Slot::Import(_)) && matches!(registers[7], Slot::Import(_)));
    assert!(matches!(registers[8], Slot::Local { kind: KeyType::Node, .. }));

    // Through a directory and back, checked.
    let dir = tempfile::tempdir().unwrap();
    snap.write(&dir.path().join("solo")).unwrap();
    let read = Snapshot::read(&dir.path().join("solo")).unwrap();
    let unsealed = tools::snapshot::Manifest { checksum: 0, ..read.manifest.clone() };
    assert!(unsealed == snap.manifest && read.nodes == snap.nodes && read.pages == snap.pages, "round trip");
    assert!(matches!(snap.write(&dir.path().join("solo")), Err(SnapshotError::Exists(_))));

    // Plans are checked against the world before anything is bought.
    let plan_err =
        |name: Option<&str>, maps: &[(u32, Grant)]| restore::plan(k.store(), &read, name, maps).unwrap_err();
    assert!(plan_err(None, &[]).to_string().contains("already exists"));
    let count = read.manifest.imports.len() as u32;
    assert!(matches!(plan_err(Some("solo2"), &[(count, Grant::Timer)]), SnapshotError::NoImport { .. }));
    let twice = [(0, Grant::Timer), (0, Grant::Console)];
    assert!(matches!(plan_err(Some("solo2"), &twice), SnapshotError::MappedTwice(0)));
    let nobody = [(0, Grant::Start("nobody".into()))];
    assert!(plan_err(Some("solo2"), &nobody).to_string().contains("no domain called nobody"));

    let plan = restore::plan(k.store(), &read, Some("solo2"), &[]).unwrap();
    let copy = restore::resume(&mut k, &read, &plan).unwrap();
    assert_ne!(copy, solo);
    for slot in [1, 3, 4, 5] {
        assert_eq!(key_register(&k, copy, slot), key_register(&k, solo, slot), "key register {slot}");
    }
    assert!(key_register(&k, copy, 6).is_null() && key_register(&k, copy, 7).is_null(), "unmapped imports");
    let bank = key_register(&k, copy, 2);
    assert_eq!(bank.kind(), KeyType::Segment);
    assert_ne!(bank.cda(), key_register(&k, solo, 2).cda(), "its own new bank");
    let node_copy = key_register(&k, copy, 8);
    assert_eq!(node_copy.kind(), KeyType::Node);
    assert_ne!(node_copy.cda(), private_node);
    let page_copy = object::validate(k.store(), node::slot(k.store(), node_copy.cda(), 0));
    assert_eq!((page_copy.kind(), page_copy.databyte()), (KeyType::Page, 0x80));
    assert_ne!(page_copy.cda(), private_page);
    let mut bytes = [0u8; 10];
    page::read(k.store(), page_copy.cda(), 100, &mut bytes);
    assert_eq!(&bytes, b"mine alone");
    assert_eq!(
        node::slot(k.store(), copy, domain::SLOT_METER),
        node::slot(k.store(), solo, domain::SLOT_METER)
    );

    // The copy is as much its own as the original: nothing the resume
    // bought stays shared (the bank keeps a key to the last object it
    // sold, the operator let go of what it was handed).
    k.write_back_caches().unwrap();
    let again = capture::capture(&k, copy, Path::new("mem")).unwrap().manifest;
    assert_eq!((again.nodes.len(), again.pages.len()), (m.nodes.len(), m.pages.len()));
    assert_eq!(again.imports.len(), m.imports.len() - 2, "the unmapped imports are DK(0) now");

    // The copy's BWAIT wait returned early (rc 0) and it ran to its
    // ebreak; the original still waits.
    run_world(&mut k, 1_000_000);
    let mut woken = [0u8; 4];
    k.read_memory(copy, woken_at, &mut woken).unwrap();
    assert_eq!(u32::from_le_bytes(woken), 0);
    assert_eq!(k.domain_state(copy).unwrap().unwrap().trap.code, kernel::trap::BREAKPOINT);
    assert_eq!(k.domain_state(solo).unwrap().unwrap().state, RunState::Waiting);
    k.read_memory(solo, woken_at, &mut woken).unwrap();
    assert_eq!(u32::from_le_bytes(woken), 0xff);

    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    let len = storage.frame_count() * disk_image::FRAME_BYTES;
    let report = kernel::check::check_image(storage, len).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
}
