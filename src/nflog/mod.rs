//! The notification log: for each (group key, receiver, integration, index), what was last sent
//! successfully, when, with which alerts, and what the integration needs to find its message
//! again (`receiver_data`: Slack's channel and `ts`, a Zendesk ticket id). The dedup stage reads
//! it; a successful send writes it.
//!
//! State only: no sockets, no files. `snapshot`/`merge` exist so `storage` and `cluster` can move
//! it; merge is last-writer-wins per key: the newer `timestamp` wins, and entries with the same
//! timestamp are ordered by their content, so every replica keeps the same one (commutative,
//! associative, idempotent). Keys own their strings, so an entry read back from storage (or a
//! peer) equals the one written. Every change is also queued to the storage journal, under the
//! lock, in the order made, and bumps a version on a `watch` ([`Nflog::subscribe`]) that the
//! cluster replication follows. [`replica_id`], [`encode_replica`] and [`decode_replica`] give
//! an entry as one string under a short key, for the cluster to carry (entries a peer learns
//! are merged here, so they are persisted like its own). Layer L2: imports std, `storage`.
//!
//! Beside it, [`history`]: every due notification with its attempts and outcome (the log keeps
//! only the last success per key, which is what dedup needs).

pub mod history;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::storage::{Change, Journal, Kind};

/// Identifies one integration of one receiver for one aggregation group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NflogKey {
    /// The group key (`{}/{...}:{...}`).
    pub group_key: String,
    /// The receiver name.
    pub receiver: String,
    /// The integration kind (`webhook`, `email`...).
    pub integration: String,
    /// The index of the config entry within its `*_configs` list.
    pub index: usize,
}

/// Integration data kept with an entry, as Alertmanager's nflog `receiver_data`: string keys
/// chosen by the integration (`channel`, `ts`, `ticket_id`) to string values. Plain data, so
/// `storage` and `cluster` can move it without knowing the integrations.
pub type ReceiverData = BTreeMap<String, String>;

/// What was sent last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NflogEntry {
    /// Completion time of the last successful send.
    pub timestamp: Timestamp,
    /// Hashes of the firing alerts that send carried.
    pub firing: HashSet<u64>,
    /// Hashes of the resolved alerts that send carried.
    pub resolved: HashSet<u64>,
    /// When the entry may be forgotten.
    pub expires_at: Timestamp,
    /// What the integration asked to keep for the group's next send (empty for most).
    pub receiver_data: ReceiverData,
}

impl NflogEntry {
    /// The last-writer-wins order: by `timestamp`, then by content (so two entries written at
    /// the same instant by two peers are ordered the same way everywhere).
    pub fn lww_cmp(&self, other: &NflogEntry) -> std::cmp::Ordering {
        let sorted = |s: &HashSet<u64>| s.iter().copied().collect::<BTreeSet<u64>>();
        self.timestamp
            .cmp(&other.timestamp)
            .then_with(|| self.expires_at.cmp(&other.expires_at))
            .then_with(|| sorted(&self.firing).cmp(&sorted(&other.firing)))
            .then_with(|| sorted(&self.resolved).cmp(&sorted(&other.resolved)))
            .then_with(|| self.receiver_data.cmp(&other.receiver_data))
    }
}

/// The log. Cheap to share behind an `Arc`; its mutex is never held across an `.await`.
pub struct Nflog {
    /// Entries by key.
    entries: Mutex<HashMap<NflogKey, NflogEntry>>,
    /// Bumped after every change of an entry (logged, merged, expired).
    version: watch::Sender<u64>,
    /// Where changes go to be stored (set once the stored entries are loaded).
    journal: OnceLock<Journal>,
    /// Every due notification, its attempts and outcome.
    history: history::History,
}

impl Default for Nflog {
    fn default() -> Self {
        Nflog {
            entries: Mutex::default(),
            version: watch::channel(0).0,
            journal: OnceLock::new(),
            history: history::History::default(),
        }
    }
}

impl Nflog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver that sees the version change after every change of an entry.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NflogKey, NflogEntry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry for `key` at `now` (expired entries count as absent).
    pub fn query(&self, key: &NflogKey, now: Timestamp) -> Option<NflogEntry> {
        self.lock().get(key).filter(|e| e.expires_at > now).cloned()
    }

    /// Sends every later change to `journal` (called once, after the stored entries were
    /// merged in), the history's too.
    pub fn set_journal(&self, journal: Journal) {
        self.history.set_journal(journal.clone());
        let _ = self.journal.set(journal);
    }

    /// The notification history.
    pub fn history(&self) -> &history::History {
        &self.history
    }

    /// The journal, when one is set.
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.get()
    }

    fn journal_put(&self, key: &NflogKey, entry: &NflogEntry) -> u64 {
        self.journal.get().map_or(0, |j| {
            j.push(Change::put(
                Kind::Nflog,
                encode_key(key),
                encode_entry(entry),
            ))
        })
    }

    /// Records a successful send. Returns the journal number to wait for (see
    /// [`Nflog::stored`]).
    pub fn log(&self, key: NflogKey, entry: NflogEntry) -> u64 {
        let seq = {
            let mut m = self.lock();
            let seq = self.journal_put(&key, &entry);
            m.insert(key, entry);
            seq
        };
        self.bump();
        seq
    }

    /// Waits until the change numbered `seq` is stored; a failure is logged by storage and
    /// reported by `/-/ready`, and never stops notifications (the entry holds in memory).
    pub async fn stored(&self, seq: u64) {
        if let Some(j) = self.journal.get()
            && let Err(e) = j.durable(seq).await
        {
            tracing::debug!(error = %e, "Notification log entry not stored.");
        }
    }

    /// Keeps the live entry for `key` until at least `until` (its content unchanged): the
    /// pipeline calls this while alerts the entry announced are held back by a silence,
    /// inhibition or mute window, so their resolve can still be sent however long that lasts.
    pub fn keep_until(&self, key: &NflogKey, until: Timestamp) {
        if let Some(e) = self.lock().get_mut(key)
            && e.expires_at < until
        {
            e.expires_at = until;
        }
    }

    /// Drops expired entries, and history records past the retention; returns how many
    /// entries.
    pub fn gc(&self, now: Timestamp) -> usize {
        self.history.gc(now);
        let gone = {
            let mut m = self.lock();
            let before = m.len();
            m.retain(|k, e| {
                let keep = e.expires_at > now;
                if !keep && let Some(j) = self.journal.get() {
                    j.push(Change::delete(Kind::Nflog, encode_key(k)));
                }
                keep
            });
            before - m.len()
        };
        if gone > 0 {
            self.bump();
        }
        gone
    }

    /// Every entry and history record as storage changes (what a rewrite of the store
    /// writes).
    pub fn snapshot_changes(&self) -> Vec<Change> {
        let mut out: Vec<Change> = self
            .lock()
            .iter()
            .map(|(k, e)| Change::put(Kind::Nflog, encode_key(k), encode_entry(e)))
            .collect();
        out.extend(self.history.snapshot_changes());
        out
    }

    /// A copy of every entry.
    pub fn snapshot(&self) -> Vec<(NflogKey, NflogEntry)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Merges entries from elsewhere (storage, a peer): per key, the greater by
    /// [`NflogEntry::lww_cmp`] wins; what is taken is queued to the journal. Returns how many
    /// entries were taken.
    pub fn merge(&self, entries: impl IntoIterator<Item = (NflogKey, NflogEntry)>) -> usize {
        let mut taken = 0;
        {
            let mut m = self.lock();
            for (k, e) in entries {
                match m.get(&k) {
                    Some(cur) if cur.lww_cmp(&e).is_ge() => {}
                    _ => {
                        self.journal_put(&k, &e);
                        m.insert(k, e);
                        taken += 1;
                    }
                }
            }
        }
        if taken > 0 {
            self.bump();
        }
        taken
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A key as storage keeps it.
pub fn encode_key(k: &NflogKey) -> Vec<u8> {
    serde_json::to_vec(k).unwrap_or_default()
}

/// An entry as storage keeps it.
pub fn encode_entry(e: &NflogEntry) -> Vec<u8> {
    serde_json::to_vec(e).unwrap_or_default()
}

/// Reads back a stored (key, entry).
pub fn decode(key: &[u8], value: &[u8]) -> Result<(NflogKey, NflogEntry), serde_json::Error> {
    Ok((serde_json::from_slice(key)?, serde_json::from_slice(value)?))
}

/// A short, fixed-length name for `key` (32 hex digits of its SHA-256), the same on every
/// peer: what the cluster files an entry (and a send claim) under.
pub fn replica_id(key: &NflogKey) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &encode_key(key));
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One entry with its key, as one string (what a peer publishes).
#[derive(Serialize, Deserialize)]
struct Replica {
    /// The key.
    k: NflogKey,
    /// The entry.
    e: NflogEntry,
}

/// `key` and `entry` as one string for the cluster.
pub fn encode_replica(key: &NflogKey, entry: &NflogEntry) -> String {
    serde_json::to_string(&Replica {
        k: key.clone(),
        e: entry.clone(),
    })
    .unwrap_or_default()
}

/// Reads back what [`encode_replica`] wrote.
pub fn decode_replica(s: &str) -> Result<(NflogKey, NflogEntry), serde_json::Error> {
    let r: Replica = serde_json::from_str(s)?;
    Ok((r.k, r.e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(g: &str) -> NflogKey {
        NflogKey {
            group_key: g.into(),
            receiver: "r".into(),
            integration: "webhook".into(),
            index: 0,
        }
    }

    fn entry(t: i64) -> NflogEntry {
        NflogEntry {
            timestamp: Timestamp::from_second(t).unwrap(),
            firing: [t as u64].into_iter().collect(),
            resolved: HashSet::new(),
            expires_at: Timestamp::from_second(t + 100).unwrap(),
            receiver_data: ReceiverData::new(),
        }
    }

    #[test]
    fn query_ignores_expired() {
        let log = Nflog::new();
        log.log(key("a"), entry(10));
        assert!(
            log.query(&key("a"), Timestamp::from_second(50).unwrap())
                .is_some()
        );
        assert!(
            log.query(&key("a"), Timestamp::from_second(110).unwrap())
                .is_none()
        );
        assert_eq!(log.gc(Timestamp::from_second(200).unwrap()), 1);
    }

    fn state(log: &Nflog) -> Vec<(NflogKey, NflogEntry)> {
        let mut s = log.snapshot();
        s.sort_by(|a, b| a.0.cmp(&b.0));
        s
    }

    /// An entry at `t` whose content also depends on `salt` (two peers writing at one instant).
    fn entry_salted(t: i64, salt: u8) -> NflogEntry {
        let mut e = entry(t);
        e.firing.insert(u64::from(salt) + 1000);
        if salt.is_multiple_of(2) {
            e.receiver_data.insert("ts".into(), salt.to_string());
        }
        e
    }

    proptest! {
        #[test]
        fn merge_is_commutative_associative_and_idempotent_with_ties(
            a in proptest::collection::vec((0u8..3, 0i64..4, any::<u8>()), 0..8),
            b in proptest::collection::vec((0u8..3, 0i64..4, any::<u8>()), 0..8),
            c in proptest::collection::vec((0u8..3, 0i64..4, any::<u8>()), 0..8),
        ) {
            let to_entries = |v: &[(u8, i64, u8)]| -> Vec<(NflogKey, NflogEntry)> {
                v.iter().map(|(k, t, s)| (key(&k.to_string()), entry_salted(*t, *s))).collect()
            };
            let (ea, eb, ec) = (to_entries(&a), to_entries(&b), to_entries(&c));
            let abc = Nflog::new();
            for e in [&ea, &eb, &ec] {
                abc.merge(e.clone());
            }
            let cba = Nflog::new();
            for e in [&ec, &eb, &ea] {
                cba.merge(e.clone());
            }
            prop_assert_eq!(state(&abc), state(&cba));
            abc.merge(eb);
            prop_assert_eq!(state(&abc), state(&cba));
        }

        #[test]
        fn stored_entries_read_back_equal(
            g in "\\PC{0,20}", r in "\\PC{0,10}", i in "[a-z]{1,10}", n in 0usize..5,
            t in 0i64..1_000_000, salt in any::<u8>(),
        ) {
            let k = NflogKey { group_key: g, receiver: r, integration: i, index: n };
            let e = entry_salted(t, salt);
            let back = decode(&encode_key(&k), &encode_entry(&e)).unwrap();
            prop_assert_eq!(back, (k, e));
        }

        #[test]
        fn replicas_read_back_equal_and_ids_are_stable(
            g in "\\PC{0,20}", r in "\\PC{0,10}", n in 0usize..5, t in 0i64..1_000_000,
            salt in any::<u8>(),
        ) {
            let k = NflogKey { group_key: g, receiver: r, integration: "webhook".into(), index: n };
            let e = entry_salted(t, salt);
            let back = decode_replica(&encode_replica(&k, &e)).unwrap();
            prop_assert_eq!(replica_id(&back.0), replica_id(&k));
            prop_assert_eq!(replica_id(&k).len(), 32);
            prop_assert_eq!(back, (k, e));
        }

        #[test]
        fn merge_is_commutative_and_idempotent(
            a in proptest::collection::vec((0u8..4, 0i64..50), 0..8),
            b in proptest::collection::vec((0u8..4, 50i64..100), 0..8),
        ) {
            let to_entries = |v: &[(u8, i64)]| -> Vec<(NflogKey, NflogEntry)> {
                v.iter().map(|(k, t)| (key(&k.to_string()), entry(*t))).collect()
            };
            let (ea, eb) = (to_entries(&a), to_entries(&b));
            let ab = Nflog::new();
            ab.merge(ea.clone());
            ab.merge(eb.clone());
            let ba = Nflog::new();
            ba.merge(eb.clone());
            ba.merge(ea.clone());
            prop_assert_eq!(state(&ab), state(&ba));
            ab.merge(ea);
            ab.merge(eb);
            prop_assert_eq!(state(&ab), state(&ba));
        }
    }
}
