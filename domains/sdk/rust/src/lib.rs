//! Writing Gnosis domains in Rust (design.md §23).
//!
//! A domain holds up to 16 keys in its key registers; a [`Key`] names one.
//! Invoking it is [`Key::call`], [`Key::fork`] or [`Key::ret`] with a
//! [`Msg`] saying what is sent and where the reply goes. The typed handles
//! in [`keys`] wrap every kernel key and system domain. [`entry!`] names the
//! program's main function, [`print!`]/[`println!`] write to the console
//! key, a panic prints its message and stops the domain at a breakpoint
//! (its keeper gets trap 2), and [`server::serve`] is the loop of a server
//! that replies through the returner.
//!
//! The constants in [`abi`] are generated from the kernel's own
//! `kernel/src/abi.rs`. The encoding of exit and entry blocks and the
//! console's formatting are plain Rust and tested on the host; only the
//! `ecall` itself and the start-up code need riscv32.

#![no_std]

pub mod abi;
pub mod console;
mod invoke;
pub mod keys;
pub mod server;

#[cfg(target_arch = "riscv32")]
mod rt;

pub use invoke::{Jump, Key, Msg, Reply, entry_block, exit_block};

/// What `main` may return: `()` is exit code 0.
pub trait ExitCode {
    /// The code the domain stops with (a0 at its final `ebreak`).
    fn code(self) -> u32;
}

impl ExitCode for () {
    fn code(self) -> u32 {
        0
    }
}

impl ExitCode for u32 {
    fn code(self) -> u32 {
        self
    }
}

/// Names the program's main function (`fn main()` or `fn main() -> u32`).
/// When it returns, the domain stops at an `ebreak` with a0 = its code
/// (`gnosis exec` exits 0 for 0).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn gnosis_main() -> u32 {
            $crate::ExitCode::code($main())
        }
    };
}

/// Stops the domain: `ebreak` with a0 = `code`, forever.
pub fn exit(code: u32) -> ! {
    loop {
        invoke::breakpoint(code, 0);
    }
}
