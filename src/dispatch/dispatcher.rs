//! The dispatcher: routes ingested alerts into aggregation groups and flushes each group on its
//! timers through the notifier.
//!
//! All groups share one scheduler task and one heap of deadlines (no task per group). Ingest
//! inserts under a `std::sync::Mutex` and returns; the scheduler pops due groups, snapshots their
//! alerts and spawns the notification, so notifying never waits behind ingest and ingest never
//! waits behind a slow receiver. No lock is held across an `.await`.
//!
//! Timers follow Alertmanager (reference §4.2): the first flush after `group_wait` (at once for
//! an alert older than that), then every `group_interval`; resolved alerts leave the group after
//! a successful flush; an empty group is destroyed. Two changes: `repeat_interval` is exact (a
//! wake-up is scheduled for the instant the repeat is due), and a flush still retrying when the
//! next tick comes is not cancelled: the tick waits for it and runs right after, unless the
//! group's state (its alerts, firing or resolved) changed meanwhile: then the newer state
//! supersedes the flush in flight, which is abandoned, and goes out at once. Every request has
//! a deadline (see `notify::pipeline`), so no receiver can hold a group forever.
//!
//! Shutdown stops the scheduler (the cancellation token) but not the flushes in flight:
//! [`Dispatcher::drain`] waits for them up to a deadline, then cancels what is left (the
//! `sends` token, which the app also hands to the notifier). A flush cut off that way leaves its
//! group's record "in flight", so it is done again at once after the restart.
//!
//! Timers survive a restart: each flush hands the group's timer record ([`GroupRecord`]: the
//! next regular tick, an earlier wake-up such as an exact repeat, whether a flush is in flight)
//! to the storage journal without waiting for it (no fsync on the flush path), and a destroyed
//! group's record is deleted. [`Dispatcher::restore`] rebuilds the groups from the stored
//! alerts and these records: a group keeps its schedule (its next flush passed while tocsin was
//! down: once at start-up), a group whose flush was in flight at the stop flushes at once, and
//! a group never flushed waits what is left of its `group_wait`, counted from its oldest alert's
//! start.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::route::{RouteSettings, RouteTree, group_key, group_labels, matching_routes};
use crate::clock;
use crate::config::Route;
use crate::inhibit::{Inhibitor, Released};
use crate::metrics::Metrics;
use crate::model::{Alert, Fingerprint, LabelSet};
use crate::notify::{FlushCtx, FlushOutcome, Notifier};
use crate::storage::{Change, Journal, Kind};

/// Identifies an aggregation group: the route's identity and the group labels' fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct GroupId(u64, Fingerprint);

/// One aggregation group.
struct Group {
    /// The route's settings.
    route: Arc<RouteSettings>,
    /// The group labels.
    labels: LabelSet,
    /// The group key.
    key: Arc<str>,
    /// The alerts, by fingerprint.
    alerts: HashMap<Fingerprint, Arc<Alert>>,
    /// The next regular tick (group_wait, then every group_interval).
    next_tick: Instant,
    /// An extra wake-up when a repeat notification is due.
    repeat_at: Option<Instant>,
    /// The deadline currently in the heap for this group.
    scheduled: Option<Instant>,
    /// The flush running now, if any.
    flight: Option<Flight>,
    /// Numbers the flushes of this group, so a superseded one's outcome is ignored.
    flights: u64,
    /// A tick came while a flush was running (and the group's state had not changed).
    pending: bool,
    /// The group has been flushed at least once (group_wait is over).
    flushed: bool,
}

/// A flush in progress.
struct Flight {
    /// Its number among the group's flushes.
    number: u64,
    /// [`state_of`] the alerts it carries, at its flush time.
    state: u64,
    /// Cancels it when a newer state of the group supersedes it.
    cancel: CancellationToken,
}

/// What a notification's dedup looks at, hashed: which alerts the group has and which of them
/// are resolved at `now` (an order-independent sum, so no sort and no copy).
fn state_of<'a>(alerts: impl Iterator<Item = &'a Arc<Alert>>, now: Timestamp) -> u64 {
    alerts.fold(0u64, |sum, a| {
        // splitmix64's finalizer spreads each (fingerprint, resolved) pair over the word.
        let mut z = a.fingerprint.0
            ^ if a.resolved_at(now) {
                0x9e37_79b9_7f4a_7c15
            } else {
                0
            };
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        sum.wrapping_add(z ^ (z >> 31))
    })
}

/// A group as [`Dispatcher::flush_now_where`] shows it to its predicate.
pub struct GroupRef<'a> {
    /// The route's settings.
    pub route: &'a RouteSettings,
    /// The group labels.
    pub labels: &'a LabelSet,
    /// The alerts.
    alerts: &'a HashMap<Fingerprint, Arc<Alert>>,
}

impl GroupRef<'_> {
    /// The group's alerts (unordered).
    pub fn alerts(&self) -> impl Iterator<Item = &Arc<Alert>> {
        self.alerts.values()
    }
}

/// A snapshot of a group for the API.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// The group labels.
    pub labels: LabelSet,
    /// The receiver.
    pub receiver: Arc<str>,
    /// The route's settings (its time intervals, for `mutedBy`).
    pub route: Arc<RouteSettings>,
    /// The alerts.
    pub alerts: Vec<Arc<Alert>>,
    /// The group key (as the notification log records it).
    pub key: Arc<str>,
}

struct State {
    tree: Arc<RouteTree>,
    notifier: Arc<Notifier>,
    groups: HashMap<GroupId, Group>,
    /// Deadlines; an entry is stale unless it equals its group's `scheduled`.
    timers: BinaryHeap<Reverse<(Instant, GroupId)>>,
}

struct Inner {
    state: Mutex<State>,
    /// Threads waiting for `state` that a bulk reader must let in first (see
    /// [`Dispatcher::lock_bulk`]).
    waiting: AtomicUsize,
    wake: Notify,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    /// Cancels the flushes in flight (at the end of [`Dispatcher::drain`]).
    sends: CancellationToken,
    /// Flush tasks running now.
    in_flight: AtomicUsize,
    /// Woken when the last flush task ends.
    idle: Notify,
    /// Where timer records go (set once at start-up; none: kept nowhere).
    journal: std::sync::OnceLock<Journal>,
}

/// What storage keeps of a group's timers: enough to continue its schedule after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRecord {
    /// The next regular tick (group_wait, then every group_interval), wall clock.
    pub next_tick: Timestamp,
    /// An earlier wake-up (an exact repeat, the end of a hold), if any.
    pub wake: Option<Timestamp>,
    /// The group has been flushed at least once (its group_wait is over).
    pub flushed: bool,
    /// A flush was in flight (not yet answered): it is done again at once after a restart.
    pub in_flight: bool,
}

impl GroupRecord {
    /// Its storage encoding: a version byte (1), `next_tick` and `wake` in Unix milliseconds
    /// (i64, little-endian; `wake` absent: `i64::MIN`), a flags byte (1: flushed, 2: in flight).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18);
        out.push(1);
        out.extend_from_slice(&self.next_tick.as_millisecond().to_le_bytes());
        let wake = self.wake.map_or(i64::MIN, |w| w.as_millisecond());
        out.extend_from_slice(&wake.to_le_bytes());
        out.push(u8::from(self.flushed) | (u8::from(self.in_flight) << 1));
        out
    }

    /// Reads [`GroupRecord::encode`]'s bytes back.
    pub fn decode(b: &[u8]) -> Result<Self, String> {
        let bad = || format!("a group timer record of {} bytes does not decode", b.len());
        if b.len() != 18 || b[0] != 1 || b[17] > 3 {
            return Err(bad());
        }
        let ms = |r: &[u8]| i64::from_le_bytes(r.try_into().unwrap_or([0; 8]));
        let ts = |v: i64| Timestamp::from_millisecond(v).map_err(|_| bad());
        let wake = match ms(&b[9..17]) {
            i64::MIN => None,
            v => Some(ts(v)?),
        };
        Ok(GroupRecord {
            next_tick: ts(ms(&b[1..9]))?,
            wake,
            flushed: b[17] & 1 != 0,
            in_flight: b[17] & 2 != 0,
        })
    }
}

impl GroupId {
    /// The storage key: the route identity and the group labels' fingerprint, big-endian.
    fn key(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.0.to_be_bytes());
        k[8..].copy_from_slice(&self.1.0.to_be_bytes());
        k
    }

    fn from_key(k: &[u8]) -> Option<GroupId> {
        let k: [u8; 16] = k.try_into().ok()?;
        let (a, b) = k.split_at(8);
        Some(GroupId(
            u64::from_be_bytes(a.try_into().ok()?),
            Fingerprint(u64::from_be_bytes(b.try_into().ok()?)),
        ))
    }
}

/// `t` (a tokio instant) on the wall clock.
fn to_wall(t: Instant, now: Instant, wall: Timestamp) -> Timestamp {
    let d = t.saturating_duration_since(now);
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| wall.checked_add(d).ok())
        .unwrap_or(wall)
}

impl Group {
    /// Its timer record.
    fn record(&self, now: Instant, wall: Timestamp) -> GroupRecord {
        GroupRecord {
            next_tick: to_wall(self.next_tick, now, wall),
            wake: self.repeat_at.map(|t| to_wall(t, now, wall)),
            flushed: self.flushed,
            in_flight: self.flight.is_some(),
        }
    }
}

fn put_record(id: GroupId, g: &Group, now: Instant, wall: Timestamp) -> Change {
    Change::put(Kind::Groups, id.key(), g.record(now, wall).encode())
}

fn delete_record(id: GroupId) -> Change {
    Change::delete(Kind::Groups, id.key())
}

/// The dispatcher handle. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct FlushJob {
    id: GroupId,
    /// The flight's number (see [`Group::flights`]).
    number: u64,
    ctx: FlushCtx,
    alerts: Vec<Arc<Alert>>,
    notifier: Arc<Notifier>,
}

fn to_instant(t: Timestamp, now_wall: Timestamp, now: Instant) -> Instant {
    let d = t.duration_since(now_wall);
    match std::time::Duration::try_from(d) {
        Ok(ahead) => now + ahead,
        Err(_) => now,
    }
}

impl Dispatcher {
    /// A dispatcher over `tree`, flushing through `notifier`. Call [`Dispatcher::run`] to start
    /// its scheduler.
    pub fn new(
        tree: Arc<RouteTree>,
        notifier: Arc<Notifier>,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
    ) -> Self {
        Self::with_sends(tree, notifier, metrics, cancel, CancellationToken::new())
    }

    /// [`Dispatcher::new`], with `sends` cancelling the flushes in flight when
    /// [`Dispatcher::drain`] gives up on them (give the notifier the same token, so its retry
    /// loops end then too). `cancel` only stops the scheduler.
    pub fn with_sends(
        tree: Arc<RouteTree>,
        notifier: Arc<Notifier>,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
        sends: CancellationToken,
    ) -> Self {
        Dispatcher {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    tree,
                    notifier,
                    groups: HashMap::new(),
                    timers: BinaryHeap::new(),
                }),
                waiting: AtomicUsize::new(0),
                wake: Notify::new(),
                metrics,
                cancel,
                sends,
                in_flight: AtomicUsize::new(0),
                idle: Notify::new(),
                journal: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Keeps the groups' timer records in `journal` from now on (set once, at start-up, before
    /// [`Dispatcher::restore`]).
    pub fn set_journal(&self, journal: Journal) {
        let _ = self.inner.journal.set(journal);
    }

    /// Hands changes to the journal (not waited for).
    fn record(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        if let Some(j) = self.inner.journal.get() {
            j.submit(changes);
        }
    }

    /// Every group's timer record, as changes (what storage rewrites from memory after a
    /// failed write).
    pub fn snapshot_changes(&self) -> Vec<Change> {
        let now = clock::instant();
        let wall = clock::now();
        let st = self.lock_bulk();
        st.groups
            .iter()
            .map(|(id, g)| put_record(*id, g, now, wall))
            .collect()
    }

    /// Rebuilds the groups at start-up from the stored alerts and the groups' timer records
    /// (storage's `groups` table), so every group continues its schedule:
    ///
    /// - a group with a record waits for its next tick or earlier wake-up (at once when that
    ///   passed while tocsin was down); one whose flush was in flight flushes at once;
    /// - a group without one (never flushed, or its route changed) waits what is left of its
    ///   `group_wait` counted from the earliest start among its alerts (at once when that is
    ///   over).
    ///
    /// Records of groups that no longer exist are deleted. A record that does not decode is an
    /// error (the caller stops start-up, as for any damaged entry).
    pub fn restore(
        &self,
        alerts: &[Arc<Alert>],
        records: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), String> {
        let mut recs: HashMap<GroupId, GroupRecord> = HashMap::with_capacity(records.len());
        let mut stale = Vec::new();
        for (k, v) in records {
            let id = GroupId::from_key(&k)
                .ok_or_else(|| format!("a group timer key of {} bytes", k.len()))?;
            recs.insert(id, GroupRecord::decode(&v)?);
        }
        let now = clock::instant();
        let wall = clock::now();
        let tree = self.tree();
        {
            let mut st = self.lock();
            let st = &mut *st;
            for a in alerts {
                for r in route_alert(&tree, a) {
                    insert(st, r, now, wall);
                }
            }
            for (id, g) in st.groups.iter_mut() {
                let first = match recs.remove(id) {
                    Some(rec) => {
                        g.flushed = rec.flushed;
                        g.next_tick = to_instant(rec.next_tick, wall, now);
                        g.repeat_at = rec.wake.map(|w| to_instant(w, wall, now));
                        if rec.in_flight {
                            now
                        } else {
                            g.repeat_at.map_or(g.next_tick, |w| w.min(g.next_tick))
                        }
                    }
                    None => {
                        let oldest = g.alerts.values().map(|a| a.starts_at).min();
                        let wait = SignedDuration::try_from(g.route.group_wait)
                            .unwrap_or(SignedDuration::MAX);
                        let due = oldest
                            .and_then(|t| t.checked_add(wait).ok())
                            .map_or(now, |t| to_instant(t, wall, now));
                        g.next_tick = due.min(now + g.route.group_wait);
                        g.next_tick
                    }
                };
                g.scheduled = None;
                schedule(&mut st.timers, g, *id, first);
            }
            stale.extend(recs.into_keys().map(delete_record));
            self.inner
                .metrics
                .aggregation_groups
                .set(st.groups.len() as i64);
        }
        self.record(stale);
        self.inner.wake.notify_one();
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        if let Ok(g) = self.inner.state.try_lock() {
            return g;
        }
        self.inner.waiting.fetch_add(1, Ordering::AcqRel);
        let g = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.waiting.fetch_sub(1, Ordering::AcqRel);
        g
    }

    /// The lock for one slice of a bulk read (the API's snapshot of every group): it lets
    /// anyone already waiting (ingest, the scheduler) go first. A std mutex is not fair: a
    /// reader that takes it again right after letting go would otherwise keep it until the
    /// whole snapshot is done, and a one-alert POST would wait seconds behind a million groups.
    fn lock_bulk(&self) -> MutexGuard<'_, State> {
        while self.inner.waiting.load(Ordering::Acquire) > 0 {
            std::thread::yield_now();
        }
        self.lock()
    }

    /// How late the scheduler is with its earliest due flush, if later than `slack` (a stuck
    /// scheduler; the dead man's switch stops pinging then).
    pub fn overdue(&self, slack: std::time::Duration) -> Option<std::time::Duration> {
        let now = clock::instant();
        let st = self.lock();
        let Reverse((due, _)) = st.timers.peek()?;
        let late = now.checked_duration_since(*due)?;
        (late > slack).then_some(late)
    }

    /// The current routing tree.
    pub fn tree(&self) -> Arc<RouteTree> {
        Arc::clone(&self.lock().tree)
    }

    /// The current notifier (its receivers and their integrations).
    pub fn notifier(&self) -> Arc<Notifier> {
        Arc::clone(&self.lock().notifier)
    }

    /// Routes alerts (already merged in the store) into their groups.
    ///
    /// Routing and group labels are computed before the lock is taken, and a large batch is
    /// inserted a slice at a time, so the scheduler and small requests never wait long behind a
    /// big POST.
    pub fn ingest(&self, alerts: &[Arc<Alert>]) {
        const SLICE: usize = 64;
        let now = clock::instant();
        let wall = clock::now();
        let mut created = false;
        let tree = self.tree();
        for chunk in alerts.chunks(SLICE) {
            // Outside the lock: a flush waiting for it is not held up by the yield.
            crate::workers::courtesy();
            let routed: Vec<Routed> = chunk.iter().flat_map(|a| route_alert(&tree, a)).collect();
            let mut st = self.lock();
            let st = &mut *st;
            if Arc::ptr_eq(&st.tree, &tree) {
                for r in routed {
                    created |= insert(st, r, now, wall);
                }
            } else {
                // A reload swapped the tree meanwhile: route again under the lock.
                let current = Arc::clone(&st.tree);
                for a in chunk {
                    for r in route_alert(&current, a) {
                        created |= insert(st, r, now, wall);
                    }
                }
            }
            self.inner
                .metrics
                .aggregation_groups
                .set(st.groups.len() as i64);
        }
        if created {
            self.inner.wake.notify_one();
        }
    }

    /// Replaces the routing tree and the notifier, and moves every alert to where the new tree
    /// sends it.
    ///
    /// `stored` is the store's content, read before the call. A route whose identity
    /// ([`RouteSettings::identity`]) is unchanged keeps its groups, their alerts and timers: the
    /// identity covers everything that decides which alerts reach the route, so exactly the
    /// same alerts reach it. Every other group is dropped and its alerts are routed again, into
    /// new groups that flush as Alertmanager's do after a reload (at once for alerts older than
    /// `group_wait`; the notification log suppresses what the receiver already knows). A
    /// resolved alert still waiting for its resolve to be sent moves with the rest. A version of
    /// an alert newer than the one in `stored` (ingested meanwhile) is never replaced by the
    /// older copy.
    pub fn reload(&self, tree: Arc<RouteTree>, notifier: Arc<Notifier>, stored: &[Arc<Alert>]) {
        let now = clock::instant();
        let wall = clock::now();
        let old_tree = self.tree();
        let old_ids: HashSet<u64> = old_tree.settings.values().map(|s| s.identity).collect();
        let new_ids: HashSet<u64> = tree.settings.values().map(|s| s.identity).collect();
        // Routing is the expensive part: done before taking the lock, for changed routes only.
        let routed: Vec<Routed> = stored
            .iter()
            .flat_map(|a| route_alert(&tree, a))
            .filter(|r| !old_ids.contains(&r.settings.identity))
            .collect();
        let mut guard = self.lock();
        let st = &mut *guard;
        st.tree = Arc::clone(&tree);
        st.notifier = notifier;
        // The alerts of dropped groups, newest version of each; `true` once `stored` holds that
        // version (or a newer one) and it has been routed from there.
        let mut moved: HashMap<Fingerprint, (Arc<Alert>, bool)> = HashMap::new();
        let mut dropped = Vec::new();
        if !old_ids.is_subset(&new_ids) {
            st.groups.retain(|id, g| {
                if new_ids.contains(&id.0) {
                    return true;
                }
                dropped.push(delete_record(*id));
                for (fp, a) in g.alerts.drain() {
                    let e = moved.entry(fp).or_insert_with(|| (Arc::clone(&a), false));
                    if a.updated_at > e.0.updated_at {
                        e.0 = a;
                    }
                }
                false
            });
        }
        let wanted = |st: &mut State, r: Routed<'_>, pending: bool| {
            // A resolved alert is only carried over when its resolve is still pending.
            if pending || !r.alert.resolved_at(wall) {
                insert(st, r, now, wall);
            }
        };
        for r in routed {
            let fp = r.alert.fingerprint;
            let pending = match moved.get_mut(&fp) {
                Some((m, _)) if m.updated_at > r.alert.updated_at => continue, // routed below
                Some((_, covered)) => {
                    *covered = true;
                    true
                }
                None => false,
            };
            wanted(st, r, pending);
        }
        for (a, _) in moved.into_values().filter(|(_, covered)| !covered) {
            for r in route_alert(&tree, &a) {
                wanted(st, r, true);
            }
        }
        self.inner
            .metrics
            .aggregation_groups
            .set(st.groups.len() as i64);
        self.inner.wake.notify_one();
        drop(guard);
        self.record(dropped);
    }

    /// Flushes at once (a millisecond from now, so that what ended "now" has ended when the
    /// flush looks) every group past its group_wait for which `pred` holds, keeping its regular
    /// cadence: for when something that held notifications back changes (a silence is expired,
    /// replaced or shortened, an inhibiting alert resolves). Dedup against the notification log
    /// decides what is sent. Returns how many groups were woken.
    pub fn flush_now_where(&self, pred: impl Fn(&GroupRef<'_>) -> bool) -> usize {
        let now = clock::instant() + std::time::Duration::from_millis(1);
        let mut st = self.lock();
        let st = &mut *st;
        let mut woken = 0;
        for (id, g) in st.groups.iter_mut() {
            let view = GroupRef {
                route: &g.route,
                labels: &g.labels,
                alerts: &g.alerts,
            };
            if g.flushed && pred(&view) {
                schedule(&mut st.timers, g, *id, now);
                woken += 1;
            }
        }
        if woken > 0 {
            self.inner.wake.notify_one();
        }
        woken
    }

    /// Flushes now the groups holding a target that an inhibiting alert just released
    /// ([`Inhibitor::observe`]'s answer): a target held back from the start is notified at once.
    pub fn flush_released(&self, ih: &Inhibitor, released: &[Released]) -> usize {
        if released.is_empty() {
            return 0;
        }
        self.flush_now_where(|g| {
            g.alerts()
                .any(|a| released.iter().any(|r| ih.was_target_of(r, &a.labels)))
        })
    }

    /// The fingerprints of every alert some group still holds (a resolved one is held until
    /// its resolve was sent): storage keeps these even after the alert store let them go.
    pub fn held_fingerprints(&self) -> HashSet<Fingerprint> {
        let st = self.lock();
        st.groups
            .values()
            .flat_map(|g| g.alerts.keys().copied())
            .collect()
    }

    /// A snapshot of every group.
    ///
    /// Taken a slice of groups at a time (ingest and the scheduler get in between), so a group
    /// that changes meanwhile is seen as it was before or after the change. Call it off the
    /// async workers: at a million groups it is a lot of copying.
    pub fn groups(&self) -> Vec<GroupView> {
        const SLICE: usize = 512;
        let ids: Vec<GroupId> = self.lock_bulk().groups.keys().copied().collect();
        let mut out = Vec::with_capacity(ids.len());
        for slice in ids.chunks(SLICE) {
            let st = self.lock_bulk();
            out.extend(
                slice
                    .iter()
                    .filter_map(|id| st.groups.get(id))
                    .map(|g| GroupView {
                        labels: g.labels.clone(),
                        receiver: Arc::clone(&g.route.receiver),
                        route: Arc::clone(&g.route),
                        alerts: g.alerts.values().cloned().collect(),
                        key: Arc::clone(&g.key),
                    }),
            );
        }
        out
    }

    /// Runs the scheduler until the cancellation token fires.
    pub async fn run(self) {
        loop {
            let next = {
                let st = self.lock();
                st.timers.peek().map(|Reverse((t, _))| *t)
            };
            tokio::select! {
                _ = async {
                    match next {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                } => {}
                _ = self.inner.wake.notified() => {}
                _ = self.inner.cancel.cancelled() => return,
            }
            for job in self.due_jobs() {
                let me = self.clone();
                self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
                tokio::spawn(async move {
                    let outcome = job.notifier.flush(&job.ctx, job.alerts.clone()).await;
                    me.flush_done(job.id, job.number, &job.alerts, job.ctx.now, outcome);
                    if me.inner.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
                        me.inner.idle.notify_waiters();
                    }
                });
            }
        }
    }

    /// Resolves once no flush is running.
    async fn idle(&self) {
        loop {
            let woken = self.inner.idle.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.inner.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            woken.await;
        }
    }

    /// For shutdown, once the scheduler stopped: waits up to `within` for the flushes in flight
    /// to finish (a slow receiver answering, a retry succeeding), then cancels the rest and
    /// returns how many were cut off. Their groups' records stay "in flight": they are sent
    /// again at once after the restart.
    pub async fn drain(&self, within: std::time::Duration) -> usize {
        if tokio::time::timeout(within, self.idle()).await.is_ok() {
            return 0;
        }
        let left = self.inner.in_flight.load(Ordering::Acquire);
        self.inner.sends.cancel();
        // Cancelled sends end at once; give them a moment to say so.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.idle()).await;
        left
    }

    /// Pops due deadlines and prepares their flushes.
    fn due_jobs(&self) -> Vec<FlushJob> {
        let now = clock::instant();
        let wall = clock::now();
        let mut guard = self.lock();
        let st = &mut *guard;
        let mut jobs = Vec::new();
        let mut changes = Vec::new();
        while let Some(Reverse((t, id))) = st.timers.peek().copied() {
            if t > now {
                break;
            }
            st.timers.pop();
            let Some(g) = st.groups.get_mut(&id) else {
                continue;
            };
            if g.scheduled != Some(t) {
                continue; // stale entry
            }
            g.scheduled = None;
            if let Some(f) = &g.flight {
                // A newer state of the group supersedes the flush still in flight (retrying, or
                // waiting on a receiver that does not answer): it is abandoned and the current
                // state is sent now. The same state waits for it instead.
                if f.state == state_of(g.alerts.values(), wall) {
                    g.pending = true;
                    continue;
                }
                f.cancel.cancel();
                g.flight = None;
                g.pending = false;
            }
            if t >= g.next_tick {
                // Alertmanager resets the timer before flushing: the cadence does not drift.
                g.next_tick = now + g.route.group_interval;
            }
            g.repeat_at = None;
            if g.alerts.is_empty() {
                st.groups.remove(&id);
                changes.push(delete_record(id));
                continue;
            }
            g.flushed = true;
            g.flights += 1;
            let cancel = self.inner.sends.child_token();
            g.flight = Some(Flight {
                number: g.flights,
                state: state_of(g.alerts.values(), wall),
                cancel: cancel.clone(),
            });
            jobs.push(FlushJob {
                id,
                number: g.flights,
                ctx: FlushCtx {
                    receiver: Arc::clone(&g.route.receiver),
                    group_key: Arc::clone(&g.key),
                    group_labels: g.labels.clone(),
                    repeat_interval: g.route.repeat_interval,
                    active_time_intervals: Arc::clone(&g.route.active_time_intervals),
                    mute_time_intervals: Arc::clone(&g.route.mute_time_intervals),
                    group_interval: g.route.group_interval,
                    now: wall,
                    cancel,
                },
                alerts: g.alerts.values().cloned().collect(),
                notifier: Arc::clone(&st.notifier),
            });
            let next = g.next_tick;
            schedule(&mut st.timers, g, id, next);
            changes.push(put_record(id, g, now, wall));
        }
        self.inner
            .metrics
            .aggregation_groups
            .set(st.groups.len() as i64);
        drop(guard);
        self.record(changes);
        jobs
    }

    /// Applies a flush's outcome: drops flushed resolved alerts on success, schedules an exact
    /// repeat, and runs a tick that came while the flush was in flight. The outcome of a flush
    /// that a newer one superseded is ignored.
    fn flush_done(
        &self,
        id: GroupId,
        number: u64,
        flushed: &[Arc<Alert>],
        at: Timestamp,
        o: FlushOutcome,
    ) {
        if self.inner.sends.is_cancelled() {
            // Cut off by shutdown: the record stays "in flight", sent again after the restart.
            return;
        }
        let now = clock::instant();
        let wall = clock::now();
        let mut guard = self.lock();
        let st = &mut *guard;
        let Some(g) = st.groups.get_mut(&id) else {
            return;
        };
        if g.flight.as_ref().is_none_or(|f| f.number != number) {
            return;
        }
        g.flight = None;
        let change = self.settle(st, id, flushed, at, o, now, wall);
        drop(guard);
        self.record(vec![change]);
    }

    /// [`Dispatcher::flush_done`] under the lock; returns the group's new timer record (or its
    /// deletion).
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        st: &mut State,
        id: GroupId,
        flushed: &[Arc<Alert>],
        at: Timestamp,
        o: FlushOutcome,
        now: Instant,
        wall: Timestamp,
    ) -> Change {
        let Some(g) = st.groups.get_mut(&id) else {
            return delete_record(id);
        };
        if o.ok {
            for a in flushed.iter().filter(|a| a.resolved_at(at)) {
                // Only if not modified since the flush.
                if g.alerts
                    .get(&a.fingerprint)
                    .is_some_and(|cur| Arc::ptr_eq(cur, a))
                {
                    g.alerts.remove(&a.fingerprint);
                }
            }
            if g.alerts.is_empty() {
                st.groups.remove(&id);
                self.inner
                    .metrics
                    .aggregation_groups
                    .set(st.groups.len() as i64);
                return delete_record(id);
            }
        }
        if g.pending {
            g.pending = false;
            schedule(&mut st.timers, g, id, now);
            self.inner.wake.notify_one();
            return put_record(id, g, now, wall);
        }
        let wake = match (o.next_repeat, o.next_release) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(t) = wake {
            let at = to_instant(t, wall, now);
            if at < g.next_tick {
                g.repeat_at = Some(at);
                schedule(&mut st.timers, g, id, at);
                self.inner.wake.notify_one();
            }
        }
        put_record(id, g, now, wall)
    }
}

/// Schedules `g` at `t` unless it is already due earlier.
fn schedule(
    timers: &mut BinaryHeap<Reverse<(Instant, GroupId)>>,
    g: &mut Group,
    id: GroupId,
    t: Instant,
) {
    if g.scheduled.is_some_and(|s| s <= t) {
        return;
    }
    g.scheduled = Some(t);
    timers.push(Reverse((t, id)));
}

/// One alert routed to one group, computed outside the dispatcher lock.
struct Routed<'a> {
    /// The alert.
    alert: &'a Arc<Alert>,
    /// Its route's settings.
    settings: Arc<RouteSettings>,
    /// Its group labels.
    labels: LabelSet,
    /// Its group.
    id: GroupId,
    /// The route (for the group key, if the group is new).
    route: &'a Route,
}

/// Every group an alert belongs to under `tree`.
fn route_alert<'a>(tree: &'a RouteTree, a: &'a Arc<Alert>) -> Vec<Routed<'a>> {
    matching_routes(&tree.root, &a.labels)
        .into_iter()
        .filter_map(|r| {
            let settings = Arc::clone(tree.settings.get(&r.id)?);
            let labels = group_labels(r, &a.labels);
            Some(Routed {
                alert: a,
                id: GroupId(settings.identity, labels.fingerprint()),
                settings,
                labels,
                route: r,
            })
        })
        .collect()
}

/// Inserts an alert into its group (created if needed); returns whether a group was created.
fn insert(st: &mut State, r: Routed<'_>, now: Instant, wall: Timestamp) -> bool {
    let (a, settings, labels, id) = (r.alert, &r.settings, r.labels, r.id);
    if let Some(g) = st.groups.get_mut(&id) {
        // Never replace a newer version with an older one: two POSTs of one alert, or a reload
        // routing the store's content, may reach the group out of order.
        match g.alerts.get_mut(&a.fingerprint) {
            Some(cur) if cur.updated_at > a.updated_at => {}
            Some(cur) => *cur = Arc::clone(a),
            None => {
                g.alerts.insert(a.fingerprint, Arc::clone(a));
            }
        }
        return false;
    }
    // An alert that started longer than group_wait ago flushes at once (after a restart or a
    // reload, or a late arrival).
    let wait = SignedDuration::try_from(settings.group_wait).unwrap_or(SignedDuration::MAX);
    let old = a.starts_at.checked_add(wait).is_ok_and(|t| t < wall);
    let first = if old { now } else { now + settings.group_wait };
    let mut g = Group {
        route: Arc::clone(settings),
        key: Arc::from(group_key(r.route, &labels)),
        labels,
        alerts: HashMap::from([(a.fingerprint, Arc::clone(a))]),
        next_tick: first,
        repeat_at: None,
        scheduled: None,
        flight: None,
        flights: 0,
        pending: false,
        flushed: false,
    };
    schedule(&mut st.timers, &mut g, id, first);
    st.groups.insert(id, g);
    true
}
