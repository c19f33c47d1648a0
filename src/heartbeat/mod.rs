//! The heartbeat watchdog: inbound checks that raise an alert when pings stop (or report
//! failure), and the health verdict of the outbound dead man's switch.
//!
//! - `check`: one check's settings and state machine (healthchecks.io's states new, up,
//!   started, grace, down, paused; `rid` pairing; exit codes; N failures; minimum duration;
//!   too many pings; keywords).
//! - `registry`: every check, one heap of deadlines, the alerts transitions produce, and
//!   `snapshot`/`restore` of the state (no file I/O here: a store persists the snapshot).
//! - `deadman`: whether tocsin is healthy enough to ping its dead man's switch targets.
//! - [`Heartbeats`]: the shared handle (a `std::sync::Mutex` around the registry: every
//!   operation is short and none holds the lock across an `.await`) and [`Heartbeats::run`],
//!   the one timer loop, which sleeps until the earliest deadline.
//!
//! Heartbeats enter the pipeline as alerts: the caller puts what these functions return into the
//! alert store and hands it to dispatch, so routing, grouping, silences and repeats apply.
//!
//! Storage: every operation marks the checks it changed; [`Heartbeats::take_changes`] hands
//! their state to storage as changes (the app calls it every second and at shutdown, so a busy
//! check costs one write a second, not one per ping).
//! Layer L2: imports `model`, `config`, `clock`, `alerts`, `storage`.

mod check;
pub mod deadman;
mod registry;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use check::{
    AlertKind, BODY_EXCERPT, CheckSpec, CheckState, Effect, Expect, PING_HISTORY, Ping, PingKind,
    PingRecord, Raised, Run, Status, Stored,
};
pub use registry::{CheckError, CheckView, Registry};

use crate::clock;
use crate::config::HeartbeatConfig;
use crate::model::Alert;
use crate::storage::{Change, Kind};

/// A check's state as storage keeps it (JSON).
pub fn encode_state(s: &CheckState) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

/// Reads back what [`encode_state`] wrote.
pub fn decode_state(bytes: &[u8]) -> Result<CheckState, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// The least time between two wake-ups of the timer loop: deadlines that fall within it are
/// handled together, so many checks with short periods cost a few wake-ups a second.
pub const TICK_GRANULARITY: std::time::Duration = std::time::Duration::from_millis(100);

/// The shared heartbeat state: the registry behind a mutex, and a wake-up for the timer loop.
#[derive(Default)]
pub struct Heartbeats {
    /// The checks.
    registry: Mutex<Registry>,
    /// Set when some check is fed by alerts (read on every ingest without the lock).
    alert_fed: AtomicBool,
    /// Wakes the timer loop when a deadline may have moved earlier.
    wake: Notify,
    /// The checks changed since storage last took them.
    dirty: Mutex<Dirty>,
}

/// Which checks changed since [`Heartbeats::take_changes`] last ran.
#[derive(Default)]
struct Dirty {
    /// By name.
    names: HashSet<String>,
    /// Every check (a reload, a restore, alerts fed to the alert-fed checks).
    all: bool,
}

impl Heartbeats {
    /// The checks of a config, all new.
    pub fn new(configs: &[HeartbeatConfig]) -> Self {
        let h = Heartbeats::default();
        let _ = h.reload(configs, clock::now());
        h
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // Registry methods leave it consistent between statements; a poisoned lock is usable.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the registry and wakes the timer loop (a deadline may have moved earlier).
    fn with<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        let (out, fed) = {
            let mut r = self.lock();
            let out = f(&mut r);
            (out, r.has_alert_fed())
        };
        self.alert_fed.store(fed, Ordering::Relaxed);
        self.wake.notify_one();
        out
    }

    fn dirty(&self) -> MutexGuard<'_, Dirty> {
        self.dirty.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn mark(&self, name: &str) {
        let mut d = self.dirty();
        if !d.all && !d.names.contains(name) {
            d.names.insert(name.to_owned());
        }
    }

    fn mark_all(&self) {
        self.dirty().all = true;
    }

    /// The state of the checks changed since the last call, as storage changes (a removed check
    /// is deleted), and whether there were any.
    pub fn take_changes(&self) -> Vec<Change> {
        let Dirty { names, all } = std::mem::take(&mut *self.dirty());
        let r = self.lock();
        if all {
            let states = r.snapshot();
            return states
                .iter()
                .map(|(n, s)| Change::put(Kind::Heartbeats, n.as_bytes(), encode_state(s)))
                .collect();
        }
        names
            .into_iter()
            .map(|n| match r.state_of(&n) {
                Some(s) => Change::put(Kind::Heartbeats, n.as_bytes(), encode_state(&s)),
                None => Change::delete(Kind::Heartbeats, n.as_bytes()),
            })
            .collect()
    }

    /// Every check's state as storage changes (what a rewrite of the store writes).
    pub fn snapshot_changes(&self) -> Vec<Change> {
        self.snapshot()
            .iter()
            .map(|(n, s)| Change::put(Kind::Heartbeats, n.as_bytes(), encode_state(s)))
            .collect()
    }

    /// Replaces the checks (config reload), keeping the state of those whose name stays.
    /// Returns the alerts of removed checks, resolved.
    pub fn reload(&self, configs: &[HeartbeatConfig], now: Timestamp) -> Vec<Alert> {
        let specs = configs.iter().map(CheckSpec::from_config).collect();
        self.mark_all();
        self.with(|r| r.reload(specs, now))
    }

    /// The settings of a check.
    pub fn spec(&self, name: &str) -> Option<Arc<CheckSpec>> {
        self.lock().spec(name).cloned()
    }

    /// Applies a ping.
    pub fn ping(&self, name: &str, ping: &Ping) -> Result<Vec<Alert>, CheckError> {
        let (out, earlier) = {
            let mut r = self.lock();
            let before = r.next_wakeup();
            let out = r.ping(name, ping);
            (out, r.next_wakeup() < before || before.is_none())
        };
        if out.is_ok() {
            self.mark(name);
        }
        // Most pings move a deadline later, which needs no wake-up.
        if earlier {
            self.wake.notify_one();
        }
        out
    }

    /// Counts received alerts as pings of alert-fed checks (cheap when there are none).
    pub fn observe_alerts(&self, alerts: &[Arc<Alert>], now: Timestamp) -> Vec<Alert> {
        if !self.alert_fed.load(Ordering::Relaxed) {
            return Vec::new();
        }
        self.mark_all();
        self.with(|r| r.observe_alerts(alerts, now))
    }

    /// Pauses a check.
    pub fn pause(&self, name: &str, now: Timestamp) -> Result<Vec<Alert>, CheckError> {
        self.mark(name);
        self.with(|r| r.pause(name, now))
    }

    /// Resumes a check.
    pub fn resume(&self, name: &str) -> Result<(), CheckError> {
        self.mark(name);
        self.with(|r| r.resume(name))
    }

    /// Every check as the API shows it.
    pub fn views(&self, now: Timestamp) -> Vec<CheckView> {
        self.lock().views(now)
    }

    /// A check's ping history, newest first.
    pub fn pings(&self, name: &str) -> Result<Vec<PingRecord>, CheckError> {
        self.lock().pings(name)
    }

    /// (name, status, last success) of every check.
    pub fn summary(&self, now: Timestamp) -> Vec<(String, Status, Option<Timestamp>)> {
        self.lock()
            .summary(now)
            .into_iter()
            .map(|(n, s, t)| (n.to_owned(), s, t))
            .collect()
    }

    /// The state of every check, for a store.
    pub fn snapshot(&self) -> BTreeMap<String, CheckState> {
        self.lock().snapshot()
    }

    /// Restores persisted state; returns the alerts to put (still raised, or expired meanwhile).
    pub fn restore(&self, states: BTreeMap<String, CheckState>, now: Timestamp) -> Vec<Alert> {
        self.mark_all();
        self.with(|r| r.restore(states, now))
    }

    /// Takes the deadlines due at `now`.
    pub fn tick(&self, now: Timestamp) -> Vec<Alert> {
        let out = self.lock().tick(now);
        for a in &out {
            if let Some(name) = a.labels.value("heartbeat") {
                self.mark(name);
            }
        }
        out
    }

    /// The timer loop: sleeps until the earliest deadline (at least [`TICK_GRANULARITY`] after
    /// the previous wake-up), hands the alerts of checks that went down to `emit`, until
    /// `cancel`.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken, emit: impl Fn(Vec<Alert>)) {
        loop {
            let now = clock::now();
            let alerts = self.tick(now);
            if !alerts.is_empty() {
                emit(alerts);
            }
            let wait = match self.lock().next_wakeup() {
                Some(t) => {
                    let d = now.duration_until(t);
                    std::time::Duration::try_from(d).unwrap_or_default()
                }
                None => std::time::Duration::from_secs(24 * 3600),
            }
            .max(TICK_GRANULARITY);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {
                    // Keep the granularity: a burst of pings must not spin this loop.
                    tokio::select! {
                        _ = tokio::time::sleep(TICK_GRANULARITY) => {}
                        _ = cancel.cancelled() => return,
                    }
                }
                _ = cancel.cancelled() => return,
            }
        }
    }
}
