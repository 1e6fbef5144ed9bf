//! Replies the kernel owes: invocations that wait for an event (the next
//! checkpoint, a BWAIT timer, migration to be needed, console input).
//!
//! The reply key of each such invocation is kept in a slot of the **kernel
//! node** (node 1, as in KeyKOS), so it is checkpointed: after a restart the
//! kernel finds the waiters and wakes them (BWAIT waiters "return early";
//! checkpoint and migration waiters are told a restart intervened). Slots:
//! 0..8 one per BWAIT object, 8..12 checkpoint waiters, 12 the migrator,
//! 13 the console reader.
//!
//! Replies are *level-triggered*: between time slices the kernel answers
//! every waiter whose event has happened by then (a checkpoint at or after
//! its time is committed, its timer is due, ...), one at a time, each only
//! when the working area has room for what a reply writes
//! ([`REPLY_FRAMES`]). A reply that must wait for room is answered after
//! the next snapshot; no event is lost by waiting, because the condition is
//! looked at again, not remembered.

use crate::invoke::{self, Message, Wait};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType, NODE_CDA_BIT};
use crate::object::{self, node};
use crate::transition::REPLY_FRAMES;

/// The kernel node.
pub const KERNEL_NODE: Cda = Cda(NODE_CDA_BIT | 1);
/// BWAIT objects.
pub const BWAIT_OBJECTS: usize = 8;
/// Return code to a waiter woken because the system restarted.
pub const RC_RESTARTED: u32 = crate::abi::RC_RESTARTED;
/// Return code when too many invocations already wait for the same event.
pub const RC_TOO_MANY_WAITERS: u32 = 3;
/// Kernel-node slots that hold waiters' reply keys.
const WAITER_SLOTS: usize = 14;

fn slots(wait: Wait) -> std::ops::Range<usize> {
    match wait {
        Wait::Timer(i) => i as usize..i as usize + 1,
        Wait::Checkpoint { .. } => 8..12,
        Wait::Migration => 12..13,
        Wait::Input(_) => 13..14,
        Wait::Restarted(_) => 0..0,
    }
}

impl Kernel {
    /// Keeps `key` until `wait` happens, in a kernel-node slot. With no
    /// free slot the waiter is answered at once with [`RC_TOO_MANY_WAITERS`].
    pub(crate) fn defer_reply(&mut self, wait: Wait, key: Option<Key>) -> Result<(), KernelError> {
        let Some(key) = key else { return Ok(()) };
        let free = slots(wait).find(|s| !self.deferred.iter().any(|(_, slot, _)| slot == s));
        match free {
            Some(slot) => {
                node::set_slot(&mut self.store, KERNEL_NODE, slot, key)?;
                self.deferred.push((wait, slot, key));
                Ok(())
            }
            None => invoke::reply_through(self, Some(key), Message::code(RC_TOO_MANY_WAITERS)),
        }
    }

    /// Whether the event `wait` waits for has happened.
    fn is_due(&self, wait: Wait) -> bool {
        let c = &self.checkpoints;
        match wait {
            Wait::Checkpoint { after } => c.header.checkpoint_time_ns >= after,
            Wait::Timer(i) => self.bwait[i as usize] <= self.clock.now_ns(),
            Wait::Migration => c.migrating() && c.header.generation > c.announced,
            Wait::Input(_) => !self.console.input.is_empty(),
            Wait::Restarted(_) => true,
        }
    }

    /// The reply to a waiter whose event has happened (taking the console
    /// input it gets, or noting the migration it is told of).
    fn reply_for(&mut self, wait: Wait) -> Message {
        match wait {
            Wait::Checkpoint { .. } | Wait::Timer(_) => Message::code(0),
            Wait::Migration => {
                self.checkpoints.announced = self.checkpoints.header.generation;
                let per_pass = crate::checkpoint::job::FRAMES_PER_STEP as u32;
                Message::code(0).with_string(&per_pass.to_le_bytes())
            }
            Wait::Input(max) => {
                let n = self.console.input.len().min(max as usize).min(invoke::MAX_STRING);
                let bytes: Vec<u8> = self.console.input.drain(..n).collect();
                Message::code(0).with_string(&bytes)
            }
            Wait::Restarted(code) => Message::code(code),
        }
    }

    /// Answers, in order, every waiter whose event has happened, while the
    /// working area has room for a reply; asks for a checkpoint when it
    /// has not (the rest are answered after it).
    pub(crate) fn service_deferred(&mut self) -> Result<(), KernelError> {
        let mut i = 0;
        while i < self.deferred.len() {
            let (wait, slot, key) = self.deferred[i];
            if !self.is_due(wait) {
                i += 1;
                continue;
            }
            if self.kernel_room() < REPLY_FRAMES {
                self.request_checkpoint();
                return Ok(());
            }
            self.deferred.remove(i);
            node::set_slot(&mut self.store, KERNEL_NODE, slot, Key::NULL)?;
            let reply = self.reply_for(wait);
            invoke::reply_through(self, Some(key), reply)?;
        }
        Ok(())
    }

    /// Withdraws every reply the kernel owes to `root` (clearing their
    /// kernel-node slots): nothing will answer it.
    pub(crate) fn withdraw_replies_to(&mut self, root: Cda) -> Result<(), KernelError> {
        let (owed, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.deferred).into_iter().partition(|(_, _, key)| key.cda() == root);
        self.deferred = kept;
        for (_, slot, _) in owed {
            node::set_slot(&mut self.store, KERNEL_NODE, slot, Key::NULL)?;
        }
        Ok(())
    }

    /// Whether a BWAIT object already has a waiter.
    pub(crate) fn timer_has_waiter(&self, index: u32) -> bool {
        self.deferred.iter().any(|(w, _, _)| *w == Wait::Timer(index))
    }

    /// Whether a domain waits for console input.
    pub fn wants_input(&self) -> bool {
        self.deferred.iter().any(|(w, _, _)| matches!(w, Wait::Input(_)))
    }

    /// The earliest BWAIT wake-up time a waiter waits for.
    pub fn next_timer(&self) -> Option<u64> {
        self.deferred
            .iter()
            .filter_map(|(w, _, _)| match w {
                Wait::Timer(i) => Some(self.bwait[*i as usize]),
                _ => None,
            })
            .min()
    }

    /// With nothing ready to run and a simulated clock, moves the clock to
    /// the next BWAIT wake-up (idling, as a real clock would); returns
    /// whether it did.
    pub fn idle_until_next_timer(&mut self) -> bool {
        match self.next_timer() {
            Some(t) if self.ready.is_empty() && self.clock.is_simulated() && t > self.clock.now_ns() => {
                self.clock.advance_to(t);
                true
            }
            _ => false,
        }
    }

    /// At restart: makes sure the kernel node and the journal page exist
    /// (allocated, so nothing else is ever built from them), and takes
    /// every waiter the checkpoint recorded as owed a reply that ends its
    /// wait: BWAIT waiters return early (0), the others are told a restart
    /// intervened ([`RC_RESTARTED`]). They are answered as the kernel
    /// starts stepping, each when there is room, like any deferred reply;
    /// until then they keep their kernel-node slots, so a crash before
    /// they are answered finds them again.
    pub(crate) fn take_waiters_after_restart(&mut self) -> Result<(), KernelError> {
        for cda in [KERNEL_NODE, crate::journal::JOURNAL_PAGE] {
            if !object::allocation(&self.store, cda).allocated {
                object::create(&mut self.store, cda)?;
            }
        }
        for slot in 0..WAITER_SLOTS {
            let key = object::validate(&self.store, node::slot(&self.store, KERNEL_NODE, slot));
            if key.kind() != KeyType::Resume {
                continue;
            }
            let code = if slot < BWAIT_OBJECTS { 0 } else { RC_RESTARTED };
            self.deferred.push((Wait::Restarted(code), slot, key));
        }
        Ok(())
    }
}
