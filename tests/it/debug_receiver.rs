//! `tocsin debug-receiver`, the listener the default config's comments tell a newcomer to run:
//! the real daemon's notifications arrive there and are printed, one summary line and a line
//! per alert; and the default config's Watchdog route sends nothing, as its comment says.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually};

/// The receiver process and what it printed on stdout so far; killed on drop.
struct Receiver {
    child: Child,
    addr: String,
    out: Arc<Mutex<Vec<String>>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_receiver() -> Receiver {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["debug-receiver", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the receiver says where it listens");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    let out = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().unwrap();
    {
        let out = Arc::clone(&out);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                out.lock().unwrap().push(line);
            }
        });
    }
    Receiver { child, addr, out }
}

#[tokio::test]
async fn the_daemons_notifications_are_printed() {
    let r = start_receiver();
    let config = format!(
        "route:\n  receiver: local-webhook\n  group_by: [alertname]\n  group_wait: 0s\nreceivers:\n  - name: local-webhook\n    webhook_configs: [{{url: 'http://{}/'}}]\n",
        r.addr
    );
    let d = Daemon::start(&config);
    let posted = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Disk", "instance": "db1"},
                        "annotations": {"summary": "disk almost full"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let printed = eventually(Duration::from_secs(20), || r.out.lock().unwrap().len() >= 2).await;
    let out = r.out.lock().unwrap().clone();
    assert!(printed, "nothing printed; daemon log: {}", d.log_text());
    assert!(
        out[0].contains("receiver=local-webhook status=firing alerts=1"),
        "{out:?}"
    );
    assert_eq!(
        out[1],
        "  [firing] alertname=Disk instance=db1 -- disk almost full"
    );
}

#[test]
fn a_bad_listen_address_says_what_to_give() {
    let out = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["debug-receiver", "--listen", "5001"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--listen=5001") && err.contains("host:port"),
        "{err}"
    );
}

#[test]
fn the_default_configs_watchdog_goes_nowhere() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config/tocsin.yml");
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("tocsin debug-receiver"));
    assert!(!text.contains("http.server"));
    let c = tocsin::config::Config::load(std::path::Path::new(config)).unwrap();
    let route = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args([
            "routes",
            "test",
            "--config.file",
            config,
            "alertname=Watchdog",
        ])
        .output()
        .unwrap();
    let receiver = String::from_utf8_lossy(&route.stdout).trim().to_owned();
    let r = c
        .receivers
        .iter()
        .find(|r| r.name == receiver)
        .unwrap_or_else(|| panic!("no receiver {receiver:?}"));
    assert!(
        r.webhook_configs.is_empty() && r.email_configs.is_empty(),
        "Watchdog reaches {receiver}, which sends"
    );
}
