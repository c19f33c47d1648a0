//! The page-delivery SLI through the real binary: PagerDuty answers 500, then 429, then accepts;
//! the firing page and its resolve are each one due notification, delivered once, and the
//! metrics agree with the fake's own count of accepted events (and of requests it saw); so do
//! the stored notification history and `GET /api/tocsin/v1/delivery`, before and after a
//! restart. And the shipped Prometheus rules: `promtool check rules`, and `promtool test rules`
//! evaluating the SLI and the burn-rate alerts on synthetic series.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::daemon::Daemon;
use crate::support::debian_tool;
use crate::support::fake_pagerduty::FakePagerDuty;
use crate::support::script::Step;

const WAIT: Duration = Duration::from_secs(20);

/// The labels of the PagerDuty integration's series.
const PD: [&str; 2] = ["receiver=\"page\"", "integration=\"pagerduty\""];

/// [`PD`] and `extra`.
fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    PD.iter().chain(extra).copied().collect()
}

/// The sum of the series of `name` whose labels contain every one of `labels`.
fn sum(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn pagerduty_500_429_200_due_and_delivered_agree_with_the_service() {
    let pd = FakePagerDuty::start().await;
    pd.script([Step::status(500), Step::rate_limited(1)]);
    let config = format!(
        r#"
route:
  receiver: page
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: page
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        url: {}
"#,
        pd.url()
    );
    let d = Daemon::start(&config);
    let now = tocsin::clock::now();
    let post = |ends: Option<jiff::Timestamp>| {
        let mut a = json!({"labels": {"alertname": "DiskFull", "instance": "a:9100"},
                           "startsAt": now.to_string()});
        if let Some(e) = ends {
            a["endsAt"] = json!(e.to_string());
        }
        let url = d.url("/api/v2/alerts");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .json(&json!([a]))
                .send()
                .await
                .expect("POST alerts");
            assert_eq!(r.status(), 200);
        }
    };
    post(None).await;
    pd.wait_accepted(1, WAIT).await;
    post(Some(now)).await;
    pd.wait_accepted(2, WAIT).await;

    let pd_labels = PD;
    let deadline = tokio::time::Instant::now() + WAIT;
    let metrics = loop {
        let m = d.metrics().await;
        let ended = sum(&m, "tocsin_notifications_outcome_total", &pd_labels);
        if ended >= 2.0 || tokio::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let accepted = pd.accepted().len() as f64;
    assert_eq!(accepted, 2.0);
    let due = |kind: &str| {
        sum(
            &metrics,
            "tocsin_notifications_due_total",
            &with(&[&format!("kind=\"{kind}\"")]),
        )
    };
    assert_eq!((due("firing"), due("resolved")), (1.0, 1.0), "{metrics}");
    let delivered = sum(
        &metrics,
        "tocsin_notifications_outcome_total",
        &with(&["outcome=\"delivered\""]),
    );
    assert_eq!(delivered, accepted, "{metrics}");
    assert_eq!(
        sum(&metrics, "tocsin_notifications_outcome_total", &pd_labels),
        accepted,
        "exactly one outcome each: {metrics}"
    );
    assert_eq!(
        sum(&metrics, "tocsin_notifications_pending", &pd_labels),
        0.0
    );
    assert_eq!(
        sum(
            &metrics,
            "tocsin_notification_delivery_seconds_count",
            &pd_labels
        ),
        accepted
    );
    // The firing page waited out the 500's backoff and the 429's Retry-After: 1 s.
    let firing_took = sum(
        &metrics,
        "tocsin_notification_delivery_seconds_sum",
        &with(&["kind=\"firing\""]),
    );
    assert!(firing_took >= 1.0, "delivery time {firing_took}: {metrics}");
    // Alertmanager's own counters keep their meaning: one per request the service saw.
    assert_eq!(
        sum(
            &metrics,
            "alertmanager_notification_requests_total",
            &["integration=\"pagerduty\""]
        ),
        pd.events().len() as f64
    );

    // The stored history says the same, attempt by attempt, and so does the delivery API, before
    // and after a restart (SIGKILL: it reads the store back).
    let d = history_agrees_with_the_service(d, &pd).await;
    let d = d.restart();
    history_agrees_with_the_service(d, &pd).await;
}

/// The notification history and `GET /api/tocsin/v1/delivery` agree with what the fake saw:
/// one record per accepted event, each attempt with the status the fake answered, PagerDuty's
/// `dedup_key` kept.
async fn history_agrees_with_the_service(d: Daemon, pd: &FakePagerDuty) -> Daemon {
    let events = pd.events();
    let accepted = pd.accepted();
    let h = d
        .get_json("/api/tocsin/v1/notifications?view=history&receiver=page")
        .await;
    let h = h.as_array().expect("a list").clone();
    assert_eq!(h.len(), accepted.len(), "{h:?}");
    let statuses: Vec<u64> = h
        .iter()
        .rev()
        .flat_map(|r| r["attempts"].as_array().unwrap().clone())
        .map(|a| a["status"].as_u64().unwrap_or(0))
        .collect();
    let seen: Vec<u64> = events.iter().map(|e| u64::from(e.status)).collect();
    assert_eq!(
        statuses, seen,
        "each attempt, as the service answered it: {h:?}"
    );
    for (r, e) in h.iter().rev().zip(&accepted) {
        assert_eq!(r["outcome"], "delivered", "{r}");
        assert_eq!(r["integration"], "pagerduty");
        assert_eq!(r["serviceIds"]["dedup_key"], e.body["dedup_key"], "{r}");
    }
    assert_eq!(h[1]["kind"], "firing");
    assert_eq!(h[0]["kind"], "resolved");
    let v = d.get_json("/api/tocsin/v1/delivery?receiver=page").await;
    assert_eq!(v["due"], accepted.len(), "{v}");
    assert_eq!(v["delivered"], accepted.len(), "{v}");
    assert_eq!(v["deliveredWithin"], accepted.len(), "{v}");
    assert_eq!(
        (v["failed"].as_u64(), v["pending"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(v["sli"], 1.0, "{v}");
    assert!(v["deliverySeconds"]["max"].as_f64().unwrap() >= 1.0, "{v}");
    assert_eq!(v["receivers"]["page"]["due"], accepted.len(), "{v}");
    let none = d
        .get_json("/api/tocsin/v1/delivery?receiver=page&since=2999-01-01T00:00:00Z&until=2999-01-02T00:00:00Z")
        .await;
    assert_eq!(
        (none["due"].as_u64(), none["sli"].is_null()),
        (Some(0), true),
        "{none}"
    );
    d
}

/// The shipped rules file.
fn rules_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/examples/prometheus/delivery-sli.rules.yml")
}

#[test]
fn promtool_checks_the_shipped_sli_rules() {
    let Some(promtool) = debian_tool("promtool") else {
        return;
    };
    let out = Command::new(promtool)
        .arg("check")
        .arg("rules")
        .arg(rules_file())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("SUCCESS: 12 rules found"), "{text}");
}

/// Synthetic series: receiver "page" has 10 due a minute, 2 suppressed, 6 delivered within
/// 60 s (a quarter of the owed pages late or lost); receiver "chat" delivers every one.
const PROMTOOL_TEST: &str = r#"
rule_files:
  - RULES
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'tocsin_notifications_due_total{receiver="page",integration="pagerduty",kind="firing"}'
        values: '0+10x180'
      - series: 'tocsin_notifications_outcome_total{receiver="page",integration="pagerduty",kind="firing",outcome="suppressed",reason="silence"}'
        values: '0+2x180'
      - series: 'tocsin_notification_delivery_seconds_bucket{receiver="page",integration="pagerduty",kind="firing",le="60"}'
        values: '0+6x180'
      - series: 'tocsin_notifications_due_total{receiver="chat",integration="slack",kind="firing"}'
        values: '0+4x180'
      - series: 'tocsin_notification_delivery_seconds_bucket{receiver="chat",integration="slack",kind="firing",le="60"}'
        values: '0+4x180'
    promql_expr_test:
      - expr: round(tocsin:delivery_sli_errors:ratio_rate1h, 0.001)
        eval_time: 2h
        exp_samples:
          - labels: '{receiver="page"}'
            value: 0.25
          - labels: '{receiver="chat"}'
            value: 0
      - expr: round(tocsin:delivery_sli:ratio_increase30d, 0.001)
        eval_time: 3h
        exp_samples:
          - labels: '{receiver="page"}'
            value: 0.75
          - labels: '{receiver="chat"}'
            value: 1
    alert_rule_test:
      - eval_time: 1m
        alertname: TocsinPageDeliveryBudgetBurn
        exp_alerts: []
      - eval_time: 2h
        alertname: TocsinPageDeliveryBudgetBurn
        exp_alerts:
          - exp_labels: {receiver: page, severity: page}
            exp_annotations:
              summary: "Pages to receiver page are not delivered within 60 s fast enough to keep the 99% objective."
      - eval_time: 2h
        alertname: TocsinPageDeliveryBudgetBurnSlow
        exp_alerts:
          - exp_labels: {receiver: page, severity: ticket}
            exp_annotations:
              summary: "Pages to receiver page are slowly eating the page-delivery error budget."
"#;

#[test]
fn promtool_evaluates_the_sli_and_burn_rate_alerts_on_synthetic_series() {
    let Some(promtool) = debian_tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |test: &str| {
        let path = dir.path().join("sli.test.yml");
        std::fs::write(&path, test).unwrap();
        Command::new(&promtool)
            .args(["test", "rules"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let test = PROMTOOL_TEST.replace("RULES", &rules_file().display().to_string());
    let out = run(&test);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The same test with a wrong expectation fails: promtool really evaluated the rules.
    let out = run(&test.replace("value: 0.25", "value: 0.2"));
    assert!(!out.status.success());
}
