//! The SDK as a user meets it: `gnosis new` projects in each language build
//! with one command and run under `gnosis exec`; every example in
//! `examples/` is built, installed in a world, run, killed with kill -9 and
//! restarted, and goes on from its last checkpoint.
//!
//! They need clang and lld (C) and the riscv32im-unknown-none-elf target
//! (Rust): without them the tests are skipped with a note, unless
//! GNOSIS_REQUIRE_TOOLS is set (CI), where a missing tool fails them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Instance, gnosis, installed, text, world};

const REQUIRE: &str = "GNOSIS_REQUIRE_TOOLS";
const RUST_TARGET: &str = "riscv32im-unknown-none-elf";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn c_tools() -> bool {
    installed("clang", REQUIRE) && installed("ld.lld", REQUIRE) && installed("make", REQUIRE)
}

/// Whether Rust programs can be built for Gnosis (the target's core library is installed).
fn rust_target() -> bool {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().expect("rustc runs");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let found = sysroot.join("lib/rustlib").join(RUST_TARGET).exists();
    if !found && std::env::var_os(REQUIRE).is_some() {
        panic!("the Rust target is missing (rustup target add {RUST_TARGET}) and {REQUIRE} is set");
    }
    if !found {
        eprintln!("skipped: rustup target add {RUST_TARGET} is needed");
    }
    found
}

fn run_ok(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(o.status.success(), "{cmd:?} failed:\n{}", text(&o));
    text(&o)
}

/// Builds the C program in `dir` into `out` with the project's Makefile.
fn make(dir: &Path, out: &Path) -> PathBuf {
    run_ok(Command::new("make").arg("-s").arg("-C").arg(dir).arg(format!("PROGRAM={}", out.display())));
    out.to_path_buf()
}

/// `cargo build --release` in `dir` (its own workspace), into a target
/// directory shared by these tests; returns where binary `bin` is.
fn cargo_build(dir: &Path, bin: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-rust");
    run_ok(
        Command::new("cargo")
            .args(["build", "--release", "--quiet"])
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET"),
    );
    target.join(RUST_TARGET).join("release").join(bin)
}

fn install(image: &Path, elf: &Path, name: &str, keys: &[&str]) {
    let mut args = vec!["install", image.to_str().unwrap(), elf.to_str().unwrap(), "--name", name];
    for key in keys {
        args.extend(["--key", key]);
    }
    let o = gnosis(&args);
    assert!(o.status.success(), "install {name}: {}", text(&o));
}

/// Asks the running instance for a checkpoint and waits for it.
fn checkpoint(image: &Path) {
    let o = gnosis(&["checkpoint", image.to_str().unwrap()]);
    assert!(o.status.success(), "checkpoint: {}", text(&o));
}

/// The number at the end of the line `prefix N…` (e.g. "c-counter: 7").
fn number_after(line: &str, prefix: &str) -> u64 {
    let rest = &line[line.find(prefix).expect("the prefix") + prefix.len()..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().expect("a number")
}

/// Runs the world until `ready` has been printed, checkpoints, waits for
/// `after` more lines matching `progress`, kills it with kill -9 and
/// restarts it; returns the lines before the kill and the restarted instance.
fn run_kill_restart(image: &Path, ready: &str, progress: &str, after: usize) -> (Vec<String>, Instance) {
    let mut first = Instance::start(image);
    first.expect(ready);
    checkpoint(image);
    for _ in 0..after {
        first.expect(progress);
    }
    let seen = first.seen.clone();
    first.kill9();
    (seen, Instance::start(image))
}

fn exec_prints(elf: &Path, expected: &str) {
    let o = Command::new(common::BIN).arg("exec").arg(elf).args(["--key", "console"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "exec {}: {}", elf.display(), text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), expected, "{}", text(&o));
}

#[test]
fn gnosis_new_c_project_builds_with_make_and_runs() {
    if !c_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_ok(Command::new(common::BIN).args(["new", "hi", "--lang", "c"]).current_dir(dir.path()));
    let project = dir.path().join("hi");
    run_ok(Command::new("make").arg("-s").current_dir(&project));
    exec_prints(&project.join("hi.elf"), "hello from hi\n");
}

#[test]
fn gnosis_new_rust_project_builds_with_cargo_and_runs() {
    if !rust_target() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_ok(Command::new(common::BIN).args(["new", "hi-rs", "--lang", "rust"]).current_dir(dir.path()));
    let elf = cargo_build(&dir.path().join("hi-rs"), "hi-rs");
    exec_prints(&elf, "hello from hi-rs\n");
}

#[test]
fn gnosis_new_asm_project_builds_with_make_and_runs() {
    if !installed("make", REQUIRE) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        Command::new(common::BIN)
            .args(["new", "hi-asm", "--lang", "asm", "--dir", "p"])
            .current_dir(dir.path()),
    );
    let project = dir.path().join("p");
    run_ok(Command::new("make").arg("-s").arg(format!("GNOSIS={}", common::BIN)).current_dir(&project));
    exec_prints(&project.join("hi-asm.elf"), "hello from hi-asm\n");
}

#[test]
fn gnosis_new_refuses_a_bad_name_and_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let new =
        |name: &str| Command::new(common::BIN).args(["new", name]).current_dir(dir.path()).output().unwrap();
    let o = new("Hello World");
    assert!(!o.status.success() && text(&o).contains("cannot name a project"), "{}", text(&o));
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep"), "mine").unwrap();
    let o = new("taken");
    assert!(!o.status.success() && text(&o).contains("already exists"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(dir.path().join("taken/keep")).unwrap(), "mine");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["taken"], "a refused `gnosis new` left files behind");
}

/// A program that ran to its end before a checkpoint does not run again
/// after kill -9: the restarted world holds it stopped at its ebreak.
fn hello_once(elf: &Path, name: &str, line: &str) {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    install(&image, elf, name, &["console"]);
    let mut first = Instance::start(&image);
    first.expect(line);
    checkpoint(&image);
    first.kill9();
    let mut again = Instance::start(&image);
    again.expect("counter:");
    again.expect("counter:");
    let ps = text(&gnosis(&["ps", image.to_str().unwrap()]));
    assert!(ps.contains(name), "{ps}");
    let seen = again.seen.clone();
    again.kill9();
    assert!(!seen.iter().any(|l| l.contains(line)), "{name} ran again after the restart: {seen:?}");
}

#[test]
fn c_hello_prints_once_and_stays_done_through_kill_9() {
    if !c_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let elf = make(&repo().join("examples/c-hello"), &dir.path().join("hello.elf"));
    exec_prints(&elf, "hello, world\n");
    hello_once(&elf, "chello", "hello, world");
}

#[test]
fn rust_hello_prints_once_and_stays_done_through_kill_9() {
    if !rust_target() {
        return;
    }
    let elf = cargo_build(&repo().join("examples/rust-hello"), "hello");
    exec_prints(&elf, "hello, world from Rust\n");
    hello_once(&elf, "rhello", "hello, world from Rust");
}

#[test]
fn c_counter_goes_on_from_its_checkpoint_after_kill_9() {
    if !c_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let elf = make(&repo().join("examples/c-counter"), &dir.path().join("counter.elf"));
    let image = world(dir.path(), &[]);
    install(&image, &elf, "ccounter", &["console", "timer", "bwait:2"]);
    let (before, mut after) = run_kill_restart(&image, "c-counter: 3", "c-counter:", 3);
    let last =
        before.iter().filter(|l| l.contains("c-counter:")).map(|l| number_after(l, "c-counter:")).max();
    let next = number_after(&after.expect("c-counter:"), "c-counter:");
    after.kill9();
    assert!(next >= 4, "the count started again ({next}) instead of going on from the checkpoint (≥ 3)");
    assert!(next <= last.unwrap() + 1, "the count ({next}) is past what ran before the crash ({last:?})");
}

#[test]
fn c_kv_client_and_server_pass_strings_and_keys_and_survive_kill_9() {
    if !c_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = make(&repo().join("examples/kv-server"), &dir.path().join("kv-server.elf"));
    let client = make(&repo().join("examples/kv-client"), &dir.path().join("kv-client.elf"));
    let image = world(dir.path(), &[]);
    install(&image, &server, "kvserver", &["console", "returner"]);
    install(&image, &client, "kvclient", &["console", "start:kvserver", "timer", "bwait:3"]);
    let (before, mut after) = run_kill_restart(&image, "kv-client: visit 2", "kv-client: visit", 2);
    assert!(before.iter().any(|l| l == "kv-client: greeting = hello (rc 0)"), "{before:?}");
    assert!(before.iter().any(|l| l == "kv-client: the key fetched back is the timer"), "{before:?}");
    let next = number_after(&after.expect("kv-client: visit"), "visit");
    let seen = after.seen.clone();
    after.kill9();
    assert!(next >= 3, "the server's count started again ({next}) instead of going on from the checkpoint");
    assert!(
        !seen.iter().any(|l| l.contains("greeting") || l.contains("kv-server: ready")),
        "a program started over after the restart: {seen:?}"
    );
}

#[test]
fn rust_echo_server_answers_and_survives_kill_9() {
    if !rust_target() {
        return;
    }
    let dir = repo().join("examples/rust-echo-server");
    let (server, client) = (cargo_build(&dir, "echo-server"), cargo_build(&dir, "echo-client"));
    let tmp = tempfile::tempdir().unwrap();
    let image = world(tmp.path(), &[]);
    install(&image, &server, "echo", &["console", "returner"]);
    install(&image, &client, "echoclient", &["console", "start:echo", "timer", "bwait:4"]);
    let (before, mut after) =
        run_kill_restart(&image, "echo-client: PING 2 (answer 2, rc 0)", "echo-client:", 2);
    assert!(before.iter().any(|l| l == "echo-server: ready"), "{before:?}");
    let line = after.expect("echo-client:");
    after.kill9();
    let (ping, answer) = (number_after(&line, "PING"), number_after(&line, "answer"));
    assert!(
        ping >= 3 && answer == ping,
        "after the restart: {line:?} (the client and server went on together)"
    );
}

#[test]
fn exec_reports_traps_in_its_exit_status_and_is_quiet_on_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let asm = |name: &str, src: &str| {
        let (s, elf) = (dir.path().join(format!("{name}.s")), dir.path().join(format!("{name}.elf")));
        std::fs::write(&s, src).unwrap();
        run_ok(Command::new(common::BIN).arg("asm").arg(&s).arg("-o").arg(&elf));
        elf
    };
    let exec = |elf: &Path, extra: &[&str]| {
        Command::new(common::BIN).arg("exec").arg(elf).args(extra).output().unwrap()
    };
    let ok = asm("ok", "_start:\n li a0, 0\n ebreak\n");
    assert_eq!(exec(&ok, &[]).status.code(), Some(0));
    let fail = asm("fail", "_start:\n li a0, 1\n ebreak\n");
    let o = exec(&fail, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("a0 = 1"), "{}", text(&o));
    let illegal = asm("illegal", "_start:\n .word 0\n");
    assert_eq!(exec(&illegal, &[]).status.code(), Some(1));
    let fault = asm("fault", "_start:\n li t0, 0x40000000\n lw t1, 0(t0)\n");
    let o = exec(&fault, &[]);
    assert_eq!(o.status.code(), Some(139), "{}", text(&o));
    assert!(text(&o).contains("0x103"), "the message names the trap code: {}", text(&o));
    let spin = asm("spin", "_start:\n j _start\n");
    assert_eq!(exec(&spin, &["--max-instructions", "1000"]).status.code(), Some(124));
    let o = exec(&ok, &["--key", "bank"]);
    assert_eq!(o.status.code(), Some(126));
    assert!(text(&o).contains("gnosis install"), "{}", text(&o));

    // A program printing forever, its stdout a pipe closed after one line.
    let chatty = asm(
        "chatty",
        ".include \"gnosis.inc\"\n_start:\n li a0, CONSOLE_WRITE\n EXIT a1, 1, CALL, 1\n li a2, 0\n \
         la a3, line\n li a4, 5\n ecall\n j _start\n .data\nline: .ascii \"line\\n\"\n",
    );
    let mut child = Command::new(common::BIN)
        .arg("exec")
        .arg(&chatty)
        .args(["--key", "console"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 5];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"line\n");
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", text(&o));
    assert!(o.stderr.is_empty(), "exec spoke on a closed pipe: {}", text(&o));
}

/// Builds a one-file C program with the kit in the checkout; returns the ELF.
fn c_program(dir: &Path, name: &str, source: &str) -> PathBuf {
    let project = dir.join(name);
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("main.c"), source).unwrap();
    let sdk = repo().join("domains/sdk/c");
    std::fs::write(
        project.join("Makefile"),
        format!(
            "GNOSIS_SDK := {}\nPROGRAM := {name}.elf\nSOURCES := main.c\ninclude $(GNOSIS_SDK)/gnosis.mk\n",
            sdk.display()
        ),
    )
    .unwrap();
    run_ok(Command::new("make").arg("-s").current_dir(&project));
    project.join(format!("{name}.elf"))
}

#[test]
fn c_runtime_formats_and_divides_as_the_host_does() {
    if !c_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let values: [(u64, u64); 6] = [
        (10_000_000_000, 3),
        (u64::MAX, 7),
        (0x8000_0000_0000_0000, 0x1_0000_0001),
        (12345, 1 << 40),
        (1 << 63, 1),
        (999, 0),
    ];
    let mut body = String::new();
    let mut expected = String::new();
    for (n, d) in values {
        body.push_str(&format!("    report({n}ull, {d}ull);\n"));
        // RV32IM's rule for a zero divisor: all ones, remainder the dividend.
        let (q, r) = n.checked_div(d).map_or((u64::MAX, n), |q| (q, n - q * d));
        let (sn, sd) = (n as i64, d as i64);
        let (sq, sr) = if sd == 0 { (-1i64, sn) } else { (sn.wrapping_div(sd), sn.wrapping_rem(sd)) };
        expected.push_str(&format!("{q} {r} {sq} {sr} {:x} {:x} {}\n", n << 13, n >> 37, sn >> 45));
    }
    let source = format!(
        "#include <gnosis.h>\n\
         static void report(uint64_t n, uint64_t d) {{\n\
             volatile uint64_t vn = n, vd = d; volatile int s13 = 13, s37 = 37, s45 = 45;\n\
             int64_t sn = (int64_t)vn, sd = (int64_t)vd;\n\
             printf(\"%llu %llu %lld %lld %llx %llx %lld\\n\", vn / vd, vn % vd, sn / sd, sn % sd,\n\
                    vn << s13, vn >> s37, sn >> s45);\n\
         }}\n\
         int main(void) {{\n{body}\
             char buf[8];\n\
             int n = snprintf(buf, sizeof buf, \"%s-%d\", \"truncated\", 42);\n\
             printf(\"[%5d|%-5d|%05d|%x|%X|%c|%s|%%|%u] %s %d\\n\", -42, 7, -3, 0xbeef, 0xbeef, 'g', (char *)0, 4000000000u, buf, n);\n\
             return 0;\n\
         }}\n"
    );
    expected.push_str("[  -42|7    |-0003|beef|BEEF|g|(null)|%|4000000000] truncat 12\n");
    let elf = c_program(dir.path(), "runtime", &source);
    exec_prints(&elf, &expected);
}

#[test]
fn c_server_is_not_stalled_by_a_client_passing_a_start_key_as_key_3() {
    if !c_tools() {
        return;
    }
    // The hostile client FORKs to the server with the server's own start key
    // as key 3: a server that RETURNed through key 3 would wait on itself
    // for ever. Through the returner the reply goes nowhere and the next
    // client is served.
    let hostile = "#include <gnosis.h>\n\
        #include \"kvs.h\"\n\
        enum { CONSOLE = 1, SERVER = 2 };\n\
        int main(void) {\n\
            KF(SERVER, KVS_ADD, STRFROM(\"visits\", 6), KEYSFROM(, , , SERVER));\n\
            uint32_t visits = 0;\n\
            uint32_t rc = KC(SERVER, KVS_ADD, STRFROM(\"visits\", 6), STRUCTTO(visits));\n\
            printf(\"hostile: still served, rc %u, visits %u\\n\", rc, visits);\n\
            return 0;\n\
        }\n";
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("hostile");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(repo().join("examples/kv-server/kvs.h"), project.join("kvs.h")).unwrap();
    let elf = c_program(dir.path(), "hostile", hostile);
    let server = make(&repo().join("examples/kv-server"), &dir.path().join("kv-server.elf"));
    let image = world(dir.path(), &[]);
    install(&image, &server, "kvserver", &["console", "returner"]);
    install(&image, &elf, "hostile", &["console", "start:kvserver"]);
    let mut w = Instance::start(&image);
    let line = w.expect("hostile:");
    w.kill9();
    assert_eq!(line, "hostile: still served, rc 0, visits 2");
}

#[test]
fn a_rust_panic_prints_its_message_and_stops_at_a_breakpoint() {
    if !rust_target() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_ok(Command::new(common::BIN).args(["new", "oops", "--lang", "rust"]).current_dir(dir.path()));
    let project = dir.path().join("oops");
    std::fs::write(
        project.join("src/main.rs"),
        "#![no_std]\n#![no_main]\nfn main() {\n    let v = [1u32, 2, 3];\n    \
         let i = gnosis::console::stdout().index() as usize + 6;\n    gnosis::println!(\"{}\", v[i]);\n}\n\
         gnosis::entry!(main);\n",
    )
    .unwrap();
    let elf = cargo_build(&project, "oops");
    let o = Command::new(common::BIN).arg("exec").arg(&elf).args(["--key", "console"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("panicked: ") && out.contains("index out of bounds"), "{}", text(&o));
}
