//! The checkpoint driver's crash table: one entry per restart, with the
//! time of the checkpoint restarted from and the time of the restart (the
//! layout is documented in `domains/programs/ckptdvr.s`). It lives in the
//! driver's memory, so it persists like everything else.

use crate::layout::{CRASH_ENTRIES, CRASH_TABLE};
use kernel::inspect;
use kernel::store::Store;

const MAGIC: u32 = 0x4853_5243;
const HEADER: usize = 16;
const ENTRY: usize = 32;

/// One restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// The kernel's count of restarts of the image at this one.
    pub number: u32,
    /// System time of the checkpoint the system restarted from, ns.
    pub checkpoint_ns: u64,
    /// System time of the restart, ns.
    pub restart_ns: u64,
}

impl Restart {
    /// Time lost and down: from the checkpoint to the restart, ns.
    pub fn downtime_ns(&self) -> u64 {
        self.restart_ns.saturating_sub(self.checkpoint_ns)
    }
}

/// The recorded restarts, oldest first (the newest `CRASH_ENTRIES`).
pub fn read(store: &Store) -> anyhow::Result<Vec<Restart>> {
    let driver = inspect::domain_named(store, "ckptdvr")
        .ok_or_else(|| anyhow::anyhow!("this image has no checkpoint driver (ckptdvr) domain"))?;
    let mut page = vec![0u8; 4096];
    inspect::read_domain_memory(store, driver, CRASH_TABLE, &mut page).ok_or_else(|| {
        anyhow::anyhow!("the checkpoint driver has no crash table page at {CRASH_TABLE:#x}")
    })?;
    let word = |at: usize| u32::from_le_bytes(page[at..at + 4].try_into().expect("4 bytes"));
    let dword = |at: usize| u64::from_le_bytes(page[at..at + 8].try_into().expect("8 bytes"));
    match word(0) {
        0 => return Ok(Vec::new()),
        MAGIC => {}
        other => anyhow::bail!("the crash table is damaged (magic {other:#x})"),
    }
    let total = word(4);
    let first = total.saturating_sub(CRASH_ENTRIES);
    Ok((first..total)
        .map(|n| {
            let at = HEADER + ENTRY * (n % CRASH_ENTRIES) as usize;
            Restart { checkpoint_ns: dword(at), restart_ns: dword(at + 8), number: word(at + 16) }
        })
        .collect())
}
