//! The two passes: the first places every statement (sections, offsets,
//! labels, and how many words each pseudo-instruction takes); the second,
//! with every address known, emits bytes.

use std::collections::HashMap;

use crate::error::{AsmError, Origin};
use crate::expr::{self, Expr, Scope, Tok};
use crate::isa::{self, Format, Op};
use crate::parse::{self, Body, Operand, Stmt};
use crate::{Options, Program, Segment, SegmentFlags};

/// Sections, in address order.
pub const SECTIONS: [&str; 4] = [".text", ".rodata", ".data", ".bss"];
const TEXT: usize = 0;
const BSS: usize = 3;

#[derive(Clone, Debug)]
enum Symbol {
    Label(usize, u64),
    Equ(Expr, Origin),
}

/// Assembler state across both passes.
pub struct Assembly<'a> {
    stmts: Vec<Stmt>,
    opts: &'a Options,
    symbols: HashMap<String, Symbol>,
    locals: HashMap<u32, Vec<(usize, usize, u64)>>,
    placement: Vec<(usize, u64)>,
    words: Vec<usize>,
    bases: [u64; 4],
    sizes: [u64; 4],
    pcrel: HashMap<i64, i64>,
    laid_out: bool,
}

struct At<'s, 'a> {
    asm: &'s Assembly<'a>,
    stmt: usize,
    dot: i64,
}

impl Scope for At<'_, '_> {
    fn symbol(&self, name: &str) -> Option<i64> {
        self.asm.symbol_value(name, 0)
    }
    fn dot(&self) -> i64 {
        self.dot
    }
    fn pcrel_target(&self, auipc_address: i64) -> Option<i64> {
        self.asm.pcrel.get(&auipc_address).copied()
    }
    fn local(&self, n: u32, forward: bool) -> Option<i64> {
        let defs = self.asm.locals.get(&n)?;
        let def = if forward {
            defs.iter().find(|(s, _, _)| *s > self.stmt)
        } else {
            defs.iter().rev().find(|(s, _, _)| *s <= self.stmt)
        }?;
        self.asm.laid_out.then(|| (self.asm.bases[def.1] + def.2) as i64)
    }
}

fn err(origin: &Origin, column: usize, message: impl Into<String>) -> AsmError {
    AsmError::at(origin, column, message)
}

impl<'a> Assembly<'a> {
    /// Parses the lines and runs pass one.
    pub fn new(lines: &[crate::source::Line], opts: &'a Options) -> Result<Assembly<'a>, AsmError> {
        let stmts = lines.iter().map(parse::parse).collect::<Result<Vec<_>, _>>()?;
        let mut a = Assembly {
            stmts,
            opts,
            symbols: HashMap::new(),
            locals: HashMap::new(),
            placement: Vec::new(),
            words: Vec::new(),
            bases: [0; 4],
            sizes: [0; 4],
            pcrel: HashMap::new(),
            laid_out: false,
        };
        a.pass_one()?;
        a.lay_out();
        Ok(a)
    }

    fn symbol_value(&self, name: &str, depth: usize) -> Option<i64> {
        match self.symbols.get(name)? {
            Symbol::Label(section, offset) => self.laid_out.then(|| (self.bases[*section] + offset) as i64),
            Symbol::Equ(e, origin) if depth < 64 => {
                let scope = EquScope { asm: self, depth: depth + 1 };
                expr::eval(e, &scope, origin).ok().flatten()
            }
            Symbol::Equ(..) => None,
        }
    }

    fn eval(&self, e: &Expr, i: usize, dot: i64) -> Result<Option<i64>, AsmError> {
        expr::eval(e, &At { asm: self, stmt: i, dot }, &self.stmts[i].origin)
    }

    /// Evaluates in pass two, where everything must be known.
    fn value(&self, e: &Expr, i: usize, dot: i64, column: usize) -> Result<i64, AsmError> {
        self.eval(e, i, dot)?.ok_or_else(|| {
            let name = first_symbol(e).unwrap_or_default();
            err(&self.stmts[i].origin, column, format!("undefined symbol '{name}'"))
        })
    }

    fn define(&mut self, name: &str, symbol: Symbol, origin: &Origin, column: usize) -> Result<(), AsmError> {
        if self.symbols.contains_key(name) {
            return Err(err(origin, column, format!("'{name}' is already defined")));
        }
        self.symbols.insert(name.to_string(), symbol);
        Ok(())
    }

    fn pass_one(&mut self) -> Result<(), AsmError> {
        let mut section = TEXT;
        let mut offsets = [0u64; 4];
        for i in 0..self.stmts.len() {
            let stmt = self.stmts[i].clone();
            for (label, column) in &stmt.labels {
                match label.parse::<u32>() {
                    Ok(n) => self.locals.entry(n).or_default().push((i, section, offsets[section])),
                    Err(_) => {
                        self.define(label, Symbol::Label(section, offsets[section]), &stmt.origin, *column)?
                    }
                }
            }
            self.placement.push((section, offsets[section]));
            let size = match &stmt.body {
                Body::Empty => 0,
                Body::Assign(name) => {
                    let e = parse::whole_expr(&stmt.operands.concat(), &stmt.origin)?;
                    self.define(name, Symbol::Equ(e, stmt.origin.clone()), &stmt.origin, stmt.column)?;
                    0
                }
                Body::Directive(d) => self.directive_size(i, d, &mut section, offsets)?,
                Body::Instruction(m) => {
                    let n = self.instruction_words(i, m)?;
                    self.words.push(n);
                    4 * n as u64
                }
            };
            if !matches!(stmt.body, Body::Instruction(_)) {
                self.words.push(0);
            }
            if section == BSS && matches!(stmt.body, Body::Instruction(_)) {
                return Err(err(&stmt.origin, stmt.column, "instructions cannot go in .bss"));
            }
            offsets[section] += size;
        }
        self.sizes = offsets;
        Ok(())
    }

    fn lay_out(&mut self) {
        let page = |v: u64| v.next_multiple_of(4096);
        let text = u64::from(self.opts.text_base);
        let rodata = page(text + self.sizes[0]);
        let data = page(rodata + self.sizes[1]);
        let bss = page(data + self.sizes[2]);
        self.bases = [text, rodata, data, bss];
        self.laid_out = true;
    }

    /// Bytes a directive takes in pass one (and section switches).
    fn directive_size(
        &mut self,
        i: usize,
        d: &str,
        section: &mut usize,
        offsets: [u64; 4],
    ) -> Result<u64, AsmError> {
        let s = &self.stmts[i];
        let count = s.operands.len() as u64;
        Ok(match d {
            ".text" | ".data" | ".rodata" | ".bss" => {
                *section = SECTIONS.iter().position(|x| x == &d).expect("section");
                0
            }
            ".section" => {
                *section = self.named_section(i)?;
                0
            }
            ".word" | ".4byte" | ".long" => 4 * count,
            ".half" | ".2byte" | ".short" => 2 * count,
            ".byte" => count,
            ".ascii" | ".asciz" | ".string" => self.strings(i, d != ".ascii")?.len() as u64,
            ".space" | ".zero" | ".skip" => self.constant(i, 0)? as u64,
            ".align" | ".p2align" | ".balign" => {
                let a = self.alignment(i, d)?;
                offsets[*section].next_multiple_of(a) - offsets[*section]
            }
            ".equ" | ".set" => {
                let name = match s.operands.first().map(|o| o.as_slice()) {
                    Some([expr::Token { kind: Tok::Ident(n), .. }]) => n.clone(),
                    _ => {
                        return Err(err(
                            &s.origin,
                            s.column,
                            format!("{d} takes a name and a value: {d} NAME, VALUE"),
                        ));
                    }
                };
                let e = parse::whole_expr(s.operands.get(1).map_or(&[][..], |o| o), &s.origin)?;
                let origin = s.origin.clone();
                let column = s.column;
                if d == ".set" {
                    self.symbols.insert(name, Symbol::Equ(e, origin));
                } else {
                    self.define(&name, Symbol::Equ(e, origin.clone()), &origin, column)?;
                }
                0
            }
            ".globl" | ".global" | ".local" | ".type" | ".size" | ".file" | ".ident" | ".option"
            | ".attribute" | ".weak" | ".hidden" | ".p2alignl" => 0,
            other => return Err(err(&s.origin, s.column, format!("unknown directive '{other}'"))),
        })
    }

    fn named_section(&self, i: usize) -> Result<usize, AsmError> {
        let s = &self.stmts[i];
        let name = match s.operands.first().and_then(|o| o.first()) {
            Some(expr::Token { kind: Tok::Ident(n), .. }) => n.clone(),
            Some(expr::Token { kind: Tok::Str(n), .. }) => String::from_utf8_lossy(n).into_owned(),
            _ => return Err(err(&s.origin, s.column, ".section needs a name")),
        };
        SECTIONS
            .iter()
            .position(|base| name == *base || name.starts_with(&format!("{base}.")))
            .or_else(|| name.starts_with(".sdata").then_some(2))
            .or_else(|| name.starts_with(".sbss").then_some(3))
            .or_else(|| name.starts_with(".srodata").then_some(1))
            .ok_or_else(|| {
                err(
                    &s.origin,
                    s.column,
                    format!("unknown section '{name}': use .text, .rodata, .data or .bss"),
                )
            })
    }

    fn strings(&self, i: usize, terminate: bool) -> Result<Vec<u8>, AsmError> {
        let s = &self.stmts[i];
        let mut out = Vec::new();
        for o in &s.operands {
            match o.as_slice() {
                [expr::Token { kind: Tok::Str(b), .. }] => {
                    out.extend_from_slice(b);
                    if terminate {
                        out.push(0);
                    }
                }
                _ => {
                    return Err(err(
                        &s.origin,
                        o.first().map_or(s.column, |t| t.column),
                        "expected a string in quotes",
                    ));
                }
            }
        }
        Ok(out)
    }

    fn constant(&self, i: usize, operand: usize) -> Result<i64, AsmError> {
        let s = &self.stmts[i];
        let tokens = s.operands.get(operand).ok_or_else(|| err(&s.origin, s.column, "a value is missing"))?;
        let e = parse::whole_expr(tokens, &s.origin)?;
        let v = self.eval(&e, i, 0)?.ok_or_else(|| {
            err(
                &s.origin,
                tokens[0].column,
                "this value must be known on the first pass (a constant defined earlier)",
            )
        })?;
        if v < 0 {
            return Err(err(&s.origin, tokens[0].column, format!("{v} is negative")));
        }
        Ok(v)
    }

    fn alignment(&self, i: usize, d: &str) -> Result<u64, AsmError> {
        let v = self.constant(i, 0)? as u64;
        let s = &self.stmts[i];
        let a = if d == ".balign" { v } else { 1u64.checked_shl(v as u32).unwrap_or(0) };
        if a == 0 || !a.is_power_of_two() || a > 4096 {
            return Err(err(&s.origin, s.column, format!("alignment {a} must be a power of two up to 4096")));
        }
        Ok(a)
    }

    fn operands(&self, i: usize) -> Result<Vec<Operand>, AsmError> {
        let s = &self.stmts[i];
        s.operands.iter().map(|o| parse::operand(o, &s.origin)).collect()
    }

    /// Words an instruction takes, decided once in pass one.
    fn instruction_words(&self, i: usize, mnemonic: &str) -> Result<usize, AsmError> {
        let ops = self.operands(i)?;
        Ok(match mnemonic {
            "la" | "lla" | "call" | "tail" => 2,
            "lb" | "lh" | "lw" | "lbu" | "lhu" | "sb" | "sh" | "sw"
                if matches!(ops.get(1), Some(Operand::Value(_))) =>
            {
                2
            }
            "li" => match ops.get(1) {
                Some(Operand::Value(e)) => match self.eval(e, i, 0)?.map(as_i32) {
                    Some(v) if (-2048..2048).contains(&v) || expr::lo12(v) == 0 => 1,
                    _ => 2,
                },
                _ => 1,
            },
            _ => 1,
        })
    }

    /// Pass two: every section's bytes.
    pub fn emit(mut self) -> Result<Program, AsmError> {
        self.collect_pcrel()?;
        let mut bytes: [Vec<u8>; 4] = Default::default();
        for i in 0..self.stmts.len() {
            let (section, offset) = self.placement[i];
            let dot = (self.bases[section] + offset) as i64;
            let body = self.stmts[i].body.clone();
            match body {
                Body::Instruction(m) => {
                    let words = self.instruction(i, &m, dot)?;
                    assert_eq!(words.len(), self.words[i], "ASM002 pass two disagrees with pass one");
                    for w in words {
                        bytes[section].extend_from_slice(&w.to_le_bytes());
                    }
                }
                Body::Directive(d) => self.emit_directive(i, &d, dot, section, &mut bytes[section])?,
                _ => {}
            }
        }
        let symbols = self.label_values();
        let entry = symbols.get("_start").copied().unwrap_or(self.bases[TEXT] as u32);
        let sections = (0..4)
            .filter(|&s| self.sizes[s] > 0)
            .map(|s| crate::SectionInfo {
                name: SECTIONS[s],
                addr: self.bases[s] as u32,
                size: self.sizes[s] as u32,
            })
            .collect();
        Ok(Program { entry, segments: self.segments(bytes), sections, symbols })
    }

    fn label_values(&self) -> std::collections::BTreeMap<String, u32> {
        self.symbols
            .iter()
            .filter_map(|(n, s)| match s {
                Symbol::Label(sec, off) => Some((n.clone(), (self.bases[*sec] + off) as u32)),
                Symbol::Equ(..) => None,
            })
            .collect()
    }

    fn segments(&self, bytes: [Vec<u8>; 4]) -> Vec<Segment> {
        let mut segments = Vec::new();
        let [text, rodata, data, _] = &bytes;
        if self.sizes[0] + self.sizes[1] > 0 {
            let mut b = text.clone();
            if !rodata.is_empty() {
                b.resize((self.bases[1] - self.bases[0]) as usize, 0);
                b.extend_from_slice(rodata);
            }
            let flags = SegmentFlags { read: true, write: false, execute: true };
            segments.push(Segment { vaddr: self.bases[0] as u32, mem_size: b.len() as u32, bytes: b, flags });
        }
        if self.sizes[2] + self.sizes[3] > 0 {
            let mem_size =
                if self.sizes[3] > 0 { self.bases[3] + self.sizes[3] - self.bases[2] } else { self.sizes[2] };
            let flags = SegmentFlags { read: true, write: true, execute: false };
            segments.push(Segment {
                vaddr: self.bases[2] as u32,
                bytes: data.clone(),
                mem_size: mem_size as u32,
                flags,
            });
        }
        segments
    }

    fn collect_pcrel(&mut self) -> Result<(), AsmError> {
        for i in 0..self.stmts.len() {
            if let Body::Instruction(m) = &self.stmts[i].body
                && m == "auipc"
                && let Some(Operand::Value(Expr::Reloc(expr::Reloc::PcrelHi, inner, _))) =
                    self.operands(i)?.get(1).cloned()
            {
                let (sec, off) = self.placement[i];
                let dot = (self.bases[sec] + off) as i64;
                if let Some(target) = self.eval(&inner, i, dot)? {
                    self.pcrel.insert(dot, target);
                }
            }
        }
        Ok(())
    }

    fn emit_directive(
        &self,
        i: usize,
        d: &str,
        dot: i64,
        section: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), AsmError> {
        let s = &self.stmts[i];
        let width = match d {
            ".word" | ".4byte" | ".long" => 4,
            ".half" | ".2byte" | ".short" => 2,
            ".byte" => 1,
            ".ascii" | ".asciz" | ".string" => {
                out.extend(self.strings(i, d != ".ascii")?);
                return Ok(());
            }
            ".space" | ".zero" | ".skip" => {
                let fill = if s.operands.len() > 1 { self.constant(i, 1)? as u8 } else { 0 };
                out.extend(std::iter::repeat_n(fill, self.constant(i, 0)? as usize));
                return Ok(());
            }
            ".align" | ".p2align" | ".balign" => {
                let target = (out.len() as u64).next_multiple_of(self.alignment(i, d)?) as usize;
                while out.len() < target {
                    if section == TEXT && out.len().is_multiple_of(4) && target - out.len() >= 4 {
                        out.extend_from_slice(&0x0000_0013u32.to_le_bytes());
                    } else {
                        out.push(0);
                    }
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        if section == BSS {
            return Err(err(&s.origin, s.column, "data cannot go in .bss: use .space"));
        }
        for (k, o) in s.operands.iter().enumerate() {
            let column = o.first().map_or(s.column, |t| t.column);
            let v = self.value(&parse::whole_expr(o, &s.origin)?, i, dot + (k * width) as i64, column)?;
            let fits = match width {
                1 => (-128..256).contains(&v),
                2 => (-32768..65536).contains(&v),
                _ => (-(1i64 << 31)..(1i64 << 32)).contains(&v),
            };
            if !fits {
                return Err(err(&s.origin, column, format!("{v} does not fit in {width} byte(s)")));
            }
            out.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        Ok(())
    }

    /// The words of one (pseudo-)instruction at `pc`.
    fn instruction(&self, i: usize, m: &str, pc: i64) -> Result<Vec<u32>, AsmError> {
        let ops = self.operands(i)?;
        let x = Ctx { asm: self, i, pc, ops: &ops };
        if let Some(op) = isa::find(m) {
            return x.real(op);
        }
        x.pseudo(m)
    }
}

struct EquScope<'s, 'a> {
    asm: &'s Assembly<'a>,
    depth: usize,
}

impl Scope for EquScope<'_, '_> {
    fn symbol(&self, name: &str) -> Option<i64> {
        self.asm.symbol_value(name, self.depth)
    }
    fn dot(&self) -> i64 {
        0
    }
    fn pcrel_target(&self, _: i64) -> Option<i64> {
        None
    }
}

/// A 32-bit value as the signed number it denotes (0xFFFF_FFFF is -1).
fn as_i32(v: i64) -> i64 {
    if (1i64 << 31..1i64 << 32).contains(&v) { v - (1i64 << 32) } else { v }
}

fn first_symbol(e: &Expr) -> Option<String> {
    match e {
        Expr::Sym(s, _) => Some(s.clone()),
        Expr::Unary(_, a) | Expr::Reloc(_, a, _) => first_symbol(a),
        Expr::Binary(_, a, b) => first_symbol(a).or_else(|| first_symbol(b)),
        _ => None,
    }
}

/// One instruction being encoded.
struct Ctx<'s, 'a> {
    asm: &'s Assembly<'a>,
    i: usize,
    pc: i64,
    ops: &'s [Operand],
}

impl Ctx<'_, '_> {
    fn stmt(&self) -> &Stmt {
        &self.asm.stmts[self.i]
    }

    fn column(&self, k: usize) -> usize {
        self.stmt().operands.get(k).and_then(|o| o.first()).map_or(self.stmt().column, |t| t.column)
    }

    fn error(&self, k: usize, message: impl Into<String>) -> AsmError {
        err(&self.stmt().origin, self.column(k), message)
    }

    fn count(&self, n: usize, form: &str) -> Result<(), AsmError> {
        if self.ops.len() == n {
            Ok(())
        } else {
            let m = match &self.stmt().body {
                Body::Instruction(m) => m.clone(),
                _ => String::new(),
            };
            Err(err(
                &self.stmt().origin,
                self.stmt().column,
                format!("'{m}' takes {n} operand(s): {m} {form}"),
            ))
        }
    }

    fn reg(&self, k: usize) -> Result<u32, AsmError> {
        match self.ops.get(k) {
            Some(Operand::Reg(r)) => Ok(*r),
            _ => Err(self.error(k, "expected a register (x0-x31 or an ABI name)")),
        }
    }

    fn val(&self, k: usize) -> Result<i64, AsmError> {
        match self.ops.get(k) {
            Some(Operand::Value(e)) => self.asm.value(e, self.i, self.pc, self.column(k)),
            _ => Err(self.error(k, "expected a value")),
        }
    }

    fn mem(&self, k: usize) -> Result<(i64, u32), AsmError> {
        match self.ops.get(k) {
            Some(Operand::Mem(e, r)) => Ok((self.asm.value(e, self.i, self.pc, self.column(k))?, *r)),
            _ => Err(self.error(k, "expected offset(register)")),
        }
    }

    fn ranged(&self, k: usize, v: i64, lo: i64, hi: i64, what: &str) -> Result<i64, AsmError> {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(self.error(k, format!("{what} {v} is out of range {lo}..={hi}")))
        }
    }

    fn target(&self, k: usize, bits: u32) -> Result<i64, AsmError> {
        let offset = self.val(k)? - self.pc;
        let limit = 1i64 << (bits - 1);
        if offset % 2 != 0 {
            return Err(self.error(k, format!("the target is at an odd distance ({offset} bytes)")));
        }
        if !(-limit..limit).contains(&offset) {
            return Err(self.error(k, format!("the target is {offset} bytes away; the limit is ±{limit}")));
        }
        Ok(offset)
    }

    fn real(&self, op: &Op) -> Result<Vec<u32>, AsmError> {
        let e = |rd, rs1, rs2, imm| Ok(vec![isa::encode(op, rd, rs1, rs2, imm)]);
        match op.format {
            Format::R => {
                self.count(3, "rd, rs1, rs2")?;
                e(self.reg(0)?, self.reg(1)?, self.reg(2)?, 0)
            }
            Format::I => {
                self.count(3, "rd, rs1, imm")?;
                let imm = self.ranged(2, self.val(2)?, -2048, 2047, "immediate")?;
                e(self.reg(0)?, self.reg(1)?, 0, imm)
            }
            Format::Shift => {
                self.count(3, "rd, rs1, shamt")?;
                let sh = self.ranged(2, self.val(2)?, 0, 31, "shift amount")?;
                e(self.reg(0)?, self.reg(1)?, 0, sh)
            }
            Format::Load => self.load_store(op, false),
            Format::Store => self.load_store(op, true),
            Format::Branch => {
                self.count(3, "rs1, rs2, target")?;
                e(0, self.reg(0)?, self.reg(1)?, self.target(2, 13)?)
            }
            Format::U => {
                self.count(2, "rd, imm20")?;
                let imm = self.ranged(1, self.val(1)?, -(1 << 19), (1 << 20) - 1, "upper immediate")?;
                e(self.reg(0)?, 0, 0, imm)
            }
            Format::J => match self.ops.len() {
                1 => e(1, 0, 0, self.target(0, 21)?),
                _ => {
                    self.count(2, "rd, target")?;
                    e(self.reg(0)?, 0, 0, self.target(1, 21)?)
                }
            },
            Format::Jalr => self.jalr(op),
            Format::System => self.system(op),
        }
    }

    fn load_store(&self, op: &Op, store: bool) -> Result<Vec<u32>, AsmError> {
        let r = self.reg(0)?;
        if let Some(Operand::Value(_)) = self.ops.get(1) {
            // `lw rd, symbol` / `sw rs, symbol, rt`: auipc then the access.
            let temp = if store {
                self.count(3, "rs2, symbol, temp")?;
                self.reg(2)?
            } else {
                self.count(2, "rd, symbol")?;
                r
            };
            let offset = self.val(1)? - self.pc;
            let auipc = isa::encode(isa::find("auipc").expect("auipc"), temp, 0, 0, expr::hi20(offset));
            let access = if store {
                isa::encode(op, 0, temp, r, expr::lo12(offset))
            } else {
                isa::encode(op, r, temp, 0, expr::lo12(offset))
            };
            return Ok(vec![auipc, access]);
        }
        self.count(2, if store { "rs2, offset(rs1)" } else { "rd, offset(rs1)" })?;
        let (offset, base) = self.mem(1)?;
        let offset = self.ranged(1, offset, -2048, 2047, "offset")?;
        Ok(vec![if store {
            isa::encode(op, 0, base, r, offset)
        } else {
            isa::encode(op, r, base, 0, offset)
        }])
    }

    fn jalr(&self, op: &Op) -> Result<Vec<u32>, AsmError> {
        let (rd, rs1, imm) = match self.ops {
            [Operand::Reg(rs)] => (1, *rs, 0),
            [Operand::Reg(rd), Operand::Mem(..)] => {
                let (imm, rs) = self.mem(1)?;
                (*rd, rs, imm)
            }
            [Operand::Reg(rd), Operand::Reg(rs)] => (*rd, *rs, 0),
            [Operand::Reg(rd), Operand::Reg(rs), Operand::Value(_)] => (*rd, *rs, self.val(2)?),
            _ => return Err(self.error(0, "jalr takes rs, or rd, offset(rs1), or rd, rs1, offset")),
        };
        let imm = self.ranged(0, imm, -2048, 2047, "offset")?;
        Ok(vec![isa::encode(op, rd, rs1, 0, imm)])
    }

    fn system(&self, op: &Op) -> Result<Vec<u32>, AsmError> {
        if op.name != "fence" || self.ops.is_empty() {
            self.count(0, "")?;
            return Ok(vec![op.base]);
        }
        self.count(2, "pred, succ (e.g. fence rw, rw)")?;
        let set = |k: usize| -> Result<u32, AsmError> {
            let tokens = &self.stmt().operands[k];
            let Some(expr::Token { kind: Tok::Ident(s), .. }) = tokens.first() else {
                return Err(self.error(k, "expected a set of i, o, r, w"));
            };
            s.chars().try_fold(0u32, |acc, c| match c {
                'i' => Ok(acc | 8),
                'o' => Ok(acc | 4),
                'r' => Ok(acc | 2),
                'w' => Ok(acc | 1),
                _ => Err(self.error(k, format!("'{c}' is not one of i, o, r, w"))),
            })
        };
        let (pred, succ) = (set(0)?, set(1)?);
        Ok(vec![0x0000_000F | pred << 24 | succ << 20])
    }

    fn pseudo(&self, m: &str) -> Result<Vec<u32>, AsmError> {
        let op = |name: &str| isa::find(name).expect("ASM003 base op");
        let one = |name: &str, rd, rs1, rs2, imm| Ok(vec![isa::encode(op(name), rd, rs1, rs2, imm)]);
        match m {
            "nop" => {
                self.count(0, "")?;
                one("addi", 0, 0, 0, 0)
            }
            "unimp" => Ok(vec![0xC000_1073]),
            "ret" => one("jalr", 0, 1, 0, 0),
            "li" => self.li(),
            "la" | "lla" => {
                self.count(2, "rd, symbol")?;
                let (rd, offset) = (self.reg(0)?, self.val(1)? - self.pc);
                Ok(vec![
                    isa::encode(op("auipc"), rd, 0, 0, expr::hi20(offset)),
                    isa::encode(op("addi"), rd, rd, 0, expr::lo12(offset)),
                ])
            }
            "call" | "tail" => {
                self.count(1, "target")?;
                let offset = self.val(0)? - self.pc;
                let (link, temp) = if m == "call" { (1, 1) } else { (0, 6) };
                Ok(vec![
                    isa::encode(op("auipc"), temp, 0, 0, expr::hi20(offset)),
                    isa::encode(op("jalr"), link, temp, 0, expr::lo12(offset)),
                ])
            }
            "mv" | "not" | "neg" | "seqz" | "snez" | "sltz" | "sgtz" => {
                self.count(2, "rd, rs")?;
                let (rd, rs) = (self.reg(0)?, self.reg(1)?);
                match m {
                    "mv" => one("addi", rd, rs, 0, 0),
                    "not" => one("xori", rd, rs, 0, -1),
                    "neg" => one("sub", rd, 0, rs, 0),
                    "seqz" => one("sltiu", rd, rs, 0, 1),
                    "snez" => one("sltu", rd, 0, rs, 0),
                    "sltz" => one("slt", rd, rs, 0, 0),
                    _ => one("slt", rd, 0, rs, 0),
                }
            }
            "beqz" | "bnez" | "blez" | "bgez" | "bltz" | "bgtz" => {
                self.count(2, "rs, target")?;
                let (rs, t) = (self.reg(0)?, self.target(1, 13)?);
                match m {
                    "beqz" => one("beq", 0, rs, 0, t),
                    "bnez" => one("bne", 0, rs, 0, t),
                    "blez" => one("bge", 0, 0, rs, t),
                    "bgez" => one("bge", 0, rs, 0, t),
                    "bltz" => one("blt", 0, rs, 0, t),
                    _ => one("blt", 0, 0, rs, t),
                }
            }
            "bgt" | "ble" | "bgtu" | "bleu" => {
                self.count(3, "rs1, rs2, target")?;
                let (a, b, t) = (self.reg(0)?, self.reg(1)?, self.target(2, 13)?);
                let base = match m {
                    "bgt" => "blt",
                    "ble" => "bge",
                    "bgtu" => "bltu",
                    _ => "bgeu",
                };
                one(base, 0, b, a, t)
            }
            "j" => {
                self.count(1, "target")?;
                one("jal", 0, 0, 0, self.target(0, 21)?)
            }
            "jr" => {
                self.count(1, "rs")?;
                one("jalr", 0, self.reg(0)?, 0, 0)
            }
            other => Err(err(
                &self.stmt().origin,
                self.stmt().column,
                format!("unknown instruction '{other}'{}", suggestion(other)),
            )),
        }
    }

    fn li(&self) -> Result<Vec<u32>, AsmError> {
        self.count(2, "rd, value")?;
        let rd = self.reg(0)?;
        let v = self.val(1)?;
        if !(-(1i64 << 31)..(1i64 << 32)).contains(&v) {
            return Err(self.error(1, format!("{v} does not fit in 32 bits")));
        }
        let v = as_i32(v);
        let (lui, addi) = (isa::find("lui").expect("lui"), isa::find("addi").expect("addi"));
        let hi = expr::hi20(v);
        Ok(match self.asm.words[self.i] {
            1 if (-2048..2048).contains(&v) => vec![isa::encode(addi, rd, 0, 0, v)],
            1 => vec![isa::encode(lui, rd, 0, 0, hi)],
            _ => vec![isa::encode(lui, rd, 0, 0, hi), isa::encode(addi, rd, rd, 0, expr::lo12(v))],
        })
    }
}

/// A close mnemonic, if there is one.
fn suggestion(name: &str) -> String {
    const PSEUDOS: [&str; 28] = [
        "nop", "li", "la", "lla", "mv", "not", "neg", "seqz", "snez", "sltz", "sgtz", "beqz", "bnez", "blez",
        "bgez", "bltz", "bgtz", "bgt", "ble", "bgtu", "bleu", "j", "jr", "ret", "call", "tail", "unimp",
        "jal",
    ];
    let close = isa::OPS
        .iter()
        .map(|o| o.name)
        .chain(PSEUDOS)
        .filter(|c| distance(c, name) <= 1 && c.len() > 1)
        .min_by_key(|c| (distance(c, name), c.len()));
    close.map(|c| format!(" (did you mean '{c}'?)")).unwrap_or_default()
}

fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + usize::from(a[i - 1] != b[j - 1]));
        }
        prev = cur;
    }
    prev[b.len()]
}
