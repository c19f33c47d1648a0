//! The writer thread: group commit, checkpoints, and the way back after a failed write.
//!
//! One loop: wait until someone waits for a queued change (or changes nobody waits for have
//! lingered for [`LINGER`]); take everything queued (already encoded, by swapping buffers);
//! append it as one log record and commit (one fsync for every request that queued meanwhile);
//! publish how far is durable. Submitting never wakes the writer: only a waiter does, so a
//! request's changes are all queued before the commit that covers them starts. When the log
//! has grown past [`CHECKPOINT_BYTES`], or writes paused for [`IDLE_CHECKPOINT`], fold it into
//! the tables. After a failure the store is unwritable: queued changes are refused at once (their
//! waiters get the reason), and every [`RETRY`] the writer reopens the file and rewrites it from
//! the app's resync source; when that works, everything in memory is durable again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use redb::Database;

use super::Shared;
use super::db;
use crate::clock;

/// The log is folded into the tables once writes paused for [`IDLE_CHECKPOINT`], or once it
/// holds this many bytes (about 90,000 alerts' worth). Folding costs a B-tree write per key
/// changed since the last fold (about as much CPU as ingesting the alert), and a fold over many
/// records rewrites each table page once however many of its keys changed: fewer, larger folds
/// cost less per alert than many small ones.
const CHECKPOINT_BYTES: u64 = 64 << 20;
/// How long writes must pause before the log is folded.
const IDLE_CHECKPOINT: Duration = Duration::from_secs(5);
/// How long changes nobody waits for (timers' state, garbage collection) may stay queued.
pub(super) const LINGER: Duration = Duration::from_millis(200);
/// A batch buffer above this capacity is dropped after use rather than kept.
const BUF_KEEP: usize = 4 << 20;
/// How often an unwritable store tries again.
pub(super) const RETRY: Duration = Duration::from_secs(1);

pub(super) struct Writer {
    /// The file.
    path: PathBuf,
    /// The database while it is open for writing.
    db: Option<Database>,
    /// Why the store is unwritable, if it is.
    broken: Option<Arc<str>>,
    /// The next log record number.
    record: u64,
    /// Bytes appended to the log since the last checkpoint.
    log_bytes: u64,
    /// The batch being written: swapped with the queue's buffer, so both keep their capacity.
    buf: Vec<u8>,
    /// The number of the last change taken from the queue.
    taken: u64,
    /// A fold is under way: the writer folds a chunk of log per turn, taking and committing
    /// what requests wait for in between, until the log is empty.
    folding: bool,
}

impl Writer {
    pub(super) fn new(path: PathBuf, db: Option<Database>, broken: Option<Arc<str>>) -> Self {
        Writer {
            path,
            broken: if db.is_none() {
                broken.or_else(|| Some(Arc::from("not open")))
            } else {
                broken
            },
            db,
            record: 1,
            log_bytes: 0,
            buf: Vec::new(),
            taken: 0,
            folding: false,
        }
    }

    fn publish(shared: &Shared, done: u64, durable: Option<u64>, error: Option<Arc<str>>) {
        shared.progress.send_modify(|p| {
            p.done = p.done.max(done);
            if let Some(d) = durable {
                p.durable = p.durable.max(d);
            }
            p.error = error;
        });
    }

    /// The loop; returns after [`super::Store::close`].
    pub(super) fn run(&mut self, shared: &Shared) {
        let mut last_retry: Option<tokio::time::Instant> = None;
        loop {
            let (head, stop, timed_out) = {
                let mut q = shared.queue();
                let mut timed_out = false;
                let mut lingered = false;
                while !q.stop {
                    let pending = !q.bytes.is_empty();
                    if pending && (q.wanted > self.taken || lingered) {
                        break;
                    }
                    if self.folding && self.log_bytes > 0 && self.broken.is_none() {
                        // Back to the next chunk; what nobody waits for yet stays queued.
                        self.buf.clear();
                        break;
                    }
                    let wait = if pending {
                        LINGER
                    } else if self.broken.is_some() {
                        RETRY
                    } else if self.log_bytes > 0 {
                        IDLE_CHECKPOINT
                    } else {
                        Duration::from_secs(3600)
                    };
                    q.parked = true;
                    let (g, t) = shared
                        .wake
                        .wait_timeout(q, wait)
                        .unwrap_or_else(|p| p.into_inner());
                    q = g;
                    q.parked = false;
                    if t.timed_out() {
                        if pending {
                            lingered = true;
                            continue;
                        }
                        timed_out = true;
                        break;
                    }
                }
                self.buf.clear();
                let take = q.stop || (!q.bytes.is_empty() && (q.wanted > self.taken || lingered));
                if take {
                    std::mem::swap(&mut q.bytes, &mut self.buf);
                    (q.head, q.stop, timed_out)
                } else {
                    (self.taken, q.stop, timed_out)
                }
            };
            self.taken = head;
            if self.broken.is_some() {
                // Refuse what came at once, then try to come back (at most every RETRY).
                Self::publish(shared, head, None, self.broken.clone());
                let due = last_retry.is_none_or(|t| clock::instant() >= t + RETRY);
                if due || stop {
                    last_retry = Some(clock::instant());
                    self.resync(shared);
                }
            } else if !self.buf.is_empty() {
                self.append(shared, head);
            }
            if self.buf.capacity() > BUF_KEEP {
                self.buf = Vec::new();
            }
            if self.broken.is_none()
                && self.log_bytes > 0
                && (self.folding || self.log_bytes >= CHECKPOINT_BYTES || timed_out || stop)
            {
                self.fold(shared, head, stop);
            }
            if stop {
                if let Some(db) = self.db.take()
                    && let Err(e) = db.close()
                {
                    tracing::warn!(file = %self.path.display(), error = %e, "Closing the state store failed.");
                }
                return;
            }
        }
    }

    fn fail(&mut self, shared: &Shared, head: u64, e: &redb::Error) {
        let why = db::reason(&self.path, e);
        tracing::error!(reason = %why, "Storage write failed; answering 503 to writes and retrying every second.");
        self.broken = Some(Arc::clone(&why));
        self.db = None;
        Self::publish(shared, head, None, Some(why));
    }

    fn append(&mut self, shared: &Shared, head: u64) {
        let Some(db) = &self.db else {
            return;
        };
        match db::append(db, self.record, &self.buf) {
            Ok(()) => {
                self.record += 1;
                self.log_bytes += self.buf.len() as u64;
                Self::publish(shared, head, Some(head), None);
            }
            Err(e) => self.fail(shared, head, &e),
        }
    }

    /// Folds one chunk of the log (all of it when stopping).
    fn fold(&mut self, shared: &Shared, head: u64, all: bool) {
        let Some(db) = &self.db else {
            return;
        };
        let r = if all {
            db::checkpoint(db).map(|()| db::Folded {
                bytes: self.log_bytes,
                more: false,
            })
        } else {
            db::fold(db, db::FOLD_CHUNK)
        };
        match r {
            Ok(f) => {
                self.log_bytes = if f.more {
                    self.log_bytes.saturating_sub(f.bytes).max(1)
                } else {
                    0
                };
                self.folding = f.more;
            }
            Err(e) => {
                self.folding = false;
                self.fail(shared, head, &e);
            }
        }
    }

    /// Reopens the file and writes the whole state from memory. Changes queued before the
    /// snapshot was taken are in it (each was applied to memory before it was queued).
    fn resync(&mut self, shared: &Shared) {
        self.db = None;
        let db = match db::open_rw(&self.path) {
            Ok(db) => db,
            Err(e) => {
                let why = db::reason(&self.path, &redb::Error::from(e));
                self.broken = Some(Arc::clone(&why));
                Self::publish(shared, 0, None, Some(why));
                return;
            }
        };
        if let Err(e) = db::check_format(&self.path, &db) {
            // A newer tocsin took the file over meanwhile: never overwrite it.
            let why: Arc<str> = Arc::from(e.to_string());
            self.broken = Some(Arc::clone(&why));
            Self::publish(shared, 0, None, Some(why));
            return;
        }
        let head = {
            let mut q = shared.queue();
            q.bytes.clear();
            q.head
        };
        let all = {
            let source = shared.resync.lock().unwrap_or_else(|p| p.into_inner());
            match &*source {
                Some(f) => f(),
                // Start-up has not registered the state yet: writing nothing would erase it.
                None => return,
            }
        };
        match db::rewrite(&db, &all) {
            Ok(()) => {
                tracing::info!(file = %self.path.display(), entries = all.len(), "Storage writable again; the state in memory is written.");
                self.broken = None;
                self.db = Some(db);
                self.log_bytes = 0;
                self.folding = false;
                Self::publish(shared, head, Some(head), None);
            }
            Err(e) => {
                let why = db::reason(&self.path, &e);
                self.broken = Some(Arc::clone(&why));
                Self::publish(shared, head, None, Some(why));
            }
        }
    }
}
