//! The migrate key: the External Migrator Tool (KeyKOS misc 42,
//! `Base/jmigratc.c`). A migrator domain drives migration with it; the
//! kernel migrates whatever the migrator does not, so migration always
//! completes. Wait announces each migration once, so a migrator that has
//! handled one waits for the next instead of spinning.
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0 | Wait: until a committed checkpoint needs migrating that no Wait has announced yet | rc 0 + frames migrated per pass (u32) |
//! | 1 | MigrateThese: move the frames named (string of u64 home frames, ≤ 512) to the front of the queue | rc 0; 1 if no migration is in progress |
//! | 2 | ReadDirectory from entry n (string u32): up to 256 entries of (home frame u64, area frame u64) | rc 0 + entries; rc 1 past the end |
//! | KT | alleged type | 0x2A09 |
//!
//! Orders 3 and 4 (StartScan, ScanDirectory) are not provided.

use crate::abi::{AKT_MIGRATE, MIGRATE_RC_DONE, MIGRATE_READ, MIGRATE_THESE, MIGRATE_WAIT};
use crate::invoke::{Invocation, KT, Message, Outcome, Wait};
use crate::kernel::Kernel;

/// Directory entries one ReadDirectory returns.
const ENTRIES_PER_READ: usize = 256;

/// Handles an invocation of the migrate key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Outcome {
    match inv.order() {
        MIGRATE_WAIT
            if k.checkpoints.migrating() && k.checkpoints.header.generation > k.checkpoints.announced =>
        {
            k.checkpoints.announced = k.checkpoints.header.generation;
            let per_pass = crate::checkpoint::job::FRAMES_PER_STEP as u32;
            Outcome::Reply(Message::code(0).with_string(&per_pass.to_le_bytes()))
        }
        MIGRATE_WAIT => Outcome::Later(Wait::Migration),
        MIGRATE_THESE => match &k.checkpoints.migration {
            Some(queue) => {
                let wanted: Vec<u64> = inv.message.string.chunks(8).take(512).map(inv_u64).collect();
                let mut q = queue.lock();
                let (front, rest): (Vec<_>, Vec<_>) =
                    q.drain(..).partition(|(home, _)| wanted.contains(home));
                q.extend(front);
                q.extend(rest);
                Outcome::code(0)
            }
            None => Outcome::code(MIGRATE_RC_DONE),
        },
        MIGRATE_READ => {
            let start = inv.word(0) as usize;
            let directory = &k.checkpoints.directory;
            if start >= directory.len() {
                return Outcome::code(MIGRATE_RC_DONE);
            }
            let end = (start + ENTRIES_PER_READ).min(directory.len());
            let bytes: Vec<u8> = directory[start..end]
                .iter()
                .flat_map(|(home, frame)| home.to_le_bytes().into_iter().chain(frame.to_le_bytes()))
                .collect();
            Outcome::Reply(Message::code(0).with_string(&bytes))
        }
        KT => Outcome::code(AKT_MIGRATE),
        _ => Outcome::invalid(),
    }
}

fn inv_u64(chunk: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..chunk.len()].copy_from_slice(chunk);
    u64::from_le_bytes(b)
}
