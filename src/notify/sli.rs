//! The page-delivery SLI's accounting: every notification the pipeline decides to send is one
//! *due* notification, counted once however often it is retried, and ends in exactly one
//! outcome.
//!
//! ```text
//! Due::new        tocsin_notifications_due_total +1, tocsin_notifications_pending +1
//!   .end(outcome) tocsin_notifications_outcome_total{outcome,reason} +1, pending -1,
//!                 delivered: tocsin_notification_delivery_seconds (due -> accepted, retries in)
//! drop            pending -1 only (shutdown: the notification did not end; see README)
//! ```
//!
//! Outcomes: `delivered` (the service accepted it; in a cluster, reason `peer` when another
//! peer sent it while this one waited on its claim), `suppressed` (a mute stage held the whole
//! notification back; reason `silence`, `inhibition`, `mute_time_interval`,
//! `active_time_interval`), `superseded` (a newer state of the group replaced it before it was
//! accepted), `failed` (given up; reason as `alertmanager_notifications_failed_total`'s).
//! Labels are bounded: receiver and integration come from the config, kind is firing|resolved.
//!
//! A due notification made with [`Due::traced`] is also a record of the notification history
//! (`nflog::history`): its attempts ([`Due::attempt`], called by the retry loop) and outcome are
//! stored. One a shutdown left pending is resumed by the restarted daemon's first due
//! notification of the same group, integration and alerts: the same record, its due time kept
//! (the delivery time includes the restart), not counted in `due_total` again (the counter of
//! the process that counted it restarted from zero, as counters do).
//!
//! In a cluster every peer decides the same notifications are due, and every peer counts them:
//! the peer that wins the send claim with its own outcome, the peers that waited on it with
//! `delivered`/`peer` (or the outcome of their own attempt, if the claimer gave up and they
//! sent), at the time they learnt of the delivery. So any one peer's metrics and history give
//! the cluster's figure (and a ratio such as the SLI is the same summed over peers).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;
use tokio::time::Instant;

use super::error::{FailureReason, NotifyError};
use super::integration::Sent;
use super::mute::SuppressReason;
use crate::clock;
use crate::metrics::{Labels, Metrics};
use crate::nflog::history::{self, Attempt, History};
use crate::nflog::{NflogKey, ReceiverData};

/// What a due notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// At least one alert is firing.
    Firing,
    /// Every alert is resolved.
    Resolved,
}

impl Kind {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Firing => "firing",
            Kind::Resolved => "resolved",
        }
    }
}

/// How a due notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The service accepted it.
    Delivered,
    /// In a cluster, another peer sent it and the service accepted it (this peer waited on
    /// that peer's send claim): `outcome="delivered"` with `reason="peer"`, so each peer
    /// counts every notification of the cluster once.
    DeliveredByPeer,
    /// A mute stage held it back.
    Suppressed(SuppressReason),
    /// A newer notification for the same group replaced it before it was accepted.
    Superseded,
    /// Given up.
    Failed(FailureReason),
}

impl Outcome {
    /// The `outcome` and `reason` label values (reason empty when there is none).
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Delivered => ("delivered", ""),
            Outcome::DeliveredByPeer => ("delivered", "peer"),
            Outcome::Suppressed(r) => ("suppressed", r.as_str()),
            Outcome::Superseded => ("superseded", ""),
            Outcome::Failed(r) => ("failed", r.as_str()),
        }
    }

    /// The history's name of it.
    fn history(self) -> history::Outcome {
        match self {
            Outcome::Delivered | Outcome::DeliveredByPeer => history::Outcome::Delivered,
            Outcome::Suppressed(_) => history::Outcome::Suppressed,
            Outcome::Superseded => history::Outcome::Superseded,
            Outcome::Failed(_) => history::Outcome::Failed,
        }
    }
}

/// The alerts a notification carries, as one number (FNV-1a over the sorted fingerprints,
/// stable across builds): the history resumes a pending record only for the same alerts.
pub fn state_hash(firing: &HashSet<u64>, resolved: &HashSet<u64>) -> u64 {
    let mut f: Vec<u64> = firing.iter().copied().collect();
    let mut r: Vec<u64> = resolved.iter().copied().collect();
    f.sort_unstable();
    r.sort_unstable();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in f.iter().chain([&u64::MAX]).chain(&r) {
        for b in x.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// A due notification's record in the history.
struct Trace<'a> {
    /// The history.
    history: &'a History,
    /// The record's id.
    id: String,
    /// The number of the last attempt made.
    attempts: AtomicU32,
    /// An accepted attempt not stored yet: [`Due::end`] stores it with the outcome in one
    /// write (the pipeline ends a delivered notification right after its attempt); a `Due`
    /// dropped without an end stores it alone.
    accepted: Mutex<Option<(Attempt, ReceiverData)>>,
}

impl Trace<'_> {
    /// Takes the accepted attempt not stored yet.
    fn take_accepted(&self) -> Option<(Attempt, ReceiverData)> {
        self.accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// One due notification, from the moment the pipeline decided to send it until its outcome.
#[must_use = "a due notification ends with Due::end"]
pub struct Due<'a> {
    /// Where it is counted.
    metrics: &'a Metrics,
    /// receiver, integration, kind.
    labels: Labels,
    /// When it became due.
    since: Instant,
    /// Whether it is still pending.
    pending: bool,
    /// Its record in the history, when it has one.
    trace: Option<Trace<'a>>,
}

/// What [`Due::traced`] needs to know of the notification.
pub struct Notice<'k> {
    /// The group's integration.
    pub key: &'k NflogKey,
    /// Firing or resolved.
    pub kind: Kind,
    /// The fingerprints of its firing alerts.
    pub firing: &'k HashSet<u64>,
    /// The fingerprints of its resolved alerts.
    pub resolved: &'k HashSet<u64>,
}

impl<'a> Due<'a> {
    /// A notification became due now: counted in `due_total` and `pending`.
    pub fn new(metrics: &'a Metrics, receiver: &str, integration: &str, kind: Kind) -> Self {
        let labels = vec![
            ("receiver", receiver.to_owned()),
            ("integration", integration.to_owned()),
            ("kind", kind.as_str().to_owned()),
        ];
        metrics.notifications_due.get_or_create(&labels).inc();
        metrics.notifications_pending.get_or_create(&labels).inc();
        Due {
            metrics,
            labels,
            since: clock::instant(),
            pending: true,
            trace: None,
        }
    }

    /// A due notification that is also a record of `history` (see the module doc): resumes
    /// the one a restart left pending for the same key and alerts.
    pub fn traced(metrics: &'a Metrics, history: &'a History, n: &Notice<'_>) -> Self {
        let now = clock::now();
        let begun = history.begin(history::Due {
            key: n.key,
            kind: n.kind.as_str(),
            firing: n.firing.len(),
            resolved: n.resolved.len(),
            state: state_hash(n.firing, n.resolved),
            now,
        });
        let labels = vec![
            ("receiver", n.key.receiver.clone()),
            ("integration", n.key.integration.clone()),
            ("kind", n.kind.as_str().to_owned()),
        ];
        if !begun.resumed {
            metrics.notifications_due.get_or_create(&labels).inc();
        }
        metrics.notifications_pending.get_or_create(&labels).inc();
        let waited =
            std::time::Duration::try_from(now.duration_since(begun.due_at)).unwrap_or_default();
        let instant = clock::instant();
        Due {
            metrics,
            labels,
            since: instant.checked_sub(waited).unwrap_or(instant),
            pending: true,
            trace: Some(Trace {
                history,
                id: begun.id,
                attempts: AtomicU32::new(begun.attempts),
                accepted: Mutex::new(None),
            }),
        }
    }

    /// Records one attempt that started at `started` and ended now with `result`.
    pub fn attempt(&self, started: Timestamp, result: Result<&Sent, &NotifyError>) {
        let Some(t) = &self.trace else { return };
        let number = t.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let (accepted, status, error, ids) = match result {
            Ok(sent) => {
                let mut ids = sent.receiver_data.clone();
                ids.extend(sent.service_ids.clone());
                (true, sent.status, String::new(), ids)
            }
            Err(e) => (false, e.status, e.message.clone(), Default::default()),
        };
        let attempt = Attempt {
            number,
            started_at: started,
            ended_at: clock::now(),
            accepted,
            status,
            error,
        };
        if accepted {
            let before = t
                .accepted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .replace((attempt, ids));
            // Never two accepted attempts before an end; were there, neither is lost.
            if let Some((a, ids)) = before {
                t.history.attempt(&t.id, a, &ids);
            }
        } else {
            t.history.attempt(&t.id, attempt, &ids);
        }
    }

    /// Another peer of the cluster delivered it: ends it [`Outcome::DeliveredByPeer`], its
    /// history record given the ids the service gave that peer (`service_ids`, from the peer's
    /// log entry: Slack's `ts`, Zendesk's `ticket_id`).
    pub fn end_by_peer(self, service_ids: &crate::nflog::ReceiverData) {
        if let Some(t) = &self.trace {
            t.history.service_ids(&t.id, service_ids);
        }
        self.end(Outcome::DeliveredByPeer);
    }

    /// Ends it with `outcome` (once: the value is consumed).
    pub fn end(mut self, outcome: Outcome) {
        let (name, reason) = outcome.labels();
        let mut labels = self.labels.clone();
        labels.push(("outcome", name.to_owned()));
        labels.push(("reason", reason.to_owned()));
        self.metrics
            .notifications_outcome
            .get_or_create(&labels)
            .inc();
        if matches!(outcome, Outcome::Delivered | Outcome::DeliveredByPeer) {
            self.metrics
                .notification_delivery
                .get_or_create(&self.labels)
                .observe(self.since.elapsed().as_secs_f64());
        }
        if let Some(t) = &self.trace {
            t.history.end(
                &t.id,
                t.take_accepted(),
                outcome.history(),
                reason,
                clock::now(),
            );
        }
        self.release();
    }

    /// No longer pending.
    fn release(&mut self) {
        if std::mem::take(&mut self.pending) {
            self.metrics
                .notifications_pending
                .get_or_create(&self.labels)
                .dec();
        }
    }
}

impl Drop for Due<'_> {
    /// A notification dropped without an outcome (shutdown abandoned it) is no longer pending.
    fn drop(&mut self) {
        if let Some(t) = &self.trace
            && let Some((a, ids)) = t.take_accepted()
        {
            t.history.attempt(&t.id, a, &ids);
        }
        self.release();
    }
}

/// The held-back states already counted as suppressed, per integration of a group, so that a
/// group held back across many flushes is one suppressed notification until its alerts change
/// (as a sent group is one notification until its alerts change or its repeat is due).
#[derive(Debug, Default)]
pub struct SuppressedStates {
    /// A hash of the held firing and resolved alerts, by nflog key.
    counted: Mutex<HashMap<NflogKey, u64>>,
}

impl SuppressedStates {
    /// Whether the held state (`firing`, `resolved` fingerprints) is new for `key`, remembering
    /// it. A state with nothing firing is forgotten (the group is about to end).
    pub fn is_new(&self, key: &NflogKey, firing: &HashSet<u64>, resolved: &HashSet<u64>) -> bool {
        let mut f: Vec<u64> = firing.iter().copied().collect();
        let mut r: Vec<u64> = resolved.iter().copied().collect();
        f.sort_unstable();
        r.sort_unstable();
        let mut h = std::hash::DefaultHasher::new();
        (f, r).hash(&mut h);
        let state = h.finish();
        let mut counted = self.counted.lock().unwrap_or_else(PoisonError::into_inner);
        let new = counted.get(key) != Some(&state);
        if firing.is_empty() {
            counted.remove(key);
        } else {
            counted.insert(key.clone(), state);
        }
        new
    }

    /// The group's integration sent (or decided to send) a notification: a later hold is new.
    pub fn forget(&self, key: &NflogKey) {
        let mut counted = self.counted.lock().unwrap_or_else(PoisonError::into_inner);
        if !counted.is_empty() {
            counted.remove(key);
        }
    }
}
