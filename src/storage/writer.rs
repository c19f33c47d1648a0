//! The writer thread: group commit into the log segments, and the way back after a failed
//! write; and the folder thread, which folds sealed segments into the tables.
//!
//! One loop: wait until someone waits for a queued change (or changes nobody waits for have
//! lingered for [`LINGER`]); take everything queued (already encoded, by swapping buffers);
//! append it to the current log segment as one record and `fdatasync` (one sync for every
//! request that queued meanwhile); publish how far is durable. Submitting never makes the
//! writer commit: only a waiter does (the first change after a pause wakes it to start its
//! linger), so a request's changes are all queued before the sync that covers them starts.
//! When the segment has grown past [`CHECKPOINT_BYTES`], or writes paused for
//! [`IDLE_CHECKPOINT`], it is sealed and handed to the folder, and the next write starts a new
//! one: folding (a B-tree write per key, about as much CPU as ingesting the alert, and a large
//! commit) never holds up a commit, and waits for a pause in writes or a backlog. After a failure the store is unwritable: queued
//! changes are refused at once (their waiters get the reason), and every [`RETRY`] the writer
//! reopens the file and rewrites it from the app's resync source, then drops every older log
//! segment; when that works, everything in memory is durable again.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use redb::Database;

use super::Shared;
use super::db;
use super::wal;
use crate::clock;

/// A log segment is sealed and folded into the tables once writes paused for
/// [`IDLE_CHECKPOINT`], or once it holds this many bytes (about 90,000 alerts' worth). A fold
/// rewrites each table page one of its keys falls on once however many of its keys changed:
/// fewer, larger folds cost less per alert than many small ones. (`OpenOptions::segment_bytes`
/// sets another size, for tests.)
pub(super) const CHECKPOINT_BYTES: u64 = 64 << 20;
/// At most this many folded segments are kept as spares (the rest are deleted).
const MAX_SPARES: usize = 2;
/// While writes go on, sealed segments wait for the folder until there are more than this
/// many; the oldest is folded then, and all of them once writes pause (or at a stop). A fold
/// costs about as much CPU as the ingest that wrote the segment, and skips every key a later
/// sealed segment changes again, so folding late takes that CPU away from a burst of writes and
/// writes an alert re-sent across segments once. The price: a start-up after a kill in a burst
/// replays up to this many segments and the open one (each up to [`CHECKPOINT_BYTES`]).
const FOLD_BACKLOG: usize = 1;

/// The length a prepared spare is filled to: a segment's size and room for the batch that
/// takes it past it.
fn prepared_len(checkpoint: u64) -> u64 {
    checkpoint + checkpoint / 16
}

/// Once a segment holds this much, the writer wants a spare ready (a store that never writes
/// this much between pauses never prepares one: it costs disk space and a write of its size).
fn prep_trigger(checkpoint: u64) -> u64 {
    (checkpoint / 8).min(1 << 20)
}
/// How long writes must pause before the current segment is sealed and folded.
const IDLE_CHECKPOINT: Duration = Duration::from_secs(5);
/// How long changes nobody waits for (timers' state, garbage collection) may stay queued.
pub(super) const LINGER: Duration = Duration::from_millis(200);
/// A batch buffer above this capacity is dropped after use rather than kept.
const BUF_KEEP: usize = 4 << 20;
/// How often an unwritable store (or a failed fold) tries again.
pub(super) const RETRY: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The folder's work.
#[derive(Default)]
struct FolderQueue {
    /// Sealed segments waiting to be folded, oldest first, with the bytes of records written
    /// to them when known (start-up's are read to their end record).
    segs: VecDeque<(u64, Option<u64>)>,
    /// Stop once they are folded.
    stop: bool,
    /// The writer wants a spare prepared.
    prep: bool,
    /// The writer has a segment open (writes go on): folds wait for a backlog or a pause.
    writing: bool,
}

/// What the writer and the folder share.
struct Folder {
    /// The file.
    path: PathBuf,
    /// The store's log id (seeds each segment's checks).
    wal_id: u64,
    /// The size a segment is sealed at.
    checkpoint: u64,
    /// The database; held by the folder for a fold, by the writer for a rewrite. None while it
    /// must be reopened (after a failure).
    db: Mutex<Option<Database>>,
    /// The folder's work.
    queue: Mutex<FolderQueue>,
    /// Wakes the folder.
    wake: Condvar,
    /// Spare segment files ready to be written in place, and the number the next one gets.
    spares: Mutex<(Vec<PathBuf>, u64)>,
}

impl Folder {
    /// The open database, reopened if a failure closed it.
    fn db<'a>(&self, slot: &'a mut Option<Database>) -> Result<&'a Database, redb::Error> {
        if slot.is_none() {
            let db = db::open_rw(&self.path)?;
            db::check_format(&self.path, &db).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
            *slot = Some(db);
        }
        slot.as_ref()
            .ok_or_else(|| redb::Error::Corrupted("not open".into()))
    }

    /// The folder thread: prepares a spare when the writer wants one, and folds sealed
    /// segments in order, until told to stop (and they are all folded, or one fails while
    /// stopping: it stays for start-up to replay).
    fn run(&self) {
        loop {
            let (job, stopping) = {
                let mut q = lock(&self.queue);
                loop {
                    if let Some(&front) = q.segs.front()
                        && (q.stop || !q.writing || q.segs.len() > FOLD_BACKLOG)
                    {
                        let later: Vec<(u64, Option<u64>)> =
                            q.segs.iter().skip(1).copied().collect();
                        break (Some((front, later)), q.stop);
                    }
                    // A spare is filled only while writes pause (and once the folds that
                    // may recycle one are done): filling it costs a write of its size.
                    if q.prep && !q.stop && !q.writing {
                        q.prep = false;
                        if lock(&self.spares).0.is_empty() {
                            break (None, q.stop);
                        }
                        continue;
                    }
                    if q.stop {
                        return;
                    }
                    q = self.wake.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            let Some(((n, len), later)) = job else {
                self.prepare();
                continue;
            };
            let seg = wal::segment_path(&self.path, n);
            let r = match read_segment(&seg, len) {
                Ok(bytes) => {
                    let later = self.later_keys(&later);
                    let mut slot = lock(&self.db);
                    // The writer may have rewritten the store (and dropped this segment) while
                    // the file was read: fold_segment skips a segment the tables are past.
                    let still = lock(&self.queue).segs.front().map(|f| f.0) == Some(n);
                    if still {
                        let r = match self.db(&mut slot) {
                            Ok(db) => {
                                db::fold_segment(db, n, &bytes, wal::seed(self.wal_id, n), &later)
                            }
                            Err(e) => Err(e),
                        };
                        if r.is_err() {
                            *slot = None;
                        }
                        r
                    } else {
                        Ok(())
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(redb::Error::Io(e)),
            };
            match r {
                Ok(()) => {
                    let mut q = lock(&self.queue);
                    if q.segs.front().map(|f| f.0) == Some(n) {
                        q.segs.pop_front();
                    }
                    drop(q);
                    // The tables hold it now (meta wal_from says so): the file is kept as a
                    // spare when it is large enough, else deleted.
                    self.recycle(&seg);
                }
                Err(e) => {
                    tracing::warn!(file = %seg.display(), error = %e, "Folding the log into the state store failed; the log keeps it, retrying.");
                    if stopping {
                        return;
                    }
                    let q = lock(&self.queue);
                    let _ = self.wake.wait_timeout(q, RETRY);
                }
            }
        }
    }

    /// The keys the sealed segments `later` change (none when one cannot be read: the fold
    /// then writes every key, which is always right).
    fn later_keys(&self, later: &[(u64, Option<u64>)]) -> db::LaterKeys {
        let mut keys = db::LaterKeys::new();
        for &(n, len) in later {
            let ok = read_segment(&wal::segment_path(&self.path, n), len)
                .is_ok_and(|b| db::segment_keys(&b, wal::seed(self.wal_id, n), &mut keys));
            if !ok {
                return db::LaterKeys::new();
            }
        }
        keys
    }

    /// Keeps a folded segment as a spare (renamed) when there is room and it was sealed for its
    /// size (one sealed when writes paused is usually small); deletes it otherwise.
    fn recycle(&self, seg: &std::path::Path) {
        let big = std::fs::metadata(seg).is_ok_and(|m| m.len() >= self.checkpoint);
        let mut spares = lock(&self.spares);
        if big && spares.0.len() < MAX_SPARES {
            let k = spares.1;
            spares.1 += 1;
            let to = wal::spare_path(&self.path, k);
            if std::fs::rename(seg, &to).is_ok() {
                spares.0.push(to);
                return;
            }
        }
        drop(spares);
        let _ = std::fs::remove_file(seg);
    }

    /// Fills a new spare (a write of a segment's size, off the commit path).
    fn prepare(&self) {
        let k = {
            let mut spares = lock(&self.spares);
            spares.1 += 1;
            spares.1 - 1
        };
        match wal::prepare_spare(&self.path, k, prepared_len(self.checkpoint)) {
            Ok(p) => lock(&self.spares).0.push(p),
            Err(e) => {
                let _ = std::fs::remove_file(wal::spare_path(&self.path, k));
                tracing::debug!(error = %e, "Preparing a log segment failed; segments are appended to instead.");
            }
        }
    }
}

/// A sealed segment's bytes: its first `len` bytes and its end record when `len` is known,
/// else the whole file.
fn read_segment(path: &std::path::Path, len: Option<u64>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    /// Read in pieces of this size, with a courtesy call between two: one read of a whole
    /// segment (64 MiB) keeps the folder in the kernel, off the core's other threads, for
    /// milliseconds.
    const PIECE: u64 = 256 << 10;
    let mut f = std::fs::File::open(path)?;
    let len = match len {
        Some(len) => len + 16,
        None => f.metadata()?.len(),
    };
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    while (bytes.len() as u64) < len {
        crate::workers::courtesy();
        let want = PIECE.min(len - bytes.len() as u64);
        if (&mut f).take(want).read_to_end(&mut bytes)? == 0 {
            break;
        }
    }
    Ok(bytes)
}

pub(super) struct Writer {
    /// The file.
    path: PathBuf,
    /// What the folder shares.
    folder: Arc<Folder>,
    /// The folder thread.
    folder_thread: Option<std::thread::JoinHandle<()>>,
    /// Why the store is unwritable, if it is.
    broken: Option<Arc<str>>,
    /// The segment being appended to (created on the first write after a seal).
    seg: Option<wal::Segment>,
    /// The number the next segment gets.
    next_segment: u64,
    /// The batch being written: swapped with the queue's buffer, so both keep their capacity.
    buf: Vec<u8>,
    /// The number of the last change taken from the queue.
    taken: u64,
    /// The store's log id.
    wal_id: u64,
    /// The size a segment is sealed at.
    checkpoint: u64,
    /// A deferred-sync lane's syncer: commits are written and answered at once, and synced
    /// by it right after (see [`Syncer`]).
    syncer: Option<Arc<Syncer>>,
}

/// The sync half of a deferred-sync lane (the heartbeats' file). On a disk busy with another
/// file's syncs (saturated ingest), one `fdatasync` waits for the device's whole cache: 5 ms
/// and more, where a ping's whole answer otherwise takes a fraction of a millisecond. So such a
/// lane's writer only writes each commit (the kernel keeps written bytes when the process is
/// killed, `kill -9` included) and publishes it as written; this thread syncs the segment right
/// after, one sync for everything written meanwhile, and publishes it as durable. Only a
/// crash of the machine itself can lose what was written and not yet synced.
#[derive(Default)]
pub(super) struct Syncer {
    job: Mutex<SyncJob>,
    wake: Condvar,
}

#[derive(Default)]
struct SyncJob {
    /// The segment the last commit went to, and that commit's number.
    file: Option<(Arc<std::fs::File>, u64)>,
    /// Up to which commit everything is synced.
    synced: u64,
    /// Set when the writer stops.
    stop: bool,
    /// Tests hold the syncer to see that answers do not wait for it.
    #[cfg(test)]
    held: bool,
}

impl Syncer {
    /// The commit numbered `upto` went to `file`: sync it (with everything before).
    fn written(&self, file: Arc<std::fs::File>, upto: u64) {
        lock(&self.job).file = Some((file, upto));
        self.wake.notify_one();
    }

    /// Everything up to `upto` is durable already (a sealed segment's sync covered it).
    fn synced(&self, upto: u64) {
        let mut j = lock(&self.job);
        j.synced = j.synced.max(upto);
    }

    /// Stops the thread once what was written is synced.
    pub(super) fn stop(&self) {
        lock(&self.job).stop = true;
        self.wake.notify_one();
    }

    /// Holds (or releases) the syncer, for tests.
    #[cfg(test)]
    pub(super) fn hold(&self, held: bool) {
        lock(&self.job).held = held;
        self.wake.notify_one();
    }

    /// The thread's loop.
    pub(super) fn run(&self, shared: &Shared) {
        loop {
            let (file, upto) = {
                let mut j = lock(&self.job);
                loop {
                    #[cfg(test)]
                    let held = j.held && !j.stop;
                    #[cfg(not(test))]
                    let held = false;
                    let due = j
                        .file
                        .as_ref()
                        .filter(|(_, upto)| *upto > j.synced && !held)
                        .map(|(f, upto)| (Arc::clone(f), *upto));
                    if let Some(due) = due {
                        break due;
                    }
                    if j.stop {
                        return;
                    }
                    j = self.wake.wait(j).unwrap_or_else(|p| p.into_inner());
                }
            };
            match file.sync_data() {
                Ok(()) => {
                    lock(&self.job).synced = upto;
                    shared
                        .progress
                        .send_modify(|p| p.durable = p.durable.max(upto));
                }
                Err(e) => {
                    // Left unsynced: the next commit's sync (or the segment's seal) tries
                    // again, and a failure there makes the store unwritable.
                    tracing::warn!(error = %e, "Syncing the heartbeats' log failed.");
                    let mut j = lock(&self.job);
                    if !j.stop {
                        j = self
                            .wake
                            .wait_timeout(j, RETRY)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                    drop(j);
                }
            }
        }
    }
}

/// What [`Writer::new`] is given besides the file and the database.
pub(super) struct WriterSetup {
    /// Why the store is unwritable, if it is.
    pub broken: Option<Arc<str>>,
    /// Start-up's segments, for the folder.
    pub segments: Vec<u64>,
    /// The number the next segment gets.
    pub next_segment: u64,
    /// The store's log id.
    pub wal_id: u64,
    /// Spare files found at start-up.
    pub spares: Vec<(u64, PathBuf)>,
    /// The size a segment is sealed at.
    pub checkpoint: u64,
    /// The syncer of a deferred-sync lane.
    pub syncer: Option<Arc<Syncer>>,
}

impl Writer {
    pub(super) fn new(path: PathBuf, db: Option<Database>, setup: WriterSetup) -> Self {
        let WriterSetup {
            broken,
            segments,
            next_segment,
            wal_id,
            spares,
            checkpoint,
            syncer,
        } = setup;
        let broken = if db.is_none() {
            broken.or_else(|| Some(Arc::from("not open")))
        } else {
            broken
        };
        let next_spare = spares.last().map_or(1, |(k, _)| k + 1);
        let folder = Arc::new(Folder {
            path: path.clone(),
            wal_id,
            checkpoint,
            db: Mutex::new(db),
            queue: Mutex::new(FolderQueue {
                segs: segments.into_iter().map(|n| (n, None)).collect(),
                ..FolderQueue::default()
            }),
            wake: Condvar::new(),
            spares: Mutex::new((spares.into_iter().map(|(_, p)| p).collect(), next_spare)),
        });
        let f = Arc::clone(&folder);
        let folder_thread = std::thread::Builder::new()
            .name("tocsin-fold".into())
            .spawn(move || {
                // Folding is deferred work nobody waits for: it yields the core to requests.
                crate::workers::lower_this_thread();
                f.run()
            })
            .inspect_err(|e| {
                tracing::error!(error = %e, "Starting the storage folder failed; the log is folded at the next start-up.");
            })
            .ok();
        Writer {
            path,
            folder,
            folder_thread,
            broken,
            seg: None,
            next_segment,
            buf: Vec::new(),
            taken: 0,
            wal_id,
            checkpoint,
            syncer,
        }
    }

    /// Publishes how far the writer got: `durable` is written and synced.
    fn publish(shared: &Shared, done: u64, durable: Option<u64>, error: Option<Arc<str>>) {
        shared.progress.send_modify(|p| {
            p.done = p.done.max(done);
            if let Some(d) = durable {
                p.durable = p.durable.max(d);
                p.written = p.written.max(d);
            }
            p.error = error;
        });
    }

    /// Publishes a deferred-sync commit: written, its sync to come.
    fn publish_written(shared: &Shared, head: u64) {
        shared.progress.send_modify(|p| {
            p.done = p.done.max(head);
            p.written = p.written.max(head);
            p.error = None;
        });
    }

    fn seg_bytes(&self) -> u64 {
        self.seg.as_ref().map_or(0, |s| s.bytes)
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
                    let wait = if pending {
                        LINGER
                    } else if self.broken.is_some() {
                        RETRY
                    } else if self.seg_bytes() > 0 {
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
            let bytes = self.seg_bytes();
            if bytes > 0 && (bytes >= self.checkpoint || timed_out || stop) {
                // A segment sealed for its size is followed by another: writes go on.
                self.seal(shared, !(timed_out || stop));
            }
            if stop {
                if let Some(syncer) = &self.syncer {
                    syncer.stop();
                }
                lock(&self.folder.queue).stop = true;
                self.folder.wake.notify_all();
                if let Some(t) = self.folder_thread.take() {
                    let _ = t.join();
                }
                if let Some(db) = lock(&self.folder.db).take()
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
        self.seg = None;
        lock(&self.folder.queue).writing = false;
        self.folder.wake.notify_all();
        Self::publish(shared, head, None, Some(why));
    }

    fn append(&mut self, shared: &Shared, head: u64) {
        if self.seg.is_none() {
            let n = self.next_segment;
            let spare = lock(&self.folder.spares).0.pop();
            let made =
                wal::Segment::create(&self.path, n, wal::seed(self.wal_id, n), spare.as_deref());
            match made {
                Ok(s) => {
                    self.next_segment += 1;
                    self.seg = Some(s);
                    lock(&self.folder.queue).writing = true;
                }
                Err(e) => return self.fail(shared, head, &redb::Error::Io(e)),
            }
        }
        let Some(seg) = &mut self.seg else {
            return;
        };
        let done = match &self.syncer {
            None => seg
                .append(&self.buf)
                .map(|()| Self::publish(shared, head, Some(head), None)),
            Some(syncer) => seg.write(&self.buf).map(|()| {
                Self::publish_written(shared, head);
                syncer.written(seg.file(), head);
            }),
        };
        if let Err(e) = done {
            return self.fail(shared, head, &redb::Error::Io(e));
        }
        // A store that writes much keeps a spare ready, and moves to it as soon as its
        // segment is written past its prepared length (every commit then appends, changing
        // the file's size).
        let (bytes, prepared) = (seg.bytes, seg.prepared);
        if bytes >= prep_trigger(self.checkpoint) {
            let ready = !lock(&self.folder.spares).0.is_empty();
            if !ready {
                let mut q = lock(&self.folder.queue);
                if !q.prep {
                    q.prep = true;
                    drop(q);
                    self.folder.wake.notify_all();
                }
            } else if bytes > prepared {
                self.seal(shared, true);
            }
        }
    }

    /// Seals the current segment (its end record, synced): the folder folds it; the next write
    /// starts a new one. `more`: writes go on (a segment sealed for its size), so the fold may
    /// wait (see [`FOLD_BACKLOG`]). A failure makes the store unwritable (an unsealed segment
    /// must stay the last one).
    fn seal(&mut self, shared: &Shared, more: bool) {
        let Some(mut seg) = self.seg.take() else {
            return;
        };
        if let Err(e) = seg.seal() {
            return self.fail(shared, self.taken, &redb::Error::Io(e));
        }
        if let Some(syncer) = &self.syncer {
            // The seal synced the segment: everything written to it is durable.
            syncer.synced(self.taken);
            Self::publish(shared, self.taken, Some(self.taken), None);
        }
        {
            let mut q = lock(&self.folder.queue);
            q.segs.push_back((seg.n, Some(seg.bytes)));
            q.writing = more;
        }
        self.folder.wake.notify_all();
    }

    /// Reopens the file and writes the whole state from memory, then drops every log segment
    /// (the rewrite holds all they did). Changes queued before the snapshot was taken are in it
    /// (each was applied to memory before it was queued).
    fn resync(&mut self, shared: &Shared) {
        self.seg = None;
        // Waits for a fold under way.
        let mut slot = lock(&self.folder.db);
        *slot = None;
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
        // Segments numbered below this one are no longer read.
        let from = self.next_segment;
        match db::rewrite(&db, &all, from, self.wal_id) {
            Ok(()) => {
                lock(&self.folder.queue).segs.clear();
                if let Ok(segs) = wal::list(&self.path) {
                    for (n, p) in segs {
                        if n < from {
                            let _ = std::fs::remove_file(p);
                        }
                    }
                }
                tracing::info!(file = %self.path.display(), entries = all.len(), "Storage writable again; the state in memory is written.");
                self.broken = None;
                *slot = Some(db);
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
