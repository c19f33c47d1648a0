//! Config reloads side by side with Alertmanager 0.25, whose behaviour is the expectation:
//! alerts move to the route that takes them after the reload, a pending resolve survives a
//! changed route, and resolves that arrive during reloads are not overwritten.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::alertmanager::{post_json, reload};
use crate::support::pair::{Pair, alerts_in_groups, end_after, groups, whole_second};

/// Two receivers on one hook (the payload's `receiver` tells them apart); `routes` is YAML
/// under `route.routes`, indented by four spaces.
fn config(hook: &str, group_interval: &str, routes: &str) -> String {
    format!(
        "route:\n  receiver: old\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: {group_interval}\n  repeat_interval: 1h\n  routes:\n{routes}    - receiver: old\n      matchers: [never=\"match\"]\nreceivers:\n  - name: old\n    webhook_configs: [{{url: '{hook}'}}]\n  - name: db\n    webhook_configs: [{{url: '{hook}'}}]\n"
    )
}

const DB_CHILD: &str = "    - receiver: db\n      matchers: [team=\"db\"]\n";

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
    // Ten rounds of a reload racing ten resolves, on each server.
    for round in 0..10 {
        for base in &bases {
            let resolves = (0..10).map(|j| {
                let body = json!([alert((round * 10 + j) * 197 % N, &end)]);
                async move {
                    let url = format!("{base}/api/v2/alerts");
                    assert_eq!(post_json(&url, &body).await, 200);
                }
            });
            tokio::join!(reload(base), futures_util::future::join_all(resolves));
        }
    }
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
