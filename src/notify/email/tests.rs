//! Email through the real pipeline (dedup, retry, nflog) against the strict SMTP fake: STARTTLS
//! with AUTH PLAIN and its identity, implicit TLS with AUTH LOGIN, a relay without TLS; first
//! notification, repeat, group change and resolve over one pooled connection; 4xx retried, 5xx
//! not; a slow server beyond the timeout; encoded headers, dot-stuffing and long lines; the
//! password never in errors or metrics; AUTH in the server's order with CRAM-MD5; and the fake
//! itself.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{Security, payload, security};
use crate::notify::fakes::fake_smtp::{self, FakeSmtp, Fault, Options, Stage};
use crate::notify::testkit::{Rig, alert, alert_with, closed_port, error_text};

/// A rig sending to `fake` with its CA trusted; `extra` is more YAML of the email config.
fn rig(fake: &FakeSmtp, extra: &str, max_retry: Duration) -> (Rig, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &fake.ca_pem).unwrap();
    let yaml = format!(
        "    email_configs:\n    - to: 'ops@example.org, Second Team <second@example.org>'\n      \
         from: 'Alerts <alerts@example.org>'\n      smarthost: {}\n      hello: tocsin.test\n      \
         auth_username: {}\n      auth_password: {}\n      auth_identity: {}\n      \
         send_resolved: true\n{}      tls_config: {{ca_file: {}}}\n{extra}",
        fake.smarthost(),
        fake.user,
        fake.password,
        fake.user,
        if extra.contains("headers:") {
            ""
        } else {
            "      headers: {X-Team: '{{ .CommonLabels.job }} team'}\n"
        },
        ca.display()
    );
    (Rig::new("  resolve_timeout: 5m", &yaml, max_retry), dir)
}

const FAILED: &str = "alertmanager_notifications_failed_total{integration=\"email\",reason=";

#[tokio::test]
async fn first_repeat_change_and_resolve_over_one_starttls_connection() {
    let fake = FakeSmtp::start(Options::default()).await;
    let (r, _dir) = rig(&fake, "", Duration::from_secs(5));
    let a = alert(&r, "a:9100", 100_000);
    let b = alert(&r, "b:9100", 100_000);

    assert!(r.flush(0, vec![a.clone()]).await.ok);
    let m = fake.messages();
    assert_eq!(m.len(), 1, "{:#?}", fake.transcript());
    let m = &m[0];
    assert_eq!(m.mail_from, "alerts@example.org");
    assert_eq!(m.rcpt_to, vec!["ops@example.org", "second@example.org"]);
    assert_eq!(m.ehlo, "tocsin.test");
    assert!(m.tls, "STARTTLS before AUTH and MAIL");
    assert_eq!(
        m.auth,
        Some(("PLAIN".into(), fake.user.clone(), fake.user.clone())),
        "PLAIN with auth_identity"
    );
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[FIRING:1] DiskFull (a:9100 node)")
    );
    assert_eq!(
        m.header("To").as_deref(),
        Some("ops@example.org, Second Team <second@example.org>")
    );
    assert_eq!(
        m.header("From").as_deref(),
        Some("Alerts <alerts@example.org>")
    );
    assert_eq!(m.header("X-Team").as_deref(), Some("node team"));
    let text = m.text.as_deref().unwrap();
    assert!(
        text.contains("DiskFull") && text.contains("Disk is full"),
        "{text}"
    );
    assert!(text.contains("instance=a:9100"), "{text}");
    let html = m.html.as_deref().unwrap();
    assert!(
        html.contains("<!DOCTYPE html>") && html.contains("Disk is full"),
        "{html}"
    );
    let id = m.header("Message-Id").unwrap();
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "{id}"
    );

    // Nothing new before the repeat interval: nothing sent.
    assert!(r.flush(60, vec![a.clone()]).await.ok);
    assert_eq!(fake.messages().len(), 1);
    // Group change.
    assert!(r.flush(120, vec![a.clone(), b.clone()]).await.ok);
    // Repeat.
    assert!(r.flush(120 + 3601, vec![a.clone(), b.clone()]).await.ok);
    // Resolve.
    let (ra, rb) = (alert(&r, "a:9100", 4000), alert(&r, "b:9100", 4000));
    assert!(r.flush(4100, vec![ra, rb]).await.ok);
    let subjects: Vec<String> = fake
        .messages()
        .iter()
        .map(|m| m.header("Subject").unwrap())
        .collect();
    assert_eq!(
        subjects,
        vec![
            "[FIRING:1] DiskFull (a:9100 node)",
            "[FIRING:2] DiskFull (node)",
            "[FIRING:2] DiskFull (node)",
            "[RESOLVED] DiskFull (node)",
        ]
    );
    let ids: std::collections::HashSet<_> = fake
        .messages()
        .iter()
        .map(|m| m.header("Message-Id"))
        .collect();
    assert_eq!(ids.len(), 4, "a new Message-Id each time");
    assert_eq!(
        fake.sessions(),
        1,
        "one pooled connection: {:#?}",
        fake.transcript()
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn implicit_tls_with_auth_login() {
    let fake = FakeSmtp::start(Options {
        auth: vec!["LOGIN"],
        ..Options::implicit()
    })
    .await;
    let (r, _dir) = rig(
        &fake,
        "      force_implicit_tls: true\n",
        Duration::from_secs(5),
    );
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    let m = &fake.messages()[0];
    assert!(m.tls);
    assert_eq!(m.auth.as_ref().map(|a| a.0.as_str()), Some("LOGIN"));
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn implicit_tls_on_port_465_unless_said_otherwise() {
    assert_eq!(security(465, None, true), Security::Implicit);
    assert_eq!(security(465, None, false), Security::Implicit);
    assert_eq!(security(465, Some(false), true), Security::StartTls);
    assert_eq!(security(587, Some(true), false), Security::Implicit);
    assert_eq!(security(587, None, true), Security::StartTls);
    assert_eq!(security(25, None, false), Security::None);
}

#[tokio::test]
async fn require_tls_fails_without_starttls_and_false_never_starts_it() {
    // The default require_tls against a server without STARTTLS: Alertmanager's error, retried.
    let fake = FakeSmtp::start(Options::plain_relay()).await;
    let (r, _dir) = rig(&fake, "", Duration::from_millis(1500));
    let e = error_text(&r).await;
    assert!(
        e.contains(&format!(
            "'require_tls' is true (default) but \"{}\" does not advertise the STARTTLS extension",
            fake.smarthost()
        )),
        "{e}"
    );
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert!(fake.messages().is_empty());
    assert!(fake.sessions() >= 3, "retried: {}", fake.sessions());
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());

    // require_tls: false: no STARTTLS even when offered; no AUTH offered, none sent.
    let relay = FakeSmtp::start(Options {
        starttls: true,
        ..Options::plain_relay()
    })
    .await;
    let (r, _dir) = rig(&relay, "      require_tls: false\n", Duration::from_secs(5));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    let m = &relay.messages()[0];
    assert!(!m.tls && m.auth.is_none());
    assert!(relay.violations().is_empty(), "{:?}", relay.violations());
}

#[tokio::test]
async fn temporary_4xx_is_retried_and_permanent_5xx_is_not() {
    let fake = FakeSmtp::start(Options::default()).await;
    fake.script([Fault::reply(Stage::Mail, "451 4.3.0 Try again later")]);
    let (r, _dir) = rig(&fake, "", Duration::from_secs(30));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(
        r.metric("alertmanager_notification_requests_failed_total{integration=\"email\"}"),
        1.0
    );

    let fake = FakeSmtp::start(Options::default()).await;
    fake.script([Fault::reply(Stage::Rcpt, "550 5.1.1 No such user")]);
    let (r, _dir) = rig(&fake, "", Duration::from_secs(30));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert!(fake.messages().is_empty());
    assert_eq!(
        r.metric("alertmanager_notification_requests_total{integration=\"email\"}"),
        1.0,
        "a 5xx is not retried"
    );
    assert_eq!(r.metric(&format!("{FAILED}\"clientError\"}}")), 1.0);

    // The message itself refused with a 5xx (after DATA), and a 421 greeting then success.
    let fake = FakeSmtp::start(Options::default()).await;
    fake.script([
        Fault::reply(Stage::Greeting, "421 4.3.2 Service not available"),
        Fault::reply(Stage::EndOfData, "554 5.7.1 Spam"),
    ]);
    let (r, _dir) = rig(&fake, "", Duration::from_secs(30));
    let e = error_text(&r).await;
    assert!(e.contains("421"), "{e}");
    let e = error_text(&r).await;
    assert!(e.contains("554") && e.contains("Spam"), "{e}");
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn a_slow_server_times_out_and_is_given_up() {
    let fake = FakeSmtp::start(Options::default()).await;
    fake.script(std::iter::repeat_n(
        Fault::slow(Stage::EndOfData, Duration::from_secs(3)),
        10,
    ));
    let (r, _dir) = rig(&fake, "      timeout: 300ms\n", Duration::from_secs(1));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(
        r.metric(&format!("{FAILED}\"contextDeadlineExceeded\"}}")),
        1.0
    );
}

#[tokio::test]
async fn the_password_never_appears_in_errors_or_metrics() {
    let fake = FakeSmtp::start(Options::default()).await;
    let (r, _dir) = rig(&fake, "", Duration::from_millis(1));
    let plain_token = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{0}\0{0}\0{1}", fake.user, fake.password))
    };
    for f in [
        Fault::reply(Stage::Greeting, "421 4.3.2 Not now"),
        Fault::reply(Stage::Mail, "451 4.3.0 Later"),
        Fault::reply(Stage::Rcpt, "550 5.1.1 No such user"),
        Fault::reply(Stage::EndOfData, "554 5.6.0 No"),
    ] {
        fake.script([f]);
        let e = error_text(&r).await;
        assert!(
            !e.contains(&fake.password) && !e.contains(&plain_token),
            "{e}"
        );
    }
    // A wrong password: 535, permanent, an auth error; neither password in the text.
    let wrong = Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    email_configs:\n    - to: ops@example.org\n      from: a@example.org\n      \
             smarthost: {}\n      auth_username: {}\n      auth_password: Wr0ngS3cret\n      \
             tls_config: {{insecure_skip_verify: true}}\n",
            fake.smarthost(),
            fake.user
        ),
        Duration::from_secs(5),
    );
    let e = error_text(&wrong).await;
    assert!(e.contains("535"), "{e}");
    assert!(
        !e.contains("Wr0ngS3cret") && !e.contains(&fake.password),
        "{e}"
    );
    assert!(!wrong.flush(0, vec![alert(&wrong, "a:9100", 3600)]).await.ok);
    assert_eq!(wrong.metric(&format!("{FAILED}\"authError\"}}")), 1.0);
    // Nothing listens: a connection error.
    let gone = Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    email_configs:\n    - to: ops@example.org\n      from: a@example.org\n      \
             smarthost: {}\n      auth_username: u\n      auth_password: Sm7pPassw0rd\n",
            closed_port().await
        ),
        Duration::from_millis(1),
    );
    let e = error_text(&gone).await;
    assert!(!e.contains("Sm7pPassw0rd"), "{e}");
    for m in [&r, &wrong, &gone] {
        let text = m.metrics.encode();
        assert!(!text.contains(&fake.password) && !text.contains("Wr0ngS3cret"));
    }
}

#[tokio::test]
async fn headers_are_encoded_bodies_dot_stuffed_and_lines_kept_short() {
    let fake = FakeSmtp::start(Options::default()).await;
    let extra = "      headers:\n        subject: 'Störung: {{ .CommonLabels.alertname }} — ünïcödé'\n        \
                 reply-to: 'Bereitschaft Müller <oncall@example.org>'\n      \
                 text: \"first\\n.hidden line\\n..two dots\\n{{ .CommonAnnotations.summary }}\"\n      \
                 threading: {enabled: true}\n";
    let (r, _dir) = rig(&fake, extra, Duration::from_secs(5));
    let long = "x".repeat(3000);
    let a = alert_with(&r, "a:9100", 3600, &[("summary", &long)]);
    assert!(r.flush(0, vec![a]).await.ok);
    let m = &fake.messages()[0];
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Störung: DiskFull — ünïcödé")
    );
    assert_eq!(
        m.header("Reply-To").as_deref(),
        Some("Bereitschaft Müller <oncall@example.org>")
    );
    assert_eq!(
        m.text.as_deref(),
        Some(format!("first\r\n.hidden line\r\n..two dots\r\n{long}").as_str())
    );
    assert!(m.html.as_deref().unwrap().contains(&long));
    let thread = m.header("In-Reply-To").unwrap();
    assert_eq!(m.header("References"), Some(thread.clone()));
    assert!(thread.starts_with("<alert-") && thread.ends_with("-@alertmanager>"));
    assert!(m.raw.lines().all(|l| l.len() <= 78), "short lines");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

/// Alertmanager's AUTH rule: the server's mechanisms in its order, the first one the config
/// can use. CRAM-MD5 (the fake checks the HMAC-MD5 digest) when the server lists it first and
/// `auth_secret` is set; LOGIN before PLAIN when the server lists it first; CRAM-MD5 skipped
/// without a secret; a wrong secret refused (535, an auth error, the secret nowhere).
#[tokio::test]
async fn auth_follows_the_servers_order_and_speaks_cram_md5() {
    let used = |auth: Vec<&'static str>, extra: String| async move {
        let fake = FakeSmtp::start(Options {
            auth,
            ..Options::default()
        })
        .await;
        let (r, _dir) = rig(&fake, &extra, Duration::from_millis(1));
        let ok = r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok;
        // (The fake records refused credentials as the client's fault too.)
        assert!(
            !ok || fake.violations().is_empty(),
            "{:?}",
            fake.violations()
        );
        let mech = fake
            .messages()
            .first()
            .and_then(|m| m.auth.as_ref().map(|a| a.0.clone()));
        let e = if ok {
            String::new()
        } else {
            error_text(&r).await
        };
        (ok, mech, e, fake)
    };
    let secret = |fake_password: &str| format!("      auth_secret: {fake_password}\n");
    let probe = FakeSmtp::start(Options::default()).await;
    let right = secret(&probe.password);
    drop(probe);

    let (ok, mech, _, _) = used(vec!["CRAM-MD5", "PLAIN", "LOGIN"], right.clone()).await;
    assert!(ok);
    assert_eq!(mech.as_deref(), Some("CRAM-MD5"));
    let (ok, mech, _, _) = used(vec!["LOGIN", "PLAIN"], String::new()).await;
    assert!(ok);
    assert_eq!(mech.as_deref(), Some("LOGIN"), "the server's order");
    let (ok, mech, _, _) = used(vec!["CRAM-MD5", "PLAIN"], String::new()).await;
    assert!(ok);
    assert_eq!(mech.as_deref(), Some("PLAIN"), "CRAM-MD5 needs auth_secret");
    let (ok, mech, e, fake) = used(
        vec!["CRAM-MD5", "PLAIN"],
        "      auth_secret: N0tTheS3cret\n".to_owned(),
    )
    .await;
    assert!(!ok);
    assert_eq!(mech, None);
    assert!(e.contains("AUTH CRAM-MD5") && e.contains("535"), "{e}");
    assert!(
        !e.contains("N0tTheS3cret") && !e.contains(&fake.password),
        "{e}"
    );
    let (ok, _, e, _) = used(vec!["XOAUTH2"], String::new()).await;
    assert!(!ok);
    assert!(e.contains("unknown auth mechanism: XOAUTH2"), "{e}");
}

/// RFC 2195's own example: user `tim`, secret `tanstaaftanstaaf`.
#[test]
fn cram_md5_digest_matches_rfc_2195() {
    let d = super::hmac_md5(
        b"tanstaaftanstaaf",
        b"<1896.697170952@postoffice.reston.mci.net>",
    );
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "b913a602c7eda7a495b4e6e7334d3890");
    // A key longer than MD5's block is hashed first (RFC 2104 test case 6).
    let d = super::hmac_md5(
        &[0xaa; 80],
        b"Test Using Larger Than Block-Size Key - Hash Key First",
    );
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
}

#[test]
fn broken_settings_are_refused_at_load() {
    let build = |extra: &str| {
        let yaml = format!(
            "route: {{receiver: r}}\nreceivers:\n- name: r\n  email_configs:\n  - to: a@example.org\n    \
             from: b@example.org\n    smarthost: 127.0.0.1:25\n{extra}"
        );
        let c =
            crate::config::Config::from_yaml(&yaml, std::path::Path::new("."), "t.yml").unwrap();
        let t = std::sync::Arc::new(c.load_templates().unwrap());
        crate::notify::Notifier::build_receivers(
            &c.receivers,
            &t,
            &crate::metrics::Metrics::new(),
            &crate::notify::http::ClientCache::new(),
        )
        .err()
        .map(|e| e.to_string())
    };
    // A CRAM-MD5 secret alone is enough (with a password too, the server's order decides).
    assert_eq!(
        build("    auth_username: u\n    auth_secret: s3cr3t\n"),
        None
    );
    assert_eq!(
        build("    auth_username: u\n    auth_secret: s\n    auth_password: p\n"),
        None
    );
    let e = build("    headers: {Content-Type: text/plain}\n").unwrap();
    assert!(e.contains("Content-Type"), "{e}");
    let e = build("    html: ''\n    text: ''\n").unwrap();
    assert!(e.contains("no body"), "{e}");
    let e = build("    html: '{{ .Broken '\n").unwrap();
    assert!(e.contains("html"), "{e}");
    let e = build("    tls_config: {max_version: TLS11}\n").unwrap();
    assert!(
        e.contains("max_version") && e.contains("not supported"),
        "{e}"
    );
    let e = build("    tls_config: {min_version: TLS13, max_version: TLS12}\n").unwrap();
    assert!(
        e.contains("min_version") && e.contains("max_version"),
        "{e}"
    );
    assert_eq!(build("    tls_config: {max_version: TLS13}\n"), None);
    assert_eq!(build("    tls_config: {max_version: TLS12}\n"), None);
}

/// `tls_config.max_version: TLS12` caps the version the session runs, with STARTTLS and with
/// implicit TLS; without it the fake (which speaks both) settles on TLS 1.3.
#[tokio::test]
async fn max_version_caps_the_negotiated_tls_version() {
    for (options, tls, want) in [
        (Options::default(), "", "TLSv1_3"),
        (Options::default(), ", max_version: TLS12", "TLSv1_2"),
        (Options::implicit(), ", max_version: TLS12", "TLSv1_2"),
        (Options::implicit(), ", min_version: TLS12", "TLSv1_3"),
    ] {
        let fake = FakeSmtp::start(Options {
            auth: vec!["LOGIN"],
            ..options
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &fake.ca_pem).unwrap();
        let yaml = format!(
            "    email_configs:\n    - to: ops@example.org\n      from: alerts@example.org\n      \
             smarthost: {}\n      auth_username: {}\n      auth_password: {}\n      \
             force_implicit_tls: {}\n      tls_config: {{ca_file: {}{tls}}}\n",
            fake.smarthost(),
            fake.user,
            fake.password,
            fake.options.implicit_tls,
            ca.display()
        );
        let r = Rig::new("", &yaml, Duration::from_secs(5));
        let ok = r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok;
        assert!(ok, "{tls}: {:#?}", fake.transcript());
        let m = &fake.messages()[0];
        assert_eq!(m.tls_version.as_deref(), Some(want), "{tls}");
        assert_eq!(m.auth.as_ref().map(|a| a.0.as_str()), Some("LOGIN"));
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    }
}

#[test]
fn the_message_is_as_the_fake_and_rfc_5322_want_it() {
    // payload.rs's output, checked by the fake's own message checker.
    let (fake_check, msg) = {
        let yaml = "route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n  - to: a@example.org\n    \
                    from: b@example.org\n    smarthost: 127.0.0.1:25\n";
        let c = crate::config::Config::from_yaml(yaml, std::path::Path::new("."), "t.yml").unwrap();
        let t = c.load_templates().unwrap();
        let f = payload::Fields::parse(&c.receivers[0].email_configs[0], &t).unwrap();
        let rig = Rig::new("  resolve_timeout: 5m", "", Duration::from_secs(1));
        let data = crate::notify::data::NotificationData::new(
            "r",
            vec![alert(&rig, "a:9100", 3600)],
            0,
            &Default::default(),
            "http://tocsin.test",
            crate::notify::testkit::GROUP_KEY,
            "first notification",
            rig.t0,
        );
        let r = crate::notify::tmpl::Renderer::new(&t, &data);
        let meta = payload::Meta {
            now: "2026-03-01T10:00:00+01:00[Europe/Paris]".parse().unwrap(),
            message_id: "<1.2@host>".into(),
            boundary: "b0undary".into(),
            group_key: crate::notify::testkit::GROUP_KEY,
        };
        let mail = payload::render(&f, &r, &meta).unwrap();
        let raw = String::from_utf8(mail.message).unwrap();
        (fake_smtp::check_message(&raw), raw)
    };
    let (headers, text, html) = fake_check.unwrap_or_else(|e| panic!("{e}\n{msg}"));
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "From",
            "Subject",
            "To",
            "Message-Id",
            "Date",
            "MIME-Version",
            "Content-Type"
        ]
    );
    assert!(
        msg.contains("Date: Sun, 01 Mar 2026 10:00:00 +0100\r\n"),
        "{msg}"
    );
    assert!(text.is_some() && html.is_some());
    assert!(msg.find("text/plain").unwrap() < msg.find("text/html").unwrap());
}

/// A raw SMTP client for the fake's own tests: sends each line, returns each reply's code.
async fn dialogue(fake: &FakeSmtp, lines: &[&str]) -> Vec<u16> {
    let s = tokio::net::TcpStream::connect(fake.addr).await.unwrap();
    let (rd, mut wr) = s.into_split();
    let mut rd = BufReader::new(rd);
    let mut codes = Vec::new();
    let read = async |rd: &mut BufReader<tokio::net::tcp::OwnedReadHalf>| loop {
        let mut l = String::new();
        rd.read_line(&mut l).await.unwrap();
        if l.len() < 4 || &l[3..4] != "-" {
            return l.get(..3).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0);
        }
    };
    read(&mut rd).await;
    for l in lines {
        wr.write_all(l.as_bytes()).await.unwrap();
        if l.ends_with("\r\n") {
            codes.push(read(&mut rd).await);
        }
    }
    codes
}

/// The fake accepts what Alertmanager 0.25 sends and refuses malformed dialogues and messages.
#[tokio::test]
async fn the_fake_validates_like_a_real_server() {
    let am_message = "Subject: [FIRING:1] DiskFull (a:9100 node)\r\nTo: ops@example.org\r\n\
        From: am@example.org\r\nMessage-Id: <1700000000000000000.42@host>\r\n\
        Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\
        Content-Type: multipart/alternative;  boundary=0a1b2c3d\r\nMIME-Version: 1.0\r\n\r\n\
        --0a1b2c3d\r\nContent-Transfer-Encoding: quoted-printable\r\n\
        Content-Type: text/html; charset=UTF-8\r\n\r\n<html lang=3D\"en\">=\r\n\
        <body>Disk full</body></html>\r\n--0a1b2c3d--\r\n.\r\n";
    let relay = FakeSmtp::start(Options::plain_relay()).await;
    let codes = dialogue(
        &relay,
        &[
            "EHLO localhost\r\n",
            "MAIL FROM:<am@example.org>\r\n",
            "RCPT TO:<ops@example.org>\r\n",
            "DATA\r\n",
            am_message,
            "QUIT\r\n",
        ],
    )
    .await;
    assert_eq!(
        codes,
        vec![250, 250, 250, 354, 250, 221],
        "{:#?}",
        relay.transcript()
    );
    let m = &relay.messages()[0];
    assert_eq!(
        m.html.as_deref(),
        Some("<html lang=\"en\"><body>Disk full</body></html>")
    );
    assert!(m.text.is_none());
    assert!(relay.violations().is_empty());

    // Out of order, unknown, and malformed commands.
    let relay = FakeSmtp::start(Options::plain_relay()).await;
    let codes = dialogue(
        &relay,
        &[
            "MAIL FROM:<a@example.org>\r\n",
            "EHLO\r\n",
            "EHLO x\r\n",
            "RCPT TO:<a@example.org>\r\n",
            "DATA\r\n",
            "MAIL FROM:a@example.org\r\n",
            "MAIL FROM:<a@example.org> SMTPUTF8\r\n",
            "XYZZY\r\n",
            "AUTH PLAIN\r\n",
        ],
    )
    .await;
    assert_eq!(codes, vec![503, 501, 250, 503, 503, 501, 555, 500, 504]);
    assert_eq!(relay.violations().len(), 8, "{:?}", relay.violations());

    // A message not dot-stuffed, with a bare LF, without Date, with raw UTF-8 in a header.
    for (bad, why) in [
        (am_message.replace("<body>", ".body>"), "dot-stuffed"),
        (am_message.replace("To: ops", "To: ops\n"), "bare LF"),
        (
            am_message.replace("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", ""),
            "no Date",
        ),
        (
            am_message.replace("Subject: [FIRING:1]", "Subject: Störung"),
            "printable ASCII",
        ),
        (
            am_message.replace("=\r\n<body>", &format!("{}=\r\n<body>", "y".repeat(80))),
            "76",
        ),
    ] {
        let relay = FakeSmtp::start(Options::plain_relay()).await;
        let codes = dialogue(
            &relay,
            &[
                "EHLO localhost\r\n",
                "MAIL FROM:<am@example.org>\r\n",
                "RCPT TO:<ops@example.org>\r\n",
                "DATA\r\n",
                &bad,
            ],
        )
        .await;
        assert_eq!(codes.last(), Some(&554), "{why}: {:#?}", relay.transcript());
        let v = relay.violations();
        assert!(v.len() == 1 && v[0].contains(why), "{why}: {v:?}");
    }

    // A submission server: MAIL and AUTH before STARTTLS are refused.
    let sub = FakeSmtp::start(Options::default()).await;
    let codes = dialogue(
        &sub,
        &[
            "EHLO x\r\n",
            "AUTH PLAIN AGEAYg==\r\n",
            "MAIL FROM:<a@example.org>\r\n",
        ],
    )
    .await;
    assert_eq!(codes, vec![250, 530, 530]);
}

/// The server's certificate is checked: against the system roots when no `ca` is given (the
/// fake's CA is not one of them), and against `server_name`; `insecure_skip_verify` skips both.
/// A refused certificate is a connection error, retried, at STARTTLS and with implicit TLS.
#[tokio::test]
async fn the_servers_certificate_is_checked_unless_told_not_to() {
    for options in [Options::default(), Options::implicit()] {
        let fake = FakeSmtp::start(options).await;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &fake.ca_pem).unwrap();
        let rig = |tls: String| {
            Rig::new(
                "",
                &format!(
                    "    email_configs:\n    - to: ops@example.org\n      from: a@example.org\n      \
                     smarthost: {}\n      auth_username: {}\n      auth_password: {}\n      \
                     force_implicit_tls: {}\n      tls_config: {tls}\n",
                    fake.smarthost(),
                    fake.user,
                    fake.password,
                    fake.options.implicit_tls,
                ),
                Duration::from_secs(5),
            )
        };
        let e = error_text(&rig("{}".to_owned())).await;
        assert!(
            e.contains("Connection error") && e.contains("certificate"),
            "{e}"
        );
        let named = format!("{{ca_file: {}, server_name: other.test}}", ca.display());
        let e = error_text(&rig(named)).await;
        assert!(e.contains("certificate"), "{e}");
        let skip = rig("{insecure_skip_verify: true}".to_owned());
        assert!(skip.flush(0, vec![alert(&skip, "a:9100", 3600)]).await.ok);
        assert_eq!(fake.messages().len(), 1, "{:#?}", fake.transcript());
    }
}
