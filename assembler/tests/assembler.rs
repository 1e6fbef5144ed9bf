//! The assembler against independent encodings, on whole programs, on its
//! errors, and on its ELF output.

#[path = "data/known_encodings.rs"]
mod known_encodings;

use assembler::{
    AsmError, IncludeResolver, NoIncludes, Options, Program, Source, assemble, disassemble,
    encode_instruction,
};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};
use proptest::prelude::*;

#[test]
fn every_instruction_matches_llvm_mc() {
    for (text, words) in known_encodings::KNOWN {
        let got = encode_instruction(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&got, words, "{text}: got {got:08x?}, llvm-mc says {words:08x?}");
    }
    assert!(known_encodings::KNOWN.len() >= 90);
}

#[test]
fn call_and_tail_reach_their_target() {
    // At address 0, a target 0x100 away: auipc 0 then jalr with 0x100.
    assert_eq!(encode_instruction("call 0x100").unwrap(), [0x0000_0097, 0x1000_80e7]);
    assert_eq!(encode_instruction("tail 0x100").unwrap(), [0x0000_0317, 0x1003_0067]);
}

#[test]
fn base_instructions_disassemble_to_what_assembles_them() {
    for (text, words) in known_encodings::KNOWN {
        if words.len() != 1 || text.starts_with("fence") {
            continue;
        }
        let canonical = disassemble(words[0]);
        assert_eq!(encode_instruction(&canonical).unwrap(), *words, "{text} -> {canonical}");
    }
}

fn program(src: &str) -> Program {
    assemble(Source { name: "p.s", text: src }, &NoIncludes, &Options::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn words_at(p: &Program, addr: u32, n: usize) -> Vec<u32> {
    let seg = p.segments.iter().find(|s| addr >= s.vaddr && addr < s.vaddr + s.mem_size).expect("mapped");
    let at = (addr - seg.vaddr) as usize;
    seg.bytes[at..at + 4 * n].chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn labels_locals_and_constants() {
    let p = program(
        ".equ STEP, 4\n_start: j fwd\nback: nop\n1: addi a0, a0, STEP\n bnez a0, 1b\n beqz a0, 2f\nfwd: j back\n2: ret\n",
    );
    assert_eq!(p.entry, 0x10000);
    assert_eq!(p.symbols["fwd"], 0x10014);
    let w = words_at(&p, 0x10000, 7);
    assert_eq!(disassemble(w[0]), "jal zero, 20");
    assert_eq!(disassemble(w[3]), "bne a0, zero, -4");
    assert_eq!(disassemble(w[4]), "beq a0, zero, 8");
    assert_eq!(disassemble(w[5]), "jal zero, -16");
}

#[test]
fn sections_hi_lo_and_pc_relative_addressing() {
    let p = program(
        ".text\n_start: lui a0, %hi(value)\n lw a1, %lo(value)(a0)\n la a2, value\n call f\n\
         1: auipc a3, %pcrel_hi(value)\n lw a4, %pcrel_lo(1b)(a3)\nf: ret\n.data\nvalue: .word 0xdeadbeef\n.bss\nbuf: .space 100\n",
    );
    let value = p.symbols["value"];
    assert_eq!(value, 0x11000, "data starts on the page after text");
    let w = words_at(&p, 0x10000, 9);
    assert_eq!(w[0] >> 12, value >> 12);
    let la = (w[2] & 0xFFFF_F000).wrapping_add(((w[3] as i32) >> 20) as u32).wrapping_add(0x10008);
    assert_eq!(la, value, "la: auipc + addi reach the symbol");
    assert_eq!(words_at(&p, value, 1), [0xdeadbeef]);
    let data = p.segments.iter().find(|s| s.flags.write).unwrap();
    assert_eq!(data.bytes.len(), 4);
    assert_eq!(data.mem_size, 0x1000 + 100, ".bss follows .data, zero-filled");
    assert_eq!(p.symbols["buf"], 0x12000);
}

#[test]
fn data_directives_and_alignment() {
    let p = program(
        ".data\nb: .byte 1, 2, -1\n.align 2\nh: .half 0x1234\n.balign 8\nw: .word w\ns: .asciz \"ab\\n\"\nz: .zero 3, 7\n",
    );
    let d = &p.segments[0].bytes;
    assert_eq!(&d[..3], &[1, 2, 255]);
    assert_eq!(p.symbols["h"] % 4, 0);
    assert_eq!(p.symbols["w"] % 8, 0);
    let w = (p.symbols["w"] - p.segments[0].vaddr) as usize;
    assert_eq!(u32::from_le_bytes(d[w..w + 4].try_into().unwrap()), p.symbols["w"]);
    assert_eq!(&d[w + 4..w + 8], b"ab\n\0");
    assert_eq!(&d[w + 8..w + 11], &[7, 7, 7]);
}

#[test]
fn macros_with_defaults_and_unique_labels() {
    let p = program(
        ".macro spin reg, n=3\n li \\reg, \\n\nL\\@: addi \\reg, \\reg, -1\n bnez \\reg, L\\@\n.endm\n spin a0\n spin a1, 5\n",
    );
    let w = words_at(&p, 0x10000, 6);
    assert_eq!(disassemble(w[0]), "addi a0, zero, 3");
    assert_eq!(disassemble(w[3]), "addi a1, zero, 5");
    assert_eq!(disassemble(w[5]), "bne a1, zero, -4");
}

struct Files;
impl IncludeResolver for Files {
    fn resolve(&self, _from: &str, path: &str) -> Result<(String, String), String> {
        match path {
            "defs.inc" => {
                Ok(("defs.inc".into(), ".equ ANSWER, 42\n.macro answer r\n li \\r, ANSWER\n.endm\n".into()))
            }
            "bad.inc" => Ok(("bad.inc".into(), "nop\n addd a0, a0, a0\n".into())),
            _ => Err("no such file".into()),
        }
    }
}

#[test]
fn includes_supply_constants_and_macros() {
    let p = assemble(
        Source { name: "m.s", text: ".include \"defs.inc\"\n answer a5\n" },
        &Files,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(disassemble(words_at(&p, 0x10000, 1)[0]), "addi a5, zero, 42");
}

fn error(src: &str) -> AsmError {
    assemble(Source { name: "e.s", text: src }, &Files, &Options::default()).unwrap_err()
}

#[test]
fn errors_name_file_line_and_column() {
    assert_eq!(
        error("nop\n  addd a0, a0, a0\n").to_string(),
        "e.s:2:3: unknown instruction 'addd' (did you mean 'add'?)"
    );
    assert_eq!(
        error("addi a0, a0, 4096").to_string(),
        "e.s:1:14: immediate 4096 is out of range -2048..=2047"
    );
    assert_eq!(error("j nowhere").to_string(), "e.s:1:3: undefined symbol 'nowhere'");
    assert!(
        error("beq a0, a1, far\n.space 8192\nfar: nop")
            .to_string()
            .starts_with("e.s:1:13: the target is 8196 bytes away; the limit is ±4096")
    );
    assert_eq!(
        error(".include \"bad.inc\"").to_string(),
        "bad.inc:2:2: unknown instruction 'addd' (did you mean 'add'?)"
    );
    let e = error(".macro m\n lw a0, (a9)\n.endm\n\n m\n").to_string();
    assert!(e.starts_with("e.s:2:") && e.ends_with("(in macro 'm' invoked at e.s:5)"), "{e}");
    assert!(error("x: nop\nx: nop").to_string().starts_with("e.s:2:1: 'x' is already defined"));
    assert!(error(".if 1\nnop").to_string().contains("no '.endif' closes this block"));
}

#[test]
fn the_elf_output_parses() {
    let p = program(
        "_start: la a0, msg\n ebreak\n.rodata\nmsg: .asciz \"hi\"\n.data\nx: .word 1\n.bss\ny: .space 16\n",
    );
    let elf = p.to_elf();
    let file = object::File::parse(&*elf).unwrap();
    assert_eq!(file.architecture(), object::Architecture::Riscv32);
    assert!(file.is_little_endian() && !file.is_64());
    assert_eq!(file.entry(), u64::from(p.entry));
    let segments: Vec<_> = file.segments().map(|s| (s.address(), s.size())).collect();
    assert_eq!(segments, vec![(0x10000, 0x1003), (0x12000, 0x1010)]);
    let text = file.section_by_name(".text").unwrap();
    assert_eq!(text.address(), 0x10000);
    assert_eq!(text.data().unwrap().len(), 12);
    assert_eq!(file.section_by_name(".rodata").unwrap().data().unwrap(), b"hi\0");
    let syms: Vec<_> =
        file.symbols().filter_map(|s| Some((s.name().ok()?.to_string(), s.address()))).collect();
    assert!(syms.contains(&("msg".to_string(), 0x11000)));
    assert!(syms.contains(&("_start".to_string(), 0x10000)));
}

#[test]
fn a_program_runs_under_qemu() {
    let qemu = std::path::Path::new("/usr/bin/qemu-riscv32");
    if !qemu.exists() {
        eprintln!("note: qemu-riscv32 is not installed; skipping the run");
        return;
    }
    let p = program(
        "_start: li a0, 0\n li t0, 1\n li t1, 101\n1: add a0, a0, t0\n addi t0, t0, 1\n blt t0, t1, 1b\n li a7, 93\n ecall\n",
    );
    let dir = std::env::temp_dir().join(format!("asm-qemu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sum.elf");
    std::fs::write(&path, p.to_elf()).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let status = std::process::Command::new(qemu).arg(&path).status().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status.code(), Some(5050 % 256));
}

fn reg() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(assembler_abi())
}

fn assembler_abi() -> Vec<&'static str> {
    vec![
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    ]
}

proptest! {
    #[test]
    fn random_instructions_round_trip(
        rd in reg(), rs1 in reg(), rs2 in reg(),
        r in proptest::sample::select(vec!["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"]),
        i in proptest::sample::select(vec!["addi", "slti", "sltiu", "xori", "ori", "andi"]),
        b in proptest::sample::select(vec!["beq", "bne", "blt", "bge", "bltu", "bgeu"]),
        imm in -2048i32..2048, shamt in 0u32..32, off in -2048i32..2047, upper in 0u32..0x100000,
    ) {
        for text in [
            format!("{r} {rd}, {rs1}, {rs2}"),
            format!("{i} {rd}, {rs1}, {imm}"),
            format!("slli {rd}, {rs1}, {shamt}"),
            format!("lw {rd}, {imm}({rs1})"),
            format!("sw {rs2}, {imm}({rs1})"),
            format!("{b} {rs1}, {rs2}, {}", off & !1),
            format!("jal {rd}, {}", (off * 256) & !1),
            format!("lui {rd}, {upper:#x}"),
        ] {
            let w = encode_instruction(&text).unwrap();
            prop_assert_eq!(w.len(), 1);
            prop_assert_eq!(disassemble(w[0]), text);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n]{0,200}") {
        let _ = assemble(Source { name: "r.s", text: &text }, &NoIncludes, &Options::default());
    }
}
