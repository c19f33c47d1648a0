//! The notification log: for each (group key, receiver, integration, index), what was last sent
//! successfully, when, with which alerts, and what the integration needs to find its message
//! again (`receiver_data`: Slack's channel and `ts`, a Zendesk ticket id). The dedup stage reads
//! it; a successful send writes it.
//!
//! State only: no sockets, no files. `snapshot`/`merge` exist so `storage` and `cluster` can move
//! it; merge keeps the newer entry per key (commutative, associative, idempotent).
//! Layer L2: imports `model` and `clock`-free std types only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use jiff::Timestamp;

/// Identifies one integration of one receiver for one aggregation group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NflogKey {
    /// The group key (`{}/{...}:{...}`).
    pub group_key: String,
    /// The receiver name.
    pub receiver: String,
    /// The integration kind (`webhook`, `email`...).
    pub integration: &'static str,
    /// The index of the config entry within its `*_configs` list.
    pub index: usize,
}

/// Integration data kept with an entry, as Alertmanager's nflog `receiver_data`: string keys
/// chosen by the integration (`channel`, `ts`, `ticket_id`) to string values. Plain data, so
/// `storage` and `cluster` can move it without knowing the integrations.
pub type ReceiverData = BTreeMap<String, String>;

/// What was sent last.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The log. Cheap to share behind an `Arc`; its mutex is never held across an `.await`.
#[derive(Default)]
pub struct Nflog {
    /// Entries by key.
    entries: Mutex<HashMap<NflogKey, NflogEntry>>,
}

impl Nflog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NflogKey, NflogEntry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry for `key` at `now` (expired entries count as absent).
    pub fn query(&self, key: &NflogKey, now: Timestamp) -> Option<NflogEntry> {
        self.lock().get(key).filter(|e| e.expires_at > now).cloned()
    }

    /// Records a successful send.
    pub fn log(&self, key: NflogKey, entry: NflogEntry) {
        self.lock().insert(key, entry);
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

    /// Drops expired entries; returns how many.
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut m = self.lock();
        let before = m.len();
        m.retain(|_, e| e.expires_at > now);
        before - m.len()
    }

    /// A copy of every entry.
    pub fn snapshot(&self) -> Vec<(NflogKey, NflogEntry)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Merges entries from elsewhere: per key, the newer `timestamp` wins.
    pub fn merge(&self, entries: impl IntoIterator<Item = (NflogKey, NflogEntry)>) {
        let mut m = self.lock();
        for (k, e) in entries {
            match m.get(&k) {
                Some(cur) if cur.timestamp >= e.timestamp => {}
                _ => {
                    m.insert(k, e);
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(g: &str) -> NflogKey {
        NflogKey {
            group_key: g.into(),
            receiver: "r".into(),
            integration: "webhook",
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

    proptest! {
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
