//! The ELF loader as a fuzz target: `kernel::elf::parse` of mutated
//! executables, and now and then `elf::load` of what parses into a
//! scratch world.

use kernel::builder::Builder;

use super::Mutator;
use crate::kernel;

/// How many parsed executables per one loaded (a load builds a world).
const LOAD_ONE_IN: usize = 64;
/// Offsets of the ELF32 header's fields.
const HEADER_FIELDS: [usize; 13] = [4, 5, 16, 18, 20, 24, 28, 32, 36, 40, 42, 44, 46];
/// Offsets of a program header's fields, relative to it.
const PROGRAM_FIELDS: [usize; 8] = [0, 4, 8, 12, 16, 20, 24, 28];

/// The shipped domain programs and the smallest example.
pub fn bases() -> Vec<Vec<u8>> {
    let mut elfs: Vec<Vec<u8>> = domains::PROGRAMS.iter().map(|p| p.elf.to_vec()).collect();
    elfs.push(crate::asm("_start: ebreak"));
    elfs
}

/// Field offsets of the header and of the program headers `elf` has.
fn fields(elf: &[u8]) -> Vec<usize> {
    let (phoff, phnum) = match elf.len() >= 52 {
        true => {
            (disk_image::frame::read_u32(elf, 28) as usize, disk_image::frame::read_u16(elf, 44) as usize)
        }
        false => (0, 0),
    };
    let program = (0..phnum.min(8)).flat_map(|i| PROGRAM_FIELDS.map(|f| phoff + 32 * i + f));
    HEADER_FIELDS.into_iter().chain(program).filter(|&at| at < elf.len()).collect()
}

/// Parses a mutated executable; one in [`LOAD_ONE_IN`] that parse is
/// loaded into a fresh address space of a fresh world.
pub fn elf(m: &mut Mutator, bases: &[Vec<u8>]) -> bool {
    let mut bytes = bases[m.below(bases.len())].clone();
    let offsets = fields(&bytes);
    m.mutate(&mut bytes, &offsets);
    if m.chance(0.1) {
        let unit = 1 + m.below(64);
        m.resize(&mut bytes, unit, 0);
    }
    let Ok(program) = ::kernel::elf::parse(&bytes) else { return false };
    if m.below(LOAD_ONE_IN) == 0 {
        let (_, mut k) = kernel(4 << 20);
        let mut b = Builder::new(&mut k);
        if let Ok(space) = b.address_space() {
            let _ = ::kernel::elf::load(&mut b, space, &program);
        }
    }
    true
}
