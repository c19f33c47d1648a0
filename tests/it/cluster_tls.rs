//! Three real peers with mutual TLS between them (`--cluster.tls-config` and no key file;
//! certificates made by the test, found through the test DNS server): they form one cluster
//! over TCP, a silence made on one applies on the others, a group is notified once, a peer
//! killed and restarted empty is dialled again and catches up; a fourth
//! peer whose certificate another CA signed is refused by all (logged with its address, once
//! however often it retries; counted) and admitted by nobody.

use std::time::Duration;

use tokio::time::Instant;

use crate::support::daemon::Daemon;
use crate::support::fake_webhook::FakeWebhook;
use crate::support::peers::{NAMES, Peers, metric_sum};

/// Polls `cond` on `d` every 50 ms for at most `within`; panics naming `what` with its log.
async fn wait(d: &Daemon, what: &str, within: Duration, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond().await {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what}; log:\n{}",
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The names `/api/v2/status` lists as members.
async fn members(d: &Daemon) -> Vec<String> {
    d.get_json("/api/v2/status").await["cluster"]["peers"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn three_tls_peers_form_a_cluster_and_refuse_another_cas_peer() {
    let webhook = FakeWebhook::start().await;
    let config = format!(
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 10m\n  repeat_interval: 1h\nreceivers:\n- name: r\n  webhook_configs:\n  - url: {}\n",
        webhook.url()
    );
    // Returns once each of the three lists all three as members, ready.
    let mut peers = Peers::start_tls(config, "2s").await;
    let p0 = peers.peer(0);
    assert!(
        p0.log_text().contains("TCP+TLS"),
        "not over TLS:\n{}",
        p0.log_text()
    );
    let m = p0.metrics().await;
    for name in [
        "alertmanager_tls_transport_packet_bytes_sent_total ",
        "alertmanager_tls_transport_packet_bytes_received_total ",
    ] {
        assert!(metric_sum(&m, name) > 0.0, "{name} in:\n{m}");
    }

    // A silence made on peer 1 is in force on 0 and 2.
    let id = peers.silence(1, "Muted", "over TLS").await;
    for i in [0, 2] {
        let d = peers.peer(i);
        wait(
            d,
            "the silence replicated",
            Duration::from_secs(5),
            async || {
                reqwest::get(d.url(&format!("/api/v2/silence/{id}")))
                    .await
                    .is_ok_and(|r| r.status() == 200)
            },
        )
        .await;
    }

    // The same two alerts on every peer: the silenced one is suppressed everywhere, the other
    // group notified once.
    peers.post(&["Muted".to_owned(), "Page".to_owned()]).await;
    for d in peers.live() {
        wait(
            d,
            "the alert silenced",
            Duration::from_secs(5),
            async || {
                let a = d
                    .get_json("/api/v2/alerts?filter=alertname%3D%22Muted%22")
                    .await;
                a[0]["status"]["state"] == "suppressed"
                    && a[0]["status"]["silencedBy"][0] == id.as_str()
            },
        )
        .await;
    }
    let claims = peers.wait_settled(1, || webhook.received().len()).await;
    let got = webhook.received();
    assert_eq!(got.len(), 1, "claims {claims:?}; requests: {got:?}");
    assert!(
        got[0].body["groupKey"]
            .as_str()
            .is_some_and(|g| g.contains("Page")),
        "{:?}",
        got[0].body
    );

    // Peer 2 is killed and comes back empty on its port: the others dial it again (their kept
    // connections to it died with it) and it catches up with a silence made while it was away.
    peers.peers[2] = None;
    let later = peers
        .silence(0, "Later", "made while peer 2 was away")
        .await;
    peers.peers[2] = Some(peers.spawn(2));
    for i in 0..3 {
        peers.wait_members(i, &NAMES[..3]).await;
    }
    let back = peers.peer(2);
    wait(
        back,
        "the silence caught up",
        Duration::from_secs(10),
        async || {
            reqwest::get(back.url(&format!("/api/v2/silence/{later}")))
                .await
                .is_ok_and(|r| r.status() == 200)
        },
    )
    .await;

    // A fourth peer behind the same DNS name, its certificate signed by another CA.
    let s = peers.add_stranger();
    let p0 = peers.peer(0);
    wait(
        p0,
        "the stranger refused",
        Duration::from_secs(20),
        async || {
            p0.log_text()
                .lines()
                .any(|l| l.contains("Refused a cluster connection: TLS handshake failed"))
        },
    )
    .await;
    let line = p0
        .log_text()
        .lines()
        .find(|l| l.contains("Refused a cluster connection"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.contains("127.0.0.1:") && line.to_lowercase().contains("certificate"),
        "the refusal names the peer's address and the TLS error: {line}"
    );
    let m = p0.metrics().await;
    assert!(
        metric_sum(&m, "tocsin_cluster_tls_handshakes_refused_total ") >= 1.0
            && metric_sum(&m, "alertmanager_tls_transport_read_errors_total ") >= 1.0,
        "refusals not counted:\n{m}"
    );
    // Two more seconds of gossip rounds, sampled: nobody ever admits it (a sample may miss a
    // peer a loaded machine made look dead for a moment, never show the stranger), and in the
    // end each of the three lists the three.
    let three = {
        let mut n = NAMES[..3].to_vec();
        n.sort_unstable();
        n
    };
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        for i in 0..3 {
            let m = members(peers.peer(i)).await;
            assert!(
                !m.iter().any(|n| n == NAMES[s]),
                "peer {i} admitted it: {m:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..3 {
        peers.wait_members(i, &three).await;
    }
    // Its retries every gossip round are logged once a minute, not each time.
    let refusals = p0
        .log_text()
        .lines()
        .filter(|l| l.contains("Refused a cluster connection"))
        .count();
    assert_eq!(refusals, 1, "{}", p0.log_text());
    let stranger = peers.peer(s);
    // Its side says why: our peers' TLS alert.
    assert!(
        stranger
            .log_text()
            .lines()
            .any(|l| l.contains("Cluster connection closed") && l.contains("fatal alert")),
        "{}",
        stranger.log_text()
    );
    assert_eq!(members(stranger).await, [NAMES[s]]);
    let r = reqwest::get(stranger.url(&format!("/api/v2/silence/{id}")))
        .await
        .unwrap();
    let status = r.status();
    assert_eq!(
        status,
        404,
        "the stranger must not learn the silence: {}; its log:\n{}",
        r.text().await.unwrap_or_default(),
        stranger.log_text()
    );
}
