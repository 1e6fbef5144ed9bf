//! The clock (KeyKOS `Dom/include/clock.h`): the wall clock, for programs
//! that want the time of day. Its reference is design.md §24.
//!
//! | order | string in | reply |
//! |---|---|---|
//! | 3 | optional u64 Unix ns to convert | rc 0 + u64 ns since midnight UTC |
//! | 4 | | rc 0 + u64 the time now, Unix ns |
//! | 5 | optional u64 Unix ns to convert | rc 0 + "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) |
//! | 9 | | rc 0 + i64 the calendar offset: Unix ns − system ns |
//! | KT | | 0x12 |
//!
//! Keys: the server registers of `system::object::reg`, and k7 the system
//! timer; the journal page is mapped read-only at JOURNAL, where the
//! kernel's fields say when (system time) the world last restarted and
//! what the wall clock said then (`system::time`). *Divergence:* KeyKOS
//! counts TOD units from 1900 and has packed-decimal forms; Gnosis uses
//! Unix ns and ISO 8601.

#![no_std]
#![no_main]

use gnosis::keys::{Returner, Timer};
use gnosis::server::{Reply, Request, serve};
use gnosis::{Key, abi};
use system::object::reg;
use system::time;

const TIMER: Timer = Timer(Key::new(7));

fn main() {
    let mut request = [0u8; 16];
    let mut out = [0u8; 32];
    serve(Returner(reg::RETURNER), &mut request, &mut out, handle)
}

gnosis::entry!(main);

fn handle<'r>(req: &Request<'_>, out: &'r mut [u8; 32]) -> Reply<'r> {
    let given = (req.data.len() >= 8).then(|| u64::from_le_bytes(req.data[..8].try_into().expect("8 bytes")));
    let now = || time::now(TIMER);
    let value = |v: u64, out: &'r mut [u8; 32]| {
        out[..8].copy_from_slice(&v.to_le_bytes());
        Reply::with_data(0, &out[..8])
    };
    match req.order {
        abi::CLOCK_SINCE_MIDNIGHT => value(given.unwrap_or_else(now) % time::NS_PER_DAY, out),
        abi::CLOCK_NOW => value(now(), out),
        abi::CLOCK_ISO8601 => {
            time::iso8601(given.unwrap_or_else(now), (&mut out[..24]).try_into().expect("24 bytes"));
            Reply::with_data(0, &out[..24])
        }
        abi::CLOCK_OFFSET => value(time::offset() as u64, out),
        abi::KT => Reply::code(abi::AKT_CLOCK),
        _ => Reply::code(abi::RC_INVALID),
    }
}
