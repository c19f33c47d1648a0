//! SIGTERM with notifications in flight, through the real binary and a slow webhook: a send
//! that finishes within `--web.shutdown-timeout` is waited for (and so not repeated after the
//! restart); one that does not is cut off at the deadline and sent again after the restart.

use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually};
use crate::support::fake_webhook::{FakeWebhook, Received};

const CONFIG: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: HOOK
"#;

async fn fire(d: &Daemon, name: &str) {
    let body = json!([{"labels": {"alertname": name}}]);
    let status = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .timeout(Duration::from_secs(10))
        .json(&body)
        .send()
        .await
        .expect("answered")
        .status();
    assert_eq!(status, 200);
}

fn named(got: &[Received], name: &str) -> usize {
    got.iter()
        .filter(|r| r.body["commonLabels"]["alertname"] == name)
        .count()
}

// Two workers: the fake answers while this test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_a_slow_send_to_finish() {
    let hook = FakeWebhook::start().await;
    hook.set_delay(Duration::from_secs(2));
    let mut d = Daemon::start_with(
        &CONFIG.replace("HOOK", &hook.url()),
        &["--web.shutdown-timeout=30s"],
    );
    fire(&d, "Slow").await;
    // The request is at the receiver, its answer 2 s away, when the signal comes.
    hook.wait_for(1, Duration::from_secs(10)).await;
    let signalled = tokio::time::Instant::now();
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(30)), Some(0));
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(25),
        "exited {took:?} after SIGTERM: the receiver answered 2 s after the request came"
    );
    // After the restart, a new group is notified; the slow one was delivered before the exit
    // and is not sent again.
    hook.set_delay(Duration::ZERO);
    let d = d.restart();
    fire(&d, "Barrier").await;
    let barrier = eventually(Duration::from_secs(20), || {
        named(&hook.received(), "Barrier") == 1
    })
    .await;
    let got = hook.received();
    assert!(barrier, "{got:#?}");
    assert_eq!(named(&got, "Slow"), 1, "not sent again: {got:#?}");
}

#[tokio::test]
async fn a_send_cut_off_by_the_shutdown_deadline_goes_again_after_the_restart() {
    let hook = FakeWebhook::start().await;
    hook.set_delay(Duration::from_secs(3600));
    let mut d = Daemon::start_with(
        &CONFIG.replace("HOOK", &hook.url()),
        &["--web.shutdown-timeout=1s"],
    );
    fire(&d, "Stuck").await;
    hook.wait_for(1, Duration::from_secs(10)).await;
    let signalled = tokio::time::Instant::now();
    d.signal("TERM");
    // The drain is bounded by the deadline (plus the store's close), not by the receiver.
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    assert!(signalled.elapsed() < Duration::from_secs(15));
    hook.set_delay(Duration::ZERO);
    let d = d.restart();
    let again = eventually(Duration::from_secs(20), || {
        named(&hook.received(), "Stuck") >= 2
    })
    .await;
    assert!(
        again,
        "sent again after the restart: {:#?}",
        hook.received()
    );
    drop(d);
}
