//! Secrets stay secret: a config and a web config holding a secret in every kind of place, then
//! every read endpoint, the metrics, the pages, check-config's output and the whole log are
//! searched for each of them.

use crate::support::daemon::Daemon;

/// Every secret below carries this marker, so one search finds any of them.
const MARK: &str = "S3CRET";

fn config() -> String {
    format!(
        r#"global:
  smtp_auth_password: smtp-{MARK}-pw
  slack_api_url: https://hooks.slack.invalid/services/{MARK}-slack
  pagerduty_url: https://events.pagerduty.invalid/v2/enqueue
  opsgenie_api_key: opsgenie-{MARK}
route:
  receiver: r
receivers:
- name: r
  webhook_configs:
  - url: http://127.0.0.1:9/hook
    http_config:
      basic_auth: {{username: u, password: basic-{MARK}-pw}}
  - url: http://127.0.0.1:9/hook2
    http_config:
      authorization: {{credentials: bearer-{MARK}}}
  pagerduty_configs:
  - routing_key: pd-{MARK}-key
  slack_configs:
  - channel: '#x'
heartbeats:
- name: backup
  period: 1h
  token: hb-{MARK}-token
dead_mans_switch:
  url: http://127.0.0.1:9/dms-{MARK}
  interval: 1h
"#
    )
}

#[tokio::test]
async fn no_secret_in_any_answer_or_log() {
    let dir = tempfile::tempdir().unwrap();
    let pw = format!("web-{MARK}-pw");
    let hash = bcrypt::hash(&pw, 4).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        format!("basic_auth_users:\n  admin: {hash}\n"),
    )
    .unwrap();
    let d = Daemon::start_with(
        &config(),
        &[
            &format!("--web.config.file={}", dir.path().join("web.yml").display()),
            "--log.level=debug",
        ],
    );
    let c = reqwest::Client::new();
    let get =
        |path: &str, user: &str, pass: &str| c.get(d.url(path)).basic_auth(user, Some(pass)).send();
    let mut seen = Vec::new();
    for path in [
        "/api/v2/status",
        "/api/v2/receivers",
        "/api/v2/alerts",
        "/api/v2/alerts/groups",
        "/api/v2/silences",
        "/api/tocsin/v1/heartbeats",
        "/api/tocsin/v1/heartbeats/backup",
        "/api/tocsin/v1/notifications",
        "/metrics",
        "/",
        "/status",
        "/silences",
        "/heartbeats",
        "/-/healthy",
        "/-/ready",
    ] {
        let r = get(path, "admin", &pw).await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        seen.push((path.to_owned(), r.text().await.unwrap()));
        // A wrong password and a wrong user are refused without echoing either.
        let r = get(path, "admin", &format!("{pw}x")).await.unwrap();
        assert_eq!(r.status(), 401);
        seen.push((format!("{path} (wrong password)"), r.text().await.unwrap()));
    }
    // Pings with a wrong and a right token, in the query and in the header.
    for url in [
        d.url(&format!("/ping/backup?token=hb-{MARK}-wrong")),
        d.url(&format!("/ping/backup?token=hb-{MARK}-token")),
    ] {
        let r = c.get(&url).send().await.unwrap();
        seen.push((url.clone(), r.text().await.unwrap()));
        let r = c
            .post(d.url("/ping/backup"))
            .bearer_auth(format!("hb-{MARK}-nope"))
            .send()
            .await
            .unwrap();
        seen.push(("/ping/backup bearer".into(), r.text().await.unwrap()));
    }
    // A reload, good then broken (its error names the place, not the value).
    let r = c
        .post(d.url("/-/reload"))
        .basic_auth("admin", Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    d.write_config(&config().replace("period: 1h", "period: often"));
    let r = c
        .post(d.url("/-/reload"))
        .basic_auth("admin", Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    seen.push(("broken reload".into(), r.text().await.unwrap()));
    // check-config's output.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["check-config", &d.config_path().display().to_string()])
        .output()
        .unwrap();
    seen.push((
        "check-config".into(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    ));
    // check-web-config's output, on the good file and on one with a broken hash.
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        format!("basic_auth_users:\n  admin: {}\n", &hash[..hash.len() - 5]),
    )
    .unwrap();
    for file in [dir.path().join("web.yml"), broken] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["check-web-config", &file.display().to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains(&hash[..hash.len() - 5]),
            "the hash in {text}"
        );
        seen.push((format!("check-web-config {}", file.display()), text));
    }
    seen.push(("log".into(), d.log_text()));
    for (what, text) in &seen {
        assert!(!text.contains(MARK), "a secret in {what}:\n{text}");
        assert!(!text.contains(&hash), "the password hash in {what}");
    }
    // The status page shows where secrets were, masked as Alertmanager masks them.
    assert!(seen[0].1.contains("<secret>"), "{}", seen[0].1);
}
