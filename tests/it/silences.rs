//! Silences and inhibition through the real binary: API v2 codes and messages as Alertmanager
//! gives them (reference §1.4, probed against 0.25), alert status, persistence across a kill,
//! and hostile silences.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::daemon::Daemon;

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
receivers:
  - name: default
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
"#;

fn at(offset_secs: i64) -> String {
    let t = tocsin::clock::now()
        .checked_add(jiff::SignedDuration::from_secs(offset_secs))
        .unwrap();
    t.to_string()
}

fn silence(matchers: Value, starts: i64, ends: i64) -> Value {
    json!({"matchers": matchers, "startsAt": at(starts), "endsAt": at(ends),
           "createdBy": "me", "comment": "why"})
}

fn eqm(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value, "isRegex": false})
}

async fn post(d: &Daemon, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(d.url("/api/v2/silences"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn status_and_text(r: reqwest::RequestBuilder) -> (u16, String) {
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn create_get_update_expire_with_alertmanagers_codes() {
    let d = Daemon::start(CONFIG);
    let c = reqwest::Client::new();
    let (s, b) = post(&d, &silence(json!([eqm("alertname", "Disk")]), -60, 3600)).await;
    assert_eq!(s, 200, "{b}");
    let id = b["silenceID"].as_str().unwrap().to_owned();
    let got = d.get_json(&format!("/api/v2/silence/{id}")).await;
    assert_eq!(got["status"]["state"], "active");
    assert_eq!(
        got["matchers"],
        json!([{"isEqual": true, "isRegex": false, "name": "alertname", "value": "Disk"}])
    );
    // The past start was clamped to now; times carry milliseconds as go-swagger prints them.
    let starts = got["startsAt"].as_str().unwrap();
    assert!(starts.ends_with('Z') && starts.len() == 24, "{starts}");
    assert!(starts > at(-5).as_str(), "{starts}");
    // go-swagger's field order.
    let (_, text) = status_and_text(c.get(d.url(&format!("/api/v2/silence/{id}")))).await;
    let keys = [
        "id",
        "status",
        "updatedAt",
        "comment",
        "createdBy",
        "endsAt",
        "matchers",
        "startsAt",
    ];
    let pos: Vec<usize> = keys
        .iter()
        .map(|k| text.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");

    // Same matchers and start, later end: updated in place.
    let mut upd = got.clone();
    upd["endsAt"] = json!(at(7200));
    let (s, b) = post(&d, &upd).await;
    assert_eq!((s, b["silenceID"].as_str()), (200, Some(id.as_str())));
    // Other matchers: a new id; the old silence is expired.
    upd["matchers"] = json!([eqm("alertname", "Cpu")]);
    let (s, b) = post(&d, &upd).await;
    assert_eq!(s, 200);
    let new_id = b["silenceID"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    let old = d.get_json(&format!("/api/v2/silence/{id}")).await;
    assert_eq!(old["status"]["state"], "expired");

    // Unknown ids: 404 with a JSON string (Alertmanager's GET/DELETE have an empty body); non-UUIDs
    // 422.
    let mut unknown = upd.clone();
    unknown["id"] = json!("00000000-0000-4000-8000-000000000000");
    assert_eq!(post(&d, &unknown).await, (404, json!("silence not found")));
    let (s, t) =
        status_and_text(c.get(d.url("/api/v2/silence/00000000-0000-4000-8000-000000000000"))).await;
    assert_eq!((s, t.as_str()), (404, "\"silence not found\""));
    let (s, t) =
        status_and_text(c.delete(d.url("/api/v2/silence/00000000-0000-4000-8000-000000000000")))
            .await;
    assert_eq!((s, t.as_str()), (404, "\"silence not found\""));
    let (s, t) = status_and_text(c.get(d.url("/api/v2/silence/abc"))).await;
    assert_eq!(s, 422);
    assert_eq!(
        serde_json::from_str::<Value>(&t).unwrap(),
        json!({"code": 601, "message": "silenceID in path must be of type uuid: \"abc\""})
    );

    // DELETE expires, and again is fine.
    for _ in 0..2 {
        let (s, t) = status_and_text(c.delete(d.url(&format!("/api/v2/silence/{new_id}")))).await;
        assert_eq!((s, t.as_str()), (200, ""));
    }
    let gone = d.get_json(&format!("/api/v2/silence/{new_id}")).await;
    assert_eq!(gone["status"]["state"], "expired");
}

#[tokio::test]
async fn refused_silences_say_why() {
    let d = Daemon::start(CONFIG);
    let ok = silence(json!([eqm("a", "b")]), 0, 3600);
    let without = |field: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    // go-swagger's required fields, checked in its order.
    let mut empty = json!({});
    assert_eq!(
        post(&d, &empty).await,
        (
            422,
            json!({"code": 602, "message": "comment in body is required"})
        )
    );
    empty["comment"] = json!("c");
    assert_eq!(
        post(&d, &empty).await.1["message"],
        "createdBy in body is required"
    );
    assert_eq!(
        post(&d, &without("endsAt")).await.1["message"],
        "endsAt in body is required"
    );
    assert_eq!(
        post(&d, &without("startsAt")).await.1["message"],
        "startsAt in body is required"
    );
    let mut no_items = ok.clone();
    no_items["matchers"] = json!([]);
    assert_eq!(
        post(&d, &no_items).await,
        (
            422,
            json!({"code": 612, "message": "matchers in body should have at least 1 items"})
        )
    );
    let mut no_regex_flag = ok.clone();
    no_regex_flag["matchers"] = json!([{"name": "a", "value": "b"}]);
    assert_eq!(
        post(&d, &no_regex_flag).await.1["message"],
        "matchers.0.isRegex in body is required"
    );
    // Alertmanager's 400s, with its messages.
    let cases = [
        (
            silence(json!([eqm("a", "b")]), 3600, 60),
            "Failed to create silence: start time must be before end time",
        ),
        (
            silence(json!([eqm("a", "b")]), -7200, -3600),
            "Failed to create silence: end time can't be in the past",
        ),
        (
            silence(json!([eqm("a", "")]), 0, 3600),
            "silence invalid: at least one matcher must not match the empty string",
        ),
        (
            silence(
                json!([{"name": "a", "value": ".*", "isRegex": true}]),
                0,
                3600,
            ),
            "silence invalid: at least one matcher must not match the empty string",
        ),
        (
            silence(json!([eqm("", "x")]), 0, 3600),
            "silence invalid: invalid label matcher 0: invalid label name \"\"",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(post(&d, &body).await, (400, json!(want)), "{body}");
    }
    let (s, b) = post(
        &d,
        &silence(
            json!([{"name": "a", "value": "(", "isRegex": true}]),
            0,
            3600,
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b.as_str().unwrap().starts_with(
            "silence invalid: invalid label matcher 0: invalid regular expression \"(\": "
        ),
        "{b}"
    );
    let (s, b) = post(&d, &json!("nope")).await;
    assert_eq!(s, 400);
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .starts_with("parsing silence body from \"\" failed, because ")
    );
    // A negative matcher alone is accepted, as upstream.
    let (s, _) = post(
        &d,
        &silence(
            json!([{"name": "a", "value": "x", "isRegex": false, "isEqual": false}]),
            0,
            3600,
        ),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn duration_instead_of_ends_at() {
    let d = Daemon::start(CONFIG);
    let body =
        json!({"matchers": [eqm("a", "b")], "duration": "2h", "createdBy": "me", "comment": "c"});
    let (s, b) = post(&d, &body).await;
    assert_eq!(s, 200, "{b}");
    let got = d
        .get_json(&format!(
            "/api/v2/silence/{}",
            b["silenceID"].as_str().unwrap()
        ))
        .await;
    let (st, en): (jiff::Timestamp, jiff::Timestamp) = (
        got["startsAt"].as_str().unwrap().parse().unwrap(),
        got["endsAt"].as_str().unwrap().parse().unwrap(),
    );
    assert_eq!(en.duration_since(st), jiff::SignedDuration::from_hours(2));
    let mut both = body.clone();
    both["endsAt"] = json!(at(60));
    assert_eq!(
        post(&d, &both).await,
        (400, json!("give either endsAt or duration, not both"))
    );
    let mut bad = body.clone();
    bad["duration"] = json!("soon");
    let (s, b) = post(&d, &bad).await;
    assert_eq!(s, 400);
    assert!(
        b.as_str().unwrap().starts_with("invalid duration \"soon\""),
        "{b}"
    );
}

#[tokio::test]
async fn list_is_sorted_and_filtered_as_alertmanager() {
    let d = Daemon::start(CONFIG);
    let mut ids = Vec::new();
    for (name, starts, ends) in [
        ("a", 0, 7200),
        ("b", 0, 3600),
        ("c", 600, 900),
        ("d", 300, 900),
    ] {
        let (_, b) = post(
            &d,
            &silence(
                json!([eqm("alertname", name), eqm("team", "x")]),
                starts,
                ends,
            ),
        )
        .await;
        ids.push(b["silenceID"].as_str().unwrap().to_owned());
    }
    let c = reqwest::Client::new();
    c.delete(d.url(&format!("/api/v2/silence/{}", ids[0])))
        .send()
        .await
        .unwrap();
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{}:{}",
                    s["matchers"][0]["value"].as_str().unwrap(),
                    s["status"]["state"].as_str().unwrap()
                )
            })
            .collect()
    };
    // Active by end, pending by start, expired last.
    let all = d.get_json("/api/v2/silences").await;
    assert_eq!(
        names(&all),
        ["b:active", "d:pending", "c:pending", "a:expired"]
    );
    // A filter matches a silence's matcher exactly (name, operator and value).
    let f = d
        .get_json("/api/v2/silences?filter=alertname%3D%22b%22")
        .await;
    assert_eq!(names(&f), ["b:active"]);
    let f = d
        .get_json("/api/v2/silences?filter=alertname%3D~%22b%22")
        .await;
    assert_eq!(names(&f), Vec::<String>::new());
    let f = d
        .get_json("/api/v2/silences?filter=team%3Dx&expired=false&pending=false")
        .await;
    assert_eq!(names(&f), ["b:active"]);
    let (s, t) = status_and_text(c.get(d.url("/api/v2/silences?filter=%3D%3D"))).await;
    assert_eq!((s, t.as_str()), (400, "\"bad matcher format: ==\""));
}

#[tokio::test]
async fn alert_status_shows_silences_and_inhibition() {
    let d = Daemon::start(CONFIG);
    let c = reqwest::Client::new();
    let alerts = json!([
        {"labels": {"alertname": "Down", "severity": "critical", "cluster": "a"}},
        {"labels": {"alertname": "Slow", "severity": "warning", "cluster": "a"}},
        {"labels": {"alertname": "Slow", "severity": "warning", "cluster": "b"}},
    ]);
    let r = c
        .post(d.url("/api/v2/alerts"))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, b) = post(&d, &silence(json!([eqm("cluster", "b")]), 0, 3600)).await;
    let sid = b["silenceID"].as_str().unwrap().to_owned();
    let all = d.get_json("/api/v2/alerts").await;
    let by_cluster = |v: &Value, sev: &str, cl: &str| -> Value {
        v.as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["cluster"] == cl && a["labels"]["severity"] == sev)
            .map(|a| a["status"].clone())
            .unwrap_or(Value::Null)
    };
    let down_fp = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "Down")
        .unwrap()["fingerprint"]
        .clone();
    assert_eq!(
        by_cluster(&all, "critical", "a"),
        json!({"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []})
    );
    assert_eq!(
        by_cluster(&all, "warning", "a"),
        json!({"state": "suppressed", "silencedBy": [], "inhibitedBy": [down_fp], "mutedBy": []})
    );
    assert_eq!(
        by_cluster(&all, "warning", "b"),
        json!({"state": "suppressed", "silencedBy": [sid], "inhibitedBy": [], "mutedBy": []})
    );
    let count = |q: &str| {
        let d = &d;
        let q = q.to_owned();
        async move {
            d.get_json(&format!("/api/v2/alerts?{q}"))
                .await
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count("silenced=false").await, 2);
    assert_eq!(count("inhibited=false").await, 2);
    assert_eq!(count("silenced=false&inhibited=false").await, 1);
    assert_eq!(count("active=false").await, 2);
    // The source resolves: its target is released at once.
    let resolve = json!([{"labels": {"alertname": "Down", "severity": "critical", "cluster": "a"},
                          "endsAt": at(-1)}]);
    c.post(d.url("/api/v2/alerts"))
        .json(&resolve)
        .send()
        .await
        .unwrap();
    // Down is gone (resolved), Slow/a is active again, Slow/b stays silenced.
    assert_eq!(count("inhibited=false").await, 2);
    assert_eq!(count("active=false").await, 1);
    let all = d.get_json("/api/v2/alerts").await;
    assert_eq!(by_cluster(&all, "warning", "a")["state"], "active");
    let m = d.metrics().await;
    assert!(
        m.contains("alertmanager_silences{state=\"active\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("alertmanager_alerts{state=\"suppressed\"} 1"),
        "{m}"
    );
    assert!(m.contains("alertmanager_inhibition_rules 1"), "{m}");
}

#[tokio::test]
async fn silences_survive_a_kill() {
    let d = Daemon::start(CONFIG);
    let (_, b) = post(&d, &silence(json!([eqm("alertname", "Disk")]), 0, 3600)).await;
    let id = b["silenceID"].as_str().unwrap().to_owned();
    let (_, b2) = post(&d, &silence(json!([eqm("alertname", "Cpu")]), 0, 3600)).await;
    let expired = b2["silenceID"].as_str().unwrap().to_owned();
    let c = reqwest::Client::new();
    c.delete(d.url(&format!("/api/v2/silence/{expired}")))
        .send()
        .await
        .unwrap();
    let before = d.get_json("/api/v2/silences").await;
    // SIGKILL right after the answers: an acknowledged change is on disk.
    let d = d.restart();
    let after = d.get_json("/api/v2/silences").await;
    assert_eq!(after, before);
    assert_eq!(
        d.get_json(&format!("/api/v2/silence/{id}")).await["status"]["state"],
        "active"
    );
    // A damaged store stops the start with a reason rather than dropping silences.
    let mut d = d;
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
    std::fs::write(d.dir.path().join("data/tocsin.redb"), "{").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg(format!("--config.file={}", d.config_path().display()))
        .arg(format!(
            "--storage.path={}",
            d.dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("tocsin.redb") && log.contains("damaged") && log.contains("--storage.reset"),
        "{log}"
    );
}

#[tokio::test]
async fn the_limit_flags_refuse_with_alertmanagers_messages() {
    let d = Daemon::start_with(
        CONFIG,
        &[
            "--silences.max-silences=2",
            "--silences.max-silence-size-bytes=300",
        ],
    );
    let c = reqwest::Client::new();
    let (s, a) = post(&d, &silence(json!([eqm("alertname", "A")]), 0, 3600)).await;
    assert_eq!(s, 200, "{a}");
    let (s, b) = post(&d, &silence(json!([eqm("alertname", "B")]), 0, 3600)).await;
    assert_eq!(s, 200, "{b}");
    let third = silence(json!([eqm("alertname", "C")]), 0, 3600);
    let full = (
        400,
        json!("exceeded maximum number of silences: 2 (limit: 2)"),
    );
    assert_eq!(post(&d, &third).await, full);
    // An update in place needs no room; an expired silence still counts until it is collected
    // (Alertmanager 0.28+ counts every stored silence).
    let a_id = a["silenceID"].as_str().unwrap();
    let mut upd = d.get_json(&format!("/api/v2/silence/{a_id}")).await;
    upd["comment"] = json!("longer");
    let (s, got) = post(&d, &upd).await;
    assert_eq!((s, got["silenceID"].as_str()), (200, Some(a_id)));
    let (s, _) = status_and_text(c.delete(d.url(&format!("/api/v2/silence/{a_id}")))).await;
    assert_eq!(s, 200);
    assert_eq!(post(&d, &third).await, full);
    // Too large, even in place: 300 bytes of protobuf as Alertmanager counts them.
    let b_id = b["silenceID"].as_str().unwrap();
    let mut big = d.get_json(&format!("/api/v2/silence/{b_id}")).await;
    big["comment"] = json!("x".repeat(400));
    let (s, msg) = post(&d, &big).await;
    let msg = msg.as_str().unwrap_or_default().to_owned();
    assert_eq!(s, 400, "{msg}");
    assert!(
        msg.starts_with("silence exceeded maximum size: ")
            && msg.ends_with(" bytes (limit: 300 bytes)"),
        "{msg}"
    );
    let stored = d.get_json(&format!("/api/v2/silence/{b_id}")).await;
    assert_eq!(
        stored["comment"], "why",
        "the refused update changed nothing"
    );
}

#[tokio::test]
async fn hostile_silences_are_refused_quickly() {
    let d = Daemon::start(CONFIG);
    let t0 = tocsin::clock::instant();
    // A 1 MiB regex (Alertmanager spends 60-140 MiB on one).
    let (s, b) = post(
        &d,
        &silence(
            json!([{"name": "a", "value": "a".repeat(1 << 20), "isRegex": true}]),
            0,
            3600,
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b.as_str().unwrap().contains("at most 131072 are allowed"),
        "{b}"
    );
    // 10,000 matchers.
    let many: Vec<Value> = (0..10_000).map(|i| eqm(&format!("l{i}"), "x")).collect();
    let (s, b) = post(&d, &silence(json!(many), 0, 3600)).await;
    assert_eq!(
        (s, b),
        (
            400,
            json!("silence invalid: 10000 matchers; at most 1000 are allowed")
        )
    );
    // A catastrophic-backtracking regex is accepted and matches in linear time.
    let (s, _) = post(
        &d,
        &silence(
            json!([{"name": "a", "value": "(a+)+$", "isRegex": true}]),
            0,
            3600,
        ),
    )
    .await;
    assert_eq!(s, 200);
    let evil = json!([{"labels": {"alertname": "X", "a": format!("{}!", "a".repeat(100_000))}}]);
    reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&evil)
        .send()
        .await
        .unwrap();
    let got = d.get_json("/api/v2/alerts").await;
    assert_eq!(got[0]["status"]["state"], "active");
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    let rss = d.metrics().await;
    let rss: f64 = rss
        .lines()
        .find(|l| l.starts_with("process_resident_memory_bytes "))
        .and_then(|l| l.split(' ').nth(1)?.parse().ok())
        .unwrap();
    assert!(rss < 64.0 * 1024.0 * 1024.0, "RSS {rss}");
}

#[tokio::test]
async fn a_silence_holds_notifications_back_until_it_is_expired() {
    let hook = crate::support::fake_webhook::FakeWebhook::start().await;
    let cfg = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1h\n  repeat_interval: 4h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {}\n",
        hook.url()
    );
    let d = Daemon::start(&cfg);
    let (_, b) = post(&d, &silence(json!([eqm("alertname", "Disk")]), 0, 3600)).await;
    let id = b["silenceID"].as_str().unwrap().to_owned();
    let c = reqwest::Client::new();
    let alerts = json!([{"labels": {"alertname": "Disk", "instance": "a"}}]);
    c.post(d.url("/api/v2/alerts"))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    // The first flush happens and holds the alert back.
    let metrics_url = d.url("/metrics");
    let held = crate::support::daemon::eventually(Duration::from_secs(20), || {
        crate::support::daemon::http_get(&metrics_url).is_some_and(|(_, m)| {
            m.contains("alertmanager_notifications_suppressed_total{reason=\"silence\"} 1")
        })
    })
    .await;
    assert!(held, "the flush held the silenced alert back");
    assert!(hook.received().is_empty());
    // Expired: notified now, not after the hour-long group_interval.
    c.delete(d.url(&format!("/api/v2/silence/{id}")))
        .send()
        .await
        .unwrap();
    let got = hook.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0].body["status"], "firing");
    assert_eq!(got[0].body["alerts"][0]["labels"]["instance"], "a");
}
