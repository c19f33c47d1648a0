//! One contract suite run against both networks, then the sealed transport over each.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;

fn lo() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub(super) async fn contract(net: &dyn Network) {
    let mut a = net.bind(lo()).await.unwrap();
    let mut b = net.bind(lo()).await.unwrap();
    assert_ne!(a.local_addr(), b.local_addr());
    assert!(
        net.bind(a.local_addr()).await.is_err(),
        "an address in use cannot be bound twice"
    );
    a.send_to(b"one", b.local_addr()).await.unwrap();
    let (got, from) = b.recv_from().await.unwrap();
    assert_eq!((got.as_slice(), from), (&b"one"[..], a.local_addr()));
    b.send_to(&[7; 60_000], a.local_addr()).await.unwrap();
    assert_eq!(a.recv_from().await.unwrap().0.len(), 60_000);
    // Sending to nobody is a lost datagram, not an error.
    let nobody: SocketAddr = "127.0.0.1:9".parse().unwrap();
    a.send_to(b"x", nobody).await.unwrap();
    let addr = a.local_addr();
    drop(a);
    let _again = net.bind(addr).await.unwrap();
}

#[tokio::test]
async fn udp_contract() {
    contract(&Udp).await;
}

#[tokio::test]
async fn memory_contract() {
    contract(&MemoryNetwork::default()).await;
}

#[tokio::test]
async fn memory_partitions_and_loss() {
    let net = MemoryNetwork::default();
    let a = net.bind(lo()).await.unwrap();
    let mut b = net.bind(lo()).await.unwrap();
    net.cut(a.local_addr(), b.local_addr());
    a.send_to(b"lost", b.local_addr()).await.unwrap();
    net.heal();
    net.drop_every(2);
    a.send_to(b"kept", b.local_addr()).await.unwrap();
    a.send_to(b"dropped", b.local_addr()).await.unwrap();
    a.send_to(b"kept too", b.local_addr()).await.unwrap();
    assert_eq!(b.recv_from().await.unwrap().0, b"kept");
    assert_eq!(b.recv_from().await.unwrap().0, b"kept too");
}

/// A raw datagram that is not sealed with the key never reaches the engine and is counted.
async fn sealed_refuses_strangers(net: impl Network + Clone) {
    let stats = Arc::new(TransportStats::default());
    let t = Sealed::new(net.clone(), b"0123456789abcdef", "", Arc::clone(&stats));
    let mut sock = t.open(lo()).await.unwrap();
    let addr = sock.local_addr().unwrap();
    let stranger = net.bind(lo()).await.unwrap();
    stranger.send_to(b"TCS1 forged", addr).await.unwrap();
    let other = Sealed::new(net, b"another key 0123", "", Arc::default());
    let mut other_sock = other.open(lo()).await.unwrap();
    // A well-formed message sealed with another key.
    let env = ChitchatEnvelope {
        version: chitchat::ProtocolVersion::V0,
        message: chitchat::ChitchatMessage::BadCluster,
    };
    other_sock.send(addr, env).await.unwrap();
    let got = tokio::time::timeout(Duration::from_millis(300), sock.recv()).await;
    assert!(got.is_err(), "nothing must be received");
    assert_eq!(stats.refused.load(Ordering::Relaxed), 2);
}

pub(super) async fn sealed_round_trip(net: impl Network + Clone) {
    let a = Sealed::new(net.clone(), b"0123456789abcdef", "l", Arc::default());
    let stats = Arc::new(TransportStats::default());
    let b = Sealed::new(net, b"0123456789abcdef", "l", Arc::clone(&stats));
    let mut sa = a.open(lo()).await.unwrap();
    let mut sb = b.open(lo()).await.unwrap();
    let env = || ChitchatEnvelope {
        version: chitchat::ProtocolVersion::V0,
        message: chitchat::ChitchatMessage::BadCluster,
    };
    let sent = sa.send(sb.local_addr().unwrap(), env()).await.unwrap();
    assert!(sent.num_bytes_sent > seal::HEADER_LEN);
    let got = tokio::time::timeout(Duration::from_secs(5), sb.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.envelope, env());
    assert_eq!(got.from_addr, sa.local_addr().unwrap());
    assert_eq!(stats.received.load(Ordering::Relaxed), 1);
}

use super::super::seal;

#[tokio::test]
async fn sealed_over_udp() {
    sealed_round_trip(Udp).await;
    sealed_refuses_strangers(Udp).await;
}

#[tokio::test]
async fn sealed_over_memory() {
    sealed_round_trip(MemoryNetwork::default()).await;
    sealed_refuses_strangers(MemoryNetwork::default()).await;
}
