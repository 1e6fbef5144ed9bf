//! Address segments: black and red trees, windows, background keys,
//! read-only and no-call, every fault code, and a demand-paging segment
//! keeper written in assembly.

use gnosis_tests::{Spawn, asm, kernel, kernel_with_operator, spawn};
use kernel::builder::Builder;
use kernel::cpu::Access;
use kernel::key::{Cda, Key, KeyType, MemoryFlags};
use kernel::segment::{FaultCode, format_key, translate, window_key};
use rustc_hash::FxHashSet;

fn t(
    k: &kernel::kernel::Kernel,
    memory: Key,
    addr: u32,
    access: Access,
) -> Result<(Cda, bool), (FaultCode, Option<Cda>)> {
    let mut walked = FxHashSet::default();
    translate(k.store(), &mut walked, memory, addr, access)
        .map(|t| (t.page, t.writable))
        .map_err(|f| (f.code, f.keeper.map(|k| k.node)))
}

#[test]
fn black_trees_map_pages_at_every_level() {
    let (_s, mut k) = kernel(8 << 20);
    let mut b = Builder::new(&mut k);
    let space = b.address_space().unwrap();
    let low = b.map_fresh(space, 0x0001_0000, 4096, false).unwrap()[0];
    let high = b.map_fresh(space, 0xFFFF_F000, 4096, true).unwrap()[0];
    assert_eq!(t(b.kernel(), space, 0x0001_0ABC, Access::Write), Ok((low, true)));
    assert_eq!(t(b.kernel(), space, 0xFFFF_FFFC, Access::Read), Ok((high, false)));
    assert_eq!(t(b.kernel(), space, 0xFFFF_F000, Access::Write), Err((FaultCode::ReadOnly, None)));
    assert_eq!(
        t(b.kernel(), space, 0x0002_0000, Access::Read),
        Err((FaultCode::Outside, None)),
        "an empty slot"
    );
}

#[test]
fn key_types_and_databytes_restrict_authority() {
    let (_s, mut k) = kernel(8 << 20);
    let mut b = Builder::new(&mut k);
    let node = b.node().unwrap();
    let page = b.page().unwrap();
    b.set(node, 0, b.key(KeyType::Page, page, 0)).unwrap();
    let node_key = b.key(KeyType::Node, node, 3);
    assert_eq!(t(b.kernel(), node_key, 0x10, Access::Write), Ok((page, true)));
    for weak in [
        node_key.with_type(KeyType::Fetch),
        node_key.with_type(KeyType::Sense),
        node_key.with_databyte(3 | MemoryFlags::READ_ONLY.bits()),
    ] {
        assert_eq!(t(b.kernel(), weak, 0x10, Access::Read), Ok((page, false)));
        assert_eq!(t(b.kernel(), weak, 0x10, Access::Write), Err((FaultCode::ReadOnly, None)));
    }
    assert_eq!(t(b.kernel(), node_key.with_databyte(2), 0, Access::Read), Err((FaultCode::LssRange, None)));
    assert_eq!(t(b.kernel(), node_key.with_databyte(9), 0, Access::Read), Err((FaultCode::LssRange, None)));
    assert_eq!(t(b.kernel(), Key::data(5), 0, Access::Read), Err((FaultCode::Outside, None)));
}

/// A red node: 2 initial slots of 4 KiB (ssc 3), keeper in slot 14,
/// background key in slot 13.
fn red(b: &mut Builder) -> (Key, Cda, Cda, Cda) {
    let n = b.node().unwrap();
    let (p0, p1, bg) = (b.page().unwrap(), b.page().unwrap(), b.page().unwrap());
    b.set(n, 0, b.key(KeyType::Page, p0, 0)).unwrap();
    b.set(n, 1, b.key(KeyType::Page, p1, 0)).unwrap();
    b.set(n, 13, b.key(KeyType::Page, bg, 0)).unwrap();
    b.set(n, 15, format_key(3, 2, Some(14), Some(13))).unwrap();
    (b.key(KeyType::Segment, n, 0), p0, p1, bg)
}

#[test]
fn red_nodes_windows_and_background_keys() {
    let (_s, mut k) = kernel(8 << 20);
    let mut b = Builder::new(&mut k);
    let (seg, p0, p1, bg) = red(&mut b);
    let n = seg.cda();
    assert_eq!(t(b.kernel(), seg, 0x0004, Access::Read), Ok((p0, true)));
    assert_eq!(t(b.kernel(), seg, 0x1004, Access::Read), Ok((p1, true)));
    assert_eq!(t(b.kernel(), seg, 0x0FFC, Access::Write), Ok((p0, true)));
    // Past the initial slots: the background key, with the whole address
    // (the background page is 4 KiB, so 0x2000 is outside it).
    assert_eq!(t(b.kernel(), seg, 0x2000, Access::Read), Err((FaultCode::Outside, Some(n))));
    // A read-only window onto slot 1 in slot 0.
    b.set(n, 0, window_key(0, Some(1), true, false)).unwrap();
    assert_eq!(t(b.kernel(), seg, 0x0010, Access::Read), Ok((p1, false)));
    assert_eq!(t(b.kernel(), seg, 0x0010, Access::Write), Err((FaultCode::ReadOnly, Some(n))));
    // A window onto the background key.
    b.set(n, 1, window_key(0, None, false, false)).unwrap();
    assert_eq!(t(b.kernel(), seg, 0x1010, Access::Write), Ok((bg, true)));
    // Misaligned window offset (not a multiple of the 4 KiB slot size is impossible: use ssc 4).
    b.set(n, 15, format_key(4, 2, Some(14), Some(13))).unwrap();
    b.set(n, 0, window_key(0x1000, Some(1), false, false)).unwrap();
    assert_eq!(t(b.kernel(), seg, 0x10, Access::Read), Err((FaultCode::WindowMisaligned, Some(n))));
}

#[test]
fn bad_formats_and_no_call() {
    let (_s, mut k) = kernel(8 << 20);
    let mut b = Builder::new(&mut k);
    let (seg, ..) = red(&mut b);
    let n = seg.cda();
    // The keeper is named in faults unless a no-call key is above it.
    assert_eq!(t(b.kernel(), seg, 0x5000, Access::Read), Err((FaultCode::Outside, Some(n))));
    let nocall = seg.with_databyte(MemoryFlags::NO_CALL.bits());
    assert_eq!(t(b.kernel(), nocall, 0x5000, Access::Read), Err((FaultCode::Outside, None)));
    b.set(n, 15, Key::object(KeyType::Page, Cda::page(3), 0, 0)).unwrap();
    assert_eq!(t(b.kernel(), seg, 0, Access::Read), Err((FaultCode::FormatNotData, None)));
    b.set(n, 15, Key::data(0x1_0000 | 0x23)).unwrap();
    assert_eq!(t(b.kernel(), seg, 0, Access::Read), Err((FaultCode::FormatBad, None)));
    b.set(n, 15, format_key(9, 2, None, None)).unwrap();
    assert_eq!(t(b.kernel(), seg, 0, Access::Read), Err((FaultCode::FormatBad, None)));
    // A node that contains itself: the walk gives up.
    let loop_node = b.node().unwrap();
    let looping = b.key(KeyType::Node, loop_node, 4);
    b.set(loop_node, 0, looping).unwrap();
    assert_eq!(t(b.kernel(), looping, 0, Access::Read), Err((FaultCode::LssRange, None)));
}

/// The domain's memory is a red segment with a keeper; it touches 4 pages
/// that are not there. The keeper (in assembly) gets each fault (order code
/// = fault code, string = pc, address, trap code; key 2 = node key to the
/// segment node, key 3 = fault key), creates a page with its page range
/// key, swaps it into the right slot and restarts the domain, which then
/// succeeds.
#[test]
fn a_demand_paging_keeper_maps_pages_on_fault() {
    let keeper = r#"
    .include "gnosis.inc"
_start:
    li   a0, 0
    EXIT a1, 0, RETURN
    ENTRY a2, 1, 0xC, 0, 0, 13, 14
    la   a5, fault
    li   a6, 12
    ecall
handle:
    la   t0, faults
    lw   t1, 0(t0)
    addi t1, t1, 1
    sw   t1, 0(t0)
    la   t0, fault
    lw   s1, 4(t0)               # faulting address
    srli s1, s1, 12              # page number = slot (ssc 3, 16 initial slots... 14 used)
    la   t0, next
    lw   t1, 0(t0)               # next offset in the page range
    addi t2, t1, 1
    sw   t2, 0(t0)
    la   a3, offset
    sw   t1, 0(a3)
    li   a0, 0                   # page range: create at offset t1 -> k12
    EXIT a1, 1, CALL, 1
    ENTRY a2, 0, 1, 12
    li   a4, 8
    ecall
    addi a0, s1, NODE_SWAP       # segment node slot s1 := the page
    EXIT a1, 13, CALL, 0, 1, 12
    ENTRY a2, 0, 0
    ecall
    li   a0, 0                   # restart the domain, wait for the next fault
    EXIT a1, 14, RETURN
    ENTRY a2, 1, 0xC, 0, 0, 13, 14
    la   a5, fault
    li   a6, 12
    ecall
    j    handle
    .data
fault: .space 12
faults: .word 0
next: .word 0
offset: .word 0, 0
"#;
    let worker = r#"
_start:
    li   t0, 0
    li   t1, 4
    li   s0, 0
1:  slli t2, t0, 12
    addi t3, t0, 10
    sw   t3, 8(t2)               # write page t0
    lw   t4, 8(t2)
    add  s0, s0, t4
    addi t0, t0, 1
    blt  t0, t1, 1b
    ebreak
"#;
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let kp = spawn(
        &mut k,
        prime,
        &asm(keeper),
        Spawn { keys: vec![(1, Key::range(KeyType::PageRange, Cda::page(300), 16))], ..Default::default() },
    );
    let keeper_key = Builder::new(&mut k).start_key(kp, 0);
    // The worker's code lives in a black tree; its data segment (addresses
    // 0..64 KiB) is a red node of 16 page slots whose keeper is `kp`: put
    // the red node in slot 0 of a lss-4 node... simpler: the worker's memory
    // is a red node with 14 initial 4 KiB slots, code in slot 13.
    let code = kernel::elf::parse(&asm(&format!(".text\n{worker}"))).unwrap();
    let mut b = Builder::new(&mut k);
    let seg = b.node().unwrap();
    let code_page = b.page().unwrap();
    b.set(seg, 13, b.key(KeyType::Page, code_page, MemoryFlags::READ_ONLY.bits())).unwrap();
    b.set(seg, 14, keeper_key).unwrap();
    b.set(seg, 15, format_key(3, 14, Some(14), None)).unwrap();
    let bytes = &code.segments[0].data;
    b.kernel().write_page(code_page, 0, bytes).unwrap();
    let spec = kernel::builder::DomainSpec {
        memory: b.key(KeyType::Node, seg, 0),
        meter: prime,
        pc: 13 * 4096,
        ..Default::default()
    };
    let w = b.domain(&spec).unwrap();
    k.run(5_000_000).unwrap();
    let d = k.domain_state(w).unwrap().unwrap();
    assert_eq!(d.trap.code, kernel::trap::BREAKPOINT, "the worker finished: {:?}", d.trap);
    assert_eq!(d.hart.x(8), 10 + 11 + 12 + 13, "every store landed and read back");
    let mut faults = [0u8; 4];
    k.read_memory(kp, 0x1100C, &mut faults).unwrap();
    assert_eq!(u32::from_le_bytes(faults), 4, "one fault per page");
}
