//! Traps and faults to a busy keeper: a trap is an implicit CALL, so when
//! the keeper is busy the trapped domain waits on its stall queue, and the
//! keeper hears of it once it is available, for every kind of trap and
//! fault. (Before the transitions were put in one place, the error key's
//! trap was lost: the invoker was left waiting, and the stall queue woke a
//! domain the scheduler skipped.)

use gnosis_tests::{Spawn, asm, kernel_with_operator, spawn};
use kernel::builder::{Builder, DomainSpec};
use kernel::domain::RunState;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key, KeyType, MemoryFlags, MiscKind};
use kernel::segment::format_key;
use kernel::trap;

/// A keeper that is busy for a while (its callers stall), then records the
/// order code of every call it gets (a trap code, or a segment fault code)
/// and the pc in its string, and becomes available again without resuming
/// anyone: each trapped domain stays waiting, its trap code set.
const BUSY_KEEPER: &str = r#"
    .include "gnosis.inc"
_start:
    li   t0, 300000
1:  addi t0, t0, -1
    bnez t0, 1b                        # busy: callers stall
    li   s1, 0
wait:
    li   a0, 0
    EXIT a1, 0, RETURN
    ENTRY a2, 1, 0, 0, 0, 0, 0
    la   a5, info
    li   a6, 12
    ecall
    la   t0, codes
    slli t1, s1, 2
    add  t0, t0, t1
    sw   a0, 0(t0)
    addi s1, s1, 1
    la   t0, count
    sw   s1, 0(t0)
    j    wait
    .data
count: .word 0
codes: .space 64
info:  .space 12
"#;

/// Where `count` and `codes` land in BUSY_KEEPER (data at 0x11000).
const COUNT: u32 = 0x11000;
const CODES: u32 = 0x11004;

fn word(k: &mut Kernel, root: Cda, vaddr: u32) -> u32 {
    let mut b = [0u8; 4];
    k.read_memory(root, vaddr, &mut b).expect("mapped");
    u32::from_le_bytes(b)
}

/// Programs that each trap at once, with the trap code their keeper gets.
fn trapping_programs() -> Vec<(&'static str, String, u32)> {
    vec![
        ("illegal", "_start: .word 0\n".into(), trap::ILLEGAL_INSTRUCTION),
        ("ebreak", "_start: ebreak\n".into(), trap::BREAKPOINT),
        ("misaligned jump", "_start: li t0, 0x10002\n jr t0\n".into(), trap::MISALIGNED_JUMP),
        ("misaligned load", "_start: lw a0, 2(zero)\n".into(), trap::MISALIGNED_LOAD),
        ("misaligned store", "_start: sw a0, 2(zero)\n".into(), trap::MISALIGNED_STORE),
        ("bad invocation", "_start: li a1, 0x30\n ecall\n".into(), trap::BAD_INVOCATION),
        (
            "error key",
            ".include \"gnosis.inc\"\n_start: KCALL 1, 77\n j _start\n".into(),
            trap::ERROR_KEY,
        ),
        ("unmapped load", "_start: li t0, 0x40000000\n lw a0, 0(t0)\n".into(), trap::MEMORY_FAULT_BASE + 3),
        (
            // The returner sends the string back to its caller, whose
            // receive buffer is not mapped.
            "receive fault",
            ".include \"gnosis.inc\"\n_start: KCALL_STR 2, 0, msg, 4, 0x40000000, 16\n j _start\n.data\nmsg: .word 1\n"
                .into(),
            trap::RECEIVE_FAULT,
        ),
    ]
}

#[test]
fn every_kind_of_trap_waits_for_a_busy_keeper_and_is_delivered() {
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let keeper = spawn(&mut k, prime, &asm(BUSY_KEEPER), Spawn::default());
    let keeper_key = Builder::new(&mut k).start_key(keeper, 0);
    let keys = vec![(1, Key::misc(MiscKind::Error)), (2, Key::misc(MiscKind::Returner))];
    let programs = trapping_programs();
    let workers: Vec<(Cda, &str, u32)> = programs
        .iter()
        .map(|(name, src, code)| {
            let spawn_as = Spawn { keeper: keeper_key, keys: keys.clone(), ..Default::default() };
            (spawn(&mut k, prime, &asm(src), spawn_as), *name, *code)
        })
        .collect();
    // Everyone has trapped while the keeper is still busy (its loop takes
    // 600,000 instructions, slices are 100,000).
    k.run(250_000).unwrap();
    assert_eq!(word(&mut k, keeper, COUNT), 0, "the keeper is still busy");
    for &(w, name, code) in &workers {
        let d = k.domain_state(w).unwrap().unwrap();
        assert_eq!(d.trap.code, code, "{name}: trap recorded");
        assert_eq!(d.state, RunState::Running, "{name}: stalled on the keeper, still running");
    }
    k.run(20_000_000).unwrap();
    let got = word(&mut k, keeper, COUNT) as usize;
    let mut codes: Vec<u32> = (0..got).map(|i| word(&mut k, keeper, CODES + 4 * i as u32)).collect();
    let mut expected: Vec<u32> = workers.iter().map(|w| w.2).collect();
    codes.sort_unstable();
    expected.sort_unstable();
    assert_eq!(codes, expected, "the keeper heard of every trap, once each");
    for &(w, name, code) in &workers {
        let d = k.domain_state(w).unwrap().unwrap();
        assert_eq!(
            (d.state, d.trap.code),
            (RunState::Waiting, code),
            "{name}: delivered, waiting on its keeper"
        );
    }
    k.check_invariants().unwrap();
}

#[test]
fn a_fault_to_a_busy_segment_keeper_waits_and_is_delivered() {
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let keeper = spawn(&mut k, prime, &asm(BUSY_KEEPER), Spawn::default());
    let keeper_key = Builder::new(&mut k).start_key(keeper, 0);
    // The worker's memory is a red node of 14 page slots whose keeper is
    // the busy keeper; its code is in slot 13 and it loads from empty slot 2.
    let code = kernel::elf::parse(&asm(".text\n_start: li t0, 0x2000\n lw a0, 0(t0)\n j _start\n")).unwrap();
    let mut b = Builder::new(&mut k);
    let seg = b.node().unwrap();
    let code_page = b.page().unwrap();
    b.set(seg, 13, b.key(KeyType::Page, code_page, MemoryFlags::READ_ONLY.bits())).unwrap();
    b.set(seg, 14, keeper_key).unwrap();
    b.set(seg, 15, format_key(3, 14, Some(14), None)).unwrap();
    b.kernel().write_page(code_page, 0, &code.segments[0].data).unwrap();
    let spec = DomainSpec {
        memory: b.key(KeyType::Node, seg, 0),
        meter: prime,
        pc: 13 * 4096,
        ..Default::default()
    };
    let w = b.domain(&spec).unwrap();
    k.run(250_000).unwrap();
    assert_eq!(word(&mut k, keeper, COUNT), 0, "the keeper is still busy");
    assert_eq!(k.domain_state(w).unwrap().unwrap().state, RunState::Running, "stalled, running");
    k.run(20_000_000).unwrap();
    assert_eq!(word(&mut k, keeper, COUNT), 1, "the keeper heard of the fault once");
    assert_eq!(word(&mut k, keeper, CODES), 3, "order code = segment fault code 3 (no memory)");
    assert_eq!(k.domain_state(w).unwrap().unwrap().state, RunState::Waiting);
}
