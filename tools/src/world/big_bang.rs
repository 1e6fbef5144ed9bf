//! The big bang: the primordial world `gnosis format` builds.

use kernel::builder::Builder;
use kernel::kernel::Kernel;
use kernel::key::Key;

/// Instructions on the prime meter: all ones, unlimited in practice (KeyKOS).
pub const PRIME_CPU: u64 = u64::MAX;

/// Builds the primordial world in a freshly formatted, booted image.
pub fn build(k: &mut Kernel) -> anyhow::Result<Key> {
    let mut b = Builder::new(k);
    Ok(b.prime_meter(PRIME_CPU)?)
}
