//! Alertmanager's whole command line starts tocsin: every flag of `alertmanager --help` (0.34),
//! kept in `tests/data/alertmanager-flags.txt`, is accepted at once; those with no effect yet are
//! named in warnings; `--enable-feature` modes decide how the config is read; and the one flag
//! that would drop a protection (an unreadable `--web.config.file`) stops the start.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::daemon::Daemon;

const CONFIG: &str = "route:\n  receiver: r\nreceivers:\n- name: r\n";

/// The flags of the list, in order.
fn alertmanager_flags() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/alertmanager-flags.txt");
    std::fs::read_to_string(path)
        .expect("alertmanager-flags.txt")
        .lines()
        .filter(|l| l.starts_with("--"))
        .map(str::to_owned)
        .collect()
}

fn flag_name(arg: &str) -> &str {
    arg.split('=').next().unwrap_or(arg)
}

#[test]
fn help_lists_every_alertmanager_flag() {
    let help = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    let flags = alertmanager_flags();
    assert!(flags.len() >= 40, "only {} flags listed", flags.len());
    for f in &flags {
        let name = flag_name(f);
        assert!(
            text.contains(&format!("{name} ")) || text.contains(&format!("{name}\n")),
            "--help lacks {name}"
        );
    }
    let version = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("tocsin "));
}

#[tokio::test]
async fn every_alertmanager_flag_at_once_starts_tocsin() {
    // The harness passes these four itself (pointing at its temp dir).
    let own = [
        "--config.file",
        "--storage.path",
        "--web.external-url",
        "--log.format",
    ];
    let flags: Vec<String> = alertmanager_flags()
        .into_iter()
        .filter(|f| !own.contains(&flag_name(f)))
        .collect();
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let d = Daemon::start_with(CONFIG, &args);
    // Served under --web.route-prefix=/alertmanager.
    let ready = reqwest::get(d.url("/alertmanager/-/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let log = d.log_text();
    assert!(!log.contains("--web.route-prefix"), "{log}");
    for warned in [
        "clustering is off (--cluster.listen-address is empty)",
        "--dispatch.start-delay is accepted",
        "--log.silences is accepted",
        "--auto-gomemlimit.ratio is accepted",
        "--enable-feature=event-recorder is accepted",
        "--enable-feature=receiver-name-in-metrics is accepted",
        "--web.listen-address given more than once",
    ] {
        assert!(log.contains(warned), "no warning {warned:?} in:\n{log}");
    }
}

#[tokio::test]
async fn an_empty_cluster_listen_address_is_a_quiet_single_node() {
    let d = Daemon::start_with(CONFIG, &["--cluster.listen-address="]);
    let ready = reqwest::get(d.url("/-/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(!d.log_text().contains("cluster"), "{}", d.log_text());
}

/// Runs the daemon to its exit (it must stop by itself within 20 s): the code and stderr.
fn run_to_exit(config: &str, flags: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tocsin.yml");
    std::fs::write(&file, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Polled every 20 ms, for 20 s at most.
    let mut code = None;
    for _ in 0..1000 {
        if let Some(st) = child.try_wait().unwrap() {
            code = Some(st.code());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Some(code) = code else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tocsin {flags:?} kept running");
    };
    let mut err = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, err)
}

#[tokio::test]
async fn feature_modes_decide_label_names_and_matchers() {
    let utf8_names = "route:\n  receiver: r\n  group_by: ['service.name']\nreceivers:\n- name: r\n";
    let d = Daemon::start_with(utf8_names, &[]);
    assert_eq!(reqwest::get(d.url("/-/ready")).await.unwrap().status(), 200);
    drop(d);
    let (code, err) = run_to_exit(utf8_names, &["--enable-feature=classic-mode"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("invalid label name \\\"service.name\\\"")
            || err.contains("invalid label name \"service.name\""),
        "{err}"
    );

    let classic_only = "route:\n  receiver: r\n  routes:\n  - matchers: ['y=']\n    receiver: r\nreceivers:\n- name: r\n";
    let d = Daemon::start_with(classic_only, &["--enable-feature=classic-mode"]);
    assert_eq!(reqwest::get(d.url("/-/ready")).await.unwrap().status(), 200);
    drop(d);
    let (code, err) = run_to_exit(classic_only, &["--enable-feature=utf8-strict-mode"]);
    assert_eq!(code, Some(1), "{err}");
    let (code, err) = run_to_exit(CONFIG, &["--enable-feature=classic-mode,utf8-strict-mode"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot have both"), "{err}");
}

#[test]
fn a_web_config_file_that_cannot_be_read_stops_the_start() {
    let (code, err) = run_to_exit(CONFIG, &["--web.config.file=/nonexistent/web.yml"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("/nonexistent/web.yml: cannot read"), "{err}");
}
