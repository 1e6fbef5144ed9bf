//! The requests of the control socket (`tools::control`, which checks
//! them), answered on the kernel's thread; the helpers the client commands
//! share; and `gnosis checkpoint`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kernel::kernel::Kernel;
use tools::control::{Client, Reply, Request};

/// Answers one request on the kernel's thread. An error (the world cannot
/// go on: a checkpoint failed) is answered too, then returned.
pub fn handle(k: &mut Kernel, image: &Path, request: Request) -> anyhow::Result<()> {
    let Request { fields, files, reply } = request;
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let text = match (fields.as_slice(), files.as_slice()) {
        (["checkpoint"], []) => match k.checkpoint_now() {
            Ok(generation) => format!("checkpoint generation {generation}"),
            Err(e) => {
                let _ =
                    reply.send(Reply::Text(format!("error: the checkpoint failed and the world stops: {e}")));
                return Err(e.into());
            }
        },
        (["ps"], []) => super::ps::table(&k.live_domains()),
        (["status"], []) => serde_json::to_string(&tools::status::Status::of_kernel(k, image))?,
        (["install", name, keys], [elf]) => match install(k, elf, name, keys) {
            Ok(root) => format!("installed {name} (domain root node {})", root.number()),
            Err(e) => format!("error: {e:#}"),
        },
        (["snapshot", id, kill], []) => {
            super::snapshot::serve_snapshot(k, image, id, *kill == "kill", &reply);
            return Ok(());
        }
        (["resume", origin, name, maps], [_, _, _]) => {
            let files = files.as_slice().try_into().expect("three files");
            super::snapshot::serve_resume(k, origin, name, maps, files)
        }
        _ => format!("error: request {fields:?} with {} files is not one this world answers", files.len()),
    };
    let _ = reply.send(Reply::Text(text));
    Ok(())
}

fn install(k: &mut Kernel, elf: &[u8], name: &str, keys: &str) -> anyhow::Result<kernel::key::Cda> {
    let grants = keys
        .split(',')
        .filter(|g| !g.is_empty())
        .map(|g| g.parse().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<domains::world::install::Grant>>>()?;
    domains::world::install::install(k, elf, name, &grants)
}

/// Prints the running world's `answer`; exit status 1 if it is a refusal.
pub fn answered(answer: &str) -> ExitCode {
    print!("{answer}");
    if answer.starts_with("error") { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Parses `--timeout SECONDS`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("'{text}' is not a number of seconds above 0")),
    }
}

/// How long a quick question to a running world may take.
#[derive(clap::Args)]
pub struct Patience {
    /// Seconds to wait for a running world to answer.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// Arguments of `gnosis checkpoint`.
#[derive(clap::Args)]
pub struct CheckpointArgs {
    /// The running image (default: the default world).
    pub image: Option<PathBuf>,
    /// Seconds to wait for the checkpoint (a big world's can take a while).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// `gnosis checkpoint`: asks a running instance to checkpoint now.
pub fn checkpoint(args: CheckpointArgs) -> anyhow::Result<ExitCode> {
    let image = super::image_or_default(args.image)?;
    let Some(mut world) = Client::connect(&image, args.timeout)? else {
        anyhow::bail!(
            "no world runs from {}: start it with `gnosis run {}`",
            image.display(),
            image.display()
        );
    };
    Ok(answered(&world.ask(&["checkpoint"])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["0", "-1", "soon", "inf"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
