//! Time intervals in the real binary: a route muted by a time interval sends nothing and counts
//! what it held back, while its sibling route notifies. (Timing across window boundaries and DST
//! is tested in paused time in `src/dispatch/time_interval_tests.rs`.)

use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually, http_get};
use crate::support::fake_webhook::FakeWebhook;

/// Two child routes: `team=quiet` is muted every day of the week, `team=loud` never.
fn config(hook: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  routes:
    - matchers: [team="quiet"]
      mute_time_intervals: [always]
    - matchers: [team="loud"]
      active_time_intervals: [always]
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
time_intervals:
  - name: always
    time_intervals:
      - weekdays: ['sunday:saturday']
        location: Europe/London
"#
    )
}

fn suppressed(d: &Daemon, reason: &str) -> f64 {
    let (_, text) = http_get(&d.url("/metrics")).unwrap_or_default();
    let key = format!("alertmanager_notifications_suppressed_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_muted_route_sends_nothing_and_counts_what_it_held_back() {
    let hook = FakeWebhook::start().await;
    let d = Daemon::start(&config(&hook.url()));
    let r = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&json!([
            {"labels": {"alertname": "Quiet", "team": "quiet"}},
            {"labels": {"alertname": "Loud", "team": "loud"}},
        ]))
        .send()
        .await
        .expect("POST alerts");
    assert_eq!(r.status(), 200);
    let got = hook.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].body["groupLabels"], json!({"alertname": "Loud"}));
    assert!(
        eventually(Duration::from_secs(10), || suppressed(
            &d,
            "mute_time_interval"
        ) >= 1.0)
        .await,
        "the muted group was never flushed"
    );
    // The muted group has been flushed (and held back): still only the loud one arrived.
    let names: Vec<_> = hook
        .received()
        .iter()
        .map(|r| r.body["groupLabels"]["alertname"].clone())
        .collect();
    assert!(names.iter().all(|n| n == "Loud"), "{names:?}");
    assert_eq!(suppressed(&d, "active_time_interval"), 0.0);
}

/// `(alertname, state, mutedBy)` of each alert in a `GET /api/v2/alerts` answer.
fn states(v: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out: Vec<_> = v
        .as_array()
        .expect("an array")
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap_or("").to_owned(),
                a["status"]["state"].as_str().unwrap_or("").to_owned(),
                a["status"]["mutedBy"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn muted_alerts_show_muted_by_and_the_muted_filter_hides_them() {
    let hook = FakeWebhook::start().await;
    let d = Daemon::start(&config(&hook.url()));
    let r = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&json!([
            {"labels": {"alertname": "Quiet", "team": "quiet"}},
            {"labels": {"alertname": "Loud", "team": "loud"}},
        ]))
        .send()
        .await
        .expect("POST alerts");
    assert_eq!(r.status(), 200);
    let all = d.get_json("/api/v2/alerts").await;
    assert_eq!(
        states(&all),
        vec![
            ("Loud".into(), "active".into(), json!([])),
            ("Quiet".into(), "suppressed".into(), json!(["always"])),
        ]
    );
    let unmuted = d.get_json("/api/v2/alerts?muted=false").await;
    assert_eq!(
        states(&unmuted),
        vec![("Loud".into(), "active".into(), json!([]))]
    );
    let not_active = d.get_json("/api/v2/alerts?active=false").await;
    assert_eq!(
        states(&not_active),
        vec![("Quiet".into(), "suppressed".into(), json!(["always"]))]
    );
    // Groups appear once the dispatcher has them; then the same status per group.
    assert!(
        eventually(Duration::from_secs(10), || {
            http_get(&d.url("/api/v2/alerts/groups"))
                .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
                .is_some_and(|v| v.as_array().is_some_and(|a| a.len() == 2))
        })
        .await
    );
    let groups = d.get_json("/api/v2/alerts/groups").await;
    let by_group: Vec<_> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| states(&g["alerts"]))
        .collect();
    assert_eq!(
        by_group,
        vec![
            vec![("Loud".into(), "active".into(), json!([]))],
            vec![("Quiet".into(), "suppressed".into(), json!(["always"]))],
        ]
    );
    let groups = d.get_json("/api/v2/alerts/groups?muted=false").await;
    assert_eq!(groups.as_array().map(Vec::len), Some(1));
    assert_eq!(groups[0]["labels"], json!({"alertname": "Loud"}));
    // Any word but go-openapi's true words reads as false (Alertmanager answers 200).
    let maybe = d.get_json("/api/v2/alerts/groups?muted=maybe").await;
    assert_eq!(maybe, groups);
}
