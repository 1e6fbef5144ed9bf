//! The start-up code and the panic handler of a Rust domain (riscv32 only).
//!
//! The loader maps the program, zeroes `.bss` (fresh pages) and starts it
//! at `_start` with sp = 0x7FFF0000 and every other register 0 (design.md,
//! the loader ABI). `_start` sets gp, aligns sp and calls the `gnosis_main`
//! that [`entry!`](crate::entry) defines; its code goes to [`exit`](crate::exit).

use core::fmt::Write;

core::arch::global_asm!(
    ".section .text.start, \"ax\"",
    ".globl _start",
    "_start:",
    ".option push",
    ".option norelax",
    "la gp, __global_pointer$",
    ".option pop",
    "andi sp, sp, -16",
    "call gnosis_main",
    "tail gnosis_exit",
);

#[unsafe(no_mangle)]
extern "C" fn gnosis_exit(code: u32) -> ! {
    crate::exit(code)
}

/// Where the panic message is kept for a keeper or debugger to read.
struct Message {
    buf: [u8; 256],
    len: usize,
}

impl Write for Message {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

static mut PANIC_MESSAGE: Message = Message { buf: [0; 256], len: 0 };

/// Prints the message on the console key and stops at a breakpoint with
/// a0 = the message's address and a1 = its length, so the keeper (trap 2)
/// or GDB can read it; the domain never runs on.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // Safety: a domain has one thread and the handler never returns, so
    // this is the only reference to the buffer ever made.
    let message = unsafe { &mut *core::ptr::addr_of_mut!(PANIC_MESSAGE) };
    message.len = 0;
    let _ = writeln!(message, "panicked: {info}");
    crate::console::write(crate::console::stdout(), &message.buf[..message.len]);
    loop {
        crate::invoke::breakpoint(message.buf.as_ptr() as u32, message.len as u32);
    }
}
