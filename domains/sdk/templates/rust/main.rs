//! {{name}}: a Gnosis domain in Rust. Key register 1 is the console (the
//! first --key of `gnosis install` and `gnosis exec`), where println! writes.

#![no_std]
#![no_main]

use gnosis::println;

fn main() {
    println!("hello from {{name}}");
}

gnosis::entry!(main);
