//! The key-inspecting misc keys, as KeyKOS has them (`Base/jmiscc.c`):
//! discrim's classes and discreet test, keybits, and the domain tool's
//! brand checks, directly and through a segment's or a meter's keeper.
//! Invoked through the operator, so through the real gate.

use gnosis_tests::kernel_with_operator;
use kernel::abi::*;
use kernel::builder::{Builder, DomainSpec};
use kernel::domain::RunState;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key, KeyType, MemoryFlags, MiscKind, ResumeKind};
use kernel::operator::{Operator, Reply};
use kernel::segment::format_key;

/// Operator key registers the tests use.
const TOOL: usize = 5;
const A: usize = 6;
const B: usize = 7;

fn call(k: &mut Kernel, op: &Operator, tool: Key, order: u32, a: Key, b: Key) -> Reply {
    op.set_key(k, TOOL, tool).unwrap();
    op.set_key(k, A, a).unwrap();
    op.set_key(k, B, b).unwrap();
    op.call(k, TOOL, order, &[], &[A, B]).unwrap()
}

/// A domain branded with `brand`, available; its root.
fn branded_domain(k: &mut Kernel, meter: Key, brand: Key) -> Cda {
    let mut b = Builder::new(k);
    let memory = b.address_space().unwrap();
    let spec = DomainSpec { memory, meter, brand, state: RunState::Available, ..Default::default() };
    b.domain(&spec).unwrap()
}

#[test]
fn discrim_classifies_and_tells_discreet_keys_as_keykos_does() {
    let (_s, mut k, op, prime) = kernel_with_operator(8 << 20);
    let discrim = Key::misc(MiscKind::Discrim);
    let mut b = Builder::new(&mut k);
    let (page, node) = (b.page().unwrap(), b.node().unwrap());
    let page_key = b.key(KeyType::Page, page, 0);
    let node_key = b.key(KeyType::Node, node, 0);
    let ro_nc = (MemoryFlags::READ_ONLY | MemoryFlags::NO_CALL).bits();
    let root = branded_domain(&mut k, prime, Key::NULL);
    let start = Builder::new(&mut k).start_key(root, 0);
    let resume = Key::resume(ResumeKind::Return, root, 0);
    let classes = [
        (Key::data(5), DISCRIM_CLASS_DATA),
        (resume, DISCRIM_CLASS_RESUME),
        (page_key, DISCRIM_CLASS_MEMORY),
        (node_key, DISCRIM_CLASS_MEMORY),
        (node_key.with_type(KeyType::Segment), DISCRIM_CLASS_MEMORY),
        (node_key.with_type(KeyType::Sense), DISCRIM_CLASS_MEMORY),
        (node_key.with_type(KeyType::Fetch), DISCRIM_CLASS_OTHER),
        (prime, DISCRIM_CLASS_METER),
        (start, DISCRIM_CLASS_OTHER),
        (start.with_type(KeyType::Domain), DISCRIM_CLASS_OTHER),
        (Key::misc(MiscKind::Returner), DISCRIM_CLASS_OTHER),
    ];
    for (key, class) in classes {
        assert_eq!(call(&mut k, &op, discrim, DISCRIM_CLASSIFY, key, Key::NULL).code, class, "{key:?}");
    }
    let discreet = [
        (node_key.with_type(KeyType::Segment).with_databyte(ro_nc), true),
        (node_key.with_type(KeyType::Segment).with_databyte(MemoryFlags::READ_ONLY.bits()), false),
        (page_key.with_databyte(MemoryFlags::READ_ONLY.bits()), true),
        (page_key, false),
        (node_key.with_type(KeyType::Sense), true),
        (node_key.with_type(KeyType::Fetch), false),
        (node_key, false),
        (Key::data(1), false),
        (Key::misc(MiscKind::Returner), false),
    ];
    for (key, yes) in discreet {
        let rc = call(&mut k, &op, discrim, DISCRIM_DISCREET, key, Key::NULL).code;
        assert_eq!(rc, u32::from(!yes), "{key:?}");
    }
    assert_eq!(call(&mut k, &op, discrim, DISCRIM_COMPARE, page_key, page_key).code, 0);
    assert_eq!(call(&mut k, &op, discrim, DISCRIM_COMPARE, page_key, node_key).code, 1);
    assert_eq!(call(&mut k, &op, discrim, KT, Key::NULL, Key::NULL).code, AKT_DISCRIM);
}

#[test]
fn keybits_answers_order_0_and_its_type_only() {
    let (_s, mut k, op, _prime) = kernel_with_operator(8 << 20);
    let keybits = Key::misc(MiscKind::Keybits);
    let key = Key::data(0x1234);
    let reply = call(&mut k, &op, keybits, KEYBITS_GET, key, Key::NULL);
    assert_eq!((reply.code, reply.string), (0, key.to_bytes().to_vec()));
    assert_eq!(call(&mut k, &op, keybits, 1, key, Key::NULL).code, RC_INVALID);
    assert_eq!(call(&mut k, &op, keybits, KT, key, Key::NULL).code, AKT_KEYBITS);
}

#[test]
fn the_domain_tool_recognises_a_brand_directly_and_through_keepers() {
    let (_s, mut k, op, prime) = kernel_with_operator(8 << 20);
    let tool = Key::misc(MiscKind::DomainTool);
    let brand = Key::data(0xB0B);
    let root = branded_domain(&mut k, prime, brand);
    let other = branded_domain(&mut k, prime, Key::data(0xBAD));
    let b = Builder::new(&mut k);
    let start = b.start_key(root, 7);
    let root_node = b.key(KeyType::Node, root, 0);
    // Make domain (order 0).
    let reply = call(&mut k, &op, tool, DOMAIN_TOOL_MAKE_DOMAIN, root_node, Key::NULL);
    assert_eq!((reply.code, reply.keys[0]), (0, root_node.with_type(KeyType::Domain)));
    assert_eq!(call(&mut k, &op, tool, DOMAIN_TOOL_MAKE_DOMAIN, start, Key::NULL).code, DOMAIN_TOOL_RC_NO);
    // Identify a start, resume or domain key: rc = its databyte.
    let reply = call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_START, start, brand);
    assert_eq!((reply.code, reply.keys[0]), (7, root_node), "rc is the databyte, key 0 the root");
    let wrong_brand = call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_START, start, Key::data(0xBAD));
    assert_eq!(wrong_brand.code, DOMAIN_TOOL_RC_NO);
    let call_id = kernel::object::node::header(k.store(), root).call_id;
    let fault = Key::resume(ResumeKind::Fault, root, call_id);
    assert_eq!(
        call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_RESUME, fault, brand).code,
        u32::from(fault.databyte())
    );
    let restart = Key::resume(ResumeKind::Restart, root, call_id);
    assert_eq!(call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_RESUME, restart, brand).code, DOMAIN_TOOL_RC_NO);
    let domain = root_node.with_type(KeyType::Domain);
    assert_eq!(call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_DOMAIN, domain, brand).code, 0);
    assert_eq!(call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_DOMAIN, start, brand).code, DOMAIN_TOOL_RC_NO);

    // A red segment whose keeper (slot 14) is the start key.
    let mut b = Builder::new(&mut k);
    let seg = b.node().unwrap();
    b.set(seg, 14, start).unwrap();
    b.set(seg, 15, format_key(0, 0, Some(14), None)).unwrap();
    let segment = b.key(KeyType::Segment, seg, MemoryFlags::READ_ONLY.bits());
    let reply = call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_SEGMENT_START, segment, brand);
    let seg_node = Builder::new(&mut k).key(KeyType::Node, seg, MemoryFlags::READ_ONLY.bits());
    assert_eq!((reply.code, reply.keys[0]), (14 * 256 + 7, seg_node), "slot · 256 + databyte");
    for (order, key, why) in [
        (DOMAIN_TOOL_IDENTIFY_SEGMENT_START, segment.with_databyte(MemoryFlags::NO_CALL.bits()), "no-call"),
        (DOMAIN_TOOL_IDENTIFY_SEGMENT_START, segment.with_databyte(3), "not red"),
        (DOMAIN_TOOL_IDENTIFY_SEGMENT_RESUME, segment, "the keeper is a start key"),
        (DOMAIN_TOOL_IDENTIFY_METER_START, segment, "not a meter"),
    ] {
        assert_eq!(call(&mut k, &op, tool, order, key, brand).code, DOMAIN_TOOL_RC_NO, "{why}");
    }
    let other_start = Builder::new(&mut k).start_key(other, 0);
    Builder::new(&mut k).set(seg, 14, other_start).unwrap();
    let reply = call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_SEGMENT_START, segment, brand);
    assert_eq!(reply.code, DOMAIN_TOOL_RC_NO, "another brand's keeper");

    // A meter whose keeper is a domain key.
    let meter = Builder::new(&mut k).meter(prime, 1000, domain).unwrap();
    let reply = call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_METER_DOMAIN, meter, brand);
    assert_eq!((reply.code, reply.keys[0].cda()), (2 * 256, meter.cda()));
    assert_eq!(
        call(&mut k, &op, tool, DOMAIN_TOOL_IDENTIFY_METER_START, meter, brand).code,
        DOMAIN_TOOL_RC_NO
    );
    assert_eq!(call(&mut k, &op, tool, KT, Key::NULL, Key::NULL).code, AKT_DOMAIN_TOOL);
    assert_eq!(call(&mut k, &op, tool, 4, Key::NULL, Key::NULL).code, RC_INVALID);
}
