//! The interpreter loop: runs decoded straight runs ("blocks") of a hart.
//!
//! Each iteration finds the decoded page of the pc (through the code TLB),
//! takes the straight run starting there, charges its length to the budget
//! at once, executes its straight-line ops without pc bookkeeping, and lets
//! its last op (a branch, jump, `ecall`, trap, or simply the op before the
//! page end or the budget's end) decide where to go next. Instruction counts
//! stay exact: an op that traps is not retired, and neither are the ops after
//! it.

use super::code::DecodedPage;
use super::decode::{Op, OpKind};
use super::tlb::{CodeTlb, DataTlb, Word};
use super::{Access, Exit, Hart, Mmu, Trap};

/// Why a straight-line op stopped its block.
enum Stop<F> {
    Trap(Trap),
    Fault(F),
    /// A store changed a page holding decoded code; the block must end.
    CodeWritten,
}

/// Where a block leaves the hart.
enum Step<F> {
    /// Continue at this pc.
    Next(u32),
    /// Continue at this pc after flushing the code TLB.
    Refetch(u32),
    /// Stop running, with the pc at the instruction responsible.
    Exit(Exit<F>, u32),
}

/// Runs `hart` for at most `budget` instructions. Returns why it stopped and
/// how many instructions retired.
pub fn run<M: Mmu>(
    hart: &mut Hart,
    data: &mut DataTlb,
    code: &mut CodeTlb,
    mmu: &mut M,
    budget: u64,
) -> (Exit<M::Fault>, u64) {
    let mut pc = hart.pc;
    let mut remaining = budget;
    let exit = 'fetch: loop {
        if remaining == 0 {
            break Exit::Budget;
        }
        if code.lookup(pc).is_none()
            && let Err(exit) = fetch_page(code, data, mmu, pc)
        {
            break exit;
        }
        let page = code.lookup(pc).expect("CPU001 code page missing after fill");
        // Blocks that continue in the same page (loops, mostly) chain
        // without going back to the code TLB.
        loop {
            match run_block(page, pc, &mut hart.regs, data, mmu, &mut remaining) {
                Step::Next(next) => {
                    let same_page = (next ^ pc) < 0x1000;
                    pc = next;
                    if !same_page || remaining == 0 {
                        continue 'fetch;
                    }
                }
                Step::Refetch(next) => {
                    code.flush();
                    pc = next;
                    continue 'fetch;
                }
                Step::Exit(exit, at) => {
                    pc = at;
                    break 'fetch exit;
                }
            }
        }
    };
    hart.pc = pc;
    (exit, budget - remaining)
}

#[cold]
fn fetch_page<M: Mmu>(
    code: &mut CodeTlb,
    data: &mut DataTlb,
    mmu: &mut M,
    pc: u32,
) -> Result<(), Exit<M::Fault>> {
    if pc & 3 != 0 {
        return Err(Exit::Trap(Trap::MisalignedJump { target: pc }));
    }
    let page = mmu.code(pc).map_err(Exit::Fault)?;
    code.insert(pc, page);
    // The page may have just been decoded: stores to it must now take the
    // slow path, so no write entry may survive.
    data.flush_writes();
    Ok(())
}

#[inline(always)]
fn run_block<M: Mmu>(
    page: &DecodedPage,
    pc: u32,
    x: &mut [u32; 256],
    data: &mut DataTlb,
    mmu: &mut M,
    remaining: &mut u64,
) -> Step<M::Fault> {
    let base = pc & !0xFFF;
    let k0 = ((pc >> 2) & 0x3FF) as usize;
    let n = (page.run_len[k0] as u64).min(*remaining) as usize;
    *remaining -= n as u64;
    let ops = &page.ops[k0..k0 + n];
    let (last, body) = ops.split_last().expect("CPU002 empty run");
    for (i, op) in body.iter().enumerate() {
        if let Err(stop) = straight(op, base, x, data, mmu) {
            return stopped(stop, base + ((k0 + i) as u32) * 4, remaining, n - i);
        }
    }
    let at = base + ((k0 + n - 1) as u32) * 4;
    if last.kind.ends_block() {
        return terminate(last, at, x, remaining);
    }
    match straight(last, base, x, data, mmu) {
        Ok(()) => Step::Next(at.wrapping_add(4)),
        Err(stop) => stopped(stop, at, remaining, 1),
    }
}

/// Accounts for a stop at the op at `at`, `unrun` ops from the block's end
/// (the stopping op included).
#[cold]
fn stopped<F>(stop: Stop<F>, at: u32, remaining: &mut u64, unrun: usize) -> Step<F> {
    match stop {
        Stop::CodeWritten => {
            // The store itself retired; the rest of the block did not run.
            *remaining += unrun as u64 - 1;
            Step::Refetch(at.wrapping_add(4))
        }
        Stop::Trap(trap) => {
            *remaining += unrun as u64;
            Step::Exit(Exit::Trap(trap), at)
        }
        Stop::Fault(fault) => {
            *remaining += unrun as u64;
            Step::Exit(Exit::Fault(fault), at)
        }
    }
}

#[inline(always)]
fn straight<M: Mmu>(
    op: &Op,
    base: u32,
    x: &mut [u32; 256],
    data: &mut DataTlb,
    mmu: &mut M,
) -> Result<(), Stop<M::Fault>> {
    use OpKind::*;
    let Op { kind, rd, rs1, rs2, imm } = *op;
    // Operands are read in the arms that use them: an I-type op skips rs2.
    macro_rules! rs1 {
        () => {
            x[rs1 as usize]
        };
    }
    macro_rules! rs2 {
        () => {
            x[rs2 as usize]
        };
    }
    let rd = rd as usize;
    let uimm = imm as u32;
    match kind {
        Nop => {}
        Lui => x[rd] = uimm,
        Auipc => x[rd] = base.wrapping_add(uimm),
        Addi => x[rd] = rs1!().wrapping_add(uimm),
        Slti => x[rd] = ((rs1!() as i32) < imm) as u32,
        Sltiu => x[rd] = (rs1!() < uimm) as u32,
        Xori => x[rd] = rs1!() ^ uimm,
        Ori => x[rd] = rs1!() | uimm,
        Andi => x[rd] = rs1!() & uimm,
        Slli => x[rd] = rs1!() << uimm,
        Srli => x[rd] = rs1!() >> uimm,
        Srai => x[rd] = ((rs1!() as i32) >> uimm) as u32,
        Add => x[rd] = rs1!().wrapping_add(rs2!()),
        Sub => x[rd] = rs1!().wrapping_sub(rs2!()),
        Sll => x[rd] = rs1!() << (rs2!() & 31),
        Slt => x[rd] = ((rs1!() as i32) < (rs2!() as i32)) as u32,
        Sltu => x[rd] = (rs1!() < rs2!()) as u32,
        Xor => x[rd] = rs1!() ^ rs2!(),
        Srl => x[rd] = rs1!() >> (rs2!() & 31),
        Sra => x[rd] = ((rs1!() as i32) >> (rs2!() & 31)) as u32,
        Or => x[rd] = rs1!() | rs2!(),
        And => x[rd] = rs1!() & rs2!(),
        Mul | Mulh | Mulhsu | Mulhu | Div | Divu | Rem | Remu => x[rd] = muldiv(kind, rs1!(), rs2!()),
        Lb => x[rd] = load::<u8, M>(data, mmu, rs1!().wrapping_add(uimm))? as i8 as u32,
        Lh => x[rd] = load::<u16, M>(data, mmu, rs1!().wrapping_add(uimm))? as i16 as u32,
        Lw => x[rd] = load::<u32, M>(data, mmu, rs1!().wrapping_add(uimm))?,
        Lbu => x[rd] = load::<u8, M>(data, mmu, rs1!().wrapping_add(uimm))? as u32,
        Lhu => x[rd] = load::<u16, M>(data, mmu, rs1!().wrapping_add(uimm))? as u32,
        Sb => store::<u8, M>(data, mmu, rs1!().wrapping_add(uimm), rs2!() as u8)?,
        Sh => store::<u16, M>(data, mmu, rs1!().wrapping_add(uimm), rs2!() as u16)?,
        Sw => store::<u32, M>(data, mmu, rs1!().wrapping_add(uimm), rs2!())?,
        Jal | Jalr | Beq | Bne | Blt | Bge | Bltu | Bgeu | Ecall | Ebreak | FenceI | Illegal => {
            unreachable!("CPU003 block terminator inside a straight run")
        }
    }
    Ok(())
}

/// The M extension, exactly as the unprivileged spec defines division by
/// zero (quotient all ones, remainder the dividend) and overflow
/// (`i32::MIN / -1` = `i32::MIN`, remainder 0).
#[inline(always)]
pub fn muldiv(kind: OpKind, a: u32, b: u32) -> u32 {
    use OpKind::*;
    let (sa, sb) = (a as i32, b as i32);
    match kind {
        Mul => a.wrapping_mul(b),
        Mulh => ((sa as i64 * sb as i64) >> 32) as u32,
        Mulhsu => ((sa as i64).wrapping_mul(b as i64) >> 32) as u32,
        Mulhu => ((a as u64 * b as u64) >> 32) as u32,
        Div if b == 0 => u32::MAX,
        Div => sa.wrapping_div(sb) as u32,
        Divu if b == 0 => u32::MAX,
        Divu => a / b,
        Rem if b == 0 => a,
        Rem => sa.wrapping_rem(sb) as u32,
        Remu if b == 0 => a,
        Remu => a % b,
        _ => unreachable!("CPU004 {kind:?} is not an M op"),
    }
}

#[inline(always)]
fn load<W: Word, M: Mmu>(data: &mut DataTlb, mmu: &mut M, address: u32) -> Result<W, Stop<M::Fault>> {
    if address & (W::SIZE - 1) != 0 {
        return Err(Stop::Trap(Trap::MisalignedLoad { address }));
    }
    match data.load::<W>(address) {
        Some(v) => Ok(v),
        None => load_slow(data, mmu, address),
    }
}

#[cold]
#[inline(never)]
fn load_slow<W: Word, M: Mmu>(data: &mut DataTlb, mmu: &mut M, address: u32) -> Result<W, Stop<M::Fault>> {
    mmu.fill(data, address, Access::Read).map_err(Stop::Fault)?;
    Ok(data.load::<W>(address).expect("CPU005 no read entry after a successful fill"))
}

#[inline(always)]
fn store<W: Word + Into<u32>, M: Mmu>(
    data: &mut DataTlb,
    mmu: &mut M,
    address: u32,
    value: W,
) -> Result<(), Stop<M::Fault>> {
    if address & (W::SIZE - 1) != 0 {
        return Err(Stop::Trap(Trap::MisalignedStore { address }));
    }
    if data.store(address, value) { Ok(()) } else { store_slow(data, mmu, address, value) }
}

#[cold]
#[inline(never)]
fn store_slow<W: Word + Into<u32>, M: Mmu>(
    data: &mut DataTlb,
    mmu: &mut M,
    address: u32,
    value: W,
) -> Result<(), Stop<M::Fault>> {
    if mmu.fill(data, address, Access::Write).map_err(Stop::Fault)? {
        assert!(data.store(address, value), "CPU006 no write entry after a successful fill");
        return Ok(());
    }
    let bytes = value.into().to_le_bytes();
    mmu.store_slow(address, &bytes[..W::SIZE as usize]).map_err(Stop::Fault)?;
    Err(Stop::CodeWritten)
}

#[inline(always)]
fn terminate<F>(op: &Op, at: u32, x: &mut [u32; 256], remaining: &mut u64) -> Step<F> {
    use OpKind::*;
    let rs1 = x[op.rs1 as usize];
    let rs2 = x[op.rs2 as usize];
    let taken = match op.kind {
        Jal | Jalr => {
            let target = if op.kind == Jal {
                at.wrapping_add(op.imm as u32)
            } else {
                rs1.wrapping_add(op.imm as u32) & !1
            };
            return jump(target, at, op.rd, x, remaining);
        }
        Beq => rs1 == rs2,
        Bne => rs1 != rs2,
        Blt => (rs1 as i32) < (rs2 as i32),
        Bge => (rs1 as i32) >= (rs2 as i32),
        Bltu => rs1 < rs2,
        Bgeu => rs1 >= rs2,
        Ecall => return Step::Exit(Exit::Ecall, at),
        FenceI => return Step::Refetch(at.wrapping_add(4)),
        Ebreak => return untaken_trap(Trap::Breakpoint, at, remaining),
        Illegal => return untaken_trap(Trap::Illegal { word: op.imm as u32 }, at, remaining),
        _ => unreachable!("CPU007 {:?} does not end a block", op.kind),
    };
    if !taken {
        return Step::Next(at.wrapping_add(4));
    }
    let target = at.wrapping_add(op.imm as u32);
    if target & 3 != 0 {
        return untaken_trap(Trap::MisalignedJump { target }, at, remaining);
    }
    Step::Next(target)
}

#[inline(always)]
fn jump<F>(target: u32, at: u32, rd: u8, x: &mut [u32; 256], remaining: &mut u64) -> Step<F> {
    if target & 3 != 0 {
        return untaken_trap(Trap::MisalignedJump { target }, at, remaining);
    }
    x[rd as usize] = at.wrapping_add(4);
    Step::Next(target)
}

#[cold]
fn untaken_trap<F>(trap: Trap, at: u32, remaining: &mut u64) -> Step<F> {
    *remaining += 1;
    Step::Exit(Exit::Trap(trap), at)
}
