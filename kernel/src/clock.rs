//! The system clock: nanoseconds of system time.
//!
//! System time continues across restarts: at restart it is set to the
//! checkpoint's time plus the wall-clock time that passed since, clamped to
//! between 1 ns and 24 hours (notes §5.5), so it never runs backwards and a
//! long outage does not make timers fire in a storm. A simulated clock
//! advances only with executed instructions (1 ns each) and explicit
//! advances, so simulated runs are reproducible.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Longest outage credited to system time at restart.
pub const MAX_DOWNTIME_NS: u64 = 24 * 3600 * 1_000_000_000;

/// Wall-clock time, Unix ns.
pub fn wall_now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// The system clock.
#[derive(Debug)]
pub enum Clock {
    /// Real time: `base_ns` at `start`, advancing with the host's monotonic clock.
    Real {
        /// System time at `start`.
        base_ns: u64,
        /// When `base_ns` was taken.
        start: Instant,
    },
    /// Simulated time, advanced explicitly.
    Simulated {
        /// Current system time.
        now_ns: u64,
    },
}

impl Clock {
    /// A real clock continuing from a checkpoint taken at system time
    /// `checkpoint_ns` and wall time `checkpoint_wall_ns`.
    pub fn real_after_restart(checkpoint_ns: u64, checkpoint_wall_ns: u64) -> Clock {
        let downtime = wall_now_ns().saturating_sub(checkpoint_wall_ns).clamp(1, MAX_DOWNTIME_NS);
        Clock::Real { base_ns: checkpoint_ns + downtime, start: Instant::now() }
    }

    /// A simulated clock continuing from a checkpoint at `checkpoint_ns`,
    /// with a simulated outage of `downtime_ns` (at least 1 ns).
    pub fn simulated_after_restart(checkpoint_ns: u64, downtime_ns: u64) -> Clock {
        Clock::Simulated { now_ns: checkpoint_ns + downtime_ns.clamp(1, MAX_DOWNTIME_NS) }
    }

    /// Current system time, ns.
    pub fn now_ns(&self) -> u64 {
        match self {
            Clock::Real { base_ns, start } => base_ns + start.elapsed().as_nanos() as u64,
            Clock::Simulated { now_ns } => *now_ns,
        }
    }

    /// Credits executed instructions (simulated clocks advance 1 ns each).
    pub fn charge_instructions(&mut self, count: u64) {
        if let Clock::Simulated { now_ns } = self {
            *now_ns += count;
        }
    }

    /// Moves a simulated clock forward to `t` (idle until a timer); a real
    /// clock cannot be moved.
    pub fn advance_to(&mut self, t: u64) {
        if let Clock::Simulated { now_ns } = self {
            *now_ns = (*now_ns).max(t);
        }
    }

    /// Whether the clock is simulated.
    pub fn is_simulated(&self) -> bool {
        matches!(self, Clock::Simulated { .. })
    }
}
