//! The control socket of a running instance (`IMAGE.ctl`, a Unix socket):
//! `gnosis checkpoint`, `gnosis ps`, `gnosis install`, `gnosis snapshot`
//! and `gnosis resume` ask the running world through it. One request per
//! connection: a line in; the answer (one or more lines) out, until the
//! server closes the connection.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use crossbeam::channel::{Receiver, Sender, unbounded};
use kernel::kernel::Kernel;

/// A request from a client, with where to send the answer.
pub struct Request {
    /// The request line.
    pub line: String,
    /// Where the one-line answer goes.
    pub answer: Sender<String>,
}

/// The control socket's path for an image.
pub fn socket_path(image: &Path) -> PathBuf {
    let mut name = image.as_os_str().to_owned();
    name.push(".ctl");
    PathBuf::from(name)
}

/// Listens on the image's control socket; requests arrive on the channel.
pub fn serve(image: &Path) -> anyhow::Result<Receiver<Request>> {
    let path = socket_path(image);
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            anyhow::bail!(
                "{} is already running (its control socket {} answers)",
                image.display(),
                path.display()
            );
        }
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot make the control socket {}", path.display()))?;
    let (tx, rx) = unbounded();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve_one(stream, tx));
        }
    });
    Ok(rx)
}

fn serve_one(stream: UnixStream, tx: Sender<Request>) {
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let (answer, answers) = unbounded();
    // Only the line ending goes: trailing fields may be empty.
    let line = line.trim_end_matches(['\r', '\n']).to_string();
    if tx.send(Request { line, answer }).is_err() {
        return;
    }
    if let Ok(reply) = answers.recv() {
        let reply = if reply.ends_with('\n') { reply } else { format!("{reply}\n") };
        let _ = (&stream).write_all(reply.as_bytes());
    }
}

/// Removes the control socket.
pub fn remove(image: &Path) {
    let _ = std::fs::remove_file(socket_path(image));
}

/// Answers one request on the kernel's thread. Requests: `checkpoint`;
/// `ps`; `status` (JSON); `install<TAB>ELF path<TAB>name<TAB>key,key,…`;
/// `snapshot<TAB>domain<TAB>out dir<TAB>kill|keep`;
/// `resume<TAB>dir<TAB>name<TAB>import=key,…`.
pub fn handle(k: &mut Kernel, image: &Path, request: Request) -> anyhow::Result<()> {
    let fields: Vec<&str> = request.line.split('\t').collect();
    let reply = match fields.as_slice() {
        ["checkpoint"] => format!("checkpoint generation {}", k.checkpoint_now()?),
        ["ps"] => super::ps::table(&k.live_domains()),
        ["status"] => serde_json::to_string(&tools::status::Status::of_kernel(k, image))?,
        ["install", path, name, keys] => match install(k, path, name, keys) {
            Ok(root) => format!("installed {name} (domain root node {})", root.number()),
            Err(e) => format!("error: {e:#}"),
        },
        ["snapshot", id, out, kill] => super::snapshot::serve_snapshot(k, image, id, out, kill),
        ["resume", dir, name, maps] => super::snapshot::serve_resume(k, dir, name, maps),
        _ => format!(
            "error: unknown request '{}' (known: checkpoint, ps, status, install, snapshot, resume)",
            request.line
        ),
    };
    let _ = request.answer.send(reply);
    Ok(())
}

fn install(k: &mut Kernel, path: &str, name: &str, keys: &str) -> anyhow::Result<kernel::key::Cda> {
    let elf = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    let grants = keys
        .split(',')
        .filter(|g| !g.is_empty())
        .map(|g| g.parse().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<tools::world::install::Grant>>>()?;
    tools::world::install::install(k, &elf, name, &grants)
}

/// Whether an instance of the image is running (its control socket answers).
pub fn is_running(image: &Path) -> bool {
    UnixStream::connect(socket_path(image)).is_ok()
}

/// Sends one request to a running instance and returns its answer.
pub fn ask(image: &Path, line: &str) -> anyhow::Result<String> {
    let path = socket_path(image);
    let mut stream = UnixStream::connect(&path).with_context(|| {
        format!(
            "no running instance of {} (cannot connect to {}); start it with `gnosis run`",
            image.display(),
            path.display()
        )
    })?;
    stream.write_all(format!("{line}\n").as_bytes())?;
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer)?;
    Ok(answer.trim_end().to_string() + "\n")
}

/// Arguments of `gnosis checkpoint`.
#[derive(clap::Args)]
pub struct CheckpointArgs {
    /// The running image (default: the default world).
    pub image: Option<PathBuf>,
}

/// `gnosis checkpoint`: asks a running instance to checkpoint now.
pub fn checkpoint(args: CheckpointArgs) -> anyhow::Result<ExitCode> {
    let image = match args.image {
        Some(p) => p,
        None => super::run::default_image()?,
    };
    let answer = ask(&image, "checkpoint")?;
    print!("{answer}");
    Ok(if answer.starts_with("error") { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
