//! Domain programs shipped with Gnosis: the system domains of the
//! primordial world (space bank, checkpoint driver, migrator, console,
//! shell) and the demos (counter, key-value store), written in RV32
//! assembly in `programs/` and assembled at build time by the project's
//! assembler. design.md ("The primordial world") describes each one's keys
//! and protocol; the comment at the top of each source is its reference.
//! It also carries the SDK for writing domains in C and Rust (`sdk/`,
//! design.md §23): the constants generated from `kernel/src/abi.rs` and
//! the files `gnosis new` copies into a project.

pub mod compute_loop;
pub mod layout;
pub mod world;

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

/// The C kit, for `gnosis new` to copy into a project's `sdk/`: (path, contents).
pub const SDK_C: &[(&str, &str)] = &[
    ("gnosis.ld", include_str!("../sdk/gnosis.ld")),
    ("c/gnosis.mk", include_str!("../sdk/c/gnosis.mk")),
    ("c/crt0.S", include_str!("../sdk/c/crt0.S")),
    ("c/libgnosis.c", include_str!("../sdk/c/libgnosis.c")),
    ("c/include/gnosis.h", include_str!("../sdk/c/include/gnosis.h")),
    SDK_GENERATED[0],
];

/// The Rust guest crate, for `gnosis new --lang rust`: (path, contents).
pub const SDK_RUST: &[(&str, &str)] = &[
    ("gnosis.ld", include_str!("../sdk/gnosis.ld")),
    ("rust/Cargo.toml", include_str!("../sdk/rust/Cargo.toml")),
    ("rust/build.rs", include_str!("../sdk/rust/build.rs")),
    ("rust/src/lib.rs", include_str!("../sdk/rust/src/lib.rs")),
    ("rust/src/console.rs", include_str!("../sdk/rust/src/console.rs")),
    ("rust/src/invoke.rs", include_str!("../sdk/rust/src/invoke.rs")),
    ("rust/src/keys.rs", include_str!("../sdk/rust/src/keys.rs")),
    ("rust/src/rt.rs", include_str!("../sdk/rust/src/rt.rs")),
    ("rust/src/server.rs", include_str!("../sdk/rust/src/server.rs")),
    SDK_GENERATED[1],
];

/// The assembly includes, for `gnosis new --lang asm`: (path, contents).
pub const SDK_ASM: &[(&str, &str)] = &[
    ("asm/gnosis.inc", include_str!("../include/gnosis.inc")),
    ("asm/runtime.s", include_str!("../include/runtime.s")),
];
