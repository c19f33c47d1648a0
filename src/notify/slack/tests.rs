//! Slack through the real pipeline (dedup, retry, nflog) against the strict fake: webhook and
//! bot token, first notification, repeat, group change, resolve, `chat.update` of the group's
//! message, 429 then success, permanent errors, a slow service.

use std::time::Duration;

use crate::notify::fakes::{fake_slack, script};

use fake_slack::FakeSlack;
use script::Step;

use super::{DATA_CHANNEL, DATA_TS};
use crate::notify::testkit::{GROUP_KEY, Rig, alert};

const WAIT: Duration = Duration::from_secs(10);

fn webhook_rig(fake: &FakeSlack, extra: &str, max_retry: Duration) -> Rig {
    Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    slack_configs:\n    - api_url: {}\n      channel: '#ops'\n      send_resolved: true\n{extra}",
            fake.webhook_url()
        ),
        max_retry,
    )
}

fn bot_rig(fake: &FakeSlack, extra: &str) -> Rig {
    Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    slack_configs:\n    - app_token: {}\n      app_url: {}\n      channel: '#ops'\n      send_resolved: true\n{extra}",
            fake.token,
            fake.app_url()
        ),
        Duration::from_secs(10),
    )
}

#[tokio::test]
async fn webhook_first_change_repeat_resolve() {
    let fake = FakeSlack::start().await;
    let r = webhook_rig(&fake, "", Duration::from_secs(5));
    let (a, b) = (alert(&r, "a:9100", 100_000), alert(&r, "b:9100", 100_000));
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    let got = fake.wait_accepted(1, WAIT).await;
    let m = &got[0].body;
    assert_eq!(m["channel"], "#ops");
    assert_eq!(m["username"], "Alertmanager");
    let att = &m["attachments"][0];
    assert_eq!(m["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(att["title"], "[FIRING:1] DiskFull (a:9100 node)");
    assert_eq!(
        att["title_link"],
        "http://tocsin.test:9093/#/alerts?receiver=r"
    );
    assert_eq!(
        att["fallback"],
        "[FIRING:1] DiskFull (a:9100 node) | http://tocsin.test:9093/#/alerts?receiver=r"
    );
    assert_eq!(att["color"], "danger");
    assert_eq!(
        att["mrkdwn_in"],
        serde_json::json!(["fallback", "pretext", "text"])
    );
    assert_eq!(att["callback_id"], "");
    assert_eq!(att["footer"], "");
    assert!(att.get("pretext").is_none() && att.get("fields").is_none());
    assert!(m.get("link_names").is_none() && m.get("ts").is_none());
    assert!(got[0].authorization.is_none());

    assert!(r.flush(60, vec![a.clone()]).await.ok); // nothing new
    assert!(r.flush(120, vec![a.clone(), b.clone()]).await.ok); // group change
    assert!(r.flush(120 + 3601, vec![a.clone(), b.clone()]).await.ok); // repeat
    let (ra, rb) = (alert(&r, "a:9100", 4000), alert(&r, "b:9100", 4000));
    assert!(r.flush(4100, vec![ra, rb]).await.ok); // resolve
    let got = fake.wait_accepted(4, WAIT).await;
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[1].body["attachments"][0]["title"],
        "[FIRING:2] DiskFull (node)"
    );
    assert_eq!(
        got[3].body["attachments"][0]["title"],
        "[RESOLVED] DiskFull (node)"
    );
    assert_eq!(got[3].body["attachments"][0]["color"], "good");
}

#[tokio::test]
async fn bot_posts_then_updates_the_same_message() {
    let fake = FakeSlack::start().await;
    let r = bot_rig(&fake, "      update_message: true\n");
    let (a, b) = (alert(&r, "a:9100", 100_000), alert(&r, "b:9100", 100_000));
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    assert!(r.flush(120, vec![a.clone(), b.clone()]).await.ok);
    let (ra, rb) = (alert(&r, "a:9100", 200), alert(&r, "b:9100", 200));
    assert!(r.flush(300, vec![ra, rb]).await.ok);
    let reqs = fake.wait_accepted(3, WAIT).await;
    assert_eq!(reqs[0].path, "/api/chat.postMessage");
    assert_eq!(reqs[1].path, "/api/chat.update");
    assert_eq!(reqs[2].path, "/api/chat.update");
    assert_eq!(
        reqs[0].authorization.as_deref(),
        Some("Bearer xoxb-test-token")
    );
    let msgs = fake.messages();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert_eq!(msgs[0].versions.len(), 3);
    assert_eq!(msgs[0].versions[2]["attachments"][0]["color"], "good");
    assert_eq!(
        msgs[0].versions[1]["channel"], msgs[0].channel,
        "updates name the channel ID"
    );
    // The channel and ts live in the group's nflog entry.
    let entry = r
        .nflog
        .snapshot()
        .into_iter()
        .find(|(k, _)| k.group_key == GROUP_KEY)
        .unwrap()
        .1;
    assert_eq!(entry.receiver_data.get(DATA_TS), Some(&msgs[0].ts));
    assert_eq!(
        entry.receiver_data.get(DATA_CHANNEL),
        Some(&msgs[0].channel)
    );

    // Firing again after the resolve: a new message.
    assert!(r.flush(400, vec![alert(&r, "c:9100", 100_000)]).await.ok);
    fake.wait_accepted(4, WAIT).await;
    assert_eq!(fake.messages().len(), 2);
}

#[tokio::test]
async fn bot_without_update_message_posts_every_time() {
    let fake = FakeSlack::start().await;
    let r = bot_rig(&fake, "");
    let (a, b) = (alert(&r, "a:9100", 100_000), alert(&r, "b:9100", 100_000));
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    assert!(r.flush(120, vec![a, b]).await.ok);
    fake.wait_accepted(2, WAIT).await;
    assert_eq!(fake.messages().len(), 2);
    assert!(r.nflog.snapshot()[0].1.receiver_data.is_empty());
}

#[tokio::test]
async fn a_message_that_cannot_be_edited_is_posted_anew() {
    let fake = FakeSlack::start().await;
    let r = bot_rig(&fake, "      update_message: true\n");
    let a = alert(&r, "a:9100", 100_000);
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    fake.script([Step::default().body(r#"{"ok":false,"error":"message_not_found"}"#)]);
    assert!(r.flush(120, vec![a, alert(&r, "b:9100", 100_000)]).await.ok);
    let reqs = fake.requests();
    let paths: Vec<&str> = reqs.iter().map(|q| q.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/chat.postMessage",
            "/api/chat.update",
            "/api/chat.postMessage"
        ]
    );
    assert_eq!(fake.messages().len(), 2);
}

#[tokio::test]
async fn rate_limited_webhook_waits_for_retry_after() {
    let fake = FakeSlack::start().await;
    fake.script([Step::rate_limited(1)]);
    let r = webhook_rig(&fake, "", Duration::from_secs(30));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    let reqs = fake.requests();
    assert_eq!((reqs[0].status, reqs[1].status), (429, 200));
    let gap = reqs[1].at.duration_since(reqs[0].at);
    assert!(
        gap >= Duration::from_millis(950),
        "Retry-After not honoured: {gap:?}"
    );
}

#[tokio::test]
async fn bot_ratelimited_error_is_retried() {
    let fake = FakeSlack::start().await;
    fake.script([Step {
        retry_after: Some(1),
        ..Step::default().body(r#"{"ok":false,"error":"ratelimited"}"#)
    }]);
    let r = bot_rig(&fake, "");
    assert!(r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn permanent_errors_are_not_retried_and_are_counted() {
    let fake = FakeSlack::start().await;
    fake.script([Step::status(404).body("no_active_hooks")]);
    let r = webhook_rig(&fake, "", Duration::from_secs(30));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(
        r.metric(
            "alertmanager_notifications_failed_total{integration=\"slack\",reason=\"clientError\"}"
        ),
        1.0
    );

    let fake = FakeSlack::start().await;
    fake.script([Step::default().body(r#"{"ok":false,"error":"channel_not_found"}"#)]);
    let r = bot_rig(&fake, "");
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    assert_eq!(fake.requests().len(), 1);
    let integ = &r.notifier.receiver("r").unwrap().integrations[0];
    let data = crate::notify::data::NotificationData::new(
        "r",
        vec![alert(&r, "a:9100", 100_000)],
        0,
        &Default::default(),
        "http://tocsin.test",
        GROUP_KEY,
        "first notification",
        r.t0,
    );
    fake.script([Step::default().body(r#"{"ok":false,"error":"channel_not_found"}"#)]);
    let e = integ.notify(&data).await.unwrap_err();
    assert_eq!(
        e.message,
        "channel \"#ops\": error response from Slack: channel_not_found"
    );
    assert!(!e.retry);
}

#[tokio::test]
async fn wrong_token_is_an_auth_error() {
    let fake = FakeSlack::start().await;
    let r = Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    slack_configs:\n    - app_token: xoxb-wrong\n      app_url: {}\n      channel: '#ops'\n",
            fake.app_url()
        ),
        Duration::from_secs(5),
    );
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    assert_eq!(fake.requests()[0].error.as_deref(), Some("invalid_auth"));
    assert_eq!(
        r.metric(
            "alertmanager_notifications_failed_total{integration=\"slack\",reason=\"authError\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn slow_slack_times_out() {
    let fake = FakeSlack::start().await;
    fake.script((0..10).map(|_| Step::slow(Duration::from_secs(2))));
    let r = webhook_rig(&fake, "      timeout: 200ms\n", Duration::from_millis(900));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    assert_eq!(
        r.metric(
            "alertmanager_notifications_failed_total{integration=\"slack\",reason=\"contextDeadlineExceeded\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn fields_actions_and_message_text() {
    let fake = FakeSlack::start().await;
    let extra = concat!(
        "      message_text: '{{ .CommonLabels.alertname }} is {{ .Status }}'\n",
        "      short_fields: true\n      link_names: true\n",
        "      fields: [{title: Instance, value: '{{ .CommonLabels.instance }}'}, {title: Job, value: node, short: false}]\n",
        "      actions: [{type: button, text: Runbook, url: 'https://runbook.example/', name: ignored}]\n",
        "      pretext: before\n      footer: tocsin\n",
    );
    let r = webhook_rig(&fake, extra, Duration::from_secs(5));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    let got = fake.wait_accepted(1, WAIT).await;
    let m = &got[0].body;
    assert_eq!(m["text"], "DiskFull is firing");
    assert_eq!(m["link_names"], true);
    let att = &m["attachments"][0];
    assert_eq!(
        att["fields"],
        serde_json::json!([{"title": "Instance", "value": "a:9100", "short": true},
                           {"title": "Job", "value": "node", "short": false}])
    );
    assert_eq!(
        att["actions"],
        serde_json::json!([{"type": "button", "text": "Runbook", "url": "https://runbook.example/"}])
    );
    assert_eq!(att["pretext"], "before");
    assert_eq!(att["footer"], "tocsin");
}

/// The fake itself: what Alertmanager sends passes; malformed requests fail as Slack fails them.
#[test]
fn fake_validates_like_slack() {
    use serde_json::json;
    let am = json!({"channel": "#x", "username": "Alertmanager", "attachments": [{"title": "t",
        "text": "", "fallback": "f", "callback_id": "", "footer": "", "color": "danger",
        "mrkdwn_in": ["fallback", "pretext", "text"]}]});
    assert_eq!(
        fake_slack::validate_webhook(am.to_string().as_bytes()),
        None
    );
    assert_eq!(fake_slack::validate_api("chat.postMessage", &am), None);
    assert_eq!(
        fake_slack::validate_webhook(b"{oops"),
        Some((400, "invalid_payload"))
    );
    assert_eq!(
        fake_slack::validate_webhook(b"{\"channel\":\"#x\"}"),
        Some((400, "no_text"))
    );
    let many = json!({"attachments": vec![json!({"text": "x"}); 101]});
    assert_eq!(
        fake_slack::validate_webhook(many.to_string().as_bytes()),
        Some((400, "too_many_attachments"))
    );
    assert_eq!(
        fake_slack::validate_api("chat.postMessage", &json!({"text": "x"})),
        Some("channel_not_found")
    );
    assert_eq!(
        fake_slack::validate_api("chat.update", &json!({"channel": "C1", "text": "x"})),
        Some("message_not_found")
    );
}

#[tokio::test]
async fn fake_rejects_missing_auth_and_content_type() {
    let fake = FakeSlack::start().await;
    let c = reqwest::Client::new();
    let body = r##"{"channel":"#x","text":"hi"}"##;
    let ask = |rb: reqwest::RequestBuilder| async move {
        let v: serde_json::Value = rb.send().await.unwrap().json().await.unwrap();
        v["error"].as_str().unwrap_or("").to_owned()
    };
    assert_eq!(
        ask(c
            .post(fake.app_url())
            .header("content-type", "application/json")
            .body(body))
        .await,
        "not_authed"
    );
    assert_eq!(
        ask(c
            .post(fake.app_url())
            .bearer_auth("xoxb-test-token")
            .header("content-type", "text/plain")
            .body(body))
        .await,
        "invalid_post_type"
    );
    assert_eq!(
        ask(c
            .post(fake.app_url())
            .bearer_auth("xoxb-test-token")
            .body(body))
        .await,
        "missing_post_type"
    );
    // Four posts within a second to one channel: the fourth is rate limited.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = c
            .post(fake.app_url())
            .bearer_auth("xoxb-test-token")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}

/// Neither the webhook URL nor the bot token appears in an error (what the log prints).
#[tokio::test]
async fn errors_never_name_the_webhook_url_or_the_token() {
    use crate::notify::testkit::{closed_port, error_text};
    let fake = FakeSlack::start().await;
    let path = "/services/T0/B0/S3cr3tH00kPath";
    let webhook = |addr: std::net::SocketAddr| {
        Rig::new(
            "  resolve_timeout: 5m",
            &format!(
                "    slack_configs:\n    - api_url: http://{addr}{path}\n      channel: '#ops'\n      timeout: 300ms\n"
            ),
            Duration::from_secs(1),
        )
    };
    let r = webhook(fake.addr);
    for step in [
        Step::status(404).body("no_active_hooks"),
        Step::rate_limited(1),
        Step::status(500),
        Step::default().body("invalid_token"),
        Step::slow(Duration::from_secs(1)),
    ] {
        fake.script([step]);
        let e = error_text(&r).await;
        assert!(!e.contains("S3cr3tH00kPath"), "{e}");
    }
    let e = error_text(&webhook(closed_port().await)).await;
    assert!(!e.contains("S3cr3tH00kPath"), "{e}");

    let bot = Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    slack_configs:\n    - app_token: xoxb-S3cr3tT0ken\n      app_url: {}\n      channel: '#ops'\n",
            fake.app_url()
        ),
        Duration::from_secs(1),
    );
    let e = error_text(&bot).await; // invalid_auth
    assert!(
        e.contains("invalid_auth") && !e.contains("S3cr3tT0ken"),
        "{e}"
    );
    assert!(bot.metrics.encode().find("S3cr3t").is_none());
}

#[tokio::test]
async fn post_updates_to_thread_replies_under_the_first_message() {
    let fake = FakeSlack::start().await;
    let r = bot_rig(&fake, "      post_updates_to_thread: true\n");
    let a = alert(&r, "a:9100", 100_000);
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    assert!(r.flush(120, vec![a, alert(&r, "b:9100", 100_000)]).await.ok);
    let reqs = fake.wait_accepted(2, WAIT).await;
    let msgs = fake.messages();
    assert_eq!(msgs.len(), 2);
    assert!(reqs[0].body.get("thread_ts").is_none());
    assert_eq!(reqs[1].body["thread_ts"], msgs[0].ts.as_str());
    assert_eq!(reqs[1].body["channel"], msgs[0].channel.as_str());
    // The thread's parent stays the group's message.
    let entry = r.nflog.snapshot()[0].1.clone();
    assert_eq!(entry.receiver_data.get(DATA_TS), Some(&msgs[0].ts));
}

#[tokio::test]
async fn api_url_at_chat_post_message_uses_the_web_api_with_http_config_auth() {
    let fake = FakeSlack::start().await;
    let r = Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    slack_configs:\n    - api_url: {}\n      channel: '#ops'\n      http_config:\n        authorization: {{credentials: {}}}\n",
            fake.app_url(),
            fake.token
        ),
        Duration::from_secs(5),
    );
    assert!(r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    let reqs = fake.wait_accepted(1, WAIT).await;
    assert_eq!(reqs[0].path, "/api/chat.postMessage");
    assert_eq!(fake.messages().len(), 1);
    // And a JSON {ok:false} answer is a failure there too.
    fake.script([Step::default().body(r#"{"ok":false,"error":"not_in_channel"}"#)]);
    let e = crate::notify::testkit::error_text(&r).await;
    assert!(e.contains("not_in_channel"), "{e}");
}
