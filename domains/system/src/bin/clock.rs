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
//! what the wall clock said then. *Divergence:* KeyKOS counts TOD units
//! from 1900 and has packed-decimal forms; Gnosis uses Unix ns and ISO 8601.

#![no_std]
#![no_main]

use gnosis::keys::{Returner, Timer};
use gnosis::server::{Reply, Request, serve};
use gnosis::{Key, abi};
use system::object::reg;

const TIMER: Timer = Timer(Key::new(7));
/// Where the big bang maps the journal page (read-only).
const JOURNAL: usize = abi::JOURNAL as usize;
/// Offsets of the kernel fields in it (`kernel::journal::KernelFields`).
const RESTART_NS: usize = 16;
const RESTART_WALL_NS: usize = 32;
const NS_PER_DAY: u64 = 86_400_000_000_000;

fn main() {
    let mut request = [0u8; 16];
    let mut out = [0u8; 32];
    serve(Returner(reg::RETURNER), &mut request, &mut out, handle)
}

gnosis::entry!(main);

fn handle<'r>(req: &Request<'_>, out: &'r mut [u8; 32]) -> Reply<'r> {
    let given = (req.data.len() >= 8).then(|| u64::from_le_bytes(req.data[..8].try_into().expect("8 bytes")));
    let value = |v: u64, out: &'r mut [u8; 32]| {
        out[..8].copy_from_slice(&v.to_le_bytes());
        Reply::with_data(0, &out[..8])
    };
    match req.order {
        3 => value(given.unwrap_or_else(now) % NS_PER_DAY, out),
        4 => value(now(), out),
        5 => {
            iso8601(given.unwrap_or_else(now), (&mut out[..24]).try_into().expect("24 bytes"));
            Reply::with_data(0, &out[..24])
        }
        9 => value(offset() as u64, out),
        abi::KT => Reply::code(0x12),
        _ => Reply::code(abi::RC_INVALID),
    }
}

/// Unix ns minus system ns.
fn offset() -> i64 {
    system::journal_field(JOURNAL + RESTART_WALL_NS) as i64 - system::journal_field(JOURNAL + RESTART_NS) as i64
}

/// The wall clock now, Unix ns.
fn now() -> u64 {
    (TIMER.now() as i64 + offset()) as u64
}

/// `ns` (Unix) as "YYYY-MM-DDTHH:MM:SS.mmmZ".
fn iso8601(ns: u64, out: &mut [u8; 24]) {
    let (days, rest) = (ns / NS_PER_DAY, ns % NS_PER_DAY);
    let (y, m, d) = civil_from_days(days as i64);
    let secs = rest / 1_000_000_000;
    let fields = [
        (y as u64, 4),
        (m as u64, 2),
        (d as u64, 2),
        (secs / 3600, 2),
        (secs / 60 % 60, 2),
        (secs % 60, 2),
        (rest / 1_000_000 % 1000, 3),
    ];
    let seps = [b'-', b'-', b'T', b':', b':', b'.', b'Z'];
    let mut at = 0;
    for ((value, width), sep) in fields.into_iter().zip(seps) {
        for i in 0..width {
            out[at + i] = b'0' + (value / 10u64.pow((width - 1 - i) as u32) % 10) as u8;
        }
        out[at + width] = sep;
        at += width + 1;
    }
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
