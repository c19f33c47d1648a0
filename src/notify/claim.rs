//! Send claims: in a healthy cluster, each notification goes out from exactly one peer.
//!
//! Every peer gets the same alerts and flushes the same groups at about the same time. Before
//! an integration of a group is sent to, the peer records a *claim* on the group's notification
//! log key in the replicated state (channel [`CLAIMS`], under the key's [`replica_id`], on this
//! peer's own gossip node) and the other peers see it within a gossip round:
//!
//! ```text
//! acquire(key)
//!   the cluster still settling (first sync)?                -> wait until it is ready
//!   pull the key's nflog entries the peers publish; not needed any more? -> Covered
//!   a live claim of another peer (pending or sending)?     -> wait for it, start again
//!   publish my claim `pending` (unless one arrived: checked under the engine's lock), wait
//!   until every live peer acknowledged it (below)
//!   another `sending` claim, or a `pending` one of a peer
//!   that sorts before me (peer position)?                  -> mine `released`; wait, start again
//!   publish `sending` (renewed every peer_timeout / 3)     -> Permit: send
//! Permit::done(entry)   publish the nflog entry, then the claim `done`
//! Permit::release()     gave up or stopped: the claim `released`, the next peer sends
//! ```
//!
//! Acknowledgements make this hold for any number of peers and any gossip delay: every peer
//! acknowledges the pending claims it receives by publishing the state version it holds of
//! each other peer ([`Cluster::ack`]). A claimer decides once every live peer's
//! acknowledgement covers the version its claim was published at. A peer's changes reach the
//! others in version order, so by then the claimer holds every claim a peer published before
//! seeing its own, and a peer that saw its claim first waits for it instead of claiming (the
//! look and the publication are one step): of claims made at the same time, every claimer
//! sees every other, and the first by name sends. (A fixed wait of 3 gossip rounds did this
//! only while a change reached every peer within 1.5 rounds: up to 4 peers, no loss.) A peer
//! that acknowledges nothing (an older tocsin) is waited for 3 rounds; one that never
//! acknowledges is given up on after the peer timeout (at least once).
//!
//! A claim is live while its claimer is a live member, it is `pending` or `sending`, and its
//! expiry (`--cluster.peer-timeout` after its last renewal) has not passed: a claimer that dies
//! (detected by the failure detector, or silent past its expiry) or gives up lets the waiting
//! peers claim again, and the first of them in name order sends. A waiting peer looks again
//! every gossip round and as soon as the membership changes; when the claimer it waited for
//! died, the first live peer by name sends without waiting for acknowledgements
//! (`successor`), so failover takes the failure detection (about 1.2 s at the default gossip
//! interval, see `cluster::PHI_THRESHOLD`) and a round or two. The entry is published before
//! the claim ends, on the same gossip node, so a peer that sees the claim end already holds the
//! entry (chitchat hands a node's changes over in version order) and dedup finds the send done.
//! Under a partition each side sees the other's claims as dead: each side sends, at least once.
//! Ended claims (`done`, `released`) are withdrawn by [`Claims::sweep`] (the GC loop) once they
//! are ten peer timeouts old, so the gossiped state does not grow with every group ever sent.
//!
//! [`wait_for`] is the pure decision (table-tested); [`Claims`] runs it over the cluster.
//! Layer L3: imports `cluster`, `nflog`, `metrics`, `clock`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::clock;
use crate::cluster::{Cluster, Readiness};
use crate::metrics::Metrics;
use crate::nflog::{self, Nflog, NflogEntry, NflogKey, replica_id};

/// The channel claims travel on.
pub const CLAIMS: &str = "clm";
/// The channel notification log entries travel on.
pub const NFLOG: &str = "nfl";

/// Where a claim is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Made, waiting `settle` for claims made at the same time.
    Pending,
    /// Its claimer is sending.
    Sending,
    /// Sent; the nflog entry is published.
    Done,
    /// Given up, lost to another claim, or stopped: others may claim.
    Released,
}

/// A claim as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Where it is.
    pub phase: Phase,
    /// When it lapses unless renewed.
    pub expires: Timestamp,
}

/// Another peer's claim as this peer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The claimer's name.
    pub peer: String,
    /// Whether the claimer is a live member.
    pub live: bool,
    /// The claim.
    pub claim: Claim,
}

impl Seen {
    /// Whether it still holds: a live claimer, pending or sending, not expired.
    fn holds(&self, now: Timestamp) -> bool {
        self.live
            && matches!(self.claim.phase, Phase::Pending | Phase::Sending)
            && self.claim.expires > now
    }
}

/// Whether `me` must wait for another peer's claim. `before_claiming`: nothing of mine is
/// published yet (then any live claim makes me wait); otherwise my pending claim settled and
/// loses only to a sending claim or a pending one of a peer that sorts before me.
pub fn wait_for(me: &str, others: &[Seen], now: Timestamp, before_claiming: bool) -> bool {
    others
        .iter()
        .filter(|s| s.peer != me && s.holds(now))
        .any(|s| before_claiming || s.claim.phase == Phase::Sending || s.peer.as_str() < me)
}

/// How [`Claims::acquire`] ended.
pub enum Acquired {
    /// This peer sends; report the outcome through the permit.
    Send(Permit),
    /// Another peer's send made it unnecessary (the entry it published is merged here).
    Covered,
    /// Stopped (the flush was superseded, or shutdown).
    Cancelled,
}

/// Claims over a running cluster.
pub struct Claims {
    /// The cluster.
    cluster: Arc<Cluster>,
    /// The notification log entries pulled from peers are merged into.
    nflog: Arc<Nflog>,
    /// Claim outcome counters.
    metrics: Arc<Metrics>,
    /// `--cluster.peer-timeout`: a claim not renewed for this long lapses.
    peer_timeout: Duration,
    /// How long a pending claim waits for a peer that does not acknowledge claims (an older
    /// tocsin): 3 gossip rounds.
    settle: Duration,
    /// How often a waiting peer looks again (a gossip round).
    poll: Duration,
    /// This peer's ended claims (done or released) by id, with when they ended.
    ended: Ended,
}

/// Ended claims by id and end time (shared with the permits). A std mutex: never held across
/// an `.await`.
type Ended = Arc<Mutex<HashMap<String, Timestamp>>>;

fn lock(e: &Ended) -> std::sync::MutexGuard<'_, HashMap<String, Timestamp>> {
    e.lock().unwrap_or_else(|p| p.into_inner())
}

impl Claims {
    /// Claims over `cluster`, gossiping every `gossip_interval`.
    pub fn new(
        cluster: Arc<Cluster>,
        nflog: Arc<Nflog>,
        metrics: Arc<Metrics>,
        peer_timeout: Duration,
        gossip_interval: Duration,
    ) -> Self {
        spawn_acks(Arc::downgrade(&cluster));
        Claims {
            cluster,
            nflog,
            metrics,
            peer_timeout: peer_timeout.max(Duration::from_millis(300)),
            settle: gossip_interval * 3,
            poll: gossip_interval.clamp(Duration::from_millis(20), Duration::from_secs(1)),
            ended: Ended::default(),
        }
    }

    /// Withdraws this peer's claims that ended more than ten peer timeouts (at least a minute)
    /// ago; returns how many.
    pub async fn sweep(&self, now: Timestamp) -> usize {
        let age = (self.peer_timeout * 10).max(Duration::from_secs(60));
        let cutoff = now.checked_sub(age).unwrap_or(now);
        let old: Vec<String> = {
            let mut e = lock(&self.ended);
            let old: Vec<String> = e
                .iter()
                .filter(|(_, t)| **t < cutoff)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &old {
                e.remove(k);
            }
            old
        };
        for id in &old {
            self.cluster.retract(CLAIMS, id).await;
        }
        old.len()
    }

    /// Merges the entries other peers publish for `key` (newest wins) into the log.
    async fn pull(&self, id: &str) {
        let entries = self
            .cluster
            .get(NFLOG, id)
            .await
            .into_iter()
            .filter_map(|u| nflog::decode_replica(&u.value).ok());
        let now = clock::now();
        for (k, e) in entries {
            let lag = now.duration_since(e.timestamp).as_secs_f64().max(0.0);
            if self.nflog.merge([(k, e)]) > 0 {
                self.metrics.cluster_replication_lag.observe(lag);
            }
        }
    }

    /// The other peers' claims on `id`.
    async fn seen(&self, id: &str) -> Vec<Seen> {
        let live = self.cluster.status().peers;
        parse_seen(&self.cluster.get(CLAIMS, id).await, &live)
    }

    /// Publishes this peer's claim `phase` on `id` unless (checked atomically with the
    /// publication) another live claim now makes it wait; the version to be acknowledged.
    async fn claim(&self, id: &str, me: &str, phase: Phase) -> Option<u64> {
        let live = self.cluster.status().peers;
        let value = claim_value(phase, self.peer_timeout);
        let v = self
            .cluster
            .publish_unless(CLAIMS, id, &value, |others| {
                wait_for(me, &parse_seen(others, &live), clock::now(), true)
            })
            .await;
        if v.is_some() {
            lock(&self.ended).remove(id);
        }
        v
    }

    /// Waits until every other live peer acknowledged holding version `v` of this peer's
    /// state (so each has seen the claim published at `v`, and this peer has seen any claim a
    /// peer made before it saw mine); a peer that never acknowledges anything (an older
    /// tocsin) counts after the settle time; at most the longer of the peer timeout and 10
    /// settle times. False when a token fired.
    async fn await_acks(&self, me: &str, v: u64, cancels: [&CancellationToken; 2]) -> bool {
        let started = tokio::time::Instant::now();
        let step = (self.poll / 4).max(Duration::from_millis(10));
        loop {
            let live = self.cluster.status().peers;
            let acks = self.cluster.acked_by().await;
            let settled = started.elapsed() >= self.settle;
            let all = live
                .iter()
                .filter(|p| p.name != me)
                .all(|p| acks.get(&p.name).map_or(settled, |a| *a >= v));
            if all {
                return true;
            }
            // A live peer that stays silent this long is about to be detected dead: decide
            // (at least once). Not shorter than 10 settle times, so a short peer timeout does
            // not cut the acknowledgements of a loaded peer short.
            if started.elapsed() >= self.peer_timeout.max(self.settle * 10) {
                tracing::debug!(
                    version = v,
                    "Send claim not acknowledged by every live peer in time; deciding."
                );
                return true;
            }
            if !settle(step, cancels).await {
                return false;
            }
        }
    }

    async fn publish(&self, id: &str, phase: Phase) {
        publish(&self.cluster, &self.ended, id, phase, self.peer_timeout).await;
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .cluster_claims
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }

    /// Waits until this peer may send to `key`'s integration, or another peer's send covers
    /// it (`needed` asked of the log's entry after each pull), or a token fires.
    pub async fn acquire(
        &self,
        key: &NflogKey,
        needed: impl Fn(Option<&NflogEntry>) -> bool,
        cancels: [&CancellationToken; 2],
    ) -> Acquired {
        let id = replica_id(key);
        let me = self.cluster.name().to_owned();
        let _waiting = Waiting::new(&self.metrics);
        let mut waited = false;
        // The claimers this peer last waited for.
        let mut waited_on: Vec<String> = Vec::new();
        let mut status = self.cluster.watch_status();
        // As Alertmanager: nothing is sent before the first sync with the peers (or the
        // settle timeout), when this peer would not see their claims or log yet.
        while self.cluster.status().readiness == Readiness::Settling {
            if !pause(self.poll, &mut status, cancels).await {
                return Acquired::Cancelled;
            }
        }
        loop {
            self.pull(&id).await;
            if !needed(self.nflog.query(key, clock::now()).as_ref()) {
                self.count("covered");
                return Acquired::Covered;
            }
            let seen = self.seen(&id).await;
            let now = clock::now();
            let mut lost = wait_for(&me, &seen, now, true);
            if !lost {
                let st = self.cluster.status();
                let alone = st.peers.len() <= 1;
                // Taking over from a claimer that died (or stalled past its expiry): the first
                // live peer by name sends at once; every other one claims as usual and loses to
                // its `sending` claim (see `successor`).
                let first = successor(&waited_on, &seen, now) && st.position == 0;
                if !alone {
                    let phase = if first {
                        Phase::Sending
                    } else {
                        Phase::Pending
                    };
                    match self.claim(&id, &me, phase).await {
                        // A claim arrived since the look above: wait for it.
                        None => lost = true,
                        Some(_) if first => {}
                        Some(v) => {
                            if !self.await_acks(&me, v, cancels).await {
                                self.publish(&id, Phase::Released).await;
                                return Acquired::Cancelled;
                            }
                            lost = wait_for(&me, &self.seen(&id).await, clock::now(), false);
                            if lost {
                                self.count("conflict_lost");
                                self.publish(&id, Phase::Released).await;
                            }
                        }
                    }
                }
                if !lost {
                    self.pull(&id).await;
                    if !needed(self.nflog.query(key, clock::now()).as_ref()) {
                        self.publish(&id, Phase::Released).await;
                        self.count("covered");
                        return Acquired::Covered;
                    }
                    self.publish(&id, Phase::Sending).await;
                    self.count(if waited { "took_over" } else { "sent" });
                    return Acquired::Send(Permit::start(self, id, key.clone()));
                }
            }
            waited = true;
            waited_on = seen
                .iter()
                .filter(|s| s.peer != me && s.holds(now))
                .map(|s| s.peer.clone())
                .collect();
            if !pause(self.poll, &mut status, cancels).await {
                return Acquired::Cancelled;
            }
        }
    }
}

/// The claims among `updates` (other peers' values of one key), with their claimers'
/// liveness from `live`.
fn parse_seen(updates: &[crate::cluster::Update], live: &[crate::cluster::Peer]) -> Vec<Seen> {
    updates
        .iter()
        .filter_map(|u| {
            let claim: Claim = serde_json::from_str(&u.value).ok()?;
            Some(Seen {
                live: live.iter().any(|p| p.name == u.from),
                peer: u.from.clone(),
                claim,
            })
        })
        .collect()
}

/// A claim in `phase` expiring `ttl` from now, as published.
fn claim_value(phase: Phase, ttl: Duration) -> String {
    let now = clock::now();
    let claim = Claim {
        phase,
        expires: now.checked_add(ttl).unwrap_or(now),
    };
    serde_json::to_string(&claim).unwrap_or_default()
}

/// Acknowledges other peers' pending claims ([`Cluster::ack`]) as they arrive, a batch at a
/// time, until the cluster stops; once at the start, so peers know this one acknowledges.
/// Holds the cluster weakly: it does not keep a stopped cluster alive.
fn spawn_acks(cluster: std::sync::Weak<Cluster>) {
    tokio::spawn(async move {
        let mut rx = {
            let Some(c) = cluster.upgrade() else { return };
            c.ack().await;
            c.subscribe(CLAIMS).await
        };
        let pending = |u: &crate::cluster::Update| {
            serde_json::from_str::<Claim>(&u.value).is_ok_and(|c| c.phase == Phase::Pending)
        };
        while let Some(u) = rx.recv().await {
            let mut any = pending(&u);
            while let Ok(u) = rx.try_recv() {
                any |= pending(&u);
            }
            if any {
                let Some(c) = cluster.upgrade() else { return };
                c.ack().await;
            }
        }
    });
}

/// Whether this peer takes over a send: a claimer it waited for still shows its claim
/// pending or sending, but the claimer is no longer a live member or let the claim expire
/// (it died or stalled, and did not end it). Then the first live peer by name publishes its
/// claim `sending` at once, without waiting for acknowledgements: any other peer that claims at
/// the same time waits for this peer's acknowledgement, which comes after the `sending` claim
/// (or this peer saw that claim first and waits for it), so the send still goes out once, and
/// a wait sooner.
fn successor(waited_on: &[String], seen: &[Seen], now: Timestamp) -> bool {
    waited_on.iter().any(|p| {
        seen.iter().any(|s| {
            s.peer == *p
                && matches!(s.claim.phase, Phase::Pending | Phase::Sending)
                && !s.holds(now)
        })
    })
}

/// Counts an [`Claims::acquire`] in `tocsin_cluster_claims_waiting` while it runs.
struct Waiting<'a>(&'a Metrics);

impl<'a> Waiting<'a> {
    fn new(m: &'a Metrics) -> Self {
        m.cluster_claims_waiting.inc();
        Waiting(m)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.cluster_claims_waiting.dec();
    }
}

/// Sleeps `d`; false when a token fired first.
async fn settle(d: Duration, cancels: [&CancellationToken; 2]) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = cancels[0].cancelled() => false,
        () = cancels[1].cancelled() => false,
    }
}

/// Sleeps `d`, or less when the cluster's status changes (a claimer may have been detected
/// dead); false when a token fired first.
async fn pause(
    d: Duration,
    status: &mut tokio::sync::watch::Receiver<crate::cluster::Status>,
    cancels: [&CancellationToken; 2],
) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        r = status.changed() => {
            if r.is_err() {
                // The cluster stopped: sleep out the pause.
                tokio::time::sleep(d).await;
            }
            true
        }
        () = cancels[0].cancelled() => false,
        () = cancels[1].cancelled() => false,
    }
}

async fn publish(cluster: &Cluster, ended: &Ended, id: &str, phase: Phase, ttl: Duration) {
    let now = clock::now();
    match phase {
        Phase::Pending | Phase::Sending => lock(ended).remove(id),
        Phase::Done | Phase::Released => lock(ended).insert(id.to_owned(), now),
    };
    cluster.publish(CLAIMS, id, &claim_value(phase, ttl)).await;
}

/// This peer holds the claim: a task renews it until [`Permit::done`] or [`Permit::release`]
/// hands it the end (on drop it stops, and the claim lapses after the peer timeout). The one
/// task publishes both the renewals and the end, so no renewal can land after the end.
pub struct Permit {
    /// The cluster.
    cluster: Arc<Cluster>,
    /// The key's replica id.
    id: String,
    /// The key.
    key: NflogKey,
    /// Tells the renewal task how the claim ended.
    end: tokio::sync::oneshot::Sender<Phase>,
    /// The renewal task.
    task: tokio::task::JoinHandle<()>,
}

impl Permit {
    fn start(claims: &Claims, id: String, key: NflogKey) -> Permit {
        let (end, mut ended_rx) = tokio::sync::oneshot::channel::<Phase>();
        let (cluster, rid, ttl) = (Arc::clone(&claims.cluster), id.clone(), claims.peer_timeout);
        let ended = Arc::clone(&claims.ended);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(ttl / 3);
            tick.tick().await;
            loop {
                tokio::select! {
                    r = &mut ended_rx => {
                        if let Ok(phase) = r {
                            publish(&cluster, &ended, &rid, phase, ttl).await;
                        }
                        return;
                    }
                    _ = tick.tick() => publish(&cluster, &ended, &rid, Phase::Sending, ttl).await,
                }
            }
        });
        Permit {
            cluster: Arc::clone(&claims.cluster),
            id,
            key,
            end,
            task,
        }
    }

    /// Sent: publishes `entry` (the log's new entry for the key), then ends the claim.
    pub async fn done(self, entry: &NflogEntry) {
        let value = nflog::encode_replica(&self.key, entry);
        self.cluster.publish(NFLOG, &self.id, &value).await;
        self.finish(Phase::Done).await;
    }

    /// Not sent (given up, superseded, shutdown): the next peer may claim at once.
    pub async fn release(self) {
        self.finish(Phase::Released).await;
    }

    async fn finish(self, phase: Phase) {
        let _ = self.end.send(phase);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(peer: &str, live: bool, phase: Phase, expires: i64) -> Seen {
        Seen {
            peer: peer.into(),
            live,
            claim: Claim {
                phase,
                expires: Timestamp::from_second(expires).unwrap(),
            },
        }
    }

    #[test]
    fn who_waits_for_whom() {
        use Phase::*;
        let now = Timestamp::from_second(100).unwrap();
        // (others, before claiming, me = "b": wait?)
        let table: &[(&[Seen], bool, bool)] = &[
            (&[], true, false),
            (&[], false, false),
            // Before claiming, any live claim makes me wait.
            (&[seen("c", true, Pending, 110)], true, true),
            (&[seen("a", true, Sending, 110)], true, true),
            // Settled: a pending claim loses to a lower name only...
            (&[seen("c", true, Pending, 110)], false, false),
            (&[seen("a", true, Pending, 110)], false, true),
            // ...and to any sending claim.
            (&[seen("c", true, Sending, 110)], false, true),
            // Dead claimers, expired, done and released claims hold nothing.
            (&[seen("a", false, Sending, 110)], true, false),
            (&[seen("a", true, Sending, 100)], true, false),
            (&[seen("a", true, Done, 110)], true, false),
            (&[seen("a", true, Released, 110)], false, false),
            // My own claim (seen through a restart of mine) does not count.
            (&[seen("b", true, Sending, 110)], true, false),
        ];
        for (others, before, want) in table {
            assert_eq!(
                wait_for("b", others, now, *before),
                *want,
                "{others:?} before={before}"
            );
        }
    }

    use crate::cluster::discovery::PeerSpec;
    use crate::cluster::transport::MemoryNetwork;
    use crate::cluster::{Cluster, Options};
    use std::collections::HashSet;

    fn addr(i: usize) -> std::net::SocketAddr {
        format!("127.0.0.1:{}", 23_000 + i).parse().unwrap()
    }

    /// Three peers over the in-memory network, each with its own log and claims.
    async fn trio(net: &MemoryNetwork, peer_timeout: Duration) -> Vec<(Arc<Nflog>, Arc<Claims>)> {
        cluster_of(net, 3, peer_timeout).await
    }

    /// `n` peers over the in-memory network, each with its own log and claims.
    async fn cluster_of(
        net: &MemoryNetwork,
        n: usize,
        peer_timeout: Duration,
    ) -> Vec<(Arc<Nflog>, Arc<Claims>)> {
        let mut out = Vec::new();
        for i in 0..n {
            let mut o = Options::new(addr(i), b"a shared key of the cluster".to_vec());
            o.name = Some(format!("peer-{i}"));
            o.gossip_interval = Duration::from_millis(50);
            o.peers = (0..n).map(|p| PeerSpec::Addr(addr(p))).collect();
            let c = Arc::new(Cluster::start(o, net.clone(), None).await.unwrap());
            let log = Arc::new(Nflog::new());
            let claims = Claims::new(
                c,
                Arc::clone(&log),
                Arc::new(Metrics::new()),
                peer_timeout,
                Duration::from_millis(50),
            );
            out.push((log, Arc::new(claims)));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while out.iter().any(|(_, c)| c.cluster.status().peers.len() < n) {
            assert!(tokio::time::Instant::now() < deadline, "no cluster of {n}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        out
    }

    fn key(g: &str) -> NflogKey {
        NflogKey {
            group_key: g.into(),
            receiver: "r".into(),
            integration: "webhook".into(),
            index: 0,
        }
    }

    /// Every peer flushes `k` at once and, when it may, "sends" (logs an entry) after
    /// `send_for`; returns who sent. `crash`: the winner never reports (its permit dropped).
    async fn flush_all(
        peers: &[(Arc<Nflog>, Arc<Claims>)],
        k: &NflogKey,
        send_for: Duration,
        crash: bool,
    ) -> Vec<String> {
        let tasks: Vec<_> = peers
            .iter()
            .map(|(log, claims)| {
                let (log, claims, k) = (Arc::clone(log), Arc::clone(claims), k.clone());
                tokio::spawn(async move {
                    let never = CancellationToken::new();
                    // Needed while no entry carries alert 1.
                    let needed = |e: Option<&NflogEntry>| e.is_none_or(|e| !e.firing.contains(&1));
                    match claims.acquire(&k, needed, [&never, &never]).await {
                        Acquired::Send(p) => {
                            tokio::time::sleep(send_for).await;
                            if crash && claims.cluster.name() == "peer-0" {
                                drop(p);
                                return Some("peer-0 (crashed)".to_owned());
                            }
                            let now = clock::now();
                            let e = NflogEntry {
                                timestamp: now,
                                firing: HashSet::from([1]),
                                resolved: HashSet::new(),
                                expires_at: now
                                    .checked_add(jiff::SignedDuration::from_hours(1))
                                    .unwrap(),
                                receiver_data: Default::default(),
                            };
                            log.log(k.clone(), e.clone());
                            p.done(&e).await;
                            Some(claims.cluster.name().to_owned())
                        }
                        Acquired::Covered | Acquired::Cancelled => None,
                    }
                })
            })
            .collect();
        let mut sent = Vec::new();
        for t in tasks {
            sent.extend(t.await.unwrap());
        }
        sent.sort();
        sent
    }

    #[tokio::test]
    async fn simultaneous_flushes_send_once_even_past_the_peer_timeout() {
        let net = MemoryNetwork::default();
        let peers = trio(&net, Duration::from_millis(400)).await;
        // The first in name order wins the simultaneous claims.
        assert_eq!(
            flush_all(&peers, &key("a"), Duration::ZERO, false).await,
            ["peer-0"]
        );
        // A send slower than the peer timeout: renewed, nobody else sends.
        assert_eq!(
            flush_all(&peers, &key("b"), Duration::from_millis(1200), false).await,
            ["peer-0"]
        );
        for (log, _) in &peers {
            assert!(
                log.query(&key("b"), clock::now()).is_some(),
                "entry replicated"
            );
        }
    }

    #[tokio::test]
    async fn a_claimer_that_stops_is_replaced_and_a_partition_sends_on_both_sides() {
        let net = MemoryNetwork::default();
        let peers = trio(&net, Duration::from_millis(400)).await;
        // peer-0 wins, then stops without a word: its claim lapses and the next peer sends.
        assert_eq!(
            flush_all(&peers, &key("a"), Duration::ZERO, true).await,
            ["peer-0 (crashed)", "peer-1"]
        );
        // Cut peer-2 off: each side sends once (at least once, never zero).
        net.cut(addr(0), addr(2));
        net.cut(addr(1), addr(2));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while peers[2].1.cluster.status().peers.len() > 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "partition not detected"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sent = flush_all(&peers, &key("p"), Duration::ZERO, false).await;
        assert_eq!(sent, ["peer-0", "peer-2"]);
    }

    #[test]
    fn the_successor_is_who_waited_for_a_claimer_that_died_or_stalled() {
        use Phase::*;
        let now = Timestamp::from_second(100).unwrap();
        let waited = ["a".to_owned()];
        // (what is seen now, successor?)
        let table: &[(Seen, bool)] = &[
            (seen("a", false, Sending, 110), true),
            (seen("a", true, Sending, 99), true),
            (seen("a", false, Pending, 110), true),
            // Still holding: not yet.
            (seen("a", true, Sending, 110), false),
            // Ended by its claimer: the usual claim, acknowledged.
            (seen("a", false, Done, 110), false),
            (seen("a", true, Released, 110), false),
            // Another claimer's lapse is none of my waiting.
            (seen("c", false, Sending, 110), false),
        ];
        for (s, want) in table {
            assert_eq!(
                successor(&waited, std::slice::from_ref(s), now),
                *want,
                "{s:?}"
            );
        }
        assert!(!successor(&[], &[seen("a", false, Sending, 110)], now));
    }

    /// Claims hold for any number of peers: a claimer decides once every live peer has
    /// acknowledged its claim, not after a fixed number of rounds that suits small clusters.
    /// Nine peers, a third of the datagrams lost (so a change takes several rounds to reach
    /// everyone), every peer flushing the same groups at once: each group is sent once.
    #[tokio::test]
    async fn nine_peers_losing_messages_still_send_each_group_once() {
        let net = MemoryNetwork::default();
        let peers = cluster_of(&net, 9, Duration::from_secs(5)).await;
        net.drop_every(3);
        for g in ["a", "b", "c", "d", "e", "f"] {
            let sent = flush_all(&peers, &key(g), Duration::ZERO, false).await;
            assert_eq!(sent.len(), 1, "group {g} sent by {sent:?}");
        }
        net.drop_every(0);
    }

    #[test]
    fn two_settled_claims_never_both_send() {
        use Phase::*;
        let now = Timestamp::from_second(100).unwrap();
        for (x, y) in [("a", "b"), ("b", "a"), ("peer-1", "peer-2")] {
            let sx = seen(x, true, Pending, 110);
            let sy = seen(y, true, Pending, 110);
            let x_sends = !wait_for(x, std::slice::from_ref(&sy), now, false);
            let y_sends = !wait_for(y, std::slice::from_ref(&sx), now, false);
            assert!(x_sends ^ y_sends, "{x} {y}");
        }
    }
}
