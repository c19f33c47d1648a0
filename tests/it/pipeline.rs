//! The real binary end to end: alerts POSTed, routed, grouped and delivered to a fake webhook;
//! retries honour 429 + Retry-After; reload keeps the old config on error.

use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually, http_get};
use crate::support::fake_webhook::{Answer, FakeWebhook};

fn config(hook: &str, extra_route: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
{extra_route}
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
"#
    )
}

async fn post(d: &Daemon, body: serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .expect("POST alerts")
}

#[tokio::test]
async fn posted_alert_reaches_the_webhook_as_v4_payload() {
    let hook = FakeWebhook::start().await;
    let d = Daemon::start(&config(&hook.url(), ""));
    let r = post(
        &d,
        json!([{
            "labels": {"alertname": "DiskFull", "instance": "a:9100", "job": "node", "empty": ""},
            "annotations": {"summary": "disk a"},
            "startsAt": "2026-11-22T20:41:09.386046549Z",
            "generatorURL": "http://prom/graph?g0.expr=x"
        }]),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "");
    let got = hook.wait_for(1, Duration::from_secs(10)).await;
    let b = &got[0].body;
    assert_eq!(b["version"], "4");
    assert_eq!(b["receiver"], "hook");
    assert_eq!(b["status"], "firing");
    assert_eq!(b["groupKey"], "{}:{alertname=\"DiskFull\"}");
    assert_eq!(b["groupLabels"], json!({"alertname": "DiskFull"}));
    assert_eq!(b["externalURL"], "http://tocsin.test:9093");
    assert_eq!(b["truncatedAlerts"], 0);
    let a = &b["alerts"][0];
    assert_eq!(
        a["labels"],
        json!({"alertname": "DiskFull", "instance": "a:9100", "job": "node"})
    );
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(a["startsAt"], "2026-11-22T20:41:09.386046549Z");
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    assert!(hook.rejected().is_empty());
    assert!(
        got[0].user_agent.starts_with("tocsin/"),
        "{}",
        got[0].user_agent
    );

    // Resolving it sends the resolve at the next group_interval tick.
    let r = post(
        &d,
        json!([{
            "labels": {"alertname": "DiskFull", "instance": "a:9100", "job": "node"},
            "startsAt": "2026-11-22T20:41:09.386046549Z",
            "endsAt": "2026-11-22T20:50:00Z"
        }]),
    )
    .await;
    assert_eq!(r.status(), 200);
    let got = hook.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got[1].body["status"], "resolved");
    assert_eq!(got[1].body["alerts"][0]["endsAt"], "2026-11-22T20:50:00Z");
}

#[tokio::test]
async fn rate_limited_receiver_is_retried_after_retry_after() {
    let hook = FakeWebhook::start().await;
    hook.script(&[
        Answer {
            status: 429,
            retry_after: Some(1),
        },
        Answer {
            status: 503,
            retry_after: None,
        },
    ]);
    let d = Daemon::start(&config(&hook.url(), ""));
    let t0 = tokio::time::Instant::now();
    post(&d, json!([{"labels": {"alertname": "Busy"}}])).await;
    let got = hook.wait_for(3, Duration::from_secs(20)).await;
    assert!(
        got[1].at.duration_since(got[0].at) >= Duration::from_millis(950),
        "the retry waited for Retry-After"
    );
    assert!(t0.elapsed() < Duration::from_secs(15));
    // Exactly one successful delivery: no duplicate after success.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.received().len(), 3);
    let metrics = d.metrics().await;
    assert!(
        metrics
            .contains("alertmanager_notification_requests_failed_total{integration=\"webhook\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("alertmanager_notifications_total{integration=\"webhook\"} 1"));
}

#[tokio::test]
async fn permanent_client_error_is_not_retried() {
    let hook = FakeWebhook::start().await;
    hook.script(&[Answer {
        status: 400,
        retry_after: None,
    }]);
    let d = Daemon::start(&config(&hook.url(), ""));
    post(&d, json!([{"labels": {"alertname": "Bad"}}])).await;
    hook.wait_for(1, Duration::from_secs(10)).await;
    let ok = eventually(Duration::from_secs(5), || {
        d.log_text().contains("giving up")
    })
    .await;
    assert!(ok, "the failure is logged: {}", d.log_text());
    let metrics = d.metrics().await;
    assert!(metrics.contains(
        "alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"clientError\"} 1"
    ));
}

#[tokio::test]
async fn failed_reload_keeps_the_old_config() {
    let hook = FakeWebhook::start().await;
    let d = Daemon::start(&config(&hook.url(), ""));
    let client = reqwest::Client::new();
    d.write_config("route: {receiver: missing}\nreceivers: []\n");
    let r = client.post(d.url("/-/reload")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let body = r.text().await.unwrap();
    assert!(body.starts_with("failed to reload config: "), "{body}");
    assert!(
        body.contains("missing"),
        "the reason names the undefined receiver: {body}"
    );
    let metrics = d.metrics().await;
    assert!(metrics.contains("alertmanager_config_last_reload_successful 0"));
    // The old config still routes.
    post(&d, json!([{"labels": {"alertname": "StillRouted"}}])).await;
    hook.wait_for(1, Duration::from_secs(10)).await;
    // A good config reloads; SIGHUP does the same.
    d.write_config(&config(
        &hook.url(),
        "  routes:\n    - receiver: hook\n      matchers: [team=\"x\"]\n",
    ));
    let r = client.post(d.url("/-/reload")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    d.signal("HUP");
    let ok = eventually(Duration::from_secs(5), || {
        d.log_text()
            .matches("Completed loading of configuration file")
            .count()
            >= 3
    })
    .await;
    assert!(ok, "SIGHUP reloads: {}", d.log_text());
    assert_eq!(
        client
            .get(d.url("/-/reload"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
}

#[tokio::test]
async fn sigterm_exits_cleanly() {
    let hook = FakeWebhook::start().await;
    let mut d = Daemon::start(&config(&hook.url(), ""));
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
}

#[tokio::test]
async fn http_config_auth_and_url_file_are_used() {
    let hook = FakeWebhook::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "s3cret\n").unwrap();
    let url_file = dir.path().join("url");
    std::fs::write(&url_file, format!("{}\n", hook.url())).unwrap();
    let cfg = format!(
        r#"
route:
  receiver: hook
  group_wait: 0s
receivers:
  - name: hook
    webhook_configs:
      - url_file: {}
        http_config:
          basic_auth: {{username: tocsin, password_file: {}}}
"#,
        url_file.display(),
        pass.display()
    );
    let d = Daemon::start(&cfg);
    post(&d, json!([{"labels": {"alertname": "Auth"}}])).await;
    let got = hook.wait_for(1, Duration::from_secs(10)).await;
    // base64("tocsin:s3cret")
    assert_eq!(
        got[0].authorization.as_deref(),
        Some("Basic dG9jc2luOnMzY3JldA==")
    );
    assert!(
        !d.log_text().contains("s3cret"),
        "the secret never reaches the log"
    );
    let st: serde_json::Value = d.get_json("/api/v2/status").await;
    assert!(!st.to_string().contains("s3cret"));
}

#[tokio::test]
async fn daemon_runs_with_its_allocator_options_unless_told_otherwise() {
    let hook = FakeWebhook::start().await;
    let environ = |d: &Daemon| -> Vec<String> {
        std::fs::read(format!("/proc/{}/environ", d.pid()))
            .unwrap()
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    };
    let d = Daemon::start(&config(&hook.url(), ""));
    let env = environ(&d);
    // (Only meaningful for the variables the test runner itself does not set.)
    for (k, v) in tocsin::cmd::run::ALLOCATOR_OPTIONS {
        assert!(
            std::env::var_os(k).is_some() || env.contains(&format!("{k}={v}")),
            "re-executed with {k}={v} (same PID): {env:?}"
        );
    }
    let d2 = Daemon::start_env(
        &config(&hook.url(), ""),
        &[],
        &[("MIMALLOC_PURGE_DELAY", "25")],
    );
    let env = environ(&d2);
    assert!(
        env.contains(&"MIMALLOC_PURGE_DELAY=25".to_owned()),
        "an operator's value wins: {env:?}"
    );
    assert!(
        std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_some()
            || env.contains(&"MIMALLOC_ARENA_EAGER_COMMIT=0".to_owned()),
        "and the other option is still set: {env:?}"
    );
    // The daemon answers after the re-execution.
    let _: serde_json::Value = d2.get_json("/api/v2/status").await;
}

#[tokio::test]
async fn webhook_payload_template_and_send_time_fallback() {
    let hook = FakeWebhook::start().await;
    let cfg = format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  routes:
    - receiver: broken
      matchers: [alertname="Broken"]
receivers:
  - name: hook
    webhook_configs:
      - url: {0}
        payload:
          text: '{{{{ template "__subject" . }}}}'
          count: '{{{{ len .Alerts }}}}'
          alerts: '{{{{ .Alerts | toJson }}}}'
          fixed: 5
  - name: broken
    webhook_configs:
      - url: {0}
        payload:
          text: '{{{{ index .Alerts 7 }}}}'
"#,
        hook.url()
    );
    let d = Daemon::start(&cfg);
    post(
        &d,
        json!([{"labels": {"alertname": "Templated", "instance": "a"}}]),
    )
    .await;
    let got = hook.wait_for(1, Duration::from_secs(10)).await;
    let b = &got[0].body;
    assert_eq!(b["text"], "[FIRING:1] Templated (a)");
    assert_eq!(b["count"], "1");
    assert_eq!(b["fixed"], 5);
    assert_eq!(
        b["alerts"][0]["labels"]["instance"], "a",
        "a JSON leaf is embedded: {b}"
    );
    // A template that fails at send time: the standard v4 payload goes out, and it is counted.
    post(&d, json!([{"labels": {"alertname": "Broken"}}])).await;
    let got = hook.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got[1].body["version"], "4");
    assert_eq!(got[1].body["alerts"][0]["labels"]["alertname"], "Broken");
    let metrics = d.metrics().await;
    assert!(
        metrics.contains("tocsin_template_render_failures_total{integration=\"webhook\"} 1"),
        "{metrics}"
    );
    assert!(
        d.log_text()
            .contains("Rendering the webhook payload failed")
    );
}

#[test]
fn webhook_payload_template_errors_fail_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        "route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n      - url: http://127.0.0.1:1/\n        payload: {text: '{{ .Oops '}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("payload.text"),
        "the error names the leaf: {err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "check-config catches it too");
    assert!(String::from_utf8_lossy(&out.stdout).contains("payload.text"));
}

#[tokio::test]
async fn send_resolved_false_sends_no_resolve_and_max_alerts_truncates() {
    let hook = FakeWebhook::start().await;
    let cfg = format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs:
      - url: {}
        send_resolved: false
        max_alerts: 1
"#,
        hook.url()
    );
    let d = Daemon::start(&cfg);
    post(
        &d,
        json!([
            {"labels": {"alertname": "Quiet", "instance": "b"}},
            {"labels": {"alertname": "Quiet", "instance": "a"}}
        ]),
    )
    .await;
    let got = hook.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(got[0].body["truncatedAlerts"], 1);
    assert_eq!(
        got[0].body["alerts"][0]["labels"]["instance"], "a",
        "sorted before truncation"
    );
    // Resolve both: with send_resolved false nothing more is sent.
    let past = "2020-01-01T00:00:00Z";
    post(
        &d,
        json!([
            {"labels": {"alertname": "Quiet", "instance": "b"}, "startsAt": past, "endsAt": past},
            {"labels": {"alertname": "Quiet", "instance": "a"}, "startsAt": past, "endsAt": past}
        ]),
    )
    .await;
    // Several group_interval ticks pass; the group is resolved and removed without a message.
    let gone = eventually(Duration::from_secs(10), || {
        http_get(&d.url("/metrics"))
            .is_some_and(|(_, text)| text.contains("alertmanager_dispatcher_aggregation_groups 0"))
    })
    .await;
    assert!(gone, "the resolved group was flushed and dropped");
    assert_eq!(
        hook.received().len(),
        1,
        "no resolve notification with send_resolved: false"
    );
}
