//! Translating hot guest code into host machine code with cranelift.
//!
//! A translation starts at one instruction slot of a decoded page and takes
//! in the basic blocks reachable from there inside the page by direct
//! branches and jumps (at most [`MAX_OPS`] instructions), so a loop becomes
//! a host loop. Guest registers live in cranelift variables (host registers,
//! mostly) and are written back to the hart on every exit.
//!
//! Exactness comes from returning to the interpreter rather than imitating
//! it. Each guest block begins with a budget check: if fewer instructions
//! remain than the block holds, the code returns at the block's first
//! instruction and the interpreter runs what is left of the budget. Anything
//! off the fast path returns at that instruction *unexecuted*, with the
//! instructions before it retired: a load or store whose page has no data
//! TLB entry or whose address is misaligned, `ebreak`, `fence.i`, an
//! illegal word, a jump to a misaligned target. The interpreter then
//! performs it with its own semantics. An `ecall` is retired and returned
//! as such, with the pc at it, as the interpreter does. So every exit is at an instruction
//! boundary with the whole state in the hart: a domain running translated
//! code can be stopped and checkpointed exactly where the interpreter would
//! have been.

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, Function, InstBuilder, MemFlagsData, Signature, UserFuncName, Value, types,
};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use rustc_hash::FxHashMap;

use super::native::{Context, ECALL, Native};
use crate::cpu::code::{DecodedPage, OPS_PER_PAGE};
use crate::cpu::decode::{Op, OpKind, SINK};
use crate::cpu::tlb::{RawEntry, TLB_ENTRIES};

/// The most guest instructions one translation takes in.
pub const MAX_OPS: usize = 512;

/// Why a translation was not made. The slot is then left to the
/// interpreter for good.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// Cranelift refused the function.
    #[error("code generation failed: {0}")]
    Codegen(String),
    /// The code needs relocations, which this tier does not apply.
    #[error("generated code needs {0} relocations")]
    Relocations(usize),
    /// No executable memory.
    #[error("executable memory: {0}")]
    Memory(#[from] std::io::Error),
}

/// A cranelift code generator for the host, with its reusable contexts.
pub struct Translator {
    isa: OwnedTargetIsa,
    codegen: cranelift_codegen::Context,
    builder: FunctionBuilderContext,
}

impl Translator {
    /// A translator for the machine this runs on, or `None` where cranelift
    /// has no backend or the host is not a 64-bit little-endian machine
    /// (the layout `native::Context` and the TLB loads assume).
    pub fn for_host() -> Option<Translator> {
        if !cfg!(target_endian = "little") || !cfg!(target_pointer_width = "64") {
            return None;
        }
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").ok()?;
        flags.set("enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" }).ok()?;
        let isa = cranelift_native::builder().ok()?.finish(settings::Flags::new(flags)).ok()?;
        Some(Translator {
            isa,
            codegen: cranelift_codegen::Context::new(),
            builder: FunctionBuilderContext::new(),
        })
    }

    /// Translates the code of `page` (at guest address `base`) entered at
    /// slot `entry`.
    pub fn translate(
        &mut self,
        page: &DecodedPage,
        base: u32,
        entry: usize,
    ) -> Result<Native, TranslateError> {
        let starts = plan(page, base, entry);
        let mut sig = Signature::new(self.isa.default_call_conv());
        sig.params.push(AbiParam::new(types::I64));
        self.codegen.clear();
        self.codegen.func = Function::with_name_signature(UserFuncName::user(0, entry as u32), sig);
        let mut b = FunctionBuilder::new(&mut self.codegen.func, &mut self.builder);
        Emitter::new(&mut b, page, base, &starts).emit(&starts);
        b.seal_all_blocks();
        b.finalize(self.isa.frontend_config());
        let compiled = self
            .codegen
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|e| TranslateError::Codegen(format!("{:?}", e.inner)))?;
        let relocs = compiled.buffer.relocs().len();
        if relocs != 0 {
            return Err(TranslateError::Relocations(relocs));
        }
        Ok(Native::load(compiled.code_buffer())?)
    }
}

/// The block starts a translation entered at `entry` takes in: `entry`
/// first, then every in-page target of a direct branch or jump and every
/// fall-through, breadth first, while the total stays within [`MAX_OPS`].
fn plan(page: &DecodedPage, base: u32, entry: usize) -> Vec<usize> {
    let mut starts = vec![entry];
    let mut planned = page.run_len[entry] as usize;
    let mut next = 0;
    while next < starts.len() {
        let s = starts[next];
        next += 1;
        for t in successors(page, base, s).into_iter().flatten() {
            let len = page.run_len[t] as usize;
            if !starts.contains(&t) && planned + len <= MAX_OPS {
                starts.push(t);
                planned += len;
            }
        }
    }
    starts
}

/// The in-page slots control can reach from the block starting at `s`
/// without leaving translated code.
fn successors(page: &DecodedPage, base: u32, s: usize) -> [Option<usize>; 2] {
    let last = s + page.run_len[s] as usize - 1;
    let op = page.ops[last];
    let fall = Some(last + 1).filter(|&k| k < OPS_PER_PAGE);
    let at = base + 4 * last as u32;
    match op.kind {
        OpKind::Beq | OpKind::Bne | OpKind::Blt | OpKind::Bge | OpKind::Bltu | OpKind::Bgeu => {
            [slot_in(base, at.wrapping_add(op.imm as u32)), fall]
        }
        OpKind::Jal => [slot_in(base, at.wrapping_add(op.imm as u32)), None],
        _ => [None, None],
    }
}

/// The slot of `target` if it is an aligned address in the page at `base`.
fn slot_in(base: u32, target: u32) -> Option<usize> {
    (target & !0xFFF == base && target & 3 == 0).then_some(((target & 0xFFF) >> 2) as usize)
}

/// Builds the IR of one translation.
struct Emitter<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    page: &'a DecodedPage,
    base: u32,
    /// Cranelift block of each planned guest block start.
    blocks: FxHashMap<usize, Block>,
    /// The one exit: parameters (next pc: i32, remaining: i64, reason: i32).
    exit: Block,
    /// x1..x31 as variables (index 0 unused).
    regs: [Variable; 32],
    /// Registers the translation writes, stored back on exit.
    written: [bool; 32],
    remaining: Variable,
    context: Value,
    read_table: Value,
    write_table: Value,
}

/// Where the block being emitted stands: its first slot and length, for
/// the retired-count fix-up of an exit in its middle.
#[derive(Clone, Copy)]
struct Position {
    slot: usize,
    block_start: usize,
    block_len: usize,
}

impl Position {
    fn pc(self, base: u32) -> u32 {
        base + 4 * self.slot as u32
    }

    /// Instructions of the block not retired when stopping before this one.
    fn unretired(self) -> i64 {
        (self.block_start + self.block_len - self.slot) as i64
    }
}

impl<'a, 'b> Emitter<'a, 'b> {
    fn new(b: &'a mut FunctionBuilder<'b>, page: &'a DecodedPage, base: u32, starts: &[usize]) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let context = b.block_params(entry)[0];
        let regs = std::array::from_fn(|_| b.declare_var(types::I32));
        let remaining = b.declare_var(types::I64);
        let exit = b.create_block();
        b.append_block_param(exit, types::I32);
        b.append_block_param(exit, types::I64);
        b.append_block_param(exit, types::I32);
        let blocks = starts.iter().map(|&s| (s, b.create_block())).collect();
        let flags = MemFlagsData::trusted();
        let read_table = b.ins().load(types::I64, flags, context, field(std::mem::offset_of!(Context, read)));
        let write_table =
            b.ins().load(types::I64, flags, context, field(std::mem::offset_of!(Context, write)));
        let mut e = Emitter {
            b,
            page,
            base,
            blocks,
            exit,
            regs,
            written: [false; 32],
            remaining,
            context,
            read_table,
            write_table,
        };
        e.load_state(starts);
        e
    }

    /// Reads the registers the planned blocks use, and the budget.
    fn load_state(&mut self, starts: &[usize]) {
        let flags = MemFlagsData::trusted();
        let regs_ptr =
            self.b.ins().load(types::I64, flags, self.context, field(std::mem::offset_of!(Context, regs)));
        let mut used = [false; 32];
        for op in starts.iter().flat_map(|&s| &self.page.ops[s..s + self.page.run_len[s] as usize]) {
            for r in [op.rd, op.rs1, op.rs2] {
                used[(r & 31) as usize] = true;
            }
        }
        for (r, &used) in used.iter().enumerate().skip(1) {
            let v = if used {
                self.b.ins().load(types::I32, flags, regs_ptr, 4 * r as i32)
            } else {
                self.b.ins().iconst(types::I32, 0)
            };
            self.b.def_var(self.regs[r], v);
        }
        let remaining = self.b.ins().load(
            types::I64,
            flags,
            self.context,
            field(std::mem::offset_of!(Context, remaining)),
        );
        self.b.def_var(self.remaining, remaining);
    }

    /// Emits the planned blocks, entered at the first.
    fn emit(mut self, starts: &[usize]) {
        let first = self.blocks[&starts[0]];
        self.b.ins().jump(first, &[]);
        for &s in starts {
            self.guest_block(s);
        }
        self.emit_exit();
    }

    /// One guest basic block: the budget check, then its ops.
    fn guest_block(&mut self, start: usize) {
        let len = self.page.run_len[start] as usize;
        self.b.switch_to_block(self.blocks[&start]);
        let remaining = self.b.use_var(self.remaining);
        let enough = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, remaining, len as i64);
        self.exit_unless(enough, self.base + 4 * start as u32, 0);
        let left = self.b.ins().iadd_imm_s(remaining, -(len as i64));
        self.b.def_var(self.remaining, left);
        for slot in start..start + len {
            let at = Position { slot, block_start: start, block_len: len };
            let op = self.page.ops[slot];
            if op.kind.ends_block() {
                self.terminator(op, at);
                return;
            }
            self.straight(op, at);
        }
        // The run reached the end of the page.
        self.goto(self.base.wrapping_add(0x1000));
    }

    /// Arguments of a jump to the exit.
    fn exit_args(&mut self, pc: Value, remaining: Value, reason: u32) -> [BlockArg; 3] {
        let reason = self.constant(reason);
        [BlockArg::Value(pc), BlockArg::Value(remaining), BlockArg::Value(reason)]
    }

    fn emit_exit(&mut self) {
        self.b.switch_to_block(self.exit);
        let &[pc, remaining, reason] = self.b.block_params(self.exit) else {
            unreachable!("JIT002 the exit block has three parameters")
        };
        let flags = MemFlagsData::trusted();
        let regs_ptr =
            self.b.ins().load(types::I64, flags, self.context, field(std::mem::offset_of!(Context, regs)));
        for r in 1..32 {
            if self.written[r] {
                let v = self.b.use_var(self.regs[r]);
                self.b.ins().store(flags, v, regs_ptr, 4 * r as i32);
            }
        }
        self.b.ins().store(flags, remaining, self.context, field(std::mem::offset_of!(Context, remaining)));
        self.b.ins().store(flags, pc, self.context, field(std::mem::offset_of!(Context, pc)));
        self.b.ins().store(flags, reason, self.context, field(std::mem::offset_of!(Context, reason)));
        self.b.ins().return_(&[]);
    }

    fn read(&mut self, r: u8) -> Value {
        match r {
            0 => self.b.ins().iconst(types::I32, 0),
            r => self.b.use_var(self.regs[(r & 31) as usize]),
        }
    }

    fn write(&mut self, rd: u8, v: Value) {
        if rd != 0 && rd != SINK {
            let r = (rd & 31) as usize;
            self.written[r] = true;
            self.b.def_var(self.regs[r], v);
        }
    }

    fn constant(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(v))
    }

    /// Leaves translated code to continue at `target`, with the
    /// instructions before it retired, or jumps there if it is planned.
    fn goto(&mut self, target: u32) {
        match slot_in(self.base, target).and_then(|s| self.blocks.get(&s)) {
            Some(&block) => {
                self.b.ins().jump(block, &[]);
            }
            None => {
                let pc = self.constant(target);
                self.leave(pc, 0);
            }
        }
    }

    /// Leaves for `pc` with what has retired so far.
    fn leave(&mut self, pc: Value, reason: u32) {
        let remaining = self.b.use_var(self.remaining);
        let args = self.exit_args(pc, remaining, reason);
        self.b.ins().jump(self.exit, &args);
    }

    /// Returns to the interpreter at `pc`, giving back `unretired`
    /// instructions charged but not run.
    fn leave_unretired(&mut self, pc: u32, unretired: i64) {
        let pc = self.constant(pc);
        let remaining = self.b.use_var(self.remaining);
        let remaining = self.b.ins().iadd_imm_s(remaining, unretired);
        let args = self.exit_args(pc, remaining, 0);
        self.b.ins().jump(self.exit, &args);
    }

    /// Returns to the interpreter before the op at `at`.
    fn stop(&mut self, at: Position) {
        self.leave_unretired(at.pc(self.base), at.unretired());
    }

    /// Continues in a fresh block if `ok`; else, from a cold block (so the
    /// exit's arguments are not computed on the hot path), returns to the
    /// interpreter at `pc`, giving back `unretired` instructions.
    fn exit_unless(&mut self, ok: Value, pc: u32, unretired: i64) {
        let (next, stub) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(stub);
        self.b.ins().brif(ok, next, &[], stub, &[]);
        self.b.switch_to_block(stub);
        self.leave_unretired(pc, unretired);
        self.b.switch_to_block(next);
    }

    /// Continues in a fresh block if `ok`, else returns to the interpreter
    /// before the op at `at`.
    fn continue_if(&mut self, ok: Value, at: Position) {
        self.exit_unless(ok, at.pc(self.base), at.unretired());
    }

    fn straight(&mut self, op: Op, at: Position) {
        use OpKind::*;
        let Op { kind, rd, rs1, rs2, imm } = op;
        let v = match kind {
            Nop => return,
            Lui => self.constant(imm as u32),
            Auipc => self.constant(self.base.wrapping_add(imm as u32)),
            Sb | Sh | Sw => return self.store(op, at),
            Lb | Lh | Lw | Lbu | Lhu => self.load(op, at),
            Addi | Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai => {
                let a = self.read(rs1);
                let b = self.constant(imm as u32);
                self.alu(kind, a, b)
            }
            _ => {
                let a = self.read(rs1);
                let b = self.read(rs2);
                self.alu(kind, a, b)
            }
        };
        self.write(rd, v);
    }

    /// The value of a register-register or register-immediate op (the
    /// immediate forms use the register form's operation).
    fn alu(&mut self, kind: OpKind, a: Value, b: Value) -> Value {
        use OpKind::*;
        let ins = self.b.ins();
        match kind {
            Addi | Add => ins.iadd(a, b),
            Sub => ins.isub(a, b),
            Xori | Xor => ins.bxor(a, b),
            Ori | Or => ins.bor(a, b),
            Andi | And => ins.band(a, b),
            // Cranelift masks shift amounts to the type's width, as RV32 does.
            Slli | Sll => ins.ishl(a, b),
            Srli | Srl => ins.ushr(a, b),
            Srai | Sra => ins.sshr(a, b),
            Slti | Slt => self.compare(IntCC::SignedLessThan, a, b),
            Sltiu | Sltu => self.compare(IntCC::UnsignedLessThan, a, b),
            Mul => ins.imul(a, b),
            Mulh => ins.smulhi(a, b),
            Mulhu => ins.umulhi(a, b),
            Mulhsu => self.mulhsu(a, b),
            Div | Divu | Rem | Remu => self.divide(kind, a, b),
            _ => unreachable!("JIT001 {kind:?} is not an ALU op"),
        }
    }

    fn compare(&mut self, cc: IntCC, a: Value, b: Value) -> Value {
        let flag = self.b.ins().icmp(cc, a, b);
        self.b.ins().uextend(types::I32, flag)
    }

    /// High word of signed × unsigned.
    fn mulhsu(&mut self, a: Value, b: Value) -> Value {
        let ins = self.b.ins();
        let wide_a = ins.sextend(types::I64, a);
        let wide_b = self.b.ins().uextend(types::I64, b);
        let product = self.b.ins().imul(wide_a, wide_b);
        let high = self.b.ins().sshr_imm_s(product, 32);
        self.b.ins().ireduce(types::I32, high)
    }

    /// Division and remainder as the M extension defines them: by zero, the
    /// quotient is all ones and the remainder the dividend; `MIN / -1` is
    /// `MIN` with remainder 0. The host divides by 1 in those cases (so it
    /// cannot trap) and selects the defined result.
    fn divide(&mut self, kind: OpKind, a: Value, b: Value) -> Value {
        use OpKind::*;
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
        let signed = matches!(kind, Div | Rem);
        let overflow = if signed {
            let min = self.b.ins().icmp_imm_s(IntCC::Equal, a, i64::from(i32::MIN));
            let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
            self.b.ins().band(min, minus_one)
        } else {
            self.b.ins().iconst(types::I8, 0)
        };
        let special = self.b.ins().bor(zero, overflow);
        let one = self.constant(1);
        let divisor = self.b.ins().select(special, one, b);
        let ins = self.b.ins();
        let (result, by_zero) = match kind {
            Div => (ins.sdiv(a, divisor), self.constant(u32::MAX)),
            Divu => (ins.udiv(a, divisor), self.constant(u32::MAX)),
            // `a % 1` is already the overflow case's 0.
            Rem => (ins.srem(a, divisor), a),
            _ => (ins.urem(a, divisor), a),
        };
        // Signed overflow of division: `a / 1` is `a`, which is `MIN`.
        self.b.ins().select(zero, by_zero, result)
    }

    /// The host address of an access of `size` bytes at `address` through
    /// `table`, continuing in a fresh block; returns to the interpreter
    /// before the op at `at` when the page has no entry or the address is
    /// misaligned. One compare covers both: the address rotated so its
    /// page number is in the low 20 bits and its low bits above them must
    /// equal the entry's page number, whose high bits are zero.
    fn host_address(&mut self, table: Value, address: Value, size: u32, at: Position) -> Value {
        let flags = MemFlagsData::trusted();
        let rotated = self.b.ins().rotl_imm_s(address, 20);
        let key = self.b.ins().band_imm_s(rotated, i64::from(0xF_FFFF | (size - 1) << 20));
        let index = self.b.ins().band_imm_s(rotated, (TLB_ENTRIES - 1) as i64);
        let index = self.b.ins().uextend(types::I64, index);
        let offset = self.b.ins().imul_imm_s(index, size_of::<RawEntry>() as i64);
        let entry = self.b.ins().iadd(table, offset);
        let vpage = self.b.ins().load(types::I32, flags, entry, field(std::mem::offset_of!(RawEntry, vpage)));
        let hit = self.b.ins().icmp(IntCC::Equal, key, vpage);
        self.continue_if(hit, at);
        let frame = self.b.ins().load(types::I64, flags, entry, field(std::mem::offset_of!(RawEntry, host)));
        let in_page = self.b.ins().band_imm_s(address, 0xFFF);
        let in_page = self.b.ins().uextend(types::I64, in_page);
        self.b.ins().iadd(frame, in_page)
    }

    fn effective_address(&mut self, op: Op) -> Value {
        let base = self.read(op.rs1);
        self.b.ins().iadd_imm_s(base, i64::from(op.imm))
    }

    fn load(&mut self, op: Op, at: Position) -> Value {
        use OpKind::*;
        let address = self.effective_address(op);
        let size = match op.kind {
            Lb | Lbu => 1,
            Lh | Lhu => 2,
            _ => 4,
        };
        let p = self.host_address(self.read_table, address, size, at);
        let flags = MemFlagsData::trusted();
        let ins = self.b.ins();
        match op.kind {
            Lb => ins.sload8(types::I32, flags, p, 0),
            Lbu => ins.uload8(types::I32, flags, p, 0),
            Lh => ins.sload16(types::I32, flags, p, 0),
            Lhu => ins.uload16(types::I32, flags, p, 0),
            _ => ins.load(types::I32, flags, p, 0),
        }
    }

    fn store(&mut self, op: Op, at: Position) {
        use OpKind::*;
        let address = self.effective_address(op);
        let size = match op.kind {
            Sb => 1,
            Sh => 2,
            _ => 4,
        };
        let p = self.host_address(self.write_table, address, size, at);
        let value = self.read(op.rs2);
        let flags = MemFlagsData::trusted();
        let ins = self.b.ins();
        match op.kind {
            Sb => ins.istore8(flags, value, p, 0),
            Sh => ins.istore16(flags, value, p, 0),
            _ => ins.store(flags, value, p, 0),
        };
    }

    fn terminator(&mut self, op: Op, at: Position) {
        use OpKind::*;
        let pc = at.pc(self.base);
        let next = pc.wrapping_add(4);
        let target = pc.wrapping_add(op.imm as u32);
        match op.kind {
            Jal if target & 3 != 0 => self.stop(at),
            Jal => {
                let link = self.constant(next);
                self.write(op.rd, link);
                self.goto(target);
            }
            Jalr => self.jalr(op, at),
            Beq | Bne | Blt | Bge | Bltu | Bgeu => self.branch(op, at),
            Ecall => {
                let pc = self.constant(pc);
                self.leave(pc, ECALL);
            }
            // Left to the interpreter (see `left_to_interpreter`): traps and
            // code refetch.
            _ => self.stop(at),
        }
    }

    fn jalr(&mut self, op: Op, at: Position) {
        let base = self.read(op.rs1);
        let sum = self.b.ins().iadd_imm_s(base, i64::from(op.imm));
        let target = self.b.ins().band_imm_s(sum, !1);
        let low = self.b.ins().band_imm_s(target, 3);
        let aligned = self.b.ins().icmp_imm_s(IntCC::Equal, low, 0);
        self.continue_if(aligned, at);
        let link = self.constant(at.pc(self.base).wrapping_add(4));
        self.write(op.rd, link);
        self.leave(target, 0);
    }

    fn branch(&mut self, op: Op, at: Position) {
        use OpKind::*;
        let cc = match op.kind {
            Beq => IntCC::Equal,
            Bne => IntCC::NotEqual,
            Blt => IntCC::SignedLessThan,
            Bge => IntCC::SignedGreaterThanOrEqual,
            Bltu => IntCC::UnsignedLessThan,
            _ => IntCC::UnsignedGreaterThanOrEqual,
        };
        let a = self.read(op.rs1);
        let b = self.read(op.rs2);
        let taken = self.b.ins().icmp(cc, a, b);
        let (taken_block, fall_block) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(taken, taken_block, &[], fall_block, &[]);
        let pc = at.pc(self.base);
        let target = pc.wrapping_add(op.imm as u32);
        self.b.switch_to_block(taken_block);
        if target & 3 != 0 {
            self.stop(at);
        } else {
            self.goto(target);
        }
        self.b.switch_to_block(fall_block);
        self.goto(pc.wrapping_add(4));
    }
}

fn field(offset: usize) -> i32 {
    offset as i32
}
