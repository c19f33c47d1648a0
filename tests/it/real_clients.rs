//! Real clients against the real binary: amtool, Prometheus, and Alertmanager 0.25 itself as the
//! reference in a differential test. Each needs its Debian package (installed by `.ci/run`);
//! without it the test says why it skipped (and fails under CI=true).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::daemon::{Daemon, eventually, http_get};
use crate::support::debian_tool;
use crate::support::fake_webhook::FakeWebhook;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hook_config(hook: &str, group_wait: &str, group_interval: &str) -> String {
    format!(
        r#"route:
  receiver: hook
  group_by: [alertname]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: 1h
  routes:
    - receiver: pager
      matchers: [severity="page"]
      continue: true
    - receiver: hook
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
  - name: pager
    webhook_configs:
      - url: {hook}
        max_alerts: 1
"#
    )
}

fn amtool(bin: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin).args(args).output().expect("run amtool");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn amtool_adds_queries_and_reads_routes() {
    let Some(bin) = debian_tool("amtool") else {
        return;
    };
    let hook = FakeWebhook::start().await;
    let d = Daemon::start(&hook_config(&hook.url(), "30s", "5m"));
    let url = format!("--alertmanager.url=http://{}", d.addr);
    let (ok, _, err) = amtool(
        &bin,
        &[
            "alert",
            "add",
            "alertname=AmtoolTest",
            "severity=page",
            "--annotation=summary=from amtool",
            &url,
        ],
    );
    assert!(ok, "amtool alert add: {err}");
    let (ok, _, err) = amtool(
        &bin,
        &["alert", "add", "alertname=Other", "severity=info", &url],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = amtool(
        &bin,
        &["alert", "query", "-o", "json", "alertname=AmtoolTest", &url],
    );
    assert!(ok, "amtool alert query: {err}");
    let v: Value = serde_json::from_str(&out).expect("amtool prints JSON");
    assert_eq!(v.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(v[0]["labels"]["severity"], "page");
    assert_eq!(v[0]["annotations"]["summary"], "from amtool");
    let (ok, out, _) = amtool(&bin, &["alert", "query", "-o", "simple", &url]);
    assert!(
        ok && out.contains("AmtoolTest") && out.contains("Other"),
        "{out}"
    );
    // amtool reads our config.original from /api/v2/status.
    let (ok, out, err) = amtool(&bin, &["config", "routes", &url]);
    assert!(ok, "amtool config routes: {err}");
    assert!(
        out.contains("pager") && out.contains("severity=\"page\""),
        "{out}"
    );
    let (ok, out, err) = amtool(&bin, &["config", "routes", "test", "severity=page", &url]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "pager,hook");
}

#[tokio::test]
async fn prometheus_sends_alerts_that_reach_the_webhook() {
    let Some(bin) = debian_tool("prometheus") else {
        return;
    };
    let hook = FakeWebhook::start().await;
    let d = Daemon::start(&hook_config(&hook.url(), "0s", "1s"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: t\n    interval: 1s\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n        labels: {severity: page}\n        annotations: {summary: always}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{evaluation_interval: 1s}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
            d.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let _prom = Kill(
        Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Prometheus drops the first batch if it comes before Alertmanager discovery; resend
            // quickly instead of after the default minute.
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let got = hook.wait_for(1, Duration::from_secs(60)).await;
    let alert = &got[0].body["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "AlwaysFiring");
    assert_eq!(alert["annotations"]["summary"], "always");
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap()
            .contains("/graph?g0.expr=")
    );
    // Prometheus reports no notification errors and at least one sent batch.
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let ok = eventually(Duration::from_secs(20), || {
        let text = http_get(&metrics_url).map(|(_, t)| t).unwrap_or_default();
        let sent = metric(&text, "prometheus_notifications_sent_total");
        let errors = metric(&text, "prometheus_notifications_errors_total");
        sent >= 1.0 && errors == 0.0
    })
    .await;
    assert!(
        ok,
        "prometheus_notifications_errors_total must stay 0 while sending"
    );
}

/// Sum of a metric's series in Prometheus text format.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// What the differential test compares: everything but arrival time.
fn comparable(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(o) = b.as_object_mut() {
        o.remove("notification_reason");
    }
    b
}

async fn post(url: &str, body: &Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{url}");
}

#[tokio::test]
async fn differential_against_alertmanager_0_25() {
    let Some(am_bin) = debian_tool("prometheus-alertmanager") else {
        return;
    };
    let (hook_am, hook_t) = (FakeWebhook::start().await, FakeWebhook::start().await);
    let t = Daemon::start(&hook_config(&hook_t.url(), "1s", "2s"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("am.yml"),
        hook_config(&hook_am.url(), "1s", "2s"),
    )
    .unwrap();
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
        http_get(&format!("{am_url}/-/ready")).is_some_and(|(status, _)| status == 200)
    })
    .await;
    assert!(up, "alertmanager did not start");
    // A recent start, so group_wait applies in both: Alertmanager flushes an alert older than
    // group_wait at once, before the rest of the same POST has reached the group.
    let whole_second = || jiff::Timestamp::from_second(tocsin::clock::now().as_second()).unwrap();
    let start_ts = whole_second();
    let starts = start_ts.to_string();
    let firing = json!([
        {"labels": {"alertname": "Disk", "severity": "page", "instance": "b", "job": "node"},
         "annotations": {"summary": "disk b"}, "startsAt": starts, "endsAt": "2099-01-01T00:00:00Z",
         "generatorURL": "http://prom/graph"},
        {"labels": {"alertname": "Disk", "severity": "page", "instance": "a", "job": "node"},
         "annotations": {"summary": "disk a"}, "startsAt": starts, "endsAt": "2099-01-01T00:00:00Z",
         "generatorURL": "http://prom/graph"},
        {"labels": {"alertname": "Cpu", "severity": "info"}, "startsAt": starts,
         "endsAt": "2099-01-01T00:00:00Z"},
    ]);
    post(&format!("{am_url}/api/v2/alerts"), &firing).await;
    post(&t.url("/api/v2/alerts"), &firing).await;
    // Disk goes to pager (max_alerts 1) and hook; Cpu to hook: three notifications each.
    let a = hook_am.wait_for(3, Duration::from_secs(20)).await;
    let b = hook_t.wait_for(3, Duration::from_secs(20)).await;
    // Resolve one Disk alert: the next tick sends the change. Its end must already be past
    // when it arrives, or both servers keep the old end time (Alertmanager's merge rule).
    let mut end_ts = whole_second();
    while end_ts <= start_ts {
        tokio::time::sleep(Duration::from_millis(100)).await;
        end_ts = whole_second();
    }
    let ended = end_ts.to_string();
    let resolve = json!([
        {"labels": {"alertname": "Disk", "severity": "page", "instance": "b", "job": "node"},
         "annotations": {"summary": "disk b"}, "startsAt": starts, "endsAt": ended,
         "generatorURL": "http://prom/graph"}
    ]);
    post(&format!("{am_url}/api/v2/alerts"), &resolve).await;
    post(&t.url("/api/v2/alerts"), &resolve).await;
    let both = eventually(Duration::from_secs(20), || {
        hook_am.received().len() >= 5 && hook_t.received().len() >= 5
    })
    .await;
    let summary = |h: &FakeWebhook| {
        h.received()
            .iter()
            .map(|r| format!("{}:{}", r.body["receiver"], r.body["status"]))
            .collect::<Vec<_>>()
    };
    assert!(
        both,
        "five notifications each: am {:?}, tocsin {:?}",
        summary(&hook_am),
        summary(&hook_t)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let key = |v: &Value| {
        format!(
            "{}|{}|{}",
            v["receiver"],
            v["groupKey"],
            serde_json::to_string(&v["alerts"]).unwrap()
        )
    };
    let mut am: Vec<Value> = hook_am
        .received()
        .iter()
        .map(|r| comparable(&r.body))
        .collect();
    let mut to: Vec<Value> = hook_t
        .received()
        .iter()
        .map(|r| comparable(&r.body))
        .collect();
    am.sort_by_key(key);
    to.sort_by_key(key);
    assert_eq!(
        to.len(),
        am.len(),
        "same number of notifications: am {am:#?}\ntocsin {to:#?}"
    );
    for (x, y) in am.iter().zip(&to) {
        assert_eq!(x, y, "notification differs");
    }
    assert!(a.len() >= 3 && b.len() >= 3);
}
