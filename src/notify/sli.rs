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
//! Outcomes: `delivered` (the service accepted it), `suppressed` (a mute stage held the whole
//! notification back; reason `silence`, `inhibition`, `mute_time_interval`,
//! `active_time_interval`), `superseded` (a newer state of the group replaced it before it was
//! accepted), `failed` (given up; reason as `alertmanager_notifications_failed_total`'s).
//! Labels are bounded: receiver and integration come from the config, kind is firing|resolved.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};

use tokio::time::Instant;

use super::error::FailureReason;
use super::mute::SuppressReason;
use crate::clock;
use crate::metrics::{Labels, Metrics};
use crate::nflog::NflogKey;

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
            Outcome::Suppressed(r) => ("suppressed", r.as_str()),
            Outcome::Superseded => ("superseded", ""),
            Outcome::Failed(r) => ("failed", r.as_str()),
        }
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
        }
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
        if outcome == Outcome::Delivered {
            self.metrics
                .notification_delivery
                .get_or_create(&self.labels)
                .observe(self.since.elapsed().as_secs_f64());
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
