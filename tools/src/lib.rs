//! The machinery behind the `gnosis` commands that is worth testing and
//! reusing on its own: benchmark measurements, crash-injection campaigns,
//! worlds, per-domain snapshots, the GDB stub, the status view and the
//! supervisor.

pub mod bench;
pub mod crash;
pub mod gdb;
pub mod handoff;
pub mod snapshot;
pub mod status;
pub mod supervise;
pub mod world;

/// Formats a byte count for people: 256 MiB, 1.5 GiB.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
