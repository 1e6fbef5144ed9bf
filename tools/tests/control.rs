//! The control socket against hostile and unlucky clients, with real
//! processes and sockets: where it is and who may reach it, files that are
//! not files, requests without end, a world that is stopped, a server that
//! never answers, and names that are not safe to print.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use common::*;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A runtime directory of the test's own (`XDG_RUNTIME_DIR`), so its
/// control sockets are the test's alone.
fn runtime() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn the_control_socket_is_private_and_every_path_to_the_image_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let link = dir.path().join("link.img");
    std::os::unix::fs::symlink(&image, &link).unwrap();
    let rt = runtime();
    let env = [("XDG_RUNTIME_DIR", rt.path())];
    let mut w = Instance::run_with_env(&["run", s(&image)], &env);
    let socket = w.control_socket();
    let meta = image.metadata().unwrap();
    assert_eq!(socket, rt.path().join(format!("gnosis/image-{:x}-{}.ctl", meta.dev(), meta.ino())));
    let dir_meta = socket.parent().unwrap().symlink_metadata().unwrap();
    assert!(dir_meta.is_dir());
    assert_eq!(dir_meta.permissions().mode() & 0o777, 0o700);
    let socket_meta = socket.symlink_metadata().unwrap();
    assert!(socket_meta.file_type().is_socket());
    assert_eq!(socket_meta.permissions().mode() & 0o777, 0o600);
    assert!(!dir.path().join("world.img.ctl").exists(), "nothing next to the image");
    // Through the symlink, the same world answers.
    let o = gnosis_in_time_with_env(&["status", s(&link)], &env);
    assert!(o.status.success() && text(&o).contains(": running"), "{}", text(&o));
    assert!(w.interrupt().success());
    assert!(!socket.exists(), "removed when the world stops");

    // A socket directory others can reach is refused, by worlds and clients.
    std::fs::set_permissions(socket.parent().unwrap(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for args in [&["run", s(&image)][..], &["status", s(&image)]] {
        let o = gnosis_in_time_with_env(args, &env);
        assert!(!o.status.success(), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("has mode 0755: others can reach it"), "{args:?}: {}", text(&o));
    }
    fsck_clean(&image);
}

#[test]
fn install_refuses_fifos_devices_and_directories_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let fifo = dir.path().join("program.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let cases =
        [(s(&fifo), "is a FIFO"), ("/dev/zero", "is a character device"), (s(dir.path()), "is a directory")];
    let try_all = |image: &Path| {
        for (program, expected) in cases {
            let o = gnosis_in_time(&["install", s(image), program, "--name", "x"]);
            assert!(!o.status.success(), "{program}: {}", text(&o));
            assert!(text(&o).contains(expected) && text(&o).contains("not a regular file"), "{}", text(&o));
        }
    };
    let mut w = Instance::start(&image);
    w.expect("counter: 2");
    try_all(&image);
    let o = gnosis_in_time(&["status", s(&image)]);
    assert!(o.status.success(), "the world still answers: {}", text(&o));
    assert!(w.interrupt().success());
    let before = std::fs::read(&image).unwrap();
    try_all(&image);
    assert_eq!(std::fs::read(&image).unwrap(), before, "a refused install changes nothing");
}

/// Sends `request` to the socket at `socket` (from another thread: the
/// server may refuse before it has read it all) and returns the answer.
fn raw_request(socket: &Path, request: Vec<u8>) -> String {
    let stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
        let _ = writer.shutdown(std::net::Shutdown::Write);
    });
    let mut answer = String::new();
    let _ = (&stream).read_to_string(&mut answer);
    sender.join().unwrap();
    answer
}

#[test]
fn oversize_and_malformed_requests_are_refused_without_the_world_growing() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let mut w = Instance::start(&image);
    let socket = w.control_socket();
    w.expect("counter: 2");
    let before = rss_kib(w.child.id());
    let cases: [(Vec<u8>, &str); 5] = [
        (vec![b'x'; 300 << 20], "error: the request line is longer than 4096 bytes"),
        (
            b"install\tbig\tconsole\t314572800\n".to_vec(),
            "error: `install` carries a file of 314572800 bytes; the limit is",
        ),
        (
            b"resume\there\t\t\t1\t1\t99999999999\n".to_vec(),
            "error: `resume` carries a file of 99999999999 bytes",
        ),
        (
            b"shutdown\tnow\n".to_vec(),
            "error: unknown request 'shutdown\\tnow' (known: checkpoint, ps, status",
        ),
        (b"install\tx\tconsole\t100\nshort".to_vec(), "error: the request ended after 5 of the 100 bytes"),
    ];
    for (request, expected) in cases {
        let answer = raw_request(&socket, request);
        assert!(answer.starts_with(expected), "{expected:?}: {answer:?}");
    }
    let after = rss_kib(w.child.id());
    assert!(after < before + 64 * 1024, "the world grew from {before} KiB to {after} KiB");
    let o = gnosis_in_time(&["status", s(&image)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(w.interrupt().success());
}

#[test]
fn a_world_serves_a_bounded_number_of_control_connections() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let mut w = Instance::start(&image);
    let socket = w.control_socket();
    w.expect("counter: 2");
    // Connections that never ask anything hold every place.
    let idle: Vec<UnixStream> = (0..16).map(|_| UnixStream::connect(&socket).unwrap()).collect();
    let o = gnosis_in_time(&["status", s(&image)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("the world is busy: it serves 16 control connections at once"), "{}", text(&o));
    drop(idle);
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let o = gnosis_in_time(&["status", s(&image)]);
        if o.status.success() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the places were never given back: {}", text(&o));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(w.interrupt().success());
}

#[test]
fn clients_of_a_stopped_world_give_up_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let p = s(&image);
    let elf = program(dir.path(), "stop", "_start:\n    ebreak\n");
    let mut w = Instance::start(&image);
    w.expect("counter: 2");
    let pid = w.child.id();
    signal(pid, "STOP");
    let commands: [&[&str]; 5] = [
        &["status", p, "--timeout", "1"],
        &["ps", p, "--timeout", "1"],
        &["checkpoint", p, "--timeout", "1"],
        &["install", p, s(&elf), "--name", "stop", "--timeout", "1"],
        &["snapshot", p, "--domain", "counter", "--timeout", "1"],
    ];
    for args in commands {
        let o = gnosis_in_time(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let expected = format!(
            "the world at {p} is not responding (pid {pid}?): no answer to `{}` within 1.0 s",
            args[0]
        );
        assert!(text(&o).contains(&expected), "{args:?}: {}", text(&o));
    }
    signal(pid, "CONT");
    let o = gnosis_in_time(&["checkpoint", p]);
    assert!(o.status.success(), "it answers again: {}", text(&o));
    assert!(w.interrupt().success());
    fsck_clean(&image);
}

/// The control socket a world of `image` would serve under the runtime
/// directory `rt`.
fn socket_of(rt: &Path, image: &Path) -> PathBuf {
    let meta = image.metadata().unwrap();
    rt.join(format!("gnosis/image-{:x}-{}.ctl", meta.dev(), meta.ino()))
}

#[test]
fn a_world_that_closes_without_answering_fails_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let elf = program(dir.path(), "stop", "_start:\n    ebreak\n");
    let rt = runtime();
    let socket = socket_of(rt.path(), &image);
    std::fs::DirBuilder::new().mode(0o700).create(socket.parent().unwrap()).unwrap();
    // A server that takes each request and hangs up, where gnosis looks for
    // one now and where it used to (next to the image).
    let listeners =
        [UnixListener::bind(&socket).unwrap(), UnixListener::bind(dir.path().join("world.img.ctl")).unwrap()];
    for listener in listeners {
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                // Takes what the client sends, then hangs up.
                stream.set_read_timeout(Some(std::time::Duration::from_millis(300))).unwrap();
                let _ = stream.read_to_end(&mut Vec::new());
            }
        });
    }
    let env = [("XDG_RUNTIME_DIR", rt.path())];
    let commands: [&[&str]; 3] =
        [&["install", s(&image), s(&elf), "--name", "stop"], &["ps", s(&image)], &["checkpoint", s(&image)]];
    for args in commands {
        let o = gnosis_in_time_with_env(args, &env);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let expected = format!("closed the connection without answering `{}`", args[0]);
        assert!(text(&o).contains(&expected), "{args:?}: {}", text(&o));
    }
}

#[test]
fn ps_and_status_print_names_with_control_characters_escaped() {
    use kernel::kernel::Background;
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    {
        // Renamed behind install's back, as an old image may be.
        let mut k = tools::world::boot(&image, Background::Inline).unwrap();
        k.write_back_caches().unwrap();
        let counter = kernel::inspect::domains(k.store()).into_iter().find(|d| d.name == "counter").unwrap();
        let name = kernel::builder::name_key("c\x1b[2Jx\ty\n");
        kernel::object::node::set_slot(k.store_mut(), counter.root, kernel::domain::SLOT_NAME, name).unwrap();
        k.checkpoint_now().unwrap();
        k.finish_background().unwrap();
    }
    let escaped = "c\\u{1b}[2Jx\\ty\\n";
    let check = |when: &str| {
        for command in ["ps", "status"] {
            let o = gnosis_in_time(&[command, s(&image)]);
            let out = String::from_utf8(o.stdout.clone()).unwrap();
            assert!(o.status.success(), "{}", text(&o));
            assert!(out.contains(escaped), "{command} {when}: {out}");
            assert!(!out.contains('\x1b'), "{command} {when} printed an escape sequence: {out:?}");
        }
    };
    check("of a stopped image");
    let mut w = Instance::start(&image);
    w.expect("type help");
    check("of a running world");
    assert!(w.interrupt().success());
}

#[test]
fn a_live_snapshot_the_client_cannot_write_leaves_the_domain_running() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let p = s(&image);
    let mut w = Instance::start(&image);
    w.expect("counter: 2");
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "not a directory").unwrap();
    let out = blocked.join("snap");
    let o = gnosis_in_time(&["snapshot", p, "--domain", "kv", "--out", s(&out), "--kill"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("kv runs on"), "{}", text(&o));
    let ps = text(&gnosis_in_time(&["ps", p]));
    assert!(ps.lines().any(|l| l.contains(" kv ") && !l.contains("stopped")), "{ps}");
    // Written where it can be, the snapshot is taken and the domain stopped.
    let out = dir.path().join("snap");
    let o = gnosis_in_time(&["snapshot", p, "--domain", "kv", "--out", s(&out), "--kill"]);
    assert!(o.status.success() && text(&o).contains("stopped kv for good"), "{}", text(&o));
    assert!(out.join("manifest.json").is_file());
    assert!(w.interrupt().success());
    fsck_clean(&image);
}
