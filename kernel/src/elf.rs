//! Loading RV32IM ELF executables into a domain's address space.
//!
//! Accepts ELF32, little endian, `EM_RISCV`, type `ET_EXEC`, for RV32IM
//! with the soft-float ABI (no RVC, RVE or float flags in `e_flags`), with
//! `PT_LOAD` segments inside the 32-bit space that overlap neither each
//! other nor the stack, and an entry point inside one of them; refuses
//! everything else with an error saying what is wrong and what to do.
//! Pages shared by two segments get the union of their permissions;
//! non-writable segments are mapped through read-only page keys. A stack
//! of [`STACK_BYTES`] is mapped below [`STACK_TOP`].

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
    /// Built for an instruction set or ABI Gnosis does not run.
    #[error(
        "built for {0}: Gnosis runs RV32IM with the soft-float ABI; build with \
         -march=rv32im -mabi=ilp32 (clang: --target=riscv32-unknown-elf -march=rv32im -mabi=ilp32)"
    )]
    Unsupported(&'static str),
    /// Two segments share bytes.
    #[error(
        "segments at {0:#x} and {1:#x} overlap; every loadable segment must have addresses of its own \
         (check the linker script)"
    )]
    Overlap(u32, u32),
    /// A segment lies where the stack goes.
    #[error(
        "the segment at {0:#x} overlaps the stack ({STACK_LOW:#x}..{STACK_TOP:#x}); link the program below {STACK_LOW:#x}"
    )]
    OverStack(u32),
    /// The entry point is in no segment.
    #[error("the entry point {0:#x} is outside every loadable segment (check the linker's ENTRY)")]
    EntryOutside(u32),
}

/// The lowest address of the stack a loaded program gets.
pub const STACK_LOW: u32 = STACK_TOP - STACK_BYTES;
/// `e_flags`: the program uses compressed (RVC) instructions.
const EF_RISCV_RVC: u32 = 0x1;
/// `e_flags`: the floating-point ABI (single, double or quad registers).
const EF_RISCV_FLOAT_ABI: u32 = 0x6;
/// `e_flags`: the RV32E base (16 registers).
const EF_RISCV_RVE: u32 = 0x8;

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
    let flags = header.e_flags(endian);
    if flags & EF_RISCV_RVC != 0 {
        return Err(ElfError::Unsupported("compressed (RVC) instructions"));
    }
    if flags & EF_RISCV_FLOAT_ABI != 0 {
        return Err(ElfError::Unsupported("a hardware floating-point ABI"));
    }
    if flags & EF_RISCV_RVE != 0 {
        return Err(ElfError::Unsupported("the RV32E base"));
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
    let program = Program { entry: header.e_entry(endian), segments };
    program.check_layout()?;
    Ok(program)
}

impl Program {
    /// Segments overlap neither each other nor the stack, and the entry
    /// point is in one of them.
    fn check_layout(&self) -> Result<(), ElfError> {
        let span = |s: &Segment| (u64::from(s.vaddr), u64::from(s.vaddr) + u64::from(s.mem_size));
        let mut spans: Vec<(u64, u64)> = self.segments.iter().map(span).collect();
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(ElfError::Overlap(pair[0].0 as u32, pair[1].0 as u32));
            }
        }
        let stack = (u64::from(STACK_LOW), u64::from(STACK_TOP));
        if let Some(s) = spans.iter().find(|s| s.0 < stack.1 && stack.0 < s.1) {
            return Err(ElfError::OverStack(s.0 as u32));
        }
        let entry = u64::from(self.entry);
        if !spans.iter().any(|s| s.0 <= entry && entry < s.1) {
            return Err(ElfError::EntryOutside(self.entry));
        }
        Ok(())
    }

    /// The pages and nodes loading the program with a stack of
    /// `stack_bytes` takes: its pages, the stack's, and the nodes of the
    /// address-space tree above them ([`crate::builder`]'s black tree).
    pub fn footprint(&self, stack_bytes: u32) -> Footprint {
        let mut pages: std::collections::BTreeSet<u32> = self.page_addresses().collect();
        let stack_low = STACK_TOP - stack_bytes.next_multiple_of(4096);
        pages.extend((stack_low..STACK_TOP).step_by(4096));
        let mut nodes = 1;
        for shift in [28, 24, 20, 16] {
            let tops: std::collections::BTreeSet<u32> = pages.iter().map(|p| p >> shift).collect();
            nodes += tops.len() as u64;
        }
        Footprint { pages: pages.len() as u64, nodes }
    }

    /// The address of every page a segment touches.
    fn page_addresses(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(Segment::pages)
    }
}

impl Segment {
    /// The address of every page the segment touches.
    fn pages(&self) -> impl Iterator<Item = u32> + use<> {
        let end = (u64::from(self.vaddr) + u64::from(self.mem_size)).next_multiple_of(4096);
        (u64::from(self.vaddr & !0xFFF)..end).step_by(4096).map(|at| at as u32)
    }
}

/// What loading a program takes from a bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Pages.
    pub pages: u64,
    /// Nodes of its address space (the domain's own three are extra).
    pub nodes: u64,
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
        for at in s.pages() {
            *writable.entry(at).or_default() |= s.writable;
        }
    }
    let stack_bytes = stack_bytes.next_multiple_of(4096);
    if let Some((&at, _)) = writable.range(STACK_TOP - stack_bytes..STACK_TOP).next() {
        return Err(KernelError::Refused(format!(
            "the program's page at {at:#x} overlaps its stack ({:#x}..{STACK_TOP:#x})",
            STACK_TOP - stack_bytes
        )));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF32 RISC-V executable: `flags`, `entry`, and one PT_LOAD
    /// segment per (vaddr, file bytes, memory size, writable).
    fn elf(flags: u32, entry: u32, segments: &[(u32, &[u8], u32, bool)]) -> Vec<u8> {
        let (ehsize, phentsize) = (52usize, 32usize);
        let mut data_at = ehsize + phentsize * segments.len();
        let mut out = vec![0u8; data_at];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = elf::ELFCLASS32;
        out[5] = elf::ELFDATA2LSB;
        out[6] = 1;
        let put16 = |out: &mut Vec<u8>, at: usize, v: u16| out[at..at + 2].copy_from_slice(&v.to_le_bytes());
        let put32 = |out: &mut Vec<u8>, at: usize, v: u32| out[at..at + 4].copy_from_slice(&v.to_le_bytes());
        put16(&mut out, 16, elf::ET_EXEC);
        put16(&mut out, 18, elf::EM_RISCV);
        put32(&mut out, 20, 1);
        put32(&mut out, 24, entry);
        put32(&mut out, 28, ehsize as u32);
        put32(&mut out, 36, flags);
        put16(&mut out, 40, ehsize as u16);
        put16(&mut out, 42, phentsize as u16);
        put16(&mut out, 44, segments.len() as u16);
        for (i, &(vaddr, bytes, memsz, writable)) in segments.iter().enumerate() {
            let ph = ehsize + i * phentsize;
            put32(&mut out, ph, elf::PT_LOAD);
            put32(&mut out, ph + 4, data_at as u32);
            put32(&mut out, ph + 8, vaddr);
            put32(&mut out, ph + 16, bytes.len() as u32);
            put32(&mut out, ph + 20, memsz);
            put32(&mut out, ph + 24, elf::PF_R | elf::PF_X | if writable { elf::PF_W } else { 0 });
            out.extend_from_slice(bytes);
            data_at += bytes.len();
        }
        out
    }

    const CODE: &[u8] = &[0x73, 0, 0x10, 0]; // ebreak

    #[test]
    fn a_plain_rv32im_program_is_accepted() {
        let p =
            parse(&elf(0, 0x10000, &[(0x10000, CODE, 4, false), (0x20000, &[1, 2], 8192, true)])).unwrap();
        assert_eq!(p.entry, 0x10000);
        // Nodes: the root; lss 6, 5 and 4 nodes for the low region and the
        // stack's; lss 3 nodes for 0x1xxxx, 0x2xxxx and the stack's four.
        assert_eq!(p.footprint(STACK_BYTES), Footprint { pages: 1 + 2 + 64, nodes: 1 + 2 + 2 + 2 + 6 });
    }

    #[test]
    fn compressed_float_and_rve_programs_are_refused() {
        for (flags, what) in [(1, "RVC"), (2, "floating-point"), (4, "floating-point"), (8, "RV32E")] {
            let e = parse(&elf(flags, 0x10000, &[(0x10000, CODE, 4, false)])).unwrap_err();
            assert!(matches!(e, ElfError::Unsupported(_)), "{flags}: {e}");
            assert!(e.to_string().contains(what) && e.to_string().contains("-march=rv32im"), "{e}");
        }
    }

    #[test]
    fn overlapping_segments_are_refused_but_a_shared_page_is_not() {
        let overlapping = [(0x10000, CODE, 0x2000, false), (0x11000, CODE, 4, true)];
        assert!(matches!(parse(&elf(0, 0x10000, &overlapping)), Err(ElfError::Overlap(0x10000, 0x11000))));
        let sharing_a_page = [(0x10000, CODE, 0x800, false), (0x10800, CODE, 4, true)];
        assert!(parse(&elf(0, 0x10000, &sharing_a_page)).is_ok());
    }

    #[test]
    fn a_segment_over_the_stack_or_an_entry_outside_is_refused() {
        let over = [(0x10000, CODE, 4, false), (STACK_TOP - 4096, CODE, 4, true)];
        assert!(matches!(parse(&elf(0, 0x10000, &over)), Err(ElfError::OverStack(_))));
        let e = parse(&elf(0, 0x30000, &[(0x10000, CODE, 4, false)])).unwrap_err();
        assert!(matches!(e, ElfError::EntryOutside(0x30000)), "{e}");
    }
}
