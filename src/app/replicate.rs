//! State over the cluster: silences (channel `sil`), the notification log (channel `nfl`) and
//! the heartbeat checks' states (channel `hb`), each by one loop of the same shape
//! ([`replicate`]).
//!
//! Every value this peer holds is published under its own gossip node (so a late or restarted
//! peer catches up from any live one, even when the peer that wrote it is gone); what other
//! peers publish is merged in with the owner's law (silences: last `updatedAt` wins; nflog:
//! newest wins, ties broken by content; heartbeat checks: the newest ping, pause or resume wins,
//! ping logs joined), which persists it through the journal and bumps the
//! owner's version, so the merged result is published in turn and the peers converge. A full
//! pass over the peers' values every 30 s repairs anything a lost event missed. `cluster`
//! moves strings and knows neither owner; the owners know no sockets.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::api::ApiState;
use crate::clock;
use crate::cluster::{Cluster, Update};
use crate::heartbeat::{Heartbeats, replica};
use crate::metrics::Metrics;
use crate::nflog::{self, Nflog};
use crate::notify::claim;
use crate::silence::Silences;

/// A state owner as the replication loop sees it.
pub(super) trait Owner: Send + Sync + 'static {
    /// The channel its values travel on.
    const CHANNEL: &'static str;
    /// Bumped after every change.
    fn changes(&self) -> watch::Receiver<u64>;
    /// Every value held, by key.
    fn values(&self) -> HashMap<String, String>;
    /// Merges values from peers with the owner's law.
    fn merge(&self, updates: Vec<Update>);
}

/// Silences.
pub(super) struct SilenceOwner(pub Arc<Silences>);

impl Owner for SilenceOwner {
    const CHANNEL: &'static str = "sil";

    fn changes(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }

    fn values(&self) -> HashMap<String, String> {
        self.0
            .snapshot()
            .iter()
            .map(|e| {
                let value = String::from_utf8(Silences::encode_entry(e)).unwrap_or_default();
                (e.id.clone(), value)
            })
            .collect()
    }

    fn merge(&self, updates: Vec<Update>) {
        let entries = updates.into_iter().filter_map(|u| {
            Silences::decode_entry(u.value.as_bytes())
                .inspect_err(|e| tracing::warn!(peer = %u.from, id = %u.key, error = %e, "Ignoring a silence from a peer."))
                .ok()
        });
        if let Err(e) = self.0.merge(entries, clock::now()) {
            tracing::warn!(error = %e, "A silence from a peer could not be merged.");
        }
    }
}

/// The notification log (its entries; send claims are `notify::claim`'s, on their own
/// channel).
pub(super) struct NflogOwner {
    /// The log.
    pub nflog: Arc<Nflog>,
    /// Replication lag.
    pub metrics: Arc<Metrics>,
}

impl Owner for NflogOwner {
    const CHANNEL: &'static str = claim::NFLOG;

    fn changes(&self) -> watch::Receiver<u64> {
        self.nflog.subscribe()
    }

    fn values(&self) -> HashMap<String, String> {
        self.nflog
            .snapshot()
            .iter()
            .map(|(k, e)| (nflog::replica_id(k), nflog::encode_replica(k, e)))
            .collect()
    }

    fn merge(&self, updates: Vec<Update>) {
        let now = clock::now();
        for u in updates {
            match nflog::decode_replica(&u.value) {
                Ok((k, e)) => {
                    if e.expires_at <= now {
                        continue;
                    }
                    let lag = now.duration_since(e.timestamp).as_secs_f64().max(0.0);
                    if self.nflog.merge([(k, e)]) > 0 {
                        self.metrics.cluster_replication_lag.observe(lag);
                    }
                }
                Err(e) => {
                    tracing::warn!(peer = %u.from, key = %u.key, error = %e, "Ignoring a notification log entry from a peer.");
                }
            }
        }
    }
}

/// The heartbeat checks: a ping any peer receives counts on every peer. What a merged state
/// implies (an alert raised elsewhere first, or resolved by a ping elsewhere) goes into the
/// pipeline as the timer loop's alerts do; the send claims make one peer notify it.
pub(super) struct HeartbeatOwner {
    /// The checks.
    pub heartbeats: Arc<Heartbeats>,
    /// Where the alerts a merge implies go.
    pub state: Arc<ApiState>,
    /// The published form of every check, re-encoded only for the checks that changed (10,000
    /// checks pinged every minute would otherwise encode every state many times a second).
    pub encoded: std::sync::Mutex<HashMap<String, String>>,
}

impl Owner for HeartbeatOwner {
    const CHANNEL: &'static str = "hb";

    fn changes(&self) -> watch::Receiver<u64> {
        self.heartbeats.subscribe()
    }

    fn values(&self) -> HashMap<String, String> {
        let (changed, all) = self.heartbeats.take_replica();
        let mut cache = self.encoded.lock().unwrap_or_else(|p| p.into_inner());
        if all {
            cache.clear();
        }
        for (name, v) in changed {
            match v {
                Some(v) => {
                    cache.insert(name, v);
                }
                None => {
                    cache.remove(&name);
                }
            }
        }
        cache.clone()
    }

    fn merge(&self, updates: Vec<Update>) {
        let mut alerts = Vec::new();
        for u in updates {
            match replica::decode(&u.value) {
                Ok(s) => alerts.extend(self.heartbeats.merge_replica(&u.key, &s)),
                Err(e) => {
                    tracing::warn!(peer = %u.from, check = %u.key, error = %e, "Ignoring a heartbeat state from a peer.");
                }
            }
        }
        crate::api::heartbeats::emit(&self.state, alerts);
    }
}

/// Publishes what `owner` holds and merges what peers publish, until `cancel`.
pub(super) async fn replicate<O: Owner>(
    cluster: Arc<Cluster>,
    owner: O,
    cancel: CancellationToken,
) {
    let mut changes = owner.changes();
    let mut inbound = cluster.subscribe(O::CHANNEL).await;
    let mut published: HashMap<String, String> = HashMap::new();
    // Its first tick is at once: what the peers hold already is merged first.
    let mut resync = tokio::time::interval(Duration::from_secs(30));
    // A pass reads every value the owner holds, so a burst of changes (10,000 silences posted
    // one by one) would cost n passes of n values: after a change the next pass waits ten
    // times as long as the last one took (20 ms to 1 s), which keeps the loop under a tenth of
    // a core and coalesces a burst into a few passes.
    loop {
        let started = tokio::time::Instant::now();
        let values = owner.values();
        let mut held = HashSet::with_capacity(values.len());
        for (k, v) in values {
            if published.get(&k) != Some(&v) {
                cluster.publish(O::CHANNEL, &k, &v).await;
                published.insert(k.clone(), v);
            }
            held.insert(k);
        }
        let gone: Vec<String> = published
            .keys()
            .filter(|k| !held.contains(k.as_str()))
            .cloned()
            .collect();
        for k in gone {
            cluster.retract(O::CHANNEL, &k).await;
            published.remove(&k);
        }
        let pass_took = started.elapsed();
        tokio::select! {
            () = cancel.cancelled() => return,
            r = changes.changed() => {
                if r.is_err() {
                    return;
                }
                let gap = (pass_took * 10).clamp(Duration::from_millis(20), Duration::from_secs(1));
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(gap) => {}
                }
            }
            u = inbound.recv() => {
                let Some(u) = u else { return };
                let mut batch = vec![u];
                while let Ok(u) = inbound.try_recv() {
                    batch.push(u);
                }
                owner.merge(batch);
            }
            _ = resync.tick() => owner.merge(cluster.snapshot(O::CHANNEL).await),
        }
    }
}
