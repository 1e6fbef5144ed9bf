//! Puts the domain link script (`../gnosis.ld`, shared with the C kit) on
//! the linker's search path, so a program links with `-C link-arg=-Tgnosis.ld`
//! (its `.cargo/config.toml` says so).

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let script = PathBuf::from("../gnosis.ld");
    std::fs::copy(&script, out.join("gnosis.ld")).expect("domains/sdk/gnosis.ld is missing");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=../gnosis.ld");
}
