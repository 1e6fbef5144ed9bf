//! Domains talking through keys, in assembly: CALL, RETURN, FORK, stall
//! queues, single-use resume keys, the returner, keepers, meters.

use gnosis_tests::{Spawn, asm, kernel_with_operator, spawn};
use kernel::builder::Builder;
use kernel::domain::RunState;
use kernel::kernel::Kernel;
use kernel::key::{Key, MiscKind};
use kernel::trap;

/// A server: becomes available, then answers each request with return
/// code order + databyte and the request string with its first byte + 1.
const ECHO_SERVER: &str = r#"
    .include "gnosis.inc"
_start:
    RETURN_WAIT 0, 0, buf, 64          # RETURN to DK(0): become available
serve:
    add  s0, a0, a1                    # rc = order + databyte
    mv   s1, a2                        # length sent
    li   t1, 64
    bleu s1, t1, 1f
    mv   s1, t1                        # what fit in the buffer
1:  la   t0, buf
    lbu  t1, 0(t0)
    addi t1, t1, 1
    sb   t1, 0(t0)
    mv   a0, s0
    EXIT a1, 15, RETURN, 1             # reply through the return key
    ENTRY a2, 1, 8, 0, 0, 0, 15        # next request: string, return key -> k15
    la   a3, buf
    mv   a4, s1
    la   a5, buf
    li   a6, 64
    ecall
    j    serve
    .data
buf: .space 64
"#;

/// A client: CALLs key register 1 with order 5 and "abc", receives the reply
/// into `reply`, stores rc and length at `result`, then stops.
const CLIENT: &str = r#"
    .include "gnosis.inc"
_start:
    KCALL_STR 1, 5, msg, 3, reply, 2
    la   t0, result
    sw   a0, 0(t0)
    sw   a2, 4(t0)
    ebreak
    .data
result: .word 0, 0
reply:  .space 8
msg:    .ascii "abc"
"#;

fn run_until_still(k: &mut Kernel) {
    k.run(50_000_000).unwrap();
}

fn word(k: &mut Kernel, root: kernel::key::Cda, symbol_vaddr: u32) -> u32 {
    let mut b = [0u8; 4];
    k.read_memory(root, symbol_vaddr, &mut b).expect("mapped");
    u32::from_le_bytes(b)
}

/// Where `result` and `reply` land in CLIENT (data page at 0x11000).
const RESULT: u32 = 0x11000;
const REPLY: u32 = 0x11008;

#[test]
fn call_and_return_deliver_code_databyte_string_and_truncate() {
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let server = spawn(&mut k, prime, &asm(ECHO_SERVER), Spawn::default());
    let start = Builder::new(&mut k).start_key(server, 7);
    let client = spawn(&mut k, prime, &asm(CLIENT), Spawn { keys: vec![(1, start)], ..Default::default() });
    run_until_still(&mut k);
    assert_eq!(word(&mut k, client, RESULT), 12, "rc = order 5 + databyte 7");
    assert_eq!(word(&mut k, client, RESULT + 4), 3, "a2 = the length sent");
    let mut reply = [0u8; 3];
    k.read_memory(client, REPLY, &mut reply).unwrap();
    assert_eq!(&reply, b"bb\0", "truncated to the 2-byte receive buffer");
    assert_eq!(k.domain_state(server).unwrap().unwrap().state, RunState::Available);
    let c = k.domain_state(client).unwrap().unwrap();
    assert_eq!((c.state, c.trap.code), (RunState::Waiting, trap::BREAKPOINT));
}

#[test]
fn a_busy_server_stalls_its_callers_until_it_is_available() {
    // The server spins 500k instructions per request, so the second client
    // finds it busy, stalls, and is served afterwards.
    let slow =
        ECHO_SERVER.replace("serve:\n", "serve:\n    li t6, 250000\n2:  addi t6, t6, -1\n    bnez t6, 2b\n");
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let server = spawn(&mut k, prime, &asm(&slow), Spawn::default());
    let start = Builder::new(&mut k).start_key(server, 1);
    let a = spawn(&mut k, prime, &asm(CLIENT), Spawn { keys: vec![(1, start)], ..Default::default() });
    let b = spawn(&mut k, prime, &asm(CLIENT), Spawn { keys: vec![(1, start)], ..Default::default() });
    k.run(250_000).unwrap();
    let stalled = k.domain_state(b).unwrap().unwrap();
    assert_eq!(stalled.state, RunState::Running, "b waits on the stall queue, still running");
    assert_eq!(word(&mut k, b, RESULT), 0, "b has no answer yet");
    run_until_still(&mut k);
    assert_eq!(word(&mut k, a, RESULT), 6);
    assert_eq!(word(&mut k, b, RESULT), 6, "b re-executed its call once the server was available");
}

#[test]
fn fork_leaves_the_invoker_running() {
    let forker = r#"
    .include "gnosis.inc"
_start:
    li   a0, 9
    EXIT a1, 1, FORK
    li   a2, 0
    ecall
    la   t0, done
    li   t1, 1
    sw   t1, 0(t0)
    ebreak
    .data
done: .word 0
"#;
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let server = spawn(&mut k, prime, &asm(ECHO_SERVER), Spawn::default());
    let start = Builder::new(&mut k).start_key(server, 0);
    let f = spawn(&mut k, prime, &asm(forker), Spawn { keys: vec![(1, start)], ..Default::default() });
    run_until_still(&mut k);
    assert_eq!(word(&mut k, f, 0x11000), 1, "the forker carried on after its ecall");
    assert_eq!(
        k.domain_state(server).unwrap().unwrap().state,
        RunState::Available,
        "the server ran and is available again"
    );
}

#[test]
fn resume_keys_work_once() {
    // The server copies the return key (through the returner: CALL it
    // passing k15 as key 0, receive key 0 into k14), replies through k15,
    // then tries k14 again: obsolete, it acts as DK(0) and the client is
    // not resumed a second time.
    let server = r#"
    .include "gnosis.inc"
_start:
    RETURN_WAIT 0, 0, buf, 4
    KCALL_KEY 2, 0, 15, 14             # returner: k14 = copy of k15
    li   a0, 100
    EXIT a1, 15, FORK
    li   a2, 0
    ecall                              # first reply: resumes the client
    li   a0, 200
    EXIT a1, 14, CALL
    li   a2, 0
    ecall                              # the copy is obsolete now
    la   t0, second
    sw   a0, 0(t0)
    ebreak
    .data
buf: .space 4
second: .word 0
"#;
    let client = r#"
    .include "gnosis.inc"
_start:
    KCALL 1, 3
    la   t0, got
    lw   t1, 0(t0)
    addi t1, t1, 1
    sw   t1, 0(t0)
    sw   a0, 4(t0)
    ebreak
    .data
got: .word 0, 0
"#;
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let returner = Key::misc(MiscKind::Returner);
    let s = spawn(&mut k, prime, &asm(server), Spawn { keys: vec![(2, returner)], ..Default::default() });
    let start = Builder::new(&mut k).start_key(s, 0);
    let c = spawn(&mut k, prime, &asm(client), Spawn { keys: vec![(1, start)], ..Default::default() });
    run_until_still(&mut k);
    assert_eq!(word(&mut k, c, 0x11000), 1, "resumed exactly once");
    assert_eq!(word(&mut k, c, 0x11004), 100);
    assert_eq!(word(&mut k, s, 0x11004), kernel::invoke::RC_DATA, "the used resume key's copy is DK(0)");
}

#[test]
fn a_server_can_reply_through_the_returner() {
    let server = r#"
    .include "gnosis.inc"
_start:
    RETURN_WAIT 0, 0, buf, 4
loop:
    li   a0, 77
    EXIT a1, 2, RETURN, 0, 8, 0, 0, 0, 15   # RETURN to the returner, key 3 = the caller's return key
    ENTRY a2, 1, 8, 0, 0, 0, 15
    la   a5, buf
    li   a6, 4
    ecall
    j    loop
    .data
buf: .space 4
"#;
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let s = spawn(
        &mut k,
        prime,
        &asm(server),
        Spawn { keys: vec![(2, Key::misc(MiscKind::Returner))], ..Default::default() },
    );
    let start = Builder::new(&mut k).start_key(s, 0);
    let c = spawn(&mut k, prime, &asm(CLIENT), Spawn { keys: vec![(1, start)], ..Default::default() });
    run_until_still(&mut k);
    assert_eq!(word(&mut k, c, RESULT), 77);
    assert_eq!(k.domain_state(s).unwrap().unwrap().state, RunState::Available);
}

#[test]
fn a_keeper_fixes_a_trap_and_resumes_the_domain() {
    // The worker hits an ebreak; its keeper (order code = trap code 2, key 2
    // = domain key, key 3 = fault key) advances its pc by 4 with the domain
    // key and resumes it with the fault key.
    let worker = r#"
_start:
    li   a0, 1
    ebreak
    addi a0, a0, 1
    la   t0, out
    sw   a0, 0(t0)
1:  j    1b
    .data
out: .word 0
"#;
    let keeper = r#"
    .include "gnosis.inc"
_start:
    li   a0, 0
    EXIT a1, 0, RETURN
    ENTRY a2, 1, 0xC, 0, 0, 13, 14       # key 2 -> k13 (domain), key 3 -> k14 (fault key)
    la   a5, info
    li   a6, 12
    ecall
    la   t0, seen
    sw   a0, 0(t0)                       # the trap code
    KCALL_STR 13, 68, info, 0, control, 16   # get control: pc, code, detail, state
    la   t0, control
    lw   t1, 0(t0)
    addi t1, t1, 4
    sw   t1, 0(t0)
    sw   zero, 4(t0)
    KCALL_STR 13, 69, control, 12, info, 0   # put control: pc + 4, no trap
    KCALL 14, 0                          # resume it
    ebreak
    .data
info: .space 12
control: .space 16
seen: .word 0
"#;
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let kp = spawn(&mut k, prime, &asm(keeper), Spawn::default());
    let keeper_key = Builder::new(&mut k).start_key(kp, 0);
    let w = spawn(&mut k, prime, &asm(worker), Spawn { keeper: keeper_key, ..Default::default() });
    k.run(2_000_000).unwrap();
    assert_eq!(word(&mut k, kp, 0x1101C), trap::BREAKPOINT, "the keeper was told why");
    assert_eq!(word(&mut k, w, 0x11000), 2, "the worker went on past its ebreak");
    assert_eq!(k.domain_state(w).unwrap().unwrap().trap.code, 0);
}

#[test]
fn a_domain_without_a_keeper_stays_visibly_faulted() {
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let w = spawn(&mut k, prime, &asm("_start: lw a0, 2(zero)\n"), Spawn::default());
    k.run(1000).unwrap();
    let d = k.domain_state(w).unwrap().unwrap();
    assert_eq!((d.state, d.trap.code, d.trap.detail), (RunState::Waiting, trap::MISALIGNED_LOAD, 2));
}

#[test]
fn a_looping_domain_is_stopped_by_its_budget() {
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let w = spawn(&mut k, prime, &asm("_start: addi a0, a0, 1\n j _start\n"), Spawn::default());
    let ran = k.run(1_000_001).unwrap();
    assert_eq!(ran, 1_000_001);
    let d = k.domain_state(w).unwrap().unwrap();
    assert_eq!(d.state, RunState::Running);
    assert_eq!(d.hart.x(10), 500_001, "exactly the instructions asked for ran");
}

#[test]
fn meter_exhaustion_calls_the_meter_keeper_which_refills_it() {
    // The meter keeper gets a node key to the exhausted meter (key 2) and a
    // fault key (key 3); it puts a fresh DK(5000) in the meter's CPU slot
    // (slot 3) and resumes the domain.
    let meter_keeper = r#"
    .include "gnosis.inc"
_start:
    li   a0, 0
    EXIT a1, 0, RETURN
    ENTRY a2, 0, 0xC, 0, 0, 13, 14
    ecall
refill:
    la   t0, refills
    lw   t1, 0(t0)
    addi t1, t1, 1
    sw   t1, 0(t0)
    li   a0, 0                                  # data-key creator: DK(5000) -> k12
    EXIT a1, 1, CALL, 1
    ENTRY a2, 0, 1, 12
    la   a3, amount
    li   a4, 8
    ecall
    KCALL_KEY 13, NODE_SWAP + 3, 12, 0          # meter slot 3 := DK(5000)
    li   a0, 0
    EXIT a1, 14, RETURN
    ENTRY a2, 0, 0xC, 0, 0, 13, 14
    ecall
    j    refill
    .data
amount: .word 5000, 0
refills: .word 0
"#;
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let mk = spawn(
        &mut k,
        prime,
        &asm(meter_keeper),
        Spawn { keys: vec![(1, Key::misc(MiscKind::DataKeyCreator))], ..Default::default() },
    );
    let keeper_key = Builder::new(&mut k).start_key(mk, 0);
    let small = Builder::new(&mut k).meter(prime, 5000, keeper_key).unwrap();
    let w = spawn(&mut k, small, &asm("_start: addi a0, a0, 1\n j _start\n"), Spawn::default());
    k.run(60_000).unwrap();
    let refills = word(&mut k, mk, 0x11008);
    assert!(refills >= 9, "the keeper refilled the meter each time it ran out ({refills})");
    let d = k.domain_state(w).unwrap().unwrap();
    assert!(d.instructions >= 45_000, "the metered domain kept running: {}", d.instructions);
}

#[test]
fn two_cpu_bound_domains_share_the_processor_fairly() {
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let spin = asm("_start: addi a0, a0, 1\n j _start\n");
    let a = spawn(&mut k, prime, &spin, Spawn::default());
    let b = spawn(&mut k, prime, &spin, Spawn::default());
    let slices = 40;
    k.run(slices * kernel::kernel::TIME_SLICE).unwrap();
    let ia = k.domain_state(a).unwrap().unwrap().instructions;
    let ib = k.domain_state(b).unwrap().unwrap().instructions;
    let diff = ia.abs_diff(ib);
    println!("fairness: {ia} vs {ib} instructions over {slices} slices");
    assert!(diff <= kernel::kernel::TIME_SLICE, "each got its share within one time slice: {ia} vs {ib}");
}

#[test]
fn a_domain_calling_in_a_loop_or_a_ping_pong_pair_shares_the_processor() {
    // A domain calling a kernel object in a loop, and a client and a server
    // calling each other, run next after each reply, but only until they
    // have had a time slice between them: a CPU-bound domain keeps its share.
    let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
    let caller = asm(".include \"gnosis.inc\"\n_start: KCALL 1, 0\n j _start\n");
    spawn(&mut k, prime, &caller, Spawn { keys: vec![(1, Key::data(7))], ..Default::default() });
    let server = spawn(&mut k, prime, &asm(ECHO_SERVER), Spawn::default());
    let start = Builder::new(&mut k).start_key(server, 0);
    let client = asm(".include \"gnosis.inc\"\n_start: KCALL 1, 3\n j _start\n");
    spawn(&mut k, prime, &client, Spawn { keys: vec![(1, start)], ..Default::default() });
    let spin = spawn(&mut k, prime, &asm("_start: addi a0, a0, 1\n j _start\n"), Spawn::default());
    let total = 40 * kernel::kernel::TIME_SLICE;
    k.run(total).unwrap();
    let spun = k.domain_state(spin).unwrap().unwrap().instructions;
    println!("the spinner ran {spun} of {total} instructions");
    assert!(spun >= total / 4, "three parties (the caller, the pair, the spinner) shared: {spun} of {total}");
}
