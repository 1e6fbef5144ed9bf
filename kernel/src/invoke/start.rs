//! Start keys: gates that deliver a message to an available domain.
//!
//! A start key reaches its domain only when the domain is available. If it
//! is running or waiting, the invoker is queued on the domain's stall queue
//! and left running with its pc at the `ecall` (or at the faulting
//! instruction, for an implicit call): when the domain becomes available the
//! invoker runs again and re-executes the whole invocation. Nothing is half
//! done in between (KeyKOS `Base/jresumec.c`, restartable jumps).

use super::{Jump, Message};
use crate::domain::RunState;
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key};

/// Jumps through start key `key` from `invoker`.
pub(super) fn jump(
    k: &mut Kernel,
    invoker: Cda,
    jump: Jump,
    key: Key,
    message: Message,
) -> Result<(), KernelError> {
    let target = key.cda();
    let available = k.prepare(target)?.is_some_and(|d| d.state == RunState::Available);
    if !available {
        k.send = message.string;
        k.stall(invoker, target);
        return Ok(());
    }
    k.finish(invoker, jump)?;
    k.deliver(target, &message, key.databyte())?;
    k.send = message.string;
    Ok(())
}
