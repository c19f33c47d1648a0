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
            send_resolved_when_muted: true,
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

/// A config with several receivers; every receiver hands its notifications to one channel
/// (`NotificationData::receiver` tells them apart).
fn tree(yaml: &str) -> Arc<RouteTree> {
    let cfg = Config::from_yaml(yaml, std::path::Path::new("."), "test.yml").expect("valid");
    Arc::new(RouteTree::new(&cfg.route))
}

fn multi_notifier(
    names: &[&str],
    tx: &mpsc::UnboundedSender<NotificationData>,
    nflog: &Arc<Nflog>,
    cancel: &CancellationToken,
) -> Arc<Notifier> {
    Arc::new(Notifier::new(
        names
            .iter()
            .map(|n| ReceiverRuntime {
                name: Arc::from(*n),
                integrations: vec![Integration::channel(tx.clone(), true)],
                send_resolved_when_muted: true,
            })
            .collect(),
        Arc::clone(nflog),
        Arc::new(Metrics::new()),
        NotifySettings {
            external_url: "http://tocsin".into(),
            max_retry: StdDuration::from_secs(60),
            retention: SignedDuration::from_hours(120),
        },
        cancel.clone(),
    ))
}

/// A dispatcher over `yaml` whose receivers share one channel and one notification log (a
/// reload keeps the log, as the app does).
struct Multi {
    d: Dispatcher,
    rx: mpsc::UnboundedReceiver<NotificationData>,
    tx: mpsc::UnboundedSender<NotificationData>,
    nflog: Arc<Nflog>,
    cancel: CancellationToken,
    names: Vec<&'static str>,
    t0: tokio::time::Instant,
}

impl Multi {
    fn new(yaml: &str, names: &[&'static str]) -> Multi {
        let (tx, rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let nflog = Arc::new(Nflog::new());
        let d = Dispatcher::new(
            tree(yaml),
            multi_notifier(names, &tx, &nflog, &cancel),
            Arc::new(Metrics::new()),
            cancel.clone(),
        );
        tokio::spawn(d.clone().run());
        Multi {
            d,
            rx,
            tx,
            nflog,
            cancel,
            names: names.to_vec(),
            t0: tokio::time::Instant::now(),
        }
    }

    fn reload(&self, yaml: &str, stored: &[Arc<Alert>]) {
        let n = multi_notifier(&self.names, &self.tx, &self.nflog, &self.cancel);
        self.d.reload(tree(yaml), n, stored);
    }

    /// The next notification: (second, receiver, status, alertnames with their status).
    async fn next(&mut self) -> (f64, String, &'static str, Vec<String>) {
        let n = tokio::time::timeout(StdDuration::from_secs(86_400), self.rx.recv())
            .await
            .expect("a notification within a day")
            .expect("notification");
        let alerts = n
            .alerts
            .iter()
            .map(|(a, resolved)| {
                format!(
                    "{}{}",
                    a.labels.get("id"),
                    if *resolved { ":resolved" } else { "" }
                )
            })
            .collect();
        (
            self.t0.elapsed().as_secs_f64(),
            n.receiver,
            n.status,
            alerts,
        )
    }

    async fn none_within(&mut self, secs: u64) {
        let r = tokio::time::timeout(StdDuration::from_secs(secs), self.rx.recv()).await;
        assert!(
            r.is_err(),
            "unexpected notification: {:?}",
            r.map(|n| n.map(|n| (n.receiver, n.status)))
        );
    }

    /// Receiver and alert ids of every group.
    fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = self
            .d
            .groups()
            .into_iter()
            .map(|g| {
                let mut ids: Vec<String> = g
                    .alerts
                    .iter()
                    .map(|a| a.labels.get("id").to_owned())
                    .collect();
                ids.sort();
                (g.receiver.to_string(), ids)
            })
            .collect();
        out.sort();
        out
    }
}

fn labelled(pairs: &[(&str, &str)], starts: Timestamp, ends: Timestamp) -> Arc<Alert> {
    let labels: LabelSet = pairs.iter().copied().collect();
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

const TWO_RECEIVERS: &str = "route:\n  receiver: old\n  group_by: [alertname]\n  group_wait: 10s\n  group_interval: 60s\n  repeat_interval: 10h\nreceivers: [{name: old}, {name: db}]\n";

const WITH_DB_CHILD: &str = "route:\n  receiver: old\n  group_by: [alertname]\n  group_wait: 10s\n  group_interval: 60s\n  repeat_interval: 10h\n  routes:\n    - receiver: db\n      matchers: [team=\"db\"]\nreceivers: [{name: old}, {name: db}]\n";

#[tokio::test(start_paused = true)]
async fn reload_moves_alerts_to_the_route_that_now_takes_them() {
    let mut m = Multi::new(TWO_RECEIVERS, &["old", "db"]);
    let a = labelled(
        &[("alertname", "Disk"), ("id", "a"), ("team", "db")],
        in_secs(0),
        in_secs(100_000),
    );
    let b = labelled(
        &[("alertname", "Disk"), ("id", "b"), ("team", "web")],
        in_secs(0),
        in_secs(100_000),
    );
    m.d.ingest(&[Arc::clone(&a), Arc::clone(&b)]);
    let (_, rcv, _, ids) = m.next().await;
    assert_eq!(
        (rcv.as_str(), ids),
        ("old", vec!["a".to_owned(), "b".to_owned()])
    );
    tokio::time::sleep(StdDuration::from_secs(20)).await;
    m.reload(WITH_DB_CHILD, &[Arc::clone(&a), Arc::clone(&b)]);
    // `a` moves to db at once (it is older than group_wait); old keeps only `b`.
    let (t, rcv, status, ids) = m.next().await;
    assert!(near(t, 30.0), "{t}");
    assert_eq!(
        (rcv.as_str(), status, ids),
        ("db", "firing", vec!["a".to_owned()])
    );
    assert_eq!(
        m.groups(),
        [
            ("db".to_owned(), vec!["a".to_owned()]),
            ("old".to_owned(), vec!["b".to_owned()])
        ]
    );
    // The resolve goes to db, the route that has the alert now; old hears nothing more.
    let resolved = labelled(
        &[("alertname", "Disk"), ("id", "a"), ("team", "db")],
        in_secs(-30),
        in_secs(0),
    );
    m.d.ingest(&[resolved]);
    let (_, rcv, status, ids) = m.next().await;
    assert_eq!(
        (rcv.as_str(), status, ids),
        ("db", "resolved", vec!["a:resolved".to_owned()])
    );
    m.none_within(7200).await;
}

#[tokio::test(start_paused = true)]
async fn reload_follows_a_flipped_continue() {
    let conf = |cont: bool| {
        format!(
            "route:\n  receiver: old\n  group_by: [alertname]\n  group_wait: 10s\n  group_interval: 60s\n  repeat_interval: 10h\n  routes:\n    - receiver: first\n      matchers: [team=\"db\"]\n      continue: {cont}\n    - receiver: db\n      matchers: [team=\"db\"]\nreceivers: [{{name: old}}, {{name: first}}, {{name: db}}]\n"
        )
    };
    let mut m = Multi::new(&conf(false), &["old", "first", "db"]);
    let a = labelled(
        &[("alertname", "Disk"), ("id", "a"), ("team", "db")],
        in_secs(0),
        in_secs(100_000),
    );
    m.d.ingest(&[Arc::clone(&a)]);
    let (_, rcv, _, _) = m.next().await;
    assert_eq!(rcv, "first");
    m.reload(&conf(true), &[Arc::clone(&a)]);
    let (_, rcv, _, _) = m.next().await;
    assert_eq!(rcv, "db", "with continue the next sibling takes it too");
    assert_eq!(
        m.groups(),
        [
            ("db".to_owned(), vec!["a".to_owned()]),
            ("first".to_owned(), vec!["a".to_owned()])
        ]
    );
    m.reload(&conf(false), &[Arc::clone(&a)]);
    assert_eq!(
        m.groups(),
        [("first".to_owned(), vec!["a".to_owned()])],
        "and leaves without it"
    );
    m.none_within(7200).await;
}

#[tokio::test(start_paused = true)]
async fn reload_carries_a_pending_resolve_into_the_new_group() {
    let mut m = Multi::new(TWO_RECEIVERS, &["old", "db"]);
    let a = labelled(
        &[("alertname", "Disk"), ("id", "a")],
        in_secs(0),
        in_secs(100_000),
    );
    m.d.ingest(&[Arc::clone(&a)]);
    m.next().await;
    tokio::time::sleep(StdDuration::from_secs(20)).await;
    let resolved = labelled(
        &[("alertname", "Disk"), ("id", "a")],
        in_secs(-20),
        in_secs(0),
    );
    m.d.ingest(&[Arc::clone(&resolved)]);
    // group_interval changes before the tick that would send the resolve.
    m.reload(
        &TWO_RECEIVERS.replace("group_interval: 60s", "group_interval: 90s"),
        &[resolved],
    );
    let (t, rcv, status, ids) = m.next().await;
    assert!(near(t, 30.0), "sent at once from the new group, got {t}");
    assert_eq!(
        (rcv.as_str(), status, ids),
        ("old", "resolved", vec!["a:resolved".to_owned()])
    );
    tokio::task::yield_now().await;
    assert!(m.groups().is_empty());
    m.none_within(7200).await;
}

/// A reload routes the store's content as read before it; a newer version ingested meanwhile
/// must win, whether the group survives the reload or not.
#[tokio::test(start_paused = true)]
async fn reload_never_brings_back_an_older_version() {
    for new_tree in [
        TWO_RECEIVERS.to_owned(),
        TWO_RECEIVERS.replace("60s", "61s"),
    ] {
        let mut m = Multi::new(TWO_RECEIVERS, &["old", "db"]);
        let firing = labelled(
            &[("alertname", "Disk"), ("id", "a")],
            in_secs(0),
            in_secs(100_000),
        );
        m.d.ingest(&[Arc::clone(&firing)]);
        m.next().await;
        tokio::time::sleep(StdDuration::from_secs(20)).await;
        let snapshot = vec![Arc::clone(&firing)];
        let resolved = labelled(
            &[("alertname", "Disk"), ("id", "a")],
            in_secs(-20),
            in_secs(0),
        );
        m.d.ingest(&[resolved]);
        m.reload(&new_tree, &snapshot);
        let (_, _, status, _) = m.next().await;
        assert_eq!(
            status, "resolved",
            "the resolve survives a reload ({new_tree})"
        );
        m.none_within(7200).await;
    }
}

/// Out-of-order ingest of two versions of one alert keeps the newer.
#[tokio::test(start_paused = true)]
async fn ingest_keeps_the_newer_version() {
    let mut m = Multi::new(TWO_RECEIVERS, &["old", "db"]);
    let firing = labelled(
        &[("alertname", "Disk"), ("id", "a")],
        in_secs(0),
        in_secs(100_000),
    );
    m.d.ingest(&[Arc::clone(&firing)]);
    m.next().await;
    tokio::time::sleep(StdDuration::from_secs(20)).await;
    let resolved = labelled(
        &[("alertname", "Disk"), ("id", "a")],
        in_secs(-20),
        in_secs(0),
    );
    m.d.ingest(&[resolved]);
    m.d.ingest(&[firing]);
    let (_, _, status, _) = m.next().await;
    assert_eq!(status, "resolved");
}

/// A dispatcher over `route` whose only integration never answers its first `hang` requests.
fn stalling_rig(route: Route, hang: usize, max_retry: StdDuration) -> Rig {
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let notifier = Notifier::new(
        vec![ReceiverRuntime {
            name: Arc::from("r"),
            integrations: vec![Integration::stalling(tx, hang)],
            send_resolved_when_muted: true,
        }],
        Arc::new(Nflog::new()),
        Arc::new(Metrics::new()),
        NotifySettings {
            external_url: "http://tocsin".into(),
            max_retry,
            retention: SignedDuration::from_hours(120),
        },
        cancel.clone(),
    );
    let d = Dispatcher::new(
        Arc::new(RouteTree::new(&route)),
        Arc::new(notifier),
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

impl Rig {
    /// [`Rig::next`], failing after a day of (paused) time instead of waiting forever.
    async fn within_a_day(&mut self) -> (f64, NotificationData) {
        tokio::time::timeout(StdDuration::from_secs(86_400), self.next())
            .await
            .expect("a notification within a day")
    }
}

/// A request nobody answers fails at its deadline (the group interval, at least 10 s) and is
/// retried; the group is not stuck.
#[tokio::test(start_paused = true)]
async fn a_receiver_that_never_answers_costs_one_attempt() {
    let mut r = stalling_rig(root(10, 60, 36_000), 1, StdDuration::from_secs(900));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    let (t, n) = r.within_a_day().await;
    assert!(
        (70.0..72.0).contains(&t),
        "retried after the 60 s deadline, got {t}"
    );
    assert_eq!(n.reason, "first notification");
    r.none_within(7200).await;
}

/// With `--notify.max-retry-duration` shorter than the deadline, the hung attempt ends with the
/// retry budget; the next tick sends again.
#[tokio::test(start_paused = true)]
async fn a_hung_attempt_ends_with_the_retry_budget() {
    let mut r = stalling_rig(root(10, 60, 36_000), 1, StdDuration::from_secs(5));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    let (t, _) = r.within_a_day().await;
    assert!(
        near(t, 70.0),
        "given up at 15 s, sent again at the 70 s tick, got {t}"
    );
}

/// A newer state of the group (an alert added) supersedes a flush whose request hangs: the new
/// state goes out at the next tick, and the abandoned request never delivers.
#[tokio::test(start_paused = true)]
async fn a_newer_state_supersedes_a_hung_flush() {
    let mut r = stalling_rig(root(10, 5, 36_000), 1, StdDuration::from_secs(900));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    tokio::time::sleep(StdDuration::from_secs(12)).await;
    let second = alert("A", in_secs(0), in_secs(100_000))
        .as_ref()
        .clone()
        .with_label("x", "1");
    r.d.ingest(&[Arc::new(second)]);
    let (t, n) = r.within_a_day().await;
    assert!(near(t, 15.0), "at the first tick after the change, got {t}");
    assert_eq!(n.alerts.len(), 2, "the new state");
    r.none_within(7200).await;
}

/// The same state waits for the flush in flight (no abandoned sends while a slow receiver
/// still answers in time).
#[tokio::test(start_paused = true)]
async fn the_same_state_waits_for_the_flush_in_flight() {
    let mut r = stalling_rig(root(10, 5, 36_000), 1, StdDuration::from_secs(900));
    r.d.ingest(&[alert("A", in_secs(0), in_secs(100_000))]);
    let (t, _) = r.within_a_day().await;
    assert!(
        (20.0..21.0).contains(&t),
        "the retry after the 10 s deadline, got {t}"
    );
    r.none_within(7200).await;
}
