//! Where background jobs run: on a worker thread (production) or stepped
//! by the kernel thread between time slices (deterministic simulation).

use std::sync::Arc;
use std::thread::JoinHandle;

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

/// A worker thread and its channels.
pub struct Worker {
    jobs: Option<Sender<Job>>,
    results: Receiver<Result<Finished, StorageError>>,
    busy: usize,
    thread: Option<JoinHandle<()>>,
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
        let thread = std::thread::Builder::new()
            .name("gnosis-checkpoint".into())
            .spawn(move || {
                for job in job_rx {
                    if result_tx.send(job.finish(storage.as_ref())).is_err() {
                        break;
                    }
                }
            })
            .expect("WORKER001 cannot start the checkpoint thread");
        Background::Thread(Worker { jobs: Some(job_tx), results, busy: 0, thread: Some(thread) })
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

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
