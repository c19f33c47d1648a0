//! Persistent state under `--storage.path`.
//!
//! For now, snapshot files: a state module (silences) encodes its state to bytes and this
//! module writes them atomically (a temporary file beside the target, fsync, rename over the
//! target, fsync the directory), so a crash leaves the old or the new snapshot, never half of
//! one. The durable store (redb) replaces these files in its own issue.
//! Layer L1: imports std only.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The silence snapshot's file name under `--storage.path`.
pub const SILENCES_FILE: &str = "silences.json";

/// Why a snapshot could not be written or read; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct StorageError {
    /// What was being done ("writing", "reading"...).
    pub action: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

fn err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError {
        action,
        path,
        source,
    }
}

/// Creates the storage directory if needed.
pub fn ensure_dir(dir: &Path) -> Result<(), StorageError> {
    std::fs::create_dir_all(dir).map_err(err("creating", dir))
}

/// Replaces `path` with `bytes` atomically: the file holds either the old or the new content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(err("creating", &tmp))?;
        f.write_all(bytes).map_err(err("writing", &tmp))?;
        f.sync_all().map_err(err("syncing", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(err("renaming into", path))?;
    // The rename itself must reach the disk too.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The content of `path`, or None when it does not exist.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err("reading", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_replace_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        assert!(read_if_exists(&p).unwrap().is_none());
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(read_if_exists(&p).unwrap().unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["x.json"], "no temporary file left behind");
        let e = write_atomic(&dir.path().join("no/such/dir/x"), b"").unwrap_err();
        assert!(e.to_string().starts_with("creating "), "{e}");
    }
}
