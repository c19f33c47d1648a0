//! The alert store: every alert we know, keyed by fingerprint, merged on ingest as Alertmanager
//! merges, and garbage-collected once resolved.
//!
//! Sharded by fingerprint so concurrent POSTs rarely contend. Each shard is a `std::sync::Mutex`:
//! no lock is ever held across an `.await` (the store has no async code at all).
//!
//! Storage: every stored version is queued to the journal (`codec.rs` encodes it) under its
//! shard's lock, so the journal sees the versions of one alert in the order they were made. A
//! version whose labels, annotations, generator URL and `timeout` flag equal the version held
//! (an alert re-sent by Prometheus every evaluation) is queued as a patch of its times (48
//! bytes instead of the whole alert).
//! Garbage collection does not delete from storage by itself: a resolved alert may still owe its
//! receivers a resolve notification, so the caller deletes it from storage
//! ([`AlertStore::forget_stored`]) once nothing holds it any more.
//! `limit.rs` is `--alerts.per-alertname-limit`. Layer L2: imports `model`, `storage`.

pub mod codec;
pub mod limit;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use jiff::Timestamp;

use crate::model::{Alert, Fingerprint};
use crate::storage::{Change, Journal, Kind};

const SHARDS: usize = 16;

type Shard = HashMap<Fingerprint, Arc<Alert>>;

/// How many distinct strings the interner keeps before it starts over.
const INTERN_MAX: usize = 1 << 16;

/// The alert store. Cheap to share behind an `Arc`.
pub struct AlertStore {
    /// Alerts by fingerprint, split over shards by the fingerprint's low bits.
    shards: Vec<Mutex<Shard>>,
    /// Shared copies of strings many alerts repeat (generator URLs: one per alerting rule).
    interned: Mutex<HashSet<Arc<str>>>,
    /// Where stored versions go (set once the stored alerts are loaded).
    journal: OnceLock<Journal>,
}

impl Default for AlertStore {
    fn default() -> Self {
        AlertStore {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            interned: Mutex::new(HashSet::new()),
            journal: OnceLock::new(),
        }
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while holding a shard cannot leave a map half-updated (inserts are single
    // operations), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AlertStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self, fp: Fingerprint) -> &Mutex<Shard> {
        &self.shards[(fp.0 as usize) % SHARDS]
    }

    /// A shared copy of `s`: alerts of one rule share one generator URL instead of a copy each.
    /// Bounded: past `INTERN_MAX` distinct strings the set starts over.
    pub fn intern(&self, s: &str) -> Arc<str> {
        let mut set = self.interned.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = set.get(s) {
            return Arc::clone(a);
        }
        if set.len() >= INTERN_MAX {
            set.clear();
        }
        let a: Arc<str> = Arc::from(s);
        set.insert(Arc::clone(&a));
        a
    }

    /// Sends every later stored version to `journal` (called once, after the stored alerts
    /// were restored).
    pub fn set_journal(&self, journal: Journal) {
        let _ = self.journal.set(journal);
    }

    /// Inserts a new version of an alert: merged with the stored one when their activity ranges
    /// overlap, otherwise replacing it. Returns the stored result.
    pub fn put(&self, alert: Alert, now: Timestamp) -> Arc<Alert> {
        let mut shard = lock(self.shard(alert.fingerprint));
        let old = shard.get(&alert.fingerprint);
        let stored = match old {
            Some(old) if old.overlaps(&alert) => Arc::new(old.merge_owned(alert, now)),
            _ => Arc::new(alert),
        };
        if let Some(j) = self.journal.get().filter(|j| j.is_persistent()) {
            let key = codec::key(stored.fingerprint);
            // Every alert held was stored as it is held (journaled when put, or read back from
            // storage): a version that only moves the times is written as a patch of them.
            let (at, len) = codec::times_at(&stored);
            match (old, u32::try_from(at), u32::try_from(len)) {
                (Some(old), Ok(at), Ok(len)) if codec::same_but_times(old, &stored) => {
                    j.patch_with(Kind::Alerts, &key, len, at, |out| {
                        codec::encode_times(&stored, out);
                    });
                }
                _ => {
                    j.put_with(Kind::Alerts, &key, |out| codec::encode_into(&stored, out));
                }
            }
        }
        shard.insert(stored.fingerprint, Arc::clone(&stored));
        stored
    }

    /// Puts back an alert read from storage, as it was (no merge, not journaled).
    pub fn restore(&self, alert: Alert) -> Arc<Alert> {
        let a = Arc::new(alert);
        lock(self.shard(a.fingerprint)).insert(a.fingerprint, Arc::clone(&a));
        a
    }

    /// Deletes from storage those of `fps` the store no longer holds (garbage-collected, and not
    /// put again since); returns how many.
    pub fn forget_stored(&self, fps: impl IntoIterator<Item = Fingerprint>) -> usize {
        let Some(j) = self.journal.get() else {
            return 0;
        };
        let mut n = 0;
        for fp in fps {
            let shard = lock(self.shard(fp));
            if !shard.contains_key(&fp) {
                j.push(Change::delete(Kind::Alerts, codec::key(fp)));
                n += 1;
            }
        }
        n
    }

    /// Every alert as storage changes (what a rewrite of the store writes).
    pub fn snapshot_changes(&self) -> Vec<Change> {
        self.list()
            .iter()
            .map(|a| Change::put(Kind::Alerts, codec::key(a.fingerprint), codec::encode(a)))
            .collect()
    }

    /// The alert with this fingerprint.
    pub fn get(&self, fp: Fingerprint) -> Option<Arc<Alert>> {
        lock(self.shard(fp)).get(&fp).cloned()
    }

    /// Every stored alert (unordered).
    pub fn list(&self) -> Vec<Arc<Alert>> {
        let mut out = Vec::with_capacity(self.len());
        for s in &self.shards {
            out.extend(lock(s).values().cloned());
        }
        out
    }

    /// Number of stored alerts.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes alerts resolved at `now`; returns how many were removed.
    pub fn gc(&self, now: Timestamp) -> usize {
        self.gc_collect(now).len()
    }

    /// Removes alerts resolved at `now`; returns their fingerprints (still in storage: see
    /// [`AlertStore::forget_stored`]).
    pub fn gc_collect(&self, now: Timestamp) -> Vec<Fingerprint> {
        let mut removed = Vec::new();
        for s in &self.shards {
            let mut shard = lock(s);
            shard.retain(|fp, a| {
                let keep = !a.resolved_at(now);
                if !keep {
                    removed.push(*fp);
                }
                keep
            });
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_alert, test_ts as ts};

    fn alert(name: &str, starts: i64, ends: i64, updated: i64) -> Alert {
        test_alert(name, starts, ends, updated, false)
    }

    #[test]
    fn put_merges_overlapping_and_replaces_others() {
        let store = AlertStore::new();
        store.put(alert("A", 0, 300, 0), ts(0));
        let merged = store.put(alert("A", 100, 400, 100), ts(100));
        assert_eq!(merged.starts_at, ts(0), "overlap keeps the earliest start");
        let refired = store.put(alert("A", 1000, 1300, 1000), ts(1000));
        assert_eq!(
            refired.starts_at,
            ts(1000),
            "no overlap: a re-fire starts anew"
        );
        assert_eq!(store.len(), 1);
    }

    /// The bytes of the store's log segments in `dir`.
    fn log_bytes(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().contains(".wal-0"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    }

    #[test]
    fn a_re_sent_alert_is_stored_as_a_patch_of_its_times_and_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (db, _) = crate::storage::Store::open(dir.path(), &Default::default()).unwrap();
        let store = AlertStore::new();
        store.set_journal(db.journal());
        let mut a = alert("A", 0, 1000, 0);
        a.annotations.insert("summary", "x".repeat(300));
        a.generator_url = Arc::from("http://prometheus/graph?g0.expr=up");
        store.put(a.clone(), ts(0));
        rt.block_on(db.journal().sync()).unwrap();
        let whole = log_bytes(dir.path());
        // Re-sent with new times only: a patch, far smaller than the alert.
        for i in 1..=10 {
            store.put(alert_like(&a, 1000 + i, i), ts(i));
        }
        rt.block_on(db.journal().sync()).unwrap();
        let resent = log_bytes(dir.path()) - whole;
        assert!(
            resent < whole * 10 / 3,
            "10 re-sends took {resent} bytes of log, one whole alert {whole}"
        );
        // Changed annotations are written whole; the times after them patched again.
        let mut changed = alert_like(&a, 2000, 20);
        changed.annotations.insert("summary", "longer ".repeat(60));
        store.put(changed.clone(), ts(20));
        store.put(alert_like(&changed, 3000, 30), ts(30));
        // A new timeout flag is written whole too.
        let mut b = alert("B", 0, 500, 0);
        b.timeout = true;
        store.put(b.clone(), ts(0));
        b.timeout = false;
        b.updated_at = ts(1);
        store.put(b, ts(1));
        let want: Vec<Alert> = {
            let mut v: Vec<Alert> = store.list().iter().map(|a| (**a).clone()).collect();
            v.sort_by_key(|a| a.fingerprint);
            v
        };
        assert_eq!(want[0].ends_at.max(want[1].ends_at), ts(3000));
        rt.block_on(db.journal().sync()).unwrap();
        // Read back as start-up reads it: once from the log (a kill before any fold) and once
        // from the tables (after a clean close folded it).
        let read = |dir: &std::path::Path| {
            let (db, mut contents) = crate::storage::Store::open(dir, &Default::default()).unwrap();
            let mut got: Vec<Alert> = contents
                .take(Kind::Alerts)
                .into_iter()
                .map(|(_, v)| codec::decode(&v, |s: &str| Arc::from(s)).unwrap())
                .collect();
            got.sort_by_key(|a| a.fingerprint);
            (db, got)
        };
        let copy = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
        }
        let (db2, got) = read(copy.path());
        assert_eq!(got, want, "replayed from the log");
        db2.close();
        db.close();
        let (db, got) = read(dir.path());
        assert_eq!(got, want, "folded into the tables");
        db.close();
    }

    /// `a` re-sent: the same content, with `endsAt` at `ends` and received at `updated`.
    fn alert_like(a: &Alert, ends: i64, updated: i64) -> Alert {
        Alert {
            ends_at: ts(ends),
            updated_at: ts(updated),
            ..a.clone()
        }
    }

    #[test]
    fn gc_drops_resolved() {
        let store = AlertStore::new();
        store.put(alert("A", 0, 10, 0), ts(0));
        store.put(alert("B", 0, 1000, 0), ts(0));
        assert_eq!(store.gc(ts(20)), 1);
        assert_eq!(store.list().len(), 1);
        assert!(store.get(alert("B", 0, 0, 0).fingerprint).is_some());
    }
}
