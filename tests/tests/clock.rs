//! The clock (`domains/system/src/bin/clock.rs`, a system domain written
//! in Rust with the SDK): the wall clock, continued across restarts from
//! the kernel's fields in the journal page; on both tiers.

use std::sync::Arc;

use disk_image::storage::FaultyStorage;
use domains::world::big_bang::Settings;
use gnosis_tests::{boot, world};
use kernel::abi::{KT, RC_INVALID};
use kernel::builder::Builder;
use kernel::cpu::Tier;
use kernel::kernel::Kernel;
use kernel::operator::{Operator, Reply};

const CLOCK: usize = 5;

fn clock(k: &mut Kernel, order: u32, string: &[u8]) -> Reply {
    let op = Operator::find(k).unwrap().unwrap();
    let root = kernel::inspect::domain_named(k.store(), "clock").expect("the clock is in the world");
    let key = Builder::new(k).start_key(root, 0);
    op.set_key(k, CLOCK, key).unwrap();
    op.call(k, CLOCK, order, string, &[]).unwrap()
}

fn u64_of(reply: &Reply) -> u64 {
    assert_eq!(reply.code, 0);
    u64::from_le_bytes(reply.string[..8].try_into().unwrap())
}

/// The wall clock the kernel's fields give now.
fn wall_now(k: &Kernel) -> u64 {
    let f = k.kernel_fields();
    f.restart_wall_ns + (k.clock().now_ns() - f.restart_ns)
}

fn check(k: &mut Kernel) {
    let before = wall_now(k);
    let now = u64_of(&clock(k, 4, &[]));
    assert!(now >= before && now <= wall_now(k), "{before} <= {now} <= {}", wall_now(k));
    let iso = clock(k, 5, &1_700_000_000_123_456_789u64.to_le_bytes());
    assert_eq!(String::from_utf8_lossy(&iso.string), "2023-11-14T22:13:20.123Z");
    let epoch = clock(k, 5, &0u64.to_le_bytes());
    assert_eq!(String::from_utf8_lossy(&epoch.string), "1970-01-01T00:00:00.000Z");
    let leap = clock(k, 5, &(951_782_400_000_000_000u64 + 3_600_000_000_000).to_le_bytes());
    assert_eq!(String::from_utf8_lossy(&leap.string), "2000-02-29T01:00:00.000Z");
    let midnight = u64_of(&clock(k, 3, &(86_400_000_000_000u64 * 3 + 42).to_le_bytes()));
    assert_eq!(midnight, 42, "ns since midnight");
    let offset = u64_of(&clock(k, 9, &[])) as i64;
    let f = k.kernel_fields();
    assert_eq!(offset, f.restart_wall_ns as i64 - f.restart_ns as i64);
    assert_eq!(clock(k, KT, &[]).code, 0x12);
    assert_eq!(clock(k, 77, &[]).code, RC_INVALID);
}

#[test]
fn the_clock_tells_the_time_of_day_on_both_tiers_and_after_a_restart() {
    for tier in [Tier::Interpret, Tier::default()] {
        let (storage, mut k) = world(16 << 20, Settings::default());
        k.set_tier(tier);
        check(&mut k);
        k.checkpoint_now().unwrap();
        k.finish_background().unwrap();
        let (_s, mut k) = boot(Arc::new(FaultyStorage::new(&storage.durable_image(), None)));
        k.set_tier(tier);
        check(&mut k);
    }
}
