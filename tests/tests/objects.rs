//! Objects and keys against a reference model: create, sever and destroy
//! pages and nodes, store keys in node slots, fetch them back.

use std::collections::HashMap;

use gnosis_tests::{formatted_image, load};
use kernel::key::{Cda, Key, KeyType};
use kernel::object::{self, node, page};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Create(Cda),
    Sever(Cda, bool),
    /// Make a key of the object's current id and store it in a node slot.
    Store {
        node: u64,
        slot: usize,
        target: Cda,
        kind: KeyType,
    },
    Fetch {
        node: u64,
        slot: usize,
    },
    WritePage(u64, u16, u8),
}

const PAGES: u64 = 6;
const NODES: u64 = 6;

fn cda() -> impl Strategy<Value = Cda> {
    prop_oneof![(0..PAGES).prop_map(Cda::page), (0..NODES).prop_map(Cda::node)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        cda().prop_map(Op::Create),
        (cda(), any::<bool>()).prop_map(|(c, d)| Op::Sever(c, d)),
        (
            0..NODES,
            0usize..16,
            cda(),
            prop_oneof![Just(KeyType::Node), Just(KeyType::Fetch), Just(KeyType::Start)]
        )
            .prop_map(|(node, slot, target, kind)| Op::Store { node, slot, target, kind }),
        (0..NODES, 0usize..16).prop_map(|(node, slot)| Op::Fetch { node, slot }),
        (0..PAGES, 0u16..4096, 1u8..).prop_map(|(p, o, v)| Op::WritePage(p, o, v)),
    ]
}

#[derive(Default)]
struct Model {
    ids: HashMap<Cda, (bool, u32)>,
    slots: HashMap<(u64, usize), Key>,
    bytes: HashMap<(u64, u16), u8>,
}

impl Model {
    fn alloc(&self, c: Cda) -> (bool, u32) {
        self.ids.get(&c).copied().unwrap_or((false, 0))
    }

    fn fetch(&self, node: u64, slot: usize) -> Key {
        let key = self.slots.get(&(node, slot)).copied().unwrap_or(Key::NULL);
        if key.is_null() {
            return key;
        }
        let (allocated, id) = self.alloc(key.cda());
        let wants_node = key.kind().designates_node();
        if allocated && id == key.allocation_id() && key.cda().is_node() == wants_node {
            key
        } else {
            Key::NULL
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn objects_agree_with_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        let image = formatted_image(4 << 20);
        let (_storage, loaded) = load(&image);
        let mut store = loaded.store;
        let mut model = Model::default();
        for n in 0..NODES {
            // Nodes that hold keys must exist; create them first in both.
            object::create(&mut store, Cda::node(n)).unwrap();
            model.ids.insert(Cda::node(n), (true, 0));
        }
        for op in ops {
            match op {
                Op::Create(c) => {
                    let id = object::create(&mut store, c).unwrap();
                    let entry = model.ids.entry(c).or_insert((false, 0));
                    entry.0 = true;
                    prop_assert_eq!(id, entry.1);
                }
                Op::Sever(c, destroy) => {
                    if c.is_node() && c.number() < NODES && destroy {
                        continue; // keep the holder nodes alive
                    }
                    object::sever(&mut store, c, destroy).unwrap();
                    let entry = model.ids.entry(c).or_insert((false, 0));
                    entry.1 += 1;
                    if destroy {
                        entry.0 = false;
                        if c.is_node() {
                            for s in 0..16 { model.slots.remove(&(c.number(), s)); }
                        } else {
                            model.bytes.retain(|&(p, _), _| p != c.number());
                        }
                    }
                }
                Op::Store { node: n, slot, target, kind } => {
                    let kind = if target.is_node() { kind } else { KeyType::Page };
                    let key = Key::object(kind, target, model.alloc(target).1, 0);
                    node::set_slot(&mut store, Cda::node(n), slot, key).unwrap();
                    model.slots.insert((n, slot), key);
                }
                Op::Fetch { node: n, slot } => {
                    let got = object::validate(&store, node::slot(&store, Cda::node(n), slot));
                    prop_assert_eq!(got, model.fetch(n, slot));
                }
                Op::WritePage(p, offset, value) => {
                    page::write(&mut store, Cda::page(p), offset as usize, &[value]).unwrap();
                    model.bytes.insert((p, offset), value);
                }
            }
        }
        for (&(p, offset), &value) in &model.bytes {
            let mut b = [0u8];
            page::read(&store, Cda::page(p), offset as usize, &mut b);
            prop_assert_eq!(b[0], value);
        }
    }
}

/// Writes never touch the frames the committed checkpoint refers to: the
/// home frames stay as they were; new versions go to the working area.
#[test]
fn first_write_copies_into_the_working_area() {
    let image = formatted_image(4 << 20);
    let (storage, loaded) = load(&image);
    let mut store = loaded.store;
    let home = page::home(&store, Cda::page(7));
    page::write(&mut store, Cda::page(7), 100, b"hello").unwrap();
    let working = store.current(home);
    assert_ne!(working, home);
    assert!(store.layout().areas[store.area().index()].contains(working));
    let mut at_home = [0u8; 5];
    disk_image::Storage::read(storage.as_ref(), home, 100, &mut at_home);
    assert_eq!(at_home, [0; 5], "the home frame is untouched");
    page::write(&mut store, Cda::page(7), 200, b"again").unwrap();
    assert_eq!(store.current(home), working, "second write goes to the same copy");
    assert_eq!(store.area().used(), 1);
}
