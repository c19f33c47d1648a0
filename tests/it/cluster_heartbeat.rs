//! Heartbeat checks across three real peers: a cron job pings one peer (as through a load
//! balancer) and the others do not raise `HeartbeatMissing`; when the pings stop every peer
//! raises it and the receiver is told once; a ping to another peer resolves it everywhere, told
//! once; a peer that never got a ping itself keeps what it learned in its store.

use std::time::Duration;

use tokio::time::Instant;

use crate::support::fake_webhook::FakeWebhook;
use crate::support::peers::Peers;

fn config(webhook: &FakeWebhook) -> String {
    format!(
        "route:\n  receiver: r\n  group_by: [alertname, heartbeat]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: r\n  webhook_configs:\n  - url: {}\nheartbeats:\n- {{name: backup, period: 2s, grace: 2s}}\n",
        webhook.url()
    )
}

async fn ping(peers: &Peers, i: usize) {
    let r = reqwest::get(peers.peer(i).url("/ping/backup"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The check as peer `i` shows it.
async fn check(peers: &Peers, i: usize) -> serde_json::Value {
    peers
        .peer(i)
        .get_json("/api/tocsin/v1/heartbeats/backup")
        .await
}

/// Webhook requests about the check, by status (`firing`, `resolved`).
fn told(webhook: &FakeWebhook, status: &str) -> usize {
    webhook
        .received()
        .iter()
        .filter(|r| {
            r.status == 200
                && r.body["status"] == status
                && r.body["groupLabels"]["alertname"] == "HeartbeatMissing"
        })
        .count()
}

/// Polls until `f` holds on every running peer's view of the check.
async fn on_every_peer(peers: &Peers, what: &str, f: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut views = Vec::new();
        for i in 0..peers.peers.len() {
            if peers.peers[i].is_some() {
                views.push(check(peers, i).await);
            }
        }
        if views.iter().all(&f) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {views:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_ping_to_one_peer_counts_on_every_peer_and_heartbeat_alerts_are_told_once() {
    let webhook = FakeWebhook::start().await;
    let mut peers = Peers::start(config(&webhook), "2s").await;

    // The load balancer spreads the first pings: every peer has a deadline of its own.
    for i in 0..3 {
        ping(&peers, i).await;
    }
    on_every_peer(&peers, "up everywhere", |v| v["status"] == "up").await;

    // For 7 s (well past period + grace, 4 s) only peer-1 is pinged. Without replication
    // peer-2 and peer-3 would go down after 4 s.
    let until = Instant::now() + Duration::from_secs(7);
    let mut last = serde_json::Value::Null;
    while Instant::now() < until {
        ping(&peers, 0).await;
        last = check(&peers, 0).await["last_ping"].clone();
        for i in 0..3 {
            let v = check(&peers, i).await;
            assert_ne!(v["status"], "down", "peer {i} went down: {v:#}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    on_every_peer(&peers, "the last ping everywhere", |v| {
        v["last_ping"] == last
    })
    .await;
    assert_eq!(told(&webhook, "firing"), 0);

    // The pings stop: every peer raises HeartbeatMissing; the receiver hears it once.
    on_every_peer(&peers, "down everywhere", |v| {
        v["status"] == "down" && v["alert"] == "HeartbeatMissing"
    })
    .await;
    for d in peers.live() {
        let alerts = d
            .get_json("/api/v2/alerts?filter=alertname%3D%22HeartbeatMissing%22")
            .await;
        assert_eq!(alerts.as_array().map(Vec::len), Some(1), "{alerts:#}");
    }
    let c = peers.wait_settled(1, || webhook.received().len()).await;
    assert_eq!(told(&webhook, "firing"), 1, "claims {c:?}");

    // One ping to peer-2 resolves it on every peer; the receiver hears that once.
    ping(&peers, 1).await;
    on_every_peer(&peers, "resolved everywhere", |v| {
        v["status"] == "up" && v["alert"].is_null()
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while told(&webhook, "resolved") == 0 {
        assert!(Instant::now() < deadline, "the resolve was not sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let c = peers.wait_settled(1, || webhook.received().len()).await;
    assert_eq!(told(&webhook, "resolved"), 1, "claims {c:?}");
    assert_eq!(told(&webhook, "firing"), 1, "claims {c:?}");

    // Peer-3 never got a ping since the first: what it learned is in its own store. The others
    // stop, it stops (SIGTERM) and starts again alone on its store.
    let pinged = check(&peers, 1).await["last_ping"].clone();
    peers.peers[0] = None;
    peers.peers[1] = None;
    let mut p3 = peers.peers[2].take().unwrap();
    p3.signal("TERM");
    assert_eq!(p3.wait_exit(Duration::from_secs(20)), Some(0));
    peers.peers[2] = Some(p3.restart());
    let v = check(&peers, 2).await;
    assert_eq!(v["last_ping"], pinged, "{v:#}");
}
