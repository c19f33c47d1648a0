//! The notification history: every due notification (one per decision to notify an
//! integration of a group, however often it is retried), its attempts and its outcome, kept for
//! `--data.retention` (and at most [`MAX_RECORDS`]) in the durable store. The notification log
//! beside it keeps only the last successful send per integration (what dedup needs); the history
//! keeps what happened (what `GET /api/tocsin/v1/notifications?view=history`, the delivery SLI of
//! `GET /api/tocsin/v1/delivery` and the page's "who was told" show).
//!
//! ```text
//! begin(key, kind, state)   a record, outcome pending (or the pending one a restart left for
//!                           the same key and alerts: resumed, so it is counted once)
//! attempt(id, Attempt)      each try: times, status code, error, ids the service gave back
//! end(id, outcome, reason)  delivered | suppressed | superseded | failed
//! gc(now)                   drops records older than the retention
//! ```
//!
//! Each change is queued to the storage journal as the record's new value (one key per
//! notification id; the store folds repeated puts of one key). Ids are ordered by the time the
//! notification became due, so the table reads back oldest first. State only: no sockets, no
//! files. Layer L2: imports std, `storage`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, OnceLock};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{NflogKey, ReceiverData};
use crate::storage::{Change, Journal, Kind};

/// The most records kept, whatever the retention (the oldest go first): bounds memory and the
/// store when a flapping group notifies all day.
pub const MAX_RECORDS: usize = 50_000;

/// How a due notification ended, as the history and the delivery API name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Not ended yet (being sent or retried, or left by a restart and not sent again yet).
    Pending,
    /// The service accepted it.
    Delivered,
    /// A silence, inhibition or time interval held it back.
    Suppressed,
    /// A newer notification of the same group replaced it before it was accepted.
    Superseded,
    /// Given up.
    Failed,
}

impl Outcome {
    /// The name (`delivered`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Delivered => "delivered",
            Outcome::Suppressed => "suppressed",
            Outcome::Superseded => "superseded",
            Outcome::Failed => "failed",
        }
    }

    /// Parses a name as [`Outcome::as_str`] writes it.
    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Pending,
            Outcome::Delivered,
            Outcome::Suppressed,
            Outcome::Superseded,
            Outcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// One try at sending a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1 for the first try; numbering goes on across a restart.
    pub number: u32,
    /// When the request started.
    pub started_at: Timestamp,
    /// When it ended (answer, error or deadline).
    pub ended_at: Timestamp,
    /// Whether the service accepted it.
    pub accepted: bool,
    /// The HTTP status the service answered, when there was an answer over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong (never holds a secret), empty when accepted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// One due notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The notification id (ordered by due time).
    pub id: String,
    /// The group key.
    pub group_key: String,
    /// The receiver.
    pub receiver: String,
    /// The integration kind (`pagerduty`...).
    pub integration: String,
    /// The index of the integration in its `*_configs` list.
    pub index: usize,
    /// `firing` or `resolved`.
    pub kind: String,
    /// How many alerts were firing in it.
    pub firing: usize,
    /// How many alerts were resolved in it.
    pub resolved: usize,
    /// When it became due.
    pub due_at: Timestamp,
    /// How it ended ([`Outcome::Pending`] until then).
    pub outcome: Outcome,
    /// Why it was suppressed or failed (`silence`, `serverError`...), else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Its attempts, in order.
    pub attempts: Vec<Attempt>,
    /// What the service gave back to find it again: PagerDuty's `dedup_key`, Slack's `channel`
    /// and `ts`, Zendesk's `ticket_id`.
    pub service_ids: ReceiverData,
    /// A hash of the alerts it carries: a restart resumes a pending record only for the same
    /// alerts.
    #[serde(default)]
    pub state: u64,
}

impl Record {
    /// Whether it was delivered within `limit` of becoming due.
    pub fn delivered_within(&self, limit: SignedDuration) -> bool {
        self.outcome == Outcome::Delivered && self.delivery_time().is_some_and(|d| d <= limit)
    }

    /// From due to accepted, retries (and restarts) included; None unless delivered.
    pub fn delivery_time(&self) -> Option<SignedDuration> {
        (self.outcome == Outcome::Delivered)
            .then(|| self.ended_at.map(|e| e.duration_since(self.due_at)))
            .flatten()
    }

    /// The nflog key of its integration and group.
    pub fn key(&self) -> NflogKey {
        NflogKey {
            group_key: self.group_key.clone(),
            receiver: self.receiver.clone(),
            integration: self.integration.clone(),
            index: self.index,
        }
    }
}

/// A new record's description: see [`History::begin`].
#[derive(Debug, Clone)]
pub struct Due<'a> {
    /// The integration of the group.
    pub key: &'a NflogKey,
    /// `firing` or `resolved`.
    pub kind: &'static str,
    /// Alerts firing in it.
    pub firing: usize,
    /// Alerts resolved in it.
    pub resolved: usize,
    /// A hash of its alerts.
    pub state: u64,
    /// When it became due.
    pub now: Timestamp,
}

/// What [`History::begin`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begun {
    /// The notification id.
    pub id: String,
    /// When it became due (before a restart, for a resumed one).
    pub due_at: Timestamp,
    /// Whether it continues a record a restart left pending (already counted as due).
    pub resumed: bool,
    /// Attempts already made (before the restart).
    pub attempts: u32,
}

/// Which records a query wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this notification.
    pub id: Option<String>,
    /// Only this group key.
    pub group: Option<String>,
    /// Only this receiver.
    pub receiver: Option<String>,
    /// Only this integration kind.
    pub integration: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Due at or after.
    pub since: Option<Timestamp>,
    /// Due at or before.
    pub until: Option<Timestamp>,
}

impl Filter {
    /// Whether `r` passes.
    pub fn matches(&self, r: &Record) -> bool {
        self.id.as_ref().is_none_or(|v| *v == r.id)
            && self.group.as_ref().is_none_or(|v| *v == r.group_key)
            && self.receiver.as_ref().is_none_or(|v| *v == r.receiver)
            && self
                .integration
                .as_ref()
                .is_none_or(|v| *v == r.integration)
            && self.outcome.is_none_or(|o| o == r.outcome)
            && self.since.is_none_or(|t| r.due_at >= t)
            && self.until.is_none_or(|t| r.due_at <= t)
    }
}

struct Inner {
    /// Records by id (oldest first).
    records: BTreeMap<String, Record>,
    /// Records a restart left pending, by key: the next due notification of the same key and
    /// alerts resumes them.
    orphans: HashMap<NflogKey, String>,
    /// Makes ids unique within one due instant.
    seq: u32,
    /// How long records are kept.
    retention: SignedDuration,
}

/// The history. Its mutex is never held across an `.await`.
pub struct History {
    /// Records and their indexes.
    inner: Mutex<Inner>,
    /// Where changes go to be stored.
    journal: OnceLock<Journal>,
    /// Bumped on every change (what the page's live refresh follows).
    changes: tokio::sync::watch::Sender<u64>,
}

impl Default for History {
    fn default() -> Self {
        History::new(SignedDuration::from_hours(120))
    }
}

impl History {
    /// An empty history keeping records for `retention`.
    pub fn new(retention: SignedDuration) -> Self {
        History {
            inner: Mutex::new(Inner {
                records: BTreeMap::new(),
                orphans: HashMap::new(),
                seq: 0,
                retention,
            }),
            journal: OnceLock::new(),
            changes: tokio::sync::watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets how long records are kept.
    pub fn set_retention(&self, retention: SignedDuration) {
        self.lock().retention = retention;
    }

    /// Sends every later change to `journal`.
    pub fn set_journal(&self, journal: Journal) {
        let _ = self.journal.set(journal);
    }

    /// A receiver that sees a new value after every change.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn store(&self, r: &Record) {
        if let Some(j) = self.journal.get() {
            // Encoded straight into the journal's queue: no copy of the record, no value buffer.
            j.put_with(Kind::History, r.id.as_bytes(), |out| encode_into(r, out));
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A notification became due. Resumes the record a restart left pending for the same key
    /// and alerts; a pending orphan for the key with other alerts ends superseded.
    pub fn begin(&self, due: Due<'_>) -> Begun {
        let mut g = self.lock();
        let inner = &mut *g;
        if let Some(id) = inner.orphans.remove(due.key)
            && let Some(r) = inner.records.get_mut(&id)
            && r.outcome == Outcome::Pending
        {
            if r.state == due.state && r.kind == due.kind {
                let begun = Begun {
                    id: r.id.clone(),
                    due_at: r.due_at,
                    resumed: true,
                    attempts: r.attempts.last().map_or(0, |a| a.number),
                };
                return begun;
            }
            r.outcome = Outcome::Superseded;
            r.reason = "changed during a restart".to_owned();
            r.ended_at = Some(due.now);
            self.store(r);
        }
        let mut id;
        loop {
            inner.seq = inner.seq.wrapping_add(1);
            id = format!(
                "{:020}-{:05}",
                due.now.as_nanosecond().max(0),
                inner.seq % 100_000
            );
            if !inner.records.contains_key(&id) {
                break;
            }
        }
        let r = Record {
            id: id.clone(),
            group_key: due.key.group_key.clone(),
            receiver: due.key.receiver.clone(),
            integration: due.key.integration.clone(),
            index: due.key.index,
            kind: due.kind.to_owned(),
            firing: due.firing,
            resolved: due.resolved,
            due_at: due.now,
            outcome: Outcome::Pending,
            reason: String::new(),
            ended_at: None,
            attempts: Vec::new(),
            service_ids: ReceiverData::new(),
            state: due.state,
        };
        self.store(&r);
        inner.records.insert(id.clone(), r);
        if inner.records.len() > MAX_RECORDS
            && let Some((old, _)) = inner.records.pop_first()
            && let Some(j) = self.journal.get()
        {
            j.push(Change::delete(Kind::History, old));
        }
        Begun {
            id,
            due_at: due.now,
            resumed: false,
            attempts: 0,
        }
    }

    /// Records one attempt of notification `id`, and the ids the service gave back.
    pub fn attempt(&self, id: &str, attempt: Attempt, service_ids: &ReceiverData) {
        let mut g = self.lock();
        if let Some(r) = g.records.get_mut(id) {
            r.attempts.push(attempt);
            r.service_ids
                .extend(service_ids.iter().map(|(k, v)| (k.clone(), v.clone())));
            self.store(r);
        }
    }

    /// Adds what the service gave back for notification `id` without an attempt of this
    /// peer's (in a cluster, another peer sent it: the ids come with its log entry).
    pub fn service_ids(&self, id: &str, service_ids: &ReceiverData) {
        if service_ids.is_empty() {
            return;
        }
        let mut g = self.lock();
        if let Some(r) = g.records.get_mut(id) {
            r.service_ids
                .extend(service_ids.iter().map(|(k, v)| (k.clone(), v.clone())));
            self.store(r);
        }
    }

    /// Ends notification `id` (once: an ended record stays as it is), after recording its
    /// last attempt when one is given ([`History::attempt`] and the end in one stored change).
    pub fn end(
        &self,
        id: &str,
        attempt: Option<(Attempt, ReceiverData)>,
        outcome: Outcome,
        reason: &str,
        at: Timestamp,
    ) {
        let mut g = self.lock();
        let Some(r) = g.records.get_mut(id) else {
            return;
        };
        if let Some((a, ids)) = attempt {
            r.attempts.push(a);
            r.service_ids.extend(ids);
            if r.outcome != Outcome::Pending {
                self.store(r);
            }
        }
        if r.outcome == Outcome::Pending {
            r.outcome = outcome;
            r.reason = reason.to_owned();
            r.ended_at = Some(at);
            self.store(r);
        }
    }

    /// The records that pass `filter`, newest first, at most `limit`.
    pub fn query(&self, filter: &Filter, limit: usize) -> Vec<Record> {
        self.lock()
            .records
            .values()
            .rev()
            .filter(|r| filter.matches(r))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Calls `f` on every record that passes `filter`, oldest first (no copies).
    pub fn each(&self, filter: &Filter, mut f: impl FnMut(&Record)) {
        for r in self.lock().records.values().filter(|r| filter.matches(r)) {
            f(r);
        }
    }

    /// When the oldest record kept became due.
    pub fn oldest(&self) -> Option<Timestamp> {
        self.lock().records.values().next().map(|r| r.due_at)
    }

    /// Drops records due longer ago than the retention; returns how many.
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut g = self.lock();
        let cutoff = now.checked_sub(g.retention).unwrap_or(Timestamp::MIN);
        let before = g.records.len();
        let old: Vec<String> = g
            .records
            .values()
            .take_while(|r| r.due_at < cutoff)
            .map(|r| r.id.clone())
            .collect();
        for id in &old {
            g.records.remove(id);
            if let Some(j) = self.journal.get() {
                j.push(Change::delete(Kind::History, id.clone()));
            }
        }
        g.orphans.retain(|_, id| !old.contains(id));
        before - g.records.len()
    }

    /// Loads stored records (start-up): the pending ones become orphans a later due
    /// notification of the same key resumes.
    pub fn load(&self, records: impl IntoIterator<Item = Record>) {
        let mut g = self.lock();
        for r in records {
            if r.outcome == Outcome::Pending {
                g.orphans.insert(r.key(), r.id.clone());
            }
            g.records.insert(r.id.clone(), r);
        }
    }

    /// Every record as storage changes (what a rewrite of the store writes).
    pub fn snapshot_changes(&self) -> Vec<Change> {
        self.lock()
            .records
            .values()
            .map(|r| Change::put(Kind::History, r.id.clone(), encode(r)))
            .collect()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A record as storage keeps it.
pub fn encode(r: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(r, &mut out);
    out
}

/// [`encode`], appended to `out`.
fn encode_into(r: &Record, out: &mut Vec<u8>) {
    // Writing JSON of these plain fields into a Vec cannot fail; were it to, nothing is written.
    let at = out.len();
    if serde_json::to_writer(&mut *out, r).is_err() {
        out.truncate(at);
    }
}

/// Reads back a stored record.
pub fn decode(value: &[u8]) -> Result<Record, serde_json::Error> {
    serde_json::from_slice(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(g: &str) -> NflogKey {
        NflogKey {
            group_key: g.into(),
            receiver: "page".into(),
            integration: "pagerduty".into(),
            index: 0,
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn due(k: &NflogKey, state: u64, at: i64) -> Due<'_> {
        Due {
            key: k,
            kind: "firing",
            firing: 1,
            resolved: 0,
            state,
            now: t(at),
        }
    }

    fn try_at(n: u32, at: i64, status: u16) -> Attempt {
        Attempt {
            number: n,
            started_at: t(at),
            ended_at: t(at),
            accepted: status < 300,
            status: Some(status),
            error: String::new(),
        }
    }

    #[test]
    fn attempts_and_outcome_round_trip_through_storage() {
        let h = History::default();
        let k = key("g");
        let b = h.begin(due(&k, 7, 0));
        assert!(!b.resumed);
        h.attempt(&b.id, try_at(1, 1, 500), &ReceiverData::new());
        let ids: ReceiverData = [("dedup_key".to_owned(), "abc".to_owned())].into();
        h.attempt(&b.id, try_at(2, 3, 202), &ids);
        h.end(&b.id, None, Outcome::Delivered, "", t(3));
        h.end(&b.id, None, Outcome::Failed, "late", t(4));
        let r = h.query(&Filter::default(), 10).remove(0);
        assert_eq!(r.outcome, Outcome::Delivered);
        assert_eq!(r.attempts.len(), 2);
        assert_eq!(r.service_ids["dedup_key"], "abc");
        assert_eq!(r.delivery_time(), Some(SignedDuration::from_secs(3)));
        assert!(r.delivered_within(SignedDuration::from_secs(60)));
        assert_eq!(decode(&encode(&r)).unwrap(), r);
    }

    /// The last attempt given with the end is recorded as `attempt` records it, once.
    #[test]
    fn an_end_records_the_attempt_it_is_given() {
        let h = History::default();
        let b = h.begin(due(&key("g"), 7, 0));
        let ids: ReceiverData = [("dedup_key".to_owned(), "abc".to_owned())].into();
        h.end(
            &b.id,
            Some((try_at(1, 2, 202), ids)),
            Outcome::Delivered,
            "",
            t(2),
        );
        let r = h.query(&Filter::default(), 10).remove(0);
        assert_eq!(r.outcome, Outcome::Delivered);
        assert_eq!(r.attempts, vec![try_at(1, 2, 202)]);
        assert_eq!(r.service_ids["dedup_key"], "abc");
        assert_eq!(r.delivery_time(), Some(SignedDuration::from_secs(2)));
        // An attempt that comes after the end is still recorded; the outcome stays.
        h.end(
            &b.id,
            Some((try_at(2, 3, 500), ReceiverData::new())),
            Outcome::Failed,
            "x",
            t(3),
        );
        let r = h.query(&Filter::default(), 10).remove(0);
        assert_eq!((r.outcome, r.attempts.len()), (Outcome::Delivered, 2));
    }

    #[test]
    fn a_restart_resumes_the_pending_record_for_the_same_alerts() {
        let before = History::default();
        let k = key("g");
        let b = before.begin(due(&k, 7, 0));
        before.attempt(&b.id, try_at(1, 1, 500), &ReceiverData::new());
        let stored: Vec<Record> = before.query(&Filter::default(), 10);

        let after = History::default();
        after.load(stored.clone());
        let again = after.begin(due(&k, 7, 100));
        assert_eq!(
            again,
            Begun {
                id: b.id.clone(),
                due_at: t(0),
                resumed: true,
                attempts: 1
            }
        );
        // Only once: a later due notification of the key is a new one.
        let next = after.begin(due(&k, 7, 200));
        assert!(!next.resumed);
        assert_eq!(after.len(), 2);

        // Other alerts after the restart: the orphan is superseded, a new one begins.
        let other = History::default();
        other.load(stored);
        let n = other.begin(due(&k, 8, 100));
        assert!(!n.resumed);
        let old = other.query(
            &Filter {
                id: Some(b.id),
                ..Filter::default()
            },
            1,
        );
        assert_eq!(old[0].outcome, Outcome::Superseded);
    }

    #[test]
    fn gc_keeps_the_retention_and_filters_select() {
        let h = History::new(SignedDuration::from_secs(100));
        let (a, b) = (key("a"), key("b"));
        h.begin(due(&a, 1, 0));
        let keep = h.begin(due(&b, 1, 50));
        assert_eq!(h.gc(t(120)), 1);
        let left = h.query(&Filter::default(), 10);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, keep.id);
        let f = Filter {
            group: Some("a".into()),
            ..Filter::default()
        };
        assert!(h.query(&f, 10).is_empty());
        let f = Filter {
            outcome: Some(Outcome::Pending),
            since: Some(t(50)),
            ..Filter::default()
        };
        assert_eq!(h.query(&f, 10).len(), 1);
    }

    #[test]
    fn ids_are_unique_and_ordered_by_due_time() {
        let h = History::default();
        let k = key("g");
        let x = h.begin(due(&k, 1, 5));
        let y = h.begin(due(&k, 1, 5));
        let z = h.begin(due(&k, 1, 6));
        assert!(x.id < y.id && y.id < z.id, "{x:?} {y:?} {z:?}");
    }
}
