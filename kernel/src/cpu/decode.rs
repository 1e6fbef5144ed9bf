//! Decoding RV32IM instruction words into [`Op`]s: pure, no state.
//!
//! Decoding happens once per code page (see `code.rs`); the interpreter
//! then executes the decoded ops. Two normalisations make execution cheaper:
//!
//! * an instruction whose only effect is writing `x0` decodes to `Nop`;
//! * an instruction that must still run but writes `x0` (a load, which can
//!   fault; `jal`/`jalr`, which jump) writes to the sink register 32, so
//!   `x0` itself is never written and always reads 0.
//!
//! Every word decodes to something: words that are not RV32IM instructions
//! decode to `Illegal`, which traps when executed.

/// Register index that absorbs writes to `x0`.
pub const SINK: u8 = 32;

/// What an op does. Grouped: straight-line ops first, then ops that end a
/// basic block (control flow and traps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpKind {
    // Straight-line: never change the pc except by falling through.
    Nop,
    Lui,
    Auipc,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    // Block terminators.
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Ecall,
    Ebreak,
    /// `fence.i`: ends the block so that code written before it is re-read.
    FenceI,
    Illegal,
}

impl OpKind {
    /// Whether the op ends a basic block.
    pub fn ends_block(self) -> bool {
        self as u8 >= OpKind::Jal as u8
    }
}

/// A decoded instruction. `imm` is sign-extended and pre-shifted (`lui`
/// holds the upper immediate already shifted left by 12). For `Illegal`,
/// `imm` holds the instruction word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// What it does.
    pub kind: OpKind,
    /// Destination register (1..=31, or [`SINK`]).
    pub rd: u8,
    /// First source register.
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// Immediate.
    pub imm: i32,
}

impl Op {
    /// An op with no operands.
    pub const fn bare(kind: OpKind) -> Op {
        Op { kind, rd: 0, rs1: 0, rs2: 0, imm: 0 }
    }

    fn illegal(word: u32) -> Op {
        Op { imm: word as i32, ..Op::bare(OpKind::Illegal) }
    }
}

fn rd(w: u32) -> u8 {
    ((w >> 7) & 31) as u8
}
fn rs1(w: u32) -> u8 {
    ((w >> 15) & 31) as u8
}
fn rs2(w: u32) -> u8 {
    ((w >> 20) & 31) as u8
}
fn funct3(w: u32) -> u32 {
    (w >> 12) & 7
}
fn funct7(w: u32) -> u32 {
    w >> 25
}
fn imm_i(w: u32) -> i32 {
    (w as i32) >> 20
}
fn imm_s(w: u32) -> i32 {
    ((w as i32) >> 25 << 5) | ((w >> 7) & 31) as i32
}
fn imm_b(w: u32) -> i32 {
    let sign = (w as i32) >> 31 << 12;
    sign | (((w >> 7) & 1) << 11) as i32 | (((w >> 25) & 0x3F) << 5) as i32 | (((w >> 8) & 0xF) << 1) as i32
}
fn imm_u(w: u32) -> i32 {
    (w & 0xFFFF_F000) as i32
}
fn imm_j(w: u32) -> i32 {
    let sign = (w as i32) >> 31 << 20;
    sign | (w & 0xF_F000) as i32 | (((w >> 20) & 1) << 11) as i32 | (((w >> 21) & 0x3FF) << 1) as i32
}

/// An op writing `rd`, or `Nop` when `rd` is `x0`.
fn writes(kind: OpKind, w: u32, imm: i32) -> Op {
    match rd(w) {
        0 => Op::bare(OpKind::Nop),
        d => Op { kind, rd: d, rs1: rs1(w), rs2: rs2(w), imm },
    }
}

/// An op that must run even when it writes `x0`: `x0` becomes the sink.
fn must_run(kind: OpKind, w: u32, imm: i32) -> Op {
    let d = match rd(w) {
        0 => SINK,
        d => d,
    };
    Op { kind, rd: d, rs1: rs1(w), rs2: rs2(w), imm }
}

/// Decodes one instruction word.
pub fn decode(w: u32) -> Op {
    use OpKind::*;
    match w & 0x7F {
        0x37 => writes(Lui, w, imm_u(w)),
        0x17 => writes(Auipc, w, imm_u(w)),
        0x6F => must_run(Jal, w, imm_j(w)),
        0x67 if funct3(w) == 0 => must_run(Jalr, w, imm_i(w)),
        0x63 => decode_branch(w),
        0x03 => decode_load(w),
        0x23 => decode_store(w),
        0x13 => decode_op_imm(w),
        0x33 => decode_op(w),
        0x0F => decode_fence(w),
        0x73 => match w {
            0x0000_0073 => Op::bare(Ecall),
            0x0010_0073 => Op::bare(Ebreak),
            _ => Op::illegal(w),
        },
        _ => Op::illegal(w),
    }
}

fn decode_branch(w: u32) -> Op {
    use OpKind::*;
    let kind = match funct3(w) {
        0 => Beq,
        1 => Bne,
        4 => Blt,
        5 => Bge,
        6 => Bltu,
        7 => Bgeu,
        _ => return Op::illegal(w),
    };
    Op { kind, rd: 0, rs1: rs1(w), rs2: rs2(w), imm: imm_b(w) }
}

fn decode_load(w: u32) -> Op {
    use OpKind::*;
    let kind = match funct3(w) {
        0 => Lb,
        1 => Lh,
        2 => Lw,
        4 => Lbu,
        5 => Lhu,
        _ => return Op::illegal(w),
    };
    must_run(kind, w, imm_i(w))
}

fn decode_store(w: u32) -> Op {
    use OpKind::*;
    let kind = match funct3(w) {
        0 => Sb,
        1 => Sh,
        2 => Sw,
        _ => return Op::illegal(w),
    };
    Op { kind, rd: 0, rs1: rs1(w), rs2: rs2(w), imm: imm_s(w) }
}

fn decode_op_imm(w: u32) -> Op {
    use OpKind::*;
    let shift =
        |kind| if funct7(w) & !0x20 == 0 { writes(kind, w, ((w >> 20) & 31) as i32) } else { Op::illegal(w) };
    match funct3(w) {
        0 => writes(Addi, w, imm_i(w)),
        2 => writes(Slti, w, imm_i(w)),
        3 => writes(Sltiu, w, imm_i(w)),
        4 => writes(Xori, w, imm_i(w)),
        6 => writes(Ori, w, imm_i(w)),
        7 => writes(Andi, w, imm_i(w)),
        1 if funct7(w) == 0 => shift(Slli),
        5 if funct7(w) == 0 => shift(Srli),
        5 if funct7(w) == 0x20 => shift(Srai),
        _ => Op::illegal(w),
    }
}

fn decode_op(w: u32) -> Op {
    use OpKind::*;
    let kind = match (funct7(w), funct3(w)) {
        (0, 0) => Add,
        (0x20, 0) => Sub,
        (0, 1) => Sll,
        (0, 2) => Slt,
        (0, 3) => Sltu,
        (0, 4) => Xor,
        (0, 5) => Srl,
        (0x20, 5) => Sra,
        (0, 6) => Or,
        (0, 7) => And,
        (1, 0) => Mul,
        (1, 1) => Mulh,
        (1, 2) => Mulhsu,
        (1, 3) => Mulhu,
        (1, 4) => Div,
        (1, 5) => Divu,
        (1, 6) => Rem,
        (1, 7) => Remu,
        _ => return Op::illegal(w),
    };
    writes(kind, w, 0)
}

fn decode_fence(w: u32) -> Op {
    match funct3(w) {
        // FENCE orders memory for other harts and devices; one hart with
        // sequentially consistent memory needs nothing.
        0 => Op::bare(OpKind::Nop),
        1 => Op::bare(OpKind::FenceI),
        _ => Op::illegal(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates_decode_with_sign_extension() {
        // addi a0, a0, -1
        assert_eq!(decode(0xFFF5_0513), Op { kind: OpKind::Addi, rd: 10, rs1: 10, rs2: 31, imm: -1 });
        // sw a1, -4(sp)
        let sw = decode(0xFEB1_2E23);
        assert_eq!((sw.kind, sw.rs1, sw.rs2, sw.imm), (OpKind::Sw, 2, 11, -4));
        // beq x0, x0, -8
        assert_eq!(decode(0xFE00_0CE3).imm, -8);
        // jal ra, 2048
        assert_eq!(decode(0x0010_00EF).imm, 2048);
        // lui a0, 0x80000
        assert_eq!(decode(0x8000_0537).imm, i32::MIN);
    }

    #[test]
    fn writes_to_x0_are_removed_or_sunk() {
        assert_eq!(decode(0x0010_0013).kind, OpKind::Nop); // addi x0, x0, 1
        let load = decode(0x0000_2003); // lw x0, 0(x0)
        assert_eq!((load.kind, load.rd), (OpKind::Lw, SINK));
        let jal = decode(0x0000_006F); // jal x0, 0
        assert_eq!((jal.kind, jal.rd), (OpKind::Jal, SINK));
    }

    #[test]
    fn non_rv32im_words_are_illegal() {
        for w in [
            0u32,
            0xFFFF_FFFF,
            0x0200_1013, /* slli with imm[5] */
            0x0400_7033, /* funct7 2 */
            0x0000_2073, /* csrrs */
        ] {
            assert_eq!(decode(w).kind, OpKind::Illegal, "{w:#010x}");
            assert_eq!(decode(w).imm as u32, w);
        }
        assert_eq!(decode(0x0000_100F).kind, OpKind::FenceI);
        assert_eq!(decode(0x0FF0_000F).kind, OpKind::Nop);
    }
}
