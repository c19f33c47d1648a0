//! Timeline tests in paused time for silences and inhibition through the dispatcher and the
//! whole notify pipeline: a silence before, while and after firing; the notification when a
//! silence ends or is expired early (Alertmanager waits for the repeat interval); the resolve of
//! an alert silenced after it was announced (Alertmanager drops it), also past the notification
//! log's usual lifetime, and not with `send_resolved_when_muted: false`; inhibition with and
//! without `equal`, and the release when the source resolves.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Dispatcher, RouteTree};
use crate::clock;
use crate::config::{Config, InhibitRule, Route};
use crate::inhibit::Inhibitor;
use crate::metrics::Metrics;
use crate::model::{Alert, LabelSet, MatchType, Matcher};
use crate::nflog::Nflog;
use crate::notify::data::NotificationData;
use crate::notify::mute::{InhibitStage, MuteStages, SilenceStage};
use crate::notify::{Integration, Notifier, NotifySettings, ReceiverRuntime};
use crate::silence::{Limits, Silence, Silences};

const GROUP_WAIT: i64 = 30;
const GROUP_INTERVAL: i64 = 300;
const REPEAT: i64 = 1000;

fn route() -> Route {
    let yaml = format!(
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: {GROUP_WAIT}s\n  group_interval: {GROUP_INTERVAL}s\n  repeat_interval: {REPEAT}s\nreceivers:\n  - name: r\n"
    );
    Config::from_yaml(&yaml, std::path::Path::new("."), "test.yml")
        .expect("valid test config")
        .route
}

struct Rig {
    d: Dispatcher,
    rx: mpsc::UnboundedReceiver<NotificationData>,
    t0: tokio::time::Instant,
    silences: Arc<Silences>,
    inhibitor: Arc<Inhibitor>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
}

fn rig_with(rules: &[InhibitRule], resolve_muted: bool) -> Rig {
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let silences = Arc::new(Silences::new(
        SignedDuration::from_hours(120),
        Limits::default(),
    ));
    let inhibitor = Arc::new(Inhibitor::new(rules));
    let metrics = Arc::new(Metrics::new());
    let notifier = Notifier::new(
        vec![ReceiverRuntime {
            name: Arc::from("r"),
            integrations: vec![Integration::channel(tx, true)],
            send_resolved_when_muted: resolve_muted,
        }],
        Arc::new(Nflog::new()),
        Arc::clone(&metrics),
        NotifySettings {
            external_url: "http://tocsin".into(),
            max_retry: StdDuration::from_secs(60),
            retention: SignedDuration::from_hours(120),
        },
        cancel.clone(),
    )
    .with_mute_stages(MuteStages {
        inhibit: InhibitStage::new(Arc::clone(&inhibitor)),
        silence: SilenceStage::new(Arc::clone(&silences)),
        ..MuteStages::default()
    });
    let d = Dispatcher::new(
        Arc::new(RouteTree::new(&route())),
        Arc::new(notifier),
        Arc::new(Metrics::new()),
        cancel.clone(),
    );
    tokio::spawn(d.clone().run());
    Rig {
        d,
        rx,
        t0: tokio::time::Instant::now(),
        silences,
        inhibitor,
        metrics,
        cancel,
    }
}

fn rig() -> Rig {
    rig_with(&[], true)
}

fn at(s: i64) -> Timestamp {
    clock::now() + SignedDuration::from_secs(s)
}

fn alert(pairs: &[(&str, &str)], ends_in: i64) -> Arc<Alert> {
    let labels: LabelSet = pairs.iter().copied().collect();
    Arc::new(Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations: LabelSet::new(),
        starts_at: at(0),
        ends_at: at(ends_in),
        generator_url: Arc::from(""),
        updated_at: clock::now(),
        timeout: false,
    })
}

fn eq(n: &str, v: &str) -> Matcher {
    Matcher::new(n, MatchType::Equal, v).unwrap()
}

impl Rig {
    /// What the API does on POST /api/v2/alerts: observe for inhibition, route, release.
    fn ingest(&self, alerts: &[Arc<Alert>]) {
        let released = self.inhibitor.observe(alerts, clock::now());
        self.d.ingest(alerts);
        self.d.flush_released(&self.inhibitor, &released);
    }

    /// A silence of `alertname=name` for `secs` from now; its id.
    fn silence(&self, name: &str, secs: i64) -> Arc<str> {
        let now = clock::now();
        let s = Silence {
            id: Arc::from(""),
            matchers: vec![eq("alertname", name)],
            starts_at: now,
            ends_at: at(secs),
            updated_at: now,
            created_by: "me".into(),
            comment: "test".into(),
            annotations: LabelSet::new(),
        };
        self.silences.set(s, now).unwrap().0
    }

    /// What the API does on DELETE /api/v2/silence/{id}.
    fn expire(&self, id: &str) {
        self.silences.expire(id, clock::now()).unwrap();
        let s = self.silences.get(id).unwrap();
        self.d
            .flush_now_where(|g| g.alerts().any(|a| s.matches(&a.labels)));
    }

    async fn next(&mut self) -> (f64, NotificationData) {
        let n = self.rx.recv().await.expect("notification");
        (self.t0.elapsed().as_secs_f64(), n)
    }

    async fn none_until(&mut self, secs: f64) {
        let left = secs - self.t0.elapsed().as_secs_f64();
        let r =
            tokio::time::timeout(StdDuration::from_secs_f64(left.max(0.0)), self.rx.recv()).await;
        assert!(
            r.is_err(),
            "unexpected notification before {secs} s: {:?}",
            r.map(|n| n.map(|n| (n.reason, n.status)))
        );
    }

    async fn sleep_until(&self, secs: f64) {
        tokio::time::sleep_until(self.t0 + StdDuration::from_secs_f64(secs)).await;
    }

    fn suppressed(&self, reason: &str) -> u64 {
        let text = self.metrics.encode();
        let want = format!("alertmanager_notifications_suppressed_total{{reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&want)?.parse().ok())
            .unwrap_or(0)
    }
}

fn near(t: f64, want: f64) -> bool {
    (t - want).abs() < 0.05
}

#[tokio::test(start_paused = true)]
async fn silenced_before_firing_notifies_when_the_silence_ends() {
    let mut r = rig();
    r.silence("A", 2000);
    r.ingest(&[alert(&[("alertname", "A")], 100_000)]);
    r.none_until(1999.0).await;
    assert!(r.suppressed("silence") >= 1);
    // At the silence's end, not at the next tick (2130 s).
    let (t, n) = r.next().await;
    assert!(near(t, 2000.0), "notified when the silence ended, got {t}");
    assert_eq!(n.reason, "first notification");
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn silenced_while_firing_holds_repeats_and_renotifies_at_its_end() {
    let mut r = rig();
    r.ingest(&[alert(&[("alertname", "A")], 100_000)]);
    let (t, _) = r.next().await;
    assert!(near(t, 30.0), "{t}");
    r.sleep_until(100.0).await;
    r.silence("A", 1900); // ends at 2000 s
    // The repeat due at 1030 s is held back.
    r.none_until(1999.0).await;
    let (t, n) = r.next().await;
    assert!(near(t, 2000.0), "notified when the silence ended, got {t}");
    assert_eq!(n.reason, "silence ended");
    assert_eq!(n.status, "firing");
    // Then the repeat interval counts from there.
    let (t, n) = r.next().await;
    assert!(near(t, 3000.0), "{t}");
    assert_eq!(n.reason, "repeat interval elapsed");
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_silence_expired_early_notifies_at_once() {
    let mut r = rig();
    r.ingest(&[alert(&[("alertname", "A")], 100_000)]);
    let (t, _) = r.next().await;
    assert!(near(t, 30.0));
    r.sleep_until(40.0).await;
    let id = r.silence("A", 36_000);
    r.sleep_until(500.0).await;
    r.expire(&id);
    let (t, n) = r.next().await;
    assert!(near(t, 500.0), "notified right after the expiry, got {t}");
    assert_eq!(n.reason, "silence ended");
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn silenced_after_resolving_nothing_changes() {
    // A silence added after the resolve was sent: nothing more to say.
    let mut r = rig();
    r.ingest(&[alert(&[("alertname", "A")], 100)]);
    let (_, n) = r.next().await;
    assert_eq!(n.status, "firing");
    let (t, n) = r.next().await;
    assert!(near(t, 330.0), "{t}");
    assert_eq!(n.status, "resolved");
    r.silence("A", 3600);
    r.none_until(5000.0).await;
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_resolve_reaches_a_receiver_told_it_fired_even_if_silenced() {
    let mut r = rig();
    r.ingest(&[alert(&[("alertname", "A")], 100_000)]);
    let (t, _) = r.next().await;
    assert!(near(t, 30.0));
    r.sleep_until(60.0).await;
    // Silenced for far longer than the notification log keeps an entry (2 x repeat_interval).
    r.silence("A", 36_000);
    r.sleep_until(9_000.0).await;
    r.ingest(&[alert(&[("alertname", "A")], 0)]);
    let (t, n) = r.next().await;
    assert!(near(t, 9_030.0), "at the next tick, got {t}");
    assert_eq!(n.status, "resolved");
    assert_eq!(n.reason, "all alerts resolved");
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_resolve_of_a_silenced_alert_is_dropped_when_turned_off() {
    let mut r = rig_with(&[], false);
    r.ingest(&[alert(&[("alertname", "A")], 100_000)]);
    let (t, _) = r.next().await;
    assert!(near(t, 30.0));
    r.silence("A", 36_000);
    r.sleep_until(400.0).await;
    r.ingest(&[alert(&[("alertname", "A")], 0)]);
    r.none_until(5_000.0).await;
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_silenced_alert_never_announced_gets_no_resolve() {
    let mut r = rig();
    r.silence("A", 36_000);
    r.ingest(&[alert(&[("alertname", "A")], 100_000)]);
    r.sleep_until(100.0).await;
    r.ingest(&[alert(&[("alertname", "A")], 0)]);
    r.none_until(5_000.0).await;
    r.cancel.cancel();
}

fn rule(equal: &[&str]) -> InhibitRule {
    InhibitRule {
        name: None,
        source_matchers: vec![eq("severity", "critical")],
        target_matchers: vec![eq("severity", "warning")],
        equal: equal.iter().map(|s| s.to_string()).collect(),
    }
}

#[tokio::test(start_paused = true)]
async fn inhibition_with_equal_labels() {
    let mut r = rig_with(&[rule(&["cluster"])], true);
    r.ingest(&[alert(
        &[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "a"),
        ],
        100_000,
    )]);
    let (_, n) = r.next().await;
    assert_eq!(n.alerts[0].0.labels.get("alertname"), "Down");
    r.ingest(&[
        alert(
            &[
                ("alertname", "Slow"),
                ("severity", "warning"),
                ("cluster", "a"),
            ],
            100_000,
        ),
        alert(
            &[
                ("alertname", "Slow"),
                ("severity", "warning"),
                ("cluster", "b"),
            ],
            100_000,
        ),
    ]);
    let (t, n) = r.next().await;
    assert!(near(t, 60.0), "{t}");
    let clusters: Vec<&str> = n
        .alerts
        .iter()
        .map(|(a, _)| a.labels.get("cluster"))
        .collect();
    assert_eq!(clusters, ["b"], "cluster a is inhibited, cluster b is not");
    assert_eq!(r.suppressed("inhibition"), 1);
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn inhibition_without_equal_and_release_when_the_source_resolves() {
    let mut r = rig_with(&[rule(&[])], true);
    r.ingest(&[alert(
        &[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "a"),
        ],
        100_000,
    )]);
    let (_, n) = r.next().await;
    assert_eq!(n.alerts[0].0.labels.get("alertname"), "Down");
    r.ingest(&[alert(
        &[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "z"),
        ],
        100_000,
    )]);
    r.none_until(1_000.0).await;
    // The source resolves: the target's group is flushed at once, not at its next tick.
    r.ingest(&[alert(
        &[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "a"),
        ],
        0,
    )]);
    let (t, n) = r.next().await;
    assert!(near(t, 1_000.0), "released at once, got {t}");
    assert_eq!(n.alerts[0].0.labels.get("alertname"), "Slow");
    assert_eq!(n.reason, "first notification");
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_resolve_reaches_a_receiver_told_it_fired_even_if_inhibited() {
    let mut r = rig_with(&[rule(&[])], true);
    let slow = [("alertname", "Slow"), ("severity", "warning")];
    r.ingest(&[alert(&slow, 100_000)]);
    let (t, n) = r.next().await;
    assert!(near(t, 30.0), "{t}");
    assert_eq!(n.status, "firing");
    // A source fires and mutes the target; the target resolves while inhibited.
    r.ingest(&[alert(
        &[("alertname", "Down"), ("severity", "critical")],
        100_000,
    )]);
    let (_, n) = r.next().await;
    assert_eq!(n.alerts[0].0.labels.get("alertname"), "Down");
    r.sleep_until(400.0).await;
    r.ingest(&[alert(&slow, 0)]);
    let (t, n) = r.next().await;
    assert!(near(t, 630.0), "at the target group's next tick, got {t}");
    assert_eq!(
        (n.status, n.alerts[0].0.labels.get("alertname")),
        ("resolved", "Slow")
    );
    assert!(r.suppressed("inhibition") >= 1);
    r.cancel.cancel();
}
