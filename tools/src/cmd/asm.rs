//! `gnosis asm SOURCE.s -o PROGRAM.elf`: assemble an RV32IM program.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `gnosis asm`.
#[derive(clap::Args)]
pub struct Args {
    /// The assembly source.
    pub source: PathBuf,
    /// Where to write the ELF executable.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Extra directories to search for `.include` files (`gnosis.inc` and
    /// `runtime.s` are built in).
    #[arg(short = 'I', long = "include")]
    pub include: Vec<PathBuf>,
    /// Address of `.text` (default 0x10000).
    #[arg(long, value_parser = super::parse_number)]
    pub text_base: Option<u64>,
}

/// Assembles the source and writes the executable (mode 0755).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.source)
        .with_context(|| format!("cannot read {}", args.source.display()))?;
    let name = args.source.display().to_string();
    let mut options = assembler::Options::default();
    if let Some(base) = args.text_base {
        options.text_base = u32::try_from(base).context("--text-base must fit in 32 bits")?;
    }
    let resolver = assembler::FsResolver::with_builtins(args.include.clone(), domains::INCLUDES);
    let program =
        match assembler::assemble(assembler::Source { name: &name, text: &text }, &resolver, &options) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::from(1));
            }
        };
    std::fs::write(&args.output, program.to_elf())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    std::fs::set_permissions(&args.output, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let bytes: usize = program.segments.iter().map(|s| s.bytes.len()).sum();
    println!("{}: {bytes} bytes, entry {:#x}", args.output.display(), program.entry);
    Ok(ExitCode::SUCCESS)
}
