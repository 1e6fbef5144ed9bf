//! `gnosis status [IMAGE] [--json]` prints what a world is doing, once;
//! `gnosis top [IMAGE]` shows it refreshing in the terminal. Both ask the
//! running instance through its control socket; `status` of a stopped
//! image reads its newest checkpoint.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use ratatui::crossterm::event::{self, Event, KeyCode};
use tools::control::Client;

use super::control::Patience;
use tools::status::{Status, view};

/// Arguments of `gnosis status`.
#[derive(clap::Args)]
pub struct Args {
    /// The image (default: the default world).
    pub image: Option<PathBuf>,
    /// Print JSON, for scripts.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub patience: Patience,
}

/// Prints the status once.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let image = super::image_or_default(args.image)?;
    let status = match Client::connect(&image, args.patience.timeout)? {
        Some(world) => ask(world)?,
        None => Status::of_image(&super::load_read_only(&image)?, &image),
    };
    match args.json {
        true => println!("{}", serde_json::to_string_pretty(&status)?),
        false => print!("{}", status.text()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks a running instance for its status.
fn ask(mut world: Client) -> anyhow::Result<Status> {
    let answer = world.ask(&["status"])?;
    if answer.starts_with("error") {
        return Err(tools::control::Refused(answer).into());
    }
    serde_json::from_str(&answer).with_context(|| format!("the instance answered: {answer}"))
}

/// Asks the world running `image` for its status (waiting at most
/// `patience`); an error if none runs.
fn ask_running(image: &Path, patience: &Patience) -> anyhow::Result<Status> {
    match Client::connect(image, patience.timeout)? {
        Some(world) => ask(world),
        None => anyhow::bail!(
            "no world runs from {}: start it with `gnosis run {}`",
            image.display(),
            image.display()
        ),
    }
}

/// Arguments of `gnosis top`.
#[derive(clap::Args)]
pub struct TopArgs {
    /// The running image (default: the default world).
    pub image: Option<PathBuf>,
    /// Seconds between refreshes.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
    #[command(flatten)]
    pub patience: Patience,
}

/// Shows the status, refreshing, until q or Esc.
pub fn top(args: TopArgs) -> anyhow::Result<ExitCode> {
    let image = super::image_or_default(args.image)?;
    let mut previous = (ask_running(&image, &args.patience)?, Instant::now());
    let interval = Duration::from_secs_f64(args.interval.max(0.1));
    let mut terminal = ratatui::init();
    let shown = (|| -> anyhow::Result<()> {
        let mut rates = Default::default();
        loop {
            terminal.draw(|frame| view::draw(frame, &previous.0, &rates))?;
            if event::poll(interval)?
                && let Event::Key(key) = event::read()?
                && matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
            {
                return Ok(());
            }
            let now = (ask_running(&image, &args.patience)?, Instant::now());
            rates = view::rates(&previous.0, &now.0, now.1.duration_since(previous.1).as_secs_f64());
            previous = now;
        }
    })();
    ratatui::restore();
    shown?;
    Ok(ExitCode::SUCCESS)
}
