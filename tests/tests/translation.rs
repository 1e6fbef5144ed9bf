//! The translation tier against the interpreter: random RV32IM programs
//! with loops, calls, loads and stores (aligned and not, inside memory and
//! out of it), stores into their own code, divisions and traps, run in
//! rounds of random budgets. After every round, the translated run must
//! have the interpreter's exit, retired count, registers and pc, and at the
//! end the same memory.

use assembler::encode_instruction;
use kernel::cpu::flat::{FlatMemory, OutOfRange};
use kernel::cpu::{self, CodeTlb, DataTlb, Exit, Hart, Tier};
use proptest::prelude::*;

const BASE: u32 = 0x1000;
const DATA: u32 = 0x3000;
const PAGES: usize = 4;

/// One instruction of a random program, as assembler text. x8 holds the
/// data address and x9 the code address; they are never written, so most
/// accesses land in memory.
fn instruction() -> impl Strategy<Value = String> {
    let reg = || prop_oneof![Just(0u8), 1u8..8, 10u8..16];
    let alu = prop::sample::select(vec![
        "add", "sub", "sll", "srl", "sra", "slt", "sltu", "xor", "or", "and", "mul", "mulh", "mulhsu",
        "mulhu", "div", "divu", "rem", "remu",
    ]);
    let imm_op = prop::sample::select(vec!["addi", "slti", "sltiu", "xori", "ori", "andi"]);
    let load = prop::sample::select(vec!["lb", "lh", "lw", "lbu", "lhu"]);
    let store = prop::sample::select(vec!["sb", "sh", "sw"]);
    let branch = prop::sample::select(vec!["beq", "bne", "blt", "bge", "bltu", "bgeu"]);
    prop_oneof![
        4 => (alu, reg(), reg(), reg()).prop_map(|(op, d, a, b)| format!("{op} x{d}, x{a}, x{b}")),
        3 => (imm_op, reg(), reg(), -2048i32..2048).prop_map(|(op, d, a, i)| format!("{op} x{d}, x{a}, {i}")),
        1 => (prop::sample::select(vec!["slli", "srli", "srai"]), reg(), reg(), 0u32..32)
            .prop_map(|(op, d, a, i)| format!("{op} x{d}, x{a}, {i}")),
        1 => (reg(), 0u32..0x10_0000).prop_map(|(d, i)| format!("lui x{d}, {i}")),
        1 => (reg(), 0u32..16).prop_map(|(d, i)| format!("auipc x{d}, {i}")),
        3 => (load.clone(), reg(), -64i32..64).prop_map(|(op, d, o)| format!("{op} x{d}, {o}(x8)")),
        3 => (store.clone(), reg(), -64i32..64).prop_map(|(op, s, o)| format!("{op} x{s}, {o}(x8)")),
        1 => (store, reg(), 0i32..256).prop_map(|(op, s, o)| format!("{op} x{s}, {}(x9)", o & !3)),
        1 => (load, reg(), reg(), -8i32..8).prop_map(|(op, d, a, o)| format!("{op} x{d}, {o}(x{a})")),
        3 => (branch.clone(), reg(), reg(), -12i32..12).prop_map(|(op, a, b, k)| format!("{op} x{a}, x{b}, {}", 4 * k)),
        1 => (branch, reg(), reg()).prop_map(|(op, a, b)| format!("{op} x{a}, x{b}, 6")),
        1 => (prop_oneof![Just(0u8), Just(1u8), reg()], -8i32..8).prop_map(|(d, k)| format!("jal x{d}, {}", 4 * k)),
        1 => (reg(), reg(), -8i32..8).prop_map(|(d, a, o)| format!("jalr x{d}, {o}(x{a})")),
        1 => (Just(1u8), 0i32..32).prop_map(|(d, k)| format!("jalr x{d}, {}(x9)", 4 * k)),
        1 => prop::sample::select(vec!["ecall", "ebreak", "fence.i", ".word 0xffffffff"]).prop_map(String::from),
    ]
}

/// What one tier did: every round's (exit, retired, registers, pc), and the
/// memory at the end.
type Trace = (Vec<(Exit<OutOfRange>, u64, Vec<u32>, u32)>, Vec<u8>);

fn trace(tier: Tier, code: &[u8], regs: &[u32; 8], budgets: &[u64]) -> Trace {
    let mut mem = FlatMemory::new(BASE, PAGES);
    mem.load(BASE, code);
    let mut hart = Hart { pc: BASE, ..Hart::default() };
    for (i, r) in regs.iter().enumerate() {
        hart.set_x(i + 1, *r);
    }
    hart.set_x(8, DATA + 0x100);
    hart.set_x(9, BASE);
    let (mut data, mut code_tlb) = (DataTlb::default(), CodeTlb::new(tier));
    let mut rounds = Vec::new();
    for &budget in budgets {
        let (exit, n) = cpu::run(&mut hart, &mut data, &mut code_tlb, &mut mem, budget);
        rounds.push((exit, n, hart.regs[..32].to_vec(), hart.pc));
        match exit {
            Exit::Budget => {}
            // Step over what stopped the hart, as a keeper might.
            _ => hart.pc = hart.pc.wrapping_add(4),
        }
    }
    (rounds, mem.read(BASE, PAGES * 4096).to_vec())
}

fn assemble(program: &[String]) -> Vec<u8> {
    let mut code = Vec::new();
    for text in program {
        let words = encode_instruction(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        code.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    }
    code
}

proptest! {
    // 1000 cases unless PROPTEST_CASES asks for another number.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
    ))]

    #[test]
    fn translated_runs_match_the_interpreter(
        program in prop::collection::vec(instruction(), 1..48),
        regs in any::<[u32; 8]>(),
        budgets in prop::collection::vec(prop_oneof![1u64..4, 1u64..64, 1u64..5000], 1..12),
        threshold in prop_oneof![Just(0u32), 1u32..4],
    ) {
        let code = assemble(&program);
        let interpreted = trace(Tier::Interpret, &code, &regs, &budgets);
        let translated = trace(Tier::Translate { threshold }, &code, &regs, &budgets);
        for (round, (a, b)) in interpreted.0.iter().zip(&translated.0).enumerate() {
            prop_assert_eq!(a, b, "round {} of {:?}", round, program);
        }
        prop_assert!(interpreted.1 == translated.1, "memory differs: {:?}", program);
    }
}

/// A loop long enough to be translated and to run many times over: the
/// compute loop of the benchmarks, whose result is known.
#[test]
fn the_compute_loop_gives_the_same_result_translated() {
    let results = [Tier::Interpret, Tier::default()].map(|tier| {
        let mut mem = FlatMemory::new(domains::compute_loop::BASE, 32);
        mem.load(domains::compute_loop::BASE, &domains::compute_loop::with_iterations(20_000));
        let mut hart = Hart { pc: domains::compute_loop::BASE, ..Hart::default() };
        let (mut data, mut code) = (DataTlb::default(), CodeTlb::new(tier));
        let mut retired = 0;
        // Odd budgets, so that slices end inside translated loops.
        let exit = loop {
            let (exit, n) = cpu::run(&mut hart, &mut data, &mut code, &mut mem, 9_973);
            retired += n;
            if exit != Exit::Budget {
                break exit;
            }
        };
        let state = (exit, retired, hart.regs[..32].to_vec(), hart.pc);
        (state, mem.read(domains::compute_loop::BUFFER, 4096).to_vec(), code.translated_instructions())
    });
    let [(interpreted, memory_i, none), (translated, memory_t, most)] = results;
    assert_eq!(interpreted.1, domains::compute_loop::instructions(20_000));
    assert_eq!(interpreted, translated);
    assert!(memory_i == memory_t, "the loop's buffer differs");
    assert_eq!(none, 0, "the interpreter tier translated");
    assert!(most > interpreted.1 * 9 / 10, "only {most} of {} instructions ran translated", interpreted.1);
}

/// A compute-loop domain in an image, run in odd-sized slices, checkpointed
/// in the middle of its loop, crashed after running on, restarted from the
/// checkpoint and run to its end: the translated world ends exactly as the
/// interpreted one, and its loop did run translated.
#[test]
fn a_translated_domain_checkpoints_and_restarts_exactly() {
    use kernel::kernel::Background;
    use tools::bench::setup;

    let dir = tempfile::tempdir().unwrap();
    let outcomes = [Tier::Interpret, Tier::default()].map(|tier| {
        let (mut k, path) = setup::fresh(dir.path(), "world.img", 64 << 20, Background::Inline).unwrap();
        k.set_tier(tier);
        let root = setup::loop_domain(&mut k, 40_000).unwrap();
        let mut translated = 0;
        for _ in 0..3 {
            k.run(77_773).unwrap();
        }
        k.checkpoint_now().unwrap();
        k.finish_background().unwrap();
        k.run(50_021).unwrap();
        translated += k.stats().translated;
        // Crash: the work since the checkpoint is lost.
        drop(k);
        let mut k = setup::boot(&path, Background::Inline).unwrap();
        k.set_tier(tier);
        while k.run(99_991).unwrap() > 0 {}
        translated += k.stats().translated;
        let dib = k.domain(root).expect("the loop domain after restart");
        (dib.hart.regs[..32].to_vec(), dib.hart.pc, dib.instructions, translated)
    });
    let [(regs_i, pc_i, n_i, none), (regs_t, pc_t, n_t, some)] = outcomes;
    assert_eq!((regs_i, pc_i, n_i), (regs_t, pc_t, n_t));
    assert_eq!(none, 0);
    assert!(some > 200_000, "only {some} instructions ran translated");
}

/// Every RV32IM instruction translates: a translation refused would leave
/// its code to the interpreter silently, so the differential tests above
/// would prove nothing about it.
#[test]
fn every_instruction_kind_translates() {
    let mut translator = kernel::cpu::jit::Translator::for_host().expect("cranelift supports this host");
    let mut program: Vec<String> = [
        "add", "sub", "sll", "srl", "sra", "slt", "sltu", "xor", "or", "and", "mul", "mulh", "mulhsu",
        "mulhu", "div", "divu", "rem", "remu",
    ]
    .iter()
    .map(|op| format!("{op} x5, x6, x7"))
    .collect();
    for text in [
        "addi x5, x6, -3",
        "slti x5, x6, 9",
        "sltiu x5, x6, 9",
        "xori x5, x6, 1",
        "ori x5, x6, 1",
        "andi x5, x6, 1",
        "slli x5, x6, 3",
        "srli x5, x6, 3",
        "srai x5, x6, 3",
        "lui x5, 0x12345",
        "auipc x5, 1",
        "lb x5, 1(x8)",
        "lh x5, 2(x8)",
        "lw x5, 4(x8)",
        "lbu x5, 1(x8)",
        "lhu x5, 2(x8)",
        "sb x5, 1(x8)",
        "sh x5, 2(x8)",
        "sw x5, 4(x8)",
        "beq x5, x6, 8",
        "bne x5, x6, 8",
        "blt x5, x6, 8",
        "bge x5, x6, 8",
        "bltu x5, x6, 8",
        "bgeu x5, x6, -8",
        "jal x1, 8",
        "jalr x1, 0(x1)",
        "ecall",
        "ebreak",
        "fence.i",
        ".word 0xffffffff",
    ] {
        program.push(text.to_string());
    }
    let mut page = [0u8; 4096];
    let code = assemble(&program);
    page[..code.len()].copy_from_slice(&code);
    let decoded = kernel::cpu::DecodedPage::decode(&page);
    for (slot, text) in program.iter().enumerate() {
        if let Err(e) = translator.translate(&decoded, BASE, slot) {
            panic!("slot {slot} ({text}): {e}");
        }
    }
}

/// A page whose code has more hot block starts than a page may have
/// translations: the extra ones stay interpreted and the results are the
/// interpreter's. Here a loop calls 128 one-instruction functions in turn.
#[test]
fn translations_per_page_are_bounded() {
    use kernel::cpu::Mmu;
    let mut program: Vec<String> = [
        "addi x5, x0, 0",
        "addi x7, x0, 2000",
        "andi x6, x5, 127", // loop:
        "slli x6, x6, 2",
        "auipc x10, 0",
        "add x6, x6, x10",
        "jalr x1, 32(x6)", // to word 12 + (x5 % 128)
        "addi x5, x5, 1",
        "blt x5, x7, -24",
        "ebreak",
        "nop",
        "nop",
    ]
    .map(String::from)
    .to_vec();
    program.extend((0..128).map(|_| "jalr x0, 0(x1)".to_string()));
    let code = assemble(&program);
    let budgets = [1_000_000];
    let interpreted = trace(Tier::Interpret, &code, &[0; 8], &budgets);
    let translated = trace(Tier::Translate { threshold: 0 }, &code, &[0; 8], &budgets);
    assert_eq!(interpreted.0[0].0, Exit::Trap(kernel::cpu::Trap::Breakpoint));
    assert_eq!(interpreted, translated);

    let mut mem = FlatMemory::new(BASE, PAGES);
    mem.load(BASE, &code);
    let mut hart = Hart { pc: BASE, ..Hart::default() };
    let (mut data, mut code_tlb) = (DataTlb::default(), CodeTlb::new(Tier::Translate { threshold: 0 }));
    cpu::run(&mut hart, &mut data, &mut code_tlb, &mut mem, 1_000_000);
    let page = mem.code(BASE).unwrap();
    assert_eq!(page.translations.count(), kernel::cpu::jit::TRANSLATIONS_PER_PAGE);
}
