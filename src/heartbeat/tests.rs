//! Transitions of the heartbeat state machine, one scenario per rule, as timelines in seconds
//! from a fixed start; the timer loop in tokio's paused time.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::config::Config;

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;

fn at(secs: f64) -> Timestamp {
    Timestamp::from_millisecond(T0 * 1000 + (secs * 1000.0) as i64).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A registry of the checks in a `heartbeats:` YAML list (validated as the config does).
fn registry(checks: &str) -> Registry {
    let yaml = format!("route: {{receiver: r}}\nreceivers: [{{name: r}}]\nheartbeats:\n{checks}");
    let cfg = Config::from_yaml(&yaml, Path::new("."), "t.yml").unwrap_or_else(|e| panic!("{e}"));
    Registry::new(cfg.heartbeats.iter().map(CheckSpec::from_config).collect())
}

fn ping_at(kind: PingKind, t: Timestamp) -> Ping {
    Ping {
        kind,
        at: t,
        rid: None,
        body: String::new(),
        source: "127.0.0.1".into(),
    }
}

fn ping(kind: PingKind, secs: f64) -> Ping {
    ping_at(kind, at(secs))
}

fn with_rid(mut p: Ping, rid: &str) -> Ping {
    p.rid = Some(rid.to_owned());
    p
}

fn with_body(mut p: Ping, body: &str) -> Ping {
    p.body = body.to_owned();
    p
}

fn status(r: &Registry, name: &str, t: Timestamp) -> Status {
    r.views(t)
        .into_iter()
        .find(|v| v.name == name)
        .expect("check")
        .status
}

/// `(alertname, firing)` of each alert.
fn names(alerts: &[Alert], t: Timestamp) -> Vec<(String, bool)> {
    alerts
        .iter()
        .map(|a| (a.labels.get("alertname").to_owned(), !a.resolved_at(t)))
        .collect()
}

#[test]
fn period_and_grace() {
    let mut r = registry("- {name: job, period: 60s, grace: 30s, labels: {team: db}}");
    assert_eq!(status(&r, "job", at(0.0)), Status::New);
    assert_eq!(r.next_wakeup(), None, "a new check has no deadline");
    assert!(
        r.ping("job", &ping(PingKind::Success, 0.0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&r, "job", at(59.0)), Status::Up);
    assert_eq!(status(&r, "job", at(60.0)), Status::Grace);
    assert_eq!(r.next_wakeup(), Some(at(90.0)));
    assert!(r.tick(at(89.9)).is_empty());
    let down = r.tick(at(90.0));
    assert_eq!(names(&down, at(90.0)), [("HeartbeatMissing".into(), true)]);
    let a = &down[0];
    assert_eq!(a.labels.get("heartbeat"), "job");
    assert_eq!(a.labels.get("team"), "db");
    assert_eq!(a.starts_at, at(90.0));
    let summary = a.annotations.get("summary");
    assert!(
        summary.contains("no ping since 2024-01-01T00:00:00Z"),
        "{summary}"
    );
    assert!(
        summary.contains("expected by 2024-01-01T00:01:00Z"),
        "{summary}"
    );
    assert_eq!(status(&r, "job", at(100.0)), Status::Down);
    // The next success resolves it.
    let up = r.ping("job", &ping(PingKind::Success, 120.0)).unwrap();
    assert_eq!(names(&up, at(120.0)), [("HeartbeatMissing".into(), false)]);
    assert_eq!(up[0].fingerprint, a.fingerprint);
    assert_eq!(status(&r, "job", at(121.0)), Status::Up);
}

#[test]
fn early_pings_push_the_deadline_without_piling_up_the_heap() {
    let mut r = registry("- {name: job, period: 10s, grace: 5s}");
    for i in 0..100 {
        r.ping("job", &ping(PingKind::Success, i as f64)).unwrap();
        assert!(r.tick(at(i as f64)).is_empty());
    }
    assert!(r.heap_len() <= 2, "{}", r.heap_len());
    assert!(r.tick(at(113.9)).is_empty());
    assert_eq!(r.tick(at(114.0)).len(), 1);
}

#[test]
fn cron_in_london_across_dst() {
    // 01:30 every day, Europe/London; grace 10 minutes.
    let mut r =
        registry("- {name: nightly, schedule: '30 1 * * *', timezone: Europe/London, grace: 10m}");
    // A run on 2024-03-30 01:30 GMT. The next wall 01:30 does not exist (clocks jump at 01:00
    // GMT on the 31st): the next expected time is 2024-04-01 01:30 BST = 00:30 UTC.
    r.ping(
        "nightly",
        &ping_at(PingKind::Success, ts("2024-03-30T01:31:00Z")),
    )
    .unwrap();
    let v = &r.views(ts("2024-03-31T12:00:00Z"))[0];
    assert_eq!(v.next_expected, Some(ts("2024-04-01T00:30:00Z")));
    assert_eq!(v.status, Status::Up, "no false alarm on the gap day");
    assert!(r.tick(ts("2024-04-01T00:39:59Z")).is_empty());
    assert_eq!(r.tick(ts("2024-04-01T00:40:00Z")).len(), 1);
    // Autumn: 01:30 happens twice on 2024-10-27; after the first run, the next expected time is
    // the next day's, so the second pass brings no alert.
    let mut r =
        registry("- {name: nightly, schedule: '30 1 * * *', timezone: Europe/London, grace: 10m}");
    r.ping(
        "nightly",
        &ping_at(PingKind::Success, ts("2024-10-27T00:31:00Z")),
    )
    .unwrap();
    assert_eq!(
        r.views(ts("2024-10-27T01:45:00Z"))[0].next_expected,
        Some(ts("2024-10-28T01:30:00Z"))
    );
    assert!(r.tick(ts("2024-10-27T02:00:00Z")).is_empty());
}

#[test]
fn eventbridge_schedule() {
    // The second job: cron(05 7 * * ? *), two hours after the 05:00 one.
    let mut r = registry(
        "- {name: report, schedule: 'cron(05 7 * * ? *)', grace: 15m}\n- {name: etl, schedule: '0 5 * * *', grace: 15m}",
    );
    r.ping(
        "report",
        &ping_at(PingKind::Success, ts("2024-05-01T07:06:00Z")),
    )
    .unwrap();
    r.ping(
        "etl",
        &ping_at(PingKind::Success, ts("2024-05-01T05:01:00Z")),
    )
    .unwrap();
    // The 05:00 job misses the next day: down at 05:15; the 07:05 one is fine.
    assert!(r.tick(ts("2024-05-02T05:14:59Z")).is_empty());
    let down = r.tick(ts("2024-05-02T05:15:00Z"));
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].labels.get("heartbeat"), "etl");
    r.ping(
        "report",
        &ping_at(PingKind::Success, ts("2024-05-02T07:05:30Z")),
    )
    .unwrap();
    assert_eq!(
        r.views(ts("2024-05-02T08:00:00Z"))[0].next_expected,
        Some(ts("2024-05-03T07:05:00Z"))
    );
}

#[test]
fn rate_expression_is_a_period() {
    let mut r = registry("- {name: q, schedule: 'rate(5 minutes)', grace: 1m}");
    r.ping("q", &ping(PingKind::Success, 0.0)).unwrap();
    assert_eq!(r.next_wakeup(), Some(at(360.0)));
}

#[test]
fn start_then_a_long_run_goes_down_after_grace() {
    let mut r = registry("- {name: backup, period: 1d, grace: 1h}");
    r.ping("backup", &ping(PingKind::Success, 0.0)).unwrap();
    r.ping("backup", &ping(PingKind::Start, 100.0)).unwrap();
    assert_eq!(status(&r, "backup", at(200.0)), Status::Started);
    assert_eq!(
        r.next_wakeup(),
        Some(at(3700.0)),
        "start + grace comes first"
    );
    let down = r.tick(at(3700.0));
    assert_eq!(
        names(&down, at(3700.0)),
        [("HeartbeatMissing".into(), true)]
    );
    let s = down[0].annotations.get("summary");
    assert!(
        s.contains("has not finished within the grace time 1h"),
        "{s}"
    );
    // A start on a new check is watched too.
    let mut r = registry("- {name: backup, period: 1d, grace: 1h}");
    r.ping("backup", &ping(PingKind::Start, 0.0)).unwrap();
    assert_eq!(r.tick(at(3600.0)).len(), 1);
}

#[test]
fn rid_pairs_concurrent_runs() {
    let mut r = registry("- {name: job, period: 1h, grace: 10m}");
    r.ping("job", &with_rid(ping(PingKind::Start, 0.0), "a"))
        .unwrap();
    r.ping("job", &with_rid(ping(PingKind::Start, 30.0), "b"))
        .unwrap();
    r.ping("job", &with_rid(ping(PingKind::Success, 100.0), "b"))
        .unwrap();
    let v = &r.views(at(100.0))[0];
    assert_eq!(v.last_duration_seconds, Some(70.0), "b ran 30..100");
    assert_eq!(v.running, 1, "a still runs");
    assert_eq!(v.status, Status::Started);
    r.ping("job", &with_rid(ping(PingKind::Success, 130.0), "a"))
        .unwrap();
    let v = &r.views(at(130.0))[0];
    assert_eq!(v.last_duration_seconds, Some(130.0));
    assert_eq!(v.running, 0);
    assert_eq!(v.status, Status::Up);
    let hist = r.pings("job").unwrap();
    assert_eq!(hist.len(), 4);
    assert_eq!(hist[0].rid.as_deref(), Some("a"), "newest first");
    assert_eq!(hist[0].duration_seconds, Some(130.0));
}

#[test]
fn fail_and_exit_codes() {
    let mut r = registry("- {name: job, period: 1h, grace: 10m}");
    r.ping("job", &ping(PingKind::Success, 0.0)).unwrap();
    assert!(
        r.ping("job", &ping(PingKind::Exit(0), 10.0))
            .unwrap()
            .is_empty()
    );
    let down = r.ping("job", &ping(PingKind::Exit(3), 20.0)).unwrap();
    assert_eq!(names(&down, at(20.0)), [("HeartbeatFailed".into(), true)]);
    assert!(
        down[0]
            .annotations
            .get("summary")
            .contains("exited with code 3")
    );
    assert_eq!(down[0].starts_at, at(20.0), "alerts at once");
    assert_eq!(status(&r, "job", at(21.0)), Status::Down);
    assert_eq!(
        r.next_wakeup(),
        Some(at(4200.0)),
        "only stale entries remain"
    );
    assert!(
        r.tick(at(10_000.0)).is_empty(),
        "down by failure does not also go missing"
    );
    // Failing again keeps one alert (same fingerprint), then a success resolves it.
    let again = r.ping("job", &ping(PingKind::Fail, 30.0)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].fingerprint, down[0].fingerprint);
    assert!(
        again[0]
            .annotations
            .get("summary")
            .contains("failed 2 times")
    );
    let up = r.ping("job", &ping(PingKind::Success, 40.0)).unwrap();
    assert_eq!(names(&up, at(40.0)), [("HeartbeatFailed".into(), false)]);
    // A failure while missing replaces the missing alert.
    let mut r = registry("- {name: job, period: 10s, grace: 10s}");
    r.ping("job", &ping(PingKind::Success, 0.0)).unwrap();
    assert_eq!(r.tick(at(20.0)).len(), 1);
    let fx = r.ping("job", &ping(PingKind::Fail, 25.0)).unwrap();
    assert_eq!(
        names(&fx, at(25.0)),
        [
            ("HeartbeatMissing".into(), false),
            ("HeartbeatFailed".into(), true)
        ]
    );
}

#[test]
fn log_pings_are_recorded_only() {
    let mut r = registry("- {name: job, period: 10s, grace: 10s}");
    r.ping("job", &ping(PingKind::Success, 0.0)).unwrap();
    r.ping("job", &with_body(ping(PingKind::Log, 15.0), "still going"))
        .unwrap();
    let v = &r.views(at(15.0))[0];
    assert_eq!(v.last_message, "still going");
    assert_eq!(v.last_ping, Some(at(0.0)));
    assert_eq!(
        r.tick(at(20.0)).len(),
        1,
        "a log ping does not count as a run"
    );
}

#[test]
fn failures_before_alert() {
    let mut r = registry("- {name: flaky, period: 1h, grace: 1h, failures_before_alert: 3}");
    r.ping("flaky", &ping(PingKind::Success, 0.0)).unwrap();
    assert!(
        r.ping("flaky", &ping(PingKind::Fail, 3600.0))
            .unwrap()
            .is_empty()
    );
    assert!(
        r.ping("flaky", &ping(PingKind::Exit(1), 7200.0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&r, "flaky", at(7201.0)), Status::Up);
    assert!(
        r.tick(at(7200.0 + 3600.0 * 2.0 - 1.0)).is_empty(),
        "a failed run still counts as a run for the deadline"
    );
    let note = r.pings("flaky").unwrap()[0].note.clone().unwrap();
    assert!(note.contains("failure 2 of 3"), "{note}");
    let down = r.ping("flaky", &ping(PingKind::Fail, 10_800.0)).unwrap();
    assert_eq!(
        names(&down, at(10_800.0)),
        [("HeartbeatFailed".into(), true)]
    );
    assert!(
        down[0]
            .annotations
            .get("summary")
            .contains("failed 3 times")
    );
    // A success resets the count.
    r.ping("flaky", &ping(PingKind::Success, 11_000.0)).unwrap();
    assert!(
        r.ping("flaky", &ping(PingKind::Fail, 11_100.0))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn min_duration() {
    let mut r = registry("- {name: job, period: 1h, grace: 1h, min_duration: 30s}");
    r.ping("job", &ping(PingKind::Start, 0.0)).unwrap();
    let fx = r.ping("job", &ping(PingKind::Success, 5.0)).unwrap();
    assert_eq!(names(&fx, at(5.0)), [("HeartbeatFailed".into(), true)]);
    let s = fx[0].annotations.get("summary");
    assert!(
        s.contains("the run took 5.000s, shorter than min_duration 30s"),
        "{s}"
    );
    r.ping("job", &ping(PingKind::Start, 100.0)).unwrap();
    let fx = r.ping("job", &ping(PingKind::Success, 140.0)).unwrap();
    assert_eq!(names(&fx, at(140.0)), [("HeartbeatFailed".into(), false)]);
    // Without a start there is no duration to judge.
    assert!(
        r.ping("job", &ping(PingKind::Success, 200.0))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn too_many_pings() {
    let mut r = registry("- {name: job, period: 1h, grace: 1h, max_pings_per_period: 2}");
    assert!(
        r.ping("job", &ping(PingKind::Success, 0.0))
            .unwrap()
            .is_empty()
    );
    assert!(
        r.ping("job", &ping(PingKind::Success, 600.0))
            .unwrap()
            .is_empty()
    );
    let fx = r.ping("job", &ping(PingKind::Success, 1200.0)).unwrap();
    assert_eq!(names(&fx, at(1200.0)), [("HeartbeatFailed".into(), true)]);
    assert!(
        fx[0]
            .annotations
            .get("summary")
            .contains("3 successful pings within one period")
    );
    // An hour later the window has moved on.
    let fx = r.ping("job", &ping(PingKind::Success, 5000.0)).unwrap();
    assert_eq!(names(&fx, at(5000.0)), [("HeartbeatFailed".into(), false)]);
    // With a schedule: pings before the same scheduled time count together.
    let mut r = registry("- {name: d, schedule: '@daily', grace: 1h, max_pings_per_period: 1}");
    assert!(
        r.ping("d", &ping(PingKind::Success, 10.0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.ping("d", &ping(PingKind::Success, 20_000.0))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        names(
            &r.ping("d", &ping(PingKind::Success, 90_000.0)).unwrap(),
            at(90_000.0)
        ),
        [("HeartbeatFailed".into(), false)],
        "the next day's ping is alone before its scheduled time"
    );
}

#[test]
fn keywords() {
    let mut r = registry(
        "- {name: job, period: 1h, grace: 1h, success_keywords: [DONE], failure_keywords: [ERROR]}",
    );
    assert!(
        r.ping("job", &with_body(ping(PingKind::Success, 0.0), "all DONE"))
            .unwrap()
            .is_empty()
    );
    let fx = r
        .ping(
            "job",
            &with_body(ping(PingKind::Success, 10.0), "DONE with ERROR"),
        )
        .unwrap();
    assert!(
        fx[0]
            .annotations
            .get("summary")
            .contains("failure keyword \"ERROR\"")
    );
    r.ping("job", &with_body(ping(PingKind::Success, 20.0), "DONE"))
        .unwrap();
    let fx = r.ping("job", &ping(PingKind::Success, 30.0)).unwrap();
    assert!(
        fx[0]
            .annotations
            .get("summary")
            .contains("none of the success keywords")
    );
    assert_eq!(
        r.views(at(30.0))[0].last_message,
        "DONE",
        "an empty body keeps the last message"
    );
}

#[test]
fn pause_and_resume() {
    let mut r = registry("- {name: job, period: 10s, grace: 10s}");
    r.ping("job", &ping(PingKind::Success, 0.0)).unwrap();
    assert_eq!(r.tick(at(20.0)).len(), 1);
    let fx = r.pause("job", at(25.0)).unwrap();
    assert_eq!(names(&fx, at(25.0)), [("HeartbeatMissing".into(), false)]);
    assert_eq!(status(&r, "job", at(1000.0)), Status::Paused);
    assert!(r.tick(at(1000.0)).is_empty());
    r.resume("job", at(1000.0)).unwrap();
    assert_eq!(status(&r, "job", at(1000.0)), Status::New);
    assert!(r.tick(at(5000.0)).is_empty(), "new until the next ping");
    // A ping resumes a paused check too.
    r.pause("job", at(5000.0)).unwrap();
    r.ping("job", &ping(PingKind::Success, 5001.0)).unwrap();
    assert_eq!(status(&r, "job", at(5002.0)), Status::Up);
    assert_eq!(r.tick(at(5021.0)).len(), 1);
    assert_eq!(
        r.pause("nope", at(0.0)),
        Err(CheckError::NotFound("nope".into()))
    );
}

#[test]
fn alert_fed_checks_count_received_alerts() {
    let mut r = registry(
        "- {name: watchdog, period: 2m, grace: 1m, alert_matchers: ['alertname=\"Watchdog\"']}",
    );
    let alert = |name: &str, ends: f64| {
        let labels: crate::model::LabelSet = [("alertname", name)].into_iter().collect();
        Arc::new(Alert {
            fingerprint: labels.fingerprint(),
            labels,
            annotations: Default::default(),
            starts_at: at(0.0),
            ends_at: at(ends),
            generator_url: Arc::from(""),
            updated_at: at(0.0),
            timeout: false,
        })
    };
    assert!(r.observe_alerts(&[alert("Other", 1e6)], at(0.0)).is_empty());
    assert_eq!(status(&r, "watchdog", at(0.0)), Status::New);
    r.observe_alerts(&[alert("Watchdog", 1e6)], at(0.0));
    assert_eq!(status(&r, "watchdog", at(1.0)), Status::Up);
    r.observe_alerts(&[alert("Watchdog", 1e6)], at(60.0));
    r.observe_alerts(&[alert("Watchdog", 50.0)], at(100.0)); // resolved: not a ping
    assert!(r.tick(at(239.0)).is_empty());
    let down = r.tick(at(240.0));
    assert_eq!(down[0].labels.get("heartbeat"), "watchdog");
    let up = r.observe_alerts(&[alert("Watchdog", 1e6)], at(300.0));
    assert_eq!(names(&up, at(300.0)), [("HeartbeatMissing".into(), false)]);
    assert_eq!(r.pings("watchdog").unwrap()[0].kind, PingKind::Alert);
}

#[test]
fn reload_keeps_state_and_resolves_removed_checks() {
    let mut r =
        registry("- {name: a, period: 10s, grace: 10s}\n- {name: b, period: 10s, grace: 10s}");
    r.ping("a", &ping(PingKind::Success, 0.0)).unwrap();
    r.ping("b", &ping(PingKind::Success, 0.0)).unwrap();
    assert_eq!(r.tick(at(20.0)).len(), 2);
    let cfg = Config::from_yaml(
        "route: {receiver: r}\nreceivers: [{name: r}]\nheartbeats:\n- {name: a, period: 1h, grace: 10s}\n",
        Path::new("."),
        "t.yml",
    )
    .unwrap();
    let fx = r.reload(
        cfg.heartbeats.iter().map(CheckSpec::from_config).collect(),
        at(30.0),
    );
    assert_eq!(names(&fx, at(30.0)), [("HeartbeatMissing".into(), false)]);
    assert_eq!(fx[0].labels.get("heartbeat"), "b");
    assert_eq!(status(&r, "a", at(30.0)), Status::Down, "a keeps its state");
    r.ping("a", &ping(PingKind::Success, 40.0)).unwrap();
    assert_eq!(r.next_wakeup(), Some(at(3650.0)), "under the new period");
}

#[test]
fn snapshot_and_restore() {
    let checks = "- {name: a, period: 10s, grace: 10s}\n- {name: b, period: 1h, grace: 10s}\n- {name: c, period: 10s, grace: 10s}";
    let mut r = registry(checks);
    r.ping("a", &ping(PingKind::Success, 0.0)).unwrap();
    r.ping("b", &ping(PingKind::Success, 0.0)).unwrap();
    r.ping("c", &ping(PingKind::Success, 0.0)).unwrap();
    assert_eq!(r.tick(at(20.0)).len(), 2, "a and c down");
    r.ping("c", &ping(PingKind::Success, 25.0)).unwrap();
    let snap = r.snapshot();
    // Through bytes, as a store would keep them.
    let bytes = serde_json::to_vec(&snap).unwrap();
    let back: std::collections::BTreeMap<String, CheckState> =
        serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, snap);
    // "Restart" at 100 s: a is still down (its alert is re-put), c expired meanwhile (fires at
    // start-up), b's deadline resumes; the ping history is kept.
    let mut fresh = registry(checks);
    let fx = fresh.restore(back, at(100.0));
    let mut got: Vec<_> = fx
        .iter()
        .map(|a| (a.labels.get("heartbeat").to_owned(), a.starts_at))
        .collect();
    got.sort();
    assert_eq!(got, [("a".into(), at(20.0)), ("c".into(), at(45.0))]);
    assert_eq!(fresh.next_wakeup(), Some(at(3610.0)));
    assert_eq!(fresh.pings("c").unwrap().len(), 2);
}

#[test]
fn unknown_check() {
    let mut r = registry("- {name: a, period: 10s}");
    assert_eq!(
        r.ping("b", &ping(PingKind::Success, 0.0)),
        Err(CheckError::NotFound("b".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn timer_loop_emits_at_the_deadline() {
    let cfg = Config::from_yaml(
        "route: {receiver: r}\nreceivers: [{name: r}]\nheartbeats:\n- {name: a, period: 30s, grace: 15s}\n",
        Path::new("."),
        "t.yml",
    )
    .unwrap();
    let hb = Arc::new(Heartbeats::new(&cfg.heartbeats));
    let got: Arc<Mutex<Vec<(Alert, Timestamp)>>> = Arc::default();
    let cancel = CancellationToken::new();
    let task = {
        let got = Arc::clone(&got);
        tokio::spawn(Arc::clone(&hb).run(cancel.clone(), move |alerts| {
            let now = clock::now();
            got.lock()
                .unwrap()
                .extend(alerts.into_iter().map(|a| (a, now)));
        }))
    };
    let start = clock::now();
    hb.ping("a", &ping_at(PingKind::Success, start)).unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(44)).await;
    assert!(got.lock().unwrap().is_empty());
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (a, emitted) = &got[0];
        assert_eq!(
            a.starts_at,
            start.checked_add(SignedDuration::from_secs(45)).unwrap()
        );
        let late = emitted.duration_since(a.starts_at);
        assert!(late <= SignedDuration::from_millis(100), "{late:?}");
    }
    // A ping that moves the deadline earlier (a start with a short grace) wakes the loop.
    let resolved = hb
        .ping("a", &ping_at(PingKind::Success, clock::now()))
        .unwrap();
    assert_eq!(resolved.len(), 1, "the caller emits what a ping resolves");
    hb.ping("a", &ping_at(PingKind::Start, clock::now()))
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(16)).await;
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 2, "the run outlasted grace");
        let s = got[1].0.annotations.get("summary");
        assert!(s.contains("has not finished"), "{s}");
    }
    cancel.cancel();
    task.await.unwrap();
}

#[test]
fn stored_states_and_ping_logs_read_back_equal() {
    let yaml = "route: {receiver: r}\nreceivers: [{name: r}]\nheartbeats:\n- {name: a, period: 1m, grace: 1m}\n- {name: b, period: 1h}\n";
    let cfg = Config::from_yaml(yaml, Path::new("."), "t.yml").unwrap();
    let h = Heartbeats::new(&cfg.heartbeats);
    h.ping("a", &with_rid(ping(PingKind::Start, 0.0), "r1"))
        .unwrap();
    h.ping("a", &with_body(ping(PingKind::Success, 1.0), "done"))
        .unwrap();
    h.ping("a", &ping(PingKind::Fail, 2.0)).unwrap();
    let _ = h.tick(at(400.0));
    let all = h.snapshot();
    assert!(!all["a"].pings.is_empty());
    let entries = h
        .snapshot_changes()
        .into_iter()
        .map(|c| (c.key, c.value.unwrap()))
        .collect::<Vec<_>>();
    assert_eq!(decode_stored(entries.clone()).unwrap(), all);
    // The state alone (what a ping writes) reads back whole but for the ping log.
    let core_only: Vec<_> = entries
        .into_iter()
        .filter(|(k, _)| !k.ends_with(PINGS_KEY))
        .collect();
    let mut want = all.clone();
    for s in want.values_mut() {
        s.pings.clear();
    }
    assert_eq!(decode_stored(core_only).unwrap(), want);
}

/// What the cluster publishes: every check after a reload or restore, then only the checks
/// that changed (a ping, a deadline, a peer's state), each in its published form; a check
/// never pinged has none.
#[test]
fn the_cluster_takes_only_the_changed_checks() {
    let yaml = "route: {receiver: r}\nreceivers: [{name: r}]\nheartbeats:\n- {name: a, period: 1m, grace: 1m}\n- {name: b, period: 1h}\n";
    let cfg = Config::from_yaml(yaml, Path::new("."), "t.yml").unwrap();
    let h = Heartbeats::new(&cfg.heartbeats);
    let (first, all) = h.take_replica();
    assert!(all);
    assert_eq!(first.len(), 2);
    assert!(
        first.iter().all(|(_, v)| v.is_none()),
        "never pinged: {first:?}"
    );
    assert_eq!(h.take_replica(), (Vec::new(), false));
    h.ping("a", &ping(PingKind::Success, 0.0)).unwrap();
    let (changed, all) = h.take_replica();
    assert!(!all);
    assert_eq!(changed.len(), 1);
    let (name, value) = &changed[0];
    assert_eq!(name, "a");
    let published = replica::decode(value.as_deref().unwrap()).unwrap();
    assert_eq!(published.last_ping, Some(at(0.0)));
    // A peer's newer ping of b, merged: b is published in turn.
    let mut remote = CheckState::default();
    assert!(h.merge_replica("b", &remote).is_empty(), "nothing new");
    assert_eq!(h.take_replica(), (Vec::new(), false));
    let spec = h.spec("b").unwrap();
    let _ = remote.apply(&spec, &ping(PingKind::Success, 5.0));
    assert!(h.merge_replica("b", &remote).is_empty());
    let (changed, _) = h.take_replica();
    assert_eq!(
        changed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert_eq!(h.snapshot()["b"].last_ping, Some(at(5.0)));
    // The deadline of a passes: it is published again.
    let fired = h.tick(at(200.0));
    assert_eq!(fired.len(), 1);
    let (changed, _) = h.take_replica();
    assert_eq!(
        changed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
}
