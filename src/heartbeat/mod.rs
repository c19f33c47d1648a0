//! The heartbeat watchdog: inbound checks that raise an alert when pings stop (or report
//! failure), and the health verdict of the outbound dead man's switch.
//!
//! - `check`: one check's settings and state machine (healthchecks.io's states new, up,
//!   started, grace, down, paused; `rid` pairing; exit codes; N failures; minimum duration;
//!   too many pings; keywords).
//! - `registry`: every check, one heap of deadlines, the alerts transitions produce, and
//!   `snapshot`/`restore` of the state (no file I/O here: a store persists the snapshot).
//! - `deadman`: whether tocsin is healthy enough to ping its dead man's switch targets.
//! - [`replica`]: a check's state across a cluster (the merge law, the published form): a ping
//!   received by any peer counts on every peer.
//! - [`Heartbeats`]: the shared handle (a `std::sync::Mutex` around the registry: every
//!   operation is short and none holds the lock across an `.await`) and [`Heartbeats::run`],
//!   the one timer loop, which sleeps until the earliest deadline.
//!
//! Heartbeats enter the pipeline as alerts: the caller puts what these functions return into the
//! alert store and hands it to dispatch, so routing, grouping, silences and repeats apply.
//!
//! Storage: a check is stored as two entries, its state without the ping log (small: written
//! by every ping, under the registry lock, before the ping is answered) and its ping log (the
//! last [`PING_HISTORY`] pings: written at shutdown and when the store is rewritten, so a busy
//! check does not rewrite its whole log per ping). Other changes (deadlines passing, pause,
//! resume, reload, alert-fed checks) mark the checks they touch; [`Heartbeats::store_marked`]
//! writes those (the app calls it every second).
//! Layer L2: imports `model`, `config`, `clock`, `alerts`, `storage`.

mod check;
pub mod deadman;
mod registry;
pub mod replica;
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
use crate::storage::{Change, Journal, Kind};

/// The suffix of the key of a check's ping log (the name's key is the name).
const PINGS_KEY: &[u8] = b"\0pings";

/// A check's state without its ping log, as storage keeps it (JSON, [`CheckState`]'s field
/// names: it reads back as a [`CheckState`] with an empty log).
pub fn encode_core(s: &CheckState) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Core<'a> {
        stored: &'a Stored,
        last_ping: Option<Timestamp>,
        last_success: Option<Timestamp>,
        due: Option<Timestamp>,
        runs: &'a [Run],
        last_duration: Option<jiff::SignedDuration>,
        last_message: &'a str,
        failures: u32,
        recent: &'a std::collections::VecDeque<(Timestamp, Option<Timestamp>)>,
        n_pings: u64,
        raised: &'a Option<Raised>,
        changed: Option<Timestamp>,
    }
    serde_json::to_vec(&Core {
        stored: &s.stored,
        last_ping: s.last_ping,
        last_success: s.last_success,
        due: s.due,
        runs: &s.runs,
        last_duration: s.last_duration,
        last_message: &s.last_message,
        failures: s.failures,
        recent: &s.recent,
        n_pings: s.n_pings,
        raised: &s.raised,
        changed: s.changed,
    })
    .unwrap_or_default()
}

/// The storage changes that write a check's state (and its ping log, when `with_pings`).
fn state_changes(name: &str, s: &CheckState, with_pings: bool, out: &mut Vec<Change>) {
    out.push(Change::put(
        Kind::Heartbeats,
        name.as_bytes(),
        encode_core(s),
    ));
    if with_pings {
        out.push(Change::put(
            Kind::Heartbeats,
            pings_key(name),
            serde_json::to_vec(&s.pings).unwrap_or_default(),
        ));
    }
}

fn pings_key(name: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    k.extend_from_slice(PINGS_KEY);
    k
}

/// Reads back what storage holds (states and ping logs) as the states to restore.
pub fn decode_stored(
    entries: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<BTreeMap<String, CheckState>, serde_json::Error> {
    let mut states = BTreeMap::new();
    let mut logs = Vec::new();
    for (k, v) in entries {
        match k.strip_suffix(PINGS_KEY) {
            Some(name) => logs.push((String::from_utf8_lossy(name).into_owned(), v)),
            None => {
                let s: CheckState = serde_json::from_slice(&v)?;
                states.insert(String::from_utf8_lossy(&k).into_owned(), s);
            }
        }
    }
    for (name, v) in logs {
        if let Some(s) = states.get_mut(&name) {
            s.pings = serde_json::from_slice(&v)?;
        }
    }
    Ok(states)
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
    /// Where check states go to be stored (set once the stored states are restored).
    journal: std::sync::OnceLock<Journal>,
    /// Bumped after every change of a check's state (the cluster publishes the states then).
    changes: tokio::sync::watch::Sender<u64>,
    /// The checks changed since the cluster last took their states ([`Heartbeats::take_replica`]).
    replica: Mutex<Dirty>,
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
        self.bump(None);
        out
    }

    /// A check's state changed (`None`: any may have): the cluster publishes it.
    fn bump(&self, name: Option<&str>) {
        {
            let mut d = self.replica.lock().unwrap_or_else(|p| p.into_inner());
            match name {
                Some(n) if !d.all => {
                    if !d.names.contains(n) {
                        d.names.insert(n.to_owned());
                    }
                }
                Some(_) => {}
                None => d.all = true,
            }
        }
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The published form of the checks changed since the last call (`replica::encode`; `None`
    /// for a check now blank or gone), and whether every check may have changed (then every
    /// check is in the answer).
    pub fn take_replica(&self) -> (Vec<(String, Option<String>)>, bool) {
        let Dirty { names, all } =
            std::mem::take(&mut *self.replica.lock().unwrap_or_else(|p| p.into_inner()));
        let r = self.lock();
        let encode = |s: &CheckState| (!replica::is_blank(s)).then(|| replica::encode(s));
        if all {
            let out = r.states().map(|(n, s)| (n.to_owned(), encode(s))).collect();
            return (out, true);
        }
        let out = names
            .into_iter()
            .map(|n| {
                let v = r.state_of(&n).and_then(encode);
                (n, v)
            })
            .collect();
        (out, false)
    }

    /// A receiver told after every change of a check's state.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Merges a state another peer published for the named check (`replica::merge`); a
    /// change is stored like any other. Returns the alerts to put (see `Registry::merge`).
    pub fn merge_replica(&self, name: &str, remote: &CheckState) -> Vec<Alert> {
        let out = self.lock().merge(name, remote);
        match out {
            Some(alerts) => {
                self.mark(name);
                self.wake.notify_one();
                self.bump(Some(name));
                alerts
            }
            None => Vec::new(),
        }
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

    /// Sends every later change to `journal` (called once, before the stored states are
    /// restored).
    pub fn set_journal(&self, journal: Journal) {
        let _ = self.journal.set(journal);
    }

    /// Writes the state of the checks marked since the last call (a removed check is deleted).
    /// Queued under the registry lock, so a ping's own write is never overtaken by an older
    /// state.
    pub fn store_marked(&self) {
        let Some(j) = self.journal.get() else {
            return;
        };
        let Dirty { names, all } = std::mem::take(&mut *self.dirty());
        let r = self.lock();
        let mut out = Vec::new();
        if all {
            for (n, s) in r.states() {
                state_changes(n, s, false, &mut out);
            }
        } else {
            for n in names {
                match r.state_of(&n) {
                    Some(s) => state_changes(&n, s, false, &mut out),
                    None => {
                        out.push(Change::delete(Kind::Heartbeats, n.as_bytes()));
                        out.push(Change::delete(Kind::Heartbeats, pings_key(&n)));
                    }
                }
            }
        }
        if !out.is_empty() {
            j.submit(out);
        }
    }

    /// Writes every check's state and ping log (at shutdown).
    pub fn store_all(&self) {
        if let Some(j) = self.journal.get() {
            j.submit(self.snapshot_changes());
        }
    }

    /// Every check's state and ping log as storage changes (what a rewrite of the store
    /// writes).
    pub fn snapshot_changes(&self) -> Vec<Change> {
        let r = self.lock();
        let mut out = Vec::new();
        for (n, s) in r.states() {
            state_changes(n, s, true, &mut out);
        }
        out
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

    /// Applies a ping; its new state is queued to storage (wait with [`Journal::sync`] before
    /// answering).
    pub fn ping(&self, name: &str, ping: &Ping) -> Result<Vec<Alert>, CheckError> {
        let (out, earlier) = {
            let mut r = self.lock();
            let before = r.next_wakeup();
            let out = r.ping(name, ping);
            // Stored before the ping is answered (the caller waits for the journal).
            if out.is_ok()
                && let Some(j) = self.journal.get()
                && let Some(s) = r.state_of(name)
            {
                let mut c = Vec::with_capacity(1);
                state_changes(name, s, false, &mut c);
                j.submit(c);
            }
            (out, r.next_wakeup() < before || before.is_none())
        };
        // Most pings move a deadline later, which needs no wake-up.
        if earlier {
            self.wake.notify_one();
        }
        if out.is_ok() {
            self.bump(Some(name));
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
    pub fn resume(&self, name: &str, now: Timestamp) -> Result<(), CheckError> {
        self.mark(name);
        self.with(|r| r.resume(name, now))
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
                self.bump(Some(name));
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
