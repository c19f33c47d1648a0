//! Timeline tests in paused time: group_wait, group_interval, exact repeat, resolve, old alerts,
//! alerts that fire and resolve inside group_wait, reload keeping timers.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Dispatcher, RouteTree};
use crate::clock;
use crate::config::{Config, Route};
use crate::metrics::Metrics;
use crate::model::{Alert, LabelSet};
use crate::nflog::Nflog;
use crate::notify::data::NotificationData;
use crate::notify::{Integration, Notifier, NotifySettings, ReceiverRuntime};

fn root(gw: u64, gi: u64, ri: u64) -> Route {
    let yaml = format!(
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: {gw}s\n  group_interval: {gi}s\n  repeat_interval: {ri}s\nreceivers:\n  - name: r\n"
    );
    Config::from_yaml(&yaml, std::path::Path::new("."), "test.yml")
        .expect("valid test config")
        .route
}

/// A dispatcher over a test route, its notifications on a channel.
pub(super) struct Rig {
    /// The dispatcher.
    pub(super) d: Dispatcher,
    /// What the receiver got.
    pub(super) rx: mpsc::UnboundedReceiver<NotificationData>,
    /// When the rig started (paused clock).
    pub(super) t0: tokio::time::Instant,
    /// Stops the scheduler.
    pub(super) cancel: CancellationToken,
}

pub(super) fn notifier(
    tx: mpsc::UnboundedSender<NotificationData>,
    cancel: &CancellationToken,
) -> Notifier {
    Notifier::new(
        vec![ReceiverRuntime {
            name: Arc::from("r"),
            integrations: vec![Integration::channel(tx, true)],
        }],
        Arc::new(Nflog::new()),
        Arc::new(Metrics::new()),
        NotifySettings {
            external_url: "http://tocsin".into(),
            max_retry: StdDuration::from_secs(60),
            retention: SignedDuration::from_hours(120),
        },
        cancel.clone(),
    )
}

fn rig(route: Route) -> Rig {
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let d = Dispatcher::new(
        Arc::new(RouteTree::new(&route)),
        Arc::new(notifier(tx, &cancel)),
        Arc::new(Metrics::new()),
        cancel.clone(),
    );
    tokio::spawn(d.clone().run());
    Rig {
        d,
        rx,
        t0: tokio::time::Instant::now(),
        cancel,
    }
}

pub(super) fn alert(name: &str, starts: Timestamp, ends: Timestamp) -> Arc<Alert> {
    let labels: LabelSet = [("alertname", name)].into_iter().collect();
    Arc::new(Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations: LabelSet::new(),
        starts_at: starts,
        ends_at: ends,
        generator_url: Arc::from(""),
        updated_at: clock::now(),
        timeout: false,
    })
}

fn in_secs(s: i64) -> Timestamp {
    clock::now() + SignedDuration::from_secs(s)
}

impl Rig {
    /// The next notification and the paused-clock second it arrived at.
    pub(super) async fn next(&mut self) -> (f64, NotificationData) {
        let n = self.rx.recv().await.expect("notification");
        (self.t0.elapsed().as_secs_f64(), n)
    }

    async fn none_within(&mut self, secs: u64) {
        let r = tokio::time::timeout(StdDuration::from_secs(secs), self.rx.recv()).await;
        assert!(
            r.is_err(),
            "unexpected notification: {:?}",
            r.map(|n| n.map(|n| n.reason))
        );
    }
}

fn near(t: f64, want: f64) -> bool {
    (t - want).abs() < 0.01
}

#[tokio::test(start_paused = true)]
async fn group_wait_then_group_interval_then_exact_repeat() {
    let mut r = rig(root(30, 300, 1000));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    let (t, n) = r.next().await;
    assert!(near(t, 30.0), "first flush after group_wait, got {t}");
    assert_eq!(n.reason, "first notification");
    // A second alert joins: notified at the next group_interval tick, not before.
    r.d.ingest(&[Arc::new(
        alert("A", in_secs(0), in_secs(100_000))
            .as_ref()
            .clone()
            .with_label("x", "1"),
    )]);
    let (t, n) = r.next().await;
    assert!(
        near(t, 330.0),
        "second flush at group_interval tick, got {t}"
    );
    assert_eq!(n.reason, "new alerts added");
    assert_eq!(n.alerts.len(), 2);
    // Exact repeat: 1000 s after the last send (at 330 s), not rounded to a tick (1530 s).
    let (t, n) = r.next().await;
    assert!(
        near(t, 1330.0),
        "repeat exactly at last send + repeat_interval, got {t}"
    );
    assert_eq!(n.reason, "repeat interval elapsed");
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn resolve_is_sent_and_group_destroyed() {
    let mut r = rig(root(10, 60, 3600));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    let (t, _) = r.next().await;
    assert!(near(t, 10.0), "{t}");
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    r.d.ingest(&[alert("A", in_secs(-15), in_secs(0))]);
    let (t, n) = r.next().await;
    assert!(near(t, 70.0), "resolve at the next tick, got {t}");
    assert_eq!(n.status, "resolved");
    assert_eq!(n.reason, "all alerts resolved");
    tokio::task::yield_now().await;
    assert!(
        r.d.groups().is_empty(),
        "the resolved alert left and the group was destroyed"
    );
    r.none_within(7200).await;
}

#[tokio::test(start_paused = true)]
async fn old_alert_flushes_at_once() {
    let mut r = rig(root(30, 300, 3600));
    r.d.ingest(&[alert("A", in_secs(-120), in_secs(100_000))]);
    let (t, _) = r.next().await;
    assert!(
        near(t, 0.0),
        "an alert older than group_wait flushes at once, got {t}"
    );
}

#[tokio::test(start_paused = true)]
async fn fire_and_resolve_inside_group_wait_never_notifies() {
    let mut r = rig(root(30, 300, 3600));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    tokio::time::sleep(StdDuration::from_secs(10)).await;
    r.d.ingest(&[alert("A", in_secs(-10), in_secs(0))]);
    r.none_within(1000).await;
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_groups_and_timers() {
    let mut r = rig(root(30, 300, 3600));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    let (t, _) = r.next().await;
    assert!(near(t, 30.0));
    tokio::time::sleep(StdDuration::from_secs(100)).await;
    let (tx, rx2) = mpsc::unbounded_channel();
    let alerts: Vec<_> = r.d.groups().into_iter().flat_map(|g| g.alerts).collect();
    r.d.reload(
        Arc::new(RouteTree::new(&root(30, 300, 3600))),
        Arc::new(notifier(tx, &r.cancel)),
        &alerts,
    );
    r.rx = rx2;
    // The unchanged group keeps its timer; with a fresh nflog in the new notifier the next tick
    // (330 s) re-announces, and nothing flushes at reload time.
    let (t, _) = r.next().await;
    assert!(near(t, 330.0), "kept cadence after reload, got {t}");
}
