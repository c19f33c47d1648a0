//! Zendesk through the real pipeline (dedup, retry, nflog) against the strict fake: a ticket per
//! group (created, commented on change and repeat, solved on resolve, reopened when it fires
//! again), a follow-up when the old ticket is closed, the lookup by `external_id` when the id is
//! not known (a restart), 429 then success, 5xx retried, a permanent 4xx, a slow service, the
//! token never in errors or metrics; and the fake itself.

use std::time::Duration;

use serde_json::json;

use super::payload;
use crate::notify::fakes::{fake_zendesk, script};
use crate::notify::testkit::{GROUP_KEY, Rig, alert};
use fake_zendesk::FakeZendesk;
use script::Step;

fn rig(fake: &FakeZendesk, extra: &str, max_retry: Duration) -> Rig {
    Rig::new(
        "  resolve_timeout: 5m",
        &format!(
            "    zendesk_configs:\n    - api_url: {}\n      email: {}\n      api_token: {}\n      send_resolved: true\n      ticket_type: incident\n      tags: ['alert', '{{{{ .CommonLabels.job }}}}']\n{extra}",
            fake.url(),
            fake.email,
            fake.token
        ),
        max_retry,
    )
}

#[tokio::test]
async fn one_ticket_per_group_commented_solved_and_reopened() {
    let fake = FakeZendesk::start().await;
    let r = rig(&fake, "", Duration::from_secs(5));
    let a = alert(&r, "a:9100", 100_000);
    let b = alert(&r, "b:9100", 100_000);

    // First notification: looked up (none), then created.
    assert!(r.flush(0, vec![a.clone()]).await.ok);
    let t = fake.tickets();
    assert_eq!(t.len(), 1);
    let id = t[0].id;
    assert_eq!(
        t[0].external_id.as_deref(),
        Some(payload::external_id(GROUP_KEY).as_str())
    );
    assert_eq!(t[0].subject, "[FIRING:1] DiskFull (a:9100 node)");
    assert_eq!(t[0].kind.as_deref(), Some("incident"));
    assert_eq!(t[0].tags, vec!["alert", "node"]);
    assert!(
        t[0].comments[0].0.contains("DiskFull"),
        "{:?}",
        t[0].comments
    );
    let methods: Vec<_> = fake.requests().iter().map(|q| q.method.clone()).collect();
    assert_eq!(methods, vec!["GET", "POST"]);

    // Nothing new before the repeat interval: nothing sent.
    assert!(r.flush(60, vec![a.clone()]).await.ok);
    assert_eq!(fake.requests().len(), 2);
    // Group change: a private comment on the same ticket, no lookup (the id is in the nflog).
    assert!(r.flush(120, vec![a.clone(), b.clone()]).await.ok);
    // Repeat: another comment.
    assert!(r.flush(120 + 3601, vec![a.clone(), b.clone()]).await.ok);
    let t = &fake.tickets()[0];
    assert_eq!(t.comments.len(), 3);
    assert!(
        !t.comments[1].1 && t.comments[1].0.contains("2 firing"),
        "{:?}",
        t.comments
    );
    // Resolve: solved.
    let (ra, rb) = (alert(&r, "a:9100", 4000), alert(&r, "b:9100", 4000));
    assert!(r.flush(4100, vec![ra, rb]).await.ok);
    let t = &fake.tickets()[0];
    assert_eq!(t.status, "solved");
    assert!(t.comments[3].0.contains("resolved"), "{:?}", t.comments);
    // Fires again: the solved ticket is reopened with a comment.
    let a2 = alert(&r, "a:9100", 100_000);
    assert!(r.flush(4200, vec![a2]).await.ok);
    let t = fake.tickets();
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].id, t[0].status.as_str()), (id, "open"));
    let methods: Vec<_> = fake.requests().iter().map(|q| q.method.clone()).collect();
    assert_eq!(methods, vec!["GET", "POST", "PUT", "PUT", "PUT", "PUT"]);
    assert!(fake.ignored_keys().is_empty(), "{:?}", fake.ignored_keys());
}

#[tokio::test]
async fn a_closed_ticket_gets_a_follow_up() {
    let fake = FakeZendesk::start().await;
    let r = rig(&fake, "", Duration::from_secs(5));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    let old = fake.tickets()[0].id;
    // An agent's automation closes it; the group changes: 422, then a follow-up ticket.
    fake.close(old);
    assert!(
        r.flush(
            60,
            vec![alert(&r, "a:9100", 100_000), alert(&r, "b:9100", 100_000)]
        )
        .await
        .ok
    );
    let t = fake.tickets();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].via_followup_source_id, Some(old));
    assert_eq!(t[1].external_id, t[0].external_id);
    let statuses: Vec<u16> = fake.requests().iter().map(|q| q.status).collect();
    assert_eq!(statuses, vec![200, 201, 422, 201]);
    // Resolving goes to the follow-up.
    assert!(
        r.flush(
            200,
            vec![alert(&r, "a:9100", 100), alert(&r, "b:9100", 100)]
        )
        .await
        .ok
    );
    assert_eq!(fake.tickets()[1].status, "solved");
    assert_eq!(fake.tickets()[0].status, "closed");
}

#[tokio::test]
async fn an_unknown_ticket_id_is_looked_up_by_external_id() {
    // A ticket made before a restart (the nflog is new and empty): found, not duplicated.
    let fake = FakeZendesk::start().await;
    let existing = fake.seed("open", &payload::external_id(GROUP_KEY));
    fake.seed("closed", &payload::external_id(GROUP_KEY));
    fake.seed("open", "tocsin:another-group");
    let r = rig(&fake, "", Duration::from_secs(5));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 100_000)]).await.ok);
    assert_eq!(fake.tickets().len(), 3, "no new ticket");
    let t = fake
        .tickets()
        .into_iter()
        .find(|t| t.id == existing)
        .unwrap();
    assert_eq!(t.comments.len(), 2);
    // A resolve that reaches the integration without a known id (the nflog did not keep it)
    // solves the ticket found by its external_id; with no ticket at all nothing is created.
    let r2 = rig(&fake, "", Duration::from_secs(5));
    let integ = &r2.notifier.receiver("r").unwrap().integrations[0];
    let resolved = |rig: &Rig| {
        crate::notify::data::NotificationData::new(
            "r",
            vec![alert(rig, "a:9100", -10)],
            0,
            &Default::default(),
            "http://tocsin.test",
            GROUP_KEY,
            "all alerts resolved",
            rig.t0,
        )
    };
    let sent = integ.notify(&resolved(&r2)).await.unwrap();
    assert_eq!(sent.receiver_data["ticket_id"], existing.to_string());
    let t = fake
        .tickets()
        .into_iter()
        .find(|t| t.id == existing)
        .unwrap();
    assert_eq!(t.status, "solved");
    let empty = FakeZendesk::start().await;
    let r3 = rig(&empty, "", Duration::from_secs(5));
    let integ = &r3.notifier.receiver("r").unwrap().integrations[0];
    integ.notify(&resolved(&r3)).await.unwrap();
    assert!(empty.tickets().is_empty());
    assert_eq!(empty.requests().len(), 1, "only the lookup");
}

#[tokio::test]
async fn rate_limited_then_created_once_after_retry_after() {
    let fake = FakeZendesk::start().await;
    // The lookup passes, the create is answered 429 with Retry-After: 1, then succeeds.
    fake.script([Step::default(), Step::rate_limited(1)]);
    let r = rig(&fake, "", Duration::from_secs(30));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    let q = fake.requests();
    let statuses: Vec<u16> = q.iter().map(|q| q.status).collect();
    assert_eq!(
        statuses,
        vec![200, 429, 200, 201],
        "the retry looks the ticket up again"
    );
    let gap = q[2].at.duration_since(q[1].at);
    assert!(
        gap >= Duration::from_millis(950),
        "Retry-After not honoured: {gap:?}"
    );
    assert_eq!(fake.tickets().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_and_client_errors_are_not() {
    let fake = FakeZendesk::start().await;
    fake.script([Step::status(503)]);
    let r = rig(&fake, "", Duration::from_secs(30));
    assert!(r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(fake.tickets().len(), 1);

    let fake = FakeZendesk::start().await;
    fake.script([Step::status(403)]);
    let r = rig(&fake, "", Duration::from_secs(30));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(fake.requests().len(), 1, "a 403 is not retried");
    assert_eq!(
        r.metric(
            "alertmanager_notifications_failed_total{integration=\"zendesk\",reason=\"authError\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn a_slow_service_times_out_and_is_given_up() {
    let fake = FakeZendesk::start().await;
    fake.script(std::iter::repeat_n(Step::slow(Duration::from_secs(3)), 10));
    let r = rig(&fake, "      timeout: 200ms\n", Duration::from_secs(1));
    assert!(!r.flush(0, vec![alert(&r, "a:9100", 3600)]).await.ok);
    assert_eq!(
        r.metric(
            "alertmanager_notifications_failed_total{integration=\"zendesk\",reason=\"contextDeadlineExceeded\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn the_token_never_appears_in_errors_or_metrics() {
    let fake = FakeZendesk::start().await;
    let r = rig(&fake, "", Duration::from_millis(1));
    let integ = &r.notifier.receiver("r").unwrap().integrations[0];
    let data = crate::notify::data::NotificationData::new(
        "r",
        vec![alert(&r, "a:9100", 3600)],
        0,
        &Default::default(),
        "http://tocsin.test",
        GROUP_KEY,
        "first notification",
        r.t0,
    );
    for step in [
        Step::status(401),
        Step::rate_limited(1),
        Step::status(500),
        Step::status(422),
    ] {
        fake.script([step]);
        let e = integ.notify(&data).await.unwrap_err();
        assert!(!e.to_string().contains(&fake.token), "{e}");
    }
    // Nothing listens: a connection error.
    let gone = Rig::new(
        "  resolve_timeout: 5m",
        "    zendesk_configs:\n    - api_url: http://127.0.0.1:9/api/v2/\n      email: a@example.org\n      api_token: zd-test-token\n",
        Duration::from_millis(1),
    );
    let e = gone.notifier.receiver("r").unwrap().integrations[0]
        .notify(&data)
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("zd-test-token"), "{e}");
    assert!(!r.metrics.encode().contains(&fake.token));
}

/// The fake answers as Zendesk does: a request Zendesk accepts passes, malformed ones fail.
#[tokio::test]
async fn the_fake_validates_like_zendesk() {
    let fake = FakeZendesk::start().await;
    let c = reqwest::Client::new();
    let auth = (format!("{}/token", fake.email), fake.token.clone());
    let post = |body: serde_json::Value, user: &str, pass: &str| {
        c.post(format!("{}tickets.json", fake.url()))
            .basic_auth(user, Some(pass))
            .json(&body)
            .send()
    };
    let ok = json!({"ticket": {"subject": "s", "comment": {"body": "b"}, "priority": "high", "type": "incident"}});
    let r = post(ok.clone(), &auth.0, &auth.1).await.unwrap();
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("location").is_some());
    assert!(r.headers().get("x-rate-limit").is_some());
    let id = r.json::<serde_json::Value>().await.unwrap()["ticket"]["id"]
        .as_u64()
        .unwrap();
    // Wrong token, missing comment, bad enums, not JSON.
    assert_eq!(
        post(ok.clone(), &auth.0, "nope").await.unwrap().status(),
        401
    );
    assert_eq!(
        post(ok.clone(), &fake.email, &auth.1)
            .await
            .unwrap()
            .status(),
        401
    );
    for bad in [
        json!({"ticket": {"subject": "s"}}),
        json!({"ticket": {"comment": {"body": "b"}, "priority": "critical"}}),
        json!({"ticket": {"comment": {"body": "b"}, "type": "alert"}}),
        json!({"ticket": {"comment": {"body": "b"}, "via_followup_source_id": id}}),
    ] {
        let r = post(bad.clone(), &auth.0, &auth.1).await.unwrap();
        assert_eq!(r.status(), 422, "{bad}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "RecordInvalid");
    }
    let r = c
        .post(format!("{}tickets.json", fake.url()))
        .basic_auth(&auth.0, Some(&auth.1))
        .body(ok.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "no JSON content type");
    // Updates: unknown id, closed ticket.
    let put = |id: u64| {
        c.put(format!("{}tickets/{id}.json", fake.url()))
            .basic_auth(&auth.0, Some(&auth.1))
            .json(&json!({"ticket": {"status": "solved", "comment": {"body": "done", "public": false}}}))
            .send()
    };
    assert_eq!(put(id).await.unwrap().status(), 200);
    assert_eq!(put(99_999).await.unwrap().status(), 404);
    fake.close(id);
    let r = put(id).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("closed prevents ticket update")
    );
    // Unknown keys are ignored, as Zendesk does, and recorded.
    let r = post(
        json!({"ticket": {"Subject": "s", "comment": {"body": "b"}}}),
        &auth.0,
        &auth.1,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(fake.ignored_keys(), vec!["Subject"]);
}
