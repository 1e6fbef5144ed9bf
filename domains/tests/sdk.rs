//! The SDK's constants in `domains/sdk/` are the ones `build.rs` generates
//! from the kernel's `abi.rs`: a kernel change that forgets them fails here.
//! `GNOSIS_BLESS=1 cargo test -p domains --test sdk` rewrites them.

use std::path::Path;

#[test]
fn sdk_constants_are_generated_from_the_kernel() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk");
    let bless = std::env::var_os("GNOSIS_BLESS").is_some();
    for (path, generated) in domains::SDK_GENERATED {
        let file = sdk.join(path);
        if bless {
            std::fs::write(&file, generated).expect("write the generated file");
        }
        let checked_in = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            checked_in == *generated,
            "domains/sdk/{path} is not what build.rs generates from kernel/src/abi.rs; \
             run `GNOSIS_BLESS=1 cargo test -p domains --test sdk` and commit it"
        );
    }
}

#[test]
fn gnosis_inc_agrees_with_the_kernel() {
    let inc = include_str!("../include/gnosis.inc");
    let abi: std::collections::HashMap<&str, u32> =
        kernel::abi::TABLE.iter().flat_map(|g| g.iter().map(|c| (c.name, c.value))).collect();
    let mut checked = 0;
    for line in inc.lines() {
        let Some(rest) = line.trim().strip_prefix(".equ") else { continue };
        let (name, value) = rest.split_once(',').expect(".equ NAME, VALUE");
        let (name, value) = (name.trim(), value.split('#').next().unwrap().trim());
        let Some(&expected) = abi.get(name) else { continue };
        let value = match value.split_once('+') {
            Some((base, n)) => abi[base.trim()] + parse(n.trim()),
            None => parse(value),
        };
        assert_eq!(
            value, expected,
            "gnosis.inc's {name} is {value:#x}; kernel/src/abi.rs says {expected:#x}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} constants of gnosis.inc are in the ABI table");
}

fn parse(text: &str) -> u32 {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(&hex.replace('_', ""), 16).expect("hex"),
        None => text.parse().expect("decimal"),
    }
}
