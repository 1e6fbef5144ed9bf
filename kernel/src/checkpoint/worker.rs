//! Where background jobs run: on a worker thread (production) or stepped
//! by the kernel thread between time slices (deterministic simulation).
//!
//! On the worker thread migration is **paced**: unless the kernel has said
//! it is urgent (a checkpoint waits for it, or someone waits for the
//! background work), it runs at most [`MIGRATION_DUTY`] of the time,
//! sleeping between steps, so that it takes little from the domains (on a
//! machine whose cores share execution units, a full-speed copy halves the
//! domains' speed). Snapshot writing is never paced: a checkpoint commits
//! as fast as the disk allows.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, Sender, TryRecvError, unbounded};
use disk_image::StorageError;
use disk_image::storage::Storage;

use super::job::{Finished, Job};

/// Runs jobs, one at a time, in submission order.
pub enum Background {
    /// Jobs advance one step per [`Background::poll`] on the kernel thread.
    Inline {
        /// The job in progress.
        job: Option<Job>,
    },
    /// Jobs run on a worker thread.
    Thread(Worker),
}

/// The share of time a paced migration runs.
pub const MIGRATION_DUTY: f64 = 0.1;
/// The longest sleep between paced migration steps.
const MAX_PACING_SLEEP: Duration = Duration::from_millis(5);

/// A worker thread and its channels.
pub struct Worker {
    jobs: Option<Sender<Job>>,
    results: Receiver<Result<Finished, StorageError>>,
    busy: usize,
    thread: Option<JoinHandle<()>>,
    urgent: Arc<AtomicBool>,
}

impl Background {
    /// Inline execution.
    pub fn inline() -> Background {
        Background::Inline { job: None }
    }

    /// A worker thread writing to `storage`.
    pub fn thread(storage: Arc<dyn Storage>) -> Background {
        let (job_tx, job_rx) = unbounded::<Job>();
        let (result_tx, results) = unbounded();
        let urgent = Arc::new(AtomicBool::new(false));
        let flag = urgent.clone();
        let thread = std::thread::Builder::new()
            .name("gnosis-checkpoint".into())
            .spawn(move || {
                for job in job_rx {
                    if result_tx.send(run_paced(job, storage.as_ref(), &flag)).is_err() {
                        break;
                    }
                }
            })
            .expect("WORKER001 cannot start the checkpoint thread");
        Background::Thread(Worker { jobs: Some(job_tx), results, busy: 0, thread: Some(thread), urgent })
    }

    /// Lets a paced migration run at full speed until it ends (a
    /// checkpoint, or someone, waits for it).
    pub fn hurry(&self) {
        if let Background::Thread(w) = self {
            w.urgent.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a job is in progress.
    pub fn busy(&self) -> bool {
        match self {
            Background::Inline { job } => job.is_some(),
            Background::Thread(w) => w.busy > 0,
        }
    }

    /// Starts a job (none may be in progress).
    pub fn start(&mut self, job: Job) {
        assert!(!self.busy(), "WORKER002 a job is already running");
        match self {
            Background::Inline { job: slot } => *slot = Some(job),
            Background::Thread(w) => {
                w.busy += 1;
                w.urgent.store(false, Ordering::Relaxed);
                w.jobs
                    .as_ref()
                    .expect("WORKER003 worker closed")
                    .send(job)
                    .expect("WORKER004 worker thread died");
            }
        }
    }

    /// Advances the job (inline: one step; thread: checks for a result).
    /// With `block`, waits until the job is finished.
    pub fn poll(&mut self, storage: &dyn Storage, block: bool) -> Result<Option<Finished>, StorageError> {
        match self {
            Background::Inline { job } => {
                let Some(j) = job.as_mut() else { return Ok(None) };
                let done = if block {
                    Some(job.take().expect("WORKER005").finish(storage)?)
                } else {
                    j.step(storage)?
                };
                if done.is_some() {
                    *job = None;
                }
                Ok(done)
            }
            Background::Thread(w) => {
                if w.busy == 0 {
                    return Ok(None);
                }
                if block {
                    w.urgent.store(true, Ordering::Relaxed);
                }
                let result = if block {
                    Some(w.results.recv().expect("WORKER006 worker thread died"))
                } else {
                    match w.results.try_recv() {
                        Ok(r) => Some(r),
                        Err(TryRecvError::Empty) => None,
                        Err(TryRecvError::Disconnected) => panic!("WORKER007 worker thread died"),
                    }
                };
                match result {
                    Some(r) => {
                        w.busy -= 1;
                        r.map(Some)
                    }
                    None => Ok(None),
                }
            }
        }
    }
}

/// Runs a job to its end on the worker thread, pacing a migration unless
/// `urgent` is set.
fn run_paced(mut job: Job, storage: &dyn Storage, urgent: &AtomicBool) -> Result<Finished, StorageError> {
    let paced = matches!(job, Job::Migration(_));
    loop {
        let started = Instant::now();
        if let Some(done) = job.step(storage)? {
            return Ok(done);
        }
        if paced && !urgent.load(Ordering::Relaxed) {
            let rest = started.elapsed().mul_f64((1.0 - MIGRATION_DUTY) / MIGRATION_DUTY);
            std::thread::sleep(rest.min(MAX_PACING_SLEEP));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
