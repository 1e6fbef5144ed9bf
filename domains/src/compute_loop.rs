//! A compute loop used to measure instruction throughput: ALU, shifts, a
//! load and a store over a 4 KiB buffer at 0x20000, and a backward branch,
//! 12 instructions per iteration, then `ebreak`:
//!
//! ```text
//!     lui  s0, 0x20
//!     li   s1, 0
//!     li   s2, ITERATIONS
//!     li   a0, 0
//! loop:
//!     andi t0, s1, 1023; slli t0, t0, 2; add t1, s0, t0
//!     lw   t2, 0(t1); add t2, t2, s1; xor a0, a0, t2
//!     slli t3, a0, 3; srli t4, a0, 29; or a0, t3, t4
//!     sw   t2, 0(t1); addi s1, s1, 1; blt s1, s2, loop
//!     ebreak
//! ```

/// The instruction words (1,000,000 iterations), to be loaded at [`BASE`].
pub const WORDS: [u32; 18] = [
    0x00020437, 0x00000493, 0x000f4937, 0x24090913, 0x00000513, 0x3ff4f293, 0x00229293, 0x00540333,
    0x00032383, 0x009383b3, 0x00754533, 0x00351e13, 0x01d55e93, 0x01de6533, 0x00732023, 0x00148493,
    0xfd24cae3, 0x00100073,
];
/// Where the code goes.
pub const BASE: u32 = 0x10000;
/// The instruction slot of the loop's first instruction.
pub const LOOP_HEAD: usize = 5;
/// Where the data buffer is (one page).
pub const BUFFER: u32 = 0x20000;
/// Instructions executed by [`bytes`] up to (not including) the `ebreak`.
pub const INSTRUCTIONS: u64 = 5 + 12 * 1_000_000;

/// The code as bytes.
pub fn bytes() -> Vec<u8> {
    with_iterations(1_000_000)
}

/// The code as bytes, looping `n` times (1 ≤ n < 2³¹) instead.
pub fn with_iterations(n: u32) -> Vec<u8> {
    assert!((1..1 << 31).contains(&n), "iteration count out of range");
    let mut words = WORDS;
    // li s2, n  =  lui s2, hi ; addi s2, s2, lo  (s2 = x18)
    let hi = n.wrapping_add(0x800) >> 12;
    let lo = n.wrapping_sub(hi << 12) & 0xFFF;
    words[2] = hi << 12 | 18 << 7 | 0x37;
    words[3] = lo << 20 | 18 << 15 | 18 << 7 | 0x13;
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The code page as loaded at [`BASE`]: [`bytes`], then zeros.
pub fn page() -> [u8; 4096] {
    let mut page = [0u8; 4096];
    let code = bytes();
    page[..code.len()].copy_from_slice(&code);
    page
}

/// Instructions executed by [`with_iterations`]`(n)` up to the `ebreak`.
pub fn instructions(n: u32) -> u64 {
    5 + 12 * u64::from(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn patching_the_count_reproduces_the_original() {
        let original: Vec<u8> = super::WORDS.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(super::with_iterations(1_000_000), original);
    }
}
