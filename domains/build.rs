//! Assembles every program in `programs/` with the project's assembler at
//! build time; `src/lib.rs` embeds the executables. The constants of
//! `src/layout.rs` are passed to the assembler, so the programs and the
//! Rust side share one definition.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod layout {
    include!("src/layout.rs");
}

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=programs");
    println!("cargo:rerun-if-changed=include");
    println!("cargo:rerun-if-changed=src/layout.rs");
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
    table.push_str("];\n");
    std::fs::write(out.join("programs.rs"), table).expect("cannot write programs.rs");
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
