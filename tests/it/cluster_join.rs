//! The cluster grows and talks to real services: a DNS change adds a fourth peer, which joins,
//! receives the state (silences, the notification log) and takes part in the send claims;
//! three peers page PagerDuty and open Zendesk tickets through the strict fakes once: one
//! incident (one trigger, one resolve), one ticket (opened, then solved).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::support::fake_pagerduty::FakePagerDuty;
use crate::support::fake_webhook::FakeWebhook;
use crate::support::fake_zendesk::FakeZendesk;
use crate::support::peers::{NAMES, Peers, claim_counts};

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:02}")).collect()
}

/// 200 answers per group key among the webhook's requests whose group key names `prefix`.
fn per_group(webhook: &FakeWebhook, prefix: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in webhook.received() {
        let g = r.body["groupKey"].as_str().unwrap_or("").to_owned();
        if r.status == 200 && g.contains(&format!("alertname=\"{prefix}")) {
            *out.entry(g).or_default() += 1;
        }
    }
    out
}

#[tokio::test]
async fn a_dns_change_adds_a_fourth_peer_that_catches_up_and_takes_part_in_claims() {
    let webhook = FakeWebhook::start().await;
    let config = format!(
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 10m\n  repeat_interval: 1h\nreceivers:\n- name: r\n  webhook_configs:\n  - url: {}\n",
        webhook.url()
    );
    let mut peers = Peers::start(config, "2s").await;
    peers.post(&names("Before", 10)).await;
    peers.wait_settled(10, || webhook.received().len()).await;
    let id = peers
        .silence(0, "Muted", "made before the fourth peer")
        .await;
    let c = reqwest::Client::new();

    // The SRV record now lists a fourth port; its peer (named to sort first) starts.
    let new = peers.add();
    for i in 0..4 {
        peers.wait_members(i, &NAMES).await;
    }
    // It receives the state: the log of what was sent, and the silence.
    let fresh = peers.peer(new);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = fresh.get_json("/api/tocsin/v1/notifications").await;
        let entries = log.as_array().map_or(0, Vec::len);
        let status = c
            .get(fresh.url(&format!("/api/v2/silence/{id}")))
            .send()
            .await
            .unwrap()
            .status();
        if entries == 10 && status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new peer holds {entries} of 10 log entries, silence {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // New alerts on all four (the new peer first): each group is sent once, through claims
    // the new peer takes part in (it sorts first, so it wins the simultaneous ones).
    let alerts: Vec<serde_json::Value> = names("After", 10)
        .iter()
        .map(|n| json!({"labels": {"alertname": n, "job": "t"}}))
        .collect();
    for i in [3, 0, 1, 2] {
        let r = c
            .post(peers.peer(i).url("/api/v2/alerts"))
            .json(&alerts)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while per_group(&webhook, "After").len() < 10 {
        assert!(
            Instant::now() < deadline,
            "groups sent: {:?}",
            per_group(&webhook, "After")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = peers.wait_settled(10, || webhook.received().len()).await;
    let got = per_group(&webhook, "After");
    assert!(got.values().all(|n| *n == 1), "duplicates: {got:?}");
    let mine = claim_counts(&peers.peer(new).metrics().await);
    assert_eq!(
        mine.values().sum::<u64>(),
        10,
        "the new peer decided each group through a claim: {mine:?}; all {all:?}"
    );
    assert!(
        mine.get("sent").copied().unwrap_or(0) > 0,
        "the new peer sent none: {mine:?}; all {all:?}"
    );
}

#[tokio::test]
async fn three_peers_open_one_pagerduty_incident_and_one_zendesk_ticket() {
    let pd = FakePagerDuty::start().await;
    let zd = FakeZendesk::start().await;
    let config = format!(
        r#"
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: oncall
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        url: {}
    zendesk_configs:
      - api_url: {}
        email: {}
        api_token: {}
"#,
        pd.url(),
        zd.url(),
        zd.email,
        zd.token
    );
    let peers = Peers::start(config, "2s").await;
    let now = tocsin::clock::now();
    let alert = |ends: jiff::Timestamp| {
        json!([{"labels": {"alertname": "DiskFull", "severity": "critical"},
                "startsAt": now.to_string(), "endsAt": ends.to_string()}])
    };
    peers
        .post_alerts(&alert(now + jiff::SignedDuration::from_hours(1)))
        .await;
    let within = Duration::from_secs(30);
    pd.wait_accepted(1, within).await;
    let deadline = Instant::now() + within;
    while zd.tickets().is_empty() {
        assert!(Instant::now() < deadline, "no ticket: {:#?}", zd.requests());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = || pd.events().len() + zd.requests().len();
    peers.wait_settled(1, sent).await;

    // The resolve, posted to every peer: one resolve event, the one ticket solved.
    peers.post_alerts(&alert(tocsin::clock::now())).await;
    let deadline = Instant::now() + within;
    loop {
        let resolved = pd.incidents().values().flatten().any(|i| !i.open);
        let solved = zd.tickets().iter().any(|t| t.status == "solved");
        if resolved && solved {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "incidents {:#?}; tickets {:#?}",
            pd.incidents(),
            zd.tickets()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let claims = peers.wait_settled(2, sent).await;

    let incidents = pd.incidents();
    assert_eq!(incidents.len(), 1, "one dedup key: {incidents:#?}");
    let (_, history) = incidents.iter().next().unwrap();
    assert_eq!(history.len(), 1, "one incident: {history:#?}");
    assert_eq!(
        (history[0].triggers, history[0].resolves, history[0].open),
        (1, 1, false),
        "one trigger, one resolve; claims {claims:?}"
    );
    assert_eq!(pd.accepted().len(), 2, "{:#?}", pd.events());
    let tickets = zd.tickets();
    assert_eq!(tickets.len(), 1, "one ticket: {tickets:#?}");
    assert_eq!(tickets[0].status, "solved");
    let writes: Vec<_> = zd
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(writes.len(), 2, "one create, one update: {writes:#?}");
    // Every peer's history traces the ticket and the incident, whichever peer sent them.
    let ticket = tickets[0].id.to_string();
    let dedup_key = &incidents.keys().next().unwrap().1;
    for (i, d) in peers.live().enumerate() {
        let h = d
            .get_json("/api/tocsin/v1/notifications?view=history&receiver=oncall")
            .await;
        let zendesk: Vec<&serde_json::Value> = h
            .as_array()
            .expect("a list")
            .iter()
            .filter(|r| r["integration"] == "zendesk")
            .collect();
        assert_eq!(zendesk.len(), 2, "peer {i}: firing and resolved: {h:#}");
        for r in zendesk {
            assert_eq!(r["outcome"], "delivered", "peer {i}: {r:#}");
            assert_eq!(
                r["serviceIds"]["ticket_id"],
                ticket.as_str(),
                "peer {i}: {r:#}"
            );
        }
        let pagerduty: Vec<&serde_json::Value> = h
            .as_array()
            .expect("a list")
            .iter()
            .filter(|r| r["integration"] == "pagerduty")
            .collect();
        assert_eq!(pagerduty.len(), 2, "peer {i}: trigger and resolve: {h:#}");
        for r in pagerduty {
            assert_eq!(r["outcome"], "delivered", "peer {i}: {r:#}");
            assert_eq!(
                r["serviceIds"]["dedup_key"],
                dedup_key.as_str(),
                "peer {i}: {r:#}"
            );
        }
    }
}
