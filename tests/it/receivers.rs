//! PagerDuty and Slack through the real binary: an alert pages, the Slack message is posted and
//! then edited, the resolve closes the incident and edits the message again; retries after 429
//! and 5xx; `/api/v2/receivers` and `alertmanager_integrations` list what sends; and no secret
//! (routing key, webhook URL, bot token) appears in the log, `/api/v2/status` or `/metrics`.

use std::time::Duration;

use serde_json::json;

use crate::support::daemon::Daemon;
use crate::support::fake_pagerduty::FakePagerDuty;
use crate::support::fake_slack::FakeSlack;
use crate::support::script::Step;

const ROUTING_KEY: &str = "S3cr3tR0utingKeyS3cr3tR0utingKey";
const HOOK_SECRET: &str = "S3cr3tH00kPath";
const WAIT: Duration = Duration::from_secs(20);

async fn post(d: &Daemon, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .expect("POST alerts");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn pagerduty_and_slack_page_update_resolve_and_keep_secrets() {
    let pd = FakePagerDuty::start().await;
    let slack = FakeSlack::start().await;
    pd.script([Step::rate_limited(1)]);
    slack.script([Step::status(503)]);
    let hook = format!("http://{}/services/T0/B0/{HOOK_SECRET}", slack.addr);
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
      - routing_key: {ROUTING_KEY}
        url: {pd_url}
    slack_configs:
      - api_url: {hook}
        channel: '#ops'
        send_resolved: true
      - app_token: {token}
        app_url: {app_url}
        channel: '#ops'
        update_message: true
        send_resolved: true
"#,
        pd_url = pd.url(),
        token = slack.token,
        app_url = slack.app_url(),
    );
    let d = Daemon::start(&config);
    let now = tocsin::clock::now();
    let alert = |ends: Option<jiff::Timestamp>| {
        let mut a = json!({"labels": {"alertname": "DiskFull", "instance": "a:9100"},
                           "startsAt": now.to_string()});
        if let Some(e) = ends {
            a["endsAt"] = json!(e.to_string());
        }
        json!([a])
    };
    post(&d, alert(None)).await;
    let ev = pd.wait_accepted(1, WAIT).await;
    assert_eq!(ev[0].body["event_action"], "trigger");
    slack.wait_accepted(2, WAIT).await;
    assert_eq!(slack.messages().len(), 1);

    post(&d, alert(Some(now))).await;
    let ev = pd.wait_accepted(2, WAIT).await;
    assert_eq!(ev[1].body["event_action"], "resolve");
    slack.wait_accepted(4, WAIT).await;
    let msgs = slack.messages();
    assert_eq!(msgs.len(), 1, "the bot edits its message: {msgs:#?}");
    assert_eq!(msgs[0].versions.len(), 2);
    assert_eq!(msgs[0].versions[1]["attachments"][0]["color"], "good");
    let incidents = pd.incidents();
    assert_eq!(incidents.len(), 1);
    assert!(incidents.values().all(|l| l.len() == 1 && !l[0].open));

    let rs = d.get_json("/api/v2/receivers").await;
    assert_eq!(
        rs,
        json!([{"name": "page", "integrations": [
            {"name": "pagerduty", "sendResolved": true},
            {"name": "slack", "sendResolved": true},
            {"name": "slack", "sendResolved": true}]}])
    );
    let metrics = d.metrics().await;
    assert!(
        metrics.contains("alertmanager_integrations{type=\"pagerduty\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alertmanager_integrations{type=\"slack\"} 2"),
        "{metrics}"
    );

    let status = reqwest::get(d.url("/api/v2/status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let log = d.log_text();
    assert!(
        log.contains("retrying"),
        "the 429 and the 503 were logged: {log}"
    );
    for (what, text) in [("log", &log), ("status", &status), ("metrics", &metrics)] {
        for secret in [ROUTING_KEY, HOOK_SECRET, slack.token.as_str()] {
            assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
        }
    }
}
