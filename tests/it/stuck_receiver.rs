//! A webhook receiver whose first request never gets an answer (the connection stays open),
//! side by side with Alertmanager 0.25: the group is not frozen; the current state reaches the
//! receiver, and the resolve after it.

use serde_json::json;

use crate::support::fake_webhook::Answer;
use crate::support::pair::{Pair, end_after, whole_second};

fn config(hook: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: '{hook}'}}]\n"
    )
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_freeze_its_group() {
    let Some(p) = Pair::start_with(config, &["--notify.max-retry-duration=5s"]).await else {
        return;
    };
    let hang = Answer {
        status: Answer::HANG,
        retry_after: None,
    };
    p.am_hook.script(&[hang]);
    p.tocsin_hook.script(&[hang]);
    let start = whole_second();
    let alert = |id: &str, ends: &str| json!({"labels": {"alertname": "Disk", "id": id}, "startsAt": start.to_string(), "endsAt": ends});
    p.post(&json!([alert("a", "2099-01-01T00:00:00Z")])).await;
    p.wait_for(1).await; // the request that hangs
    p.post(&json!([alert("b", "2099-01-01T00:00:00Z")])).await;
    // Alertmanager abandons the hung request at its flush deadline (10 s) and sends the group as
    // it is then; tocsin sends the newer state at the next tick.
    p.wait_for(2).await;
    p.post(&json!([alert("a", &end_after(start).await)])).await;
    p.wait_for(3).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    p.assert_same().await;
    let log = p.tocsin.log_text();
    assert!(
        log.contains("Notify abandoned"),
        "the abandoned request is logged: {log}"
    );
}
