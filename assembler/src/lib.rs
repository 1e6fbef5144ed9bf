//! The Gnosis RV32IM assembler: GNU-as flavoured source to ELF32.
//!
//! Written for the project (the domain programs are built with it at build
//! time, so nothing outside the workspace is needed). It understands:
//!
//! * labels `name:` and numeric local labels `1:` (referenced `1b`, `1f`);
//! * every RV32I and RV32M instruction, registers `x0`–`x31` and ABI names;
//! * the usual pseudo-instructions: `nop li la lla mv not neg seqz snez sltz
//!   sgtz beqz bnez blez bgez bltz bgtz bgt ble bgtu bleu j jal jr jalr ret
//!   call tail unimp`, and `lw rd, symbol` / `sw rs, symbol, temp`;
//! * expressions with C operators, `.`, `%hi %lo %pcrel_hi %pcrel_lo`;
//! * directives `.text .data .rodata .bss .section .word .half .byte .ascii
//!   .asciz .string .space .zero .align .p2align .balign .equ .set NAME=expr
//!   .include .macro/.endm .rept/.endr .if/.ifdef/.ifndef/.else/.endif
//!   .error`, and accepts (ignoring) `.globl .type .size .option …`.
//!
//! Layout: `.text` at `Options::text_base` (0x10000 by default), then
//! `.rodata`, `.data` and `.bss`, each starting on a new page; the entry
//! point is `_start` if defined, else the start of `.text`. Errors say
//! `file:line:column: what` and the macro invocations they came through.

mod elf;
mod error;
mod expr;
mod isa;
mod layout;
mod parse;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{AsmError, Origin};
pub use isa::disassemble;

/// Source text and the name errors call it by.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// File name.
    pub name: &'a str,
    /// Its text.
    pub text: &'a str,
}

/// Finds the files `.include` names.
pub trait IncludeResolver {
    /// Given the including file's name and the path it asked for, the
    /// included file's name and text.
    fn resolve(&self, from: &str, path: &str) -> Result<(String, String), String>;
}

/// Includes from the file system: relative to the including file, then the
/// search directories, then built-in files (name and text) the program
/// carries, such as Gnosis's `gnosis.inc`.
#[derive(Clone, Debug, Default)]
pub struct FsResolver {
    dirs: Vec<PathBuf>,
    builtins: &'static [(&'static str, &'static str)],
}

impl FsResolver {
    /// A resolver that also searches `dirs`.
    pub fn with_search_dirs(dirs: Vec<PathBuf>) -> FsResolver {
        FsResolver { dirs, builtins: &[] }
    }

    /// A resolver that also searches `dirs`, and then `builtins`.
    pub fn with_builtins(
        dirs: Vec<PathBuf>,
        builtins: &'static [(&'static str, &'static str)],
    ) -> FsResolver {
        FsResolver { dirs, builtins }
    }
}

impl IncludeResolver for FsResolver {
    fn resolve(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let here = Path::new(from).parent().map(Path::to_path_buf).unwrap_or_default();
        for dir in std::iter::once(here).chain(self.dirs.iter().cloned()) {
            let candidate = dir.join(path);
            if let Ok(text) = std::fs::read_to_string(&candidate) {
                return Ok((candidate.display().to_string(), text));
            }
        }
        if let Some((name, text)) = self.builtins.iter().find(|(name, _)| *name == path) {
            return Ok((format!("<built-in {name}>"), (*text).to_string()));
        }
        Err("no such file next to the including file, in the search directories, or built in".into())
    }
}

/// Refuses every include.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoIncludes;

impl IncludeResolver for NoIncludes {
    fn resolve(&self, _: &str, _: &str) -> Result<(String, String), String> {
        Err("includes are not available here".into())
    }
}

/// Assembly options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Address of `.text`.
    pub text_base: u32,
    /// Constants defined before the source (`-D NAME=VALUE`).
    pub defines: Vec<(String, i64)>,
}

impl Default for Options {
    fn default() -> Self {
        Options { text_base: 0x1_0000, defines: Vec::new() }
    }
}

/// Permissions of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentFlags {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub execute: bool,
}

/// A loadable segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Where it starts.
    pub vaddr: u32,
    /// Its initialised bytes.
    pub bytes: Vec<u8>,
    /// Its size in memory (the rest is zero).
    pub mem_size: u32,
    /// Permissions.
    pub flags: SegmentFlags,
}

/// A section's place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    /// `.text`, `.rodata`, `.data` or `.bss`.
    pub name: &'static str,
    /// Where it starts.
    pub addr: u32,
    /// Its size.
    pub size: u32,
}

/// An assembled program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// Entry point.
    pub entry: u32,
    /// Loadable segments, in address order.
    pub segments: Vec<Segment>,
    /// Non-empty sections.
    pub sections: Vec<SectionInfo>,
    /// Label addresses.
    pub symbols: BTreeMap<String, u32>,
}

impl Program {
    /// The program as an ELF32 RISC-V executable.
    pub fn to_elf(&self) -> Vec<u8> {
        elf::write(self)
    }
}

/// Assembles a source.
pub fn assemble(src: Source, resolver: &dyn IncludeResolver, opts: &Options) -> Result<Program, AsmError> {
    let lines = source::preprocess(src, resolver, &opts.defines)?;
    layout::Assembly::new(&lines, opts)?.emit()
}

/// Assembles a file (includes resolved next to it).
pub fn assemble_file(path: &Path, opts: &Options) -> Result<Program, AsmError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| AsmError::at(&Origin::new(&name, 0), 0, format!("cannot read {name}: {e}")))?;
    assemble(Source { name: &name, text: &text }, &FsResolver::default(), opts)
}

/// Assembles one (pseudo-)instruction at address 0, without labels.
pub fn encode_instruction(text: &str) -> Result<Vec<u32>, AsmError> {
    let p = assemble(
        Source { name: "<instruction>", text },
        &NoIncludes,
        &Options { text_base: 0, defines: Vec::new() },
    )?;
    let bytes = p.segments.first().map(|s| s.bytes.clone()).unwrap_or_default();
    Ok(bytes.chunks(4).map(|c| u32::from_le_bytes(c.try_into().expect("whole words"))).collect())
}
