//! PagerDuty through the real pipeline (dedup, retry, nflog) against the strict fake: first
//! notification, repeat, group change, resolve, 429 then success, a permanent 400, a slow
//! service, v1, and the pure payload rules (dedup key, truncation, size cap).

use std::time::Duration;

use crate::notify::fakes::{fake_pagerduty, script};

use fake_pagerduty::FakePagerDuty;
use script::Step;

use super::payload::{self, DETAILS_REMOVED};
use crate::notify::testkit::{GROUP_KEY, Rig, alert, alert_with};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const WAIT: Duration = Duration::from_secs(10);

fn rig(fake: &FakePagerDuty, extra: &str, max_retry: Duration) -> Rig {
    Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    pagerduty_configs:\n    - routing_key: {KEY}\n      url: {}\n{extra}",
            fake.url()
        ),
        max_retry,
    )
}

#[tokio::test]
async fn trigger_repeat_change_resolve_reach_one_incident() {
    let fake = FakePagerDuty::start().await;
    let r = rig(&fake, "", Duration::from_secs(5));
    let a = alert(&r, "a:9100", 100_000);
    let b = alert(&r, "b:9100", 100_000);

    // First notification.
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    let ev = fake.wait_accepted(1, WAIT).await;
    let body = &ev[0].body;
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["routing_key"], KEY);
    assert_eq!(body["dedup_key"], payload::dedup_key(GROUP_KEY));
    assert_eq!(
        body["payload"]["summary"],
        "[FIRING:1] DiskFull (a:9100 node)"
    );
    assert_eq!(body["payload"]["source"], "Alertmanager");
    assert_eq!(body["payload"]["severity"], "error");
    assert_eq!(body["payload"]["custom_details"]["num_firing"], "1");
    assert_eq!(body["payload"]["custom_details"]["num_resolved"], "0");
    assert_eq!(body["client"], "Alertmanager");
    assert_eq!(
        body["client_url"],
        "http://tocsin.test:9093/#/alerts?receiver=r"
    );
    assert!(body.get("images").is_none() && body["payload"].get("class").is_none());
    assert!(ev[0].user_agent.starts_with("tocsin/"));

    // Nothing new, before the repeat interval: nothing sent.
    assert!(r.flush(60, vec![a.clone()]).await.ok);
    // Group change: a second alert.
    assert!(r.flush(120, vec![a.clone(), b.clone()]).await.ok);
    let ev = fake.wait_accepted(2, WAIT).await;
    assert_eq!(
        ev[1].body["payload"]["summary"],
        "[FIRING:2] DiskFull (node)"
    );
    // Repeat after the repeat interval.
    assert!(r.flush(120 + 3601, vec![a.clone(), b.clone()]).await.ok);
    fake.wait_accepted(3, WAIT).await;

    // Resolve: every alert ended.
    let (ra, rb) = (alert(&r, "a:9100", 4000), alert(&r, "b:9100", 4000));
    assert!(r.flush(4100, vec![ra, rb]).await.ok);
    let ev = fake.wait_accepted(4, WAIT).await;
    assert_eq!(ev[3].body["event_action"], "resolve");
    assert_eq!(ev[3].body["dedup_key"], payload::dedup_key(GROUP_KEY));
    assert_eq!(ev[3].body["payload"]["custom_details"]["num_resolved"], "2");

    let incidents = fake.incidents();
    let list = &incidents[&(KEY.to_owned(), payload::dedup_key(GROUP_KEY))];
    assert_eq!(list.len(), 1, "{incidents:?}");
    assert!(!list[0].open);
    assert_eq!((list[0].triggers, list[0].resolves), (3, 1));
    assert_eq!(fake.events().len(), 4);
    assert_eq!(
        r.metric("alertmanager_notifications_total{integration=\"pagerduty\"}"),
        4.0
    );
}

#[tokio::test]
async fn rate_limited_then_accepted_after_retry_after() {
    let fake = FakePagerDuty::start().await;
    fake.script([Step::rate_limited(1)]);
    let r = rig(&fake, "", Duration::from_secs(30));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    let ev = fake.events();
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert_eq!((ev[0].status, ev[1].status), (429, 202));
    let gap = ev[1].at.duration_since(ev[0].at);
    assert!(
        gap >= Duration::from_millis(950),
        "Retry-After not honoured: {gap:?}"
    );
    assert_eq!(
        r.metric("alertmanager_notification_requests_failed_total{integration=\"pagerduty\"}"),
        1.0
    );
    assert_eq!(fake.incidents().len(), 1);
}

#[tokio::test]
async fn bad_request_is_permanent_and_counted_with_its_reason() {
    let fake = FakePagerDuty::start().await;
    let body = r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}"#;
    fake.script([Step::status(400).body(body)]);
    let r = rig(&fake, "", Duration::from_secs(30));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(fake.events().len(), 1, "a 400 is not retried");
    assert_eq!(
        r.metric(
            "alertmanager_notifications_failed_total{integration=\"pagerduty\",reason=\"clientError\"}"
        ),
        1.0
    );
    // The error names PagerDuty's errors (what the log line carries).
    let integ = &r.notifier.receiver("r").unwrap().integrations[0];
    let data = crate::notify::data::NotificationData::new(
        "r",
        vec![alert(&r, "a:9100", 3600)],
        0,
        &Default::default(),
        "http://tocsin.test",
        GROUP_KEY,
        "first notification",
        r.t0,
    );
    fake.script([Step::status(400).body(body)]);
    let e = integ.notify(&data).await.unwrap_err();
    assert!(!e.retry);
    assert_eq!(
        e.message,
        "unexpected status code 400: Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)"
    );
}

#[tokio::test]
async fn slow_service_times_out_and_is_given_up() {
    let fake = FakePagerDuty::start().await;
    fake.script((0..10).map(|_| Step::slow(Duration::from_secs(2))));
    let r = rig(&fake, "      timeout: 200ms\n", Duration::from_millis(900));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(
        r.metric(
            "alertmanager_notifications_failed_total{integration=\"pagerduty\",reason=\"contextDeadlineExceeded\"}"
        ),
        1.0
    );
    // Nothing recorded in the nflog: the next flush tries again.
    assert!(r.nflog.is_empty());
}

#[tokio::test]
async fn v1_with_service_key() {
    let fake = FakePagerDuty::start().await;
    let r = Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    pagerduty_configs:\n    - service_key: {KEY}\n      url: {}\n",
            fake.url()
        ),
        Duration::from_secs(5),
    );
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert!(r.flush(4000, vec![alert(&r, "a:9100", 3900)]).await.ok);
    let ev = fake.wait_accepted(2, WAIT).await;
    assert_eq!(ev[0].path, fake_pagerduty::V1_PATH);
    let (t, res) = (&ev[0].body, &ev[1].body);
    assert_eq!(t["service_key"], KEY);
    assert_eq!(t["event_type"], "trigger");
    assert_eq!(t["incident_key"], payload::dedup_key(GROUP_KEY));
    assert_eq!(t["description"], "[FIRING:1] DiskFull (a:9100 node)");
    assert_eq!(t["event_action"], "");
    assert!(t["payload"].is_null());
    assert_eq!(t["client"], "Alertmanager");
    assert_eq!(res["event_type"], "resolve");
    assert!(res.get("client").is_none(), "client only on trigger: {res}");
    let list = &fake.incidents()[&(KEY.to_owned(), payload::dedup_key(GROUP_KEY))];
    assert!(!list[0].open);
}

#[tokio::test]
async fn v1_403_is_retried_as_a_rate_limit() {
    let fake = FakePagerDuty::start().await;
    fake.script([Step::status(403)]);
    let r = Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    pagerduty_configs:\n    - service_key: {KEY}\n      url: {}\n",
            fake.url()
        ),
        Duration::from_secs(30),
    );
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(fake.events().len(), 2);
}

#[tokio::test]
async fn optional_fields_images_links_and_severity() {
    let fake = FakePagerDuty::start().await;
    let extra = concat!(
        "      severity: '{{ if eq .Status \"firing\" }}critical{{ else }}info{{ end }}'\n",
        "      class: disk\n      component: '{{ .CommonLabels.job }}'\n      group: storage\n",
        "      source: '{{ .CommonLabels.instance }}'\n",
        "      client: tocsin-test\n      client_url: https://tocsin.example/\n",
        "      images: [{src: 'https://img.example/a.png', alt: graph, href: 'https://img.example/'},",
        " {src: ''}]\n",
        "      links: [{href: 'https://runbook.example/disk', text: runbook}, {href: ''}]\n",
        "      details: {team: storage, firing: '{{ .Alerts.Firing | len }} firing'}\n",
    );
    let r = rig(&fake, extra, Duration::from_secs(5));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    let ev = fake.wait_accepted(1, WAIT).await;
    let b = &ev[0].body;
    assert_eq!(b["payload"]["severity"], "critical");
    assert_eq!(b["payload"]["class"], "disk");
    assert_eq!(b["payload"]["component"], "node");
    assert_eq!(b["payload"]["group"], "storage");
    assert_eq!(b["payload"]["source"], "a:9100");
    assert_eq!(b["client"], "tocsin-test");
    assert_eq!(
        b["images"],
        serde_json::json!([{"src": "https://img.example/a.png", "alt": "graph", "href": "https://img.example/"}])
    );
    assert_eq!(
        b["links"],
        serde_json::json!([{"href": "https://runbook.example/disk", "text": "runbook"}])
    );
    assert_eq!(
        b["payload"]["custom_details"],
        serde_json::json!({"team": "storage", "firing": "1 firing"})
    );
}

#[tokio::test]
async fn long_summary_and_huge_details_are_cut() {
    let fake = FakePagerDuty::start().await;
    let extra = concat!(
        "      description: '{{ .CommonAnnotations.long }}'\n",
        "      details: {big: '{{ .CommonAnnotations.huge }}'}\n",
    );
    let r = rig(&fake, extra, Duration::from_secs(5));
    let (long, huge) = ("é".repeat(3000), "x".repeat(600_000));
    let a = alert_with(&r, "a:9100", 3600, &[("long", &long), ("huge", &huge)]);
    let out = r.flush(0, vec![a]).await;
    assert!(out.ok, "{:#?}", fake.events());
    let ev = fake.wait_accepted(1, WAIT).await;
    let summary = ev[0].body["payload"]["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), 1024);
    assert!(summary.ends_with("é…"));
    assert_eq!(
        ev[0].body["payload"]["custom_details"],
        serde_json::json!({"error": DETAILS_REMOVED})
    );
}

#[test]
fn dedup_key_is_sha256_of_the_group_key() {
    // sha256("{}:{alertname=\"DiskFull\"}"), as `printf '%s' '{}:{alertname="DiskFull"}' |
    // sha256sum` prints it.
    assert_eq!(
        payload::dedup_key(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(payload::dedup_key(GROUP_KEY).len(), 64);
}

/// The fake itself: what Alertmanager sends passes; malformed events fail with PagerDuty's
/// error strings.
#[test]
fn fake_validates_like_pagerduty() {
    use serde_json::json;
    let good = json!({"routing_key": KEY, "dedup_key": "k", "event_action": "trigger",
        "payload": {"summary": "s", "source": "x", "severity": "error"},
        "client": "Alertmanager", "client_url": "http://am/"});
    assert!(fake_pagerduty::validate_v2(&good).is_empty());
    let resolve = json!({"routing_key": KEY, "dedup_key": "k", "event_action": "resolve"});
    assert!(fake_pagerduty::validate_v2(&resolve).is_empty());
    let bad = json!({"routing_key": "short", "event_action": "fire",
        "payload": {"summary": "", "severity": "fatal"}, "images": [{"src": "http://x"}]});
    let errs = fake_pagerduty::validate_v2(&bad);
    for want in [
        "Length of 'routing_key' is incorrect (should be 32 characters)",
        "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')",
        "'dedup_key' is missing or blank",
    ] {
        assert!(errs.iter().any(|e| e == want), "{want}: {errs:?}");
    }
    let bad_trigger = json!({"routing_key": KEY, "event_action": "trigger",
        "payload": {"summary": "x".repeat(1025), "severity": "fatal"}, "images": [{"src": "http://x"}], "links": [{}]});
    let errs = fake_pagerduty::validate_v2(&bad_trigger);
    for want in [
        "'payload.summary' is too long (must be 1024 characters or less)",
        "'payload.source' is missing or blank",
        "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
        "'images[0].src' must be an HTTPS URL",
        "'links[0].href' is missing or blank",
    ] {
        assert!(errs.iter().any(|e| e == want), "{want}: {errs:?}");
    }
    let v1 = json!({"service_key": KEY, "event_type": "resolve", "incident_key": "k",
        "description": "d", "event_action": "", "payload": null});
    assert!(fake_pagerduty::validate_v1(&v1).is_empty());
    let errs = fake_pagerduty::validate_v1(&json!({"service_key": KEY, "event_type": "nope"}));
    assert!(
        errs.iter().any(|e| e.starts_with("event_type is invalid")),
        "{errs:?}"
    );
}

#[tokio::test]
async fn fake_rejects_bad_requests_over_http() {
    let fake = FakePagerDuty::start().await;
    let c = reqwest::Client::new();
    let r = c
        .post(fake.url())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "invalid event");
    let r = c
        .post(fake.url())
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c.get(fake.url()).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn rate_limit_override_spaces_events_per_routing_key() {
    let fake = FakePagerDuty::start().await;
    let r = rig(
        &fake,
        "      rate_limit: {events: 1, per: 1s, burst: 1}\n",
        Duration::from_secs(5),
    );
    let (a, b) = (alert(&r, "a:9100", 100_000), alert(&r, "b:9100", 100_000));
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    assert!(r.flush(60, vec![a, b]).await.ok);
    let ev = fake.wait_accepted(2, WAIT).await;
    let gap = ev[1].at.duration_since(ev[0].at);
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
    assert_eq!(
        r.metric("tocsin_notification_ratelimit_waits_total{integration=\"pagerduty\"}"),
        1.0
    );
    // A zero period is refused at load, naming the key.
    let bad = "route: {receiver: r}\nreceivers:\n- name: r\n  pagerduty_configs: [{routing_key: k, rate_limit: {events: 5, per: 0s}}]\n";
    let e = crate::config::Config::from_yaml(bad, std::path::Path::new("."), "t.yml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pagerduty_configs[0].rate_limit.per: rate_limit.per must be greater than 0"),
        "{e}"
    );
}

/// The routing key never appears in an error (what the log prints), whatever fails.
#[tokio::test]
async fn errors_never_name_the_routing_key() {
    use crate::notify::testkit::{closed_port, error_text};
    let secret = "S3cr3tR0utingKeyS3cr3tR0utingKey";
    let fake = FakePagerDuty::start().await;
    let rig_to = |url: String| {
        Rig::new(
            "  resolve_timeout: 5m",
            &format!(
                "    pagerduty_configs:\n    - routing_key: {secret}\n      url: {url}\n      timeout: 300ms\n"
            ),
            Duration::from_secs(1),
        )
    };
    let r = rig_to(fake.url());
    for step in [
        Step::status(400),
        Step::rate_limited(1),
        Step::status(503),
        Step::slow(Duration::from_secs(1)),
    ] {
        fake.script([step]);
        let e = error_text(&r).await;
        assert!(!e.contains(secret), "{e}");
    }
    let e = error_text(&rig_to(format!(
        "http://{}/v2/enqueue",
        closed_port().await
    )))
    .await;
    assert!(!e.contains(secret), "{e}");
    assert!(r.metrics.encode().find(secret).is_none());
}
