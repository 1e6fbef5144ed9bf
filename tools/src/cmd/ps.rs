//! `gnosis ps [IMAGE]`: the domains of a world: name, state (with the
//! trap code of a faulted one), meter and instructions. Asks the running
//! instance when there is one (live figures), else reads the newest
//! checkpoint.

use std::path::PathBuf;
use std::process::ExitCode;

use kernel::inspect;
use kernel::inspect::DomainSummary;
use tools::control::Client;

/// Arguments of `gnosis ps`.
#[derive(clap::Args)]
pub struct Args {
    /// The image (default: the default world).
    pub image: Option<PathBuf>,
    #[command(flatten)]
    pub patience: super::control::Patience,
}

/// Prints one line per domain.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let image = super::image_or_default(args.image)?;
    if let Some(mut world) = Client::connect(&image, args.patience.timeout)? {
        return Ok(super::control::answered(&world.ask(&["ps"])?));
    }
    let loaded = super::load_read_only(&image)?;
    print!("{}", table(&inspect::domains(&loaded.store)));
    Ok(ExitCode::SUCCESS)
}

/// The table `gnosis ps` prints (names with control characters escaped).
pub fn table(domains: &[DomainSummary]) -> String {
    let mut out =
        format!("{:<10} {:<12} {:<40} {:<12} {:>16}\n", "root", "name", "state", "meter", "instructions");
    for d in domains {
        let state = tools::status::state_text(d);
        let meter = match (d.meter, d.meter_left) {
            (Some(m), Some(left)) if left > u64::MAX / 2 => format!("{} ∞", m.number()),
            (Some(m), Some(left)) => format!("{} {left}", m.number()),
            _ => "none".into(),
        };
        out += &format!(
            "{:<10} {:<12} {:<40} {:<12} {:>16}\n",
            d.root.number(),
            tools::printable(&d.name),
            state,
            meter,
            d.instructions
        );
    }
    out
}
