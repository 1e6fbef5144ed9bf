//! Resume keys: gates to a waiting domain (return, restart and fault keys).
//!
//! A resume key is current only while its call id equals its domain's;
//! using any resume key to a domain increments the call id, so every resume
//! key to it becomes DK(0). A **return** key delivers the message; a
//! **restart** key resumes the domain without delivering anything; a
//! **fault** key also clears its trap code. A current resume key to a domain
//! that is not waiting delivers nothing: the invoker proceeds (KeyKOS
//! `Base/jresumec.c`).

use super::{Jump, Message};
use crate::domain::RunState;
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, ResumeKind};

/// Jumps through resume key `key` from `invoker`.
pub(super) fn jump(
    k: &mut Kernel,
    invoker: Cda,
    jump: Jump,
    key: Key,
    message: Message,
) -> Result<(), KernelError> {
    k.finish(invoker, jump)?;
    resume(k, key, message)
}

/// Resumes the domain `key` designates with `message`, if it is waiting.
pub(super) fn resume(k: &mut Kernel, key: Key, message: Message) -> Result<(), KernelError> {
    let target = key.cda();
    let waiting = k.prepare(target)?.is_some_and(|d| d.state == RunState::Waiting);
    if !waiting {
        k.send = message.string;
        return Ok(());
    }
    k.zap_resume_keys(target)?;
    match key.resume_kind() {
        Some(ResumeKind::Return) => k.deliver(target, &message, 0)?,
        Some(ResumeKind::Restart) => k.run_again(target)?,
        Some(ResumeKind::Fault) | None => {
            if let Some(dib) = k.prepare(target)? {
                dib.trap = Default::default();
            }
            k.run_again(target)?;
        }
    }
    k.send = message.string;
    Ok(())
}
