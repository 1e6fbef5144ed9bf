//! The long fuzzing run (see `gnosis_tests::fuzz`):
//!
//! ```text
//! cargo run --release -p gnosis-tests --example fuzz -- [--inputs N] [--seed S] [--threads T] [TARGET...]
//! ```
//!
//! `--inputs` is the total over the targets (default 10 000 000), shared as
//! `Target::share` says; TARGET names limit the run to those (label,
//! header, directory, open, restart, elf, snapshot). Prints one line per
//! target and every panic with the input that raised it; exits 1 if any
//! target panicked. A panic is reproduced with `--seed S --only INPUT TARGET`.

use std::process::ExitCode;
use std::time::Instant;

use gnosis_tests::fuzz::{self, Target};

struct Args {
    inputs: u64,
    seed: u64,
    threads: u64,
    only: Option<u64>,
    targets: Vec<Target>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args { inputs: 10_000_000, seed: 1, threads: 1, only: None, targets: Vec::new() };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let text = words.next().ok_or(format!("{name} needs a number"))?;
            text.replace('_', "").parse().map_err(|_| format!("{name}: '{text}' is not a number"))
        };
        match word.as_str() {
            "--inputs" => args.inputs = number("--inputs")?,
            "--seed" => args.seed = number("--seed")?,
            "--threads" => args.threads = number("--threads")?.max(1),
            "--only" => args.only = Some(number("--only")?),
            name => args.targets.push(Target::from_name(name).ok_or(format!("no target called '{name}'"))?),
        }
    }
    if args.targets.is_empty() {
        args.targets = Target::ALL.to_vec();
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(input) = args.only {
        let target = args.targets[0];
        let bases = fuzz::Bases::for_target(target);
        return match fuzz::run_one(target, &bases, args.seed, input) {
            Ok(accepted) => {
                println!("{} input {input}: no panic (accepted: {accepted})", target.name());
                ExitCode::SUCCESS
            }
            Err(message) => {
                println!("{} input {input}: panicked: {message}", target.name());
                ExitCode::from(1)
            }
        };
    }
    let started = Instant::now();
    let (mut total, mut panics) = (0, 0);
    for target in args.targets {
        let inputs = target.share(args.inputs);
        let outcomes: Vec<fuzz::Outcome> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..args.threads)
                .map(|t| {
                    let range = inputs * t / args.threads..inputs * (t + 1) / args.threads;
                    s.spawn(move || fuzz::run_range(target, args.seed, range))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a fuzzing thread")).collect()
        });
        let accepted: u64 = outcomes.iter().map(|o| o.accepted).sum();
        let elapsed = outcomes.iter().map(|o| o.elapsed).max().unwrap_or_default();
        let findings: Vec<&fuzz::Finding> = outcomes.iter().flat_map(|o| &o.findings).collect();
        println!(
            "{:<10} {inputs:>10} inputs {accepted:>10} accepted {:>8.1} s {:>6} panics",
            target.name(),
            elapsed.as_secs_f64(),
            findings.len()
        );
        for f in &findings {
            println!("  input {}: {}", f.input, f.message);
        }
        total += inputs;
        panics += findings.len();
    }
    println!(
        "total      {total:>10} inputs in {:.1} s, {panics} panics (seed {})",
        started.elapsed().as_secs_f64(),
        args.seed
    );
    if panics == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
