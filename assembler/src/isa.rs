//! RV32IM instructions: the opcode table, encoding by format, and the
//! disassembler used to check encodings.

/// Instruction formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rd, rs1, rs2.
    R,
    /// rd, rs1, imm12.
    I,
    /// rd, rs1, shamt.
    Shift,
    /// rd, imm12(rs1).
    Load,
    /// rs2, imm12(rs1).
    Store,
    /// rs1, rs2, target.
    Branch,
    /// rd, imm20.
    U,
    /// rd, target.
    J,
    /// rd, imm12(rs1) or the short forms.
    Jalr,
    /// No operands (ecall, ebreak, fence.i) or fence's.
    System,
}

/// One instruction of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// Mnemonic.
    pub name: &'static str,
    /// Operand format.
    pub format: Format,
    /// Bits the encoding always has (opcode, funct3, funct7, fixed words).
    pub base: u32,
}

const fn op(name: &'static str, format: Format, opcode: u32, funct3: u32, funct7: u32) -> Op {
    Op { name, format, base: opcode | funct3 << 12 | funct7 << 25 }
}

use Format::*;

/// Every RV32IM instruction.
pub const OPS: &[Op] = &[
    op("lui", U, 0x37, 0, 0),
    op("auipc", U, 0x17, 0, 0),
    op("jal", J, 0x6F, 0, 0),
    op("jalr", Jalr, 0x67, 0, 0),
    op("beq", Branch, 0x63, 0, 0),
    op("bne", Branch, 0x63, 1, 0),
    op("blt", Branch, 0x63, 4, 0),
    op("bge", Branch, 0x63, 5, 0),
    op("bltu", Branch, 0x63, 6, 0),
    op("bgeu", Branch, 0x63, 7, 0),
    op("lb", Load, 0x03, 0, 0),
    op("lh", Load, 0x03, 1, 0),
    op("lw", Load, 0x03, 2, 0),
    op("lbu", Load, 0x03, 4, 0),
    op("lhu", Load, 0x03, 5, 0),
    op("sb", Store, 0x23, 0, 0),
    op("sh", Store, 0x23, 1, 0),
    op("sw", Store, 0x23, 2, 0),
    op("addi", I, 0x13, 0, 0),
    op("slti", I, 0x13, 2, 0),
    op("sltiu", I, 0x13, 3, 0),
    op("xori", I, 0x13, 4, 0),
    op("ori", I, 0x13, 6, 0),
    op("andi", I, 0x13, 7, 0),
    op("slli", Shift, 0x13, 1, 0),
    op("srli", Shift, 0x13, 5, 0),
    op("srai", Shift, 0x13, 5, 0x20),
    op("add", R, 0x33, 0, 0),
    op("sub", R, 0x33, 0, 0x20),
    op("sll", R, 0x33, 1, 0),
    op("slt", R, 0x33, 2, 0),
    op("sltu", R, 0x33, 3, 0),
    op("xor", R, 0x33, 4, 0),
    op("srl", R, 0x33, 5, 0),
    op("sra", R, 0x33, 5, 0x20),
    op("or", R, 0x33, 6, 0),
    op("and", R, 0x33, 7, 0),
    op("mul", R, 0x33, 0, 1),
    op("mulh", R, 0x33, 1, 1),
    op("mulhsu", R, 0x33, 2, 1),
    op("mulhu", R, 0x33, 3, 1),
    op("div", R, 0x33, 4, 1),
    op("divu", R, 0x33, 5, 1),
    op("rem", R, 0x33, 6, 1),
    op("remu", R, 0x33, 7, 1),
    Op { name: "fence", format: System, base: 0x0FF0_000F },
    Op { name: "fence.i", format: System, base: 0x0000_100F },
    Op { name: "ecall", format: System, base: 0x0000_0073 },
    Op { name: "ebreak", format: System, base: 0x0010_0073 },
];

/// The table entry for a mnemonic.
pub fn find(name: &str) -> Option<&'static Op> {
    OPS.iter().find(|o| o.name == name)
}

/// ABI register names, by number.
pub const ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6",
    "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

/// Parses a register name: `x0`..`x31`, ABI names, `fp`.
pub fn register(name: &str) -> Option<u32> {
    if let Some(n) = name.strip_prefix('x').and_then(|d| d.parse::<u32>().ok()).filter(|&n| n < 32) {
        return Some(n);
    }
    if name == "fp" {
        return Some(8);
    }
    ABI.iter().position(|&r| r == name).map(|n| n as u32)
}

/// Encodes with register fields and an immediate already range-checked.
pub fn encode(op: &Op, rd: u32, rs1: u32, rs2: u32, imm: i64) -> u32 {
    let imm = imm as u32;
    let b = op.base;
    match op.format {
        R => b | rd << 7 | rs1 << 15 | rs2 << 20,
        I | Load | Jalr => b | rd << 7 | rs1 << 15 | (imm & 0xFFF) << 20,
        Shift => b | rd << 7 | rs1 << 15 | (imm & 0x1F) << 20,
        Store => b | (imm & 0x1F) << 7 | rs1 << 15 | rs2 << 20 | (imm >> 5 & 0x7F) << 25,
        Branch => {
            b | (imm >> 11 & 1) << 7
                | (imm >> 1 & 0xF) << 8
                | rs1 << 15
                | rs2 << 20
                | (imm >> 5 & 0x3F) << 25
                | (imm >> 12 & 1) << 31
        }
        U => b | rd << 7 | (imm & 0xFFFFF) << 12,
        J => {
            b | rd << 7
                | (imm >> 12 & 0xFF) << 12
                | (imm >> 11 & 1) << 20
                | (imm >> 1 & 0x3FF) << 21
                | (imm >> 20 & 1) << 31
        }
        System => b | (imm & 0xFF) << 20,
    }
}

fn sext(v: u32, bits: u32) -> i64 {
    i64::from(((v << (32 - bits)) as i32) >> (32 - bits))
}

/// The mask of the bits that identify an op (opcode, funct3, funct7 as used).
fn identity_mask(op: &Op) -> u32 {
    match op.format {
        U | J => 0x7F,
        R | Shift => 0xFE00_707F,
        System if op.name == "fence" => 0x0000_707F,
        System => 0xFFFF_FFFF,
        _ => 0x707F,
    }
}

/// The canonical text of an RV32IM instruction word, or `.word 0x…`.
pub fn disassemble(w: u32) -> String {
    let Some(op) = OPS.iter().find(|o| w & identity_mask(o) == o.base & identity_mask(o)) else {
        return format!(".word {w:#010x}");
    };
    let (rd, rs1, rs2) =
        (ABI[(w >> 7 & 31) as usize], ABI[(w >> 15 & 31) as usize], ABI[(w >> 20 & 31) as usize]);
    let n = op.name;
    match op.format {
        R => format!("{n} {rd}, {rs1}, {rs2}"),
        I => format!("{n} {rd}, {rs1}, {}", sext(w >> 20, 12)),
        Shift if w >> 25 & !0x20 != 0 => format!(".word {w:#010x}"),
        Shift => format!("{n} {rd}, {rs1}, {}", w >> 20 & 31),
        Load | Jalr => format!("{n} {rd}, {}({rs1})", sext(w >> 20, 12)),
        Store => format!("{n} {rs2}, {}({rs1})", sext((w >> 25) << 5 | (w >> 7 & 31), 12)),
        Branch => {
            let imm = (w >> 31) << 12 | (w >> 7 & 1) << 11 | (w >> 25 & 0x3F) << 5 | (w >> 8 & 0xF) << 1;
            format!("{n} {rs1}, {rs2}, {}", sext(imm, 13))
        }
        U => format!("{n} {rd}, {:#x}", w >> 12),
        J => {
            let imm = (w >> 31) << 20 | (w >> 12 & 0xFF) << 12 | (w >> 20 & 1) << 11 | (w >> 21 & 0x3FF) << 1;
            format!("{n} {rd}, {}", sext(imm, 21))
        }
        System => n.to_string(),
    }
}
