#![no_std]
#![no_main]

use gnosis::println;

fn main() {
    println!("hello, world from Rust");
}

gnosis::entry!(main);
