//! The control socket of a running instance (`IMAGE.ctl`, a Unix socket):
//! `gnosis checkpoint` asks it for a checkpoint, `gnosis status` for figures.
//! One request per connection, one line each way.

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
    if tx.send(Request { line: line.trim().to_string(), answer }).is_err() {
        return;
    }
    if let Ok(reply) = answers.recv() {
        let _ = (&stream).write_all(format!("{reply}\n").as_bytes());
    }
}

/// Removes the control socket.
pub fn remove(image: &Path) {
    let _ = std::fs::remove_file(socket_path(image));
}

/// Answers one request on the kernel's thread.
pub fn handle(k: &mut Kernel, request: Request) -> anyhow::Result<()> {
    let reply = match request.line.as_str() {
        "checkpoint" => format!("checkpoint generation {}", k.checkpoint_now()?),
        other => format!("error: unknown request '{other}' (known: checkpoint)"),
    };
    let _ = request.answer.send(reply);
    Ok(())
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
    BufReader::new(&stream).read_line(&mut answer)?;
    Ok(answer.trim().to_string())
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
    println!("{answer}");
    Ok(if answer.starts_with("error") { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
