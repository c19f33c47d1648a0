//! Zendesk through the real binary: an alert opens a ticket, its resolve solves it, and the API
//! token appears in neither the log, `/api/v2/status` nor `/metrics`.

use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually};
use crate::support::fake_zendesk::FakeZendesk;

#[tokio::test]
async fn an_alert_opens_a_ticket_and_its_resolve_solves_it() {
    let zd = FakeZendesk::start().await;
    let config = format!(
        r#"
route:
  receiver: tickets
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: tickets
    zendesk_configs:
      - api_url: {}
        email: {}
        api_token: {}
"#,
        zd.url(),
        zd.email,
        zd.token
    );
    let d = Daemon::start(&config);
    let now = tocsin::clock::now();
    let post = |ends: &str| {
        reqwest::Client::new()
            .post(d.url("/api/v2/alerts"))
            .json(
                &json!([{"labels": {"alertname": "DiskFull", "severity": "critical"},
                           "startsAt": now.to_string(), "endsAt": ends}]),
            )
            .send()
    };
    let later = now + jiff::SignedDuration::from_hours(1);
    assert_eq!(post(&later.to_string()).await.unwrap().status(), 200);
    let within = Duration::from_secs(20);
    assert!(
        eventually(within, || zd.tickets().len() == 1).await,
        "{:#?}",
        zd.requests()
    );
    let t = &zd.tickets()[0];
    assert_eq!(t.subject, "[FIRING:1] DiskFull (critical)");
    assert_eq!(t.priority.as_deref(), Some("urgent"));
    assert_eq!(post(&now.to_string()).await.unwrap().status(), 200);
    assert!(
        eventually(within, || zd.tickets()[0].status == "solved").await,
        "{:#?}",
        zd.requests()
    );
    assert_eq!(zd.tickets().len(), 1);
    let status = d.get_json("/api/v2/status").await.to_string();
    assert!(!status.contains(&zd.token));
    assert!(!d.metrics().await.contains(&zd.token));
    assert!(!d.log_text().contains(&zd.token));
}
