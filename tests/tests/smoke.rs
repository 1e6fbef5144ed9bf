use gnosis_tests::{code, kernel};
use kernel::builder::{Builder, DomainSpec};
use kernel::domain::RunState;
use kernel::trap;

#[test]
fn a_domain_runs_to_its_ebreak() {
    let (_s, mut k) = kernel(8 << 20);
    let mut b = Builder::new(&mut k);
    let meter = b.prime_meter(u64::MAX).unwrap();
    let space = b.address_space().unwrap();
    let pages = b.map_fresh(space, 0x10000, 4096, false).unwrap();
    b.map_fresh(space, 0x20000, 4096, false).unwrap();
    let words = [
        0x00020437u32,
        0x00000493,
        0x000f4937,
        0x24090913,
        0x00000513,
        0x3ff4f293,
        0x00229293,
        0x00540333,
        0x00032383,
        0x009383b3,
        0x00754533,
        0x00351e13,
        0x01d55e93,
        0x01de6533,
        0x00732023,
        0x00148493,
        0xfd24cae3,
        0x00100073,
    ];
    b.kernel().write_page(pages[0], 0, &code(&words)).unwrap();
    let root = b.domain(&DomainSpec { memory: space, meter, pc: 0x10000, ..Default::default() }).unwrap();
    let t = std::time::Instant::now();
    let n = k.run(u64::MAX).unwrap();
    println!("{n} instructions in {:?}", t.elapsed());
    assert_eq!(n, 5 + 1_000_000 * 12, "the loop runs; the ebreak does not retire");
    let d = k.domain(root).unwrap();
    assert_eq!(d.state, RunState::Waiting);
    assert_eq!(d.trap.code, trap::BREAKPOINT);
    assert_eq!(d.hart.pc, 0x10000 + 17 * 4);
}
