//! Peers over the in-memory network, scenarios written as data: convergence, a wrong key, a
//! partition, message loss, a late joiner, a restart. Real (short) time: the engine's gossip
//! interval is 50 ms; every wait polls for its condition with a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use super::transport::MemoryNetwork;
use super::*;

const KEY: &[u8] = b"a shared key of the cluster";

fn addr(i: usize) -> SocketAddr {
    format!("127.0.0.1:{}", 21_000 + i).parse().unwrap()
}

fn opts(i: usize, key: &[u8], peers: &[usize]) -> Options {
    let mut o = Options::new(addr(i), key.to_vec());
    o.name = Some(format!("peer-{i}"));
    o.gossip_interval = Duration::from_millis(50);
    o.settle_timeout = Duration::from_secs(10);
    o.peers = peers.iter().map(|p| PeerSpec::Addr(addr(*p))).collect();
    o
}

async fn start(net: &MemoryNetwork, i: usize, key: &[u8], peers: &[usize]) -> Cluster {
    Cluster::start(opts(i, key, peers), net.clone(), None)
        .await
        .unwrap()
}

/// Polls `cond` every 20 ms for at most 10 s; whether it held.
async fn holds(mut cond: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// [`holds`], or a panic naming `what`.
async fn eventually(what: &str, cond: impl AsyncFnMut() -> bool) {
    assert!(holds(cond).await, "timed out waiting for: {what}");
}

fn names(c: &Cluster) -> Vec<String> {
    c.status().peers.into_iter().map(|p| p.name).collect()
}

async fn values(c: &Cluster, channel: &str, key: &str) -> Vec<String> {
    let mut v: Vec<String> = c
        .snapshot(channel)
        .await
        .into_iter()
        .filter(|u| u.key == key)
        .map(|u| u.value)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// What a scenario does.
enum Step {
    /// Start peer i with this key, seeded with these peers.
    Start(usize, &'static [u8], &'static [usize]),
    /// Cut the link between two peers.
    Cut(usize, usize),
    /// Heal every cut.
    Heal,
    /// Drop every n-th datagram.
    Lose(u64),
    /// Peer i publishes key=value on channel "t".
    Publish(usize, &'static str, &'static str),
    /// Peer i stops.
    Stop(usize),
    /// Eventually, peer i sees exactly these members.
    Members(usize, &'static [usize]),
    /// Eventually, peer i sees key=value from some other peer.
    Sees(usize, &'static str, &'static str),
    /// Eventually, peer i has refused at least one datagram.
    Refuses(usize),
}

async fn run(steps: &[Step]) {
    use Step::*;
    let net = MemoryNetwork::default();
    let mut peers: Vec<Option<Cluster>> = (0..8).map(|_| None).collect();
    for (n, step) in steps.iter().enumerate() {
        match step {
            Start(i, key, seeds) => peers[*i] = Some(start(&net, *i, key, seeds).await),
            Cut(a, b) => net.cut(addr(*a), addr(*b)),
            Heal => net.heal(),
            Lose(k) => net.drop_every(*k),
            Publish(i, k, v) => peers[*i].as_ref().unwrap().publish("t", k, v).await,
            Stop(i) => peers[*i].take().unwrap().shutdown().await,
            Members(i, want) => {
                let c = peers[*i].as_ref().unwrap();
                let want: Vec<String> = want.iter().map(|w| format!("peer-{w}")).collect();
                eventually(
                    &format!("step {n}: peer {i} sees members {want:?}"),
                    async || names(c) == want,
                )
                .await;
            }
            Sees(i, k, v) => {
                let c = peers[*i].as_ref().unwrap();
                let what = format!(
                    "step {n}: peer {i} sees {k}={v}; it has {:?}, status {:?}",
                    c.snapshot("t").await,
                    c.status()
                );
                eventually(&what, async || {
                    values(c, "t", k).await.contains(&v.to_string())
                })
                .await;
            }
            Refuses(i) => {
                let c = peers[*i].as_ref().unwrap();
                eventually(&format!("step {n}: peer {i} refuses"), async || {
                    c.refused() > 0
                })
                .await;
            }
        }
    }
    for c in peers.into_iter().flatten() {
        c.shutdown().await;
    }
}

#[tokio::test]
async fn three_peers_converge_and_replicate() {
    use Step::*;
    run(&[
        Start(1, KEY, &[2, 3]),
        Start(2, KEY, &[1, 3]),
        Start(3, KEY, &[1, 2]),
        Members(1, &[1, 2, 3]),
        Members(3, &[1, 2, 3]),
        Publish(1, "s1", "v1"),
        Sees(2, "s1", "v1"),
        Sees(3, "s1", "v1"),
        Publish(2, "s1", "v2"),
        Sees(3, "s1", "v2"),
        Sees(1, "s1", "v2"),
    ])
    .await;
}

#[tokio::test]
async fn a_peer_with_another_key_is_refused() {
    use Step::*;
    run(&[
        Start(1, KEY, &[2, 4]),
        Start(2, KEY, &[1]),
        Start(4, b"not the shared key at all", &[1, 2]),
        Members(1, &[1, 2]),
        Refuses(1),
        Refuses(4),
        Publish(4, "s", "intruder"),
        Publish(1, "s", "ok"),
        Sees(2, "s", "ok"),
        // Still only the two; the intruder's value never arrives.
        Members(2, &[1, 2]),
        Members(4, &[4]),
    ])
    .await;
}

#[tokio::test]
async fn partition_loss_and_a_late_joiner() {
    use Step::*;
    run(&[
        Start(1, KEY, &[2, 3]),
        Start(2, KEY, &[1, 3]),
        Start(3, KEY, &[1, 2]),
        Members(2, &[1, 2, 3]),
        // 1 and 3 cannot talk: 2 relays 1's state to 3.
        Cut(1, 3),
        Publish(1, "a", "from-1"),
        Sees(3, "a", "from-1"),
        Heal,
        // Every third datagram lost: gossip still gets through.
        Lose(3),
        Publish(3, "b", "from-3"),
        Sees(1, "b", "from-3"),
        Lose(0),
        // A peer that joins late, knowing only peer 2, learns everything.
        Start(5, KEY, &[2]),
        Sees(5, "a", "from-1"),
        Sees(5, "b", "from-3"),
        Members(5, &[1, 2, 3, 5]),
    ])
    .await;
}

#[tokio::test]
async fn a_stopped_peer_leaves_the_members_and_positions_follow_names() {
    use Step::*;
    let net = MemoryNetwork::default();
    let a = start(&net, 1, KEY, &[2]).await;
    let b = start(&net, 2, KEY, &[1]).await;
    eventually("two members", async || {
        names(&a).len() == 2 && names(&b).len() == 2
    })
    .await;
    assert_eq!((a.status().position, b.status().position), (0, 1));
    eventually("settled", async || a.status().readiness == Readiness::Ready).await;
    b.shutdown().await;
    eventually("peer 2 detected dead", async || {
        names(&a) == ["peer-1"] && a.status().failed == 1
    })
    .await;
    a.shutdown().await;
    let _ = Stop(0);
}

#[tokio::test]
async fn a_short_key_is_refused_at_start() {
    let err = Cluster::start(opts(1, b"short", &[]), MemoryNetwork::default(), None)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("at least 16 bytes"), "{err}");
}

#[test]
fn ulids_sort_by_time_and_differ() {
    let (a, b) = (ulid(), ulid());
    assert_eq!(a.len(), 26);
    assert_ne!(a, b);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
}

/// The failure detector's threshold (`PHI_THRESHOLD`) is low enough for a 2 s failover and
/// still keeps a live peer whose messages are lost: with every other datagram dropped for
/// 60 gossip rounds, no member is ever declared dead.
#[tokio::test]
async fn heavy_message_loss_does_not_make_a_live_peer_dead() {
    let net = MemoryNetwork::default();
    let peers = [
        start(&net, 1, KEY, &[2, 3]).await,
        start(&net, 2, KEY, &[1, 3]).await,
        start(&net, 3, KEY, &[1, 2]).await,
    ];
    eventually("three members", async || {
        peers.iter().all(|c| names(c).len() == 3)
    })
    .await;
    // Let the detector learn the intervals, as a running cluster has.
    tokio::time::sleep(Duration::from_secs(1)).await;
    net.drop_every(2);
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < until {
        for c in &peers {
            let s = c.status();
            assert!(
                s.peers.len() == 3 && s.failed == 0,
                "{} lost a member under loss: {s:?}",
                c.name()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    net.drop_every(0);
    for c in peers {
        c.shutdown().await;
    }
}
