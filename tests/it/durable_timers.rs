//! Group timers and resolves across a restart, through the real binary: a group in its
//! `group_wait` at a `kill -9` waits only what is left of it, a group between two flushes keeps
//! its `group_interval` instead of flushing at start-up, and an alert that ended while tocsin
//! was down is resolved at start-up and its resolve reaches the receiver told it fired.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::daemon::{Daemon, eventually};
use crate::support::fake_webhook::{FakeWebhook, Received};

fn at(offset_secs: i64) -> String {
    tocsin::clock::now()
        .checked_add(jiff::SignedDuration::from_secs(offset_secs))
        .unwrap()
        .to_string()
}

async fn post(d: &Daemon, path: &str, body: &Value) -> u16 {
    reqwest::Client::new()
        .post(d.url(path))
        .timeout(Duration::from_secs(10))
        .json(body)
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16()
}

/// Everything queued for storage so far is durable once a silence create is answered.
async fn barrier(d: &Daemon) {
    let s = json!({"matchers": [{"name": "alertname", "value": "NoSuchAlert", "isRegex": false}],
                   "startsAt": at(0), "endsAt": at(60), "createdBy": "test", "comment": "barrier"});
    assert_eq!(post(d, "/api/v2/silences", &s).await, 200);
}

fn named<'a>(got: &'a [Received], name: &str) -> Vec<&'a Received> {
    got.iter()
        .filter(|r| r.body["commonLabels"]["alertname"] == name)
        .collect()
}

const TIMERS: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 6s
  group_interval: 8s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: HOOK
        send_resolved: true
"#;

#[tokio::test]
async fn group_timers_continue_after_kill_9() {
    let hook = FakeWebhook::start().await;
    let d = Daemon::start(&TIMERS.replace("HOOK", &hook.url()));
    // "Interval": an alert older than group_wait flushes at once.
    let old = |n: &str| json!([{"labels": {"alertname": "Interval", "n": n}, "startsAt": at(-60), "endsAt": at(3600)}]);
    assert_eq!(post(&d, "/api/v2/alerts", &old("1")).await, 200);
    let first = hook.wait_for(1, Duration::from_secs(10)).await[0].at;
    // "Wait" starts its group_wait now; "Interval" gets a second alert, due at its next tick.
    let posted = tokio::time::Instant::now();
    let wait = json!([{"labels": {"alertname": "Wait"}, "endsAt": at(3600)}]);
    assert_eq!(post(&d, "/api/v2/alerts", &wait).await, 200);
    assert_eq!(post(&d, "/api/v2/alerts", &old("2")).await, 200);
    barrier(&d).await;
    let d = d.restart();
    let both = eventually(Duration::from_secs(30), || {
        let got = hook.received();
        !named(&got, "Wait").is_empty() && named(&got, "Interval").len() >= 2
    })
    .await;
    let got = hook.received();
    assert!(both, "both groups notified after the restart: {got:#?}");
    let wait_at = named(&got, "Wait")[0].at;
    assert!(
        wait_at >= posted + Duration::from_secs(6),
        "Wait was notified {:?} after its first alert: before its 6 s group_wait",
        wait_at - posted
    );
    let second = named(&got, "Interval")[1];
    assert_eq!(second.body["alerts"].as_array().unwrap().len(), 2);
    // The tick came 8 s after the first flush (the flush went out at most a moment before the
    // receiver saw it), not at start-up.
    assert!(
        second.at + Duration::from_millis(500) >= first + Duration::from_secs(8),
        "Interval was notified again {:?} after its first notification: before its 8 s \
         group_interval",
        second.at - first
    );
    drop(d);
}

const RESOLVE: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: [team="other"]
      receiver: other
receivers:
  - name: hook
    webhook_configs:
      - url: HOOK
        send_resolved: true
  - name: other
    webhook_configs:
      - url: OTHER
        send_resolved: true
"#;

#[tokio::test]
async fn an_alert_that_ended_while_down_is_resolved_at_start_up() {
    let hook = FakeWebhook::start().await;
    let other = FakeWebhook::start().await;
    let mut d = Daemon::start(
        &RESOLVE
            .replace("HOOK", &hook.url())
            .replace("OTHER", &other.url()),
    );
    let ends = tocsin::clock::now() + jiff::SignedDuration::from_secs(3);
    let body =
        json!([{"labels": {"alertname": "Ends"}, "startsAt": at(-10), "endsAt": ends.to_string()}]);
    assert_eq!(post(&d, "/api/v2/alerts", &body).await, 200);
    let fired = hook.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(fired[0].body["status"], "firing");
    barrier(&d).await;
    d.signal("KILL");
    // Killed by the signal: no exit code to check; this returns once it is gone.
    let _ = d.wait_exit(Duration::from_secs(10));
    // Down until after the alert's end (the downtime itself, not a wait for an outcome).
    let left = ends.duration_since(tocsin::clock::now()) + jiff::SignedDuration::from_millis(200);
    if let Ok(left) = Duration::try_from(left) {
        tokio::time::sleep(left).await;
    }
    let d = d.restart();
    let resolved = eventually(Duration::from_secs(20), || {
        hook.received()
            .iter()
            .any(|r| r.body["status"] == "resolved" && r.status == 200)
    })
    .await;
    let got = hook.received();
    assert!(resolved, "the resolve reached the receiver: {got:#?}");
    let r = got.iter().find(|r| r.body["status"] == "resolved").unwrap();
    assert_eq!(r.body["alerts"][0]["labels"]["alertname"], "Ends");
    assert_eq!(r.body["alerts"][0]["status"], "resolved");
    assert_eq!(
        got.iter().filter(|r| r.body["status"] == "firing").count(),
        1,
        "the firing one was not sent again: {got:#?}"
    );
    // Only the receiver that was told it fired hears of it.
    assert!(other.received().is_empty(), "{:#?}", other.received());
    // The API shows it resolved, too.
    let all = d
        .get_json("/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
        .await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|a| a["labels"]["alertname"] != "Ends"),
        "{all}"
    );
}
