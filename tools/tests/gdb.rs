//! GDB attached to a domain of a running world: `gdb-multiarch` in batch
//! mode against `gnosis run --gdb`, with breakpoints, continue, registers,
//! memory reads and writes, and single steps, each value checked.

mod common;

use std::process::Command;

use common::*;

/// Counts a0 up forever, storing it in `total` each round.
const PROGRAM: &str = "
    .text
_start:
    li   a0, 0
again:
    addi a0, a0, 1
    sw   a0, total, t0
    j    again
    .data
total: .word 0
";

#[test]
fn gdb_breaks_reads_writes_and_steps_a_domain_of_a_running_world() {
    let gdb = "gdb-multiarch";
    if !installed(gdb, "GNOSIS_REQUIRE_TOOLS") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let resolver = assembler::FsResolver::with_search_dirs(vec![]);
    let source = assembler::Source { name: "count.s", text: PROGRAM };
    let program = assembler::assemble(source, &resolver, &assembler::Options::default()).unwrap();
    let elf = dir.path().join("count.elf");
    std::fs::write(&elf, program.to_elf()).unwrap();
    let o = gnosis(&["install", image.to_str().unwrap(), elf.to_str().unwrap(), "--name", "count"]);
    assert!(o.status.success(), "{}", text(&o));

    let mut w = Instance::run(&["run", image.to_str().unwrap(), "--gdb", "127.0.0.1:0", "--domain", "count"]);
    let line = w.expect("GDB stub for domain count on ");
    let addr = line.split(" on ").nth(1).unwrap().split(';').next().unwrap().trim().to_string();
    let (again, total) = (program.symbols["again"], program.symbols["total"]);
    let script = [
        "set architecture riscv:rv32".to_string(),
        format!("target remote {addr}"),
        format!("break *{again:#x}"),
        "continue".into(),
        "printf \"A0=%d\\n\", $a0".into(),
        "continue".into(),
        "printf \"A0=%d\\n\", $a0".into(),
        format!("printf \"TOTAL=%d\\n\", *(int*){total:#x}"),
        "stepi".into(),
        "printf \"PC=%#x A0=%d\\n\", $pc, $a0".into(),
        format!("set var *(int*){total:#x} = 1234"),
        format!("printf \"TOTAL=%d\\n\", *(int*){total:#x}"),
        "set var $a0 = 99".into(),
        "continue".into(),
        "printf \"A0=%d\\n\", $a0".into(),
        format!("printf \"TOTAL=%d\\n\", *(int*){total:#x}"),
        "delete".into(),
        "detach".into(),
    ];
    let mut args = vec!["-nx".to_string(), "-batch".to_string()];
    for command in script {
        args.push("-ex".into());
        args.push(command);
    }
    let out = Command::new(gdb).args(&args).output().expect("run gdb");
    let said = text(&out);
    let values: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("A0=") || l.starts_with("TOTAL=") || l.starts_with("PC="))
        .collect();
    let expected = [
        "A0=0".to_string(),
        "A0=1".into(),
        "TOTAL=1".into(),
        format!("PC={:#x} A0=2", again + 4),
        "TOTAL=1234".into(),
        "A0=99".into(),
        "TOTAL=99".into(),
    ];
    assert_eq!(values, expected, "gdb said:\n{said}");

    // Detached, the domain runs on: its total keeps growing.
    let status = text(&gnosis(&["ps", image.to_str().unwrap()]));
    assert!(status.contains("count"), "{status}");
    w.kill9();
}

/// Reads `total` into a1 each round, after the store.
const READER: &str = "
    .text
_start:
    li   a0, 0
again:
    addi a0, a0, 1
    sw   a0, total, t0
    lw   a1, total
    j    again
    .data
total: .word 0
";

#[test]
fn gdb_watch_rwatch_and_awatch_stop_at_the_accesses_without_setup() {
    let gdb = "gdb-multiarch";
    if !installed(gdb, "GNOSIS_REQUIRE_TOOLS") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let resolver = assembler::FsResolver::with_search_dirs(vec![]);
    let source = assembler::Source { name: "reader.s", text: READER };
    let program = assembler::assemble(source, &resolver, &assembler::Options::default()).unwrap();
    let elf = dir.path().join("reader.elf");
    std::fs::write(&elf, program.to_elf()).unwrap();
    let o = gnosis(&["install", image.to_str().unwrap(), elf.to_str().unwrap(), "--name", "reader"]);
    assert!(o.status.success(), "{}", text(&o));

    let mut w =
        Instance::run(&["run", image.to_str().unwrap(), "--gdb", "127.0.0.1:0", "--domain", "reader"]);
    let line = w.expect("GDB stub for domain reader on ");
    let addr = line.split(" on ").nth(1).unwrap().split(';').next().unwrap().trim().to_string();
    let total = program.symbols["total"];
    let script = [
        "set architecture riscv:rv32".to_string(),
        format!("target remote {addr}"),
        format!("watch *(int*){total:#x}"),
        "continue".into(),
        "printf \"WRITE PC=%#x A0=%d\\n\", $pc, $a0".into(),
        "continue".into(),
        "printf \"WRITE PC=%#x A0=%d\\n\", $pc, $a0".into(),
        "delete".into(),
        format!("rwatch *(int*){total:#x}"),
        "continue".into(),
        "printf \"READ PC=%#x A1=%d\\n\", $pc, $a1".into(),
        "delete".into(),
        format!("awatch *(int*){total:#x}"),
        "continue".into(),
        "printf \"ACCESS PC=%#x\\n\", $pc".into(),
        "delete".into(),
        "detach".into(),
    ];
    let mut args = vec!["-nx".to_string(), "-batch".to_string()];
    for command in script {
        args.push("-ex".into());
        args.push(command);
    }
    let out = Command::new(gdb).args(&args).output().expect("run gdb");
    let said = text(&out);
    assert!(said.contains("Hardware watchpoint 1"), "GDB fell back to software watchpoints:\n{said}");
    let values: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("WRITE") || l.starts_with("READ") || l.starts_with("ACCESS"))
        .collect();
    // The stub stops before the access; GDB steps over it (RISC-V's
    // watchpoints are not steppable) and reports the stop after it. `sw` and
    // `lw` to a label are auipc + sw / auipc + lw.
    let after_store = program.symbols["again"] + 12;
    let after_load = program.symbols["again"] + 20;
    let expected = [
        format!("WRITE PC={after_store:#x} A0=1"),
        format!("WRITE PC={after_store:#x} A0=2"),
        format!("READ PC={after_load:#x} A1=2"),
        format!("ACCESS PC={after_store:#x}"),
    ];
    assert_eq!(values, expected, "gdb said:\n{said}");
    assert!(said.contains("New value = 2"), "gdb said:\n{said}");
    w.kill9();
}
