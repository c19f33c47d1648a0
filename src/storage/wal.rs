//! The write-ahead log: numbered segment files beside the redb file (`tocsin.redb.wal-<n>`),
//! each a sequence of records. The writer writes a record (one batch of changes, in
//! `db::encode_change`'s encoding) and `fdatasync`s the file: that is all a commit costs, and it
//! never waits for the tables. A full segment (or the current one when writes pause) is sealed
//! (an end record, synced) and a new one started; the folder thread folds sealed segments into
//! the redb tables in the background and records in the same transaction the first segment the
//! tables do not hold (`meta` `wal_from`), so start-up replays exactly the segments from there
//! on, in order.
//!
//! Segments are written in place, not appended to: a commit that only overwrites blocks the file
//! already has changes no file metadata, so its `fdatasync` is one data flush instead of a
//! journal commit of the file system as well (on the 2-core VM, in a quiet moment, a 750 KB
//! write and `fdatasync` took 0.5 ms on average over a file's old blocks against 2.3 ms
//! appended; under load both vary widely). A folded segment is kept as a *spare*
//! (`tocsin.redb.wal-spare-<k>`) and renamed to the next segment's name when one is needed; a
//! store that wrote much and has none gets one filled with filler bytes while writes pause.
//! So a record of a recycled file is followed by what an older segment left there: each record's check is seeded
//! with the store's log id (`meta` `wal_id`, random per store) and the segment number, so
//! nothing an older segment (or another store) wrote checks in this one.
//!
//! A record: the payload length (u32), a 64-bit check of the payload (u64), both
//! little-endian, then the payload. A record with an empty payload is the end record of a
//! sealed segment. A crash can only tear the end of the segment being written, which is the
//! last one: start-up stops that segment at the first record that does not check and seals it
//! there. A sealed segment without its end record is damage. Stores of format 4 and older wrote
//! appended segments without a seed or an end record (seed 0 reads them); start-up folds them
//! into the tables before writing new ones.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The bytes before a record's payload.
const HEADER: usize = 12;

/// What a prepared spare is filled with: a length of 0xFFFF_FFFF never checks.
const FILLER: u8 = 0xFF;

/// A 64-bit check of `b` under `seed`, eight bytes a step (cheap next to the write it guards;
/// detects torn and garbled writes and records of another segment, not malice). Stable across
/// builds and platforms; seed 0 is the check of format 4.
pub(super) fn check(seed: u64, b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = (b.len() as u64).wrapping_mul(K)
        ^ 0x243F_6A88_85A3_08D3
        ^ seed.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let mut w = [0u8; 8];
    let rest = chunks.remainder();
    w[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The seed of segment `n`'s checks in the store whose log id is `wal_id` (never 0, the seed of
/// format 4's segments).
pub(super) fn seed(wal_id: u64, n: u64) -> u64 {
    let s = (wal_id ^ n.wrapping_mul(0xA076_1D64_78BD_642F)).rotate_left(17);
    if s == 0 { 1 } else { s }
}

/// The file of segment `n` beside `db_path`.
pub(super) fn segment_path(db_path: &Path, n: u64) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(format!(".wal-{n:020}"));
    PathBuf::from(name)
}

/// The file of spare `k` beside `db_path`.
pub(super) fn spare_path(db_path: &Path, k: u64) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(format!(".wal-spare-{k:020}"));
    PathBuf::from(name)
}

/// The files beside `db_path` named `<base><infix><20 digits>`, by number (ascending).
fn numbered(db_path: &Path, infix: &str) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let dir = db_path.parent().unwrap_or(Path::new("."));
    let Some(base) = db_path.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{base}{infix}");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix(&prefix))
            .filter(|s| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((n, e.path()));
    }
    out.sort();
    Ok(out)
}

/// The segments beside `db_path`, by number (ascending).
pub(super) fn list(db_path: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    numbered(db_path, ".wal-")
}

/// The spares beside `db_path`, by number.
pub(super) fn list_spares(db_path: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    numbered(db_path, ".wal-spare-")
}

/// Makes a directory entry created or removed in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What [`records`] found in a segment's bytes.
pub(super) struct Scan<'a> {
    /// The payloads of its records, borrowed from its bytes, in order.
    pub payloads: Vec<&'a [u8]>,
    /// How many bytes of it are whole records, the end record excluded (where a torn segment
    /// is sealed).
    pub whole: usize,
    /// Whether it ends in an end record (it was sealed).
    pub sealed: bool,
}

/// Reads the records of a segment whose checks are seeded with `seed`, up to its end record
/// or the first record that does not check.
pub(super) fn records(bytes: &[u8], seed: u64) -> Scan<'_> {
    let mut payloads = Vec::new();
    let mut at = 0;
    let mut sealed = false;
    while bytes.len() - at >= HEADER {
        crate::workers::courtesy();
        let mut l = [0u8; 4];
        l.copy_from_slice(&bytes[at..at + 4]);
        let len = u32::from_le_bytes(l) as usize;
        let mut c = [0u8; 8];
        c.copy_from_slice(&bytes[at + 4..at + HEADER]);
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if check(seed, payload) != u64::from_le_bytes(c) {
            break;
        }
        if len == 0 && seed != 0 {
            sealed = true;
            break;
        }
        payloads.push(payload);
        at += HEADER + len;
    }
    Scan {
        payloads,
        whole: at,
        sealed,
    }
}

/// Fills spare `k` beside `db_path` with `len` filler bytes and syncs it: a segment made from
/// it is written in place.
pub(super) fn prepare_spare(db_path: &Path, k: u64, len: u64) -> std::io::Result<PathBuf> {
    let path = spare_path(db_path, k);
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let chunk = vec![FILLER; 1 << 20];
    let mut at = 0u64;
    while at < len {
        crate::workers::courtesy();
        let n = (len - at).min(chunk.len() as u64) as usize;
        file.write_all_at(&chunk[..n], at)?;
        at += n as u64;
    }
    file.sync_all()?;
    Ok(path)
}

/// The segment being written.
pub(super) struct Segment {
    /// Its number.
    pub n: u64,
    /// Shared with the syncer of a deferred-sync lane (`writer::Syncer`).
    file: Arc<File>,
    /// The seed of its records' checks.
    seed: u64,
    /// Bytes of records written to it (where the next one goes).
    pub bytes: u64,
    /// The file's length when it was opened: writes below it change no metadata.
    pub prepared: u64,
    /// The record being written: header and payload in one `write`.
    buf: Vec<u8>,
}

impl Segment {
    /// Makes segment `n` from `spare` (renamed; its content is overwritten) or, without one, as
    /// an empty file, and makes its name durable.
    pub(super) fn create(
        db_path: &Path,
        n: u64,
        seed: u64,
        spare: Option<&Path>,
    ) -> std::io::Result<Segment> {
        let path = segment_path(db_path, n);
        let file = match spare {
            Some(s) => {
                std::fs::rename(s, &path)?;
                OpenOptions::new().write(true).open(&path)?
            }
            None => OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&path)?,
        };
        sync_dir(db_path.parent().unwrap_or(Path::new(".")))?;
        let prepared = file.metadata()?.len();
        Ok(Segment {
            n,
            file: Arc::new(file),
            seed,
            bytes: 0,
            prepared,
            buf: Vec::new(),
        })
    }

    /// Writes one record after the last and waits until it is on disk.
    pub(super) fn append(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.write_record(payload)?;
        self.file.sync_data()
    }

    /// Writes one record after the last without waiting for the disk: once written, the kernel
    /// keeps it if the process is killed; a sync of [`Segment::file`] makes it durable.
    pub(super) fn write(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.write_record(payload)
    }

    /// The segment's file, to be synced by another thread.
    pub(super) fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    fn write_record(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(payload.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "log record over 4 GiB")
        })?;
        self.buf.clear();
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf
            .extend_from_slice(&check(self.seed, payload).to_le_bytes());
        // Small records go out in one write with their header; large ones in two.
        let r = if payload.len() <= 64 << 10 {
            self.buf.extend_from_slice(payload);
            self.file.write_all_at(&self.buf, self.bytes)
        } else {
            self.file
                .write_all_at(&self.buf, self.bytes)
                .and_then(|()| self.file.write_all_at(payload, self.bytes + HEADER as u64))
        };
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        r?;
        self.bytes += (HEADER + payload.len()) as u64;
        Ok(())
    }

    /// Writes the end record and waits until it is on disk: from then on a record that does
    /// not check in this segment is damage, not a torn end.
    pub(super) fn seal(&mut self) -> std::io::Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(&0u32.to_le_bytes());
        self.buf
            .extend_from_slice(&check(self.seed, &[]).to_le_bytes());
        self.file.write_all_at(&self.buf, self.bytes)?;
        self.file.sync_data()
    }
}

/// Seals segment `path` (numbered with `seed`) after its first `whole` bytes: start-up does so
/// to the segment a crash left open.
pub(super) fn seal_at(path: &Path, seed: u64, whole: u64) -> std::io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    let mut b = Vec::with_capacity(HEADER);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&check(seed, &[]).to_le_bytes());
    file.write_all_at(&b, whole)?;
    file.sync_data()
}
