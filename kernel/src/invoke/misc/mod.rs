//! Misc keys: kernel services chosen by the key's subtype (KeyKOS
//! `Base/jmiscc.c`), one file per service.

mod bwait;
mod checkpoint;
mod data_key_creator;
mod device_creator;
mod discrim;
mod domain_tool;
mod error;
mod journalize;
mod keybits;
mod migrate;
mod returner;
mod timer;

use super::{Invocation, Outcome};
use crate::kernel::{Kernel, KernelError};
use crate::key::MiscKind;

pub use discrim::{Class, classify};

/// Handles an invocation of a misc key.
pub(crate) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    match inv.key.misc_kind() {
        Some(MiscKind::Returner) => Ok(returner::invoke(inv)),
        Some(MiscKind::DomainTool) => domain_tool::invoke(k, inv),
        Some(MiscKind::Keybits) => Ok(keybits::invoke(inv)),
        Some(MiscKind::DataKeyCreator) => Ok(data_key_creator::invoke(inv)),
        Some(MiscKind::Discrim) => Ok(discrim::invoke(inv)),
        Some(MiscKind::Error) => Ok(error::invoke(inv)),
        Some(MiscKind::SystemTimer) => Ok(timer::invoke(k, inv)),
        Some(MiscKind::Bwait) => Ok(bwait::invoke(k, inv)),
        Some(MiscKind::Checkpoint) => Ok(checkpoint::invoke(k, inv)),
        Some(MiscKind::Migrate) => Ok(migrate::invoke(k, inv)),
        Some(MiscKind::Journalize) => journalize::invoke(k, inv),
        Some(MiscKind::DeviceCreator) => Ok(device_creator::invoke(k, inv)),
        _ => Ok(Outcome::invalid()),
    }
}
