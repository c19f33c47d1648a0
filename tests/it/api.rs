//! API v2 status codes and bodies as Alertmanager gives them (reference §1).

use serde_json::json;

use crate::support::daemon::Daemon;

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
    - receiver: team-x
      matchers: [team="x"]
      continue: true
    - receiver: other
receivers:
  - name: default
  - name: team-x
  - name: other
"#;

#[tokio::test]
async fn post_alerts_status_codes() {
    let d = Daemon::start(CONFIG);
    let c = reqwest::Client::new();
    let post = |body: &'static str, ct: Option<&'static str>| {
        let mut r = c.post(d.url("/api/v2/alerts")).body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.send()
    };
    let json_ct = Some("application/json");
    let r = post("[]", json_ct).await.unwrap();
    assert_eq!(r.status(), 200);

    let r = post("[]", Some("text/plain")).await.unwrap();
    assert_eq!(r.status(), 415);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["code"], 415);
    assert!(b["message"].as_str().unwrap().contains("text/plain"));

    let r = post("{not json", json_ct).await.unwrap();
    assert_eq!(r.status(), 400);
    let b: serde_json::Value = r.json().await.unwrap();
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .starts_with("parsing alerts body")
    );

    let r = post(r#"[{"annotations":{}}]"#, json_ct).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"code": 602, "message": "0.labels in body is required"})
    );

    // Best effort: the valid alert is stored although the request answers 400.
    let r = post(
        r#"[{"labels":{}}, {"labels":{"alertname":"Kept"}}]"#,
        json_ct,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!("at least one label pair required")
    );
    let alerts: serde_json::Value = d.get_json("/api/v2/alerts").await;
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    assert_eq!(alerts[0]["labels"]["alertname"], "Kept");
}

#[tokio::test]
async fn reads_filters_and_receivers() {
    let d = Daemon::start(CONFIG);
    let c = reqwest::Client::new();
    let r = c
        .post(d.url("/api/v2/alerts"))
        .json(&json!([
            {"labels": {"alertname": "A", "team": "x"}},
            {"labels": {"alertname": "B", "team": "y"}},
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let get = |q: &str| {
        let url = d.url(&format!("/api/v2/alerts{q}"));
        async move { reqwest::get(url).await.unwrap() }
    };
    let all: serde_json::Value = get("").await.json().await.unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        all[0]["fingerprint"].as_str() < all[1]["fingerprint"].as_str(),
        "sorted by fingerprint"
    );
    let a = all
        .iter()
        .find(|a| a["labels"]["alertname"] == "A")
        .unwrap();
    assert_eq!(
        a["receivers"],
        json!([{"name": "team-x"}, {"name": "other"}])
    );
    assert_eq!(a["status"]["state"], "active");

    let f: serde_json::Value = get("?filter=team%3D%22y%22").await.json().await.unwrap();
    assert_eq!(f.as_array().unwrap().len(), 1);
    let f: serde_json::Value = get("?receiver=team-.*").await.json().await.unwrap();
    assert_eq!(f.as_array().unwrap().len(), 1);
    let r = get("?filter=%7Bbad").await;
    assert_eq!(r.status(), 400);
    // go-openapi reads any other word as false, as Alertmanager does (not a 400).
    let r: serde_json::Value = get("?active=maybe").await.json().await.unwrap();
    assert_eq!(r, json!([]), "active=maybe hides the active alerts");

    let groups: serde_json::Value = get("/groups").await.json().await.unwrap();
    let groups = groups.as_array().unwrap();
    assert_eq!(
        groups.len(),
        3,
        "A in team-x and other, B in other: {groups:?}"
    );

    let rs: serde_json::Value = d.get_json("/api/v2/receivers").await;
    assert_eq!(
        rs,
        json!([{"name": "default", "integrations": []}, {"name": "team-x", "integrations": []},
               {"name": "other", "integrations": []}])
    );

    let st: serde_json::Value = d.get_json("/api/v2/status").await;
    assert_eq!(st["cluster"]["status"], "disabled");
    assert!(
        st["config"]["original"]
            .as_str()
            .unwrap()
            .contains("team-x")
    );
}

#[tokio::test]
async fn operational_endpoints() {
    let d = Daemon::start(CONFIG);
    let c = reqwest::Client::new();
    for p in ["/-/healthy", "/-/ready"] {
        let r = c.get(d.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "OK");
        assert_eq!(c.head(d.url(p)).send().await.unwrap().status(), 200);
    }
    let r = c.get(d.url("/api/v1/alerts")).send().await.unwrap();
    assert_eq!(r.status(), 410);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["status"], "deprecated");
    assert_eq!(c.get(d.url("/nope")).send().await.unwrap().status(), 404);
    let r = c.put(d.url("/api/v2/silences")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let m = c
        .get(d.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "alertmanager_config_last_reload_successful 1",
        "alertmanager_alerts_received_total",
        "process_resident_memory_bytes",
        "alertmanager_cluster_enabled 0",
    ] {
        assert!(m.contains(name), "{name} missing");
    }
    let big = vec![b' '; 65 << 20];
    let r = c
        .post(d.url("/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn webhook_payload_ingest() {
    let d = Daemon::start(CONFIG);
    let body = json!({
        "version": "4", "status": "firing", "receiver": "x", "groupKey": "{}:{}",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
        "truncatedAlerts": 0,
        "alerts": [{"status": "firing", "labels": {"alertname": "Fwd"}, "annotations": {},
                    "startsAt": "2026-11-22T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "", "fingerprint": "0"}]
    });
    let r = reqwest::Client::new()
        .post(d.url("/api/tocsin/v1/webhook"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let alerts: serde_json::Value = d.get_json("/api/v2/alerts").await;
    assert_eq!(alerts[0]["labels"]["alertname"], "Fwd");
}

#[test]
fn slow_request_times_out_with_web_timeout() {
    use std::io::{Read, Write};
    let d = Daemon::start_with(CONFIG, &["--web.timeout=1s"]);
    let mut s = std::net::TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // Promise 100 bytes, send 2, then stall.
    s.write_all(b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[]")
        .unwrap();
    let mut resp = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&resp).contains("web.timeout") {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed without an answer: {}",
            String::from_utf8_lossy(&resp)
        );
        resp.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 503"));
}

/// Random and mangled bodies on every endpoint: each answer is a clean 2xx/4xx/5xx (never a
/// dropped connection) and the daemon stays healthy.
#[tokio::test]
async fn no_input_breaks_the_api() {
    let d = Daemon::start(CONFIG);
    let c = reqwest::Client::new();
    let seeds: Vec<String> = vec![
        r#"[{"labels":{"a":"b"},"startsAt":"2026-01-01T00:00:00Z"}]"#.into(),
        r#"{"version":"4","alerts":[{"labels":{"x":"y"}}]}"#.into(),
        r#"{"template":"{{ . }}","data":{}}"#.into(),
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let paths = [
        "/api/v2/alerts",
        "/api/tocsin/v1/webhook",
        "/api/tocsin/v1/templates/render",
        "/api/v2/alerts?filter=%ff%fe&receiver=(",
        "/api/v2/alerts/groups?active=%00",
    ];
    for i in 0..300 {
        let seed = seeds[i % seeds.len()].as_bytes();
        let mut body = seed.to_vec();
        for _ in 0..(rand() % 6) {
            let pos = (rand() as usize) % (body.len() + 1);
            match rand() % 3 {
                0 if pos < body.len() => body[pos] = rand() as u8,
                1 => body.insert(pos, b"{}[]\":,\\\x00\xff9e99999999"[(rand() % 16) as usize]),
                _ if pos < body.len() => {
                    body.remove(pos);
                }
                _ => {}
            }
        }
        let path = paths[i % paths.len()];
        let r = if path.contains('?') {
            c.get(d.url(path)).send().await
        } else {
            c.post(d.url(path))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
        };
        let status = r
            .expect("an answer, not a dropped connection")
            .status()
            .as_u16();
        assert!((200..600).contains(&status));
    }
    let r = c.get(d.url("/-/healthy")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}

/// `/metrics` is the classic text format unless the scraper asks for OpenMetrics, and
/// `promtool check metrics` (Prometheus's linter) finds nothing to fix in it.
#[tokio::test]
async fn metrics_negotiate_their_format_and_pass_promtool() {
    let Some(promtool) = crate::support::debian_tool("promtool") else {
        return;
    };
    let d = Daemon::start(CONFIG);
    let c = reqwest::Client::new();
    let r = c.get(d.url("/metrics")).send().await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let classic = r.text().await.unwrap();
    assert!(!classic.contains("# EOF"));
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(classic.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}");
    assert_eq!(said.trim(), "", "promtool has advice: {said}");
    // Prometheus's own scrape Accept header gets OpenMetrics.
    let r = c
        .get(d.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let om = r.text().await.unwrap();
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE alertmanager_alerts_received counter\n"));
}

/// Behind a reverse proxy at `/am/`: with `--web.external-url=http://host/am/` everything is
/// served under `/am` (API, health, reload, metrics, pages, pings, amtool's calls) and nothing
/// at `/` but a redirect to it, as Alertmanager does; `--web.route-prefix` overrides the URL's
/// path.
#[tokio::test]
async fn everything_is_served_under_the_external_urls_path() {
    let config = format!("{CONFIG}heartbeats:\n  - {{name: job, period: 1h, grace: 1h}}\n");
    let d = Daemon::start_with(&config, &["--web.external-url=http://proxy.test/am/"]);
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let status = |r: reqwest::Response| r.status().as_u16();
    for p in [
        "/am/-/healthy",
        "/am/-/ready",
        "/am/metrics",
        "/am/api/v2/status",
        "/am/api/v2/alerts",
        "/am/api/v2/alerts/groups",
        "/am/api/v2/silences",
        "/am/api/v2/receivers",
        "/am/",
    ] {
        assert_eq!(status(c.get(d.url(p)).send().await.unwrap()), 200, "{p}");
    }
    let posted = c
        .post(d.url("/am/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Proxied"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(status(posted), 200);
    let alerts: serde_json::Value = c
        .get(d.url("/am/api/v2/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alerts[0]["labels"]["alertname"], "Proxied");
    assert_eq!(
        status(c.get(d.url("/am/ping/job")).send().await.unwrap()),
        200
    );
    assert_eq!(
        status(c.post(d.url("/am/-/reload")).send().await.unwrap()),
        200
    );
    for p in [
        "/-/healthy",
        "/metrics",
        "/api/v2/status",
        "/amx/-/healthy",
        "/ping/job",
    ] {
        assert_eq!(status(c.get(d.url(p)).send().await.unwrap()), 404, "{p}");
    }
    let root = c.get(d.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 302);
    assert_eq!(root.headers()["location"], "/am/");
    let bare = c.get(d.url("/am")).send().await.unwrap();
    assert_eq!(bare.status(), 302);
    assert_eq!(bare.headers()["location"], "/am/");
    // amtool through the proxy path.
    if let Some(amtool) = crate::support::debian_tool("amtool") {
        let out = std::process::Command::new(amtool)
            .arg(format!("--alertmanager.url=http://{}/am/", d.addr))
            .args(["alert", "query", "-o", "simple"])
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Proxied"),
            "amtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The flag wins over the URL's path.
    let d = Daemon::start_with(
        CONFIG,
        &[
            "--web.external-url=http://proxy.test/am/",
            "--web.route-prefix=/",
        ],
    );
    assert_eq!(
        status(c.get(d.url("/-/healthy")).send().await.unwrap()),
        200
    );
    assert_eq!(
        status(c.get(d.url("/am/-/healthy")).send().await.unwrap()),
        404
    );
}
