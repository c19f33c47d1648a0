//! Shutdown with clients that never finish: raw sockets holding a half-sent body, half-sent
//! headers, or a large answer they do not read. SIGTERM must still end the daemon by
//! `--web.shutdown-timeout`, and a second signal must end it at once.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::daemon::{Daemon, http_get};

const CONFIG: &str = "route:\n  receiver: r\n  group_wait: 1h\nreceivers:\n  - name: r\n";

/// Three connections that each keep a request unfinished.
fn stuck_clients(d: &Daemon) -> Vec<TcpStream> {
    let open = || {
        let s = TcpStream::connect(d.addr).expect("connect");
        s.set_nodelay(true).unwrap();
        s
    };
    // A body shorter than its Content-Length.
    let mut short_body = open();
    short_body
        .write_all(b"POST /api/v2/alerts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{")
        .unwrap();
    // Headers never finished.
    let mut half_headers = open();
    half_headers
        .write_all(b"GET /api/v2/alerts HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    // A large answer nobody reads.
    let mut no_reader = open();
    no_reader
        .write_all(b"GET /api/v2/alerts HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    vec![short_body, half_headers, no_reader]
}

/// Enough alerts that `GET /api/v2/alerts` is far larger than the socket buffers.
async fn fill(d: &Daemon) {
    for part in 0..4 {
        let batch: Vec<Value> = (0..5000)
            .map(|i| {
                json!({"labels": {"alertname": "Big", "instance": format!("host-{part}-{i}")},
                            "annotations": {"padding": "x".repeat(1000)}})
            })
            .collect();
        let r = reqwest::Client::new()
            .post(d.url("/api/v2/alerts"))
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn sigterm_ends_within_the_shutdown_timeout_despite_stuck_clients() {
    let mut d = Daemon::start_with(CONFIG, &["--web.shutdown-timeout=1s"]);
    fill(&d).await;
    let _clients = stuck_clients(&d);
    // Let the daemon start on all three requests.
    let ok = crate::support::daemon::eventually(Duration::from_secs(5), || {
        http_get(&d.url("/-/healthy")).is_some()
    })
    .await;
    assert!(ok);
    d.signal("TERM");
    let code = d.wait_exit(Duration::from_secs(10));
    assert_eq!(
        code,
        Some(0),
        "exits cleanly by the deadline; log:\n{}",
        d.log_text()
    );
    assert!(
        d.log_text().contains("Shutdown deadline passed"),
        "says why it stopped waiting: {}",
        d.log_text()
    );
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let mut d = Daemon::start_with(CONFIG, &["--web.shutdown-timeout=1h"]);
    let _clients = stuck_clients(&d);
    let serving = crate::support::daemon::eventually(Duration::from_secs(5), || {
        http_get(&d.url("/-/healthy")).is_some()
    })
    .await;
    assert!(serving);
    d.signal("TERM");
    // It stops serving at once but waits for the stuck requests (up to an hour).
    let stopped = crate::support::daemon::eventually(Duration::from_secs(5), || {
        http_get(&d.url("/-/healthy")).is_none()
    })
    .await;
    assert!(stopped, "the listener closes on the first signal");
    assert_eq!(
        d.wait_exit(Duration::from_millis(300)),
        None,
        "still draining"
    );
    d.signal("INT");
    assert_eq!(
        d.wait_exit(Duration::from_secs(5)),
        Some(1),
        "log:\n{}",
        d.log_text()
    );
}
