//! The machinery behind the `gnosis` commands that is worth testing and
//! reusing on its own: benchmark measurements, crash-injection campaigns,
//! worlds and their console, the control socket, per-domain snapshots, the
//! GDB stub, the status view and the supervisor.

pub mod bench;
pub mod control;
pub mod crash;
pub mod gdb;
pub mod handoff;
pub mod lines;
pub mod snapshot;
pub mod status;
pub mod supervise;
pub mod user_file;
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

/// `text` safe to print on a terminal: control characters (escape
/// sequences, tabs, line breaks) and backslashes escaped as in Rust
/// strings, everything else as it is. Domain names in images can hold
/// anything.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\\' => "\\\\".to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(super::printable("kv"), "kv");
        assert_eq!(super::printable("a\x1b[31mb\tc\n"), "a\\u{1b}[31mb\\tc\\n");
        assert_eq!(super::printable("wörld\\"), "wörld\\\\");
    }
}
