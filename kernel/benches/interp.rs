//! `cargo bench -p kernel --bench interp`: emulated instructions per second
//! on a compute loop (ALU, shifts, branches, loads and stores over a 4 KiB
//! buffer), through the interpreter alone (flat memory) and through the
//! kernel (a domain whose memory lives in an image).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kernel::cpu::flat::FlatMemory;
use kernel::cpu::{self, CodeTlb, DataTlb, Hart};

/// The loop, 12 instructions per iteration, `ITERATIONS` times:
/// ```text
///     lui  s0, 0x20          # buffer
///     li   s1, 0             # i
///     li   s2, ITERATIONS
///     li   a0, 0             # checksum
/// loop:
///     andi t0, s1, 1023; slli t0, t0, 2; add t1, s0, t0
///     lw   t2, 0(t1); add t2, t2, s1; xor a0, a0, t2
///     slli t3, a0, 3; srli t4, a0, 29; or a0, t3, t4
///     sw   t2, 0(t1); addi s1, s1, 1; blt s1, s2, loop
///     ebreak
/// ```
const LOOP: [u32; 18] = [
    0x00020437, 0x00000493, 0x000f4937, 0x24090913, 0x00000513, 0x3ff4f293, 0x00229293, 0x00540333,
    0x00032383, 0x009383b3, 0x00754533, 0x00351e13, 0x01d55e93, 0x01de6533, 0x00732023, 0x00148493,
    0xfd24cae3, 0x00100073,
];
/// Iterations of the loop (encoded in `li s2, 1000000` above).
const ITERATIONS: u64 = 1_000_000;
const INSTRUCTIONS: u64 = 5 + 12 * ITERATIONS;

fn program() -> Vec<u8> {
    LOOP.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn flat(c: &mut Criterion) {
    let mut mem = FlatMemory::new(0x10000, 32);
    mem.load(0x10000, &program());
    let mut group = c.benchmark_group("interp");
    group.throughput(Throughput::Elements(INSTRUCTIONS));
    group.sample_size(20);
    group.bench_function("flat", |b| {
        b.iter(|| {
            let mut hart = Hart { pc: 0x10000, ..Hart::default() };
            let (mut data, mut code) = (DataTlb::default(), CodeTlb::default());
            let (_, n) = cpu::run(&mut hart, &mut data, &mut code, &mut mem, u64::MAX);
            assert_eq!(n, INSTRUCTIONS);
        })
    });
    group.finish();
}

criterion_group!(benches, flat);
criterion_main!(benches);
