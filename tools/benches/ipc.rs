//! `cargo bench -p tools --bench ipc`: CALL + RETURN round trips between
//! two domains (a client calling a server that answers at once), with the
//! translation tier and with the interpreter alone.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kernel::cpu::Tier;
use kernel::kernel::Background;

const ROUNDS: u64 = 100_000;

fn ipc(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (mut k, _path) =
        tools::bench::setup::fresh(dir.path(), "ipc.img", 64 << 20, Background::Inline).unwrap();
    let prime = kernel::builder::Builder::new(&mut k).prime_meter(u64::MAX).unwrap();
    let mut group = c.benchmark_group("ipc");
    group.throughput(Throughput::Elements(ROUNDS));
    group.sample_size(10);
    tools::bench::programs::ipc_pair(&mut k, prime).unwrap();
    for (name, tier) in [("call_return", Tier::default()), ("call_return interpreted", Tier::Interpret)] {
        k.set_tier(tier);
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                (0..iterations).map(|_| tools::bench::programs::round_trips(&mut k, ROUNDS).unwrap()).sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ipc);
criterion_main!(benches);
