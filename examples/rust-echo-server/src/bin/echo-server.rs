//! echo-server: answers every request with its string, upper-cased, and
//! the number of requests it has answered (which persists like all its
//! memory). Keys: k1 console, k2 returner.
//!
//!     gnosis install world.img echo-server --name echo --key console --key returner

#![no_std]
#![no_main]

use gnosis::keys::Returner;
use gnosis::server::{Reply, serve};
use gnosis::{Key, println};

/// Order: echo the string.
const ECHO: u32 = 1;

fn main() {
    println!("echo-server: ready");
    let mut answered = 0u32;
    let (mut buf, mut out) = ([0u8; 256], [0u8; 260]);
    serve(Returner(Key::new(2)), &mut buf, &mut out, |req, out| {
        if req.order != ECHO {
            return Reply::code(gnosis::abi::RC_INVALID);
        }
        answered += 1;
        out[..4].copy_from_slice(&answered.to_le_bytes());
        for (o, b) in out[4..].iter_mut().zip(req.data) {
            *o = b.to_ascii_uppercase();
        }
        Reply::with_data(0, &out[..4 + req.data.len()])
    })
}

gnosis::entry!(main);
