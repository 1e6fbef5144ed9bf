//! Loading RV32IM ELF executables into a domain's address space.
//!
//! Accepts ELF32, little endian, `EM_RISCV`, type `ET_EXEC`, with `PT_LOAD`
//! segments inside the 32-bit space; refuses everything else with an error
//! saying what is wrong. Pages shared by two segments get the union of
//! their permissions; read-only, non-writable segments are mapped through
//! read-only page keys. A stack of [`STACK_BYTES`] is mapped below
//! [`STACK_TOP`].

use object::Endianness;
use object::elf::{self, FileHeader32, ProgramHeader32};
use object::read::elf::{FileHeader, ProgramHeader};

use std::collections::BTreeMap;

use crate::builder::Builder;
use crate::kernel::KernelError;
use crate::key::{Cda, Key, KeyType, MemoryFlags};

/// Top of the stack a loaded program starts with (its initial sp).
pub const STACK_TOP: u32 = 0x7FFF_0000;
/// Size of that stack.
pub const STACK_BYTES: u32 = 256 * 1024;

/// Why an executable was refused.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// Not an ELF file.
    #[error("not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// A 64-bit ELF file.
    #[error("a 64-bit ELF file; Gnosis runs RV32IM programs: build with --target=riscv32 -march=rv32im")]
    Not32Bit,
    /// Big-endian.
    #[error("a big-endian ELF file; RISC-V programs are little endian")]
    BigEndian,
    /// Another architecture.
    #[error("built for machine type {0}, not RISC-V (243): build with --target=riscv32")]
    NotRiscV(u16),
    /// Not an executable.
    #[error("ELF type {0} is not an executable (ET_EXEC): link the program (e.g. with ld.lld)")]
    NotExecutable(u16),
    /// A malformed header or segment.
    #[error("malformed ELF: {0}")]
    Malformed(String),
    /// No loadable segment.
    #[error("the program has no loadable (PT_LOAD) segment")]
    NothingToLoad,
}

/// One loadable segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Where it starts.
    pub vaddr: u32,
    /// Its file bytes.
    pub data: Vec<u8>,
    /// Its size in memory (≥ data; the rest is zero).
    pub mem_size: u32,
    /// Whether it may be written.
    pub writable: bool,
}

/// A parsed executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// Entry point.
    pub entry: u32,
    /// Loadable segments.
    pub segments: Vec<Segment>,
}

/// Parses and checks an executable.
pub fn parse(bytes: &[u8]) -> Result<Program, ElfError> {
    // The ELF reader wants its headers aligned, which embedded executables
    // (`include_bytes!`) need not be: read from an aligned copy.
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    object::pod::bytes_of_slice_mut(&mut words)[..bytes.len()].copy_from_slice(bytes);
    parse_aligned(&object::pod::bytes_of_slice(&words)[..bytes.len()])
}

fn parse_aligned(bytes: &[u8]) -> Result<Program, ElfError> {
    if bytes.len() < 16 || &bytes[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if bytes[4] != elf::ELFCLASS32 {
        return Err(ElfError::Not32Bit);
    }
    if bytes[5] != elf::ELFDATA2LSB {
        return Err(ElfError::BigEndian);
    }
    let header = FileHeader32::<Endianness>::parse(bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;
    let endian = Endianness::Little;
    let machine = header.e_machine(endian);
    if machine != elf::EM_RISCV {
        return Err(ElfError::NotRiscV(machine));
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_EXEC {
        return Err(ElfError::NotExecutable(kind));
    }
    let headers = header.program_headers(endian, bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;
    let segments = headers
        .iter()
        .filter(|ph| ph.p_type(endian) == elf::PT_LOAD && ph.p_memsz(endian) > 0)
        .map(|ph| segment(ph, bytes))
        .collect::<Result<Vec<_>, _>>()?;
    if segments.is_empty() {
        return Err(ElfError::NothingToLoad);
    }
    Ok(Program { entry: header.e_entry(endian), segments })
}

fn segment(ph: &ProgramHeader32<Endianness>, bytes: &[u8]) -> Result<Segment, ElfError> {
    let e = Endianness::Little;
    let (vaddr, filesz, memsz) = (ph.p_vaddr(e), ph.p_filesz(e), ph.p_memsz(e));
    if filesz > memsz {
        return Err(ElfError::Malformed(format!(
            "segment at {vaddr:#x} has more file bytes than memory bytes"
        )));
    }
    if u64::from(vaddr) + u64::from(memsz) > 1 << 32 {
        return Err(ElfError::Malformed(format!(
            "segment at {vaddr:#x} of {memsz} bytes passes the 4 GiB address space"
        )));
    }
    let data = ph
        .data(e, bytes)
        .map_err(|_| ElfError::Malformed(format!("segment at {vaddr:#x} lies outside the file")))?
        .to_vec();
    Ok(Segment { vaddr, data, mem_size: memsz, writable: ph.p_flags(e) & elf::PF_W != 0 })
}

/// Loads `program` into the address space `space` with a stack; returns
/// the initial (pc, sp).
pub fn load(builder: &mut Builder, space: Key, program: &Program) -> Result<(u32, u32), KernelError> {
    load_with_stack(builder, space, program, STACK_BYTES)
}

/// As [`load`], with a stack of `stack_bytes` (rounded up to pages).
pub fn load_with_stack(
    builder: &mut Builder,
    space: Key,
    program: &Program,
    stack_bytes: u32,
) -> Result<(u32, u32), KernelError> {
    let mut writable: BTreeMap<u32, bool> = BTreeMap::new();
    for s in &program.segments {
        let end = (u64::from(s.vaddr) + u64::from(s.mem_size)).next_multiple_of(4096);
        for at in (u64::from(s.vaddr & !0xFFF)..end).step_by(4096) {
            *writable.entry(at as u32).or_default() |= s.writable;
        }
    }
    let mut pages: BTreeMap<u32, Cda> = BTreeMap::new();
    for (&vaddr, &w) in &writable {
        let page = builder.page()?;
        let databyte = if w { 0 } else { MemoryFlags::READ_ONLY.bits() };
        let key = builder.key(KeyType::Page, page, databyte);
        builder.map(space, vaddr, key)?;
        pages.insert(vaddr, page);
    }
    for s in &program.segments {
        for (i, chunk) in split_by_page(s.vaddr, &s.data) {
            builder.kernel().write_page(pages[&(i & !0xFFF)], (i & 0xFFF) as usize, chunk)?;
        }
    }
    let stack_bytes = stack_bytes.next_multiple_of(4096);
    builder.map_fresh(space, STACK_TOP - stack_bytes, stack_bytes, false)?;
    Ok((program.entry, STACK_TOP))
}

/// Splits `data` at `vaddr` into pieces that each stay within one page.
fn split_by_page(vaddr: u32, data: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        (done < data.len()).then(|| {
            let at = vaddr + done as u32;
            let n = (4096 - (at & 0xFFF) as usize).min(data.len() - done);
            let piece = &data[done..done + n];
            done += n;
            (at, piece)
        })
    })
}
