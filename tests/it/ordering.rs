//! Alertmanager's orders, against Alertmanager 0.25 on generated label sets: groups in
//! `GET /api/v2/alerts/groups` (label sets compared as Prometheus's `LabelSet.Before`, then
//! receiver), alerts inside a group (`job`, `instance`, then the label set), and the alerts of a
//! notification, where the order decides which ones `max_alerts` keeps.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::pair::Pair;

/// Label sets from a seeded generator: names and values from small pools, so that sets share
/// names, differ in length, and tie on prefixes.
fn generate(seed: u64, n: usize, base: &[(&str, &str)]) -> Vec<BTreeMap<String, String>> {
    const NAMES: &[&str] = &["a", "b", "c", "job", "instance", "zz", "A", "_x", "a_b"];
    const VALUES: &[&str] = &["0", "1", "10", "9", "a", "B", "é", "a b", "a\"b", "~"];
    let mut state = seed | 1;
    let mut next = move |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let mut out: Vec<BTreeMap<String, String>> = Vec::new();
    while out.len() < n {
        let mut ls: BTreeMap<String, String> = base
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for _ in 0..1 + next(4) {
            ls.insert(
                NAMES[next(NAMES.len())].into(),
                VALUES[next(VALUES.len())].into(),
            );
        }
        if !out.contains(&ls) {
            out.push(ls);
        }
    }
    out
}

fn config(hook: &str) -> String {
    format!(
        "route:\n  receiver: quiet\n  group_by: ['...']\n  group_wait: 1h\n  routes:\n    - receiver: hook\n      matchers: [alertname=\"Order\"]\n      group_by: [alertname]\n      group_wait: 1s\nreceivers:\n  - name: quiet\n  - name: hook\n    webhook_configs: [{{url: '{hook}', max_alerts: 7}}]\n"
    )
}

async fn get(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn groups_and_alerts_in_alertmanagers_order() {
    let Some(p) = Pair::start(config).await else {
        return;
    };
    // 1,000 groups of one alert each (`...`), and one group of 60 alerts notified with
    // max_alerts 7.
    let alert = |ls: BTreeMap<String, String>| json!({"labels": ls, "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z"});
    let groups: Vec<Value> = generate(0x5eed, 1000, &[]).into_iter().map(alert).collect();
    // A recent start, so group_wait holds the group until the whole POST is in (Alertmanager
    // flushes an older alert at once, before the rest of its POST reaches the group).
    let now = tocsin::clock::now().to_string();
    let order: Vec<Value> = generate(0xfeed, 60, &[("alertname", "Order")])
        .into_iter()
        .map(|ls| json!({"labels": ls, "startsAt": now, "endsAt": "2099-01-01T00:00:00Z"}))
        .collect();
    for chunk in groups.chunks(250) {
        p.post(&Value::Array(chunk.to_vec())).await;
    }
    p.post(&Value::Array(order)).await;
    p.wait_for(1).await;

    let [am, tocsin] = p.bases();
    let shape = |v: &Value| -> Vec<(Value, Value, Vec<Value>)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let alerts = g["alerts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| json!([a["labels"], a["receivers"]]))
                    .collect();
                (g["labels"].clone(), g["receiver"]["name"].clone(), alerts)
            })
            .collect()
    };
    let want = shape(&get(&am, "/api/v2/alerts/groups").await);
    let got = shape(&get(&tocsin, "/api/v2/alerts/groups").await);
    assert_eq!(want.len(), 1001);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "group {i} differs");
    }
    assert_eq!(got.len(), want.len());

    // The notification: the same 7 alerts, in the same order, the same common labels.
    let pick = |v: &Value| {
        json!([
            v["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["labels"].clone())
                .collect::<Vec<_>>(),
            v["truncatedAlerts"],
            v["commonLabels"]
        ])
    };
    let a = pick(&p.am_hook.received()[0].body);
    let t = pick(&p.tocsin_hook.received()[0].body);
    assert_eq!(
        t, a,
        "the notification keeps the same alerts in the same order"
    );
}
