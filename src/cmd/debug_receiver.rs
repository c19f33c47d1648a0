//! `tocsin debug-receiver`: a webhook receiver for trying configs out. It listens, answers
//! every POST with 200 and prints each notification (Alertmanager's webhook payload) as one
//! summary line and a line per alert; `--json` prints the whole body instead. The default config's
//! `local-webhook` receiver points at its default address.

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;
use serde_json::Value;
use warp::Filter;

/// Flags of `debug-receiver`.
#[derive(Debug, Clone, Args)]
pub struct DebugReceiverOpts {
    /// The address to listen on (port 0: any free port, printed at start).
    #[arg(long = "listen", value_name = "ADDR", default_value = "127.0.0.1:5001")]
    pub listen: String,
    /// Print each body as pretty JSON instead of the summary (one can be saved as the `--data`
    /// of `tocsin template render`).
    #[arg(long)]
    pub json: bool,
}

/// How a notification is printed: a summary line, then one line per alert.
pub fn describe(body: &[u8], with_json: bool) -> String {
    let now = crate::clock::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
            return format!("{now} not JSON ({e}), {} bytes: {text}\n", body.len());
        }
    };
    if with_json {
        return serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    }
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let alerts = v["alerts"].as_array().cloned().unwrap_or_default();
    let mut out = format!(
        "{now} receiver={} status={} alerts={} truncated={} groupKey={}\n",
        s(&v["receiver"]),
        s(&v["status"]),
        alerts.len(),
        v["truncatedAlerts"].as_u64().unwrap_or(0),
        s(&v["groupKey"]),
    );
    for a in &alerts {
        let labels = a["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        out.push_str(&format!("  [{}] {labels}", s(&a["status"])));
        let summary = s(&a["annotations"]["summary"]);
        if !summary.is_empty() {
            out.push_str(&format!(" -- {summary}"));
        }
        out.push('\n');
    }
    out
}

/// Runs the receiver until Ctrl-C/SIGTERM; returns the exit code.
pub fn run(o: &DebugReceiverOpts, err: &mut dyn Write) -> i32 {
    let addr: SocketAddr = match o.listen.parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(
                err,
                "tocsin: debug-receiver: --listen={}: {e} (give host:port, e.g. 127.0.0.1:5001)",
                o.listen
            );
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "tocsin: debug-receiver: starting a runtime: {e}");
            return 1;
        }
    };
    let json = o.json;
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(err, "tocsin: debug-receiver: listening on {addr}: {e}");
                return 1;
            }
        };
        let bound = listener.local_addr().unwrap_or(addr);
        let _ = writeln!(
            err,
            "tocsin debug-receiver: listening on http://{bound}/ ; every POST is printed here (Ctrl-C stops)"
        );
        let _ = err.flush();
        let post = warp::post()
            .and(warp::body::content_length_limit(64 << 20))
            .and(warp::body::bytes())
            .map(move |body: bytes::Bytes| {
                let text = describe(&body, json);
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
                "ok\n"
            });
        let other = warp::any().map(|| {
            warp::reply::with_status(
                "tocsin debug-receiver: POST a webhook payload here\n",
                warp::http::StatusCode::METHOD_NOT_ALLOWED,
            )
        });
        // Idle keep-alive connections from the daemon would hold a graceful shutdown: a
        // signal ends the process at once.
        let stop = async {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        let server = warp::serve(post.map(warp::reply::Reply::into_response).or(other))
            .incoming(listener)
            .run();
        tokio::select! {
            _ = server => {}
            _ = stop => {}
        }
        0
    })
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_notification_is_a_summary_and_a_line_per_alert() {
        let body = serde_json::json!({
            "version": "4", "status": "firing", "receiver": "local-webhook",
            "groupKey": "{}:{alertname=\"Disk\"}", "truncatedAlerts": 0,
            "alerts": [
                {"status": "firing", "labels": {"alertname": "Disk", "instance": "a"},
                 "annotations": {"summary": "disk almost full"}},
                {"status": "resolved", "labels": {"alertname": "Disk", "instance": "b"},
                 "annotations": {}},
            ]
        });
        let text = describe(body.to_string().as_bytes(), false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(
                "receiver=local-webhook status=firing alerts=2 truncated=0 groupKey={}:{alertname=\"Disk\"}"
            ),
            "{text}"
        );
        assert_eq!(
            lines[1],
            "  [firing] alertname=Disk instance=a -- disk almost full"
        );
        assert_eq!(lines[2], "  [resolved] alertname=Disk instance=b");
        assert_eq!(lines.len(), 3);
        assert_eq!(describe(b"{\"a\": 1}", true), "{\n  \"a\": 1\n}\n");
        assert!(describe(b"hello", false).contains("not JSON"));
    }
}
