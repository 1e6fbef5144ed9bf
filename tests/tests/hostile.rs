//! A hostile user's programs in the primordial world: nothing a program
//! does with the keys it was given can wedge a system server, silence
//! another program, reach the system's own domains, or fill the working
//! area so that the kernel cannot go on. In process, with a simulated
//! clock; crashes restart from what was durable.

use std::sync::Arc;

use disk_image::FRAME_BYTES;
use disk_image::storage::{FaultyStorage, Storage};
use domains::world::big_bang::Settings;
use domains::world::install::{Grant, install};
use gnosis_tests::{asm, boot, run_world, world};
use kernel::kernel::Kernel;
use kernel::key::Cda;

fn grants(names: &[&str]) -> Vec<Grant> {
    names.iter().map(|g| g.parse().unwrap()).collect()
}

/// Runs the world for `bursts` bursts of activity; everything printed.
fn run_for(k: &mut Kernel, bursts: usize) -> String {
    (0..bursts).map(|_| run_world(k, 500_000)).collect()
}

/// Runs until the console has printed `pattern` (returns everything printed).
fn run_until(k: &mut Kernel, pattern: &str) -> String {
    let mut out = String::new();
    for _ in 0..400 {
        out.push_str(&run_world(k, 500_000));
        if out.contains(pattern) {
            return out;
        }
    }
    panic!("the console never printed {pattern:?}; it printed:\n{out}");
}

fn command(k: &mut Kernel, line: &str, expect: &str) -> String {
    k.console().feed(format!("{line}\n").as_bytes());
    run_until(k, expect)
}

fn crash(storage: &FaultyStorage) -> (Arc<FaultyStorage>, Kernel) {
    boot(Arc::new(FaultyStorage::new(&storage.durable_image(), None)))
}

fn clean(storage: &FaultyStorage) {
    let image = Arc::new(FaultyStorage::new(&storage.durable_image(), None));
    let bytes = image.frame_count() * FRAME_BYTES;
    let report = kernel::check::check_image(image, bytes).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
}

fn word(k: &mut Kernel, root: Cda, vaddr: u32) -> u32 {
    let mut b = [0u8; 4];
    k.read_memory(root, vaddr, &mut b).expect("mapped");
    u32::from_le_bytes(b)
}

/// FORKs each of its first three key registers passing that very key as
/// key 3, so a server replying through key 3 would reply through a start
/// key to itself (and, busy, stall on its own queue for good).
const WEDGE: &str = r#"
    .include "gnosis.inc"
_start:
    li   a0, CONSOLE_WRITE
    EXIT a1, 1, FORK, 1, 8, 0, 0, 0, 1
    li   a2, 0
    la   a3, text
    li   a4, 6
    ecall
    li   a0, 5                         # kv: count
    EXIT a1, 2, FORK, 0, 8, 0, 0, 0, 2
    li   a2, 0
    ecall
    li   a0, 21                        # bank: pages available
    EXIT a1, 3, FORK, 0, 8, 0, 0, 0, 3
    li   a2, 0
    ecall
    ebreak
    .data
text: .ascii "wedge\n"
"#;

#[test]
fn a_program_passing_a_server_its_own_start_key_as_key_3_wedges_nothing() {
    let (_storage, mut k) = world(32 << 20, Settings::default());
    run_until(&mut k, "type help");
    install(&mut k, &asm(WEDGE), "wedge", &grants(&["console", "start:kv", "bank"])).unwrap();
    let out = run_until(&mut k, "wedge\n");
    assert!(out.contains("wedge\n"));
    // The console, the store and the bank all serve on.
    let later = run_until(&mut k, "counter: ");
    assert!(later.contains("counter: "), "the console still prints for others");
    command(&mut k, "set fruit plum", "ok\n");
    assert!(command(&mut k, "get fruit", "fruit =").contains("fruit = plum"));
    let elf = asm("_start: ebreak\n");
    install(&mut k, &elf, "after", &grants(&["bank"])).expect("the bank still sells");
    for name in ["console", "kv", "bank"] {
        let d = kernel::inspect::domains(k.store()).into_iter().find(|d| d.name == name).unwrap();
        assert_ne!(d.trap.0, kernel::trap::BREAKPOINT, "{name} did not fault");
    }
    k.check_invariants().unwrap();
}

/// Mutes its own console channel (order 2, string 1), prints `quiet`,
/// unmutes, prints `loud`, and tries to mute the channel named in the
/// string as the control facet would (which a channel key cannot).
const MUTER: &str = r#"
    .include "gnosis.inc"
_start:
    KCALL_STR 1, 2, on, 4
    la   s0, quiet
    li   s1, 6
    KCALL_SEND 1, CONSOLE_WRITE, s0, s1
    KCALL_STR 1, 2, off, 4
    la   s0, loud
    li   s1, 5
    KCALL_SEND 1, CONSOLE_WRITE, s0, s1
    KCALL_STR 1, 2, other, 8             # "mute channel 1": only its own is muted
    ebreak
    .data
on:    .word 1
off:   .word 0
other: .word 1, 1
quiet: .ascii "quiet\n"
loud:  .ascii "loud\n"
"#;

#[test]
fn a_program_can_mute_only_its_own_console_channel() {
    let (_storage, mut k) = world(32 << 20, Settings::default());
    run_until(&mut k, "type help");
    let hello = asm(r#"
        .include "gnosis.inc"
    _start:
        la   s0, text
        li   s1, 6
        KCALL_SEND 1, CONSOLE_WRITE, s0, s1
        ebreak
        .data
    text: .ascii "hello\n"
    "#);
    install(&mut k, &asm(MUTER), "muter", &grants(&["console"])).unwrap();
    let out = run_until(&mut k, "loud\n");
    assert!(!out.contains("quiet"), "its own channel was muted: {out}");
    install(&mut k, &hello, "hello", &grants(&["console"])).unwrap();
    let out = run_until(&mut k, "hello\n");
    assert!(out.contains("hello\n"), "another program on its own channel still prints");
    let out = run_until(&mut k, "counter: ");
    assert!(out.contains("counter: "), "the counter was not muted by a program");
    // The shell's control facet still mutes the counter.
    command(&mut k, "counter off", "ok\n");
    run_for(&mut k, 3);
    assert!(!run_for(&mut k, 6).contains("counter: "), "counter off muted the counter");
    command(&mut k, "counter on", "ok\n");
    run_until(&mut k, "counter: ");
}

#[test]
fn grants_never_hand_out_the_system_s_own_domains() {
    let (_storage, mut k) = world(32 << 20, Settings::default());
    let elf = asm("_start: ebreak\n");
    for system in ["operator", "bank", "console", "ckptdvr", "migrator", "shell"] {
        let grant: Grant = format!("start:{system}").parse().unwrap();
        let e = install(&mut k, &elf, "greedy", &[grant]).unwrap_err().to_string();
        assert!(e.contains("system's own domains"), "start:{system}: {e}");
    }
    install(&mut k, &elf, "svc", &grants(&["bank"])).unwrap();
    install(&mut k, &elf, "client", &grants(&["start:kv", "start:svc"])).expect("services may be granted");
    for bad in ["a\u{1b}[2J", "tab\there", "", "twelve-chars", "sp ace", "nul\0"] {
        let e = install(&mut k, &elf, bad, &[]).unwrap_err().to_string();
        assert!(e.contains("printable ASCII"), "{bad:?}: {e}");
    }
}

/// A program with `mib` MiB of initialised data (page i's first word is
/// i + 1), which sums those words into s0 and stops.
fn big_data_program(mib: u32) -> Vec<u8> {
    let pages = (mib << 20) / 4096;
    let data: String = (1..=pages).map(|i| format!("    .word {i}\n    .space 4092\n")).collect();
    asm(&format!(
        r#"
    _start:
        la   t0, big
        li   t1, {bytes}
        add  t1, t0, t1
        li   s0, 0
    1:  lw   t2, 0(t0)
        add  s0, s0, t2
        li   t3, 4096
        add  t0, t0, t3
        bltu t0, t1, 1b
        ebreak
        .data
        .balign 4096
    big:
{data}
    "#,
        bytes = mib << 20,
    ))
}

#[test]
fn an_install_larger_than_the_checkpoint_area_is_loaded_across_checkpoints() {
    // A 32 MiB world has 4 MiB checkpoint areas; the program has 6 MiB of data.
    let (storage, mut k) = world(32 << 20, Settings::default());
    assert!(k.layout().geometry.area_frames * FRAME_BYTES < 6 << 20);
    let before = k.checkpoint_header().generation;
    let root = install(&mut k, &big_data_program(6), "big", &[]).unwrap();
    assert!(k.checkpoint_header().generation > before, "checkpoints made room on the way");
    k.run(50_000_000).unwrap();
    let d = k.domain_state(root).unwrap().unwrap();
    assert_eq!(d.trap.code, kernel::trap::BREAKPOINT, "it ran to its end: {:?}", d.trap);
    let pages = (6u32 << 20) / 4096;
    assert_eq!(d.hart.x(8), (1..=pages).sum::<u32>(), "every page of its data was loaded");
    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    clean(&storage);
}

#[test]
fn an_install_the_world_has_no_space_for_is_refused_before_anything_is_bought() {
    let (_storage, mut k) = world(16 << 20, Settings::default());
    let e = install(&mut k, &big_data_program(20), "huge", &[]).unwrap_err().to_string();
    assert!(e.contains("needs 5185 pages") && e.contains("free"), "{e}");
    let free_after = domains::world::install::install(&mut k, &asm("_start: ebreak\n"), "small", &[]);
    assert!(free_after.is_ok(), "nothing was left bought: {free_after:?}");
}

/// Touches one byte in each page of `mib` MiB of .bss, forever, counting
/// passes in `passes`.
fn filler(mib: u32) -> Vec<u8> {
    asm(&format!(
        r#"
    _start:
        li   s0, 0
    1:  la   t0, big
        li   t1, {bytes}
        add  t1, t0, t1
    2:  lbu  t2, 0(t0)
        addi t2, t2, 1
        sb   t2, 0(t0)
        li   t3, 4096
        add  t0, t0, t3
        bltu t0, t1, 2b
        addi s0, s0, 1
        la   t0, passes
        sw   s0, 0(t0)
        j    1b
        .data
    passes: .word 0
        .bss
    big: .space {bytes}
    "#,
        bytes = mib << 20
    ))
}

/// Where `passes` lands in the filler (its data page).
const PASSES: u32 = 0x11000;

#[test]
fn a_working_set_many_times_the_checkpoint_area_runs_on_and_restarts() {
    // 16 MiB world: 2 MiB checkpoint areas; the filler dirties 6 MiB a pass.
    let (storage, mut k) = world(16 << 20, Settings::default());
    run_until(&mut k, "type help");
    let root = install(&mut k, &filler(6), "filler", &grants(&[])).unwrap();
    let generation = k.checkpoint_header().generation;
    let out = run_for(&mut k, 60);
    let passes = word(&mut k, root, PASSES);
    assert!(passes >= 3, "the filler went round {passes} times");
    assert!(k.checkpoint_header().generation >= generation + 6, "full areas forced checkpoints");
    assert!(out.contains("counter: "), "the rest of the world ran meanwhile:\n{out}");
    command(&mut k, "set key value", "ok\n");
    k.finish_background().unwrap();
    k.check_invariants().unwrap();
    clean(&storage);

    // A power cut now: the world restarts and the filler goes on.
    let (storage, mut k) = crash(&storage);
    let restarted = word(&mut k, root, PASSES);
    run_for(&mut k, 30);
    assert!(word(&mut k, root, PASSES) > restarted, "it went on after the restart");
    assert!(command(&mut k, "get key", "key =").contains("key = value"));
    clean(&storage);
}

#[test]
fn an_image_an_earlier_version_left_panicking_restarts_and_runs() {
    // Made by the previous kernel from `fixtures/area-full-panic.c` (6 MiB
    // of .bss touched page by page in a 16 MiB world): every restart of it
    // panicked with "KERNEL001 working area full where room was reserved".
    let gz = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/area-full-panic.img.gz")).unwrap();
    let mut image = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut image).unwrap();
    let (storage, mut k) = boot(Arc::new(FaultyStorage::new(&image, None)));
    let generation = k.checkpoint_header().generation;
    let out = run_for(&mut k, 40);
    assert!(k.checkpoint_header().generation > generation + 3, "checkpoints commit");
    assert!(out.contains("counter: "), "{out}");
    k.finish_background().unwrap();
    k.check_invariants().unwrap();
    clean(&storage);
}

/// Stores the alleged type of each of its key registers 1..=5 at `types`,
/// then fetches slot 0 of key register 5 (its own address space, if it was
/// granted `space`) into k6 and stores that key's alleged type too.
const TYPES: &str = r#"
    .include "gnosis.inc"
_start:
    li   s0, 1
    la   s1, types
1:  li   a0, KT
    mv   a1, s0                        # CALL key register s0, nothing passed
    li   a2, 0
    ecall
    sw   a0, 0(s1)
    addi s1, s1, 4
    addi s0, s0, 1
    li   t0, 6
    blt  s0, t0, 1b
    KCALL_GET 5, NODE_FETCH + 0, 6
    KCALL 6, KT
    sw   a0, 0(s1)
    ebreak
    .data
types: .space 24
"#;

#[test]
fn grants_give_what_they_name_and_a_bwait_to_one_program_only() {
    let (_storage, mut k) = world(32 << 20, Settings::default());
    let names = ["dkc", "journalize", "meter", "checkpoint", "space"];
    let root = install(&mut k, &asm(TYPES), "types", &grants(&names)).unwrap();
    k.run(5_000_000).unwrap();
    let got: Vec<u32> = (0..6).map(|i| word(&mut k, root, 0x11000 + 4 * i)).collect();
    // KT of the data-key creator, journalize, a meter, the checkpoint key,
    // a node key, and the node key fetched from the program's own space.
    assert_eq!(got, [0x309, 0x1C09, 6, 0x1209, 3, 3], "{got:x?}");
    let elf = asm("_start: ebreak\n");
    install(&mut k, &elf, "sleeper", &grants(&["bwait:5"])).unwrap();
    let e = install(&mut k, &elf, "sleeper2", &grants(&["bwait:5"])).unwrap_err().to_string();
    assert!(e.contains("held by the domain sleeper"), "{e}");
    install(&mut k, &elf, "sleeper3", &grants(&["bwait:6"])).expect("another BWAIT is free");
}
