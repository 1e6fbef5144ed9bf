//! Writing the program as an ELF32 little-endian RISC-V executable: one
//! `PT_LOAD` per segment, section headers, and a symbol table of the labels.

use crate::Program;

const EHDR: usize = 52;
const PHDR: usize = 32;
const SHDR: usize = 40;
const PT_LOAD: u32 = 1;
const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u32 = 1;
const SHF_ALLOC: u32 = 2;
const SHF_EXECINSTR: u32 = 4;

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn pad_to(&mut self, n: usize) {
        self.0.resize(n.max(self.0.len()), 0);
    }
}

struct StrTab(Vec<u8>);

impl StrTab {
    fn add(&mut self, s: &str) -> u32 {
        let at = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        at
    }
}

/// The executable's bytes.
pub fn write(p: &Program) -> Vec<u8> {
    let phoff = EHDR;
    let mut offset = phoff + PHDR * p.segments.len();
    let mut file_offsets = Vec::new();
    for s in &p.segments {
        offset = offset.next_multiple_of(4096) + (s.vaddr % 4096) as usize;
        file_offsets.push(offset);
        offset += s.bytes.len();
    }
    let mut body = Out(Vec::new());
    header(&mut body, p, phoff as u32);
    for (s, &off) in p.segments.iter().zip(&file_offsets) {
        let flags = u32::from(s.flags.read) << 2 | u32::from(s.flags.write) << 1 | u32::from(s.flags.execute);
        for v in [PT_LOAD, off as u32, s.vaddr, s.vaddr, s.bytes.len() as u32, s.mem_size, flags, 4096] {
            body.u32(v);
        }
    }
    for (s, &off) in p.segments.iter().zip(&file_offsets) {
        body.pad_to(off);
        body.0.extend_from_slice(&s.bytes);
    }
    sections(&mut body, p, &file_offsets);
    body.0
}

fn header(o: &mut Out, p: &Program, phoff: u32) {
    o.0.extend_from_slice(b"\x7fELF");
    for b in [1u8, 1, 1, 0] {
        o.u8(b); // ELFCLASS32, little endian, version 1, SysV ABI
    }
    o.pad_to(16);
    o.u16(2); // ET_EXEC
    o.u16(243); // EM_RISCV
    o.u32(1);
    o.u32(p.entry);
    o.u32(phoff);
    o.u32(0); // e_shoff, patched by `sections`
    o.u32(0); // e_flags: soft-float, no RVC
    o.u16(EHDR as u16);
    o.u16(PHDR as u16);
    o.u16(p.segments.len() as u16);
    o.u16(SHDR as u16);
    o.u16(0); // e_shnum, patched
    o.u16(0); // e_shstrndx, patched
}

fn sections(o: &mut Out, p: &Program, file_offsets: &[usize]) {
    let mut shstr = StrTab(vec![0]);
    let mut strtab = StrTab(vec![0]);
    // (name, type, flags, addr, file offset, size) of each allocated section.
    let mut heads: Vec<(u32, u32, u32, u32, u32, u32)> = Vec::new();
    for s in &p.sections {
        let seg = p.segments.iter().position(|g| s.addr >= g.vaddr && s.addr < g.vaddr + g.mem_size.max(1));
        let off = seg.map_or(0, |i| file_offsets[i] as u32 + (s.addr - p.segments[i].vaddr));
        let (kind, flags) = match s.name {
            ".text" => (SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR),
            ".rodata" => (SHT_PROGBITS, SHF_ALLOC),
            ".data" => (SHT_PROGBITS, SHF_ALLOC | SHF_WRITE),
            _ => (SHT_NOBITS, SHF_ALLOC | SHF_WRITE),
        };
        heads.push((shstr.add(s.name), kind, flags, s.addr, off, s.size));
    }
    let mut symtab = Out(vec![0; 16]);
    for (name, &value) in &p.symbols {
        let shndx = p
            .sections
            .iter()
            .position(|s| value >= s.addr && value <= s.addr + s.size)
            .map_or(0xFFF1, |i| i + 1);
        symtab.u32(strtab.add(name));
        symtab.u32(value);
        symtab.u32(0);
        symtab.u8(if name == "_start" { 0x10 } else { 0x00 }); // GLOBAL or LOCAL, NOTYPE
        symtab.u8(0);
        symtab.u16(shndx as u16);
    }
    let first_global = 1 + p.symbols.keys().filter(|n| *n != "_start").count() as u32;
    let symtab_name = shstr.add(".symtab");
    let strtab_name = shstr.add(".strtab");
    let shstr_name = shstr.add(".shstrtab");
    let sym_off = o.0.len().next_multiple_of(4);
    o.pad_to(sym_off);
    // Locals must come first: reorder so `_start` (global) is last.
    let mut entries: Vec<&[u8]> = symtab.0[16..].chunks(16).collect();
    entries.sort_by_key(|e| e[12] == 0x10);
    o.0.extend_from_slice(&[0; 16]);
    for e in entries {
        o.0.extend_from_slice(e);
    }
    let str_off = o.0.len();
    o.0.extend_from_slice(&strtab.0);
    let shstr_off = o.0.len();
    o.0.extend_from_slice(&shstr.0);
    let shoff = o.0.len().next_multiple_of(4);
    o.pad_to(shoff);
    o.0.extend_from_slice(&[0; SHDR]);
    for (name, kind, flags, addr, off, size) in &heads {
        for v in [*name, *kind, *flags, *addr, *off, *size, 0, 0, 4, 0] {
            o.u32(v);
        }
    }
    let strtab_index = heads.len() as u32 + 2;
    for v in [
        symtab_name,
        SHT_SYMTAB,
        0,
        0,
        sym_off as u32,
        16 * (1 + p.symbols.len() as u32),
        strtab_index,
        first_global,
        4,
        16,
    ] {
        o.u32(v);
    }
    for (name, off, size) in [(strtab_name, str_off, strtab.0.len()), (shstr_name, shstr_off, shstr.0.len())]
    {
        for v in [name, SHT_STRTAB, 0, 0, off as u32, size as u32, 0, 0, 1, 0] {
            o.u32(v);
        }
    }
    let count = heads.len() as u16 + 4;
    o.0[32..36].copy_from_slice(&(shoff as u32).to_le_bytes());
    o.0[48..50].copy_from_slice(&count.to_le_bytes());
    o.0[50..52].copy_from_slice(&(count - 1).to_le_bytes());
}
