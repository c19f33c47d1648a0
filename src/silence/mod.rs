//! Silences: the state (create, update in place or replace, expire, garbage-collect), the
//! matching index the pipeline and the API ask "which active silences match these labels?",
//! validation with Alertmanager's messages, and `snapshot`/`merge` for storage and peers.
//!
//! Semantics are Alertmanager's (`silence/silence.go`, reference §1.4): a silence is *pending*
//! before `startsAt`, *active* from `startsAt` to `endsAt` inclusive, *expired* after; an update
//! that would rewrite history (other matchers, a moved start of an active silence) expires the
//! old silence and creates a new id; a past start is clamped to now; silences are forgotten at
//! `endsAt` + retention.
//!
//! State only: no sockets, no files. The state sits behind one `std::sync::RwLock` (matching
//! takes the read side, so flushes and API reads run in parallel); no lock is held across an
//! `.await` (there is no async code here). Every change bumps a version published on a `watch`
//! channel, which the storage adapter (write a snapshot) and the expiry watcher (notify groups
//! whose silence ended) follow. Layer L2: imports `model` only.

mod index;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::model::{LabelSet, MatchType, Matcher};
use crate::storage::{Change, Journal, Kind};
use index::Index;
pub use validate::{
    Limits, MAX_MATCHERS, MAX_PATTERN_BYTES, SilenceError, build_matchers, check_times, proto_size,
    validate_matchers,
};

/// A silence's lifecycle state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SilenceState {
    /// In force: `startsAt <= now <= endsAt`.
    Active,
    /// Not started yet: `now < startsAt`.
    Pending,
    /// Over: `now > endsAt`.
    Expired,
}

impl SilenceState {
    /// The state of a silence spanning `[starts_at, ends_at]` at `now`.
    pub fn at(starts_at: Timestamp, ends_at: Timestamp, now: Timestamp) -> Self {
        if now < starts_at {
            SilenceState::Pending
        } else if now > ends_at {
            SilenceState::Expired
        } else {
            SilenceState::Active
        }
    }

    /// The API and metric spelling: `active`, `pending`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }

    /// Every state, in Alertmanager's listing order.
    pub const ALL: [SilenceState; 3] = [
        SilenceState::Active,
        SilenceState::Pending,
        SilenceState::Expired,
    ];
}

/// One silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    /// The UUID (empty in a request that creates a silence).
    pub id: Arc<str>,
    /// The matchers, in the order given (an alert is silenced when all of them match).
    pub matchers: Vec<Matcher>,
    /// When it starts.
    pub starts_at: Timestamp,
    /// When it ends.
    pub ends_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// Who created it.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// Free-form annotations (Alertmanager 0.32+); empty when none were given.
    pub annotations: LabelSet,
}

impl Silence {
    /// The state at `now`.
    pub fn state(&self, now: Timestamp) -> SilenceState {
        SilenceState::at(self.starts_at, self.ends_at, now)
    }

    /// Whether every matcher accepts the label set (a missing label is `""`).
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }
}

/// One silence as the snapshot and the peers carry it: the silence plus when it may be
/// forgotten. Field names are Alertmanager's API names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    /// The UUID.
    pub id: String,
    /// The matchers.
    pub matchers: Vec<WireMatcher>,
    /// `startsAt`.
    #[serde(rename = "startsAt")]
    pub starts_at: Timestamp,
    /// `endsAt`.
    #[serde(rename = "endsAt")]
    pub ends_at: Timestamp,
    /// `updatedAt`.
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
    /// `createdBy`.
    #[serde(rename = "createdBy")]
    pub created_by: String,
    /// `comment`.
    pub comment: String,
    /// `annotations` (omitted when empty).
    #[serde(default, skip_serializing_if = "LabelSet::is_empty")]
    pub annotations: LabelSet,
    /// When the silence may be garbage-collected (`endsAt` + retention).
    #[serde(rename = "expiresAt")]
    pub expires_at: Timestamp,
}

/// A matcher in Alertmanager's API form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMatcher {
    /// The label name.
    pub name: String,
    /// The value or regex.
    pub value: String,
    /// `=~`/`!~`.
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    /// `=`/`=~` (true) or `!=`/`!~` (false).
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl From<&Matcher> for WireMatcher {
    fn from(m: &Matcher) -> Self {
        WireMatcher {
            name: m.name.clone(),
            value: m.value.clone(),
            is_regex: m.op.is_regex(),
            is_equal: m.op.is_equal(),
        }
    }
}

impl WireMatcher {
    /// The operator these flags encode.
    pub fn op(&self) -> MatchType {
        MatchType::from_flags(self.is_equal, self.is_regex)
    }
}

/// The file format of a snapshot: a version number and the entries.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotFile {
    /// Format version (1).
    version: u32,
    /// Every silence.
    silences: Vec<SnapshotEntry>,
}

/// A stored silence and when it may be forgotten.
#[derive(Debug, Clone)]
struct Entry {
    /// The silence (shared with the index and with readers).
    silence: Arc<Silence>,
    /// `endsAt` + retention.
    expires_at: Timestamp,
}

/// What sits behind the lock.
#[derive(Default)]
struct State {
    /// Every silence not yet garbage-collected, by id.
    by_id: HashMap<Arc<str>, Entry>,
    /// The silences not yet expired, indexed for matching.
    index: Index,
}

/// The silence store. Cheap to share behind an `Arc`.
pub struct Silences {
    /// The state.
    state: RwLock<State>,
    /// How long an ended silence is kept (`--data.retention`).
    retention: SignedDuration,
    /// `--silences.max-silences` and `--silences.max-silence-size-bytes`.
    limits: Limits,
    /// Bumped on every change; followers (storage, expiry watcher) wait on it.
    version: watch::Sender<u64>,
    /// Counts generated ids, so two ids made in the same instant still differ.
    ids: AtomicU64,
    /// Where every change goes to be stored (set once the stored state is loaded).
    journal: std::sync::OnceLock<Journal>,
    /// The silences each label set was last found to match.
    matched: MatchCache,
}

/// The silences whose matchers a label set satisfies, by the set's fingerprint, with the
/// version they were found at: while no silence changes, an alert checked again (at every
/// flush of its group) costs one look-up, not a pass over the index, as Alertmanager keeps
/// each alert's silences with the version it checked them at. Whether each is in force is
/// decided at every check (a pending silence starts, an active one ends, with no change).
#[derive(Default)]
struct MatchCache {
    shards: [std::sync::Mutex<HashMap<u64, Cached>>; MATCH_CACHE_SHARDS],
}

/// One cached answer: the version it holds for, and the matching silences sorted by id.
struct Cached {
    version: u64,
    silences: Option<Arc<[Arc<Silence>]>>,
}

/// Shards of the match cache (fewer waits between concurrent flushes).
const MATCH_CACHE_SHARDS: usize = 16;

/// A shard holding more label sets than this is emptied before it takes another: at most
/// 262,144 label sets are remembered (about 40 bytes each, and the matching silences shared).
const MATCH_CACHE_SHARD_CAP: usize = 16_384;

impl Silences {
    /// An empty store keeping ended silences for `retention`.
    pub fn new(retention: SignedDuration, limits: Limits) -> Self {
        Silences {
            state: RwLock::new(State::default()),
            retention,
            limits,
            version: watch::channel(0).0,
            ids: AtomicU64::new(0),
            journal: std::sync::OnceLock::new(),
            matched: MatchCache::default(),
        }
    }

    /// Sends every later change to `journal` (called once, after the stored silences were
    /// merged in).
    pub fn set_journal(&self, journal: Journal) {
        let _ = self.journal.set(journal);
    }

    /// Queues a stored silence's new content (called under the write lock, so the journal sees
    /// changes in the order they were made).
    fn journal_put(&self, e: &Entry) {
        if let Some(j) = self.journal.get() {
            j.push(Change::put(
                Kind::Silences,
                e.silence.id.as_bytes(),
                Self::encode_entry(&to_entry(e)),
            ));
        }
    }

    /// One entry as storage keeps it (JSON, Alertmanager's field names).
    pub fn encode_entry(e: &SnapshotEntry) -> Vec<u8> {
        serde_json::to_vec(e).unwrap_or_default()
    }

    /// Reads back what [`Silences::encode_entry`] wrote.
    pub fn decode_entry(bytes: &[u8]) -> Result<SnapshotEntry, SilenceError> {
        serde_json::from_slice(bytes)
            .map_err(|e| SilenceError::Snapshot(format!("decoding a stored silence: {e}")))
    }

    /// Every silence as storage changes (what a rewrite of the store writes).
    pub fn snapshot_changes(&self) -> Vec<Change> {
        self.snapshot()
            .iter()
            .map(|e| Change::put(Kind::Silences, e.id.as_bytes(), Self::encode_entry(e)))
            .collect()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic under the lock cannot leave the map half-updated (each change is a few
        // single operations), so a poisoned lock is still safe to use.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) -> u64 {
        let mut v = 0;
        self.version.send_modify(|x| {
            *x += 1;
            v = *x;
        });
        v
    }

    /// The current version (bumped on every change).
    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }

    /// A receiver that sees every version change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Creates or updates a silence, as Alertmanager's `Silences.Set`: an `id` that is unknown
    /// is [`SilenceError::NotFound`]; a known one is updated in place when that does not
    /// rewrite history, else it is expired and a new silence (new id) replaces it. A start in
    /// the past is clamped to `now`. Returns the id and the new version.
    pub fn set(&self, mut sil: Silence, now: Timestamp) -> Result<(Arc<str>, u64), SilenceError> {
        validate_matchers(&sil.matchers)?;
        if sil.ends_at < sil.starts_at {
            return Err(SilenceError::Invalid(
                "end time must not be before start time".into(),
            ));
        }
        let mut st = self.write();
        let prev = if sil.id.is_empty() {
            None
        } else {
            Some(
                st.by_id
                    .get(&sil.id)
                    .map(|e| Arc::clone(&e.silence))
                    .ok_or(SilenceError::NotFound)?,
            )
        };
        if let Some(prev) = &prev
            && can_update(prev, &sil, now)
        {
            sil.updated_at = now;
            sil.id = Arc::clone(&prev.id);
            self.check_size(&sil)?;
            let id = Arc::clone(&sil.id);
            self.store(&mut st, sil, now);
            drop(st);
            return Ok((id, self.bump()));
        }
        if self.limits.max_silences > 0 && st.by_id.len() + 1 > self.limits.max_silences {
            return Err(SilenceError::TooMany {
                count: st.by_id.len(),
                limit: self.limits.max_silences,
            });
        }
        sil.id = Arc::from(self.new_id());
        if sil.starts_at < now {
            sil.starts_at = now;
        }
        sil.updated_at = now;
        self.check_size(&sil)?;
        if let Some(prev) = prev
            && prev.state(now) != SilenceState::Expired
        {
            let expired = expired_copy(&prev, now);
            self.store(&mut st, expired, now);
        }
        let id = Arc::clone(&sil.id);
        self.store(&mut st, sil, now);
        drop(st);
        Ok((id, self.bump()))
    }

    fn check_size(&self, sil: &Silence) -> Result<(), SilenceError> {
        if self.limits.max_silence_size_bytes == 0 {
            return Ok(());
        }
        let expires = sil
            .ends_at
            .checked_add(self.retention)
            .unwrap_or(sil.ends_at);
        let size = proto_size(sil, expires);
        if size > self.limits.max_silence_size_bytes {
            return Err(SilenceError::TooLarge {
                size,
                limit: self.limits.max_silence_size_bytes,
            });
        }
        Ok(())
    }

    /// Puts a silence into the map and the index (replacing one with the same id).
    fn store(&self, st: &mut State, sil: Silence, now: Timestamp) {
        let expires_at = sil
            .ends_at
            .checked_add(self.retention)
            .unwrap_or(sil.ends_at);
        let entry = Entry {
            silence: Arc::new(sil),
            expires_at,
        };
        self.journal_put(&entry);
        insert_entry(st, entry, now);
    }

    /// Expires a silence now, as Alertmanager's `Expire`: an active one ends now, a pending
    /// one starts and ends now, an expired one is left alone. Returns the version after.
    pub fn expire(&self, id: &str, now: Timestamp) -> Result<u64, SilenceError> {
        let mut st = self.write();
        let cur = st
            .by_id
            .get(id)
            .map(|e| Arc::clone(&e.silence))
            .ok_or(SilenceError::NotFound)?;
        if cur.state(now) == SilenceState::Expired {
            return Ok(self.version());
        }
        let expired = expired_copy(&cur, now);
        self.store(&mut st, expired, now);
        drop(st);
        Ok(self.bump())
    }

    /// The silence with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Silence>> {
        self.read().by_id.get(id).map(|e| Arc::clone(&e.silence))
    }

    /// Every silence (unordered).
    pub fn list(&self) -> Vec<Arc<Silence>> {
        self.read()
            .by_id
            .values()
            .map(|e| Arc::clone(&e.silence))
            .collect()
    }

    /// Number of stored silences (expired ones included until garbage-collected).
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many silences are in each state at `now` (active, pending, expired).
    pub fn count_states(&self, now: Timestamp) -> [usize; 3] {
        let mut out = [0; 3];
        for e in self.read().by_id.values() {
            out[e.silence.state(now) as usize] += 1;
        }
        out
    }

    /// The ids of the active silences that match `labels`, sorted (the `silencedBy` list).
    pub fn silenced_by(&self, labels: &LabelSet, now: Timestamp) -> Vec<Arc<str>> {
        self.matching(labels).map_or_else(Vec::new, |m| {
            m.iter()
                .filter(|s| s.state(now) == SilenceState::Active)
                .map(|s| Arc::clone(&s.id))
                .collect()
        })
    }

    /// Whether any active silence matches `labels`.
    pub fn is_silenced(&self, labels: &LabelSet, now: Timestamp) -> bool {
        self.matching(labels)
            .is_some_and(|m| m.iter().any(|s| s.state(now) == SilenceState::Active))
    }

    /// The silences not yet expired whose matchers `labels` satisfies (whatever their state
    /// now), sorted by id; None for none. From the cache while no silence changed.
    fn matching(&self, labels: &LabelSet) -> Option<Arc<[Arc<Silence>]>> {
        // Read before the state: a change lands in the state before its version is bumped, so
        // an answer stored under this version is never older than the version says.
        let version = self.version();
        // No silence in force or to come: nothing to hash, look up or remember.
        if self.read().index.is_empty() {
            return None;
        }
        let fp = labels.fingerprint().0;
        let shard = &self.matched.shards[(fp % MATCH_CACHE_SHARDS as u64) as usize];
        let lock = || shard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = lock().get(&fp)
            && c.version == version
        {
            return c.silences.clone();
        }
        let mut found: Vec<Arc<Silence>> = Vec::new();
        self.read().index.for_each_candidate(labels, |s| {
            if s.matches(labels) {
                found.push(Arc::clone(s));
            }
            true
        });
        found.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        found.dedup_by(|a, b| a.id == b.id);
        let silences: Option<Arc<[Arc<Silence>]>> = (!found.is_empty()).then(|| found.into());
        let mut map = lock();
        if map.len() >= MATCH_CACHE_SHARD_CAP {
            map.clear();
        }
        map.insert(
            fp,
            Cached {
                version,
                silences: silences.clone(),
            },
        );
        silences
    }

    /// Silences that ended in `(after, until]` having been in force (`startsAt < endsAt`):
    /// the ones whose end may un-silence an alert. Expiring a pending silence does not count.
    pub fn ended_between(&self, after: Timestamp, until: Timestamp) -> Vec<Arc<Silence>> {
        self.read()
            .by_id
            .values()
            .map(|e| &e.silence)
            .filter(|s| s.ends_at > after && s.ends_at <= until && s.starts_at < s.ends_at)
            .cloned()
            .collect()
    }

    /// The earliest `endsAt` after `now`, if any: when the expiry watcher should look again.
    pub fn next_end_after(&self, now: Timestamp) -> Option<Timestamp> {
        self.read()
            .by_id
            .values()
            .map(|e| e.silence.ends_at)
            .filter(|t| *t > now)
            .min()
    }

    /// Drops silences whose retention ran out, and takes expired ones out of the matching
    /// index. Returns how many were dropped.
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut st = self.write();
        let before = st.by_id.len();
        let dead: Vec<Arc<str>> = st
            .by_id
            .iter()
            .filter(|(_, e)| e.expires_at <= now)
            .map(|(k, _)| Arc::clone(k))
            .collect();
        for id in &dead {
            if let Some(e) = st.by_id.remove(id) {
                st.index.remove(&e.silence);
                if let Some(j) = self.journal.get() {
                    j.push(Change::delete(Kind::Silences, id.as_bytes()));
                }
            }
        }
        let State { by_id, index } = &mut *st;
        index.prune_expired(now, |id| by_id.contains_key(id));
        let removed = before - st.by_id.len();
        drop(st);
        if removed > 0 {
            self.bump();
        }
        removed
    }

    /// Every silence with its expiry, sorted by id (what storage writes and peers exchange).
    pub fn snapshot(&self) -> Vec<SnapshotEntry> {
        let st = self.read();
        let mut out: Vec<SnapshotEntry> = st.by_id.values().map(to_entry).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// [`Silences::snapshot`] encoded as bytes (JSON with a format version).
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let file = SnapshotFile {
            version: 1,
            silences: self.snapshot(),
        };
        serde_json::to_vec(&file).unwrap_or_default()
    }

    /// Decodes bytes written by [`Silences::snapshot_bytes`].
    pub fn decode_snapshot(bytes: &[u8]) -> Result<Vec<SnapshotEntry>, SilenceError> {
        let file: SnapshotFile = serde_json::from_slice(bytes)
            .map_err(|e| SilenceError::Snapshot(format!("decoding silences: {e}")))?;
        if file.version != 1 {
            return Err(SilenceError::Snapshot(format!(
                "silence snapshot format version {} is not supported (want 1)",
                file.version
            )));
        }
        Ok(file.silences)
    }

    /// Merges entries from a snapshot or a peer: per id the newer `updatedAt` wins (ties go to
    /// the greater entry, so the merge is commutative, associative and idempotent); entries
    /// whose retention ran out by `now` are ignored. Returns how many entries changed, or the
    /// first entry that could not be compiled (the others are merged anyway).
    pub fn merge(
        &self,
        entries: impl IntoIterator<Item = SnapshotEntry>,
        now: Timestamp,
    ) -> Result<usize, SilenceError> {
        let mut st = self.write();
        let (mut changed, mut first_err) = (0, None);
        for e in entries {
            if e.expires_at < now {
                continue;
            }
            if let Some(cur) = st.by_id.get(e.id.as_str()) {
                let cur = to_entry(cur);
                if !newer(&e, &cur) {
                    continue;
                }
            }
            match from_entry(&e) {
                Ok(entry) => {
                    self.journal_put(&entry);
                    insert_entry(&mut st, entry, now);
                    changed += 1;
                }
                Err(err) => {
                    first_err.get_or_insert(err);
                }
            }
        }
        drop(st);
        if changed > 0 {
            self.bump();
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(changed),
        }
    }

    /// A fresh UUID (version 4 layout) from the process's random hasher keys.
    fn new_id(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let keys = std::collections::hash_map::RandomState::new();
        let mut bytes = [0u8; 16];
        for (i, half) in bytes.chunks_exact_mut(8).enumerate() {
            let mut h = keys.build_hasher();
            h.write_u64(n);
            h.write_usize(i);
            half.copy_from_slice(&h.finish().to_le_bytes());
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// Whether `text` is a UUID in its canonical hyphenated form (any version, either case), as
/// go-swagger's `format: uuid` accepts.
pub fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn insert_entry(st: &mut State, entry: Entry, now: Timestamp) {
    if let Some(old) = st.by_id.remove(&entry.silence.id) {
        st.index.remove(&old.silence);
    }
    if entry.silence.state(now) != SilenceState::Expired {
        st.index.insert(Arc::clone(&entry.silence));
    }
    st.by_id.insert(Arc::clone(&entry.silence.id), entry);
}

/// A copy of `s` expired at `now` (Alertmanager's rule for active and pending silences).
fn expired_copy(s: &Silence, now: Timestamp) -> Silence {
    let mut e = s.clone();
    if s.state(now) == SilenceState::Pending {
        e.starts_at = now;
    }
    e.ends_at = now;
    e.updated_at = now;
    e
}

/// Alertmanager's `canUpdate`: same matchers in the same order, and a change of times that
/// does not rewrite what was already silenced.
fn can_update(a: &Silence, b: &Silence, now: Timestamp) -> bool {
    if a.matchers.len() != b.matchers.len()
        || a.matchers
            .iter()
            .zip(&b.matchers)
            .any(|(x, y)| x.name != y.name || x.op != y.op || x.value != y.value)
    {
        return false;
    }
    match a.state(now) {
        SilenceState::Active => {
            b.starts_at.as_second() == a.starts_at.as_second() && b.ends_at >= now
        }
        SilenceState::Pending => b.starts_at >= now,
        SilenceState::Expired => false,
    }
}

fn to_entry(e: &Entry) -> SnapshotEntry {
    let s = &e.silence;
    SnapshotEntry {
        id: s.id.to_string(),
        matchers: s.matchers.iter().map(WireMatcher::from).collect(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        updated_at: s.updated_at,
        created_by: s.created_by.clone(),
        comment: s.comment.clone(),
        annotations: s.annotations.clone(),
        expires_at: e.expires_at,
    }
}

fn from_entry(e: &SnapshotEntry) -> Result<Entry, SilenceError> {
    let matchers = e
        .matchers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            Matcher::new(&m.name, m.op(), &m.value).map_err(|err| {
                SilenceError::Snapshot(format!("silence {} matcher {i}: {err}", e.id))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Entry {
        silence: Arc::new(Silence {
            id: Arc::from(e.id.as_str()),
            matchers,
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            updated_at: e.updated_at,
            created_by: e.created_by.clone(),
            comment: e.comment.clone(),
            annotations: e.annotations.clone(),
        }),
        expires_at: e.expires_at,
    })
}

/// Whether `a` replaces `b` in a merge: newer `updatedAt`, ties broken by content so every
/// replica picks the same one.
fn newer(a: &SnapshotEntry, b: &SnapshotEntry) -> bool {
    match a.updated_at.cmp(&b.updated_at) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => {
            let key = |e: &SnapshotEntry| serde_json::to_string(e).unwrap_or_default();
            key(a) > key(b)
        }
    }
}
