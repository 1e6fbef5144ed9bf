//! Replies the kernel owes: invocations that wait for an event (the next
//! checkpoint, a BWAIT timer, migration to be needed).
//!
//! The reply key of each such invocation is kept in a slot of the **kernel
//! node** (node 1, as in KeyKOS), so it is checkpointed: after a restart the
//! kernel finds the waiters and wakes them (BWAIT waiters "return early";
//! checkpoint and migration waiters are told a restart intervened). Slots:
//! 0..8 one per BWAIT object, 8..12 checkpoint waiters, 12 the migrator,
//! 13 the console reader.

use crate::invoke::{self, Message, Wait};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType, NODE_CDA_BIT};
use crate::object::{self, node};

/// The kernel node.
pub const KERNEL_NODE: Cda = Cda(NODE_CDA_BIT | 1);
/// BWAIT objects.
pub const BWAIT_OBJECTS: usize = 8;
/// Return code to a waiter woken because the system restarted.
pub const RC_RESTARTED: u32 = crate::abi::RC_RESTARTED;
/// Return code when too many invocations already wait for the same event.
pub const RC_TOO_MANY_WAITERS: u32 = 3;

fn slots(wait: Wait) -> std::ops::Range<usize> {
    match wait {
        Wait::Timer(i) => i as usize..i as usize + 1,
        Wait::Checkpoint { .. } => 8..12,
        Wait::Migration => 12..13,
        Wait::Input(_) => 13..14,
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

    /// Sends `message` to every invocation waiting for `wait`.
    pub(crate) fn reply_deferred(&mut self, wait: Wait, message: Message) -> Result<(), KernelError> {
        self.reply_deferred_if(|w| w == wait, message)
    }

    /// Sends `message` to every invocation whose wait satisfies `due`.
    pub(crate) fn reply_deferred_if(
        &mut self,
        due: impl Fn(Wait) -> bool,
        message: Message,
    ) -> Result<(), KernelError> {
        let (due, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.deferred).into_iter().partition(|(w, _, _)| due(*w));
        self.deferred = kept;
        for (_, slot, key) in due {
            node::set_slot(&mut self.store, KERNEL_NODE, slot, Key::NULL)?;
            invoke::reply_through(self, Some(key), message.clone())?;
        }
        Ok(())
    }

    /// Whether a BWAIT object already has a waiter.
    pub(crate) fn timer_has_waiter(&self, index: u32) -> bool {
        self.deferred.iter().any(|(w, _, _)| *w == Wait::Timer(index))
    }

    /// Gives console input to a waiting reader, if there is one and input.
    pub(crate) fn service_input(&mut self) -> Result<(), KernelError> {
        let Some(&(wait, _, _)) = self.deferred.iter().find(|(w, _, _)| matches!(w, Wait::Input(_))) else {
            return Ok(());
        };
        let Wait::Input(max) = wait else { unreachable!("WAIT001") };
        if self.console.input.is_empty() {
            return Ok(());
        }
        let n = self.console.input.len().min(max as usize).min(invoke::MAX_STRING);
        let bytes: Vec<u8> = self.console.input.drain(..n).collect();
        self.reply_deferred(wait, Message::code(0).with_string(&bytes))
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

    /// Wakes the BWAIT waiters whose time has come; returns the earliest
    /// wake-up time still pending.
    pub(crate) fn service_timers(&mut self) -> Result<Option<u64>, KernelError> {
        if !self.deferred.iter().any(|(w, _, _)| matches!(w, Wait::Timer(_))) {
            return Ok(None);
        }
        let now = self.clock.now_ns();
        let mut earliest = None::<u64>;
        for i in 0..BWAIT_OBJECTS as u32 {
            if !self.timer_has_waiter(i) {
                continue;
            }
            let at = self.bwait[i as usize];
            if at <= now {
                self.reply_deferred(Wait::Timer(i), Message::code(0))?;
            } else {
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
        }
        Ok(earliest)
    }

    /// At restart: makes sure the kernel node and the journal page exist
    /// (allocated, so nothing else is ever built from them), and wakes
    /// every waiter the checkpoint recorded.
    pub(crate) fn wake_waiters_after_restart(&mut self) -> Result<(), KernelError> {
        for cda in [KERNEL_NODE, crate::journal::JOURNAL_PAGE] {
            if !object::allocation(&self.store, cda).allocated {
                object::create(&mut self.store, cda)?;
            }
        }
        for slot in 0..14 {
            let key = object::validate(&self.store, node::slot(&self.store, KERNEL_NODE, slot));
            if key.kind() != KeyType::Resume {
                continue;
            }
            node::set_slot(&mut self.store, KERNEL_NODE, slot, Key::NULL)?;
            let rc = if slot < BWAIT_OBJECTS { 0 } else { RC_RESTARTED };
            invoke::reply_through(self, Some(key), Message::code(rc))?;
        }
        Ok(())
    }
}
