//! Log lines as Alertmanager's users parse them: `--log.format=logfmt` read back by go-logfmt
//! (the decoder go-kit's logfmt logger pairs with, from Debian's Go source), and
//! `--log.format=json` as flat objects with `ts`, `caller`, `level`, `msg`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::support::daemon::Daemon;

const CONFIG: &str = "route:\n  receiver: r\nreceivers:\n  - name: r\n";

/// Decodes logfmt `text` with go-logfmt; each record as its key/value pairs in order.
fn go_logfmt(text: &str) -> Option<Vec<Vec<(String, String)>>> {
    let go = crate::support::debian_tool("go")?;
    let gopath = std::path::Path::new("/usr/share/gocode");
    if !gopath.join("src/github.com/go-logfmt/logfmt").is_dir() {
        let why = "go-logfmt's source is not installed (Debian package golang-github-go-logfmt-logfmt-dev)";
        assert!(std::env::var("CI").is_err(), "{why}; CI must install it");
        eprintln!("skipping: {why}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.go"),
        r#"package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/go-logfmt/logfmt"
)

func main() {
	d := logfmt.NewDecoder(os.Stdin)
	for d.ScanRecord() {
		pairs := [][2]string{}
		for d.ScanKeyval() {
			pairs = append(pairs, [2]string{string(d.Key()), string(d.Value())})
		}
		b, _ := json.Marshal(pairs)
		fmt.Println(string(b))
	}
	if err := d.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
"#,
    )
    .unwrap();
    let mut child = Command::new(go)
        .arg("run")
        .arg("main.go")
        .current_dir(dir.path())
        .env("GO111MODULE", "off")
        .env("GOPATH", gopath)
        .env("GOCACHE", dir.path().join("cache"))
        .env("GOFLAGS", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "go-logfmt refused the log: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

#[tokio::test]
async fn logfmt_lines_parse_as_alertmanagers() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--log.format=logfmt")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let seen = |lines: &[String], what: &str| lines.iter().any(|l| l.contains(what));
    while !(seen(&lines, "Listening.") && seen(&lines, "Completed loading")) {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => lines.push(l),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = lines.join("\n") + "\n";
    let Some(records) = go_logfmt(&text) else {
        return;
    };
    assert_eq!(records.len(), lines.len(), "one record a line: {text}");
    let ts = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    let caller = regex::Regex::new(r"^[\w.-]+\.rs:\d+$").unwrap();
    for r in &records {
        let keys: Vec<&str> = r.iter().take(4).map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["ts", "caller", "level", "msg"], "{r:?}");
        assert!(ts.is_match(&r[0].1), "{r:?}");
        assert!(caller.is_match(&r[1].1), "{r:?}");
    }
    let get = |r: &Vec<(String, String)>, k: &str| {
        r.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    };
    let listening = records
        .iter()
        .find(|r| get(r, "msg").as_deref() == Some("Listening."))
        .unwrap_or_else(|| panic!("no Listening. record: {text}"));
    assert_eq!(get(listening, "level").as_deref(), Some("info"));
    let addr: std::net::SocketAddr = get(listening, "address").unwrap().parse().unwrap();
    assert!(addr.ip().is_loopback());
    let loaded = records
        .iter()
        .find(|r| get(r, "msg").is_some_and(|m| m.starts_with("Completed loading")))
        .unwrap_or_else(|| panic!("no record names the config file: {text}"));
    assert_eq!(get(loaded, "file").unwrap(), config.display().to_string());
}

#[tokio::test]
async fn json_lines_are_flat() {
    let d = Daemon::start(CONFIG);
    let log = d.log_text();
    let first: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["level"], "info", "{log}");
    assert!(
        first["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("Starting")),
        "{log}"
    );
    assert!(
        first["ts"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{log}"
    );
    assert!(
        first["caller"].as_str().is_some_and(|c| c.contains(".rs:")),
        "{log}"
    );
    assert!(first.get("fields").is_none(), "{log}");
}

/// Waits until the daemon's log holds `what` (the log is a file the daemon appends to).
async fn log_shows(d: &Daemon, what: &str) -> String {
    let mut text = String::new();
    crate::support::daemon::eventually(Duration::from_secs(30), || {
        text = d.log_text();
        text.contains(what)
    })
    .await;
    text
}

/// A failed send says why, as the operator needs it: the cause under reqwest's "error sending
/// request" (here: the connection was refused), and a receiver's error page cut short instead
/// of logged whole on every retry.
#[tokio::test]
async fn failed_sends_log_the_cause_and_a_cut_body() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    // A receiver that answers 500 with a 200 KB HTML page of many lines.
    let page = format!(
        "<html>\n<body>\n{}</body>\n</html>\n",
        "<p>upstream exploded</p>\n".repeat(8_000)
    );
    use warp::Filter;
    let route = warp::any().map(move || {
        warp::reply::with_status(
            warp::reply::html(page.clone()),
            warp::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let html_addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());

    let config = format!(
        "route:\n  receiver: refused\n  group_wait: 0s\n  routes:\n    - {{receiver: html, matchers: [to=html]}}\n\
         receivers:\n  - name: refused\n    webhook_configs: [{{url: 'http://{closed_addr}/hook'}}]\n\
         \x20 - name: html\n    webhook_configs: [{{url: 'http://{html_addr}/hook'}}]\n"
    );
    let d = Daemon::start(&config);
    let body = serde_json::json!([
        {"labels": {"alertname": "A", "to": "refused"}},
        {"labels": {"alertname": "B", "to": "html"}},
    ]);
    let status = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let text = log_shows(&d, "unexpected status code 500").await;
    let text = if text.to_lowercase().contains("connection refused") {
        text
    } else {
        log_shows(&d, "onnection refused").await
    };
    let records: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let failed = |receiver: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| {
                r["receiver"] == receiver
                    && r["msg"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("Notify failed"))
            })
            .collect()
    };
    let refused = failed("refused");
    assert!(
        !refused.is_empty(),
        "no failed send for the refused receiver:\n{text}"
    );
    let error = refused[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.to_lowercase().contains("connection refused"),
        "the cause is missing: {}",
        refused[0]
    );
    let html = failed("html");
    assert!(
        !html.is_empty(),
        "no failed send for the html receiver:\n{text}"
    );
    for r in &html {
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            error.len() < 1_000,
            "a receiver's error page is logged whole ({} bytes): {}...",
            error.len(),
            &error[..300]
        );
        assert!(
            error.contains("upstream exploded"),
            "the body's start is kept: {r}"
        );
    }
    // One log record per retry: the HTML page's lines did not become log lines.
    assert!(
        !text.lines().any(|l| l.starts_with("<p>")),
        "the page's lines leaked into the log:\n{text}"
    );
}

/// Nothing configured is silently unapplied: a receiver list tocsin does not send to is named
/// in a start-up warning, with the config file it came from, and again when a reload brings one.
#[tokio::test]
async fn unsent_integrations_are_warned_about_at_start_and_reload() {
    let config =
        "route: {receiver: ops}\nreceivers:\n  - name: ops\n    opsgenie_configs: [{api_key: k}]\n";
    let d = Daemon::start(config);
    let text = log_shows(&d, "opsgenie is not supported by tocsin").await;
    let warning = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| {
            r.to_string()
                .contains("opsgenie is not supported by tocsin")
        })
        .unwrap_or_else(|| panic!("no start-up warning:\n{text}"));
    assert_eq!(warning["level"], "warn", "{warning}");
    assert!(
        warning["warning"]
            .as_str()
            .is_some_and(|w| w.contains("receivers[0].opsgenie_configs")),
        "{warning}"
    );
    let file = d.config_path().display().to_string();
    assert_eq!(
        warning["file"].as_str(),
        Some(file.as_str()),
        "the warning does not name the file: {warning}"
    );

    d.write_config(
        "route: {receiver: ops}\nreceivers:\n  - name: ops\n    victorops_configs: [{api_key: k, routing_key: r}]\n",
    );
    let status = reqwest::Client::new()
        .post(d.url("/-/reload"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let text = log_shows(&d, "victorops is not supported by tocsin").await;
    assert!(
        text.contains("victorops is not supported by tocsin"),
        "{text}"
    );
}
