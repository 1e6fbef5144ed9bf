//! `print!` and `println!`: formatted text to a console key (a console
//! device key under `gnosis exec --key console`, a start key to the console
//! domain under `gnosis install --key console`; both answer order 1).
//!
//! Text is gathered in a small buffer and written in as few invocations as
//! it takes; each `print!` ends with a write, so lines are never held back.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::{Key, Msg, abi};

static STDOUT: AtomicU8 = AtomicU8::new(1);

/// The key register `print!` writes to (key register 1 unless set: the
/// first `--key` of install and exec).
pub fn stdout() -> Key {
    Key::new(STDOUT.load(Ordering::Relaxed))
}

/// Makes `print!` write to `key`.
pub fn set_stdout(key: Key) {
    STDOUT.store(key.index(), Ordering::Relaxed);
}

/// Writes `bytes` to `console` (order CONSOLE_WRITE); its return code.
pub fn write(console: Key, bytes: &[u8]) -> u32 {
    console.call(Msg::new(abi::CONSOLE_WRITE).string(bytes)).rc
}

/// A `fmt::Write` that gathers text and hands each full buffer to `sink`.
pub struct Buffered<F: FnMut(&[u8]), const N: usize> {
    buf: [u8; N],
    len: usize,
    sink: F,
}

impl<F: FnMut(&[u8]), const N: usize> Buffered<F, N> {
    /// An empty buffer in front of `sink`.
    pub fn new(sink: F) -> Self {
        Buffered { buf: [0; N], len: 0, sink }
    }

    /// Hands what is gathered to the sink.
    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.sink)(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl<F: FnMut(&[u8]), const N: usize> fmt::Write for Buffered<F, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == N {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// Writes formatted text to `console`.
pub fn write_fmt(console: Key, args: fmt::Arguments<'_>) {
    let mut out = Buffered::<_, 256>::new(|bytes: &[u8]| {
        write(console, bytes);
    });
    let _ = fmt::write(&mut out, args);
    out.flush();
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    write_fmt(stdout(), args);
}

/// Prints to the console key ([`stdout`]).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::_print(format_args!($($arg)*)) };
}

/// Prints a line to the console key ([`stdout`]).
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use core::fmt::Write;
    use std::vec::Vec;

    #[test]
    fn text_longer_than_the_buffer_arrives_whole_in_order() {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        {
            let mut out = Buffered::<_, 8>::new(|b: &[u8]| chunks.push(b.to_vec()));
            write!(out, "counter: {} of {}", 12345, 67890).unwrap();
            out.flush();
        }
        assert!(chunks.iter().all(|c| c.len() <= 8));
        assert_eq!(chunks.concat(), b"counter: 12345 of 67890");
    }

    #[test]
    fn nothing_written_means_no_write() {
        let mut calls = 0;
        Buffered::<_, 8>::new(|_: &[u8]| calls += 1).flush();
        assert_eq!(calls, 0);
    }
}
