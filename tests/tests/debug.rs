//! The kernel's debugger hold (`kernel::debug`), as the GDB stub uses it:
//! breakpoints stop before the instruction, a step runs exactly one, traps
//! are held back from the keeper until the debugger lets them go, a held
//! domain stays in the checkpoint, and detaching leaves the domain to run
//! on exactly as an undebugged one.

use std::sync::Arc;

use disk_image::storage::FaultyStorage;
use gnosis_tests::{Spawn, assemble, kernel_with_operator, spawn};
use kernel::debug::DebugStop;
use kernel::kernel::Kernel;
use kernel::key::Cda;

/// Counts a0 up to 50 in memory (`total`), then traps on `ebreak`.
const COUNTER: &str = "
    .text
_start:
    li   a0, 0
again:
    addi a0, a0, 1
    sw   a0, total, t0
    li   t1, 50
    bne  a0, t1, again
done:
    ebreak
    .data
total: .word 0
";

struct Setup {
    storage: Arc<FaultyStorage>,
    k: Kernel,
    root: Cda,
    again: u32,
    done: u32,
    total: u32,
}

fn setup() -> Setup {
    let (storage, mut k, _, prime) = kernel_with_operator(4 << 20);
    let program = assemble(COUNTER);
    let root = spawn(&mut k, prime, &program.to_elf(), Spawn::default());
    let symbol = |name: &str| program.symbols[name];
    Setup { storage, k, root, again: symbol("again"), done: symbol("done"), total: symbol("total") }
}

fn word(k: &mut Kernel, root: Cda, at: u32) -> u32 {
    let mut buf = [0u8; 4];
    k.read_memory(root, at, &mut buf).expect("mapped");
    u32::from_le_bytes(buf)
}

fn run_until_stop(k: &mut Kernel) -> Option<DebugStop> {
    for _ in 0..10_000 {
        if let Some(stop) = k.debug_take_stop() {
            return Some(stop);
        }
        k.run(1_000).expect("run");
    }
    None
}

#[test]
fn a_breakpoint_stops_before_its_instruction_every_time_round_the_loop() {
    let Setup { mut k, root, again, total, .. } = setup();
    k.debug_attach(root).unwrap();
    assert_eq!(k.debug_take_stop(), Some(DebugStop::Halted));
    let start = k.registers(root).unwrap().unwrap();
    k.run(10_000).unwrap();
    assert_eq!(k.registers(root).unwrap().unwrap(), start);
    assert_eq!(k.domain(root).map(|d| d.instructions), Some(0), "a held domain does not run");
    assert!(k.debug_breakpoint(again, true));
    for round in 1..=3u32 {
        k.debug_resume(false, true).unwrap();
        assert_eq!(run_until_stop(&mut k), Some(DebugStop::Breakpoint));
        let regs = k.registers(root).unwrap().unwrap();
        assert_eq!(regs.pc, again, "stopped at the breakpoint");
        assert_eq!(regs.x[10], round - 1, "before the addi of round {round}");
        assert_eq!(word(&mut k, root, total), round - 1);
    }
}

#[test]
fn a_step_runs_exactly_one_instruction() {
    let Setup { mut k, root, again, .. } = setup();
    k.debug_attach(root).unwrap();
    k.debug_breakpoint(again, true);
    k.debug_resume(false, true).unwrap();
    assert_eq!(run_until_stop(&mut k), Some(DebugStop::Breakpoint));
    let before = k.domain(root).map(|d| d.instructions).unwrap();
    k.debug_resume(true, true).unwrap();
    assert_eq!(run_until_stop(&mut k), Some(DebugStop::Step));
    let regs = k.registers(root).unwrap().unwrap();
    assert_eq!(regs.pc, again + 4);
    assert_eq!(regs.x[10], 1, "the addi ran");
    assert_eq!(k.domain(root).map(|d| d.instructions).unwrap(), before + 1);
}

#[test]
fn a_trap_is_held_back_from_the_keeper_until_the_debugger_delivers_it() {
    let Setup { mut k, root, done, total, .. } = setup();
    k.debug_attach(root).unwrap();
    k.debug_resume(false, true).unwrap();
    let stop = run_until_stop(&mut k);
    assert_eq!(stop, Some(DebugStop::Trap(kernel::cpu::Trap::Breakpoint)));
    assert_eq!(k.registers(root).unwrap().unwrap().pc, done);
    assert_eq!(word(&mut k, root, total), 50);
    assert_eq!(k.domain(root).map(|d| d.trap.code), Some(0), "not yet delivered");
    k.debug_resume(false, true).unwrap();
    assert_ne!(k.domain(root).map(|d| d.trap.code), Some(0), "delivered when let go");
}

#[test]
fn a_dropped_trap_reruns_the_instruction_at_the_new_pc() {
    let Setup { mut k, root, again, done, total, .. } = setup();
    k.debug_attach(root).unwrap();
    k.debug_resume(false, true).unwrap();
    assert!(matches!(run_until_stop(&mut k), Some(DebugStop::Trap(_))));
    let mut regs = k.registers(root).unwrap().unwrap();
    regs.pc = again;
    regs.x[10] = 40;
    assert!(k.set_registers(root, &regs).unwrap());
    assert!(k.write_memory(root, total, &0u32.to_le_bytes()).unwrap());
    k.debug_breakpoint(done, true);
    k.debug_resume(false, false).unwrap();
    assert_eq!(run_until_stop(&mut k), Some(DebugStop::Breakpoint));
    assert_eq!(k.registers(root).unwrap().unwrap().pc, done);
    assert_eq!(word(&mut k, root, total), 50, "counted on from 41 to 50");
}

#[test]
fn detaching_lets_the_domain_run_on_as_if_never_debugged() {
    let Setup { mut k, root, again, total, .. } = setup();
    k.debug_attach(root).unwrap();
    k.debug_breakpoint(again, true);
    k.debug_resume(false, true).unwrap();
    assert_eq!(run_until_stop(&mut k), Some(DebugStop::Breakpoint));
    k.debug_detach().unwrap();
    k.run(100_000).unwrap();
    assert_eq!(word(&mut k, root, total), 50);
    assert_ne!(k.domain(root).map(|d| d.trap.code), Some(0), "ran on to its ebreak");
}

#[test]
fn a_held_domain_is_in_the_checkpoint_and_runs_after_restart() {
    let Setup { storage, mut k, root, again, total, .. } = setup();
    k.debug_attach(root).unwrap();
    k.debug_breakpoint(again, true);
    k.debug_resume(false, true).unwrap();
    assert_eq!(run_until_stop(&mut k), Some(DebugStop::Breakpoint));
    k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    drop(k);
    let (_, mut restarted) = gnosis_tests::boot(Arc::new(FaultyStorage::new(&storage.durable_image(), None)));
    assert!(restarted.ready().any(|r| r == root), "the held domain is in the process list");
    restarted.run(100_000).unwrap();
    assert_eq!(word(&mut restarted, root, total), 50);
}
