//! `cargo bench -p kernel --bench interp`: emulated instructions per second
//! on a compute loop (ALU, shifts, branches, loads and stores over a 4 KiB
//! buffer), through the interpreter alone (flat memory) and through the
//! kernel (a domain whose memory lives in an image); by the interpreter
//! alone and with the translation tier.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kernel::cpu::flat::FlatMemory;
use kernel::cpu::jit::Translator;
use kernel::cpu::{self, CodeTlb, DataTlb, DecodedPage, Hart, Tier};

use domains::compute_loop;

fn flat(c: &mut Criterion) {
    let mut group = c.benchmark_group("interp");
    group.throughput(Throughput::Elements(compute_loop::INSTRUCTIONS));
    group.sample_size(20);
    for (name, tier) in [("flat", Tier::Interpret), ("flat translated", Tier::default())] {
        let mut mem = FlatMemory::new(compute_loop::BASE, 32);
        mem.load(compute_loop::BASE, &compute_loop::bytes());
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut hart = Hart { pc: compute_loop::BASE, ..Hart::default() };
                let (mut data, mut code) = (DataTlb::default(), CodeTlb::new(tier));
                let (_, n) = cpu::run(&mut hart, &mut data, &mut code, &mut mem, u64::MAX);
                assert_eq!(n, compute_loop::INSTRUCTIONS);
            })
        });
    }
    group.finish();
}

/// Translating the compute loop's page from the loop head: what the
/// translation tier pays once per hot block start.
fn translation(c: &mut Criterion) {
    let decoded = DecodedPage::decode(&compute_loop::page());
    let mut translator = Translator::for_host().expect("cranelift supports this host");
    c.bench_function("translate compute loop", |b| {
        b.iter(|| translator.translate(&decoded, compute_loop::BASE, compute_loop::LOOP_HEAD).unwrap())
    });
}

criterion_group!(benches, flat, translation);
criterion_main!(benches);
