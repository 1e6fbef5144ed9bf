//! Decoded code pages: each 4 KiB page of code is decoded once into 1024
//! ops, with, for every op, the length of the straight run that starts at it.
//!
//! `run_len[k]` counts the ops from `k` up to and including the first op at
//! or after `k` that ends a basic block (or to the end of the page). The
//! interpreter enters a page at any op, runs `run_len[k]` ops without
//! looking at the pc in between, and charges them to the budget at once.

use super::decode::{Op, OpKind, decode};
use super::jit::Translations;

/// Instructions in a 4 KiB page.
pub const OPS_PER_PAGE: usize = 1024;

/// One page of decoded code. `auipc` ops hold their immediate plus their
/// own offset in the page, so the interpreter adds only the page's base.
pub struct DecodedPage {
    /// The op of each instruction slot.
    pub ops: Box<[Op; OPS_PER_PAGE]>,
    /// Straight-run length from each slot (1..=1024).
    pub run_len: Box<[u16; OPS_PER_PAGE]>,
    /// Host code made from this page (dropped with it).
    pub translations: Translations,
}

impl DecodedPage {
    /// Decodes a page of instruction words.
    pub fn decode(bytes: &[u8; 4096]) -> DecodedPage {
        let ops: Box<[Op; OPS_PER_PAGE]> = (0..OPS_PER_PAGE)
            .map(|k| decode(u32::from_le_bytes(bytes[4 * k..4 * k + 4].try_into().expect("4 bytes"))))
            .collect::<Vec<_>>()
            .into_boxed_slice()
            .try_into()
            .expect("1024 ops");
        let mut ops = ops;
        for (k, op) in ops.iter_mut().enumerate() {
            if op.kind == OpKind::Auipc {
                // Executed as `page base + imm`: fold the op's offset in.
                op.imm = op.imm.wrapping_add(4 * k as i32);
            }
        }
        let mut run_len = Box::new([0u16; OPS_PER_PAGE]);
        let mut len = 0u16;
        for k in (0..OPS_PER_PAGE).rev() {
            len = if ops[k].kind.ends_block() { 1 } else { len + 1 };
            run_len[k] = len;
        }
        DecodedPage { ops, run_len, translations: Translations::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_lengths_stop_at_block_ends() {
        let mut page = [0u8; 4096];
        let words: [u32; 4] = [0x0015_0513, 0x0015_0513, 0xFE00_0CE3, 0x0015_0513]; // addi, addi, beq, addi
        for (k, w) in words.iter().enumerate() {
            page[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
        }
        let d = DecodedPage::decode(&page);
        assert_eq!(&d.run_len[..3], &[3, 2, 1]);
        // From slot 3 on, the page is addi then zeros (illegal: block ends).
        assert_eq!(d.run_len[3], 2);
        assert_eq!(d.run_len[OPS_PER_PAGE - 1], 1);
    }
}
