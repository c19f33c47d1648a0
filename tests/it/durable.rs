//! Durable state through the real binary: `kill -9` at random moments loses nothing that was
//! answered 2xx; a resolve pending at the kill is delivered after the restart; a group is not
//! notified again before its repeat; Slack edits the same message and Zendesk the same ticket
//! after a restart; a damaged, newer, full or read-only store is handled as README says.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::daemon::{Daemon, eventually, http_get};
use crate::support::fake_webhook::{Answer, FakeWebhook};

fn at(offset_secs: i64) -> String {
    tocsin::clock::now()
        .checked_add(jiff::SignedDuration::from_secs(offset_secs))
        .unwrap()
        .to_string()
}

async fn post(d: &Daemon, path: &str, body: &Value) -> Option<(u16, Value)> {
    let r = reqwest::Client::new()
        .post(d.url(path))
        .timeout(Duration::from_secs(5))
        .json(body)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let text = r.text().await.ok()?;
    Some((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

async fn delete(d: &Daemon, path: &str) -> Option<u16> {
    let r = reqwest::Client::new()
        .delete(d.url(path))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    Some(r.status().as_u16())
}

/// Waits until everything tocsin queued for storage so far is durable: a silence create is
/// answered only then (used after a receiver got a notification, so the notification-log
/// entry written on its answer is on disk before a kill).
async fn barrier(d: &Daemon) {
    let s = json!({"matchers": [{"name": "alertname", "value": "NoSuchAlert", "isRegex": false}],
                   "startsAt": at(0), "endsAt": at(60), "createdBy": "test", "comment": "barrier"});
    assert_eq!(post(d, "/api/v2/silences", &s).await.unwrap().0, 200);
}

/// A small deterministic generator (the seed is printed, so a failing round can be replayed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn crash_config(hook: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
"#
    )
}

/// What the client was told.
#[derive(Default)]
struct Acked {
    /// Alert (alertname, instance) -> the number of its last POST answered 200.
    alerts: BTreeMap<(String, String), u64>,
    /// Every POST per alert (answered or not): its number -> the `v` annotation it carried.
    sent: BTreeMap<(String, String), BTreeMap<u64, u64>>,
    /// Silences answered 200: id -> expired (acknowledged).
    silences: BTreeMap<String, bool>,
}

#[tokio::test]
async fn kill_9_at_random_moments_loses_nothing_acknowledged() {
    crash_loop(&[], 20).await;
}

/// The same with log segments of 4 KiB: segments are sealed, folded, kept as spares and
/// written over in place all through the rounds, and killed at any point of that.
#[tokio::test]
async fn kill_9_while_segments_are_sealed_folded_and_recycled_loses_nothing() {
    crash_loop(&["--storage.wal-segment-bytes=4096"], 12).await;
}

async fn crash_loop(extra: &[&str], rounds: u32) {
    let hook = FakeWebhook::start().await;
    let mut d = Daemon::start_with(&crash_config(&hook.url()), extra);
    let seed = tocsin::clock::now().as_nanosecond() as u64 | 1;
    eprintln!("crash loop seed {seed}");
    let mut rng = Lcg(seed);
    let mut acked = Acked::default();
    let mut v = 0u64;
    // Each POST's number is in its endsAt (seconds after `base`, so later POSTs end later and
    // win the merge): what is found names the POST it came from.
    let base = jiff::Timestamp::from_second(tocsin::clock::now().as_second() + 7200).unwrap();
    for round in 0..rounds {
        // The client writes until the kill: alerts (new ones, changed ones, and ones re-sent
        // unchanged but for their endsAt, as Prometheus re-sends, which tocsin stores as a
        // patch of the stored alert's times) and silences.
        let until = tocsin::clock::instant() + Duration::from_millis(100 + rng.next(250));
        while tocsin::clock::instant() < until {
            v += 1;
            let key = (
                format!("A{}", rng.next(4)),
                format!("host-{}", rng.next(40)),
            );
            let sent = acked.sent.entry(key.clone()).or_default();
            let annotation = match sent.last_key_value() {
                Some((_, last)) if rng.next(2) == 0 => *last,
                _ => v,
            };
            sent.insert(v, annotation);
            let ends = base
                .checked_add(jiff::SignedDuration::from_secs(v as i64))
                .unwrap();
            let body = json!([{"labels": {"alertname": key.0, "instance": key.1},
                               "annotations": {"v": annotation.to_string()},
                               "endsAt": ends.to_string()}]);
            if let Some((200, _)) = post(&d, "/api/v2/alerts", &body).await {
                acked.alerts.insert(key, v);
            }
            match rng.next(4) {
                0 => {
                    let s = json!({"matchers": [{"name": "alertname", "value": format!("S{v}"), "isRegex": false}],
                                   "startsAt": at(0), "endsAt": at(3600), "createdBy": "crash", "comment": "loop"});
                    if let Some((200, b)) = post(&d, "/api/v2/silences", &s).await {
                        acked
                            .silences
                            .insert(b["silenceID"].as_str().unwrap().to_owned(), false);
                    }
                }
                1 => {
                    let open: Vec<String> = acked
                        .silences
                        .iter()
                        .filter(|(_, e)| !**e)
                        .map(|(id, _)| id.clone())
                        .collect();
                    if !open.is_empty() {
                        let id = &open[rng.next(open.len() as u64) as usize];
                        if let Some(200) = delete(&d, &format!("/api/v2/silence/{id}")).await {
                            acked.silences.insert(id.clone(), true);
                        }
                    }
                }
                _ => {}
            }
        }
        d = d.restart();
        // Everything acknowledged is there, in its last acknowledged state (or a later one
        // that was sent without an answer).
        let alerts = d.get_json("/api/v2/alerts").await;
        // Alert -> (the POST its endsAt names, its `v` annotation).
        let mut found: HashMap<(String, String), (u64, u64)> = HashMap::new();
        for a in alerts.as_array().unwrap() {
            let key = (
                a["labels"]["alertname"].as_str().unwrap().to_owned(),
                a["labels"]["instance"].as_str().unwrap().to_owned(),
            );
            let ends: jiff::Timestamp = a["endsAt"].as_str().unwrap().parse().unwrap();
            let post = ends.duration_since(base).as_secs();
            found.insert(
                key,
                (
                    u64::try_from(post).unwrap_or(0),
                    a["annotations"]["v"].as_str().unwrap().parse().unwrap(),
                ),
            );
        }
        for (key, want) in &acked.alerts {
            let got = found.get(key).copied();
            assert!(
                got.is_some_and(|(p, ann)| p >= *want && acked.sent[key].get(&p) == Some(&ann)),
                "round {round} (seed {seed}): alert {key:?} acknowledged at POST {want} \
                 (sent: {:?}), found (POST, v) {got:?}",
                acked.sent[key]
            );
        }
        let silences = d.get_json("/api/v2/silences").await;
        let states: HashMap<String, String> = silences
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_owned(),
                    s["status"]["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for (id, expired) in &acked.silences {
            let state = states.get(id).map(String::as_str);
            assert!(
                state.is_some(),
                "round {round} (seed {seed}): silence {id} lost"
            );
            if *expired {
                assert_eq!(state, Some("expired"), "round {round}: silence {id}");
            }
        }
    }
    // No receiver got a duplicate first notification: per group, each notification announces
    // some alert no earlier notification of that group did (the group interval and repeat are
    // an hour, so nothing else may send again).
    let mut seen: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in hook.received() {
        let key = r.body["groupKey"].as_str().unwrap().to_owned();
        let firing: BTreeSet<String> = r.body["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["fingerprint"].as_str().unwrap().to_owned())
            .collect();
        let before = seen.entry(key.clone()).or_default();
        assert!(
            !firing.is_subset(before),
            "seed {seed}: group {key} notified again with nothing new: {firing:?}"
        );
        before.extend(firing);
    }
    assert!(!hook.received().is_empty());
}

const PENDING: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: HOOK
        send_resolved: true
"#;

#[tokio::test]
async fn a_resolve_pending_at_kill_9_is_delivered_and_nothing_is_repeated() {
    let hook = FakeWebhook::start().await;
    let d = Daemon::start_with(
        &PENDING.replace("HOOK", &hook.url()),
        &["--notify.max-retry-duration=1h"],
    );
    let starts = at(0);
    let alert = |name: &str, ends: String| json!([{"labels": {"alertname": name}, "startsAt": starts, "endsAt": ends}]);
    assert_eq!(
        post(&d, "/api/v2/alerts", &alert("Gone", at(3600)))
            .await
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        post(&d, "/api/v2/alerts", &alert("Stays", at(3600)))
            .await
            .unwrap()
            .0,
        200
    );
    hook.wait_for(2, Duration::from_secs(10)).await;
    // The receiver now fails: the resolve of "Gone" stays pending, retried.
    hook.script(
        &[Answer {
            status: 503,
            retry_after: None,
        }; 1000],
    );
    assert_eq!(
        post(&d, "/api/v2/alerts", &alert("Gone", at(0)))
            .await
            .unwrap()
            .0,
        200
    );
    hook.wait_for(3, Duration::from_secs(10)).await;
    barrier(&d).await;
    let d = d.restart();
    let resolved = |r: &crate::support::fake_webhook::Received| {
        r.body["status"] == "resolved" && r.body["commonLabels"]["alertname"] == "Gone"
    };
    // The receiver works again.
    hook.clear_script();
    let ok = eventually(Duration::from_secs(20), || {
        hook.received()
            .iter()
            .filter(|r| resolved(r))
            .any(|r| r.status == 200)
    })
    .await;
    assert!(
        ok,
        "the resolve pending at the kill was delivered after the restart: {:#?}",
        hook.received()
    );
    // A barrier: a new group notified after the restart; by then "Stays" (flushed at once at
    // start-up) would have been notified again if the restart forgot it was.
    assert_eq!(
        post(&d, "/api/v2/alerts", &alert("Barrier", at(3600)))
            .await
            .unwrap()
            .0,
        200
    );
    let barrier = eventually(Duration::from_secs(10), || {
        hook.received()
            .iter()
            .any(|r| r.body["commonLabels"]["alertname"] == "Barrier")
    })
    .await;
    assert!(barrier);
    let stays = hook
        .received()
        .iter()
        .filter(|r| r.body["commonLabels"]["alertname"] == "Stays")
        .count();
    assert_eq!(stays, 1, "Stays was not notified again before its repeat");
}

const QUIET: &str = r#"
route:
  receiver: nobody
receivers:
  - name: nobody
"#;

#[tokio::test]
async fn a_full_disk_answers_503_stays_up_and_recovers_without_losing_anything() {
    // The file may grow to 1 MB (RLIMIT_FSIZE: writes past it fail as on a full disk); each
    // alert carries 50 kB, so the limit is reached within a few dozen requests.
    let hc = crate::support::fake_healthchecks::FakeHealthchecks::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{QUIET}dead_mans_switch:\n  url: {url}\n  fail_url: {url}/fail\n  interval: 300ms\n",
        url = hc.url()
    );
    std::fs::write(dir.path().join("tocsin.yml"), cfg).unwrap();
    let d = Daemon::start_via(dir, &["prlimit", "--fsize=1000000:unlimited", "--"], &[]);
    let big = "x".repeat(50_000);
    let alert = |name: String| json!([{"labels": {"alertname": name}, "annotations": {"x": big}, "endsAt": at(3600)}]);
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..100 {
        let (status, body) = post(&d, "/api/v2/alerts", &alert(format!("A{i}")))
            .await
            .unwrap();
        if status == 200 {
            acked.push(format!("A{i}"));
        } else {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("the file limit is reached");
    assert_eq!(status, 503, "{body}");
    assert!(body.to_string().contains("disk full"), "{body}");
    // Readiness says why; liveness stays; a silence is refused too; the daemon stays up.
    let (status, body) = http_get(&d.url("/-/ready")).unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("storage: disk full"), "{body}");
    assert_eq!(http_get(&d.url("/-/healthy")).unwrap().0, 200);
    let s = json!({"matchers": [{"name": "alertname", "value": "x", "isRegex": false}],
                   "startsAt": at(0), "endsAt": at(3600), "createdBy": "t", "comment": "full"});
    let (status, body) = post(&d, "/api/v2/silences", &s).await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.to_string().contains("disk full"), "{body}");
    // The dead man's switch stops pinging and says why.
    let failed = eventually(Duration::from_secs(10), || {
        hc.pings()
            .iter()
            .any(|p| p.action == "fail" && p.body.contains("disk full"))
    })
    .await;
    assert!(failed, "{:#?}", hc.pings());
    // Space comes back: the store recovers by itself and writes are acknowledged again.
    let lifted = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", d.pid()))
        .arg("--fsize=unlimited")
        .status()
        .unwrap();
    assert!(lifted.success());
    let ready = eventually(Duration::from_secs(10), || {
        http_get(&d.url("/-/ready")).is_some_and(|(s, _)| s == 200)
    })
    .await;
    assert!(ready, "ready again once the file can grow");
    let pinged_again = eventually(Duration::from_secs(10), || {
        hc.pings()
            .iter()
            .skip_while(|p| p.action != "fail")
            .any(|p| p.action.is_empty())
    })
    .await;
    assert!(pinged_again, "{:#?}", hc.pings());
    let (status, body) = post(&d, "/api/v2/alerts", &alert("After".into()))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    acked.push("After".into());
    // Everything acknowledged, before and after the failure, survives a kill -9 (the restart
    // runs under the same limit: the file is read, writes wait for space).
    let d = d.restart();
    let alerts = d.get_json("/api/v2/alerts").await;
    let names: BTreeSet<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["labels"]["alertname"].as_str())
        .collect();
    for name in &acked {
        assert!(names.contains(name.as_str()), "{name} lost: {names:?}");
    }
}

#[tokio::test]
async fn a_store_of_a_newer_format_stops_start_up_and_reset_keeps_a_copy() {
    let mut d = Daemon::start(QUIET);
    let body = json!([{"labels": {"alertname": "Kept"}, "endsAt": at(3600)}]);
    assert_eq!(post(&d, "/api/v2/alerts", &body).await.unwrap().0, 200);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(0));
    let data = d.dir.path().join("data");
    let file = data.join("tocsin.redb");
    {
        let db = redb::Database::open(&file).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", tocsin::storage::FORMAT + 1).unwrap();
        }
        tx.commit().unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg(format!("--config.file={}", d.config_path().display()))
        .arg(format!("--storage.path={}", data.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("tocsin.redb")
            && log.contains(&format!("format {}", tocsin::storage::FORMAT + 1))
            && log.contains("--storage.reset"),
        "{log}"
    );
    // --storage.reset moves the file aside (kept) and starts empty.
    let dir = std::mem::replace(&mut d.dir, tempfile::tempdir().unwrap());
    let d = Daemon::start_via(dir, &[], &["--storage.reset"]);
    assert_eq!(d.get_json("/api/v2/alerts").await, json!([]));
    let copies: Vec<String> = std::fs::read_dir(d.dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tocsin.redb.reset-"))
        .collect();
    assert_eq!(copies.len(), 1, "the old store is kept as a copy");
}

#[tokio::test]
async fn a_ping_answered_survives_kill_9_and_a_deadline_passed_meanwhile_fires() {
    let hook = FakeWebhook::start().await;
    let cfg = format!(
        "{}heartbeats:\n- {{name: backup, period: 1h, grace: 1h}}\n- {{name: quick, period: 2s, grace: 1s}}\n",
        PENDING.replace("HOOK", &hook.url())
    );
    let d = Daemon::start(&cfg);
    for name in ["backup", "quick"] {
        let r = reqwest::get(d.url(&format!("/ping/{name}"))).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    // Killed right after the answers.
    let d = d.restart();
    let list = d.get_json("/api/tocsin/v1/heartbeats").await;
    let backup = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "backup")
        .unwrap();
    assert_eq!(backup["status"], "up", "{backup}");
    // A check never pinged stays "new" and never fires: "quick" fires only because its ping
    // was kept.
    let fired = eventually(Duration::from_secs(15), || {
        hook.received().iter().any(|r| {
            r.body["alerts"].as_array().unwrap().iter().any(|a| {
                a["labels"]["alertname"] == "HeartbeatMissing"
                    && a["labels"]["heartbeat"] == "quick"
            })
        })
    })
    .await;
    assert!(fired, "{:#?}", hook.received());
}

#[tokio::test]
async fn concurrent_pings_answered_during_ingest_are_all_kept_after_kill_9() {
    // Pings share commits of the heartbeat file while ingest writes the main one: every ping
    // answered 200 is on disk at the kill.
    let hook = FakeWebhook::start().await;
    let mut cfg = format!("{}heartbeats:\n", PENDING.replace("HOOK", &hook.url()));
    for i in 0..40 {
        cfg.push_str(&format!("- {{name: c{i}, period: 1h, grace: 1h}}\n"));
    }
    let d = Daemon::start(&cfg);
    let client = reqwest::Client::new();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ingest = {
        let (url, client, stop) = (d.url("/api/v2/alerts"), client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body: Vec<Value> = (0..50)
                    .map(|i| json!({"labels": {"alertname": "Load", "i": format!("{n}-{i}")}}))
                    .collect();
                let _ = client.post(&url).json(&body).send().await;
                n += 1;
            }
        })
    };
    let pings: Vec<_> = (0..40)
        .map(|i| {
            let (url, client) = (d.url(&format!("/ping/c{i}")), client.clone());
            tokio::spawn(async move {
                client
                    .get(&url)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .ok()
            })
        })
        .collect();
    let mut answered = Vec::new();
    for (i, p) in pings.into_iter().enumerate() {
        if p.await.unwrap() == Some(200) {
            answered.push(format!("c{i}"));
        }
    }
    // Killed right after the answers, ingest still running.
    let d = d.restart();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = ingest.await;
    assert_eq!(answered.len(), 40, "every ping was answered 200");
    let list = d.get_json("/api/tocsin/v1/heartbeats").await;
    for name in &answered {
        let c = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name.as_str())
            .unwrap();
        assert_eq!(
            c["status"], "up",
            "ping of {name} answered 200 but lost: {c}"
        );
    }
}

#[tokio::test]
async fn after_kill_9_slack_edits_the_same_message_and_zendesk_the_same_ticket() {
    use crate::support::fake_slack::FakeSlack;
    use crate::support::fake_zendesk::FakeZendesk;
    let slack = FakeSlack::start().await;
    let zd = FakeZendesk::start().await;
    let cfg = format!(
        r#"
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: ops
    slack_configs:
      - app_token: {token}
        app_url: {app_url}
        channel: '#ops'
        update_message: true
        send_resolved: true
    zendesk_configs:
      - api_url: {zd_url}
        email: {zd_email}
        api_token: {zd_token}
"#,
        token = slack.token,
        app_url = slack.app_url(),
        zd_url = zd.url(),
        zd_email = zd.email,
        zd_token = zd.token,
    );
    let d = Daemon::start(&cfg);
    let starts = at(0);
    let alert = |ends: String| {
        json!([{"labels": {"alertname": "DiskFull", "severity": "critical"},
                "startsAt": starts, "endsAt": ends}])
    };
    assert_eq!(
        post(&d, "/api/v2/alerts", &alert(at(3600)))
            .await
            .unwrap()
            .0,
        200
    );
    let within = Duration::from_secs(20);
    let both = eventually(within, || {
        slack.messages().len() == 1 && zd.tickets().len() == 1
    })
    .await;
    assert!(both, "{:#?} {:#?}", slack.requests(), zd.requests());
    barrier(&d).await;
    let d = d.restart();
    let before = zd.requests().len();
    assert_eq!(
        post(&d, "/api/v2/alerts", &alert(at(0))).await.unwrap().0,
        200
    );
    let done = eventually(within, || {
        slack.messages()[0].versions.len() == 2
            && zd.tickets().first().is_some_and(|t| t.status == "solved")
    })
    .await;
    assert!(done, "{:#?} {:#?}", slack.messages(), zd.requests());
    assert_eq!(slack.messages().len(), 1, "the same message is edited");
    assert_eq!(zd.tickets().len(), 1, "the same ticket is solved");
    // The ticket id came from storage: no search by external_id after the restart.
    let searched = zd.requests()[before..]
        .iter()
        .any(|r| r.path.contains("search") || r.path.contains("external_id"));
    assert!(!searched, "{:#?}", &zd.requests()[before..]);
}
