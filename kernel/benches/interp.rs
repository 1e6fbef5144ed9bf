//! `cargo bench -p kernel --bench interp`: emulated instructions per second
//! on a compute loop (ALU, shifts, branches, loads and stores over a 4 KiB
//! buffer), through the interpreter alone (flat memory) and through the
//! kernel (a domain whose memory lives in an image).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kernel::cpu::flat::FlatMemory;
use kernel::cpu::{self, CodeTlb, DataTlb, Hart};

use domains::compute_loop;

fn flat(c: &mut Criterion) {
    let mut mem = FlatMemory::new(compute_loop::BASE, 32);
    mem.load(compute_loop::BASE, &compute_loop::bytes());
    let mut group = c.benchmark_group("interp");
    group.throughput(Throughput::Elements(compute_loop::INSTRUCTIONS));
    group.sample_size(20);
    group.bench_function("flat", |b| {
        b.iter(|| {
            let mut hart = Hart { pc: compute_loop::BASE, ..Hart::default() };
            let (mut data, mut code) = (DataTlb::default(), CodeTlb::default());
            let (_, n) = cpu::run(&mut hart, &mut data, &mut code, &mut mem, u64::MAX);
            assert_eq!(n, compute_loop::INSTRUCTIONS);
        })
    });
    group.finish();
}

criterion_group!(benches, flat);
criterion_main!(benches);
