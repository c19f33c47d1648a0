//! Differential test: the PagerDuty v2 event and the Slack webhook message that tocsin sends for
//! a group equal, field by field, the ones Alertmanager 0.25 (Debian `prometheus-alertmanager`)
//! sends for the same group and config, through the same strict fakes (which also proves the
//! fakes accept what Alertmanager sends). Fields intentionally different are listed in
//! [`DIFFERENT`]: our default templates word the PagerDuty instance lists and the Slack text
//! (Alertmanager 0.25's default Slack text is empty) in our own way.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::daemon::{Daemon, eventually, http_get};
use crate::support::debian_tool;
use crate::support::fake_pagerduty::FakePagerDuty;
use crate::support::fake_slack::FakeSlack;

/// JSON paths whose values differ on purpose (our default templates' wording).
const DIFFERENT: &[&str] = &[
    "payload.custom_details.firing",
    "payload.custom_details.resolved",
    "attachments[0].text",
];

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(pd: &FakePagerDuty, slack: &FakeSlack) -> String {
    format!(
        r#"
route:
  receiver: page
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: page
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        url: {pd_url}
        severity: critical
        class: disk
        component: '{{{{ .CommonLabels.job }}}}'
        images: [{{src: 'https://img.example/x.png', alt: graph, href: 'https://img.example/'}}]
        links: [{{href: 'https://runbook.example/disk', text: runbook}}]
    slack_configs:
      - api_url: http://{slack_addr}/services/T0/B0/XYZ
        channel: '#ops'
        send_resolved: true
        short_fields: true
        fields: [{{title: Instance, value: '{{{{ .CommonLabels.job }}}}'}}]
        actions: [{{type: button, text: Runbook, url: 'https://runbook.example/'}}]
"#,
        pd_url = pd.url(),
        slack_addr = slack.addr,
    )
}

/// Every leaf path where `a` and `b` differ, except the listed ones.
fn diffs(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if DIFFERENT.contains(&path) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diffs(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &p,
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diffs(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: alertmanager {a} / tocsin {b}")),
        _ => {}
    }
}

async fn post(url: &str, body: &Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn pagerduty_and_slack_bodies_match_alertmanager_0_25() {
    let Some(am_bin) = debian_tool("prometheus-alertmanager") else {
        return;
    };
    let (pd_am, pd_t) = (FakePagerDuty::start().await, FakePagerDuty::start().await);
    let (sl_am, sl_t) = (FakeSlack::start().await, FakeSlack::start().await);
    let t = Daemon::start(&config(&pd_t, &sl_t));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("am.yml"), config(&pd_am, &sl_am)).unwrap();
    let port = free_port();
    let _am = Kill(
        Command::new(am_bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("am.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.external-url=http://tocsin.test:9093")
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start alertmanager"),
    );
    let am_url = format!("http://127.0.0.1:{port}");
    let up = eventually(Duration::from_secs(20), || {
        http_get(&format!("{am_url}/-/ready")).is_some_and(|(s, _)| s == 200)
    })
    .await;
    assert!(up, "alertmanager did not start");

    let whole_second = || jiff::Timestamp::from_second(tocsin::clock::now().as_second()).unwrap();
    let start = whole_second();
    let alerts = |ends: &str| {
        json!([
            {"labels": {"alertname": "Disk", "instance": "b:9100", "job": "node"},
             "annotations": {"summary": "disk b"}, "startsAt": start.to_string(), "endsAt": ends,
             "generatorURL": "http://prom/graph"},
            {"labels": {"alertname": "Disk", "instance": "a:9100", "job": "node"},
             "annotations": {"summary": "disk a"}, "startsAt": start.to_string(), "endsAt": ends,
             "generatorURL": "http://prom/graph"},
        ])
    };
    let firing = alerts("2099-01-01T00:00:00Z");
    post(&format!("{am_url}/api/v2/alerts"), &firing).await;
    post(&t.url("/api/v2/alerts"), &firing).await;
    let wait = Duration::from_secs(20);
    pd_am.wait_accepted(1, wait).await;
    pd_t.wait_accepted(1, wait).await;
    sl_am.wait_accepted(1, wait).await;
    sl_t.wait_accepted(1, wait).await;

    // Resolve both: an end already past when it arrives.
    let mut end = whole_second();
    while end <= start {
        tokio::time::sleep(Duration::from_millis(100)).await;
        end = whole_second();
    }
    let resolved = alerts(&end.to_string());
    post(&format!("{am_url}/api/v2/alerts"), &resolved).await;
    post(&t.url("/api/v2/alerts"), &resolved).await;
    pd_am.wait_accepted(2, wait).await;
    pd_t.wait_accepted(2, wait).await;
    sl_am.wait_accepted(2, wait).await;
    sl_t.wait_accepted(2, wait).await;

    // What Alertmanager sends passes the fakes' validation.
    assert!(
        pd_am.events().iter().all(|e| e.status == 202),
        "{:#?}",
        pd_am.events()
    );
    assert!(
        sl_am.requests().iter().all(|r| r.status == 200),
        "{:#?}",
        sl_am.requests()
    );

    let mut problems = Vec::new();
    let pairs = [
        (
            "pagerduty",
            pd_am
                .accepted()
                .iter()
                .map(|e| e.body.clone())
                .collect::<Vec<_>>(),
            pd_t.accepted()
                .iter()
                .map(|e| e.body.clone())
                .collect::<Vec<_>>(),
        ),
        (
            "slack",
            sl_am.accepted().iter().map(|r| r.body.clone()).collect(),
            sl_t.accepted().iter().map(|r| r.body.clone()).collect(),
        ),
    ];
    for (what, am, to) in &pairs {
        assert_eq!(
            am.len(),
            to.len(),
            "{what}: alertmanager {am:#?}\ntocsin {to:#?}"
        );
        for (i, (a, b)) in am.iter().zip(to).enumerate() {
            let mut d = Vec::new();
            diffs(a, b, "", &mut d);
            problems.extend(d.into_iter().map(|x| format!("{what} #{i}: {x}")));
        }
    }
    assert!(problems.is_empty(), "differences:\n{}", problems.join("\n"));
    // The compared bodies are not trivially equal: the interesting fields are there.
    let (t0, t1) = (&pairs[0].2[0], &pairs[0].2[1]);
    assert_eq!(
        (t0["event_action"].as_str(), t1["event_action"].as_str()),
        (Some("trigger"), Some("resolve"))
    );
    assert_eq!(t0["payload"]["summary"], "[FIRING:2] Disk (node)");
    assert_eq!(pairs[1].2[1]["attachments"][0]["color"], "good");
}
