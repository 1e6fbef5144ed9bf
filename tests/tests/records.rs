//! Record collections and the system directory (design.md §24): the
//! record-collection factory's and a collection's order codes and return
//! codes (KeyKOS `rc.h`), name order, keys kept with records, entry
//! sequences, rights, space bought and given back, a bank destroyed under
//! a collection, a crash in the middle, and hostile keys; on the
//! interpreter and on the translation tier. Invoked through the operator,
//! so through the real gate.

use std::sync::Arc;

use disk_image::storage::FaultyStorage;
use domains::world::big_bang::{RCF_FACET, Settings, operator_keys};
use gnosis_tests::{boot, run_world, world};
use kernel::abi::*;
use kernel::builder::Builder;
use kernel::cpu::Tier;
use kernel::kernel::Kernel;
use kernel::key::{Key, KeyType};
use kernel::operator::{Operator, Reply};

/// Operator key registers the tests use.
const RCF: usize = 7;
const BANK: usize = 8;
const RC: usize = 9;
const KEY: usize = 10;
const OTHER: usize = 11;

struct Rig {
    storage: Arc<FaultyStorage>,
    k: Kernel,
    op: Operator,
}

impl Rig {
    /// A world on `tier` whose operator holds the RCF and a sub-bank.
    fn new(tier: Tier) -> Rig {
        let (storage, mut k) = world(32 << 20, Settings::default());
        k.set_tier(tier);
        run_world(&mut k, 200_000);
        let op = Operator::find(&k).unwrap().unwrap();
        let mut rig = Rig { storage, k, op };
        rig.give_rcf();
        let bank = rig.call(operator_keys::BANK, BANK_CREATE_BANK, &[], &[]);
        assert_eq!(bank.code, 0);
        rig.set(BANK, bank.keys[0]);
        rig
    }

    fn give_rcf(&mut self) {
        let rcol = kernel::inspect::domain_named(self.k.store(), "rcol").expect("the world has rcol");
        let rcf = Builder::new(&mut self.k).start_key(rcol, RCF_FACET);
        self.set(RCF, rcf);
    }

    fn set(&mut self, slot: usize, key: Key) {
        self.op.set_key(&mut self.k, slot, key).unwrap();
    }

    fn key(&mut self, slot: usize) -> Key {
        self.op.key(&mut self.k, slot).unwrap()
    }

    fn call(&mut self, slot: usize, order: u32, string: &[u8], pass: &[usize]) -> Reply {
        self.op.call(&mut self.k, slot, order, string, pass).unwrap()
    }

    /// A new collection from the RCF (`order` 0 or 1, + 2 × longest), paid by BANK, into `slot`.
    fn create(&mut self, order: u32, slot: usize) {
        let r = self.call(RCF, order, &[], &[BANK, 0, BANK]);
        assert_eq!((r.code, r.keys[0].kind()), (0, KeyType::Segment), "create");
        self.set(slot, r.keys[0]);
    }

    fn available(&mut self, bank: usize, order: u32) -> u32 {
        let r = self.call(bank, order, &[], &[]);
        assert_eq!(r.code, 0);
        u32::from_le_bytes(r.string[..4].try_into().unwrap())
    }

    /// The bank's free (nodes, pages).
    fn space(&mut self, bank: usize) -> (u32, u32) {
        (self.available(bank, BANK_NODES_AVAILABLE), self.available(bank, BANK_PAGES_AVAILABLE))
    }
}

/// A record string: name length, name, data.
fn record(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut r = vec![name.len() as u8];
    r.extend_from_slice(name);
    r.extend_from_slice(data);
    r
}

fn name_sequence_orders(tier: Tier) {
    let mut t = Rig::new(tier);
    assert_eq!(t.call(RCF, KT, &[], &[]).code, AKT_RCF);
    t.create(RCF_CREATE_NAME_SEQUENCE, RC);
    let rc =
        |t: &mut Rig, order: u32, name: &[u8], data: &[u8]| t.call(RC, order, &record(name, data), &[KEY]);
    // Added out of order, kept in name order (a shorter name first).
    for (name, data) in
        [(&b"pear"[..], &b"green"[..]), (b"apple", b"red"), (b"ap", b"short"), (b"zucchini", b"")]
    {
        assert_eq!(rc(&mut t, RCOL_ADD, name, data).code, 0, "{name:?}");
    }
    assert_eq!(rc(&mut t, RCOL_ADD, b"pear", b"again").code, RCOL_RC_DUPLICATE);
    let get = |t: &mut Rig, order: u32, name: &[u8]| {
        let r = rc(t, order, name, b"");
        (r.code, r.string)
    };
    assert_eq!(get(&mut t, RCOL_GET_FIRST, b""), (0, record(b"ap", b"short")));
    assert_eq!(get(&mut t, RCOL_GET_LAST, b""), (0, record(b"zucchini", b"")));
    assert_eq!(get(&mut t, RCOL_GET_EQUAL, b"apple"), (0, record(b"apple", b"red")));
    assert_eq!(get(&mut t, RCOL_GET_LESS, b"apple").1, record(b"ap", b"short"));
    assert_eq!(get(&mut t, RCOL_GET_LESS_EQUAL, b"apple").1, record(b"apple", b"red"));
    assert_eq!(get(&mut t, RCOL_GET_LESS_EQUAL, b"b").1, record(b"apple", b"red"));
    assert_eq!(get(&mut t, RCOL_GET_GREATER, b"apple").1, record(b"pear", b"green"));
    assert_eq!(get(&mut t, RCOL_GET_GREATER_EQUAL, b"apple").1, record(b"apple", b"red"));
    assert_eq!(get(&mut t, RCOL_GET_GREATER_EQUAL, b"apples").1, record(b"pear", b"green"));
    assert_eq!(get(&mut t, RCOL_GET_GREATER_EQUAL, b"").1, record(b"ap", b"short"), "nothing sorts first");
    for (order, name) in
        [(RCOL_GET_LESS, &b"ap"[..]), (RCOL_GET_GREATER, b"zucchini"), (RCOL_GET_EQUAL, b"fig")]
    {
        assert_eq!(get(&mut t, order, name).0, RCOL_RC_NOT_FOUND, "{order} {name:?}");
    }

    // A record's key comes back with it (rc 1), the very key given.
    let page = t.call(BANK, BANK_CREATE_PAGE, &[], &[]).keys[0];
    t.set(KEY, page);
    assert_eq!(rc(&mut t, RCOL_ADD_KEY, b"keyed", b"k").code, 0);
    t.set(KEY, Key::NULL);
    let r = rc(&mut t, RCOL_GET_EQUAL, b"keyed", b"");
    assert_eq!((r.code, r.keys[0]), (RCOL_RC_WITH_KEY, page));
    assert_eq!(rc(&mut t, RCOL_GET_EQUAL, b"pear", b"").keys[0], Key::NULL, "no key, DK(0)");

    // Replace answers the old record, rc 2 without a key, 1 with its key.
    let r = rc(&mut t, RCOL_REPLACE, b"pear", b"ripe");
    assert_eq!((r.code, r.string), (RCOL_RC_NO_KEY_REPLACED, record(b"pear", b"green")));
    let r = rc(&mut t, RCOL_REPLACE, b"keyed", b"plain");
    assert_eq!((r.code, r.keys[0], r.string), (RCOL_RC_WITH_KEY, page, record(b"keyed", b"k")));
    assert_eq!(rc(&mut t, RCOL_GET_EQUAL, b"keyed", b"").code, 0, "replaced without a key");
    assert_eq!(rc(&mut t, RCOL_REPLACE, b"fig", b"").code, RCOL_RC_NOT_FOUND);
    t.set(KEY, page);
    assert_eq!(rc(&mut t, RCOL_REPLACE_KEY, b"pear", b"keyed now").code, RCOL_RC_NO_KEY_REPLACED);
    assert_eq!(rc(&mut t, RCOL_GET_EQUAL, b"pear", b"").keys[0], page);
    // AddReplace adds (0) or replaces (1/2).
    assert_eq!(rc(&mut t, RCOL_ADD_REPLACE, b"fig", b"new").code, 0);
    assert_eq!(rc(&mut t, RCOL_ADD_REPLACE, b"fig", b"newer").code, RCOL_RC_NO_KEY_REPLACED);
    assert_eq!(get(&mut t, RCOL_GET_EQUAL, b"fig").1, record(b"fig", b"newer"));
    assert_eq!(rc(&mut t, RCOL_ADD_REPLACE_KEY, b"fig", b"newest").code, RCOL_RC_NO_KEY_REPLACED);

    // Delete answers the record and its key.
    let r = rc(&mut t, RCOL_DELETE, b"pear", b"");
    assert_eq!((r.code, r.keys[0], r.string), (0, page, record(b"pear", b"keyed now")));
    assert_eq!(rc(&mut t, RCOL_DELETE, b"pear", b"").code, RCOL_RC_NOT_FOUND);
    assert_eq!(get(&mut t, RCOL_GET_GREATER, b"keyed").1, record(b"zucchini", b""));

    // User data; KT and its statistics; bad strings.
    assert_eq!(t.call(RC, RCOL_WRITE_USER_DATA, b"mine", &[]).code, 0);
    assert_eq!(t.call(RC, RCOL_READ_USER_DATA, &[], &[]).string, b"mine");
    assert_eq!(t.call(RC, RCOL_WRITE_USER_DATA, &[1; 129], &[]).code, RCOL_RC_LENGTH);
    let kt = t.call(RC, KT, &[], &[]);
    let words: Vec<u32> = kt.string.chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!((kt.code, words), (AKT_RC_NAME_SEQUENCE, vec![0, 5, 512, RCOL_MAX_RECORDS]));
    assert_eq!(rc(&mut t, RCOL_ADD, b"big", &[7; 509]).code, RCOL_RC_MAX_LENGTH, "513 bytes");
    assert_eq!(rc(&mut t, RCOL_ADD, b"big", &[7; 508]).code, 0, "512 bytes");
    assert_eq!(get(&mut t, RCOL_GET_EQUAL, b"big").1, record(b"big", &[7; 508]));
    assert_eq!(t.call(RC, RCOL_ADD, &[9, b'x'], &[]).code, RCOL_RC_FORMAT, "a name past the end");
    assert_eq!(t.call(RC, RCOL_GET_EQUAL, &[200], &[]).code, RCOL_RC_FORMAT);
    for order in [20, 99, KT + 5, RCOL_TRUNCATE_AFTER] {
        assert_eq!(t.call(RC, order, &[], &[]).code, RC_INVALID, "order {order}");
    }

    // Empty keeps the user data.
    assert_eq!(t.call(RC, RCOL_EMPTY, &[], &[]).code, 0);
    assert_eq!(t.call(RC, RCOL_GET_FIRST, &[], &[]).code, RCOL_RC_NOT_FOUND);
    assert_eq!(t.call(RC, RCOL_READ_USER_DATA, &[], &[]).string, b"mine");
    assert_eq!(rc(&mut t, RCOL_ADD, b"again", b"").code, 0, "usable after Empty");
    t.k.check_invariants().unwrap();
}

#[test]
fn name_sequence_collections_keep_records_and_keys_in_name_order_interpreted() {
    name_sequence_orders(Tier::Interpret);
}

#[test]
fn name_sequence_collections_keep_records_and_keys_in_name_order_translated() {
    name_sequence_orders(Tier::default());
}

fn entry_sequence_orders(tier: Tier) {
    let mut t = Rig::new(tier);
    t.create(RCF_CREATE_ENTRY_SEQUENCE + 2 * 64, RC);
    assert_eq!(t.call(RC, KT, &[], &[]).code, AKT_RC_ENTRY_SEQUENCE);
    let zero = [0u8; 4];
    for n in 1..=5u32 {
        let r = t.call(RC, RCOL_ADD, &record(&zero, format!("entry {n}").as_bytes()), &[]);
        let mut name = vec![4];
        name.extend_from_slice(&n.to_be_bytes());
        assert_eq!((r.code, r.string), (0, name), "entries are numbered from 1");
    }
    let name = |n: u32| record(&n.to_be_bytes(), b"");
    assert_eq!(t.call(RC, RCOL_ADD, &record(&2u32.to_be_bytes(), b"x"), &[]).code, RCOL_RC_BAD_NAME);
    assert_eq!(t.call(RC, RCOL_ADD_REPLACE, &record(&9u32.to_be_bytes(), b"x"), &[]).code, RCOL_RC_BAD_NAME);
    assert_eq!(t.call(RC, RCOL_ADD, &record(b"abc", b"x"), &[]).code, RCOL_RC_BAD_NAME);
    assert_eq!(t.call(RC, RCOL_ADD, &record(&zero, &[1; 60]), &[]).code, RCOL_RC_MAX_LENGTH, "longest 64");
    assert_eq!(t.call(RC, RCOL_GET_EQUAL, &name(3), &[]).string, record(&3u32.to_be_bytes(), b"entry 3"));
    let r = t.call(RC, RCOL_REPLACE, &record(&3u32.to_be_bytes(), b"third"), &[]);
    assert_eq!(r.code, RCOL_RC_NO_KEY_REPLACED);
    assert_eq!(t.call(RC, RCOL_DELETE, &name(3), &[]).code, RC_INVALID, "entry sequences truncate");
    assert_eq!(t.call(RC, RCOL_TRUNCATE_AFTER, &name(3), &[]).code, 0);
    assert_eq!(t.call(RC, RCOL_GET_LAST, &[], &[]).string, record(&3u32.to_be_bytes(), b"third"));
    assert_eq!(t.call(RC, RCOL_TRUNCATE_AT, &name(2), &[]).code, 0);
    assert_eq!(t.call(RC, RCOL_GET_LAST, &[], &[]).string, record(&1u32.to_be_bytes(), b"entry 1"));
    assert_eq!(t.call(RC, RCOL_TRUNCATE_AT, &name(7), &[]).code, RCOL_RC_NOT_FOUND);
    assert_eq!(t.call(RC, RCOL_TRUNCATE_AT, &record(b"ab", b""), &[]).code, RCOL_RC_BAD_NAME);
    let r = t.call(RC, RCOL_ADD, &record(&zero, b"next"), &[]);
    assert_eq!(r.string[1..], 2u32.to_be_bytes(), "numbering goes on after the last record");
    assert_eq!(t.call(RC, RCOL_TRUNCATE_AFTER, &[], &[]).code, 0, "no name: everything");
    assert_eq!(t.call(RC, RCOL_GET_FIRST, &[], &[]).code, RCOL_RC_NOT_FOUND);
}

#[test]
fn entry_sequence_collections_number_their_records_and_truncate_interpreted() {
    entry_sequence_orders(Tier::Interpret);
}

#[test]
fn entry_sequence_collections_number_their_records_and_truncate_translated() {
    entry_sequence_orders(Tier::default());
}

#[test]
fn weaker_keys_lose_rights_and_each_rights_value_has_one_front_end() {
    let mut t = Rig::new(Tier::default());
    t.create(RCF_CREATE_NAME_SEQUENCE, RC);
    assert_eq!(t.call(RC, RCOL_ADD, &record(b"a", b"1"), &[]).code, 0);
    let read_only = RCOL_NO_WRITE | RCOL_NO_DELETE | RCOL_NO_EMPTY | RCOL_NO_WRITE_USER;
    let r = t.call(RC, RCOL_WEAKEN, &read_only.to_le_bytes(), &[]);
    assert_eq!((r.code, r.string.clone()), (0, read_only.to_le_bytes().to_vec()));
    t.set(OTHER, r.keys[0]);
    assert_eq!(
        t.call(RC, RCOL_WEAKEN, &read_only.to_le_bytes(), &[]).keys[0],
        r.keys[0],
        "the same front end"
    );
    assert_eq!(t.call(OTHER, RCOL_WEAKEN, &0u32.to_le_bytes(), &[]).keys[0], r.keys[0], "rights only add up");
    assert_eq!(t.call(RC, RCOL_WEAKEN, &[1, 2], &[]).code, RCOL_RC_BAD_NAME);
    assert_eq!(t.call(OTHER, RCOL_GET_EQUAL, &record(b"a", b""), &[]).string, record(b"a", b"1"));
    for (order, string) in [
        (RCOL_ADD, record(b"b", b"")),
        (RCOL_DELETE, record(b"a", b"")),
        (RCOL_EMPTY, vec![]),
        (RCOL_WRITE_USER_DATA, vec![1]),
        (RCOL_DESTROY, vec![]),
    ] {
        assert_eq!(t.call(OTHER, order, &string, &[]).code, RCOL_RC_NOT_ALLOWED, "order {order}");
    }
    let kt = t.call(OTHER, KT, &[], &[]);
    assert_eq!(u32::from_le_bytes(kt.string[..4].try_into().unwrap()), read_only);
    // No update: adding is allowed, replacing is not.
    let no_update = t.call(RC, RCOL_WEAKEN, &RCOL_NO_UPDATE.to_le_bytes(), &[]).keys[0];
    t.set(OTHER, no_update);
    assert_eq!(t.call(OTHER, RCOL_ADD, &record(b"b", b""), &[]).code, 0);
    assert_eq!(t.call(OTHER, RCOL_REPLACE, &record(b"a", b"2"), &[]).code, RCOL_RC_NOT_ALLOWED);
    // No reading.
    let no_read = t.call(RC, RCOL_WEAKEN, &(RCOL_NO_READ | RCOL_NO_READ_USER).to_le_bytes(), &[]).keys[0];
    t.set(OTHER, no_read);
    assert_eq!(t.call(OTHER, RCOL_GET_FIRST, &[], &[]).code, RCOL_RC_NOT_ALLOWED);
    assert_eq!(t.call(OTHER, RCOL_READ_USER_DATA, &[], &[]).code, RCOL_RC_NOT_ALLOWED);
    // Destroying the collection kills every front end.
    assert_eq!(t.call(RC, RCOL_DESTROY, &[], &[]).code, 0);
    for key in [r.keys[0], no_update, no_read] {
        assert!(!kernel::object::is_current(t.k.store(), key), "{key:?} outlived its collection");
    }
}

#[test]
fn a_collection_buys_its_space_as_it_grows_and_gives_it_all_back() {
    let mut t = Rig::new(Tier::default());
    let before = t.space(BANK);
    t.create(RCF_CREATE_NAME_SEQUENCE, RC);
    let empty = t.space(BANK);
    assert_eq!(
        (before.0 - empty.0, before.1 - empty.1),
        (4, 1),
        "a front end, state, two segment nodes, a header"
    );
    // 100 records of 400 bytes, every third with a key: pages and key nodes.
    let page = t.call(BANK, BANK_CREATE_PAGE, &[], &[]).keys[0];
    t.set(KEY, page);
    for i in 0..100u32 {
        let order = if i % 3 == 0 { RCOL_ADD_KEY } else { RCOL_ADD };
        let r = t.call(RC, order, &record(format!("r{i:03}").as_bytes(), &[i as u8; 400]), &[KEY]);
        assert_eq!(r.code, 0, "record {i}");
    }
    let full = t.space(BANK);
    assert_eq!(
        empty.1 - full.1,
        100usize.div_ceil(7) as u32 + 1,
        "a page per 7 records (and the page given)"
    );
    assert!(full.0 < empty.0, "the key tree's nodes");
    let r = t.call(RC, RCOL_GET_EQUAL, &record(b"r099", b""), &[]);
    assert_eq!((r.code, r.keys[0], r.string[5..].to_vec()), (RCOL_RC_WITH_KEY, page, vec![99; 400]));
    // Deleting the last records sells the pages they emptied.
    for i in (50..100u32).rev() {
        assert_eq!(t.call(RC, RCOL_DELETE, &record(format!("r{i:03}").as_bytes(), b""), &[]).code, 0);
    }
    let half = t.space(BANK);
    assert_eq!(empty.1 - half.1, 50usize.div_ceil(7) as u32 + 1);
    assert_eq!(t.call(RC, RCOL_GET_LAST, &[], &[]).string[..5], record(b"r049", b"")[..5]);
    assert_eq!(t.call(RC, RCOL_DESTROY, &[], &[]).code, 0);
    assert_eq!(t.space(BANK), (before.0, before.1 - 1), "everything but the page bought here came back");
    assert_eq!(t.call(RC, RCOL_GET_FIRST, &[], &[]).code, RC_DATA, "the key is DK(0) now");
    t.k.check_invariants().unwrap();
}

#[test]
fn a_full_collection_and_an_empty_bank_answer_return_codes() {
    let mut t = Rig::new(Tier::default());
    t.create(RCF_CREATE_NAME_SEQUENCE + 2 * 8, RC);
    for i in 0..RCOL_MAX_RECORDS {
        let r = t.call(RC, RCOL_ADD, &record(&i.to_be_bytes(), b""), &[]);
        assert_eq!(r.code, 0, "record {i}");
    }
    let r = t.call(RC, RCOL_ADD, &record(b"more", b""), &[]);
    assert_eq!(r.code, RCOL_RC_FULL);
    assert_eq!(t.call(RC, KT, &[], &[]).string[4..8], RCOL_MAX_RECORDS.to_le_bytes());
    assert_eq!(
        t.call(RC, RCOL_GET_LAST, &[], &[]).string,
        record(&(RCOL_MAX_RECORDS - 1).to_be_bytes(), b"")
    );

    // A bank with room for the collection and one cell page.
    let limits: Vec<u8> = [5u32, 2].iter().flat_map(|n| n.to_le_bytes()).collect();
    let small = t.call(operator_keys::BANK, BANK_CREATE_BANK, &limits, &[]).keys[0];
    t.set(BANK, small);
    t.create(RCF_CREATE_NAME_SEQUENCE, OTHER);
    for i in 0..7u8 {
        assert_eq!(t.call(OTHER, RCOL_ADD, &record(&[i], b""), &[]).code, 0);
    }
    assert_eq!(t.call(OTHER, RCOL_ADD, &record(b"x", b""), &[]).code, RCOL_RC_NO_PAGES);
    t.set(KEY, small);
    assert_eq!(t.call(OTHER, RCOL_ADD_KEY, &record(&[0, 1], b""), &[KEY]).code, RCOL_RC_NO_PAGES);
    assert_eq!(t.call(OTHER, RCOL_DELETE, &record(&[6], b""), &[]).code, 0);
    assert_eq!(
        t.call(OTHER, RCOL_ADD_KEY, &record(b"k", b""), &[KEY]).code,
        RCOL_RC_NO_NODES,
        "the key tree"
    );
    assert_eq!(
        t.call(OTHER, RCOL_GET_EQUAL, &record(b"k", b""), &[]).code,
        RCOL_RC_NOT_FOUND,
        "nothing added"
    );
    assert_eq!(t.call(OTHER, RCOL_ADD, &record(b"k", b""), &[]).code, 0, "a key-less record fits");
    // A bank with no room for a collection at all.
    let none = t.call(operator_keys::BANK, BANK_CREATE_BANK, &[2, 0, 0, 0, 9, 0, 0, 0], &[]).keys[0];
    t.set(BANK, none);
    assert_eq!(t.call(RCF, RCF_CREATE_NAME_SEQUENCE, &[], &[BANK]).code, RCF_RC_NO_SPACE);
    assert_eq!(t.available(BANK, BANK_NODES_AVAILABLE), 2, "what was bought went back");
}

#[test]
fn destroying_the_bank_destroys_its_collections_and_the_server_serves_on() {
    let mut t = Rig::new(Tier::default());
    t.create(RCF_CREATE_NAME_SEQUENCE, RC);
    for i in 0..20u8 {
        assert_eq!(t.call(RC, RCOL_ADD, &record(&[b'a' + i], &[i; 300]), &[]).code, 0);
    }
    let doomed = t.key(RC);
    assert_eq!(t.call(BANK, BANK_DESTROY, &[], &[]).code, 0);
    assert!(!kernel::object::is_current(t.k.store(), doomed));
    assert_eq!(t.call(RC, RCOL_GET_FIRST, &[], &[]).code, RC_DATA);
    // Another bank's collection works as before.
    let bank = t.call(operator_keys::BANK, BANK_CREATE_BANK, &[], &[]).keys[0];
    t.set(BANK, bank);
    t.create(RCF_CREATE_NAME_SEQUENCE, RC);
    assert_eq!(t.call(RC, RCOL_ADD, &record(b"alive", b""), &[]).code, 0);
    assert_eq!(t.call(RC, RCOL_GET_FIRST, &[], &[]).string, record(b"alive", b""));
    t.k.check_invariants().unwrap();
}

#[test]
fn hostile_keys_get_return_codes_and_wedge_nothing() {
    let mut t = Rig::new(Tier::default());
    // Not official banks: DK(0), a data key, a node key, a collection.
    t.create(RCF_CREATE_NAME_SEQUENCE, RC);
    let node = t.call(BANK, BANK_CREATE_NODE, &[], &[]).keys[0];
    for fake in [Key::NULL, Key::data(42), node, t.key(RC)] {
        t.set(OTHER, fake);
        assert_eq!(t.call(RCF, RCF_CREATE_NAME_SEQUENCE, &[], &[OTHER]).code, RCF_RC_NOT_OFFICIAL_BANK);
    }
    assert_eq!(t.call(RCF, RCF_CREATE_NAME_SEQUENCE + 2 * 513, &[], &[BANK]).code, RC_INVALID);
    // A front end a user made himself, with the RCF as its keeper and a
    // collection's tag: the RCF sees a factory order, not a collection.
    let mut b = Builder::new(&mut t.k);
    let forged = b.node().unwrap();
    let rcol = kernel::inspect::domain_named(b.kernel().store(), "rcol").unwrap();
    let rcf = b.start_key(rcol, RCF_FACET);
    b.set(forged, 15, kernel::segment::format_key(0, 0, Some(14), None)).unwrap();
    b.set(forged, 14, rcf).unwrap();
    b.set(forged, 13, Key::data(u64::from(b'R') << 8)).unwrap();
    let forged_key = b.key(KeyType::Segment, forged, 0);
    t.set(OTHER, forged_key);
    assert_eq!(t.call(OTHER, RCOL_GET_FIRST, &[], &[]).code, RCF_RC_NOT_OFFICIAL_BANK);
    // A start key with a collection's databyte (given out by mistake): no
    // front end came with it.
    let stray = Builder::new(&mut t.k).start_key(rcol, 0);
    t.set(OTHER, stray);
    t.set(KEY, node);
    assert_eq!(t.call(OTHER, RCOL_GET_FIRST, &[], &[KEY, KEY, KEY]).code, RC_INVALID);
    // Strings too long; a server's own start key as key 3 (the reply goes nowhere).
    assert_eq!(t.call(RC, RCOL_ADD, &[3; 4096], &[]).code, RCOL_RC_MAX_LENGTH);
    assert_eq!(t.call(RC, RCOL_ADD, &record(b"ok", b""), &[]).code, 0);
    let wedge = t.call(RC, RCOL_GET_FIRST, &[], &[RCF, RCF, RCF, RCF]);
    assert_eq!(wedge.code, 0, "key 3 is the operator's return key whatever it passes");
    assert_eq!(t.call(RC, RCOL_GET_FIRST, &[], &[]).string, record(b"ok", b""));
    let d = kernel::inspect::domains(t.k.store()).into_iter().find(|d| d.name == "rcol").unwrap();
    assert_eq!(d.trap.0, 0, "rcol never faulted");
}

#[test]
fn collections_survive_a_crash_as_the_last_checkpoint_left_them() {
    let mut t = Rig::new(Tier::default());
    t.create(RCF_CREATE_NAME_SEQUENCE, RC);
    let page = t.call(BANK, BANK_CREATE_PAGE, &[], &[]).keys[0];
    t.set(KEY, page);
    assert_eq!(t.call(RC, RCOL_ADD_KEY, &record(b"kept", b"before"), &[KEY]).code, 0);
    t.op.forget_received(&mut t.k).unwrap();
    t.k.checkpoint_now().unwrap();
    t.k.finish_background().unwrap();
    assert_eq!(t.call(RC, RCOL_ADD, &record(b"lost", b"after"), &[]).code, 0);
    assert_eq!(t.call(RC, RCOL_DELETE, &record(b"kept", b""), &[]).code, 0);

    let mut k = boot(Arc::new(FaultyStorage::new(&t.storage.durable_image(), None))).1;
    run_world(&mut k, 200_000);
    let op = Operator::find(&k).unwrap().unwrap();
    let r = op.call(&mut k, RC, RCOL_GET_FIRST, &[], &[]).unwrap();
    assert_eq!((r.code, r.keys[0], r.string), (RCOL_RC_WITH_KEY, page, record(b"kept", b"before")));
    assert_eq!(
        op.call(&mut k, RC, RCOL_GET_EQUAL, &record(b"lost", b""), &[]).unwrap().code,
        RCOL_RC_NOT_FOUND
    );
    assert_eq!(op.call(&mut k, RC, RCOL_ADD, &record(b"new", b""), &[]).unwrap().code, 0);
    assert_eq!(op.call(&mut k, RC, RCOL_GET_LAST, &[], &[]).unwrap().string, record(b"new", b""));
    k.check_invariants().unwrap();
}

#[test]
fn the_system_directory_is_an_empty_name_sequence_collection_on_the_prime_bank() {
    let mut t = Rig::new(Tier::default());
    let dir = operator_keys::DIRECTORY;
    let kt = t.call(dir, KT, &[], &[]);
    assert_eq!((kt.code, kt.string[4..8].to_vec()), (AKT_RC_NAME_SEQUENCE, vec![0; 4]));
    assert_eq!(t.call(dir, RCOL_GET_FIRST, &[], &[]).code, RCOL_RC_NOT_FOUND);
    assert_eq!(t.call(dir, RCOL_ADD_KEY, &record(b"rcf", b""), &[RCF]).code, 0);
    let r = t.call(dir, RCOL_GET_EQUAL, &record(b"rcf", b""), &[]);
    assert_eq!((r.code, r.keys[0]), (RCOL_RC_WITH_KEY, t.key(RCF)));
    // What programs are given: a key that can only read.
    let read_only = RCOL_NO_WRITE | RCOL_NO_DELETE | RCOL_NO_EMPTY | RCOL_NO_UPDATE | RCOL_NO_WRITE_USER;
    let weak = t.call(dir, RCOL_WEAKEN, &read_only.to_le_bytes(), &[]).keys[0];
    t.set(OTHER, weak);
    assert_eq!(t.call(OTHER, RCOL_DELETE, &record(b"rcf", b""), &[]).code, RCOL_RC_NOT_ALLOWED);
    assert_eq!(t.call(OTHER, RCOL_GET_FIRST, &[], &[]).keys[0], t.key(RCF));
}

/// Adds a 40-byte record named by a counter in a loop, until an add fails;
/// then stores the failing rc at `result` (0x11000) and stops.
const ADDER: &str = r#"
    .include "gnosis.inc"
_start:
    li   s0, 0
1:  la   t0, rec
    sb   s0, 1(t0)
    srli t1, s0, 8
    sb   t1, 2(t0)
    li   a0, 3                         # RCOL_ADD
    EXIT a1, 1, CALL, 1
    li   a2, 0
    la   a3, rec
    li   a4, 40
    ecall
    bnez a0, 2f
    addi s0, s0, 1
    j    1b
2:  la   t0, result
    sw   a0, 0(t0)
    ebreak
    .data
result: .word 0
rec:    .byte 2, 0, 0
        .space 37
"#;

#[test]
fn a_bank_destroyed_in_the_middle_of_a_request_stops_no_server() {
    let mut t = Rig::new(Tier::default());
    let wkeeper = kernel::inspect::domain_named(t.k.store(), "wkeeper").unwrap();
    let prime = t.key(operator_keys::BANK);
    let mut races = 0;
    for round in 0..12u32 {
        let bank = t.call(operator_keys::BANK, BANK_CREATE_BANK, &[], &[]).keys[0];
        t.set(BANK, bank);
        t.create(RCF_CREATE_NAME_SEQUENCE, RC);
        let rc = t.key(RC);
        let user = t.key(operator_keys::USER_METER);
        let adder = gnosis_tests::spawn(
            &mut t.k,
            user,
            &gnosis_tests::asm(ADDER),
            gnosis_tests::Spawn { keys: vec![(1, rc)], ..Default::default() },
        );
        let spin = format!(
            ".include \"gnosis.inc\"\n_start: li t0, {}\n1: addi t0, t0, -1\n bnez t0, 1b\n KCALL 1, 64\n ebreak\n",
            20_000 + 37_000 * round
        );
        gnosis_tests::spawn(
            &mut t.k,
            user,
            &gnosis_tests::asm(&spin),
            gnosis_tests::Spawn { keys: vec![(1, bank)], ..Default::default() },
        );
        let before = t.k.live_domains().into_iter().find(|d| d.root == wkeeper).unwrap().instructions;
        // In small bursts, as `gnosis run` does between looks at the outside
        // world: a burst can end in the middle of the server's request.
        for _ in 0..20_000 {
            if t.k.run(2_000 + u64::from(round) * 97).unwrap() == 0 {
                break;
            }
        }
        let after = t.k.live_domains().into_iter().find(|d| d.root == wkeeper).unwrap().instructions;
        races += usize::from(after > before);
        let d = t.k.domain_state(adder).unwrap().unwrap();
        assert_eq!(d.trap.code, kernel::trap::BREAKPOINT, "round {round}: the adder was answered");
        let mut rc_bytes = [0u8; 4];
        t.k.read_memory(adder, 0x11000, &mut rc_bytes).unwrap();
        assert_ne!(u32::from_le_bytes(rc_bytes), 0, "round {round}");
        // The server serves on, for a collection of a live bank.
        t.set(BANK, prime);
        t.create(RCF_CREATE_NAME_SEQUENCE, OTHER);
        assert_eq!(t.call(OTHER, RCOL_ADD, &record(b"alive", b""), &[]).code, 0, "round {round}");
    }
    println!("{races} of 12 destroys fell in the middle of a request");
    assert!(races > 0, "the race was met at least once");
}
