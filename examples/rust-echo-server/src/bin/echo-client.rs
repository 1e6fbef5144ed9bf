//! echo-client: sends "ping N" to the echo server four times a second and
//! prints what comes back. Keys: k1 console, k2 the server's start key,
//! k3 timer, k4 a BWAIT object.
//!
//!     gnosis install world.img echo-client --name echoclient --key console --key start:echo --key timer --key bwait:4

#![no_std]
#![no_main]

use core::fmt::Write;

use gnosis::keys::{Bwait, Timer};
use gnosis::{Key, Msg, println};

const SERVER: Key = Key::new(2);

/// A line being built, without an allocator.
struct Line {
    buf: [u8; 32],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn main() {
    let (timer, bwait) = (Timer(Key::new(3)), Bwait(Key::new(4)));
    for n in 1u32.. {
        let mut line = Line { buf: [0; 32], len: 0 };
        let _ = write!(line, "ping {n}");
        let mut reply = [0u8; 64];
        let r = SERVER.call(Msg::new(1).string(&line.buf[..line.len]).receive(&mut reply));
        let got = r.len_in(reply.len());
        let answered = u32::from_le_bytes(reply[..4].try_into().unwrap());
        let text = core::str::from_utf8(&reply[4..got.max(4)]).unwrap_or("?");
        println!("echo-client: {text} (answer {answered}, rc {})", r.rc);
        bwait.sleep(timer, 250_000_000);
    }
}

gnosis::entry!(main);
