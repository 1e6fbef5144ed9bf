//! The wait multiplexer's ticker (KeyKOS MBWAIT's waiter domain): waits on
//! the multiplexer's BWAIT (k1) and calls the multiplexer's tick facet
//! (k2, a start key to `waitf` with databyte 0xFE), forever. The tick sets
//! BWAIT to the next wake-up time before it returns; a restart ends the
//! wait early, so the times are looked at again. design.md §24 ("Wait
//! objects").

#![no_std]
#![no_main]

use gnosis::keys::Bwait;
use gnosis::{Key, Msg};

const BWAIT: Bwait = Bwait(Key::new(1));
const TICK: Key = Key::new(2);

fn main() {
    loop {
        BWAIT.wait();
        TICK.call(Msg::new(0));
    }
}

gnosis::entry!(main);
