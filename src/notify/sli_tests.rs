//! The page-delivery SLI through the real pipeline in paused time: a group that fires, changes
//! and resolves; a receiver that fails twice then accepts; a permanent 400; a silence; a flap
//! inside group_wait; a newer notification replacing a pending one; shutdown with one pending.
//! Each asserts due, outcome, pending and delivery time as a scrape shows them.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Integration;
use super::data::NotificationData;
use super::error::{FailureReason, NotifyError};
use super::mute::{MuteStages, SilenceStage};
use super::pipeline::{FlushCtx, FlushOutcome, Notifier, NotifySettings, ReceiverRuntime};
use crate::clock;
use crate::metrics::Metrics;
use crate::model::{Alert, LabelSet, MatchType, Matcher};
use crate::nflog::Nflog;
use crate::nflog::history::{self, Filter, Record};
use crate::silence::{Limits, Silence, Silences};

const DUE: &str = "tocsin_notifications_due_total{receiver=\"r\",integration=\"test\"";
const OUT: &str = "tocsin_notifications_outcome_total{receiver=\"r\",integration=\"test\"";

struct Rig {
    notifier: Arc<Notifier>,
    nflog: Arc<Nflog>,
    metrics: Arc<Metrics>,
    silences: Arc<Silences>,
    cancel: CancellationToken,
    t0: Timestamp,
}

fn rig(integration: Integration) -> Rig {
    rig_with(integration, Arc::new(Nflog::new()))
}

/// A rig whose notifier logs to `nflog` (what a restarted daemon loaded from its store).
fn rig_with(integration: Integration, nflog: Arc<Nflog>) -> Rig {
    let metrics = Arc::new(Metrics::new());
    let silences = Arc::new(Silences::new(
        SignedDuration::from_hours(120),
        Limits::default(),
    ));
    let cancel = CancellationToken::new();
    let notifier = Notifier::new(
        vec![ReceiverRuntime {
            name: Arc::from("r"),
            integrations: vec![integration],
            send_resolved_when_muted: true,
        }],
        Arc::clone(&nflog),
        Arc::clone(&metrics),
        NotifySettings {
            external_url: "http://tocsin".into(),
            max_retry: Duration::from_secs(60),
            retention: SignedDuration::from_hours(120),
        },
        cancel.clone(),
    )
    .with_mute_stages(MuteStages {
        silence: SilenceStage::new(Arc::clone(&silences)),
        ..MuteStages::default()
    });
    Rig {
        notifier: Arc::new(notifier),
        nflog,
        metrics,
        silences,
        cancel,
        t0: clock::now(),
    }
}

impl Rig {
    /// The notification history, newest first.
    fn history(&self) -> Vec<Record> {
        self.nflog.history().query(&Filter::default(), 100)
    }
    fn ctx(&self, cancel: CancellationToken) -> FlushCtx {
        FlushCtx {
            receiver: Arc::from("r"),
            group_key: Arc::from("{}:{alertname=\"DiskFull\"}"),
            group_labels: [("alertname", "DiskFull")].into_iter().collect(),
            repeat_interval: SignedDuration::from_hours(4),
            active_time_intervals: Arc::from([]),
            mute_time_intervals: Arc::from([]),
            group_interval: Duration::from_secs(300),
            now: clock::now(),
            cancel,
        }
    }

    async fn flush(&self, alerts: Vec<Arc<Alert>>) -> FlushOutcome {
        let ctx = self.ctx(CancellationToken::new());
        self.notifier.flush(&ctx, alerts).await
    }

    /// The value of the series that starts with `series` and ends with `rest`, 0 when absent.
    fn value(&self, series: &str, rest: &str) -> f64 {
        let prefix = format!("{series}{rest} ");
        self.metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }

    fn due(&self, kind: &str) -> f64 {
        self.value(DUE, &format!(",kind=\"{kind}\"}}"))
    }

    fn outcome(&self, kind: &str, outcome: &str, reason: &str) -> f64 {
        self.value(
            OUT,
            &format!(",kind=\"{kind}\",outcome=\"{outcome}\",reason=\"{reason}\"}}"),
        )
    }

    /// Every outcome of `kind`, whatever it is.
    fn outcomes(&self, kind: &str) -> f64 {
        let prefix = format!("{OUT},kind=\"{kind}\"");
        self.metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn pending(&self, kind: &str) -> f64 {
        self.value(
            "tocsin_notifications_pending{receiver=\"r\",integration=\"test\"",
            &format!(",kind=\"{kind}\"}}"),
        )
    }

    fn delivery(&self, suffix: &str, kind: &str) -> f64 {
        self.value(
            &format!(
                "tocsin_notification_delivery_seconds_{suffix}{{receiver=\"r\",integration=\"test\""
            ),
            &format!(",kind=\"{kind}\"}}"),
        )
    }

    /// A DiskFull alert on `instance` that resolves at `t0 + ends_secs`.
    fn alert(&self, instance: &str, ends_secs: i64) -> Arc<Alert> {
        let labels: LabelSet = [("alertname", "DiskFull"), ("instance", instance)]
            .into_iter()
            .collect();
        Arc::new(Alert {
            fingerprint: labels.fingerprint(),
            labels,
            annotations: LabelSet::new(),
            starts_at: self.t0,
            ends_at: self.t0 + SignedDuration::from_secs(ends_secs),
            generator_url: Arc::from(""),
            updated_at: clock::now(),
            timeout: false,
        })
    }

    fn silence_until(&self, secs: i64) -> Arc<str> {
        let now = clock::now();
        let s = Silence {
            id: Arc::from(""),
            matchers: vec![Matcher::new("alertname", MatchType::Equal, "DiskFull").unwrap()],
            starts_at: now,
            ends_at: self.t0 + SignedDuration::from_secs(secs),
            updated_at: now,
            created_by: "me".into(),
            comment: "maintenance".into(),
            annotations: LabelSet::new(),
        };
        self.silences.set(s, now).unwrap().0
    }
}

async fn advance(secs: u64) {
    tokio::time::advance(Duration::from_secs(secs)).await;
}

fn channel() -> (Integration, mpsc::UnboundedReceiver<NotificationData>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Integration::channel(tx, true), rx)
}

#[tokio::test(start_paused = true)]
async fn fires_changes_resolves_three_due_three_delivered() {
    let (integ, mut rx) = channel();
    let r = rig(integ);
    let a = r.alert("a", 100_000);
    let b = r.alert("b", 100_000);
    assert!(r.flush(vec![a.clone()]).await.ok);
    advance(300).await;
    // Nothing new: not due again.
    assert!(r.flush(vec![a.clone()]).await.ok);
    assert_eq!(r.due("firing"), 1.0);
    advance(300).await;
    assert!(r.flush(vec![a.clone(), b.clone()]).await.ok);
    advance(300).await;
    let (ra, rb) = (r.alert("a", 850), r.alert("b", 850));
    assert!(r.flush(vec![ra.clone(), rb.clone()]).await.ok);
    assert_eq!((r.due("firing"), r.due("resolved")), (2.0, 1.0));
    assert_eq!(r.outcome("firing", "delivered", ""), 2.0);
    assert_eq!(r.outcome("resolved", "delivered", ""), 1.0);
    assert_eq!((r.pending("firing"), r.pending("resolved")), (0.0, 0.0));
    // Accepted at once: every delivery is in the first bucket.
    assert_eq!(r.delivery("count", "firing"), 2.0);
    assert_eq!(r.delivery("sum", "firing"), 0.0);
    let mut got = 0;
    while rx.try_recv().is_ok() {
        got += 1;
    }
    assert_eq!(got, 3, "the receiver got what was counted delivered");
}

#[tokio::test(start_paused = true)]
async fn two_failures_then_accepted_is_one_due_delivered_after_the_retries() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let err = || NotifyError::retryable(FailureReason::ServerError, "unexpected status 500");
    let r = rig(Integration::scripted(tx, vec![err(), err()]));
    assert!(r.flush(vec![r.alert("a", 100_000)]).await.ok);
    assert!(rx.try_recv().is_ok());
    assert_eq!(
        r.value(
            "alertmanager_notification_requests_total{integration=\"test\"}",
            ""
        ),
        3.0
    );
    assert_eq!(r.due("firing"), 1.0);
    assert_eq!(r.outcomes("firing"), 1.0);
    assert_eq!(r.outcome("firing", "delivered", ""), 1.0);
    // Two backoff waits (at least 250 ms and 375 ms) are inside the delivery time.
    let took = r.delivery("sum", "firing");
    assert!((0.625..5.0).contains(&took), "delivery time {took}");
    // The history has the one notification and its three attempts.
    let h = r.history();
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].outcome, history::Outcome::Delivered);
    let tries: Vec<(u32, bool, &str)> = h[0]
        .attempts
        .iter()
        .map(|a| (a.number, a.accepted, a.error.as_str()))
        .collect();
    assert_eq!(
        tries,
        [
            (1, false, "unexpected status 500"),
            (2, false, "unexpected status 500"),
            (3, true, "")
        ]
    );
    let took = h[0].delivery_time().unwrap().as_secs_f64();
    assert!((0.625..5.0).contains(&took), "history delivery time {took}");
}

#[tokio::test(start_paused = true)]
async fn permanent_client_error_fails_once_with_its_reason() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let bad = NotifyError::permanent(FailureReason::ClientError, "unexpected status 400");
    let r = rig(Integration::scripted(tx, vec![bad]));
    assert!(!r.flush(vec![r.alert("a", 100_000)]).await.ok);
    assert_eq!(r.due("firing"), 1.0);
    assert_eq!(r.outcomes("firing"), 1.0);
    assert_eq!(r.outcome("firing", "failed", "clientError"), 1.0);
    assert_eq!(r.pending("firing"), 0.0);
    assert_eq!(r.delivery("count", "firing"), 0.0);
}

#[tokio::test(start_paused = true)]
async fn silenced_group_is_one_suppressed_until_it_changes_then_delivered() {
    let (integ, mut rx) = channel();
    let r = rig(integ);
    r.silence_until(1000);
    let a = r.alert("a", 100_000);
    assert!(r.flush(vec![a.clone()]).await.ok);
    advance(300).await;
    assert!(r.flush(vec![a.clone()]).await.ok);
    assert_eq!(r.due("firing"), 1.0, "held across flushes: counted once");
    assert_eq!(r.outcome("firing", "suppressed", "silence"), 1.0);
    advance(300).await;
    assert!(r.flush(vec![a.clone(), r.alert("b", 100_000)]).await.ok);
    assert_eq!(r.outcome("firing", "suppressed", "silence"), 2.0);
    assert!(rx.try_recv().is_err(), "nothing was sent");
    // The silence ends: the still-firing group goes out.
    advance(500).await;
    assert!(r.flush(vec![a.clone(), r.alert("b", 100_000)]).await.ok);
    assert!(rx.try_recv().is_ok());
    assert_eq!(r.due("firing"), 3.0);
    assert_eq!(r.outcome("firing", "delivered", ""), 1.0);
    assert_eq!(r.pending("firing"), 0.0);
}

#[tokio::test(start_paused = true)]
async fn flap_inside_group_wait_is_not_due() {
    let (integ, mut rx) = channel();
    let r = rig(integ);
    // The first flush (after group_wait) sees the alert already resolved.
    advance(30).await;
    assert!(r.flush(vec![r.alert("a", 10)]).await.ok);
    assert!(rx.try_recv().is_err());
    assert_eq!((r.due("firing"), r.due("resolved")), (0.0, 0.0));
    assert_eq!(r.outcomes("firing") + r.outcomes("resolved"), 0.0);
}

#[tokio::test(start_paused = true)]
async fn newer_notification_supersedes_a_pending_one() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let r = rig(Integration::stalling(tx, 1));
    let a = r.alert("a", 100_000);
    let first = r.ctx(CancellationToken::new());
    let stalled = {
        let (n, ctx, a) = (Arc::clone(&r.notifier), first.clone(), a.clone());
        tokio::spawn(async move { n.flush(&ctx, vec![a]).await })
    };
    advance(2).await;
    assert_eq!(r.pending("firing"), 1.0, "due and not yet ended");
    // The group changes: its newer state replaces the stalled one.
    first.cancel.cancel();
    assert!(!stalled.await.unwrap().ok);
    assert!(r.flush(vec![a.clone(), r.alert("b", 100_000)]).await.ok);
    assert!(rx.try_recv().is_ok());
    assert_eq!(r.due("firing"), 2.0);
    assert_eq!(r.outcome("firing", "superseded", ""), 1.0);
    assert_eq!(r.outcome("firing", "delivered", ""), 1.0);
    assert_eq!(r.outcomes("firing"), 2.0);
    assert_eq!(r.pending("firing"), 0.0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_leaves_a_pending_notification_without_an_outcome() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let r = rig(Integration::stalling(tx, 1));
    let stalled = {
        let (n, ctx, a) = (
            Arc::clone(&r.notifier),
            r.ctx(CancellationToken::new()),
            r.alert("a", 100_000),
        );
        tokio::spawn(async move { n.flush(&ctx, vec![a]).await })
    };
    advance(2).await;
    assert_eq!(r.pending("firing"), 1.0);
    r.cancel.cancel();
    assert!(!stalled.await.unwrap().ok);
    assert_eq!(r.due("firing"), 1.0);
    assert_eq!(
        r.outcomes("firing"),
        0.0,
        "not failed: it is sent after the restart"
    );
    assert_eq!(r.pending("firing"), 0.0);
}

#[tokio::test(start_paused = true)]
async fn a_notification_pending_at_shutdown_is_counted_once_and_delivered_after_the_restart() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = || NotifyError::retryable(FailureReason::ServerError, "unexpected status 503");
    let before = rig(Integration::scripted(tx, (0..100).map(|_| err()).collect()));
    let a = before.alert("a", 100_000);
    let failing = {
        let (n, ctx, a) = (
            Arc::clone(&before.notifier),
            before.ctx(CancellationToken::new()),
            a.clone(),
        );
        tokio::spawn(async move { n.flush(&ctx, vec![a]).await })
    };
    advance(3).await;
    before.cancel.cancel();
    assert!(!failing.await.unwrap().ok);
    assert_eq!(before.due("firing"), 1.0);
    assert_eq!(before.outcomes("firing"), 0.0);
    let stored = before.history();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].outcome, history::Outcome::Pending);
    let tried = stored[0].attempts.len();
    assert!(tried >= 1, "{stored:?}");

    // The restart: a new process reads the store back (as bytes) and flushes the group again.
    advance(10).await;
    let nflog = Arc::new(Nflog::new());
    nflog.history().load(
        stored
            .iter()
            .map(|r| history::decode(&history::encode(r)).unwrap()),
    );
    let (integ, mut rx) = channel();
    let after = rig_with(integ, nflog);
    assert!(after.flush(vec![a]).await.ok);
    assert!(rx.try_recv().is_ok(), "delivered after the restart");
    assert_eq!(
        before.due("firing") + after.due("firing"),
        1.0,
        "due once, across both processes"
    );
    assert_eq!(after.outcome("firing", "delivered", ""), 1.0);
    assert_eq!(after.pending("firing"), 0.0);
    // The delivery time runs from the first due moment, restart included.
    let took = after.delivery("sum", "firing");
    assert!(took >= 10.0, "{took} {:?}", after.history());
    let h = after.history();
    assert_eq!(h.len(), 1, "one record: {h:?}");
    assert_eq!(h[0].id, stored[0].id);
    assert_eq!(h[0].outcome, history::Outcome::Delivered);
    assert_eq!(h[0].attempts.len(), tried + 1);
    assert_eq!(h[0].attempts.last().unwrap().number as usize, tried + 1);
    assert!(h[0].delivery_time().unwrap() >= SignedDuration::from_secs(10));
}

/// An accepted attempt waits for the end to be stored with it; a due notification dropped
/// before its end (shutdown) still leaves the attempt in its record, the outcome pending.
#[test]
fn an_accepted_attempt_without_an_end_is_still_recorded() {
    use super::integration::Sent;
    use super::sli::{Due, Kind, Notice};
    use std::collections::HashSet;

    let metrics = Metrics::new();
    let hist = history::History::default();
    let key = crate::nflog::NflogKey {
        group_key: "{}:{a=\"1\"}".into(),
        receiver: "r".into(),
        integration: "test".into(),
        index: 0,
    };
    let firing: HashSet<u64> = [1].into();
    let notice = Notice {
        key: &key,
        kind: Kind::Firing,
        firing: &firing,
        resolved: &HashSet::new(),
    };
    let due = Due::traced(&metrics, &hist, &notice);
    let sent = Sent {
        status: Some(200),
        ..Sent::default()
    };
    due.attempt(clock::now(), Ok(&sent));
    drop(due);
    let r = hist.query(&Filter::default(), 10).remove(0);
    assert_eq!(r.outcome, history::Outcome::Pending);
    assert_eq!(r.attempts.len(), 1);
    assert!(r.attempts[0].accepted);
}
