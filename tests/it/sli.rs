//! The page-delivery SLI through the real binary: PagerDuty answers 500, then 429, then accepts;
//! the firing page and its resolve are each one due notification, delivered once, and the
//! metrics agree with the fake's own count of accepted events (and of requests it saw).

use std::time::Duration;

use serde_json::json;

use crate::support::daemon::Daemon;
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
}
