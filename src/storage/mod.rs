//! The durable store under `--storage.path`: one redb file (`tocsin.redb`) holding every piece
//! of state that must survive a restart or a `kill -9` (alerts, silences, notification log,
//! heartbeat checks, aggregation-group timers).
//!
//! State modules never open files (DESIGN.md §3): each encodes its own entries to bytes and hands
//! them to a [`Journal`] as [`Change`]s (put or delete a key of one [`Kind`]); `app.rs` wires
//! the journal in and loads what [`Store::open`] read back. This module knows tables, bytes and
//! durability, nothing of what the bytes mean.
//!
//! How a change becomes durable (`writer.rs`, `wal.rs`): changes queue in memory; one writer
//! thread takes everything queued, appends it to the current log segment (a plain file beside
//! the redb file) as one record and `fdatasync`s it (group commit: concurrent requests share one
//! sync), then publishes the sequence number now durable. A request that must not answer before
//! its change is durable waits for that number ([`Journal::durable`]). When a segment passes a
//! size, or writes pause, it is sealed, and a folder thread folds it into the per-kind tables in
//! the background, one entry per key, so a key written many times (an alert re-sent every
//! evaluation) costs one table write per fold and a fold never holds up a commit. Start-up reads
//! the tables and replays the segments they do not hold yet over them.
//!
//! When a write fails (disk full, read-only file system) the writer marks the store unwritable:
//! waiters get the reason (the API answers 503 with it, `/-/ready` says it), the daemon keeps
//! running from memory, and every second the writer reopens the file and writes the whole state
//! from memory (the resync source the app registers); once that succeeds the store is writable
//! again and nothing that was answered 2xx was lost.
//!
//! The file carries a format number ([`FORMAT`]) in its `meta` table; a damaged file or one of a
//! newer format stops start-up with a message naming the file and the way out (move it aside, or
//! `--storage.reset`, which keeps a copy). Layer L1: imports std, redb, tokio's `watch`.

mod db;
mod wal;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tokio::sync::watch;

pub use db::{Contents, DB_FILE, Entry, HEARTBEATS_FILE};

/// The storage format this build writes and reads. Bumped whenever a table or an encoding
/// changes; a file with a greater number is refused at start-up. 2: the `groups` table. 3: the
/// `notification_history` table. 4: the log in segment files beside the file (`wal.rs`), `meta`
/// `wal_from`. 5: segments written in place and recycled: checks seeded with `meta` `wal_id`
/// and the segment number, an end record in each sealed segment (format 4's segments are
/// folded at start-up). 6: log records may hold patches ([`Journal::patch_with`]); a store of
/// format 5 is read as it is and stamped 6 at start-up.
pub const FORMAT: u64 = 6;

/// What kind of state a key belongs to: one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Alerts, by fingerprint.
    Alerts,
    /// Silences, by id.
    Silences,
    /// Notification-log entries, by (group key, receiver, integration, index).
    Nflog,
    /// Heartbeat check state, by check name.
    Heartbeats,
    /// Aggregation-group timers (next flush, a flush in flight), by group.
    Groups,
    /// Notification history (every due notification and its attempts), by notification id.
    History,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Alerts,
        Kind::Silences,
        Kind::Nflog,
        Kind::Heartbeats,
        Kind::Groups,
        Kind::History,
    ];

    /// Its table's name.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Alerts => "alerts",
            Kind::Silences => "silences",
            Kind::Nflog => "nflog",
            Kind::Heartbeats => "heartbeats",
            Kind::Groups => "groups",
            Kind::History => "notification_history",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(c: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(c)).copied()
    }
}

/// One change: put `value` at `key` of `kind`, or delete the key (`value` None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The table.
    pub kind: Kind,
    /// The key.
    pub key: Vec<u8>,
    /// The new value; None deletes the key.
    pub value: Option<Vec<u8>>,
}

impl Change {
    /// A put.
    pub fn put(kind: Kind, key: impl Into<Vec<u8>>, value: Vec<u8>) -> Self {
        Change {
            kind,
            key: key.into(),
            value: Some(value),
        }
    }

    /// A delete.
    pub fn delete(kind: Kind, key: impl Into<Vec<u8>>) -> Self {
        Change {
            kind,
            key: key.into(),
            value: None,
        }
    }
}

/// Everything the app holds, as changes: what the writer writes when it rebuilds the file from
/// memory after a failure.
pub type ResyncSource = Box<dyn Fn() -> Vec<Change> + Send + Sync>;

/// Why the store cannot take writes now (the text `/-/ready` and a 503 show).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage: {0}")]
pub struct Unwritable(pub Arc<str>);

/// Why start-up cannot use the store. Each message names the file and the way out.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file is damaged (redb could not open or repair it, or its content does not decode).
    #[error(
        "{path}: the state store is damaged ({detail}); tocsin does not start on it so that \
         nothing in it is lost silently. Move the file aside, or start once with \
         --storage.reset (which keeps a copy of it beside the new one)"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Written by a newer tocsin.
    #[error(
        "{path}: the state store has format {found}, newer than this tocsin reads ({FORMAT}); \
         run the newer tocsin, move the file aside, or start with --storage.reset (which keeps \
         a copy of it beside the new one)"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The format found.
        found: u64,
    },
    /// Another process has the file open.
    #[error(
        "{path}: the state store is in use by another process (another tocsin on the same \
         --storage.path?); stop it or give this one its own --storage.path"
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The directory or file cannot be written (read-only file system, no permission): a
    /// setup error that does not heal by itself, unlike a full disk.
    #[error(
        "{path}: tocsin cannot write its state store there ({reason}); make --storage.path a \
         writable directory (the file is created in it), or run with --storage.in-memory to \
         keep nothing on disk"
    )]
    NotWritable {
        /// The file.
        path: PathBuf,
        /// Why (`read-only file system`, `permission denied`, with the system's message).
        reason: Arc<str>,
    },
    /// The directory or file could not be created or read.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How far the writer got, published after each commit.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// Every change numbered up to this one has been handled (written or refused).
    done: u64,
    /// Every change numbered up to this one is durable.
    durable: u64,
    /// Every change numbered up to this one is written to the file (kept by the kernel if the
    /// process is killed); `durable` or ahead of it (a deferred-sync lane's commits).
    written: u64,
    /// Why the store takes no writes now (None: it does).
    error: Option<Arc<str>>,
}

/// What the submitters and the writer share.
struct Queue {
    /// The number of the last change queued.
    head: u64,
    /// Changes not yet taken by the writer, already in the log's encoding (see
    /// `db::encode_change`): the writer appends them as they are, and submitting costs a copy
    /// into a buffer whose capacity is reused, not an allocation per change.
    bytes: Vec<u8>,
    /// The highest change number someone waits for ([`Journal::durable`]): the writer commits
    /// as soon as it is above what was written, and lets changes nobody waits for gather for
    /// up to [`writer::LINGER`].
    wanted: u64,
    /// The writer is parked on `wake` (only then does a waiter need to wake it).
    parked: bool,
    /// Set by [`Store::close`].
    stop: bool,
}

struct Shared {
    /// The queue; its mutex is held only to copy bytes in or to swap the buffer out (never
    /// across encoding or I/O).
    queue: Mutex<Queue>,
    /// Wakes the writer.
    wake: Condvar,
    /// The writer's progress.
    progress: watch::Sender<Progress>,
    /// Where the whole state comes from after a failure.
    resync: Mutex<Option<ResyncSource>>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Pushing and taking are single operations: a poisoned lock is still consistent.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

thread_local! {
    /// Where [`Journal::put_with`] encodes a change before copying it into the queue, so
    /// encoding happens outside the queue's lock and allocates nothing once warm.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Scratch buffers above this size are dropped after use rather than kept per thread.
const SCRATCH_KEEP: usize = 1 << 20;

/// A handle to submit changes and wait for them to be durable. Cheap to clone; a journal made
/// with [`Journal::none`] keeps nothing (tests, `--storage.in-memory`).
#[derive(Clone, Default)]
pub struct Journal {
    shared: Option<Arc<Shared>>,
    /// The heartbeat file's writer, when this is the main journal: its failures count in
    /// [`Journal::health`], and the resync source writes its part of the state.
    also: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.shared.is_some() {
            "Journal(file)"
        } else {
            "Journal(none)"
        })
    }
}

impl Journal {
    /// A journal that keeps nothing: every change is "durable" at once.
    pub fn none() -> Self {
        Journal {
            shared: None,
            also: None,
        }
    }

    /// Whether changes go to a file.
    pub fn is_persistent(&self) -> bool {
        self.shared.is_some()
    }

    /// Queues changes; returns the number of the last one (wait for it with
    /// [`Journal::durable`]). Cheap: a copy into the queue under a mutex; the write happens on
    /// the writer thread once someone waits for it, or within its linger (200 ms).
    pub fn submit(&self, changes: impl IntoIterator<Item = Change>) -> u64 {
        let Some(s) = &self.shared else {
            return 0;
        };
        SCRATCH.with_borrow_mut(|buf| {
            buf.clear();
            let mut n = 0u64;
            for c in changes {
                db::encode_change(c.kind, &c.key, c.value.as_deref(), buf);
                n += 1;
            }
            let head = Self::enqueue(s, buf, n);
            if buf.capacity() > SCRATCH_KEEP {
                *buf = Vec::new();
            }
            head
        })
    }

    /// Queues one change (see [`Journal::submit`]).
    pub fn push(&self, change: Change) -> u64 {
        self.submit(std::iter::once(change))
    }

    /// Queues a put of `key` in `kind` whose value `encode` appends to the buffer it is given:
    /// the value is encoded straight into a reused per-thread buffer (no allocation per
    /// change) and copied into the queue. Returns the change's number (see [`Journal::submit`]).
    pub fn put_with(&self, kind: Kind, key: &[u8], encode: impl FnOnce(&mut Vec<u8>)) -> u64 {
        let Some(s) = &self.shared else {
            return 0;
        };
        SCRATCH.with_borrow_mut(|buf| {
            buf.clear();
            db::encode_put_with(kind, key, buf, encode);
            let head = Self::enqueue(s, buf, 1);
            if buf.capacity() > SCRATCH_KEEP {
                *buf = Vec::new();
            }
            head
        })
    }

    /// Queues a patch of `key` in `kind`: the bytes `encode` appends overwrite those at byte `at`
    /// of its value, which is `base_len` bytes long. The caller promises that the value this
    /// journal last stored at the key (a put, and the patches queued since) is that long and
    /// differs from the new one only in those bytes: what a re-sent alert whose content did
    /// not change writes instead of the whole alert. Returns the change's number (see
    /// [`Journal::submit`]).
    pub fn patch_with(
        &self,
        kind: Kind,
        key: &[u8],
        base_len: u32,
        at: u32,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> u64 {
        let Some(s) = &self.shared else {
            return 0;
        };
        SCRATCH.with_borrow_mut(|buf| {
            buf.clear();
            db::encode_patch_with(kind, key, base_len, at, buf, encode);
            let head = Self::enqueue(s, buf, 1);
            if buf.capacity() > SCRATCH_KEEP {
                *buf = Vec::new();
            }
            head
        })
    }

    fn enqueue(s: &Shared, encoded: &[u8], n: u64) -> u64 {
        let mut q = s.queue();
        let was_empty = q.bytes.is_empty();
        q.bytes.extend_from_slice(encoded);
        q.head += n;
        // The first change after a pause wakes a parked writer so that it starts its linger
        // (it commits after LINGER, or at once when someone waits): without this, a change
        // nobody waits for would wait for the writer's idle timeout (5 s, or an hour with no
        // segment open).
        if was_empty && q.parked {
            q.parked = false;
            s.wake.notify_one();
        }
        q.head
    }

    /// The number of the last change queued so far: waiting for it covers every change made
    /// before this call.
    pub fn head(&self) -> u64 {
        self.shared.as_ref().map_or(0, |s| s.queue().head)
    }

    /// Waits until change `seq` (and every one before it) is durable, or says why it could not
    /// be written.
    pub async fn durable(&self, seq: u64) -> Result<(), Unwritable> {
        self.wait(seq, |p| p.durable).await
    }

    /// Waits until `reached` of the writer's progress is at `seq` or beyond.
    async fn wait(&self, seq: u64, reached: fn(&Progress) -> u64) -> Result<(), Unwritable> {
        let Some(s) = &self.shared else {
            return Ok(());
        };
        let mut rx = s.progress.subscribe();
        if reached(&rx.borrow()) < seq {
            // Tell the writer someone waits (it commits at once), waking it if it is parked.
            let mut q = s.queue();
            if q.wanted < seq {
                q.wanted = seq;
                if q.parked {
                    q.parked = false;
                    s.wake.notify_one();
                }
            }
        }
        // A failed commit is `done` without being written; a deferred-sync commit is written
        // and `done` before it is durable.
        let p = match rx
            .wait_for(|p| p.done >= seq && (reached(p) >= seq || p.error.is_some()))
            .await
        {
            Ok(p) => p.clone(),
            Err(_) => return Err(Unwritable(Arc::from("the storage writer stopped"))),
        };
        if reached(&p) >= seq {
            Ok(())
        } else {
            Err(Unwritable(p.error.unwrap_or_else(|| {
                Arc::from("the write failed; retrying in the background")
            })))
        }
    }

    /// Waits until change `seq` is written to the file (see [`Store::open`]: on the heartbeat
    /// file that is before its sync; on the main file it is its sync).
    pub async fn written(&self, seq: u64) -> Result<(), Unwritable> {
        self.wait(seq, |p| p.written).await
    }

    /// Waits until everything queued so far is durable.
    pub async fn sync(&self) -> Result<(), Unwritable> {
        self.durable(self.head()).await
    }

    /// Whether the store takes writes now (for `/-/ready`).
    pub fn health(&self) -> Result<(), Unwritable> {
        for s in [&self.shared, &self.also].into_iter().flatten() {
            if let Some(e) = &s.progress.borrow().error {
                return Err(Unwritable(Arc::clone(e)));
            }
        }
        Ok(())
    }

    /// Registers where the whole state comes from when a writer must rebuild its file (each
    /// file takes its part: the heartbeat file the heartbeat states, the main file the rest).
    pub fn set_resync(&self, source: ResyncSource) {
        let source: Arc<ResyncSource> = Arc::new(source);
        let split = self.also.is_some();
        if let Some(s) = &self.shared {
            let f = Arc::clone(&source);
            let part: ResyncSource = Box::new(move || {
                let mut all = f();
                if split {
                    all.retain(|c| c.kind != Kind::Heartbeats);
                }
                all
            });
            *s.resync.lock().unwrap_or_else(|p| p.into_inner()) = Some(part);
        }
        if let Some(h) = &self.also {
            let f = Arc::clone(&source);
            let part: ResyncSource = Box::new(move || {
                let mut all = f();
                all.retain(|c| c.kind == Kind::Heartbeats);
                all
            });
            *h.resync.lock().unwrap_or_else(|p| p.into_inner()) = Some(part);
        }
    }
}

/// Options of [`Store::open`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// `--storage.reset`: move an existing file aside (kept as a copy) and start empty.
    pub reset: bool,
    /// The size at which a log segment is sealed and folded (0: the default, 64 MiB); tests set
    /// a small one to exercise sealing, folding and recycling.
    pub segment_bytes: u64,
}

/// The open store: owns the writer threads of its two files. Dropping it without
/// [`Store::close`] leaves the writers running until the process ends (as after `kill -9`,
/// nothing is lost).
pub struct Store {
    journal: Journal,
    heartbeats: Journal,
    threads: Vec<std::thread::JoinHandle<()>>,
    path: PathBuf,
    /// The heartbeat file's syncer (tests hold it).
    #[cfg(test)]
    heartbeat_syncer: Option<Arc<writer::Syncer>>,
}

/// One file and its writer: what [`Store::open`] does twice.
struct Lane {
    shared: Arc<Shared>,
    thread: std::thread::JoinHandle<()>,
    /// A deferred-sync lane's syncer (tests hold it).
    #[cfg(test)]
    syncer: Option<Arc<writer::Syncer>>,
}

impl Lane {
    /// Opens the file at `path` (see [`Store::open`]): what it holds, not yet written to.
    fn prepare(dir: &Path, path: &Path, opts: &OpenOptions) -> Result<db::Opened, OpenError> {
        let opened = db::open(dir, path, opts)?;
        if let Some(why) = &opened.unwritable
            && !why.starts_with("disk full")
        {
            return Err(OpenError::NotWritable {
                path: path.to_path_buf(),
                reason: Arc::clone(why),
            });
        }
        Ok(opened)
    }

    /// Starts the writer of an opened file; a `background` writer runs at a lower CPU priority
    /// ([`crate::workers`]): the alerts' writer copies whole ingest batches, and must not take
    /// the core from a ping waiting on the heartbeats' writer.
    fn start(
        path: PathBuf,
        opened: db::Opened,
        opts: &OpenOptions,
        thread_name: &str,
        background: bool,
        deferred_sync: bool,
    ) -> Result<Lane, OpenError> {
        let (progress, _) = watch::channel(Progress {
            error: opened.unwritable.clone(),
            ..Progress::default()
        });
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                head: 0,
                bytes: Vec::new(),
                wanted: 0,
                parked: false,
                stop: false,
            }),
            wake: Condvar::new(),
            progress,
            resync: Mutex::new(None),
        });
        let syncer = deferred_sync.then(|| Arc::new(writer::Syncer::default()));
        if let Some(sy) = &syncer {
            let (sy, sh) = (Arc::clone(sy), Arc::clone(&shared));
            std::thread::Builder::new()
                .name("tocsin-sync".into())
                .spawn(move || sy.run(&sh))
                .map_err(|source| OpenError::Io {
                    path: path.clone(),
                    action: "starting the storage syncer",
                    source,
                })?;
        }
        let mut w = writer::Writer::new(
            path.clone(),
            opened.db,
            writer::WriterSetup {
                broken: opened.unwritable,
                segments: opened.segments,
                next_segment: opened.next_segment,
                wal_id: opened.wal_id,
                spares: opened.spares,
                checkpoint: if opts.segment_bytes > 0 {
                    opts.segment_bytes
                } else {
                    writer::CHECKPOINT_BYTES
                },
                syncer: syncer.clone(),
            },
        );
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(thread_name.into())
            .spawn(move || {
                if background {
                    crate::workers::lower_this_thread();
                }
                w.run(&s)
            })
            .map_err(|source| OpenError::Io {
                path: path.clone(),
                action: "starting the storage writer",
                source,
            })?;
        Ok(Lane {
            shared,
            thread,
            #[cfg(test)]
            syncer,
        })
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, returns it and what it holds. A damaged or newer
    /// file is an error, and so is one that cannot be written because of the setup (read-only
    /// file system, no permission: [`OpenError::NotWritable`]); a file that can be read but not
    /// written because the disk is full opens unwritable: its content is returned, writes wait
    /// for space.
    ///
    /// Heartbeat check states live in a file of their own ([`HEARTBEATS_FILE`], with its own
    /// log and writer), so that a ping's commit is a small write that never waits behind an
    /// ingest batch's. States an older tocsin kept in the main file are moved to it.
    pub fn open(dir: &Path, opts: &OpenOptions) -> Result<(Store, Contents), OpenError> {
        let path = dir.join(DB_FILE);
        let hb_path = dir.join(HEARTBEATS_FILE);
        let mut main = Lane::prepare(dir, &path, opts)?;
        let mut hb = Lane::prepare(dir, &hb_path, opts)?;
        let mut contents = std::mem::take(&mut main.contents);
        let hb_entries = hb.contents.take(Kind::Heartbeats);
        let old = contents.take(Kind::Heartbeats);
        let have: std::collections::HashSet<Vec<u8>> =
            hb_entries.iter().map(|(k, _)| k.clone()).collect();
        let missing: Vec<Entry> = old
            .iter()
            .filter(|(k, _)| !have.contains(k))
            .cloned()
            .collect();
        // States in the main file (an older tocsin's) are written straight into the heartbeat
        // file's tables (its writer has not started), then deleted from the main file through
        // its log; until that worked they stay where they are.
        let mut moved: Vec<Vec<u8>> = Vec::new();
        if !old.is_empty() {
            let r = match &hb.db {
                Some(db) => db::insert_entries(db, Kind::Heartbeats, &missing),
                None => Err(redb::Error::Corrupted("not writable".into())),
            };
            match r {
                Ok(()) => moved = old.into_iter().map(|(k, _)| k).collect(),
                Err(e) => {
                    tracing::warn!(file = %hb_path.display(), error = %e, "Moving the heartbeat states to their own file failed; they stay in the main file for now.");
                }
            }
        }
        let mut merged = missing;
        merged.extend(hb_entries);
        contents.entries.insert(Kind::Heartbeats, merged);
        let main = Lane::start(path.clone(), main, opts, "tocsin-storage", true, false)?;
        let hb = match Lane::start(hb_path, hb, opts, "tocsin-hb-store", false, true) {
            Ok(l) => l,
            Err(e) => {
                Self::stop_lanes(vec![main]);
                return Err(e);
            }
        };
        let store = Store {
            journal: Journal {
                shared: Some(Arc::clone(&main.shared)),
                also: Some(Arc::clone(&hb.shared)),
            },
            heartbeats: Journal {
                shared: Some(Arc::clone(&hb.shared)),
                also: None,
            },
            #[cfg(test)]
            heartbeat_syncer: hb.syncer.clone(),
            threads: vec![main.thread, hb.thread],
            path,
        };
        if !moved.is_empty() {
            store.journal.submit(
                moved
                    .into_iter()
                    .map(|k| Change::delete(Kind::Heartbeats, k)),
            );
        }
        Ok((store, contents))
    }

    fn stop_lanes(lanes: Vec<Lane>) {
        for l in lanes {
            {
                let mut q = l.shared.queue();
                q.stop = true;
                q.parked = false;
            }
            l.shared.wake.notify_one();
            let _ = l.thread.join();
        }
    }

    /// The journal to hand to the state modules (heartbeat states excepted).
    pub fn journal(&self) -> Journal {
        self.journal.clone()
    }

    /// The journal of the heartbeat check states (their own file).
    pub fn heartbeat_journal(&self) -> Journal {
        self.heartbeats.clone()
    }

    /// The main file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes what is queued, folds the logs into the tables and closes the files. Blocking:
    /// call it from a blocking thread.
    pub fn close(mut self) {
        for s in [&self.journal.shared, &self.heartbeats.shared]
            .into_iter()
            .flatten()
        {
            let mut q = s.queue();
            q.stop = true;
            q.parked = false;
            drop(q);
            s.wake.notify_one();
        }
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
    }
}

/// A short reason for an I/O failure, as `/-/ready` shows it (`disk full`, `read-only file
/// system`, `permission denied`), followed by the detail.
pub fn io_reason(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(28 | 27 | 122) => "disk full",
        Some(30) => "read-only file system",
        Some(13 | 1) => "permission denied",
        _ => match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::FileTooLarge => "disk full",
            std::io::ErrorKind::ReadOnlyFilesystem => "read-only file system",
            std::io::ErrorKind::PermissionDenied => "permission denied",
            _ => "I/O error",
        },
    }
}
