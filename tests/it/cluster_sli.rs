//! The page-delivery SLI in a cluster of three real peers: a notification one peer delivered
//! counts once for the cluster, on every peer. Each peer's metrics and
//! `GET /api/tocsin/v1/delivery` give the cluster's figure (due, delivered, suppressed), and the
//! sends counted as their own (`reason=""`) add up, over the peers, to what the receiver got.

use crate::support::fake_webhook::FakeWebhook;
use crate::support::peers::{Peers, metric_sum};

#[tokio::test]
async fn every_peer_counts_each_notification_of_the_cluster_once() {
    let webhook = FakeWebhook::start().await;
    let config = format!(
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 10m\n  repeat_interval: 1h\nreceivers:\n- name: r\n  webhook_configs:\n  - url: {}\n",
        webhook.url()
    );
    let peers = Peers::start(config, "2s").await;
    // One group held back by a silence made on one peer (replicated before the alerts come).
    peers
        .silence(0, "Muted", "one suppressed notification")
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    for i in 1..3 {
        while peers
            .peer(i)
            .get_json("/api/v2/silences")
            .await
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "silence not replicated"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let mut names: Vec<String> = (0..10).map(|i| format!("Sli{i:02}")).collect();
    names.push("Muted".into());
    peers.post(&names).await;
    peers.wait_settled(11, || webhook.received().len()).await;
    assert_eq!(webhook.received().len(), 10, "each group sent once");

    let mut own = 0.0;
    for (i, d) in peers.live().enumerate() {
        let m = d.metrics().await;
        let due = metric_sum(&m, "tocsin_notifications_due_total{receiver=\"r\"");
        let outcome = |o: &str| {
            metric_sum(
                &m,
                &format!(
                    "tocsin_notifications_outcome_total{{receiver=\"r\",integration=\"webhook\",kind=\"firing\",outcome=\"{o}"
                ),
            )
        };
        assert_eq!(due, 11.0, "peer {i}: due\n{m}");
        assert_eq!(outcome("delivered"), 10.0, "peer {i}: delivered\n{m}");
        assert_eq!(outcome("suppressed"), 1.0, "peer {i}: suppressed\n{m}");
        own += outcome("delivered\",reason=\"\"}");
        let v = d.get_json("/api/tocsin/v1/delivery?receiver=r").await;
        assert_eq!(
            (&v["due"], &v["delivered"], &v["suppressed"], &v["pending"]),
            (
                &serde_json::json!(11),
                &serde_json::json!(10),
                &serde_json::json!(1),
                &serde_json::json!(0)
            ),
            "peer {i}: {v:#}"
        );
    }
    assert_eq!(own, 10.0, "sends counted as a peer's own, over the peers");
}
