//! Key semantics against a reference model: random sequences of range,
//! node, page and domain operations, performed by a domain through the real
//! gate, must give exactly the return codes and keys the model predicts.

use std::collections::HashMap;

use gnosis_tests::kernel_with_operator;
use kernel::builder::{Builder, DomainSpec};
use kernel::domain::RunState;
use kernel::invoke::{KT, RC_DATA, RC_INVALID};
use kernel::key::{Cda, Key, KeyType, MemoryFlags};
use proptest::prelude::*;

const RANGE_FIRST: u64 = 200;
const RANGE_COUNT: u64 = 6;
/// Operator key registers: 1 node range, 2 page range, 3 a domain key,
/// 4..=9 object keys the test moves around.
const REGS: std::ops::RangeInclusive<usize> = 4..=9;

#[derive(Clone, Debug)]
enum Op {
    Create { node: bool, offset: u64, into: usize },
    Sever { node: bool, reg: usize },
    Destroy { node: bool, reg: usize },
    Swap { reg: usize, slot: u32, with: usize },
    Fetch { reg: usize, slot: u32, into: usize },
    Make { reg: usize, kind: u32, databyte: u8, into: usize },
    Write { reg: usize, offset: u32, byte: u8 },
    TestZero { reg: usize },
    AllegedType { reg: usize },
    DomainSwapKey { slot: u32, with: usize },
    DomainGetKey { slot: u32, into: usize },
}

fn reg() -> impl Strategy<Value = usize> {
    REGS
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0..RANGE_COUNT + 1, reg()).prop_map(|(node, offset, into)| Op::Create {
            node,
            offset,
            into
        }),
        (any::<bool>(), reg()).prop_map(|(node, reg)| Op::Sever { node, reg }),
        (any::<bool>(), reg()).prop_map(|(node, reg)| Op::Destroy { node, reg }),
        (reg(), 0u32..16, reg()).prop_map(|(reg, slot, with)| Op::Swap { reg, slot, with }),
        (reg(), 0u32..16, reg()).prop_map(|(reg, slot, into)| Op::Fetch { reg, slot, into }),
        (reg(), 32u32..37, any::<u8>(), reg()).prop_map(|(reg, kind, databyte, into)| Op::Make {
            reg,
            kind,
            databyte,
            into
        }),
        (reg(), 0u32..4096, 1u8..).prop_map(|(reg, offset, byte)| Op::Write { reg, offset, byte }),
        reg().prop_map(|reg| Op::TestZero { reg }),
        reg().prop_map(|reg| Op::AllegedType { reg }),
        (1u32..16, reg()).prop_map(|(slot, with)| Op::DomainSwapKey { slot, with }),
        (0u32..16, reg()).prop_map(|(slot, into)| Op::DomainGetKey { slot, into }),
    ]
}

/// The model of the objects in the range and of the registers.
#[derive(Default)]
struct Model {
    ids: HashMap<Cda, (bool, u32)>,
    slots: HashMap<(Cda, u32), Key>,
    bytes: HashMap<(Cda, u32), u8>,
    regs: HashMap<usize, Key>,
    domain_keys: HashMap<u32, Key>,
}

impl Model {
    fn alloc(&self, c: Cda) -> (bool, u32) {
        self.ids.get(&c).copied().unwrap_or((false, 0))
    }

    /// A key as a holder sees it: itself if current, else DK(0).
    fn current(&self, key: Key) -> Key {
        let kind = key.kind();
        let object = kind.designates_node() || kind == KeyType::Page;
        if !object {
            return key;
        }
        let (allocated, id) = self.alloc(key.cda());
        let in_range = (RANGE_FIRST..RANGE_FIRST + RANGE_COUNT).contains(&key.cda().number());
        let fits = key.cda().is_node() == kind.designates_node();
        if in_range && fits && allocated && id == key.allocation_id() { key } else { Key::NULL }
    }

    fn reg(&self, r: usize) -> Key {
        self.current(self.regs.get(&r).copied().unwrap_or(Key::NULL))
    }

    fn cda(node: bool, offset: u64) -> Cda {
        if node { Cda::node(RANGE_FIRST + offset) } else { Cda::page(RANGE_FIRST + offset) }
    }

    /// Expected (return code, key 0) of invoking register `r` with `order`.
    fn node_op(&mut self, r: usize, order: u32, arg: Key, databyte: u8) -> (u32, Key) {
        let key = self.reg(r);
        let node = key.cda();
        match (key.kind(), order) {
            (KeyType::Node, 0..=15) | (KeyType::Fetch, 0..=15) => {
                (0, self.current(self.slots.get(&(node, order)).copied().unwrap_or(Key::NULL)))
            }
            (KeyType::Sense, 0..=15) => {
                let k = self.current(self.slots.get(&(node, order)).copied().unwrap_or(Key::NULL));
                (0, sensory(k))
            }
            (KeyType::Node, 16..=31) => {
                let old = self.current(self.slots.get(&(node, order - 16)).copied().unwrap_or(Key::NULL));
                self.slots.insert((node, order - 16), arg);
                (0, old)
            }
            (KeyType::Node, 32) => (0, key.with_type(KeyType::Fetch).with_databyte(databyte)),
            (KeyType::Node, 33) => (0, key.with_type(KeyType::Segment).with_databyte(databyte)),
            (KeyType::Node, 34) => (0, key.with_type(KeyType::Meter).with_databyte(0)),
            (KeyType::Node, 35) => (0, key.with_databyte(databyte)),
            (KeyType::Node, 36) => (0, key.with_type(KeyType::Sense).with_databyte(key.databyte() | 0xC0)),
            (KeyType::Page, 0) => (0, key.with_databyte(key.databyte() | MemoryFlags::READ_ONLY.bits())),
            (KeyType::Data, _) => (RC_DATA, Key::NULL),
            _ => (RC_INVALID, Key::NULL),
        }
    }
}

fn sensory(k: Key) -> Key {
    match k.kind() {
        KeyType::Data => k,
        KeyType::Page => k.with_databyte(k.databyte() | MemoryFlags::READ_ONLY.bits()),
        KeyType::Segment => k.with_databyte(k.databyte() | 0xC0),
        KeyType::Node | KeyType::Fetch | KeyType::Sense => {
            k.with_type(KeyType::Sense).with_databyte(k.databyte() | 0xC0)
        }
        _ => Key::NULL,
    }
}

fn alleged_type(k: Key) -> u32 {
    match k.kind() {
        KeyType::Data => RC_DATA,
        KeyType::Page if k.memory_flags().contains(MemoryFlags::READ_ONLY) => 0x1202,
        KeyType::Page => 0x202,
        KeyType::Node => 3,
        KeyType::Fetch => 4,
        KeyType::Sense => 1,
        KeyType::Meter => 6,
        KeyType::Segment => {
            0x05 + (u32::from(k.lss()) << 8)
                + if k.memory_flags().contains(MemoryFlags::READ_ONLY) { 0x1000 } else { 0 }
        }
        other => panic!("unexpected key type {other:?} in the model"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn keys_behave_as_the_model_says(ops in proptest::collection::vec(op(), 1..60)) {
        let (_s, mut k, operator, prime) = kernel_with_operator(8 << 20);
        let target = {
            let mut b = Builder::new(&mut k);
            let root = b.domain(&DomainSpec { meter: prime, state: RunState::Available, ..Default::default() }).unwrap();
            b.domain_key(root)
        };
        operator.set_key(&mut k, 1, Key::range(KeyType::NodeRange, Cda::node(RANGE_FIRST), RANGE_COUNT as u32)).unwrap();
        operator.set_key(&mut k, 2, Key::range(KeyType::PageRange, Cda::page(RANGE_FIRST), RANGE_COUNT as u32)).unwrap();
        operator.set_key(&mut k, 3, target).unwrap();
        let mut m = Model::default();
        for op in ops {
            let (expected_code, expected_key, reply) = step(&mut k, &operator, &mut m, &op);
            prop_assert_eq!(reply.code, expected_code, "{:?}", op);
            if let Some(key) = expected_key {
                prop_assert_eq!(reply.keys[0], key, "{:?}", op);
            }
        }
    }
}

/// Performs one operation on the kernel and on the model.
fn step(
    k: &mut kernel::kernel::Kernel,
    operator: &kernel::operator::Operator,
    m: &mut Model,
    op: &Op,
) -> (u32, Option<Key>, kernel::operator::Reply) {
    let call = |k: &mut kernel::kernel::Kernel, slot: usize, order: u32, string: &[u8], pass: &[usize]| {
        operator.call(k, slot, order, string, pass).expect("host call")
    };
    let keep = |k: &mut kernel::kernel::Kernel, m: &mut Model, into: usize, key: Key| {
        operator.set_key(k, into, key).unwrap();
        m.regs.insert(into, key);
    };
    match *op {
        Op::Create { node, offset, into } => {
            let reply = call(k, if node { 1 } else { 2 }, 0, &offset.to_le_bytes(), &[]);
            if offset >= RANGE_COUNT {
                return (1, None, reply);
            }
            let cda = Model::cda(node, offset);
            let (allocated, id) = m.alloc(cda);
            if allocated {
                return (2, None, reply);
            }
            m.ids.insert(cda, (true, id));
            let key = Key::object(if node { KeyType::Node } else { KeyType::Page }, cda, id, 0);
            keep(k, m, into, reply.keys[0]);
            (0, Some(key), reply)
        }
        Op::Sever { node, reg } | Op::Destroy { node, reg } => {
            let destroy = matches!(op, Op::Destroy { .. });
            let reply = call(k, if node { 1 } else { 2 }, if destroy { 6 } else { 2 }, &[], &[reg]);
            let key = m.reg(reg);
            let member = key.kind() == if node { KeyType::Node } else { KeyType::Page }
                && key.databyte() == 0
                && !key.is_null();
            if !member {
                return (u32::MAX, None, reply);
            }
            let cda = key.cda();
            let (allocated, id) = m.alloc(cda);
            m.ids.insert(cda, (allocated && !destroy, id + 1));
            if destroy {
                m.slots.retain(|(c, _), _| *c != cda);
                m.bytes.retain(|(c, _), _| *c != cda);
                (0, None, reply)
            } else {
                (0, Some(Key::object(key.kind(), cda, id + 1, 0)), reply)
            }
        }
        Op::Swap { reg, slot, with } => {
            let arg = m.reg(with);
            let reply = call(k, reg, 16 + slot, &[], &[with]);
            let (code, old) = m.node_op(reg, 16 + slot, arg, 0);
            (code, Some(old), reply)
        }
        Op::Fetch { reg, slot, into } => {
            let reply = call(k, reg, slot, &[], &[]);
            let (code, key) = m.node_op(reg, slot, Key::NULL, 0);
            if code == 0 {
                keep(k, m, into, reply.keys[0]);
            }
            (code, Some(key), reply)
        }
        Op::Make { reg, kind, databyte, into } => {
            let reply = call(k, reg, kind, &[databyte], &[]);
            let (code, key) = m.node_op(reg, kind, Key::NULL, databyte);
            if code == 0 {
                keep(k, m, into, reply.keys[0]);
            }
            (code, Some(key), reply)
        }
        Op::Write { reg, offset, byte } => {
            let reply = call(k, reg, 4096 + offset, &[byte], &[]);
            let key = m.reg(reg);
            let code = match key.kind() {
                KeyType::Page if key.memory_flags().contains(MemoryFlags::READ_ONLY) => RC_INVALID,
                KeyType::Page => {
                    m.bytes.insert((key.cda(), offset), byte);
                    0
                }
                KeyType::Data => RC_DATA,
                _ => RC_INVALID,
            };
            (code, None, reply)
        }
        Op::TestZero { reg } => {
            let reply = call(k, reg, 41, &[], &[]);
            let key = m.reg(reg);
            let code = match key.kind() {
                KeyType::Page => u32::from(m.bytes.iter().any(|((c, _), _)| *c == key.cda())),
                KeyType::Data => RC_DATA,
                _ => RC_INVALID,
            };
            (code, None, reply)
        }
        Op::AllegedType { reg } => {
            let reply = call(k, reg, KT, &[], &[]);
            (alleged_type(m.reg(reg)), None, reply)
        }
        Op::DomainSwapKey { slot, with } => {
            let arg = m.reg(with);
            let reply = call(k, 3, 48 + slot, &[], &[with]);
            let old = m.current(m.domain_keys.get(&slot).copied().unwrap_or(Key::NULL));
            m.domain_keys.insert(slot, arg);
            (0, Some(old), reply)
        }
        Op::DomainGetKey { slot, into } => {
            let reply = call(k, 3, 16 + slot, &[], &[]);
            let key = if slot == 0 {
                Key::NULL
            } else {
                m.current(m.domain_keys.get(&slot).copied().unwrap_or(Key::NULL))
            };
            keep(k, m, into, reply.keys[0]);
            (0, Some(key), reply)
        }
    }
}
