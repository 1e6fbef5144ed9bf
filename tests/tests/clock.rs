//! The clock (design.md §24): its orders on both tiers, through the
//! operator. Dates are checked at fixed instants; "now" against the
//! kernel's system time and the calendar offset the clock answers.

use domains::world::big_bang::Settings;
use gnosis_tests::{run_world, world};
use kernel::abi::*;
use kernel::builder::Builder;
use kernel::cpu::Tier;
use kernel::operator::Operator;

const CLOCK: usize = 7;

fn clock_orders(tier: Tier) {
    let (_s, mut k) = world(32 << 20, Settings::default());
    k.set_tier(tier);
    run_world(&mut k, 200_000);
    let op = Operator::find(&k).unwrap().unwrap();
    let root = kernel::inspect::domain_named(k.store(), "clock").unwrap();
    let key = Builder::new(&mut k).start_key(root, 0);
    op.set_key(&mut k, CLOCK, key).unwrap();
    let call = |k: &mut kernel::kernel::Kernel, order: u32, arg: Option<u64>| {
        let string = arg.map(u64::to_le_bytes).unwrap_or_default();
        let r = op.call(k, CLOCK, order, &string[..arg.map_or(0, |_| 8)], &[]).unwrap();
        (r.code, r.string)
    };
    let u64_of = |s: &[u8]| u64::from_le_bytes(s.try_into().unwrap());
    assert_eq!(call(&mut k, KT, None).0, AKT_CLOCK);
    assert_eq!(call(&mut k, 6, None).0, RC_INVALID);
    let leap = 951_782_400_123_000_000; // 2000-02-29T00:00:00.123Z
    assert_eq!(call(&mut k, CLOCK_ISO8601, Some(leap)), (0, b"2000-02-29T00:00:00.123Z".to_vec()));
    assert_eq!(call(&mut k, CLOCK_ISO8601, Some(0)), (0, b"1970-01-01T00:00:00.000Z".to_vec()));
    let (rc, since) = call(&mut k, CLOCK_SINCE_MIDNIGHT, Some(leap + 3_600_000_000_000));
    assert_eq!((rc, u64_of(&since)), (0, 3_600_123_000_000));
    let offset = u64_of(&call(&mut k, CLOCK_OFFSET, None).1) as i64;
    let before = k.clock().now_ns();
    let now = u64_of(&call(&mut k, CLOCK_NOW, None).1);
    let after = k.clock().now_ns();
    let system = (now as i64 - offset) as u64;
    assert!((before..=after).contains(&system), "{before} <= {system} <= {after}");
    let (rc, text) = call(&mut k, CLOCK_ISO8601, None);
    assert_eq!((rc, text.len(), text[10], text[23]), (0, 24, b'T', b'Z'));
}

#[test]
fn the_clock_tells_the_time_of_day_interpreted() {
    clock_orders(Tier::Interpret);
}

#[test]
fn the_clock_tells_the_time_of_day_translated() {
    clock_orders(Tier::default());
}
