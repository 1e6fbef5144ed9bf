//! Domain programs shipped with Gnosis: the system domains of the
//! primordial world (space bank, checkpoint driver, migrator, console,
//! shell) and the demos (counter, key-value store), written in RV32
//! assembly in `programs/` and assembled at build time by the project's
//! assembler. design.md ("The primordial world") describes each one's keys
//! and protocol; the comment at the top of each source is its reference.

pub mod compute_loop;
pub mod layout;

/// An embedded executable.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// Its name (the source file's stem).
    pub name: &'static str,
    /// The ELF32 executable.
    pub elf: &'static [u8],
    /// Its labels and their addresses.
    pub symbols: &'static [(&'static str, u32)],
}

impl Program {
    /// The address of a label.
    pub fn symbol(&self, name: &str) -> Option<u32> {
        self.symbols.iter().find(|(s, _)| *s == name).map(|&(_, a)| a)
    }
}

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// The include files domain programs use (`.include "gnosis.inc"`), for
/// assembling programs outside this crate (`gnosis asm`, tests, benches).
pub const INCLUDES: &[(&str, &str)] = &[
    ("gnosis.inc", include_str!("../include/gnosis.inc")),
    ("runtime.s", include_str!("../include/runtime.s")),
];

/// The program called `name`.
pub fn program(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}

/// The SDK's generated constants: (path under `domains/sdk/`, contents).
/// `tests/sdk.rs` checks that the copies checked in there are these.
pub const SDK_GENERATED: &[(&str, &str)] = &[
    ("c/include/gnosis_abi.h", include_str!(concat!(env!("OUT_DIR"), "/gnosis_abi.h"))),
    ("rust/src/abi.rs", include_str!(concat!(env!("OUT_DIR"), "/abi.rs"))),
];
