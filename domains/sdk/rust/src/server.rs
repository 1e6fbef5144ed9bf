//! The server loop: become available, take a request, handle it, reply
//! through the returner, forever.
//!
//! Replying through the returner (install's `--key returner`) with the
//! client's resume key as key 3 means a client can never make the server
//! wait: the returner passes the reply on only to a resume key of a waiting
//! domain, and the server is available again at once either way (KeyKOS
//! servers replied through RETURNER for the same reason).

use crate::keys::Returner;
use crate::{Key, Msg};

/// Where a request's keys arrive: keys 0..2 in k12..k14, the client's
/// resume key in k15.
pub const REQUEST_KEYS: [Key; 3] = [Key::new(12), Key::new(13), Key::new(14)];
/// The register that holds the client's resume key while a request is handled.
pub const CALLER: Key = Key::new(15);

/// A request.
#[derive(Debug)]
pub struct Request<'a> {
    /// The order code.
    pub order: u32,
    /// The databyte of the start key it came through.
    pub databyte: u8,
    /// The string (truncated to the server's buffer).
    pub data: &'a [u8],
    /// Bytes the client sent (more than `data.len()`: truncated).
    pub sent: usize,
}

/// A reply: a return code, a string, up to three keys.
#[derive(Debug, Default)]
pub struct Reply<'a> {
    /// The return code.
    pub rc: u32,
    /// The string.
    pub data: &'a [u8],
    /// Key registers whose keys go as keys 0..2 (Key::NULL: DK(0)).
    pub keys: [Key; 3],
}

impl<'a> Reply<'a> {
    /// Just a return code.
    pub fn code(rc: u32) -> Reply<'a> {
        Reply { rc, ..Reply::default() }
    }

    /// A return code and a string.
    pub fn with_data(rc: u32, data: &'a [u8]) -> Reply<'a> {
        Reply { rc, data, ..Reply::default() }
    }
}

/// Serves forever: each request's string goes into `buf` and `handle`
/// answers it. `handle` writes its reply string into `out` and returns the
/// reply (whose `data` may borrow `out`).
pub fn serve<const N: usize, const M: usize>(
    returner: Returner,
    buf: &mut [u8; N],
    out: &mut [u8; M],
    mut handle: impl for<'r> FnMut(&Request<'_>, &'r mut [u8; M]) -> Reply<'r>,
) -> ! {
    let mut rc = 0;
    let mut len = 0;
    let mut keys = [Key::NULL; 3];
    let mut pending = [0u8; M];
    loop {
        let sent = [keys[0], keys[1], keys[2], CALLER];
        let received = [REQUEST_KEYS[0], REQUEST_KEYS[1], REQUEST_KEYS[2], CALLER];
        let msg = Msg::new(rc).string(&pending[..len]).keys(&sent).receive(buf).receive_keys(&received);
        let request = returner.reply_through(msg);
        let data_len = request.len_in(N);
        let req = Request {
            order: request.rc,
            databyte: request.databyte,
            data: &buf[..data_len],
            sent: request.sent,
        };
        let reply = handle(&req, out);
        (rc, keys, len) = (reply.rc, reply.keys, reply.data.len().min(M));
        pending[..len].copy_from_slice(&reply.data[..len]);
    }
}
