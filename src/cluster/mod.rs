//! The cluster: peers found through DNS ([`discovery`]), membership, failure detection and
//! state dissemination by chitchat (Quickwit's scuttlebutt gossip with a phi-accrual failure
//! detector), over a transport that seals every message with the shared key
//! ([`seal`], [`transport`]), on UDP or, with `--cluster.tls-config`, on TCP and mutual TLS
//! ([`transport::tls`]).
//!
//! What is replicated is opaque here: a *channel* (`sil` for silences) of keys and string
//! values. Each peer publishes, under its own chitchat node, every value it holds
//! ([`Cluster::publish`]); every change a peer learns from another node arrives on
//! [`Cluster::subscribe`]. The owner of the state (the app wires silences) merges what arrives
//! with its own law (last `updatedAt` wins) and publishes the result in turn, so all peers
//! converge, a late or restarted peer catches up from any live one, and nothing here knows
//! what a silence is.
//!
//! Status: members are the live chitchat nodes (this peer included) sorted by name; the
//! cluster is `settling` until every resolved peer address is a live member (the first full
//! sync with the reachable peers) or `--cluster.settle-timeout` passed, then `ready`.
//!
//! Layer L1: imports `clock` and `metrics` only.

pub mod discovery;
pub mod seal;
pub mod transport;

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chitchat::{ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, ListenerHandle};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use discovery::{PeerSpec, Resolver};
use transport::{Network, Sealed, TransportStats};

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A flag's value is wrong.
    #[error("{0}")]
    Flag(String),
    /// The key file cannot be used.
    #[error("--cluster.key-file: {0}")]
    Key(String),
    /// The resolver could not be built.
    #[error("cluster DNS: {0}")]
    Dns(String),
    /// The gossip engine could not start (binding the address, mostly).
    #[error("starting the cluster on {addr}: {error:#}")]
    Engine {
        /// The listen address.
        addr: SocketAddr,
        /// The cause.
        error: anyhow::Error,
    },
}

/// The key under which a peer acknowledges the state versions it holds of the others
/// ([`Cluster::ack`]); outside every channel.
pub const ACK_KEY: &str = "_ack";

/// The smallest shared key accepted.
pub const MIN_KEY_LEN: usize = 16;
/// The key messages are sealed with when `--cluster.tls-config` is given without
/// `--cluster.key-file`: TLS authenticates the peers, the seal then only keeps clusters with
/// different `--cluster.label`s apart (and frames the messages as always).
pub const TLS_ONLY_KEY: &[u8] = b"tocsin: peers authenticated by TLS";
/// The largest value published (larger ones are not replicated, with a warning): well under
/// one gossip datagram.
pub const MAX_VALUE_LEN: usize = 32 * 1024;

/// The failure detector's threshold: a peer is dead once no new heartbeat of it was seen for
/// this many times the mean interval between its heartbeats (chitchat's phi; its default is
/// 8). A peer's heartbeat advances once per gossip round and reaches this one directly and
/// through every other peer, so the mean is about the gossip interval: 6 declares a peer dead
/// after about 1.2 s of silence at the default 200 ms (8 took 1.6 s, which with the rounds
/// that follow put failover past 2 s). The mean is learnt per peer, so a peer whose rounds
/// slow down under load gets a longer allowance rather than being declared dead; a live peer
/// must fall silent on every path for six of its own rounds.
pub const PHI_THRESHOLD: f64 = 6.0;

/// Cluster settings (from the `--cluster.*` flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// `--cluster.listen-address` (UDP).
    pub listen: SocketAddr,
    /// `--cluster.advertise-address`: what peers use to reach this one; defaults to the listen
    /// address (which must then not be unspecified).
    pub advertise: Option<SocketAddr>,
    /// `--cluster.peer`, parsed.
    pub peers: Vec<PeerSpec>,
    /// `--cluster.peer-name`; a ULID (sortable by start time) when not given.
    pub name: Option<String>,
    /// The shared key (`--cluster.key-file`'s content).
    pub key: Vec<u8>,
    /// `--cluster.label`: mixed into every message's tag.
    pub label: String,
    /// `--cluster.gossip-interval`.
    pub gossip_interval: Duration,
    /// `--cluster.settle-timeout`: the longest the cluster stays `settling`.
    pub settle_timeout: Duration,
    /// `--cluster.peers-resolve-timeout`: the longest one DNS query may take.
    pub resolve_timeout: Duration,
    /// `--cluster.reconnect-timeout`: how long a dead peer is remembered.
    pub reconnect_timeout: Duration,
    /// `--cluster.dns-server`: the nameserver asked for peers (default: the system's).
    pub dns_server: Option<SocketAddr>,
    /// How often peer names are resolved again ([`discovery::REFRESH_INTERVAL`]).
    pub refresh_interval: Duration,
    /// `--cluster.peer-timeout`: how long a send claim holds without renewal (carried here for
    /// the claims built over this cluster; the engine does not use it).
    pub peer_timeout: Duration,
    /// `--cluster.tls-config`: peers talk over TCP and mutual TLS
    /// ([`transport::tls::TlsNetwork`]) instead of UDP. The app picks the network from it.
    pub tls: Option<transport::tls::TlsSettings>,
}

impl Options {
    /// Alertmanager's defaults, listening on `listen` with `key`.
    pub fn new(listen: SocketAddr, key: Vec<u8>) -> Self {
        Options {
            listen,
            advertise: None,
            peers: Vec::new(),
            name: None,
            key,
            label: String::new(),
            gossip_interval: Duration::from_millis(200),
            settle_timeout: Duration::from_secs(60),
            resolve_timeout: Duration::from_secs(15),
            reconnect_timeout: Duration::from_secs(6 * 3600),
            dns_server: None,
            refresh_interval: discovery::REFRESH_INTERVAL,
            peer_timeout: Duration::from_secs(15),
            tls: None,
        }
    }
}

/// Reads the shared key: the file's bytes without surrounding whitespace, at least
/// [`MIN_KEY_LEN`] bytes.
pub fn read_key(path: &std::path::Path) -> Result<Vec<u8>, ClusterError> {
    let raw =
        std::fs::read(path).map_err(|e| ClusterError::Key(format!("{}: {e}", path.display())))?;
    let key = raw.trim_ascii().to_vec();
    if key.len() < MIN_KEY_LEN {
        return Err(ClusterError::Key(format!(
            "{}: the key has {} bytes; at least {MIN_KEY_LEN} are needed",
            path.display(),
            key.len()
        )));
    }
    Ok(key)
}

/// `settling` or `ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Still waiting for the first sync with the resolved peers.
    Settling,
    /// Synced, or the settle timeout passed.
    Ready,
}

impl Readiness {
    /// Alertmanager's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::Settling => "settling",
            Readiness::Ready => "ready",
        }
    }
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Peer {
    /// Its name.
    pub name: String,
    /// Its advertised address.
    pub address: SocketAddr,
}

/// The cluster as the status API and the metrics show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// This peer's name.
    pub name: String,
    /// `settling` or `ready`.
    pub readiness: Readiness,
    /// Live members (this peer included), sorted by name.
    pub peers: Vec<Peer>,
    /// Members detected dead and not yet forgotten.
    pub failed: usize,
    /// This peer's index among the live members sorted by name.
    pub position: usize,
}

/// A change another peer published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The key within the channel.
    pub key: String,
    /// The value.
    pub value: String,
    /// The name of the peer it came from.
    pub from: String,
}

/// A running cluster peer. Dropping it does not stop the engine: call [`Cluster::shutdown`].
pub struct Cluster {
    /// The gossip engine (shared with the status loop).
    handle: Arc<ChitchatHandle>,
    /// This peer's id.
    id: ChitchatId,
    /// The latest status.
    status: watch::Receiver<Status>,
    /// Transport counters.
    stats: Arc<TransportStats>,
    /// Key-change subscriptions (kept alive while the cluster runs).
    listeners: std::sync::Mutex<Vec<ListenerHandle>>,
    /// Stops discovery and the status loop.
    cancel: CancellationToken,
}

impl Cluster {
    /// Starts a peer on `network` (the real [`transport::Udp`], or a
    /// [`transport::MemoryNetwork`] in tests): binds the listen address, resolves the peers and
    /// starts gossiping with them. `metrics` get the cluster gauges.
    pub async fn start<N: Network>(
        opts: Options,
        network: N,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Cluster, ClusterError> {
        if opts.key.len() < MIN_KEY_LEN {
            return Err(ClusterError::Key(format!(
                "the shared key must have at least {MIN_KEY_LEN} bytes"
            )));
        }
        let advertise = match opts.advertise {
            Some(a) => a,
            None if !opts.listen.ip().is_unspecified() => opts.listen,
            None => {
                return Err(ClusterError::Flag(format!(
                    "--cluster.listen-address={} listens on every interface: give --cluster.advertise-address (the IP and port peers reach this one at)",
                    opts.listen
                )));
            }
        };
        let name = opts.name.clone().unwrap_or_else(ulid);
        let generation = crate::clock::now().as_millisecond().max(0) as u64;
        let stats = Arc::new(TransportStats::default());
        let protocol = network.protocol();
        let transport = Sealed::new(network, &opts.key, &opts.label, Arc::clone(&stats));
        let config = ChitchatConfig {
            chitchat_id: ChitchatId::new(name.clone(), generation, advertise),
            cluster_id: format!("tocsin/{}", opts.label),
            gossip_interval: opts.gossip_interval,
            listen_addr: opts.listen,
            // Seeds come from our own resolver (hickory, --cluster.dns-server), below.
            seed_nodes: Vec::new(),
            failure_detector_config: FailureDetectorConfig {
                phi_threshold: PHI_THRESHOLD,
                initial_interval: (opts.gossip_interval * 5).max(Duration::from_secs(1)),
                dead_node_grace_period: opts.reconnect_timeout,
                ..FailureDetectorConfig::default()
            },
            marked_for_deletion_grace_period: Duration::from_secs(2 * 3600),
            catchup_callback: None,
            extra_liveness_predicate: None,
            protocol_version: chitchat::ProtocolVersion::V1,
        };
        let id = config.chitchat_id.clone();
        // Resolve before listening, so that the first gossip rounds already know the peers.
        let resolver = Resolver::new(opts.dns_server, opts.resolve_timeout)?;
        let cancel = CancellationToken::new();
        let seeds = discovery::spawn(
            resolver,
            opts.peers.clone(),
            opts.refresh_interval,
            cancel.clone(),
        )
        .await;
        let handle = chitchat::spawn_chitchat(config, Vec::new(), &transport)
            .await
            .map_err(|error| ClusterError::Engine {
                addr: opts.listen,
                error,
            })?;
        let handle = Arc::new(handle);
        tracing::info!(
            name = %name,
            listen = %opts.listen,
            advertise = %advertise,
            transport = protocol,
            peers = ?seeds.borrow().iter().collect::<Vec<_>>(),
            "Cluster peer started."
        );
        let first = Status {
            name: name.clone(),
            readiness: Readiness::Settling,
            peers: vec![Peer {
                name: name.clone(),
                address: advertise,
            }],
            failed: 0,
            position: 0,
        };
        let (status_tx, status) = watch::channel(first);
        tokio::spawn(status_loop(StatusLoop {
            chitchat: handle.chitchat(),
            seeds,
            handle: Arc::clone(&handle),
            self_addr: advertise,
            interval: opts.gossip_interval,
            settle_timeout: opts.settle_timeout,
            status_tx,
            metrics,
            stats: Arc::clone(&stats),
            cancel: cancel.clone(),
        }));
        Ok(Cluster {
            handle,
            id,
            status,
            stats,
            listeners: std::sync::Mutex::new(Vec::new()),
            cancel,
        })
    }

    /// This peer's name.
    pub fn name(&self) -> &str {
        &self.id.node_id
    }

    /// The latest status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver of every status change.
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Datagrams refused so far (bad key, label or framing).
    pub fn refused(&self) -> u64 {
        self.stats.refused.load(Ordering::Relaxed)
    }

    /// Publishes `value` under `key` in `channel` (a no-op when it is already the value).
    /// Values past [`MAX_VALUE_LEN`] are not replicated (warned about).
    pub async fn publish(&self, channel: &str, key: &str, value: &str) {
        if value.len() > MAX_VALUE_LEN {
            tracing::warn!(
                channel,
                key,
                bytes = value.len(),
                "Value too large to replicate; peers will not see it."
            );
            return;
        }
        let k = format!("{channel}/{key}");
        self.handle
            .with_chitchat(|c| c.self_node_state().set(&k, value))
            .await;
    }

    /// Withdraws `key` from `channel` (it was forgotten here).
    pub async fn retract(&self, channel: &str, key: &str) {
        let k = format!("{channel}/{key}");
        self.handle
            .with_chitchat(|c| {
                let me = c.self_node_state();
                if me.get(&k).is_some() {
                    me.delete(&k);
                }
            })
            .await;
    }

    /// Every value of `channel` that the other peers publish, as this peer knows them now
    /// (a peer detected dead still counts: what it published stays valid).
    pub async fn snapshot(&self, channel: &str) -> Vec<Update> {
        let prefix = format!("{channel}/");
        let me = self.id.clone();
        self.handle
            .with_chitchat(|c| {
                let mut out = Vec::new();
                for (n, st) in c.node_states() {
                    if *n == me {
                        continue;
                    }
                    for (k, v) in st.key_values() {
                        if let Some(key) = k.strip_prefix(&prefix) {
                            out.push(Update {
                                key: key.to_owned(),
                                value: v.to_owned(),
                                from: n.node_id.to_string(),
                            });
                        }
                    }
                }
                out
            })
            .await
    }

    /// The value each other peer publishes under `key` in `channel` now (a peer detected dead
    /// included: [`Update::from`] against [`Status::peers`] tells whether it lives).
    pub async fn get(&self, channel: &str, key: &str) -> Vec<Update> {
        let k = format!("{channel}/{key}");
        let me = self.id.clone();
        self.handle
            .with_chitchat(|c| others_under(c, &me, &k, key))
            .await
    }

    /// Publishes `value` under `key` in `channel` unless `blocked` says no, given the values
    /// the other peers publish under that key: checked and published under the engine's lock,
    /// so no change from a peer lands between the two (a peer's later [`Cluster::ack`] then
    /// shows whether it saw this value). Returns this peer's state version after publishing
    /// (compare with [`Cluster::acked_by`]), or `None` when blocked.
    pub async fn publish_unless(
        &self,
        channel: &str,
        key: &str,
        value: &str,
        blocked: impl Fn(&[Update]) -> bool,
    ) -> Option<u64> {
        let k = format!("{channel}/{key}");
        let me = self.id.clone();
        self.handle
            .with_chitchat(|c| {
                let others = others_under(c, &me, &k, key);
                if blocked(&others) {
                    return None;
                }
                let st = c.self_node_state();
                st.set(&k, value);
                Some(st.max_version())
            })
            .await
    }

    /// Acknowledges what this peer holds of every other peer: publishes, under [`ACK_KEY`],
    /// the state version it holds of each (a peer's changes reach the others in version
    /// order, so holding version v of a peer is holding every change it made up to v).
    pub async fn ack(&self) {
        let me = self.id.clone();
        self.handle
            .with_chitchat(|c| {
                let held: std::collections::BTreeMap<String, u64> = c
                    .node_states()
                    .iter()
                    .filter(|(n, _)| **n != me)
                    .map(|(n, st)| (n.node_id.to_string(), st.max_version()))
                    .collect();
                let value = serde_json::to_string(&held).unwrap_or_default();
                c.self_node_state().set(ACK_KEY, &value);
            })
            .await;
    }

    /// For each other peer that acknowledges ([`Cluster::ack`]): the version of this peer's
    /// state it last said it holds (0 when it named none).
    pub async fn acked_by(&self) -> std::collections::HashMap<String, u64> {
        let me = self.id.clone();
        self.handle
            .with_chitchat(|c| {
                let mut out = std::collections::HashMap::new();
                for (n, st) in c.node_states() {
                    if *n == me {
                        continue;
                    }
                    let Some(v) = st.get(ACK_KEY) else { continue };
                    let held: std::collections::HashMap<String, u64> =
                        serde_json::from_str(v).unwrap_or_default();
                    let mine = held.get(&me.node_id.to_string()).copied().unwrap_or(0);
                    let e = out.entry(n.node_id.to_string()).or_insert(0);
                    *e = (*e).max(mine);
                }
                out
            })
            .await
    }

    /// Every change another peer makes to `channel` from now on.
    pub async fn subscribe(&self, channel: &str) -> mpsc::UnboundedReceiver<Update> {
        let (tx, rx) = mpsc::unbounded_channel();
        let me = self.id.clone();
        let listener = self
            .handle
            .with_chitchat(|c| {
                let tx = tx.clone();
                let me = me.clone();
                c.subscribe_event(format!("{channel}/"), move |ev| {
                    if *ev.node != me {
                        let _ = tx.send(Update {
                            key: ev.key.to_owned(),
                            value: ev.value.to_owned(),
                            from: ev.node.node_id.to_string(),
                        });
                    }
                })
            })
            .await;
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(listener);
        rx
    }

    /// Stops gossiping (peers detect this one as dead after their failure-detection timeout).
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let _ = self.handle.initiate_shutdown();
        let _ = self.handle.termination_watcher().await;
    }
}

/// What the status loop needs.
struct StatusLoop {
    /// The engine's state.
    chitchat: Arc<tokio::sync::Mutex<chitchat::Chitchat>>,
    /// The resolved peer addresses.
    seeds: watch::Receiver<BTreeSet<SocketAddr>>,
    /// The engine (gossip requests to addresses not yet members).
    handle: Arc<ChitchatHandle>,
    /// This peer's advertised address.
    self_addr: SocketAddr,
    /// `--cluster.gossip-interval`.
    interval: Duration,
    /// `--cluster.settle-timeout`.
    settle_timeout: Duration,
    /// Where the status goes.
    status_tx: watch::Sender<Status>,
    /// The cluster gauges.
    metrics: Option<Arc<Metrics>>,
    /// Transport counters.
    stats: Arc<TransportStats>,
    /// Stops the loop.
    cancel: CancellationToken,
}

/// Every gossip interval: computes the status, publishes it and the gauges, and asks for a
/// gossip round with each resolved address that is not a live member yet (how a peer found by
/// DNS joins, and how a returning peer is found again).
async fn status_loop(l: StatusLoop) {
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(l.interval.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Told when the failure detector changes the live set (or a live node's state): a peer
    // detected dead is out of the status at once, not at the next tick (send claims wait on
    // the status to take over from a dead claimer).
    let mut live = l.chitchat.lock().await.live_nodes_watcher();
    let mut ready = false;
    let mut rounds = 0u64;
    let mut counted = [0u64; 3];
    loop {
        tokio::select! {
            () = l.cancel.cancelled() => return,
            _ = tick.tick() => rounds += 1,
            r = live.changed() => {
                if r.is_err() {
                    return;
                }
            }
        }
        let (peers, failed) = {
            let c = l.chitchat.lock().await;
            let peers: Vec<Peer> = c
                .live_nodes()
                .map(|n| Peer {
                    name: n.node_id.to_string(),
                    address: n.gossip_advertise_addr,
                })
                .collect();
            (peers, c.dead_nodes().count())
        };
        let mut peers = peers;
        peers.sort();
        peers.dedup_by(|a, b| a.name == b.name);
        let member_addrs: HashSet<SocketAddr> = peers.iter().map(|p| p.address).collect();
        let seeds = l.seeds.borrow().clone();
        let missing: Vec<SocketAddr> = seeds
            .iter()
            .filter(|a| {
                **a != l.self_addr && !member_addrs.contains(a) && !is_self(**a, l.self_addr)
            })
            .copied()
            .collect();
        // Every round at first, then every 10th: a dead or absent peer costs little.
        if !missing.is_empty() && (!ready || rounds.is_multiple_of(10)) {
            for a in &missing {
                let _ = l.handle.gossip(*a);
            }
        }
        if !ready && (missing.is_empty() || started.elapsed() >= l.settle_timeout) {
            ready = true;
            tracing::info!(members = peers.len(), "Cluster settled.");
        }
        let me = l.status_tx.borrow().name.clone();
        let position = peers.iter().position(|p| p.name == me).unwrap_or(0);
        let status = Status {
            name: me,
            readiness: if ready {
                Readiness::Ready
            } else {
                Readiness::Settling
            },
            peers,
            failed,
            position,
        };
        if let Some(m) = &l.metrics {
            m.cluster_members.set(status.peers.len() as i64);
            m.cluster_failed_peers.set(status.failed as i64);
            m.peer_position.set(status.position as i64);
            // Alertmanager's memberlist awareness score: 0 is healthy. Here: failed peers,
            // plus one while settling.
            m.cluster_health_score
                .set(status.failed as i64 + i64::from(!ready));
            // The transport's counters, as increments since the last round.
            let now = [
                l.stats.refused.load(Ordering::Relaxed),
                l.stats.sent_bytes.load(Ordering::Relaxed),
                l.stats.received_bytes.load(Ordering::Relaxed),
            ];
            m.cluster_refused_messages
                .inc_by(now[0].saturating_sub(counted[0]));
            m.cluster_bytes_sent
                .inc_by(now[1].saturating_sub(counted[1]));
            m.cluster_bytes_received
                .inc_by(now[2].saturating_sub(counted[2]));
            counted = now;
        }
        l.status_tx.send_if_modified(|cur| {
            if *cur == status {
                false
            } else {
                *cur = status;
                true
            }
        });
    }
}

/// Whether `a` is this peer (the same port on a local address when advertising loopback).
fn is_self(a: SocketAddr, me: SocketAddr) -> bool {
    a == me || (a.port() == me.port() && a.ip().is_loopback() && me.ip().is_loopback())
}

/// A ULID: 48 bits of milliseconds since the epoch and 80 random bits, in Crockford's base32
/// (26 characters, sortable by creation time), as Alertmanager names its peers.
pub fn ulid() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let ms = crate::clock::now().as_millisecond().max(0) as u128 & ((1 << 48) - 1);
    let rand = (u128::from(transport::random_u64()) << 16
        | u128::from(transport::random_u64() as u16))
        & ((1 << 80) - 1);
    let n = ms << 80 | rand;
    (0..26)
        .rev()
        .map(|i| ALPHABET[((n >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// The value each peer but `me` publishes under the full key `k` (`channel/key`), as updates
/// named by `key`.
fn others_under(c: &chitchat::Chitchat, me: &ChitchatId, k: &str, key: &str) -> Vec<Update> {
    c.node_states()
        .iter()
        .filter(|(n, _)| *n != me)
        .filter_map(|(n, st)| {
            st.get(k).map(|v| Update {
                key: key.to_owned(),
                value: v.to_owned(),
                from: n.node_id.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
