//! The write-ahead log: numbered append-only segment files beside the redb file
//! (`tocsin.redb.wal-<n>`), each a sequence of records. The writer appends a record (one batch
//! of changes, in `db::encode_change`'s encoding) and `fdatasync`s the file: that is all a
//! commit costs, and it never waits for the tables. A full segment (or the current one when
//! writes pause) is sealed and a new one started; the folder thread folds sealed segments into
//! the redb tables in the background and records in the same transaction the first segment the
//! tables do not hold (`meta` `wal_from`), so start-up replays exactly the segments from there
//! on, in order.
//!
//! A record: the payload length (u32), a 64-bit check of the payload (u64), both
//! little-endian, then the payload. A crash can only tear the end of the segment being
//! written, which is the last one: start-up stops that segment at the first record that does
//! not check and cuts the file there. A record that does not check in any other segment is
//! damage.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The bytes before a record's payload.
const HEADER: usize = 12;

/// A 64-bit check of `b`, eight bytes a step (cheap next to the write it guards; detects torn
/// and garbled writes, not malice). Stable across builds and platforms.
pub(super) fn check(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = (b.len() as u64).wrapping_mul(K) ^ 0x243F_6A88_85A3_08D3;
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

/// The file of segment `n` beside `db_path`.
pub(super) fn segment_path(db_path: &Path, n: u64) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(format!(".wal-{n:020}"));
    PathBuf::from(name)
}

/// The segments beside `db_path`, by number (ascending).
pub(super) fn list(db_path: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let dir = db_path.parent().unwrap_or(Path::new("."));
    let Some(base) = db_path.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{base}.wal-");
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

/// Makes a directory entry created or removed in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The payloads of a segment's records, borrowed from its bytes, and how many bytes of it are
/// whole records (less than its length when the end is torn).
pub(super) fn records(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= HEADER {
        let mut l = [0u8; 4];
        l.copy_from_slice(&bytes[at..at + 4]);
        let len = u32::from_le_bytes(l) as usize;
        let mut c = [0u8; 8];
        c.copy_from_slice(&bytes[at + 4..at + HEADER]);
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if check(payload) != u64::from_le_bytes(c) {
            break;
        }
        out.push(payload);
        at += HEADER + len;
    }
    (out, at)
}

/// The segment being appended to.
pub(super) struct Segment {
    /// Its number.
    pub n: u64,
    file: File,
    /// Bytes written to it.
    pub bytes: u64,
    /// The record being written: header and payload in one `write`.
    buf: Vec<u8>,
}

impl Segment {
    /// Creates segment `n` (empty) and makes its name durable.
    pub(super) fn create(db_path: &Path, n: u64) -> std::io::Result<Segment> {
        let path = segment_path(db_path, n);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)?;
        sync_dir(db_path.parent().unwrap_or(Path::new(".")))?;
        Ok(Segment {
            n,
            file,
            bytes: 0,
            buf: Vec::new(),
        })
    }

    /// Appends one record and waits until it is on disk.
    pub(super) fn append(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(payload.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "log record over 4 GiB")
        })?;
        self.buf.clear();
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&check(payload).to_le_bytes());
        // Small records go out in one write with their header; large ones in two.
        let r = if payload.len() <= 64 << 10 {
            self.buf.extend_from_slice(payload);
            self.file.write_all(&self.buf)
        } else {
            self.file
                .write_all(&self.buf)
                .and_then(|()| self.file.write_all(payload))
        };
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        r?;
        self.file.sync_data()?;
        self.bytes += (HEADER + payload.len()) as u64;
        Ok(())
    }
}
