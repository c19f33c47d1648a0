//! Email through the real binary, against the strict SMTP fake (STARTTLS with a CA made by the
//! fake, AUTH PLAIN): the firing group is mailed, the resolve too (`send_resolved`), the
//! password stays out of the log, `/api/v2/status` and `/metrics`, and `/api/v2/receivers` and
//! `alertmanager_integrations` list the email integration. Then the differential test: the
//! same config and alerts to Alertmanager 0.25 (Debian `prometheus-alertmanager`) and to tocsin,
//! each through its own fake; the two SMTP dialogues (EHLO, STARTTLS, AUTH, envelope) and the
//! two messages (decoded headers, both bodies when the config sets them) are equal, and what
//! Alertmanager sends passes the fake's checks. Intentional differences are not compared:
//! `Message-Id`, `Date` and the boundary (random or time-dependent in both), header order
//! (random in Alertmanager), folding and encoded-word splitting (checked decoded).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::alertmanager::Alertmanager;
use crate::support::daemon::Daemon;
use crate::support::fake_smtp::{FakeSmtp, Message, Options};
use crate::support::pair::whole_second;

const WAIT: Duration = Duration::from_secs(20);

async fn post(url: &str, body: &Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .expect("POST alerts");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

/// Writes the fake's CA next to the config and returns its path.
fn ca_file(fake: &FakeSmtp, dir: &tempfile::TempDir) -> String {
    let p = dir.path().join("smtp-ca.pem");
    std::fs::write(&p, &fake.ca_pem).unwrap();
    p.display().to_string()
}

#[tokio::test]
async fn email_is_sent_and_resolved_through_the_binary_without_leaking_the_password() {
    let fake = FakeSmtp::start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
global:
  smtp_smarthost: {smarthost}
  smtp_from: 'Alerts <alerts@example.org>'
  smtp_hello: tocsin.test
  smtp_auth_username: {user}
  smtp_auth_password: {password}
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: mail
    email_configs:
      - to: 'ops@example.org, On Call <oncall@example.org>'
        send_resolved: true
        headers: {{X-Runbook: 'https://runbook.example/{{{{ .GroupLabels.alertname }}}}'}}
        tls_config: {{ca_file: {ca}}}
"#,
        smarthost = fake.smarthost(),
        user = fake.user,
        password = fake.password,
        ca = ca_file(&fake, &dir),
    );
    let d = Daemon::start(&config);
    let start = whole_second();
    let alert = |ends: &str| {
        json!([{"labels": {"alertname": "DiskFull", "instance": "a:9100", "job": "node"},
                "annotations": {"summary": "Disk is full"},
                "startsAt": start.to_string(), "endsAt": ends}])
    };
    post(&d.url("/api/v2/alerts"), &alert("2099-01-01T00:00:00Z")).await;
    let m = fake.wait_messages(1, WAIT).await;
    let first = &m[0];
    assert_eq!(first.ehlo, "tocsin.test");
    assert!(first.tls, "STARTTLS before AUTH");
    assert_eq!(
        first.auth,
        Some(("PLAIN".to_owned(), String::new(), fake.user.clone()))
    );
    assert_eq!(first.mail_from, "alerts@example.org");
    assert_eq!(first.rcpt_to, ["ops@example.org", "oncall@example.org"]);
    assert_eq!(
        first.header("Subject").as_deref(),
        Some("[FIRING:1] DiskFull (a:9100 node)")
    );
    assert_eq!(
        first.header("X-Runbook").as_deref(),
        Some("https://runbook.example/DiskFull")
    );
    let text = first.text.as_deref().unwrap_or_default();
    assert!(
        text.contains("Disk is full") && text.contains("instance=a:9100"),
        "{text}"
    );
    assert!(
        first
            .html
            .as_deref()
            .unwrap_or_default()
            .contains("Disk is full")
    );

    let mut end = whole_second();
    while end <= start {
        tokio::time::sleep(Duration::from_millis(100)).await;
        end = whole_second();
    }
    post(&d.url("/api/v2/alerts"), &alert(&end.to_string())).await;
    let m = fake.wait_messages(2, WAIT).await;
    assert_eq!(
        m[1].header("Subject").as_deref(),
        Some("[RESOLVED] DiskFull (a:9100 node)")
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());

    let receivers = d.get_json("/api/v2/receivers").await;
    assert_eq!(
        receivers,
        json!([{"name": "mail", "integrations": [{"name": "email", "sendResolved": true}]}])
    );
    let metrics = d.metrics().await;
    assert!(
        metrics.contains("alertmanager_integrations{type=\"email\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alertmanager_notifications_total{integration=\"email\"} 2"),
        "{metrics}"
    );
    let status = d.get_json("/api/v2/status").await.to_string();
    for (what, text) in [
        ("log", d.log_text()),
        ("status", status),
        ("metrics", metrics),
    ] {
        assert!(
            !text.contains(&fake.password),
            "the password is in the {what}: {text}"
        );
    }
}

/// The config both daemons run; `fake` is each one's own SMTP server.
fn diff_config(fake: &FakeSmtp, ca: &str) -> String {
    format!(
        r#"
global:
  smtp_hello: differential.test
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: mail
    email_configs:
      - to: 'ops@example.org, "Last, First" <first@example.org>'
        from: 'Alerts <alerts@example.org>'
        smarthost: {smarthost}
        auth_username: {user}
        auth_password: {password}
        auth_secret: {password}
        auth_identity: {user}
        send_resolved: true
        tls_config: {{ca_file: {ca}}}
        headers:
          X-Team: '{{{{ .CommonLabels.job }}}} team'
          Reply-To: 'Bereitschaft <oncall@example.org>'
          X-Summary: 'Störung: {{{{ .CommonAnnotations.summary }}}}'
        text: |-
          {{{{ .Status }}}} {{{{ len .Alerts }}}} alert(s)
          {{{{ range .Alerts }}}}{{{{ .Labels.instance }}}}: {{{{ .Annotations.summary }}}}
          {{{{ end }}}}.leading dot and = sign
        html: '<h1>{{{{ .CommonLabels.alertname }}}} & co</h1><ul>{{{{ range .Alerts }}}}<li>{{{{ .Labels.instance }}}} {{{{ .Annotations.summary }}}}</li>{{{{ end }}}}</ul>'
"#,
        smarthost = fake.smarthost(),
        user = fake.user,
        password = fake.password,
    )
}

/// What of a message is compared: the dialogue, the envelope, the decoded headers that do not
/// vary between sends, and the bodies.
fn comparable(m: &Message) -> Value {
    let mut headers: Vec<(String, String)> = m
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !matches!(n.as_str(), "message-id" | "date" | "content-type"))
        .map(|n| {
            let v = m.header(&n).unwrap_or_default();
            (n, v)
        })
        .collect();
    headers.sort();
    let content_type = m.header("Content-Type").unwrap_or_default();
    json!({
        "ehlo": m.ehlo,
        "tls": m.tls,
        "auth": m.auth,
        "mail_from": m.mail_from,
        "rcpt_to": m.rcpt_to,
        "headers": headers,
        "content_type": content_type.split(';').next().unwrap_or_default(),
        "text": m.text,
        "html": m.html,
    })
}

#[tokio::test]
async fn email_matches_alertmanager_0_25() {
    // Both servers list CRAM-MD5 first: Alertmanager takes the server's first mechanism it
    // has credentials for (here the secret), and so must we.
    let options = || Options {
        auth: vec!["CRAM-MD5", "PLAIN", "LOGIN"],
        ..Options::default()
    };
    let (am_fake, t_fake) = (
        FakeSmtp::start(options()).await,
        FakeSmtp::start(options()).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let am_ca = dir.path().join("am-ca.pem");
    std::fs::write(&am_ca, &am_fake.ca_pem).unwrap();
    let t_ca = ca_file(&t_fake, &dir);
    let Some(am) = Alertmanager::start(&diff_config(&am_fake, &am_ca.display().to_string())).await
    else {
        return;
    };
    let t = Daemon::start(&diff_config(&t_fake, &t_ca));

    let start = whole_second();
    let alerts = |ends: &str| {
        json!([
            {"labels": {"alertname": "Disk", "instance": "b:9100", "job": "node"},
             "annotations": {"summary": "disk b"}, "startsAt": start.to_string(), "endsAt": ends},
            {"labels": {"alertname": "Disk", "instance": "a:9100", "job": "node"},
             "annotations": {"summary": "disk b"}, "startsAt": start.to_string(), "endsAt": ends},
        ])
    };
    let firing = alerts("2099-01-01T00:00:00Z");
    post(&am.url("/api/v2/alerts"), &firing).await;
    post(&t.url("/api/v2/alerts"), &firing).await;
    am_fake.wait_messages(1, WAIT).await;
    t_fake.wait_messages(1, WAIT).await;

    let mut end = whole_second();
    while end <= start {
        tokio::time::sleep(Duration::from_millis(100)).await;
        end = whole_second();
    }
    let resolved = alerts(&end.to_string());
    post(&am.url("/api/v2/alerts"), &resolved).await;
    post(&t.url("/api/v2/alerts"), &resolved).await;
    let am_mail = am_fake.wait_messages(2, WAIT).await;
    let t_mail = t_fake.wait_messages(2, WAIT).await;

    assert!(
        am_fake.violations().is_empty(),
        "the fake refuses what Alertmanager sends: {:?}",
        am_fake.violations()
    );
    assert!(t_fake.violations().is_empty(), "{:?}", t_fake.violations());
    assert_eq!(am_mail.len(), 2, "{am_mail:#?}");
    assert_eq!(
        am_mail[0].auth.as_ref().map(|a| a.0.as_str()),
        Some("CRAM-MD5"),
        "Alertmanager's choice"
    );
    assert_eq!(t_mail.len(), 2, "{t_mail:#?}");
    for (a, b) in am_mail.iter().zip(&t_mail) {
        assert_eq!(
            comparable(a),
            comparable(b),
            "alertmanager (left) and tocsin (right) differ;\nalertmanager:\n{}\ntocsin:\n{}",
            a.raw,
            b.raw
        );
    }
    assert_eq!(
        am_mail[1].header("Subject").as_deref(),
        Some("[RESOLVED] Disk (node)")
    );
}
