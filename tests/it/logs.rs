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
