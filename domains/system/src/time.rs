//! Wall-clock time for the servers that tell it (the clock, wait objects):
//! the calendar offset the kernel leaves in the journal page at every
//! restart, and ISO 8601 text.
//!
//! System time (the timer, BWAIT) counts only while the world runs; the
//! wall clock goes on while it is down. The journal page says what both
//! read at the last restart, so Unix ns = system ns + that difference.

use gnosis::abi;
use gnosis::keys::Timer;

/// Where the big bang maps the journal page (read-only) in the servers
/// that tell the time.
const JOURNAL: usize = abi::JOURNAL as usize;
/// Offsets of the kernel fields in it (`kernel::journal::KernelFields`).
const RESTART_NS: usize = 16;
const RESTART_WALL_NS: usize = 32;
/// Nanoseconds in a day.
pub const NS_PER_DAY: u64 = 86_400_000_000_000;

/// Unix ns minus system ns, as of the last restart.
pub fn offset() -> i64 {
    crate::journal_field(JOURNAL + RESTART_WALL_NS) as i64 - crate::journal_field(JOURNAL + RESTART_NS) as i64
}

/// The wall clock now, Unix ns.
pub fn now(timer: Timer) -> u64 {
    unix_of(timer.now())
}

/// The Unix time of system time `system_ns`.
pub fn unix_of(system_ns: u64) -> u64 {
    (system_ns as i64).saturating_add(offset()).max(0) as u64
}

/// The system time of Unix time `unix_ns` (0 if it is before the world's
/// system time began: it has passed).
pub fn system_of(unix_ns: u64) -> u64 {
    (unix_ns.min(i64::MAX as u64) as i64).saturating_sub(offset()).max(0) as u64
}

/// `ns` (Unix) as "YYYY-MM-DDTHH:MM:SS.mmmZ".
pub fn iso8601(ns: u64, out: &mut [u8; 24]) {
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
