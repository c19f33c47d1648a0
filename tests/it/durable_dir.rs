//! A storage directory tocsin cannot write: start-up stops with exit code 1 and a message
//! naming the path and the way out, instead of running with nothing durable.
//!
//! Permissions do not stop root: when the tests run as root, tocsin runs as `nobody` (through
//! `setpriv`) so that a directory without write permission stops it as it stops any service
//! user. A file where the directory should be is checked either way. (A store that becomes
//! unwritable at runtime is covered by `durable.rs`'s full-disk test: 503 with the reason,
//! `/-/ready` 503, recovery.)

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::daemon::Daemon;

const QUIET: &str = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n";

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs tocsin on `storage` until it exits; returns its exit code and its log. As root, runs it
/// as `nobody`.
fn run_on(dir: &Path, storage: &Path) -> (Option<i32>, String) {
    let cfg = dir.join("tocsin.yml");
    std::fs::write(&cfg, QUIET).unwrap();
    for p in [dir, cfg.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_tocsin");
    let mut cmd = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            bin,
        ]);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", storage.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .expect("tocsin runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_read_only_storage_directory_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let (code, log) = run_on(dir.path(), &data);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&data.join("tocsin.redb").display().to_string())
            && log.contains("permission denied")
            && log.contains("--storage.in-memory"),
        "{log}"
    );
    assert!(!log.contains("Listening"), "{log}");
}

#[test]
fn a_read_only_store_file_stops_start_up_naming_it() {
    // A store written before (by a clean stop), then made read-only with its directory.
    let mut d = Daemon::start(QUIET);
    d.signal("TERM");
    assert_eq!(d.wait_exit(std::time::Duration::from_secs(10)), Some(0));
    let dir = std::mem::replace(&mut d.dir, tempfile::tempdir().unwrap());
    let data = dir.path().join("data");
    let file = data.join("tocsin.redb");
    assert!(file.exists());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let (code, log) = run_on(dir.path(), &data);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&file.display().to_string()) && log.contains("permission denied"),
        "{log}"
    );
}

#[test]
fn a_file_where_the_storage_directory_should_be_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, "not a directory").unwrap();
    let (code, log) = run_on(dir.path(), &data);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&data.display().to_string()) && log.contains("not a directory"),
        "{log}"
    );
}
