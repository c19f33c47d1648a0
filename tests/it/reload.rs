//! Config reloads side by side with Alertmanager 0.25, whose behaviour is the expectation:
//! alerts move to the route that takes them after the reload, a pending resolve survives a
//! changed route, and resolves that arrive during reloads are not overwritten.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::alertmanager::{Alertmanager, post_json, reload};
use crate::support::daemon::{Daemon, eventually};
use crate::support::fake_webhook::FakeWebhook;

/// Two receivers on one hook (the payload's `receiver` tells them apart); `routes` is YAML
/// under `route.routes`, indented by four spaces.
fn config(hook: &str, group_interval: &str, routes: &str) -> String {
    format!(
        "route:\n  receiver: old\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: {group_interval}\n  repeat_interval: 1h\n  routes:\n{routes}    - receiver: old\n      matchers: [never=\"match\"]\nreceivers:\n  - name: old\n    webhook_configs: [{{url: '{hook}'}}]\n  - name: db\n    webhook_configs: [{{url: '{hook}'}}]\n"
    )
}

const DB_CHILD: &str = "    - receiver: db\n      matchers: [team=\"db\"]\n";

/// Alertmanager and tocsin on the same config, each with its own hook.
struct Pair {
    am: Alertmanager,
    tocsin: Daemon,
    am_hook: FakeWebhook,
    tocsin_hook: FakeWebhook,
}

impl Pair {
    async fn start(conf: impl Fn(&str) -> String) -> Option<Pair> {
        let am_hook = FakeWebhook::start().await;
        let tocsin_hook = FakeWebhook::start().await;
        let am = Alertmanager::start(&conf(&am_hook.url())).await?;
        let tocsin = Daemon::start(&conf(&tocsin_hook.url()));
        Some(Pair {
            am,
            tocsin,
            am_hook,
            tocsin_hook,
        })
    }

    fn bases(&self) -> [String; 2] {
        [self.am.base.clone(), format!("http://{}", self.tocsin.addr)]
    }

    async fn post(&self, body: &Value) {
        for base in self.bases() {
            assert_eq!(post_json(&format!("{base}/api/v2/alerts"), body).await, 200);
        }
    }

    async fn reconfigure(&self, conf: impl Fn(&str) -> String) {
        self.am.write_config(&conf(&self.am_hook.url()));
        self.tocsin.write_config(&conf(&self.tocsin_hook.url()));
        for base in self.bases() {
            reload(&base).await;
        }
    }

    /// Waits until both hooks got `n` notifications.
    async fn wait_for(&self, n: usize) {
        let ok = eventually(Duration::from_secs(20), || {
            self.am_hook.received().len() >= n && self.tocsin_hook.received().len() >= n
        })
        .await;
        assert!(
            ok,
            "{n} notifications each: alertmanager {:?}, tocsin {:?}",
            summary(&self.am_hook),
            summary(&self.tocsin_hook)
        );
    }

    /// Both sent the same notifications, and show the same groups.
    async fn assert_same(&self) {
        assert_eq!(
            summary(&self.tocsin_hook),
            summary(&self.am_hook),
            "notifications"
        );
        let [am, tocsin] = self.bases();
        assert_eq!(groups(&tocsin).await, groups(&am).await, "groups");
    }
}

/// Every notification as `receiver status: alert ids`, sorted.
fn summary(h: &FakeWebhook) -> Vec<String> {
    let mut out: Vec<String> = h
        .received()
        .iter()
        .map(|r| {
            let ids: Vec<String> = r.body["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{}:{}",
                        a["labels"]["id"].as_str().unwrap_or(""),
                        a["status"].as_str().unwrap_or("")
                    )
                })
                .collect();
            format!(
                "{} {}: {}",
                r.body["receiver"],
                r.body["status"],
                ids.join(",")
            )
        })
        .collect();
    out.sort();
    out
}

/// How many alerts `GET /api/v2/alerts/groups` shows.
async fn alerts_in_groups(base: &str) -> usize {
    let v: Value = reqwest::get(format!("{base}/api/v2/alerts/groups"))
        .await
        .expect("GET groups")
        .json()
        .await
        .expect("JSON");
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| g["alerts"].as_array().unwrap().len())
        .sum()
}

/// Every group as `receiver: alert ids`, sorted.
async fn groups(base: &str) -> Vec<String> {
    let v: Value = reqwest::get(format!("{base}/api/v2/alerts/groups"))
        .await
        .expect("GET groups")
        .json()
        .await
        .expect("JSON");
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut ids: Vec<&str> = g["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["labels"]["id"].as_str().unwrap_or(""))
                .collect();
            ids.sort_unstable();
            format!("{}: {}", g["receiver"]["name"], ids.join(","))
        })
        .collect();
    out.sort();
    out
}

fn whole_second() -> jiff::Timestamp {
    jiff::Timestamp::from_second(tocsin::clock::now().as_second()).unwrap()
}

/// An end time that is already past when it arrives but after `start` (or both servers would
/// keep the old end, by Alertmanager's merge rule).
async fn end_after(start: jiff::Timestamp) -> String {
    let mut end = whole_second();
    while end <= start {
        tokio::time::sleep(Duration::from_millis(100)).await;
        end = whole_second();
    }
    end.to_string()
}

#[tokio::test]
async fn a_new_child_route_takes_its_alerts_away_from_the_old_groups() {
    let Some(p) = Pair::start(|h| config(h, "2s", "")).await else {
        return;
    };
    let start = whole_second();
    let alert = |id: &str, team: &str, ends: &str| {
        json!({"labels": {"alertname": "Disk", "id": id, "team": team},
               "startsAt": start.to_string(), "endsAt": ends})
    };
    p.post(&json!([
        alert("a", "db", "2099-01-01T00:00:00Z"),
        alert("b", "web", "2099-01-01T00:00:00Z")
    ]))
    .await;
    p.wait_for(1).await;
    p.reconfigure(|h| config(h, "2s", DB_CHILD)).await;
    p.wait_for(2).await; // db hears about `a`
    let end = end_after(start).await;
    p.post(&json!([alert("a", "db", &end)])).await;
    p.wait_for(3).await; // db hears it resolve
    tokio::time::sleep(Duration::from_secs(3)).await;
    p.assert_same().await;
}

#[tokio::test]
async fn a_flipped_continue_moves_alerts_both_ways() {
    let routes = |cont: bool| {
        format!(
            "    - receiver: old\n      matchers: [team=\"db\"]\n      continue: {cont}\n{DB_CHILD}"
        )
    };
    let Some(p) = Pair::start(|h| config(h, "2s", &routes(false))).await else {
        return;
    };
    let start = whole_second().to_string();
    p.post(&json!([{"labels": {"alertname": "Disk", "id": "a", "team": "db"}, "startsAt": start}]))
        .await;
    p.wait_for(1).await;
    p.reconfigure(|h| config(h, "2s", &routes(true))).await;
    p.wait_for(2).await; // db takes it too
    p.reconfigure(|h| config(h, "2s", &routes(false))).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    p.assert_same().await;
}

#[tokio::test]
async fn a_pending_resolve_survives_a_changed_group_interval() {
    // A long group_interval: the resolve can only go out from the group the reload makes.
    let Some(p) = Pair::start(|h| config(h, "30s", "")).await else {
        return;
    };
    let start = whole_second();
    let alert = |ends: &str| json!([{"labels": {"alertname": "Disk", "id": "a"}, "startsAt": start.to_string(), "endsAt": ends}]);
    p.post(&alert("2099-01-01T00:00:00Z")).await;
    p.wait_for(1).await;
    p.post(&alert(&end_after(start).await)).await;
    p.reconfigure(|h| config(h, "40s", "")).await;
    p.wait_for(2).await;
    p.assert_same().await;
}

/// Resolves POSTed while the config reloads over and over, with many alerts stored: every one
/// is kept (none of the resolved alerts is still shown firing in a group). The receivers have
/// no integration: what counts here is what the groups hold.
#[tokio::test]
async fn resolves_during_reloads_are_not_lost() {
    let quiet = |_: &str| {
        "route:\n  receiver: old\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\nreceivers: [{name: old}]\n".to_owned()
    };
    let Some(p) = Pair::start(quiet).await else {
        return;
    };
    let start = whole_second();
    let alert = |i: usize, ends: &str| {
        json!({"labels": {"alertname": format!("A{}", i % 20), "id": i.to_string()},
               "startsAt": start.to_string(), "endsAt": ends})
    };
    const N: usize = 10_000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(2000) {
        let body: Vec<Value> = chunk
            .iter()
            .map(|&i| alert(i, "2099-01-01T00:00:00Z"))
            .collect();
        p.post(&Value::Array(body)).await;
    }
    let end = end_after(start).await;
    let bases = p.bases();
    let reloads = {
        let bases = bases.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                for base in &bases {
                    reload(base).await;
                }
            }
        })
    };
    let resolves = (0..100).map(|k| {
        let body = json!([alert(k * 197 % N, &end)]);
        let bases = bases.clone();
        async move {
            for base in &bases {
                assert_eq!(
                    post_json(&format!("{base}/api/v2/alerts"), &body).await,
                    200
                );
            }
        }
    });
    futures_util::future::join_all(resolves).await;
    reloads.await.unwrap();
    let [am, tocsin] = bases;
    // Resolved alerts leave the groups' answer at once (it shows alerts not yet ended); a
    // resolve overwritten by an older copy would stay there as firing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let counts = loop {
        let counts = (alerts_in_groups(&am).await, alerts_in_groups(&tocsin).await);
        if counts == (N - 100, N - 100) || tokio::time::Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        counts,
        (N - 100, N - 100),
        "(alertmanager, tocsin): both keep every resolve"
    );
    assert_eq!(groups(&tocsin).await, groups(&am).await);
}
