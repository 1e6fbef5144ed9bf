//! RV32IM conformance: every instruction, on random and edge-case operands,
//! against a reference written here independently of the interpreter
//! (i64/i128 arithmetic straight from the unprivileged spec's words).
//! Every case runs twice, interpreted and translated at once, and the two
//! must leave the same hart, exit and memory.

use assembler::encode_instruction;
use kernel::cpu::flat::FlatMemory;
use kernel::cpu::{self, CodeTlb, DataTlb, Exit, Hart, Tier, Trap};
use proptest::prelude::*;

const BASE: u32 = 0x1000;
const DATA: u32 = 0x8000;

type Outcome = (Hart, Exit<kernel::cpu::flat::OutOfRange>, FlatMemory);

/// Runs `text` (plus an ebreak) with x5 = a, x6 = b and a data page at
/// 0x8000, interpreted and translated; checks both agree and returns the
/// hart and why it stopped.
fn run(text: &str, a: u32, b: u32, memory: &[u8]) -> Outcome {
    let mut words = encode_instruction(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    words.push(0x0010_0073);
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let [interpreted, translated] =
        [Tier::Interpret, Tier::Translate { threshold: 0 }].map(|tier| run_with(tier, &code, a, b, memory));
    assert_eq!(interpreted.0.regs[..32], translated.0.regs[..32], "{text}: registers differ between tiers");
    assert_eq!((interpreted.0.pc, interpreted.1), (translated.0.pc, translated.1), "{text}: exits differ");
    assert_eq!(
        interpreted.2.read(BASE, 16 * 4096),
        translated.2.read(BASE, 16 * 4096),
        "{text}: memory differs"
    );
    interpreted
}

fn run_with(tier: Tier, code: &[u8], a: u32, b: u32, memory: &[u8]) -> Outcome {
    let mut mem = FlatMemory::new(BASE, 16);
    mem.load(BASE, code);
    mem.load(DATA, memory);
    let mut hart = Hart { pc: BASE, ..Hart::default() };
    hart.set_x(5, a);
    hart.set_x(6, b);
    hart.set_x(8, DATA + 0x100);
    let (exit, _) = cpu::run(&mut hart, &mut DataTlb::default(), &mut CodeTlb::new(tier), &mut mem, 1000);
    (hart, exit, mem)
}

/// The reference: what `op rd, a, b` (or with immediate b) leaves in rd.
fn reference(op: &str, a: u32, b: u32) -> u32 {
    let (sa, sb) = (a as i32 as i64, b as i32 as i64);
    let (ua, ub) = (a as u64, b as u64);
    let sh = b & 31;
    match op {
        "add" | "addi" => (sa + sb) as u32,
        "sub" => (sa - sb) as u32,
        "sll" | "slli" => ((ua << sh) & 0xFFFF_FFFF) as u32,
        "srl" | "srli" => (ua >> sh) as u32,
        "sra" | "srai" => (sa >> sh) as u32,
        "slt" | "slti" => (sa < sb) as u32,
        "sltu" | "sltiu" => (ua < ub) as u32,
        "xor" | "xori" => a ^ b,
        "or" | "ori" => a | b,
        "and" | "andi" => a & b,
        "mul" => (sa as i128 * sb as i128) as u32,
        "mulh" => ((sa as i128 * sb as i128) >> 32) as u32,
        "mulhsu" => ((sa as i128 * ub as i128) >> 32) as u32,
        "mulhu" => ((ua as u128 * ub as u128) >> 32) as u32,
        // Spec table 7.1: division by zero and signed overflow.
        "div" if b == 0 => u32::MAX,
        "div" if a == 0x8000_0000 && b == u32::MAX => a,
        "div" => (sa / sb) as u32,
        "divu" if b == 0 => u32::MAX,
        "divu" => (ua / ub) as u32,
        "rem" if b == 0 => a,
        "rem" if a == 0x8000_0000 && b == u32::MAX => 0,
        "rem" => (sa % sb) as u32,
        "remu" if b == 0 => a,
        "remu" => (ua % ub) as u32,
        _ => panic!("no reference for {op}"),
    }
}

const R_OPS: [&str; 18] = [
    "add", "sub", "sll", "srl", "sra", "slt", "sltu", "xor", "or", "and", "mul", "mulh", "mulhsu", "mulhu",
    "div", "divu", "rem", "remu",
];
const I_OPS: [&str; 6] = ["addi", "slti", "sltiu", "xori", "ori", "andi"];
const EDGES: [u32; 10] =
    [0, 1, 2, 31, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE, 0x1234_5678, 0x8765_4321];

fn check_r(op: &str, a: u32, b: u32) {
    let (h, exit, _) = run(&format!("{op} x7, x5, x6"), a, b, &[]);
    assert_eq!(exit, Exit::Trap(Trap::Breakpoint));
    assert_eq!(h.x(7), reference(op, a, b), "{op} {a:#x}, {b:#x}");
}

#[test]
fn register_ops_on_edge_cases() {
    for op in R_OPS {
        for a in EDGES {
            for b in EDGES {
                check_r(op, a, b);
            }
        }
    }
}

#[test]
fn immediate_ops_and_shifts_on_edge_cases() {
    for op in I_OPS {
        for a in EDGES {
            for imm in [-2048i32, -1, 0, 1, 2047, 0x555] {
                let (h, _, _) = run(&format!("{op} x7, x5, {imm}"), a, 0, &[]);
                assert_eq!(h.x(7), reference(op, a, imm as u32), "{op} {a:#x}, {imm}");
            }
        }
    }
    for op in ["slli", "srli", "srai"] {
        for a in EDGES {
            for sh in [0, 1, 15, 31] {
                let (h, _, _) = run(&format!("{op} x7, x5, {sh}"), a, 0, &[]);
                assert_eq!(h.x(7), reference(op, a, sh), "{op} {a:#x}, {sh}");
            }
        }
    }
}

#[test]
fn writes_to_x0_are_ignored() {
    for text in ["addi x0, x5, 1", "add x0, x5, x6", "lui x0, 5", "lw x0, 0(s0)", "jal x0, 4"] {
        let (h, _, _) = run(text, 7, 9, &[1, 2, 3, 4]);
        assert_eq!(h.x(0), 0, "{text}");
    }
}

#[test]
fn upper_immediates_and_links() {
    let (h, _, _) = run("lui x7, 0xfffff", 0, 0, &[]);
    assert_eq!(h.x(7), 0xFFFF_F000);
    let (h, _, _) = run("auipc x7, 0x12345", 0, 0, &[]);
    assert_eq!(h.x(7), BASE + 0x1234_5000);
    let (h, _, _) = run("jal x7, 8\n ebreak", 0, 0, &[]);
    assert_eq!((h.x(7), h.pc), (BASE + 4, BASE + 8));
    // jalr clears bit 0 of the target and links before jumping (rd == rs1).
    let (h, _, _) = run("jalr x5, 9(x5)\n ebreak\n ebreak", BASE, 0, &[]);
    assert_eq!((h.x(5), h.pc), (BASE + 4, BASE + 8));
}

#[test]
fn loads_extend_and_stores_truncate() {
    let bytes = [0x80, 0xFF, 0x7F, 0x01, 0x34, 0x12, 0x00, 0x80];
    let cases = [
        ("lb", 0, 0xFFFF_FF80),
        ("lbu", 0, 0x80),
        ("lh", 0, 0xFFFF_FF80),
        ("lhu", 0, 0xFF80),
        ("lw", 0, 0x017F_FF80),
        ("lh", 6, 0xFFFF_8000),
        ("lb", 3, 1),
    ];
    for (op, off, want) in cases {
        let (h, exit, _) = run(&format!("{op} x7, {}(s0)", off - 0x100), 0, 0, &bytes);
        assert_eq!(exit, Exit::Trap(Trap::Breakpoint), "{op}");
        assert_eq!(h.x(7), want, "{op} at {off}");
    }
    for (op, want) in [("sb", [0x78, 0, 0, 0]), ("sh", [0x78, 0x56, 0, 0]), ("sw", [0x78, 0x56, 0x34, 0x12])]
    {
        let (_, _, mem) = run(&format!("{op} x5, -256(s0)"), 0x1234_5678, 0, &[0; 4]);
        assert_eq!(mem.read(DATA, 4), want, "{op}");
    }
}

#[test]
fn misaligned_accesses_and_jumps_trap_without_side_effects() {
    let (h, exit, _) = run("lw x7, -255(s0)", 0, 0, &[]);
    assert_eq!((exit, h.pc, h.x(7)), (Exit::Trap(Trap::MisalignedLoad { address: DATA + 1 }), BASE, 0));
    let (_, exit, _) = run("sh x5, -253(s0)", 0, 0, &[]);
    assert_eq!(exit, Exit::Trap(Trap::MisalignedStore { address: DATA + 3 }));
    let (h, exit, _) = run("jalr x7, 2(x5)", BASE, 0, &[]);
    assert_eq!(
        (exit, h.pc, h.x(7)),
        (Exit::Trap(Trap::MisalignedJump { target: BASE + 2 }), BASE, 0),
        "rd is not written"
    );
    let (h, exit, _) = run("beq x5, x5, 6", 0, 0, &[]);
    assert_eq!((exit, h.pc), (Exit::Trap(Trap::MisalignedJump { target: BASE + 6 }), BASE));
    let (_, exit, _) = run("bne x5, x5, 6", 0, 0, &[]);
    assert_eq!(exit, Exit::Trap(Trap::Breakpoint), "an untaken branch to a misaligned target is fine");
}

#[test]
fn branches_compare_as_the_spec_says() {
    type Cmp = fn(u32, u32) -> bool;
    let cases: [(&str, Cmp); 6] = [
        ("beq", |a, b| a == b),
        ("bne", |a, b| a != b),
        ("blt", |a, b| (a as i32) < (b as i32)),
        ("bge", |a, b| (a as i32) >= (b as i32)),
        ("bltu", |a, b| a < b),
        ("bgeu", |a, b| a >= b),
    ];
    for (op, taken) in cases {
        for a in EDGES {
            for b in EDGES {
                let (h, _, _) = run(&format!("{op} x5, x6, 8\n ebreak\n ebreak"), a, b, &[]);
                assert_eq!(h.pc, if taken(a, b) { BASE + 8 } else { BASE + 4 }, "{op} {a:#x} {b:#x}");
            }
        }
    }
}

#[test]
fn illegal_words_ecall_and_fence_i() {
    let (h, exit, _) = run(".word 0xffffffff", 0, 0, &[]);
    assert_eq!((exit, h.pc), (Exit::Trap(Trap::Illegal { word: 0xFFFF_FFFF }), BASE));
    let (h, exit, _) = run("ecall", 0, 0, &[]);
    assert_eq!((exit, h.pc), (Exit::Ecall, BASE));
    let (_, exit, _) = run("fence.i", 0, 0, &[]);
    assert_eq!(exit, Exit::Trap(Trap::Breakpoint));
}

#[test]
fn self_modifying_code_is_seen() {
    // Overwrite the next instruction (an ebreak) with addi x7, x7, 5, then run it.
    let text = "lui t0, 0x1\n li t1, 0x00538393\n sw t1, 16(t0)\n nop\n ebreak\n ebreak";
    let (h, _, _) = run(text, 0, 0, &[]);
    assert_eq!(h.x(7), 5);
}

proptest! {
    #[test]
    fn register_ops_match_the_reference(op in proptest::sample::select(R_OPS.to_vec()), a in any::<u32>(), b in any::<u32>()) {
        check_r(op, a, b);
    }

    #[test]
    fn random_words_never_panic(words in proptest::collection::vec(any::<u32>(), 1..64), regs in any::<[u32; 8]>()) {
        let mut mem = FlatMemory::new(BASE, 16);
        mem.load(BASE, &words.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<_>>());
        let mut hart = Hart { pc: BASE, ..Hart::default() };
        for (i, r) in regs.iter().enumerate() {
            hart.set_x(i + 5, *r);
        }
        let (mut d, mut c) = (DataTlb::default(), CodeTlb::default());
        for _ in 0..8 {
            let (exit, n) = cpu::run(&mut hart, &mut d, &mut c, &mut mem, 5000);
            prop_assert!(n <= 5000);
            if exit != Exit::Budget && exit != Exit::Ecall {
                break;
            }
            hart.pc = hart.pc.wrapping_add(4);
        }
    }
}
