//! Background CPU work at a lower scheduling priority than the threads that answer requests.
//!
//! Parsing and storing a large ingest batch costs milliseconds of CPU. On a busy core those
//! milliseconds are taken from whatever else is runnable: the runtime's workers that answer a
//! heartbeat ping, a health check or a page's flush. The kernel shares a core between runnable
//! threads of equal priority in slices of a few milliseconds, so a ping arriving during
//! saturated ingest waited behind several such slices (12.8 ms p99 measured, target 1 ms).
//! A [`Pool`]'s threads run at a higher nice value ([`BACKGROUND_NICE`]): while the core is
//! idle they get all of it (ingest throughput is unchanged), and when a request-answering thread
//! wakes the kernel runs it first.
//!
//! Linux keeps the nice value per thread, so lowering it on a pool thread affects only that
//! thread. Where the kernel schedules groups (a systemd service's or a container's cgroup with
//! the CPU controller, a session's autogroup), nice values only order threads within the group:
//! tocsin's ingest yields to tocsin's own request threads, not to other services on the host.
//! Elsewhere, or when the call is refused, the pool runs at normal priority.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

/// How much nicer background threads are than the daemon: far enough that a waking request
/// thread preempts them at once (the kernel weighs each nice step at about 1.25x, so ten steps
/// at about a tenth), near enough that background work still progresses when the machine is
/// busy with other processes.
pub const BACKGROUND_NICE: i32 = 10;

/// The highest nice value Linux has.
const NICEST: i32 = 19;

/// How long a background thread computes before it offers the core to a request thread that
/// is waiting for it (see [`courtesy`]): 200 µs.
const COURTESY_SLICE_NANOS: u64 = 200_000;

thread_local! {
    /// On a background thread: when it last offered the core. None on the threads that answer
    /// requests.
    static COURTESY: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Called between two pieces of a long computation (an alert of an ingest batch, a key of a
/// fold, 256 KiB of a file read): on a background thread that has computed for 200 µs
/// (`COURTESY_SLICE_NANOS`) since it last did, yields the core, so a request thread that is
/// waiting for it runs now. Elsewhere (a runtime worker, a test) it does nothing. It looks at the clock
/// each time (tens of nanoseconds): call it between pieces of a microsecond or more.
///
/// A lower priority alone does not give a woken request thread the core at once: Linux's
/// scheduler (EEVDF) lets the running thread finish its slice, up to a timer tick (4 ms at
/// the common 250 Hz), before the request thread's turn. Measured on the 2-core VM with the
/// server on one core: during saturated ingest a heartbeat ping waited behind the ingest
/// thread's slice at p99 (3.5-4.0 ms); a yield every 200 µs of background work lets it run
/// within that time. A yield with nothing else runnable returns at once (about a microsecond).
pub fn courtesy() {
    COURTESY.with(|c| {
        let Some(since) = c.get() else {
            return;
        };
        if crate::clock::real_nanos().saturating_sub(since) < COURTESY_SLICE_NANOS {
            return;
        }
        std::thread::yield_now();
        #[cfg(test)]
        YIELDS.with(|y| y.set(y.get() + 1));
        c.set(Some(crate::clock::real_nanos()));
    });
}

#[cfg(test)]
thread_local! {
    /// How often [`courtesy`] yielded on this thread.
    static YIELDS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Makes the calling thread [`BACKGROUND_NICE`] steps nicer than it is (at most 19) and marks
/// it as a background thread for [`courtesy`]; whether the priority took effect (a thread can
/// always make itself nicer, so failure means an unsupported platform).
pub fn lower_this_thread() -> bool {
    COURTESY.set(Some(crate::clock::real_nanos()));
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        rustix::process::getpriority_process(Some(tid)).is_ok_and(|now| {
            rustix::process::setpriority_process(Some(tid), (now + BACKGROUND_NICE).min(NICEST))
                .is_ok()
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of background threads taking jobs in arrival order.
#[derive(Debug)]
pub struct Pool {
    /// Where jobs go; each thread takes the next one when it is free.
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    /// How many threads the pool has.
    threads: usize,
}

/// Why a job did not give a result.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JobError {
    /// The job panicked (the thread survives and takes the next job).
    #[error("the job panicked: {0}")]
    Panicked(String),
    /// The pool has no threads left (they could not be started, or it was shut down).
    #[error("no background thread is running")]
    Gone,
}

impl Pool {
    /// Starts `threads` (at least one) threads named `name`, each at background priority.
    /// A thread that cannot be started is logged; the pool works with those that started.
    pub fn new(name: &str, threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for _ in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || {
                    if !lower_this_thread() {
                        tracing::debug!("Background threads run at normal priority here.");
                    }
                    loop {
                        // The lock is held only while waiting for a job, not while running it.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => {
                    tracing::error!(error = %e, pool = name, "Starting a background thread failed.")
                }
            }
        }
        Self {
            tx: Mutex::new((started > 0).then_some(tx)),
            threads: started,
        }
    }

    /// How many threads took work.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on a pool thread and waits for its result without blocking the runtime.
    pub async fn run<R, F>(&self, f: F) -> Result<R, JobError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown".to_owned());
                JobError::Panicked(msg)
            });
            let _ = done.send(r);
        });
        let sent = match self.tx.lock() {
            Ok(tx) => tx.as_ref().is_some_and(|tx| tx.send(job).is_ok()),
            Err(_) => false,
        };
        if !sent {
            return Err(JobError::Gone);
        }
        result.await.unwrap_or(Err(JobError::Gone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_at_background_priority_and_panics_do_not_kill_threads() {
        let pool = Pool::new("test-pool", 1);
        assert_eq!(pool.threads(), 1);
        #[cfg(target_os = "linux")]
        {
            let nice = || rustix::process::getpriority_process(Some(rustix::thread::gettid()));
            // A new thread starts with its creator's nice value.
            let ours = nice().unwrap();
            let theirs = pool.run(nice).await.unwrap().unwrap();
            assert_eq!(theirs, (ours + BACKGROUND_NICE).min(NICEST));
        }
        let err = pool.run(|| -> u32 { panic!("boom") }).await.unwrap_err();
        assert_eq!(err, JobError::Panicked("boom".into()));
        // The one thread survived the panic and takes the next job.
        assert_eq!(pool.run(|| 41 + 1).await, Ok(42));
    }

    /// Calls `courtesy` for `busy` nanoseconds and answers how often it yielded.
    fn courtesy_for(busy: u64) -> u32 {
        let start = crate::clock::real_nanos();
        while crate::clock::real_nanos() - start < busy {
            courtesy();
        }
        YIELDS.with(|y| y.get())
    }

    #[tokio::test]
    async fn background_threads_offer_the_core_every_slice_and_request_threads_never() {
        let busy = 20_000_000;
        let pool = Pool::new("test-pool", 1);
        let yields = pool.run(move || courtesy_for(busy)).await.unwrap();
        // About one yield per 200 µs slice: 100 in 20 ms, one more if the first call yields
        // at once (the thread's slice began when it started); fewer on a busy machine, where
        // the yields themselves take time, never more.
        let most = (busy / COURTESY_SLICE_NANOS) as u32 + 1;
        assert!(
            (10..=most).contains(&yields),
            "{yields} yields in 20 ms of background work"
        );
        // This thread answers requests (a runtime worker): it never gives way.
        assert_eq!(courtesy_for(busy), 0);
    }

    #[tokio::test]
    async fn jobs_spread_over_the_threads() {
        let pool = Arc::new(Pool::new("test-pool", 2));
        let gate = Arc::new(std::sync::Barrier::new(2));
        // Two jobs that each wait for the other can only finish if they run at once.
        let (a, b) = tokio::join!(
            pool.run({
                let g = Arc::clone(&gate);
                move || g.wait().is_leader()
            }),
            pool.run({
                let g = Arc::clone(&gate);
                move || g.wait().is_leader()
            })
        );
        assert!(a.unwrap() ^ b.unwrap());
    }
}
