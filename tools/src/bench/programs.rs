//! Programs the benchmarks run, assembled with the project's assembler.

use kernel::builder::{Builder, DomainSpec};
use kernel::domain::RunState;
use kernel::kernel::Kernel;
use kernel::key::{Cda, Key};

/// The compute loop of `domains::compute_loop` as a Linux executable
/// (exit status = the checksum), for `qemu-riscv32`: the same 12-instruction
/// loop body over a 4 KiB buffer.
pub fn compute_loop_linux(iterations: u32) -> anyhow::Result<Vec<u8>> {
    let source = format!(
        r#"
_start:
    la   s0, buffer
    li   s1, 0
    li   s2, {iterations}
    li   a0, 0
loop:
    andi t0, s1, 1023
    slli t0, t0, 2
    add  t1, s0, t0
    lw   t2, 0(t1)
    add  t2, t2, s1
    xor  a0, a0, t2
    slli t3, a0, 3
    srli t4, a0, 29
    or   a0, t3, t4
    sw   t2, 0(t1)
    addi s1, s1, 1
    blt  s1, s2, loop
    andi a0, a0, 127
    li   a7, 93
    ecall
    .bss
buffer: .space 4096
"#
    );
    assemble(&source)
}

/// A server that answers every call at once, and a client that calls it
/// forever (CALL through a start key, RETURN through the resume key: one
/// round trip each, two invocations).
const IPC_SERVER: &str = r#"
    .include "gnosis.inc"
_start:
    li   s0, 0
1:  REPLY_WAIT s0, buffer, 0
    j    1b
    .bss
buffer: .space 16
"#;

const IPC_CLIENT: &str = r#"
    .include "gnosis.inc"
_start:
1:  KCALL 1, 0
    j    1b
"#;

fn assemble(source: &str) -> anyhow::Result<Vec<u8>> {
    let resolver = assembler::FsResolver::with_builtins(Vec::new(), domains::INCLUDES);
    let program = assembler::assemble(
        assembler::Source { name: "bench.s", text: source },
        &resolver,
        &assembler::Options::default(),
    )?;
    Ok(program.to_elf())
}

/// Adds an IPC server and a client that calls it forever; returns the
/// client's root.
pub fn ipc_pair(k: &mut Kernel, meter: Key) -> anyhow::Result<Cda> {
    let server = spawn(k, meter, &assemble(IPC_SERVER)?, RunState::Running, vec![])?;
    let gate = Builder::new(k).start_key(server, 0);
    spawn(k, meter, &assemble(IPC_CLIENT)?, RunState::Running, vec![(1, gate)])
}

/// Runs `k` until `rounds` more round trips are done (each is two
/// invocations); returns the time they took.
pub fn round_trips(k: &mut Kernel, rounds: u64) -> anyhow::Result<std::time::Duration> {
    let target = k.stats().invocations + 2 * rounds;
    let started = std::time::Instant::now();
    while k.stats().invocations < target {
        anyhow::ensure!(k.run(1_000_000)? > 0, "the IPC pair stopped");
    }
    Ok(started.elapsed())
}

fn spawn(
    k: &mut Kernel,
    meter: Key,
    elf: &[u8],
    state: RunState,
    keys: Vec<(usize, Key)>,
) -> anyhow::Result<Cda> {
    let program = kernel::elf::parse(elf)?;
    let mut b = Builder::new(k);
    let space = b.address_space()?;
    let (pc, sp) = kernel::elf::load_with_stack(&mut b, space, &program, 4096)?;
    let spec = DomainSpec { memory: space, meter, pc, sp, keys, state, ..Default::default() };
    Ok(b.domain(&spec)?)
}
