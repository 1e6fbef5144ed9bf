//! A short run of every fuzz target (`gnosis_tests::fuzz`): no input may
//! make a parser, loader or reader panic. The long run is
//! `cargo run --release -p gnosis-tests --example fuzz` (BENCHMARKS.md).

use gnosis_tests::fuzz::{self, Target};

/// Inputs per target here; the cheap decoders get more.
fn inputs(target: Target) -> u64 {
    match target {
        Target::Label | Target::Header | Target::Directory => 20_000,
        Target::Elf => 5_000,
        Target::Open | Target::Restart | Target::Snapshot => 300,
    }
}

fn no_panics(target: Target) {
    let outcome = fuzz::run(target, 0x5EED, inputs(target));
    println!(
        "{}: {} inputs, {} accepted, {:?}",
        target.name(),
        outcome.inputs,
        outcome.accepted,
        outcome.elapsed
    );
    assert!(outcome.findings.is_empty(), "{}: {:#?}", target.name(), outcome.findings);
    assert!(outcome.accepted > 0, "{}: no mutated input got past validation", target.name());
    assert!(outcome.accepted < outcome.inputs, "{}: every mutated input was accepted", target.name());
}

#[test]
fn labels() {
    no_panics(Target::Label);
}

#[test]
fn headers() {
    no_panics(Target::Header);
}

#[test]
fn directories_process_lists_and_journal_descriptors() {
    no_panics(Target::Directory);
}

#[test]
fn opening_whole_images() {
    no_panics(Target::Open);
}

#[test]
fn restarting_whole_images() {
    no_panics(Target::Restart);
}

#[test]
fn elf_executables() {
    no_panics(Target::Elf);
}

#[test]
fn snapshot_directories() {
    no_panics(Target::Snapshot);
}
