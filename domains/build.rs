//! Assembles every program in `programs/` with the project's assembler at
//! build time; `src/lib.rs` embeds the executables. The constants of
//! `src/layout.rs` are passed to the assembler, so the programs and the
//! Rust side share one definition. It also generates the SDK's constants
//! (`gnosis_abi.h` for C, `abi.rs` for the Rust guest crate) from the
//! kernel's `kernel/src/abi.rs` and `src/layout.rs`, so a domain and the
//! kernel agree on every number (`tests/sdk.rs` checks that the copies in
//! `sdk/` are these).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod layout {
    include!("src/layout.rs");
}

#[allow(dead_code)]
mod abi {
    include!("../kernel/src/abi.rs");
}

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=programs");
    println!("cargo:rerun-if-changed=include");
    println!("cargo:rerun-if-changed=src/layout.rs");
    println!("cargo:rerun-if-changed=../kernel/src/abi.rs");
    std::fs::write(out.join("gnosis_abi.h"), c_header()).expect("cannot write gnosis_abi.h");
    std::fs::write(out.join("abi.rs"), rust_constants()).expect("cannot write abi.rs");
    let resolver = assembler::FsResolver::with_search_dirs(vec![PathBuf::from("include")]);
    let options = assembler::Options {
        defines: layout::DEFINES.iter().map(|&(name, value)| (name.to_string(), i64::from(value))).collect(),
        ..Default::default()
    };
    let mut sources: Vec<PathBuf> = std::fs::read_dir("programs")
        .expect("domains/programs is missing")
        .map(|entry| entry.expect("cannot list domains/programs").path())
        .filter(|path| path.extension().is_some_and(|e| e == "s"))
        .collect();
    sources.sort();
    let mut table = String::from("/// Every program, by name.\npub const PROGRAMS: &[Program] = &[\n");
    for path in &sources {
        let program = assemble(path, &resolver, &options);
        let name = path.file_stem().and_then(|s| s.to_str()).expect("program names are UTF-8");
        std::fs::write(out.join(format!("{name}.elf")), program.to_elf())
            .expect("cannot write an executable");
        let symbols: String =
            program.symbols.iter().map(|(symbol, address)| format!("({symbol:?}, {address:#x}), ")).collect();
        writeln!(
            table,
            "    Program {{ name: {name:?}, elf: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.elf\")), \
             symbols: &[{symbols}] }},"
        )
        .expect("writing to a string");
    }
    for (name, elf) in build_system_domains(&out) {
        std::fs::copy(&elf, out.join(format!("{name}.elf"))).expect("cannot copy a system domain");
        writeln!(
            table,
            "    Program {{ name: {name:?}, elf: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.elf\")), \
             symbols: &[] }},"
        )
        .expect("writing to a string");
    }
    table.push_str("];\n");
    std::fs::write(out.join("programs.rs"), table).expect("cannot write programs.rs");
}

/// The target the Rust system domains are built for.
const GUEST_TARGET: &str = "riscv32im-unknown-none-elf";

/// Builds the system domains written in Rust (`system/`, its own
/// workspace, one binary each) for the guest target with a cargo of its
/// own, in a target directory under `out` (so it never waits for the
/// outer build's lock); returns each binary's name and executable.
fn build_system_domains(out: &Path) -> Vec<(String, PathBuf)> {
    for watched in [
        "system/src",
        "system/Cargo.toml",
        "system/Cargo.lock",
        "sdk/rust/src",
        "sdk/rust/Cargo.toml",
        "sdk/gnosis.ld",
    ] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let target_dir = out.join("system-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args([
        "build",
        "--release",
        "--bins",
        "--manifest-path",
        "system/Cargo.toml",
        "--target",
        GUEST_TARGET,
    ]);
    command.env("CARGO_TARGET_DIR", &target_dir);
    // The outer build's settings (profile, flags, clippy as a wrapper, its
    // jobserver) are not the guest build's.
    for (var, _) in std::env::vars_os() {
        let name = var.to_string_lossy();
        let outer = (name.starts_with("CARGO_") && name != "CARGO_HOME")
            || ["RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "MAKEFLAGS", "MFLAGS"]
                .contains(&&*name);
        if outer {
            command.env_remove(&var);
        }
    }
    command.env("CARGO_TARGET_DIR", &target_dir);
    let output = command.output().expect("cannot run cargo to build the system domains");
    if !output.status.success() {
        panic!(
            "\nbuilding the system domains (domains/system) for {GUEST_TARGET} failed:\n{}\n\
             If the target is missing: rustup target add {GUEST_TARGET}\n",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut names: Vec<String> = std::fs::read_dir("system/src/bin")
        .expect("domains/system/src/bin is missing")
        .map(|entry| entry.expect("cannot list domains/system/src/bin").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| path.file_stem().and_then(|s| s.to_str()).expect("names are UTF-8").to_string())
        .collect();
    names.sort();
    let built = target_dir.join(GUEST_TARGET).join("release");
    names.into_iter().map(|name| (name.clone(), built.join(name))).collect()
}

fn assemble(
    path: &Path,
    resolver: &assembler::FsResolver,
    options: &assembler::Options,
) -> assembler::Program {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
    assembler::assemble(assembler::Source { name: &name, text: &text }, resolver, options)
        .unwrap_or_else(|e| panic!("\n{e}\n(assembling the domain program {name})"))
}

/// A constant as the generated files print it: name, value, doc line.
type Constant = (&'static str, u32, &'static str);

/// Every SDK constant by group: the kernel's ABI, then the shared layout.
fn groups() -> Vec<(&'static str, Vec<Constant>)> {
    let mut groups: Vec<_> = abi::TABLE
        .iter()
        .map(|g| (g[0].group, g.iter().map(|c| (c.name, c.value, c.doc.trim())).collect()))
        .collect();
    let layout = layout::DEFINES.iter().map(|&(name, value)| (name, value, "")).collect();
    groups.push(("addresses and console channels (domains/src/layout.rs)", layout));
    groups
}

const GENERATED: &str =
    "generated by domains/build.rs from kernel/src/abi.rs and domains/src/layout.rs; do not edit";

fn c_header() -> String {
    let mut h = format!("/* gnosis_abi.h: {GENERATED}. */\n#ifndef GNOSIS_ABI_H\n#define GNOSIS_ABI_H\n");
    for (group, constants) in groups() {
        write!(h, "\n/* {group} */\n").expect("writing to a string");
        for (name, value, doc) in constants {
            let comment =
                if doc.is_empty() { String::new() } else { format!(" /* {} */", doc.replace("*/", "* /")) };
            writeln!(h, "#define {name} {value:#x}u{comment}").expect("writing to a string");
        }
    }
    h.push_str("\n#endif\n");
    h
}

fn rust_constants() -> String {
    let mut r = format!("//! The ABI's constants: {GENERATED}.\n");
    for (group, constants) in groups() {
        write!(r, "\n// {group}\n").expect("writing to a string");
        for (name, value, doc) in constants {
            if !doc.is_empty() {
                writeln!(r, "/// {doc}").expect("writing to a string");
            }
            writeln!(r, "pub const {name}: u32 = {value:#x};").expect("writing to a string");
        }
    }
    r
}
