//! The redb file: its tables, the format number, reading everything back, appending a log
//! record, folding the log into the tables, and rewriting the whole state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

use super::{Change, FORMAT, Kind, OpenError, OpenOptions, io_reason, wal};

/// The file's name under `--storage.path`.
pub const DB_FILE: &str = "tocsin.redb";
/// The heartbeat check states' file under `--storage.path` (format 5; before, they were in
/// [`DB_FILE`]).
pub const HEARTBEATS_FILE: &str = "tocsin-heartbeats.redb";

/// `meta`: "format" -> the format number.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The `meta` key holding the first log segment the tables do not hold.
const WAL_FROM: &str = "wal_from";
/// The `meta` key holding the store's log id, which seeds its segments' checks (format 5).
const WAL_ID: &str = "wal_id";
/// `log`: record number -> a batch of changes (see [`encode_change`]); written by format 3 and
/// older (now the log is in segment files, `wal.rs`), read and folded at start-up.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");

fn table(kind: Kind) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(kind.table())
}

/// The page cache redb may use: the state is all in memory already, the cache only serves the
/// writes' B-tree walks.
const CACHE_BYTES: usize = 16 << 20;

/// One stored entry: (key, value).
pub type Entry = (Vec<u8>, Vec<u8>);

/// What the store held at start-up, per kind: (key, value) pairs.
#[derive(Debug, Default)]
pub struct Contents {
    /// Entries by kind.
    pub entries: HashMap<Kind, Vec<Entry>>,
}

impl Contents {
    /// The entries of one kind (taken out).
    pub fn take(&mut self, kind: Kind) -> Vec<Entry> {
        self.entries.remove(&kind).unwrap_or_default()
    }

    /// How many entries of one kind.
    pub fn len(&self, kind: Kind) -> usize {
        self.entries.get(&kind).map_or(0, Vec::len)
    }
}

/// What [`open`] found.
pub(super) struct Opened {
    /// The database, when it could be opened for writing.
    pub db: Option<Database>,
    /// What it held.
    pub contents: Contents,
    /// Why it cannot be written now, if so.
    pub unwritable: Option<Arc<str>>,
    /// The log segments not yet folded into the tables (by number, ascending): sealed, for the
    /// folder.
    pub segments: Vec<u64>,
    /// The number the next segment gets.
    pub next_segment: u64,
    /// The log id seeding the checks of the segments written from now on.
    pub wal_id: u64,
    /// Spare segment files, by number.
    pub spares: Vec<(u64, PathBuf)>,
}

/// A failure of a write, classified: the reason `/-/ready` shows.
pub(super) fn reason(path: &Path, e: &redb::Error) -> Arc<str> {
    let short = match e {
        redb::Error::Io(io) => io_reason(io),
        redb::Error::PreviousIo => "an earlier write failed",
        redb::Error::Corrupted(_) => "damaged",
        _ => "write failed",
    };
    Arc::from(format!("{short} ({}: {e})", path.display()))
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> OpenError {
    OpenError::Damaged {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Whether an open failed because the file or its directory cannot be written (the content may
/// still be readable).
fn not_writable(e: &redb::DatabaseError) -> Option<&std::io::Error> {
    match e {
        redb::DatabaseError::Storage(redb::StorageError::Io(io))
            if matches!(
                io_reason(io),
                "read-only file system" | "permission denied" | "disk full"
            ) =>
        {
            Some(io)
        }
        _ => None,
    }
}

pub(super) fn open_rw(path: &Path) -> Result<Database, redb::DatabaseError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create_with_backend(Courteous(redb::backends::FileBackend::new(file)?))
}

/// redb's file backend, with a courtesy call ([`crate::workers::courtesy`]) before each read
/// and write: a fold's commit writes thousands of pages in one call into redb, which would
/// otherwise keep the folder on the core for milliseconds while a request thread waits.
/// Everything else (locks included) is redb's own.
#[derive(Debug)]
struct Courteous(redb::backends::FileBackend);

type Bound = std::ops::Bound<u64>;

impl redb::StorageBackend for Courteous {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.0.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        crate::workers::courtesy();
        self.0.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.0.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        crate::workers::courtesy();
        self.0.write(offset, data)
    }

    fn close(&self) -> Result<(), std::io::Error> {
        self.0.close()
    }

    fn try_lock_range(&self, start: Bound, end: Bound) -> Result<bool, redb::BackendError> {
        self.0.try_lock_range(start, end)
    }

    fn try_lock_shared_range(&self, start: Bound, end: Bound) -> Result<bool, redb::BackendError> {
        self.0.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound, end: Bound) -> Result<(), redb::BackendError> {
        self.0.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound, end: Bound) -> Result<(), redb::BackendError> {
        self.0.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound, end: Bound) -> Result<(), redb::BackendError> {
        self.0.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound, end: Bound) -> Result<bool, redb::BackendError> {
        self.0.query_lock_range(start, end)
    }
}

/// Opens the store for start-up: reset if asked, create the directory and file, check the
/// format, read everything back (tables, then the log over them), and fold the log.
pub(super) fn open(dir: &Path, path: &Path, opts: &OpenOptions) -> Result<Opened, OpenError> {
    if dir.exists() && !dir.is_dir() {
        return Err(OpenError::Io {
            path: dir.to_path_buf(),
            action: "using it as the storage directory",
            source: std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "it is a file, not a directory",
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| OpenError::Io {
        path: dir.to_path_buf(),
        action: "creating the storage directory",
        source,
    })?;
    if opts.reset && path.exists() {
        let copy = reset_copy_name(path);
        std::fs::rename(path, &copy).map_err(|source| OpenError::Io {
            path: path.to_path_buf(),
            action: "moving the old store aside for --storage.reset",
            source,
        })?;
        // Its log goes with it (replayed over the new, empty store it would bring it back).
        let segments = wal::list(path).map_err(|source| OpenError::Io {
            path: dir.to_path_buf(),
            action: "listing the store's log for --storage.reset",
            source,
        })?;
        for (n, seg) in segments {
            std::fs::rename(&seg, wal::segment_path(&copy, n)).map_err(|source| OpenError::Io {
                path: seg.clone(),
                action: "moving the old store's log aside for --storage.reset",
                source,
            })?;
        }
        tracing::warn!(file = %path.display(), copy = %copy.display(), "Storage reset: the old store is kept as a copy; starting empty.");
    }
    match open_rw(path) {
        Ok(db) => {
            check_format(path, &db)?;
            let (contents, mut wal) = read_all(path, &db, true)?;
            let wal_id = if wal.wal_id == 0 {
                new_wal_id()
            } else {
                wal.wal_id
            };
            let unwritable = match checkpoint(path, &db, &mut wal, wal_id) {
                Ok(()) => None,
                Err(e) => Some(reason(path, &e)),
            };
            // Format 4's segments left by a failed upgrade are not folded in the background
            // (they are unseeded): the writer's rewrite of the whole store supersedes them.
            let segments = if wal.wal_id == 0 {
                Vec::new()
            } else {
                wal.segments
            };
            Ok(Opened {
                db: unwritable.is_none().then_some(db),
                contents,
                unwritable,
                segments,
                next_segment: wal.next,
                wal_id,
                spares: spares(path),
            })
        }
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(OpenError::Locked {
            path: path.to_path_buf(),
        }),
        Err(e) if not_writable(&e).is_some() => {
            let why = reason(path, &redb::Error::from(e));
            if !path.exists() {
                return Ok(Opened {
                    db: None,
                    contents: Contents::default(),
                    unwritable: Some(why),
                    segments: Vec::new(),
                    next_segment: 1,
                    wal_id: new_wal_id(),
                    spares: Vec::new(),
                });
            }
            // Read what is there; writes wait until the file can be written again.
            let ro = redb::Builder::new()
                .set_cache_size(CACHE_BYTES)
                .open_read_only(path)
                .map_err(|e| match e {
                    redb::DatabaseError::Storage(redb::StorageError::Io(source)) => OpenError::Io {
                        path: path.to_path_buf(),
                        action: "reading the state store",
                        source,
                    },
                    e => damaged(path, e),
                })?;
            check_format(path, &ro)?;
            let (contents, wal) = read_all(path, &ro, false)?;
            // Format 4's segments are not folded in the background (they are unseeded): the
            // writer's rewrite of the whole store supersedes them.
            let (segments, wal_id) = if wal.wal_id == 0 {
                (Vec::new(), new_wal_id())
            } else {
                (wal.segments, wal.wal_id)
            };
            // The writer rewrites the whole store (and stamps a log id) before it writes a
            // segment: a store of format 4 is read here as it is.
            Ok(Opened {
                db: None,
                contents,
                unwritable: Some(why),
                segments,
                next_segment: wal.next,
                wal_id,
                spares: spares(path),
            })
        }
        Err(redb::DatabaseError::Storage(redb::StorageError::Io(source)))
            if source.kind() == std::io::ErrorKind::InvalidData =>
        {
            Err(damaged(path, source))
        }
        Err(redb::DatabaseError::Storage(redb::StorageError::Io(source))) => Err(OpenError::Io {
            path: path.to_path_buf(),
            action: "opening the state store",
            source,
        }),
        Err(e) => Err(damaged(path, e)),
    }
}

/// `<file>.reset-<unix seconds>`: where `--storage.reset` moves the old file.
fn reset_copy_name(path: &Path) -> PathBuf {
    let secs = crate::clock::now().as_second();
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".reset-{secs}"));
    let mut p = PathBuf::from(name);
    let mut n = 1;
    while p.exists() {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".reset-{secs}-{n}"));
        p = PathBuf::from(name);
        n += 1;
    }
    p
}

/// A new log id: what seeds the checks of a store's segments, so that nothing another store
/// (or an older segment) left in a recycled file checks. Not a secret: time and process id.
fn new_wal_id() -> u64 {
    let nanos = crate::clock::now().as_nanosecond() as u64;
    let mixed = (nanos ^ (u64::from(std::process::id()) << 40))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29);
    if mixed == 0 { 1 } else { mixed }
}

/// The spare segment files beside `path` (none when they cannot be listed: segments are then
/// made afresh).
fn spares(path: &Path) -> Vec<(u64, PathBuf)> {
    wal::list_spares(path).unwrap_or_default()
}

/// Checks the format number (a new file has none yet: the first checkpoint writes ours).
pub(super) fn check_format(path: &Path, db: &impl ReadableDatabase) -> Result<(), OpenError> {
    let found = {
        let rtx = db.begin_read().map_err(|e| damaged(path, e))?;
        match rtx.open_table(META) {
            Ok(t) => t
                .get("format")
                .map_err(|e| damaged(path, e))?
                .map(|v| v.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(damaged(path, e)),
        }
    };
    match found {
        Some(f) if f > FORMAT => Err(OpenError::Newer {
            path: path.to_path_buf(),
            found: f,
        }),
        _ => Ok(()),
    }
}

/// The log segments start-up found.
pub(super) struct WalState {
    /// The segments the tables do not hold yet, ascending.
    pub segments: Vec<u64>,
    /// The number the next segment gets.
    pub next: u64,
    /// The store's log id (0: none yet, or a store of format 4 whose segments are unseeded).
    pub wal_id: u64,
    /// Why the segment a crash left open could not be sealed (the store is then unwritable
    /// until the writer rewrites it, so no segment follows an open one).
    pub seal_failed: Option<std::io::Error>,
}

/// `meta` `wal_id`: the store's log id (0 when it has none: format 4 and older, or new).
fn wal_id(rtx: &redb::ReadTransaction) -> Result<u64, redb::Error> {
    match rtx.open_table(META) {
        Ok(t) => Ok(t.get(WAL_ID)?.map_or(0, |v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// `meta` `wal_from`: the first log segment the tables do not hold (0 when never set).
fn wal_from(rtx: &redb::ReadTransaction) -> Result<u64, redb::Error> {
    match rtx.open_table(META) {
        Ok(t) => Ok(t.get(WAL_FROM)?.map_or(0, |v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Applies the changes of a log record to `maps`; false if it is malformed.
fn replay(maps: &mut HashMap<Kind, HashMap<Vec<u8>, Vec<u8>>>, record: &[u8]) -> bool {
    let mut parsed = Vec::new();
    if parse_batch(record, &mut parsed).is_none() {
        return false;
    }
    for (kind, key, op) in parsed {
        let m = maps.entry(kind).or_default();
        match op {
            Op::Put(v) => {
                if let Some(old) = m.get_mut(key) {
                    old.clear();
                    old.extend_from_slice(v);
                } else {
                    m.insert(key.to_vec(), v.to_vec());
                }
            }
            Op::Delete => {
                m.remove(key);
            }
            Op::Patch(p) => {
                if let Some(old) = m.get_mut(key) {
                    p.apply(old);
                }
            }
        }
    }
    true
}

/// Reads every table, then replays the log over them: the `log` table (files of format 3 and
/// older), then the log segments from `wal_from` on. With `writable`, a torn end of the last
/// segment (a crash during its write) is cut off the file; anywhere else a record that does not
/// check is damage.
fn read_all(
    path: &Path,
    db: &impl ReadableDatabase,
    writable: bool,
) -> Result<(Contents, WalState), OpenError> {
    let rtx = db.begin_read().map_err(|e| damaged(path, e))?;
    let mut maps: HashMap<Kind, HashMap<Vec<u8>, Vec<u8>>> = HashMap::new();
    let mut tables = || -> Result<(), redb::Error> {
        for kind in Kind::ALL {
            let m = maps.entry(kind).or_default();
            match rtx.open_table(table(kind)) {
                Ok(t) => {
                    m.reserve(t.len()? as usize);
                    for row in t.iter()? {
                        let (k, v) = row?;
                        m.insert(k.value().to_vec(), v.value().to_vec());
                    }
                }
                Err(redb::TableError::TableDoesNotExist(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match rtx.open_table(LOG) {
            Ok(log) => {
                for row in log.iter()? {
                    let (n, batch) = row?;
                    if !replay(&mut maps, batch.value()) {
                        return Err(redb::Error::Corrupted(format!(
                            "log record {} does not decode",
                            n.value()
                        )));
                    }
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    };
    tables().map_err(|e| damaged(path, e))?;
    let from = wal_from(&rtx).map_err(|e| damaged(path, e))?;
    let id = wal_id(&rtx).map_err(|e| damaged(path, e))?;
    let all = wal::list(path).map_err(|source| OpenError::Io {
        path: path.to_path_buf(),
        action: "listing the store's log",
        source,
    })?;
    let next = all.last().map_or(from, |(n, _)| n + 1).max(from).max(1);
    let live: Vec<&(u64, PathBuf)> = all.iter().filter(|(n, _)| *n >= from).collect();
    let mut segments = Vec::new();
    let mut seal_failed = None;
    for (i, (n, seg)) in live.iter().enumerate() {
        let bytes = std::fs::read(seg).map_err(|source| OpenError::Io {
            path: seg.clone(),
            action: "reading the store's log",
            source,
        })?;
        // Format 4 and older: unseeded, appended, no end record.
        let seed = if id == 0 { 0 } else { wal::seed(id, *n) };
        let scan = wal::records(&bytes, seed);
        for r in &scan.payloads {
            if !replay(&mut maps, r) {
                return Err(damaged(seg, "a log record does not decode"));
            }
        }
        let last = i + 1 == live.len();
        if id == 0 {
            if scan.whole < bytes.len() {
                if !last {
                    return Err(damaged(
                        seg,
                        format!("a log record at byte {} does not check", scan.whole),
                    ));
                }
                if writable {
                    let cut = std::fs::OpenOptions::new()
                        .write(true)
                        .open(seg)
                        .and_then(|f| f.set_len(scan.whole as u64).and_then(|()| f.sync_all()));
                    if let Err(e) = cut {
                        tracing::warn!(file = %seg.display(), error = %e, "Cutting the torn end of the log failed.");
                    }
                }
                tracing::warn!(file = %seg.display(), kept = scan.whole, dropped = bytes.len() - scan.whole, "The log ended in a torn record (a crash during a write that was never acknowledged); it is dropped.");
            }
        } else if !scan.sealed {
            if !last {
                return Err(damaged(
                    seg,
                    format!(
                        "a log record at byte {} does not check, in a segment that was sealed",
                        scan.whole
                    ),
                ));
            }
            // The segment a crash left open: what follows its last whole record is a write
            // cut short (never acknowledged) or what an older segment left in the file.
            if writable {
                match wal::seal_at(seg, seed, scan.whole as u64) {
                    Ok(()) => {
                        tracing::info!(file = %seg.display(), kept = scan.whole, "The log's last segment was left open (a crash or kill); it is sealed after its last whole record.")
                    }
                    Err(e) => seal_failed = Some(e),
                }
            }
        }
        segments.push(*n);
    }
    // Segments the tables already hold are left from a fold whose clean-up did not finish.
    for (n, seg) in &all {
        if *n < from && writable {
            let _ = std::fs::remove_file(seg);
        }
    }
    Ok((
        Contents {
            entries: maps
                .into_iter()
                .map(|(k, m)| (k, m.into_iter().collect()))
                .collect(),
        },
        WalState {
            segments,
            next,
            wal_id: id,
            seal_failed,
        },
    ))
}

fn write_tx(db: &Database) -> Result<redb::WriteTransaction, redb::Error> {
    let mut tx = db.begin_write()?;
    tx.set_durability(Durability::Immediate)
        .map_err(|e| redb::Error::Corrupted(e.to_string()))?;
    Ok(tx)
}

/// Appends one batch as record `n` of the `log` table and commits (how format 3 logged; tests
/// make such files with it).
#[cfg(test)]
pub(super) fn append(db: &Database, n: u64, batch: &[u8]) -> Result<(), redb::Error> {
    let tx = write_tx(db)?;
    {
        let mut log = tx.open_table(LOG)?;
        log.insert(n, batch)?;
    }
    tx.commit()?;
    Ok(())
}

/// The log id stored in the file at `path` (0 when none).
#[cfg(test)]
pub(super) fn stored_wal_id(path: &Path) -> u64 {
    let Ok(d) = redb::Database::open(path) else {
        return 0;
    };
    d.begin_read()
        .ok()
        .and_then(|rtx| wal_id(&rtx).ok())
        .unwrap_or(0)
}

/// Brings the file to this format before the writer starts: folds the whole `log` table (left
/// by format 3 and older) into the tables and empties it (in transactions of at most
/// [`FOLD_CHUNK`] bytes of log), folds format 4's unseeded segments (so that every segment from
/// here on is seeded) and deletes them, then stamps the format and the log id. Start-up runs
/// it: it also tells whether the file can be written.
pub(super) fn checkpoint(
    path: &Path,
    db: &Database,
    wal: &mut WalState,
    wal_id: u64,
) -> Result<(), redb::Error> {
    if let Some(e) = wal.seal_failed.take() {
        return Err(redb::Error::Io(e));
    }
    while fold(db, FOLD_CHUNK)? {}
    if wal.wal_id == 0 && !wal.segments.is_empty() {
        for &n in &wal.segments {
            let bytes = std::fs::read(wal::segment_path(path, n))?;
            fold_segment(db, n, &bytes, 0, &LaterKeys::new())?;
        }
        for n in std::mem::take(&mut wal.segments) {
            let _ = std::fs::remove_file(wal::segment_path(path, n));
        }
    }
    let tx = write_tx(db)?;
    {
        let mut meta = tx.open_table(META)?;
        // A file of an older format is read by this one: from now on it carries ours, so an
        // older tocsin refuses it instead of misreading it.
        if meta.get("format")?.is_none_or(|v| v.value() < FORMAT) {
            meta.insert("format", FORMAT)?;
        }
        if meta.get(WAL_ID)?.is_none() {
            meta.insert(WAL_ID, wal_id)?;
        }
    }
    tx.commit()?;
    wal.wal_id = wal_id;
    Ok(())
}

/// How much of the `log` table one [`fold`] transaction takes at most: bounds the memory a
/// fold holds (the records it folds).
const FOLD_CHUNK: u64 = 64 << 20;

/// Folds the oldest records of the `log` table (at least one, then while under `max_bytes` in
/// all) into the tables and removes them, in one transaction; stamps the format. Returns
/// whether records remain.
fn fold(db: &Database, max_bytes: u64) -> Result<bool, redb::Error> {
    let tx = write_tx(db)?;
    let folded;
    {
        let mut log = tx.open_table(LOG)?;
        let mut tables: HashMap<Kind, redb::Table<&[u8], &[u8]>> = HashMap::new();
        for kind in Kind::ALL {
            tables.insert(kind, tx.open_table(table(kind))?);
        }
        let mut last = None;
        let mut more = false;
        let mut bytes = 0u64;
        {
            // Every change of the records taken, borrowed from them (no copy), in log order;
            // sorted by key (stable, so a key's changes keep their order) and only each key's
            // last change written: a key put many times since the last fold costs one write, and
            // the writes walk the tables in key order.
            let mut records = Vec::new();
            for row in log.iter()? {
                let (n, batch) = row?;
                let len = batch.value().len() as u64;
                if last.is_some() && bytes + len > max_bytes {
                    more = true;
                    break;
                }
                bytes += len;
                last = Some(n.value());
                records.push((n.value(), batch));
            }
            let mut changes = Vec::new();
            for (n, batch) in &records {
                parse_batch(batch.value(), &mut changes).ok_or_else(|| {
                    redb::Error::Corrupted(format!("log record {n} does not decode"))
                })?;
            }
            write_last_per_key(&mut changes, &mut tables)?;
        }
        if let Some(last) = last {
            log.retain_in(..=last, |_, _| false)?;
        }
        folded = more;
    }
    tx.commit()?;
    Ok(folded)
}

/// Folds the records of log segment `n` (its bytes) into the tables and records that the
/// tables hold every segment up to `n`, in one transaction.
/// `seed` seeds its checks (0 for format 4's segments). Keys in `later` (put or deleted again
/// in a later sealed segment, which start-up replays until it is folded in turn) are not
/// written: their later change is what counts.
pub(super) fn fold_segment(
    db: &Database,
    n: u64,
    bytes: &[u8],
    seed: u64,
    later: &LaterKeys,
) -> Result<(), redb::Error> {
    let scan = wal::records(bytes, seed);
    let mut changes = Vec::new();
    for r in scan.payloads {
        crate::workers::courtesy();
        parse_batch(r, &mut changes).ok_or_else(|| {
            redb::Error::Corrupted(format!("a record of log segment {n} does not decode"))
        })?;
    }
    if !later.is_empty() {
        changes.retain(|(kind, key, _)| !later.get(kind).is_some_and(|s| s.contains(*key)));
    }
    let tx = write_tx(db)?;
    let stale = {
        let meta = tx.open_table(META)?;
        meta.get(WAL_FROM)?.is_some_and(|v| v.value() > n)
    };
    if stale {
        // A rewrite since holds everything this segment did, and more.
        tx.abort()?;
        return Ok(());
    }
    {
        let mut meta = tx.open_table(META)?;
        meta.insert(WAL_FROM, n + 1)?;
        let mut tables: HashMap<Kind, redb::Table<&[u8], &[u8]>> = HashMap::new();
        for kind in Kind::ALL {
            tables.insert(kind, tx.open_table(table(kind))?);
        }
        write_last_per_key(&mut changes, &mut tables)?;
    }
    tx.commit()?;
    Ok(())
}

/// How many changes are sorted, merged or copied between two offers of the core
/// ([`crate::workers::courtesy`]): a few microseconds of work.
const SORT_PIECE: usize = 2048;

/// Sorts `changes` by kind and key, stably (a key's changes keep their order): a segment
/// holds up to about 100,000 changes, whose sort in one call keeps the folder off the core's
/// other threads for milliseconds. So pieces of [`SORT_PIECE`] are sorted, then merged pairwise,
/// with a courtesy call between pieces.
fn sort_by_key_in_pieces<'a>(changes: &mut [Parsed<'a>]) {
    fn key<'k>(c: &Parsed<'k>) -> (Kind, &'k [u8]) {
        (c.0, c.1)
    }
    for piece in changes.chunks_mut(SORT_PIECE) {
        crate::workers::courtesy();
        piece.sort_by(|a, b| key(a).cmp(&key(b)));
    }
    let mut scratch: Vec<Parsed<'a>> = Vec::with_capacity(changes.len());
    let mut width = SORT_PIECE;
    while width < changes.len() {
        scratch.clear();
        let mut at = 0;
        while at < changes.len() {
            let mid = (at + width).min(changes.len());
            let end = (at + 2 * width).min(changes.len());
            let (mut i, mut j) = (at, mid);
            while i < mid || j < end {
                if scratch.len().is_multiple_of(SORT_PIECE) {
                    crate::workers::courtesy();
                }
                // Ties take the left run's first: stable.
                if j == end || (i < mid && key(&changes[i]) <= key(&changes[j])) {
                    scratch.push(changes[i]);
                    i += 1;
                } else {
                    scratch.push(changes[j]);
                    j += 1;
                }
            }
            at = end;
        }
        for (to, from) in changes
            .chunks_mut(SORT_PIECE)
            .zip(scratch.chunks(SORT_PIECE))
        {
            crate::workers::courtesy();
            to.copy_from_slice(from);
        }
        width *= 2;
    }
}

/// Keys by kind (see [`fold_segment`]).
pub(super) type LaterKeys = HashMap<Kind, std::collections::HashSet<Vec<u8>>>;

/// Adds the keys a sealed segment's records put or delete to `keys` (not those it only
/// patches: a patch needs the earlier value under it); false if a record does not decode.
pub(super) fn segment_keys(bytes: &[u8], seed: u64, keys: &mut LaterKeys) -> bool {
    let mut changes = Vec::new();
    for r in wal::records(bytes, seed).payloads {
        crate::workers::courtesy();
        changes.clear();
        if parse_batch(r, &mut changes).is_none() {
            return false;
        }
        for (kind, key, op) in &changes {
            if matches!(op, Op::Patch(_)) {
                continue;
            }
            let set = keys.entry(*kind).or_default();
            if !set.contains(*key) {
                set.insert(key.to_vec());
            }
        }
    }
    true
}

/// Writes each key's last change of `changes` (in log order) to its table, in key order: its
/// last put or delete, with the patches that follow it applied; a key with only patches has
/// them applied to its value in the table.
fn write_last_per_key<'a>(
    changes: &mut [Parsed<'a>],
    tables: &mut HashMap<Kind, redb::Table<&[u8], &[u8]>>,
) -> Result<(), redb::Error> {
    sort_by_key_in_pieces(changes);
    let mut value = Vec::new();
    let mut start = 0;
    while start < changes.len() {
        crate::workers::courtesy();
        let (kind, key) = (changes[start].0, changes[start].1);
        let mut end = start + 1;
        while changes.get(end).is_some_and(|c| c.0 == kind && c.1 == key) {
            end += 1;
        }
        let run = &changes[start..end];
        start = end;
        let Some(t) = tables.get_mut(&kind) else {
            continue;
        };
        // The last put or delete of the key, and the patches after it.
        let base = run.iter().rposition(|c| !matches!(c.2, Op::Patch(_)));
        let patches = &run[base.map_or(0, |b| b + 1)..];
        match base.map(|b| &run[b].2) {
            Some(Op::Delete) => {
                t.remove(key)?;
                continue;
            }
            Some(Op::Put(v)) if patches.is_empty() => {
                t.insert(key, *v)?;
                continue;
            }
            Some(Op::Put(v)) => {
                value.clear();
                value.extend_from_slice(v);
            }
            _ => match t.get(key)? {
                Some(v) => {
                    value.clear();
                    value.extend_from_slice(v.value());
                }
                // Nothing to patch (see `Patch::apply`).
                None => continue,
            },
        }
        for c in patches {
            if let Op::Patch(p) = &c.2 {
                p.apply(&mut value);
            }
        }
        t.insert(key, value.as_slice())?;
    }
    Ok(())
}

/// Inserts `entries` into the table of `kind`, in one transaction (the
/// move of heartbeat states into their own file, before its writer starts).
pub(super) fn insert_entries(
    db: &Database,
    kind: Kind,
    entries: &[Entry],
) -> Result<(), redb::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let tx = write_tx(db)?;
    {
        let mut t = tx.open_table(table(kind))?;
        for (k, v) in entries {
            t.insert(k.as_slice(), v.as_slice())?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Replaces everything in the file with `changes` (the whole state), in one transaction; the
/// log segments before `wal_from` are no longer read.
/// `wal_id` is the log id the segments from `wal_from` on are seeded with.
pub(super) fn rewrite(
    db: &Database,
    changes: &[Change],
    wal_from: u64,
    wal_id: u64,
) -> Result<(), redb::Error> {
    let tx = write_tx(db)?;
    {
        let mut meta = tx.open_table(META)?;
        meta.insert("format", FORMAT)?;
        meta.insert(WAL_FROM, wal_from)?;
        meta.insert(WAL_ID, wal_id)?;
    }
    tx.delete_table(LOG)?;
    for kind in Kind::ALL {
        tx.delete_table(table(kind))?;
    }
    {
        let mut tables: HashMap<Kind, redb::Table<&[u8], &[u8]>> = HashMap::new();
        for kind in Kind::ALL {
            tables.insert(kind, tx.open_table(table(kind))?);
        }
        tx.open_table(LOG)?;
        for c in changes {
            if let (Some(t), Some(v)) = (tables.get_mut(&c.kind), &c.value) {
                t.insert(c.key.as_slice(), v.as_slice())?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// A batch of changes as one log record (tests build records with it; see [`encode_change`]).
#[cfg(test)]
pub(super) fn encode_batch(changes: &[Change], out: &mut Vec<u8>) {
    out.clear();
    for c in changes {
        encode_change(c.kind, &c.key, c.value.as_deref(), out);
    }
}

/// Appends one change in the log's encoding; a log record is a sequence of them. Per change: the
/// kind (1 byte), the key length (4 bytes, little-endian) and key, then an operation: 0 for a
/// delete; 1, the value length and the value for a put; 2 for a patch (format 6, see
/// [`encode_patch`]).
pub(super) fn encode_change(kind: Kind, key: &[u8], value: Option<&[u8]>, out: &mut Vec<u8>) {
    match value {
        None => {
            put_key(kind, key, out);
            out.push(0);
        }
        Some(v) => encode_put_with(kind, key, out, |o| o.extend_from_slice(v)),
    }
}

fn put_key(kind: Kind, key: &[u8], out: &mut Vec<u8>) {
    out.push(kind.code());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
}

/// Appends a put whose value `encode` writes in place (its length is filled in afterwards).
pub(super) fn encode_put_with(
    kind: Kind,
    key: &[u8],
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>),
) {
    put_key(kind, key, out);
    out.push(1);
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    encode(out);
    let n = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&n.to_le_bytes());
}

/// Appends a patch: the key's value, which is `base_len` bytes long, gets the bytes `encode`
/// writes in place at byte `at` (see [`Patch`]). After the key: 2, then `base_len`, `at` and
/// the patch's length (4 bytes each, little-endian), then its bytes.
pub(super) fn encode_patch_with(
    kind: Kind,
    key: &[u8],
    base_len: u32,
    at: u32,
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>),
) {
    put_key(kind, key, out);
    out.push(2);
    out.extend_from_slice(&base_len.to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    encode(out);
    let n = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&n.to_le_bytes());
}

/// A patch of a stored value: overwrite `bytes.len()` bytes at `at` of a value that is
/// `base_len` bytes long. What a state module writes when a new version of an entry differs
/// from the last one it stored only in a few fixed-size fields (an alert re-sent with new
/// times): a few dozen bytes instead of the whole value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Patch<'a> {
    /// The length of the value it applies to.
    pub base_len: u32,
    /// Where its bytes go.
    pub at: u32,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl Patch<'_> {
    /// Applies the patch to `value`; leaves a value it does not fit (another length, or too
    /// short) as it is. Whether the value is the one the patch was made for is the writer's
    /// promise (it is the key's last put, with its patches since): a value of another length
    /// is a later one that a rewrite of the store (after a failed write) put in the tables
    /// before this record is replayed over them, and the put that made it follows in the log.
    pub fn apply(&self, value: &mut [u8]) -> bool {
        let at = self.at as usize;
        if value.len() != self.base_len as usize {
            return false;
        }
        match value.get_mut(at..at + self.bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(self.bytes);
                true
            }
            None => false,
        }
    }
}

/// What a change does to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op<'a> {
    /// Sets the value.
    Put(&'a [u8]),
    /// Deletes the key.
    Delete,
    /// Overwrites part of the value.
    Patch(Patch<'a>),
}

/// One change of a log record, borrowed from it: kind, key, what it does.
type Parsed<'a> = (Kind, &'a [u8], Op<'a>);

/// Appends the changes of a log record to `out`, borrowed from it; None if it is malformed.
fn parse_batch<'a>(mut b: &'a [u8], out: &mut Vec<Parsed<'a>>) -> Option<()> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Some(head)
    }
    fn u32_le(b: &mut &[u8]) -> Option<u32> {
        let raw: [u8; 4] = take(b, 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(raw))
    }
    fn len(b: &mut &[u8]) -> Option<usize> {
        u32_le(b).map(|n| n as usize)
    }
    while !b.is_empty() {
        let kind = Kind::from_code(take(&mut b, 1)?[0])?;
        let n = len(&mut b)?;
        let key = take(&mut b, n)?;
        let op = match take(&mut b, 1)?[0] {
            0 => Op::Delete,
            1 => {
                let n = len(&mut b)?;
                Op::Put(take(&mut b, n)?)
            }
            2 => {
                let base_len = u32_le(&mut b)?;
                let at = u32_le(&mut b)?;
                let n = len(&mut b)?;
                Op::Patch(Patch {
                    base_len,
                    at,
                    bytes: take(&mut b, n)?,
                })
            }
            _ => return None,
        };
        out.push((kind, key, op));
    }
    Some(())
}

/// Reads a log record of puts and deletes back; None if it is malformed or holds a patch.
#[cfg(test)]
pub(super) fn decode_batch(b: &[u8]) -> Option<Vec<Change>> {
    let mut parsed = Vec::new();
    parse_batch(b, &mut parsed)?;
    parsed
        .into_iter()
        .map(|(kind, key, op)| {
            let value = match op {
                Op::Put(v) => Some(v.to_vec()),
                Op::Delete => None,
                Op::Patch(_) => return None,
            };
            Some(Change {
                kind,
                key: key.to_vec(),
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod sort_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The piecewise sort orders like one stable sort, ties in their first order, at every
        /// size around the piece and merge boundaries.
        #[test]
        fn pieces_sort_like_one_stable_sort(
            keys in proptest::collection::vec((0usize..3, 0u8..40), 0..(SORT_PIECE * 5)),
        ) {
            // Each change's value is its first position, so ties show their order.
            let positions: Vec<[u8; 4]> =
                (0..keys.len() as u32).map(u32::to_le_bytes).collect();
            let names: Vec<[u8; 1]> = (0u8..40).map(|k| [k]).collect();
            let changes: Vec<Parsed<'_>> = keys
                .iter()
                .zip(&positions)
                .map(|(&(k, n), p)| (Kind::ALL[k], names[n as usize].as_slice(), Op::Put(p)))
                .collect();
            let mut expected = changes.clone();
            expected.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            let mut got = changes;
            sort_by_key_in_pieces(&mut got);
            prop_assert_eq!(got, expected);
        }
    }
}
