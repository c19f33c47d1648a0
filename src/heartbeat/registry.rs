//! Every check, a heap of their deadlines, and the alerts their transitions produce.
//!
//! Sans-IO: each method takes `now` and returns the alerts to put into the store (firing or
//! resolved). The heap holds at most one live entry per check (its `scheduled` deadline); a ping
//! that moves a deadline later pushes nothing, and when the old entry comes due the check is
//! looked at again and rescheduled. So 10,000 checks pinged every second cost a heap operation
//! per check per period, not per ping.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::check::{CheckSpec, CheckState, Effect, Ping, PingRecord, Raised, Status};
use crate::model::{Alert, LabelSet};

/// How long a raised alert claims to last (it is resolved explicitly by the next success).
const ALERT_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 365 * 10);

/// One check in the registry.
struct Entry {
    /// Settings.
    spec: Arc<CheckSpec>,
    /// State.
    state: CheckState,
    /// The deadline this check has in the heap, if any.
    scheduled: Option<Timestamp>,
}

/// Why a ping or a request about a check was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// No check has that name.
    #[error("no heartbeat named {0:?}")]
    NotFound(String),
}

/// What `GET /api/tocsin/v1/heartbeats` shows of a check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    /// Name.
    pub name: String,
    /// Status now.
    pub status: Status,
    /// Period or schedule as written.
    pub schedule: String,
    /// Grace in seconds.
    pub grace_seconds: f64,
    /// Whether received alerts feed it.
    pub alert_fed: bool,
    /// The last run that counted.
    pub last_ping: Option<Timestamp>,
    /// The last success.
    pub last_success: Option<Timestamp>,
    /// The body of the last ping that had one.
    pub last_message: String,
    /// The last run's duration in seconds.
    pub last_duration_seconds: Option<f64>,
    /// When the next ping is expected.
    pub next_expected: Option<Timestamp>,
    /// When the check goes down without a ping.
    pub next_deadline: Option<Timestamp>,
    /// Runs in progress.
    pub running: usize,
    /// Consecutive failures.
    pub failures: u32,
    /// Pings received.
    pub pings: u64,
    /// The alert raised (`HeartbeatMissing` or `HeartbeatFailed`), while down.
    pub alert: Option<&'static str>,
}

/// The checks of the loaded config and their state.
#[derive(Default)]
pub struct Registry {
    /// Checks by position.
    entries: Vec<Entry>,
    /// Positions by name.
    by_name: HashMap<String, usize>,
    /// Positions of checks fed by alerts.
    alert_fed: Vec<usize>,
    /// Deadlines: (when, position).
    heap: BinaryHeap<Reverse<(Timestamp, usize)>>,
}

impl Registry {
    /// A registry of these checks, all new.
    pub fn new(specs: Vec<CheckSpec>) -> Self {
        let mut r = Registry::default();
        r.set_specs(specs, BTreeMap::new());
        r
    }

    fn set_specs(&mut self, specs: Vec<CheckSpec>, mut old: BTreeMap<String, CheckState>) {
        self.entries.clear();
        self.by_name.clear();
        self.alert_fed.clear();
        self.heap.clear();
        for spec in specs {
            let i = self.entries.len();
            let mut state = old.remove(&spec.name).unwrap_or_default();
            state.refresh_due(&spec);
            self.by_name.insert(spec.name.clone(), i);
            if !spec.matchers.is_empty() {
                self.alert_fed.push(i);
            }
            self.entries.push(Entry {
                spec: Arc::new(spec),
                state,
                scheduled: None,
            });
            self.reschedule(i);
        }
    }

    /// Replaces the checks (a config reload): a check whose name stays keeps its state under the
    /// new settings; a removed check's alert resolves.
    pub fn reload(&mut self, specs: Vec<CheckSpec>, now: Timestamp) -> Vec<Alert> {
        let mut old: BTreeMap<String, CheckState> = BTreeMap::new();
        let mut gone = Vec::new();
        for e in self.entries.drain(..) {
            if specs.iter().any(|s| s.name == e.spec.name) {
                old.insert(e.spec.name.clone(), e.state);
            } else if let Some(r) = e.state.raised {
                gone.push(alert(&e.spec, &Effect::Resolve(r, now)));
            }
        }
        self.set_specs(specs, old);
        gone
    }

    fn reschedule(&mut self, i: usize) {
        let e = &mut self.entries[i];
        let Some(d) = e.state.down_at(&e.spec) else {
            return;
        };
        if e.scheduled.is_none_or(|s| d < s) {
            e.scheduled = Some(d);
            self.heap.push(Reverse((d, i)));
        }
    }

    fn effects(&mut self, i: usize, effects: Vec<Effect>) -> Vec<Alert> {
        self.reschedule(i);
        let spec = &self.entries[i].spec;
        effects.iter().map(|e| alert(spec, e)).collect()
    }

    /// The settings of a check.
    pub fn spec(&self, name: &str) -> Option<&Arc<CheckSpec>> {
        self.by_name.get(name).map(|&i| &self.entries[i].spec)
    }

    /// Applies a ping to the named check.
    pub fn ping(&mut self, name: &str, ping: &Ping) -> Result<Vec<Alert>, CheckError> {
        let i = *self
            .by_name
            .get(name)
            .ok_or_else(|| CheckError::NotFound(name.to_owned()))?;
        let e = &mut self.entries[i];
        let fx = e.state.apply(&e.spec, ping);
        Ok(self.effects(i, fx))
    }

    /// Whether any check is fed by alerts.
    pub fn has_alert_fed(&self) -> bool {
        !self.alert_fed.is_empty()
    }

    /// Counts each received firing alert matching a check's `alert_matchers` as a ping of it.
    pub fn observe_alerts(&mut self, alerts: &[Arc<Alert>], now: Timestamp) -> Vec<Alert> {
        let mut out = Vec::new();
        for k in 0..self.alert_fed.len() {
            let i = self.alert_fed[k];
            let spec = Arc::clone(&self.entries[i].spec);
            for a in alerts {
                if a.resolved_at(now) || !crate::model::all_match(&spec.matchers, &a.labels) {
                    continue;
                }
                let ping = Ping {
                    kind: super::PingKind::Alert,
                    at: now,
                    rid: None,
                    body: String::new(),
                    source: format!("alert {}", a.labels),
                };
                let fx = self.entries[i].state.apply(&spec, &ping);
                out.extend(self.effects(i, fx));
            }
        }
        out
    }

    /// Pauses the named check (its alert resolves).
    pub fn pause(&mut self, name: &str, now: Timestamp) -> Result<Vec<Alert>, CheckError> {
        let i = *self
            .by_name
            .get(name)
            .ok_or_else(|| CheckError::NotFound(name.to_owned()))?;
        let fx = self.entries[i].state.pause(now);
        Ok(self.effects(i, fx))
    }

    /// Resumes the named check as new.
    pub fn resume(&mut self, name: &str, now: Timestamp) -> Result<(), CheckError> {
        let i = *self
            .by_name
            .get(name)
            .ok_or_else(|| CheckError::NotFound(name.to_owned()))?;
        self.entries[i].state.resume(now);
        self.reschedule(i);
        Ok(())
    }

    /// Merges a state another peer published for the named check (`super::replica::merge`).
    /// `None` when no check has that name or nothing changed; otherwise the alerts the change
    /// implies here: a raised alert this peer did not have, or one it had that the other peer's
    /// newer ping resolved (at that ping's time, so every peer resolves it alike).
    pub fn merge(&mut self, name: &str, remote: &CheckState) -> Option<Vec<Alert>> {
        let i = *self.by_name.get(name)?;
        let e = &mut self.entries[i];
        let mut merged = super::replica::merge(&e.state, remote);
        merged.refresh_due(&e.spec);
        if merged == e.state {
            return None;
        }
        let old = std::mem::replace(&mut e.state, merged);
        let new = &e.state;
        let mut fx = Vec::new();
        match (&old.raised, &new.raised) {
            (Some(o), Some(n)) if o == n => {}
            (Some(o), Some(n)) if o.kind == n.kind && o.since == n.since => {
                fx.push(Effect::Raise(n.clone()));
            }
            (o, n) => {
                if let Some(o) = o {
                    let at = new.changed.unwrap_or(o.since).max(o.since);
                    fx.push(Effect::Resolve(o.clone(), at));
                }
                if let Some(n) = n {
                    fx.push(Effect::Raise(n.clone()));
                }
            }
        }
        Some(self.effects(i, fx))
    }

    /// Entries in the deadline heap (live and superseded).
    pub fn heap_len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest deadline in the heap (possibly one that has since moved later).
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Takes every deadline due at `now`: checks past theirs go down; others are rescheduled.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Alert> {
        let mut out = Vec::new();
        while let Some(&Reverse((t, i))) = self.heap.peek() {
            if t > now {
                break;
            }
            self.heap.pop();
            let e = &mut self.entries[i];
            if e.scheduled != Some(t) {
                continue; // superseded by an earlier entry
            }
            e.scheduled = None;
            let fx = e.state.expire(&e.spec, now);
            out.extend(self.effects(i, fx));
        }
        out
    }

    /// Every check as the API shows it, in config order.
    pub fn views(&self, now: Timestamp) -> Vec<CheckView> {
        self.entries
            .iter()
            .map(|e| {
                let (s, spec) = (&e.state, &e.spec);
                CheckView {
                    name: spec.name.clone(),
                    status: s.status(spec, now),
                    schedule: spec.describe(),
                    grace_seconds: spec.grace.as_secs_f64(),
                    alert_fed: !spec.matchers.is_empty(),
                    last_ping: s.last_ping,
                    last_success: s.last_success,
                    last_message: s.last_message.clone(),
                    last_duration_seconds: s.last_duration.map(|d| d.as_secs_f64()),
                    next_expected: s.due,
                    next_deadline: s.down_at(spec),
                    running: s.runs.len(),
                    failures: s.failures,
                    pings: s.n_pings,
                    alert: s.raised.as_ref().map(|r| r.kind.as_str()),
                }
            })
            .collect()
    }

    /// The ping history of the named check, newest first.
    pub fn pings(&self, name: &str) -> Result<Vec<PingRecord>, CheckError> {
        let i = *self
            .by_name
            .get(name)
            .ok_or_else(|| CheckError::NotFound(name.to_owned()))?;
        Ok(self.entries[i].state.pings.iter().rev().cloned().collect())
    }

    /// (name, status, last success) of every check, for metrics.
    pub fn summary(&self, now: Timestamp) -> Vec<(&str, Status, Option<Timestamp>)> {
        self.entries
            .iter()
            .map(|e| {
                (
                    e.spec.name.as_str(),
                    e.state.status(&e.spec, now),
                    e.state.last_success,
                )
            })
            .collect()
    }

    /// The state of one check, for a store to persist.
    pub fn state_of(&self, name: &str) -> Option<&CheckState> {
        self.by_name.get(name).map(|&i| &self.entries[i].state)
    }

    /// Every check's name and state, for a store to persist.
    pub fn states(&self) -> impl Iterator<Item = (&str, &CheckState)> {
        self.entries
            .iter()
            .map(|e| (e.spec.name.as_str(), &e.state))
    }

    /// The state of every check, for a store to persist.
    pub fn snapshot(&self) -> BTreeMap<String, CheckState> {
        self.entries
            .iter()
            .map(|e| (e.spec.name.clone(), e.state.clone()))
            .collect()
    }

    /// Restores persisted state (checks not in the config are ignored) and returns the alerts to
    /// put: those still raised (the store may have lost them) and those of checks whose deadline
    /// passed while tocsin was down.
    pub fn restore(
        &mut self,
        mut states: BTreeMap<String, CheckState>,
        now: Timestamp,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        for i in 0..self.entries.len() {
            let name = self.entries[i].spec.name.clone();
            if let Some(mut s) = states.remove(&name) {
                let spec = &self.entries[i].spec;
                s.refresh_due(spec);
                if let Some(r) = &s.raised {
                    out.push(alert(spec, &Effect::Raise(r.clone())));
                }
                self.entries[i].state = s;
                self.entries[i].scheduled = None;
                self.reschedule(i);
            }
        }
        out.extend(self.tick(now));
        out
    }
}

/// The alert for a check's effect: `alertname`, `heartbeat` and the check's labels; the
/// check's annotations plus a generated `summary` unless the check sets one.
fn alert(spec: &CheckSpec, effect: &Effect) -> Alert {
    let (r, ends_at): (&Raised, Timestamp) = match effect {
        Effect::Raise(r) => (
            r,
            r.since
                .checked_add(ALERT_LIFETIME)
                .unwrap_or(Timestamp::MAX),
        ),
        Effect::Resolve(r, at) => (r, (*at).max(r.since)),
    };
    let mut labels = spec.labels.clone();
    labels.insert("alertname", r.kind.as_str());
    labels.insert("heartbeat", spec.name.as_str());
    let mut annotations: LabelSet = spec.annotations.clone();
    if !annotations.contains("summary") {
        annotations.insert("summary", r.summary.as_str());
    }
    let updated_at = match effect {
        Effect::Raise(_) => r.since,
        Effect::Resolve(_, at) => *at,
    };
    Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations,
        starts_at: r.since,
        ends_at,
        generator_url: Arc::from(""),
        updated_at,
        timeout: false,
    }
}
