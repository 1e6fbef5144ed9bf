//! `gnosis new NAME [--lang c|rust|asm] [--dir DIR]`: a new domain project
//! that builds with one command (`make`, or `cargo build --release`) and
//! whose README says how to run it with `gnosis exec` and install it.
//!
//! The project is self-contained: the SDK it needs (the C kit, the Rust
//! guest crate, or the assembly includes, with the shared link script) is
//! copied into its `sdk/` directory from the copy built into `gnosis`, so
//! it builds anywhere, without a Gnosis checkout. Nothing is written if the
//! directory already exists.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `gnosis new`.
#[derive(clap::Args)]
pub struct Args {
    /// The project's name, also its program's and its domain's: 1 to 11
    /// characters, a lower-case letter then letters, digits, '-' or '_'.
    pub name: String,
    /// The language of the program.
    #[arg(long, value_enum, default_value = "c")]
    pub lang: Lang,
    /// Where to make the project (default: ./NAME).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// The languages a project can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// C with clang and lld and the C kit.
    C,
    /// Rust (no_std) with the gnosis-sdk guest crate.
    Rust,
    /// RV32IM assembly with gnosis.inc, assembled by `gnosis asm`.
    Asm,
}

/// A template file: where it goes in the project, and its text (with
/// `{{name}}` for the project's name).
type Template = (&'static str, &'static str);

macro_rules! templates {
    ($($to:literal <= $from:literal),+ $(,)?) => {
        &[$(($to, include_str!(concat!("../../../domains/sdk/templates/", $from)))),+]
    };
}

const C: &[Template] = templates![
    "main.c" <= "c/main.c",
    "Makefile" <= "c/Makefile",
    "README.md" <= "c/README.md",
    ".gitignore" <= "c/gitignore",
];
const RUST: &[Template] = templates![
    "src/main.rs" <= "rust/main.rs",
    "Cargo.toml" <= "rust/Cargo.toml.in",
    ".cargo/config.toml" <= "rust/cargo-config.toml",
    "rust-toolchain.toml" <= "rust/rust-toolchain.toml",
    "README.md" <= "rust/README.md",
    ".gitignore" <= "rust/gitignore",
];
const ASM: &[Template] = templates![
    "main.s" <= "asm/main.s",
    "Makefile" <= "asm/Makefile",
    "README.md" <= "asm/README.md",
    ".gitignore" <= "asm/gitignore",
];

/// Makes the project.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    anyhow::ensure!(
        !dir.exists(),
        "{} already exists; choose another NAME or --dir (gnosis new never overwrites)",
        dir.display()
    );
    let (templates, sdk): (&[Template], &[(&str, &str)]) = match args.lang {
        Lang::C => (C, domains::SDK_C),
        Lang::Rust => (RUST, domains::SDK_RUST),
        Lang::Asm => (ASM, domains::SDK_ASM),
    };
    let staging = staging_dir(&dir)?;
    let made = write_project(staging.path(), &args.name, templates, sdk);
    made.and_then(|()| {
        std::fs::rename(staging.path(), &dir).with_context(|| format!("cannot create {}", dir.display()))
    })?;
    let build = match args.lang {
        Lang::C | Lang::Asm => "make",
        Lang::Rust => "cargo build --release",
    };
    println!(
        "made {} ({:?}): cd {} && {build}; its README says how to run and install it",
        args.name,
        args.lang,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A name is also a file name, a Cargo package name and a domain name.
fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    anyhow::ensure!(
        first_ok && rest_ok && name.len() <= 11,
        "'{name}' cannot name a project: use 1 to 11 characters, a lower-case letter then \
         lower-case letters, digits, '-' or '_' (it is also the domain's name, at most 11)"
    );
    Ok(())
}

/// A temporary directory next to `dir`, renamed into place once complete,
/// so a failure leaves nothing half made.
fn staging_dir(dir: &Path) -> anyhow::Result<tempfile::TempDir> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".gnosis-new-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))
}

fn write_project(
    root: &Path,
    name: &str,
    templates: &[Template],
    sdk: &[(&str, &str)],
) -> anyhow::Result<()> {
    let files = templates
        .iter()
        .map(|&(path, text)| (PathBuf::from(path), text.replace("{{name}}", name)))
        .chain(sdk.iter().map(|&(path, text)| (Path::new("sdk").join(path), text.to_string())));
    for (path, text) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_suit_files_packages_and_domains() {
        for good in ["hello", "kv-server", "a1_b", "abcdefghijk"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Hello", "1abc", "abcdefghijkl", "a b", "a/b", "..", "-x", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_template_names_the_project() {
        for templates in [C, RUST, ASM] {
            let readme = templates.iter().find(|(p, _)| *p == "README.md").expect("a README");
            assert!(readme.1.contains("gnosis exec") && readme.1.contains("gnosis install"));
            assert!(templates.iter().any(|(_, text)| text.contains("{{name}}")));
        }
    }
}
