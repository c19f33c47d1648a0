//! Heartbeats with the real binary: a simulated cron job pings, stops, a page goes out, the job
//! pings again and the page resolves; the Prometheus Watchdog stops arriving, a page goes out,
//! and the outbound pings to a fake healthchecks.io stop (with a call to its `/fail`) and start
//! again when the Watchdog returns.
//!
//! The cron job's page goes to the strict PagerDuty fake; the Watchdog's to the webhook fake.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually};
use crate::support::fake_healthchecks::FakeHealthchecks;
use crate::support::fake_pagerduty::FakePagerDuty;
use crate::support::fake_webhook::{FakeWebhook, Received};

const ROUTING_KEY: &str = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey00";

fn route(hook: &str, pagerduty: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname, heartbeat]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
  - matchers: ['alertname="Watchdog"']
    receiver: blackhole
  - matchers: ['severity="page"']
    receiver: page
receivers:
- name: hook
  webhook_configs:
  - url: {hook}
- name: blackhole
- name: page
  pagerduty_configs:
  - routing_key: {ROUTING_KEY}
    url: {pagerduty}
"#
    )
}

/// The alerts of received notifications for this heartbeat, as (alertname, status).
fn pages(got: &[Received], heartbeat: &str) -> Vec<(String, String)> {
    got.iter()
        .flat_map(|r| r.body["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["heartbeat"] == heartbeat)
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap_or("").to_owned(),
                a["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn send(c: &reqwest::Client, method: reqwest::Method, url: &str) -> (u16, String) {
    let r = c.request(method, url).send().await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn cron_job_stops_pinging_pages_then_resolves() {
    let hook = FakeWebhook::start().await;
    let pd = FakePagerDuty::start().await;
    let cfg = format!(
        "{}heartbeats:\n- {{name: nightly, period: 2s, grace: 1s, token: s3cret, labels: {{severity: page}}}}\n",
        route(&hook.url(), &pd.url())
    );
    let d = Daemon::start(&cfg);
    let c = reqwest::Client::new();
    use reqwest::Method;
    // The grammar and the answers.
    let r = c
        .get(d.url("/ping/nightly?token=s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["ping-body-limit"], "100000");
    assert_eq!(r.text().await.unwrap(), "OK");
    for (method, path, want) in [
        (Method::GET, "/ping/nightly", (401, "bad token")),
        (Method::GET, "/ping/nightly?token=wrong", (401, "bad token")),
        (Method::GET, "/ping/nope", (404, "not found")),
        (
            Method::GET,
            "/ping/nightly/256?token=s3cret",
            (400, "invalid url format"),
        ),
        (
            Method::GET,
            "/ping/nightly/done?token=s3cret",
            (400, "invalid url format"),
        ),
        (
            Method::GET,
            "/ping/nightly?token=s3cret&rid=x",
            (400, "invalid uuid format"),
        ),
        (
            Method::PUT,
            "/ping/nightly?token=s3cret",
            (405, "method not allowed"),
        ),
        (Method::HEAD, "/ping/nightly?token=s3cret", (200, "")),
    ] {
        let (status, body) = send(&c, method.clone(), &d.url(path)).await;
        assert_eq!((status, body.as_str()), want, "{method} {path}");
    }
    // A run paired by rid, with a bearer token and a POST body.
    let rid = "0b6a9a3e-59a4-4ad1-9d2b-2d4f5d1c7b1e";
    let start = c
        .post(d.url(&format!("/ping/nightly/start?rid={rid}")))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 200);
    let done = c
        .post(d.url(&format!("/ping/nightly/0?rid={rid}")))
        .bearer_auth("s3cret")
        .body("backup done: 42 files")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let last_ping = tokio::time::Instant::now();
    let list = d.get_json("/api/tocsin/v1/heartbeats").await;
    let v = &list[0];
    assert_eq!(v["name"], "nightly");
    assert_eq!(v["status"], "up");
    assert_eq!(v["last_message"], "backup done: 42 files");
    assert!(v["last_duration_seconds"].as_f64().is_some());
    assert!(v["next_deadline"].is_string());
    let pings = d.get_json("/api/tocsin/v1/heartbeats/nightly/pings").await;
    assert_eq!(pings[0]["kind"], json!({"exit": 0}));
    assert_eq!(pings[0]["rid"], rid);
    assert_eq!(pings[0]["source"], "127.0.0.1");
    assert_eq!(pings[1]["kind"], "start");
    // The job stops: PagerDuty gets a trigger after period + grace.
    let ev = pd.wait_accepted(1, Duration::from_secs(10)).await;
    let waited = last_ping.elapsed();
    assert!(
        waited >= Duration::from_millis(2900),
        "paged after {waited:?}"
    );
    assert_eq!(ev[0].body["event_action"], "trigger");
    assert_eq!(ev[0].body["routing_key"], ROUTING_KEY);
    let summary = ev[0].body["payload"]["summary"].as_str().unwrap();
    assert!(summary.contains("HeartbeatMissing"), "{summary}");
    let details = ev[0].body["payload"]["custom_details"].to_string();
    assert!(details.contains("no ping since"), "{details}");
    let list = d.get_json("/api/tocsin/v1/heartbeats").await;
    assert_eq!(list[0]["status"], "down");
    let m = d.metrics().await;
    assert!(
        m.contains("tocsin_heartbeat_up{heartbeat=\"nightly\"} 0"),
        "{m}"
    );
    assert!(
        m.contains("tocsin_heartbeat_state{state=\"down\"} 1"),
        "{m}"
    );
    // The job pings again: PagerDuty gets the resolve for the same incident.
    assert_eq!(
        send(&c, Method::GET, &d.url("/ping/nightly?token=s3cret"))
            .await
            .0,
        200
    );
    let ev = pd.wait_accepted(2, Duration::from_secs(10)).await;
    assert_eq!(ev[1].body["event_action"], "resolve");
    assert_eq!(ev[1].body["dedup_key"], ev[0].body["dedup_key"]);
    assert!(pd.incidents().values().flatten().all(|i| !i.open));
    // An explicit failure pages at once as HeartbeatFailed.
    let (s, _) = send(&c, Method::GET, &d.url("/ping/nightly/3?token=s3cret")).await;
    assert_eq!(s, 200);
    let ev = pd.wait_accepted(3, Duration::from_secs(10)).await;
    assert_eq!(ev[2].body["event_action"], "trigger");
    let summary = ev[2].body["payload"]["summary"].as_str().unwrap();
    assert!(summary.contains("HeartbeatFailed"), "{summary}");
    assert!(pd.events().iter().all(|e| e.errors.is_empty()));
    assert!(hook.received().is_empty(), "pages go to PagerDuty only");
}

#[tokio::test]
async fn watchdog_silence_pages_and_stops_the_dead_mans_switch() {
    let hook = FakeWebhook::start().await;
    let hc = FakeHealthchecks::start().await;
    let cfg = format!(
        "{}heartbeats:\n- name: watchdog\n  period: 2s\n  grace: 1s\n  alert_matchers: ['alertname=\"Watchdog\"']\ndead_mans_switch:\n  url: {url}\n  fail_url: {url}/fail\n  interval: 500ms\n  require_alerts: ['alertname=\"Watchdog\"']\n  max_age: 2s\n",
        route(&hook.url(), "http://127.0.0.1:9/v2/enqueue"),
        url = hc.url()
    );
    let d = Daemon::start(&cfg);
    // Prometheus: the always-firing Watchdog, re-sent every 300 ms while `feeding`.
    let feeding = Arc::new(AtomicBool::new(true));
    let feeder = {
        let (feeding, url) = (Arc::clone(&feeding), d.url("/api/v2/alerts"));
        tokio::spawn(async move {
            let c = reqwest::Client::new();
            loop {
                if feeding.load(Ordering::Relaxed) {
                    let _ = c
                        .post(&url)
                        .json(&json!([{"labels": {"alertname": "Watchdog", "severity": "none"}}]))
                        .send()
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    let successes =
        |hc: &FakeHealthchecks| hc.pings().iter().filter(|p| p.action.is_empty()).count();
    assert!(
        eventually(Duration::from_secs(10), || successes(&hc) >= 2).await,
        "the dead man's switch pings while the Watchdog arrives"
    );
    assert!(hc.pings().iter().all(|p| p.method == "GET"));
    // Prometheus stops sending.
    feeding.store(false, Ordering::Relaxed);
    let stopped = tokio::time::Instant::now();
    let mut got = Vec::new();
    assert!(
        eventually(Duration::from_secs(10), || {
            got = hook.received();
            !pages(&got, "watchdog").is_empty()
        })
        .await,
        "a page when the Watchdog goes quiet"
    );
    assert_eq!(
        pages(&got, "watchdog"),
        [("HeartbeatMissing".into(), "firing".into())]
    );
    assert!(
        eventually(Duration::from_secs(10), || hc
            .pings()
            .iter()
            .any(|p| p.action == "fail"))
        .await,
        "fail_url is called"
    );
    let fail = hc.pings().into_iter().find(|p| p.action == "fail").unwrap();
    assert_eq!(fail.method, "POST");
    assert!(fail.body.contains("max_age 2s"), "{}", fail.body);
    assert!(fail.at.duration_since(stopped) >= Duration::from_millis(1500));
    // No success ping after the failure, for a while.
    let before = successes(&hc);
    tokio::time::sleep(Duration::from_millis(1500)).await; // a quiet period, not a wait for a condition
    assert_eq!(successes(&hc), before, "pings stopped");
    assert_eq!(
        hc.pings().iter().filter(|p| p.action == "fail").count(),
        1,
        "fail_url once per change"
    );
    // The Watchdog returns: pings resume and the page resolves.
    feeding.store(true, Ordering::Relaxed);
    assert!(eventually(Duration::from_secs(10), || successes(&hc) > before).await);
    assert!(
        eventually(Duration::from_secs(10), || {
            got = hook.received();
            pages(&got, "watchdog").contains(&("HeartbeatMissing".into(), "resolved".into()))
        })
        .await
    );
    let m = d.metrics().await;
    assert!(
        m.contains("tocsin_dead_mans_switch_pings_total{target=\"0\",result=\"skipped\"}"),
        "{m}"
    );
    feeder.abort();
}

/// Each of the daemon's threads as (name, nice value), from `/proc`.
#[cfg(target_os = "linux")]
fn threads(pid: u32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
        let dir = t.expect("task").path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        // Fields after the parenthesised name start at the third (state); nice is the 19th.
        let after = &stat[stat.rfind(')').expect("stat") + 1..];
        let nice = after
            .split_whitespace()
            .nth(16)
            .expect("nice")
            .parse()
            .expect("nice value");
        out.push((comm.trim().to_owned(), nice));
    }
    out
}

/// Under saturated ingest, a ping used to wait for the core behind the threads parsing and
/// storing alert batches (12.8 ms p99 in bench/heartbeat, for a 1 ms target). Those threads now
/// run ten nice steps below the daemon, so the kernel runs a waking request thread first; the
/// ping's own path (runtime workers, the heartbeats' store writer) keeps the daemon's priority.
/// The figure itself is measured by bench/heartbeat; this checks the real binary's threads.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn ingest_threads_yield_the_core_to_pings() {
    let d = Daemon::start(
        "route: {receiver: r}\nreceivers: [{name: r}]\nheartbeats:\n- {name: job, period: 1h, grace: 1h}\n",
    );
    let c = reqwest::Client::new();
    // A batch above the size parsed in place goes to the ingest threads, while pings answer.
    let batch: Vec<_> = (0..400)
        .map(|i| json!({"labels": {"alertname": "Load", "instance": format!("host-{i:04}")}}))
        .collect();
    let ping_url = d.url("/ping/job");
    let (posted, pinged) = tokio::join!(
        c.post(d.url("/api/v2/alerts")).json(&batch).send(),
        send(&c, reqwest::Method::GET, &ping_url)
    );
    assert_eq!(posted.expect("post").status(), 200);
    assert_eq!(pinged, (200, "OK".to_owned()));
    let all = threads(d.pid());
    // The main thread keeps the name of the binary.
    let base = all
        .iter()
        .find(|(n, _)| n == "tocsin")
        .map(|(_, n)| *n)
        .unwrap_or_else(|| panic!("no main thread among {all:?}"));
    let background = (base + 10).min(19);
    let nice_of = |name: &str| -> Vec<i32> {
        all.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .collect()
    };
    let ingest = nice_of("tocsin-ingest");
    assert!(!ingest.is_empty(), "no ingest thread among {all:?}");
    for (name, want) in [
        ("tocsin-ingest", background),
        ("tocsin-storage", background),
        ("tocsin-fold", background),
        ("tocsin-hb-store", base),
    ] {
        let got = nice_of(name);
        assert!(!got.is_empty(), "no {name} thread among {all:?}");
        assert!(
            got.iter().all(|n| *n == want),
            "{name}: nice {got:?}, want {want} (daemon {base})"
        );
    }
    let workers = nice_of("tokio-rt-worker");
    assert!(!workers.is_empty(), "no runtime worker among {all:?}");
    assert!(
        workers.iter().all(|n| *n == base),
        "runtime workers lowered: {all:?}"
    );
}
