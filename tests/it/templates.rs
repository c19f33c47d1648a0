//! Template preview (CLI and API) and template errors at load time.

use std::process::Command;

use serde_json::json;

use crate::support::daemon::Daemon;

const GROUP: &str = r#"{"receiver":"team-x","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull","instance":"a:9100","severity":"page"},"annotations":{"summary":"Disk almost full"},"startsAt":"2026-11-22T20:41:09Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph","fingerprint":"0123456789abcdef"}],"groupLabels":{"alertname":"DiskFull"},"commonLabels":{"alertname":"DiskFull","instance":"a:9100","severity":"page"},"commonAnnotations":{"summary":"Disk almost full"},"externalURL":"http://tocsin:9093","version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0}"#;

fn tocsin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_render_prints_exactly_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("group.json");
    std::fs::write(&data, GROUP).unwrap();
    let data = data.to_str().unwrap();
    let (code, out, _) = tocsin(&[
        "template",
        "render",
        "--data",
        data,
        r#"{{ template "slack.default.title" . }}"#,
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out, "[FIRING:1] DiskFull (a:9100 page)",
        "subject keeps Alertmanager's format"
    );
    let (code, out, _) = tocsin(&[
        "template",
        "render",
        "--data",
        data,
        "{{ .CommonLabels.Remove .GroupLabels.Names | len }}:{{ .CommonLabels.SortedPairs.Values | join \" \" }}",
    ]);
    assert_eq!((code, out.as_str()), (0, "2:DiskFull a:9100 page"));
    let (code, out, err) = tocsin(&["template", "render", "--data", data, "{{ .Oops"]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(err.contains("1:"), "the error has a position: {err}");

    // A config's template file redefines a default.
    std::fs::write(
        dir.path().join("mine.tmpl"),
        r#"{{ define "slack.default.title" }}mine: {{ .Status }}{{ end }}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("am.yml"),
        "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['*.tmpl']\n",
    )
    .unwrap();
    let cfg = dir.path().join("am.yml");
    let (code, out, _) = tocsin(&[
        "template",
        "render",
        "--config.file",
        cfg.to_str().unwrap(),
        "--data",
        data,
        r#"{{ template "slack.default.title" . }}"#,
    ]);
    assert_eq!((code, out.as_str()), (0, "mine: firing"));
}

#[test]
fn broken_template_fails_check_config_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.tmpl"),
        "ok\n{{ define \"x\" }}{{ if }}{{ end }}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("am.yml"),
        "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['bad.tmpl']\n",
    )
    .unwrap();
    let (code, out, _) = tocsin(&["check-config", dir.path().join("am.yml").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("bad.tmpl:2:"), "{out}");
}

#[tokio::test]
async fn api_render_uses_the_loaded_templates() {
    let d = Daemon::start("route: {receiver: r}\nreceivers: [{name: r}]\n");
    let c = reqwest::Client::new();
    let data: serde_json::Value = serde_json::from_str(GROUP).unwrap();
    let r = c
        .post(d.url("/api/tocsin/v1/templates/render"))
        .json(&json!({"template": "{{ template \"__subject\" . }}", "data": data}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["output"], "[FIRING:1] DiskFull (a:9100 page)");
    let e = render_error(&c, &d, "{{ template \"nope\" . }}").await;
    assert!(e.contains("nope"), "{e}");

    // A recursion with deep nesting in each level: an error, and the daemon stays up.
    let n = 190;
    let body = "{{ if true }}".repeat(n) + "{{ template \"r\" . }}" + &"{{ end }}".repeat(n);
    let text = format!("{{{{ define \"r\" }}}}{body}{{{{ end }}}}{{{{ template \"r\" . }}}}");
    let e = render_error(&c, &d, &text).await;
    assert!(e.contains("exceeded maximum template depth"), "{e}");
    // A runaway loop: an error, not a worker thread held forever.
    let e = render_error(&c, &d, "{{ range 1000000000000 }}{{ end }}").await;
    assert!(e.contains("steps"), "{e}");
    let r = c.get(d.url("/-/healthy")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Posts `template` to the preview API, expects 400 and returns the error text.
async fn render_error(c: &reqwest::Client, d: &Daemon, template: &str) -> String {
    let r = c
        .post(d.url("/api/tocsin/v1/templates/render"))
        .json(&json!({ "template": template }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    v["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn cli_render_without_data_says_it_needs_some() {
    let (code, out, err) = tocsin(&["template", "render", "{{ .Status }}"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("needs --data FILE") && err.contains("webhook payload"),
        "{err}"
    );
}
