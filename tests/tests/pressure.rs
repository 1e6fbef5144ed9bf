//! Working-area pressure, by proptest: worlds of 8 to 32 MiB with random
//! users' programs that dirty random amounts of memory (from a few pages to
//! several times the checkpoint area), in random patterns, some calling the
//! checkpoint key or the key-value store as they go. Whatever they do, the
//! kernel never fails, checkpoints keep committing, every domain's
//! invariants hold, and a power cut at the end restarts to a clean image
//! whose programs run on.

use std::sync::Arc;

use disk_image::FRAME_BYTES;
use disk_image::storage::{FaultyStorage, Storage};
use domains::world::big_bang::Settings;
use domains::world::install::{Grant, install_with_stack};
use gnosis_tests::{asm, boot, world};
use proptest::prelude::*;

/// One user's program: dirties `pages` pages of its .bss, `stride` pages
/// apart (modulo the size), `passes` times, calling the checkpoint key
/// (`checkpoint`) or the key-value store (`kv`) after each pass.
#[derive(Clone, Debug)]
struct Program {
    pages: u32,
    stride: u32,
    passes: u32,
    checkpoint: bool,
    kv: bool,
}

impl Program {
    fn elf(&self) -> Vec<u8> {
        let after_pass = match (self.checkpoint, self.kv) {
            // Read the time, then force a checkpoint at or after it.
            (true, _) => "    KCALL_STR 2, 7, now, 0, now, 8\n    KCALL_STR 1, 1, now, 8\n",
            (false, true) => "    KCALL 1, 5\n",
            (false, false) => "",
        };
        asm(&format!(
            r#"
        .include "gnosis.inc"
    _start:
        li   s0, {passes}
    1:  li   s1, 0                       # page index
        li   s2, {pages}
    2:  la   t0, big
        slli t1, s1, 12
        add  t0, t0, t1
        lw   t2, 0(t0)
        addi t2, t2, 1
        sw   t2, 0(t0)
        addi s1, s1, {stride}
        remu s1, s1, s2
        addi s3, s3, 1
        blt  s3, s2, 2b
        li   s3, 0
    {after_pass}
        addi s0, s0, -1
        bnez s0, 1b
        ebreak
        .data
    now: .space 8
        .bss
    big: .space {bytes}
    "#,
            passes = self.passes,
            pages = self.pages,
            stride = self.stride,
            bytes = self.pages * 4096,
        ))
    }

    fn grants(&self) -> Vec<Grant> {
        match (self.checkpoint, self.kv) {
            (true, _) => vec![Grant::Checkpoint, Grant::Timer],
            (false, true) => vec!["start:kv".parse().unwrap()],
            (false, false) => vec![],
        }
    }
}

/// Programs sized against the area of a world of `mib` MiB: from a few
/// pages to three times the area.
fn programs(mib: u64) -> impl Strategy<Value = Vec<Program>> {
    let area_pages = ((mib << 20) / 8 / 4096) as u32;
    let program = (1..=area_pages * 3, 1u32..8, 1u32..4, any::<bool>(), any::<bool>()).prop_map(
        |(pages, stride, passes, checkpoint, kv)| Program {
            pages,
            // A stride sharing no factor with the size visits every page.
            stride: if pages % stride == 0 { 1 } else { stride },
            passes,
            checkpoint,
            kv,
        },
    );
    prop::collection::vec(program, 1..4)
}

fn world_and_programs() -> impl Strategy<Value = (u64, Vec<Program>)> {
    prop_oneof![Just(8u64), Just(16), Just(24), Just(32)].prop_flat_map(|mib| (Just(mib), programs(mib)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_dirtying_random_amounts_never_stop_the_kernel((mib, programs) in world_and_programs()) {
        let (storage, mut k) = world(mib << 20, Settings::default());
        let generation = k.checkpoint_header().generation;
        let mut installed = Vec::new();
        for (i, p) in programs.iter().enumerate() {
            match install_with_stack(&mut k, &p.elf(), &format!("p{i}"), &p.grants(), 4096) {
                Ok(root) => installed.push(root),
                // A program the world has no space for is refused: fine.
                Err(e) => prop_assert!(e.to_string().contains("free"), "{e}"),
            }
        }
        let dirtied: u64 = programs.iter().map(|p| u64::from(p.pages * p.passes)).sum();
        k.run(30_000_000).unwrap();
        k.finish_background().unwrap();
        k.check_invariants().unwrap();
        let area = k.layout().geometry.area_frames;
        if dirtied > 2 * area {
            prop_assert!(k.checkpoint_header().generation > generation, "full areas forced checkpoints");
        }
        // A power cut: the durable image restarts clean and runs on.
        let image = storage.durable_image();
        let bytes = storage.frame_count() * FRAME_BYTES;
        let report = kernel::check::check_image(Arc::new(FaultyStorage::new(&image, None)), bytes).unwrap();
        prop_assert!(report.is_clean(), "{:?}", report.findings);
        let (_storage, mut k) = boot(Arc::new(FaultyStorage::new(&image, None)));
        k.run(5_000_000).unwrap();
        k.finish_background().unwrap();
        k.check_invariants().unwrap();
    }
}
