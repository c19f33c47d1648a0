//! How peer datagrams travel: the [`Network`] trait with real implementations ([`Udp`], and
//! [`tls::TlsNetwork`] with `--cluster.tls-config`) and an in-memory one ([`MemoryNetwork`],
//! with partitions and loss for scenario tests), and
//! [`Sealed`], the gossip engine's transport that seals every message it sends and refuses
//! every datagram that does not open ([`super::seal`]).
//!
//! chitchat's public `Socket` trait carries decoded envelopes and keeps its wire codec private.
//! So that the bytes on the network can be sealed without forking the library, each sealed
//! socket owns a codec: chitchat's own UDP socket on a private loopback port, which
//! encodes an envelope by sending it to a raw loopback socket, and decodes bytes received
//! from the raw socket. Only datagrams that opened with the shared key ever reach it. It costs
//! two loopback datagrams per message, negligible at gossip rates.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chitchat::ChitchatEnvelope;
use chitchat::transport::{RecvOutcome, SendOutcome, Socket, Transport, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::seal::{MAX_DATAGRAM, Refused, Sealer};

pub mod tls;

/// A datagram socket.
#[async_trait]
pub trait Datagrams: Send + Sync + 'static {
    /// The bound address.
    fn local_addr(&self) -> SocketAddr;
    /// Sends one datagram (a loss is not an error: datagrams may be lost).
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<()>;
    /// Receives the next datagram and its sender.
    async fn recv_from(&mut self) -> io::Result<(Vec<u8>, SocketAddr)>;
}

/// Something that binds datagram sockets: the real network or an in-memory one.
#[async_trait]
pub trait Network: Send + Sync + 'static {
    /// What its sockets speak, for messages (`UDP`).
    fn protocol(&self) -> &'static str {
        "UDP"
    }
    /// Binds `addr` (port 0 picks a free port).
    async fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Datagrams>>;
}

/// The real network: UDP sockets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Udp;

/// A bound UDP socket.
struct UdpDatagrams {
    /// The socket.
    socket: tokio::net::UdpSocket,
    /// The receive buffer.
    buf: Box<[u8]>,
}

#[async_trait]
impl Network for Udp {
    async fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Datagrams>> {
        let socket = tokio::net::UdpSocket::bind(addr).await?;
        Ok(Box::new(UdpDatagrams {
            socket,
            buf: vec![0; MAX_DATAGRAM].into_boxed_slice(),
        }))
    }
}

#[async_trait]
impl Datagrams for UdpDatagrams {
    fn local_addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
    }

    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<()> {
        match self.socket.send_to(buf, to).await {
            Ok(_) => Ok(()),
            // An unreachable or refusing peer is a lost datagram, not a broken socket.
            Err(e) if transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn recv_from(&mut self) -> io::Result<(Vec<u8>, SocketAddr)> {
        loop {
            match self.socket.recv_from(&mut self.buf).await {
                Ok((n, from)) => return Ok((self.buf[..n].to_vec(), from)),
                Err(e) if transient(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::OutOfMemory
    )
}

/// An in-memory network: sockets are queues in one process; links can be cut and datagrams
/// dropped, so scenario tests can partition peers and lose messages. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    /// The shared state.
    inner: Arc<Mutex<MemoryInner>>,
}

/// Behind the lock (held only for map operations, never across an `.await`).
#[derive(Default)]
struct MemoryInner {
    /// The bound sockets' queues.
    sockets: HashMap<SocketAddr, mpsc::UnboundedSender<(Vec<u8>, SocketAddr)>>,
    /// Cut links (both directions are stored).
    cut: HashSet<(SocketAddr, SocketAddr)>,
    /// Drop every n-th datagram (0: none).
    drop_every: u64,
    /// Datagrams sent so far.
    sent: u64,
    /// The next port given for port 0.
    next_port: u16,
}

/// A socket of a [`MemoryNetwork`].
struct MemoryDatagrams {
    /// Its address.
    addr: SocketAddr,
    /// The network.
    net: MemoryNetwork,
    /// Its queue.
    rx: mpsc::UnboundedReceiver<(Vec<u8>, SocketAddr)>,
}

impl MemoryNetwork {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cuts the link between `a` and `b` (both ways).
    pub fn cut(&self, a: SocketAddr, b: SocketAddr) {
        let mut n = self.lock();
        n.cut.insert((a, b));
        n.cut.insert((b, a));
    }

    /// Restores every cut link.
    pub fn heal(&self) {
        self.lock().cut.clear();
    }

    /// Drops every `n`-th datagram from now on, counting from here (0 stops dropping).
    pub fn drop_every(&self, n: u64) {
        let mut inner = self.lock();
        inner.drop_every = n;
        inner.sent = 0;
    }
}

#[async_trait]
impl Network for MemoryNetwork {
    async fn bind(&self, mut addr: SocketAddr) -> io::Result<Box<dyn Datagrams>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut n = self.lock();
        if addr.port() == 0 {
            loop {
                n.next_port = n.next_port.wrapping_add(1).max(20_000);
                addr.set_port(n.next_port);
                if !n.sockets.contains_key(&addr) {
                    break;
                }
            }
        }
        if n.sockets.get(&addr).is_some_and(|t| !t.is_closed()) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{addr} is in use"),
            ));
        }
        n.sockets.insert(addr, tx);
        drop(n);
        Ok(Box::new(MemoryDatagrams {
            addr,
            net: self.clone(),
            rx,
        }))
    }
}

#[async_trait]
impl Datagrams for MemoryDatagrams {
    fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<()> {
        let mut n = self.net.lock();
        n.sent += 1;
        if n.drop_every > 0 && n.sent.is_multiple_of(n.drop_every) {
            return Ok(());
        }
        if n.cut.contains(&(self.addr, to)) {
            return Ok(());
        }
        if let Some(tx) = n.sockets.get(&to) {
            let _ = tx.send((buf.to_vec(), self.addr));
        }
        Ok(())
    }

    async fn recv_from(&mut self) -> io::Result<(Vec<u8>, SocketAddr)> {
        self.rx
            .recv()
            .await
            .ok_or_else(|| io::Error::other("the in-memory network is gone"))
    }
}

/// Counters the sealed transport keeps (read by metrics and tests).
#[derive(Debug, Default)]
pub struct TransportStats {
    /// Datagrams refused (bad tag, bad framing, too large).
    pub refused: AtomicU64,
    /// Messages sent.
    pub sent: AtomicU64,
    /// Messages received and accepted.
    pub received: AtomicU64,
    /// Bytes of the datagrams sent (sealed).
    pub sent_bytes: AtomicU64,
    /// Bytes of the datagrams received and accepted (sealed).
    pub received_bytes: AtomicU64,
}

/// The gossip engine's transport: seals what it sends, refuses what does not open.
pub struct Sealed<N: Network> {
    /// Where datagrams go.
    network: N,
    /// The shared key.
    key: Arc<[u8]>,
    /// `--cluster.label`.
    label: String,
    /// Counters.
    stats: Arc<TransportStats>,
}

impl<N: Network> Sealed<N> {
    /// A transport over `network` sealing with `key` and `label`.
    pub fn new(network: N, key: &[u8], label: &str, stats: Arc<TransportStats>) -> Self {
        Sealed {
            network,
            key: Arc::from(key),
            label: label.to_owned(),
            stats,
        }
    }
}

#[async_trait]
impl<N: Network> Transport for Sealed<N> {
    async fn open(&self, listen_addr: SocketAddr) -> anyhow::Result<Box<dyn Socket>> {
        let socket = self.network.bind(listen_addr).await.with_context(|| {
            format!(
                "binding the cluster address {listen_addr}/{}",
                self.network.protocol()
            )
        })?;
        let codec = Codec::open().await?;
        Ok(Box::new(SealedSocket {
            socket,
            sealer: Sealer::new(&self.key, &self.label, random_u64()),
            codec,
            stats: Arc::clone(&self.stats),
            warned: HashMap::new(),
        }))
    }
}

/// A random 64-bit number from the process's hasher keys (no extra crate needed).
pub(super) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x746f_6373_696e);
    h.finish()
}

/// One sealed socket.
struct SealedSocket {
    /// The datagram socket.
    socket: Box<dyn Datagrams>,
    /// Seals and opens.
    sealer: Sealer,
    /// Encodes and decodes envelopes.
    codec: Codec,
    /// Counters.
    stats: Arc<TransportStats>,
    /// When a refusal from each address was last logged (at most once a minute each; the map is
    /// cleared when it grows past 1024 addresses).
    warned: HashMap<SocketAddr, Instant>,
}

impl SealedSocket {
    fn refused(&mut self, from: SocketAddr, why: &Refused) {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        if self
            .warned
            .get(&from)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
        {
            return;
        }
        if self.warned.len() >= 1024 {
            self.warned.clear();
        }
        self.warned.insert(from, now);
        tracing::warn!(peer = %from, reason = %why, "Refused a cluster message.");
    }
}

#[async_trait]
impl Socket for SealedSocket {
    fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.socket.local_addr())
    }

    async fn send(
        &mut self,
        to: SocketAddr,
        envelope: ChitchatEnvelope,
    ) -> anyhow::Result<SendOutcome> {
        let Some(bytes) = self.codec.encode(envelope).await? else {
            return Ok(SendOutcome { num_bytes_sent: 0 });
        };
        let parts = match self.sealer.seal(&bytes) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(peer = %to, error = %e, "Cluster message not sent.");
                return Ok(SendOutcome { num_bytes_sent: 0 });
            }
        };
        let mut num_bytes_sent = 0;
        for p in &parts {
            self.socket
                .send_to(p, to)
                .await
                .context("sending to a cluster peer")?;
            num_bytes_sent += p.len();
        }
        self.stats.sent.fetch_add(1, Ordering::Relaxed);
        self.stats
            .sent_bytes
            .fetch_add(num_bytes_sent as u64, Ordering::Relaxed);
        Ok(SendOutcome { num_bytes_sent })
    }

    async fn recv(&mut self) -> anyhow::Result<RecvOutcome> {
        loop {
            let (datagram, from) = self
                .socket
                .recv_from()
                .await
                .context("receiving from cluster peers")?;
            let opened = self.sealer.open(from, &datagram, Instant::now());
            if opened.is_ok() {
                self.stats
                    .received_bytes
                    .fetch_add(datagram.len() as u64, Ordering::Relaxed);
            }
            let message = match opened {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(why) => {
                    self.refused(from, &why);
                    continue;
                }
            };
            let num_bytes_received = message.len();
            let Some(envelope) = self.codec.decode(&message).await? else {
                self.refused(from, &Refused::Malformed);
                continue;
            };
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            return Ok(RecvOutcome {
                from_addr: from,
                envelope,
                num_bytes_received,
            });
        }
    }
}

/// chitchat's own encoder and decoder, reached through a private loopback socket pair (see the
/// module docs).
struct Codec {
    /// chitchat's UDP socket: encodes what it sends, decodes what it receives.
    engine: UdpSocket,
    /// Its address.
    engine_addr: SocketAddr,
    /// The raw end.
    raw: tokio::net::UdpSocket,
    /// The raw end's address.
    raw_addr: SocketAddr,
    /// Receive buffer.
    buf: Box<[u8]>,
}

/// The longest a loopback hop of the codec may take before the message counts as lost (a
/// loopback datagram is queued during the send itself: only a stalled runtime waits long).
const CODEC_TIMEOUT: Duration = Duration::from_secs(5);

impl Codec {
    async fn open() -> anyhow::Result<Codec> {
        let lo = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let engine = UdpSocket::open(lo).await?;
        let engine_addr = Socket::local_addr(&engine)?;
        let raw = tokio::net::UdpSocket::bind(lo)
            .await
            .context("binding the cluster codec socket")?;
        let raw_addr = raw.local_addr()?;
        Ok(Codec {
            engine,
            engine_addr,
            raw,
            raw_addr,
            buf: vec![0; MAX_DATAGRAM].into_boxed_slice(),
        })
    }

    /// The envelope's bytes (`None`: lost on loopback, counts as a lost datagram).
    async fn encode(&mut self, envelope: ChitchatEnvelope) -> anyhow::Result<Option<Vec<u8>>> {
        // A datagram left over from a round that timed out would answer this one: drop it
        // (loopback queues a datagram during its send, so none is still on its way).
        while self.raw.try_recv_from(&mut self.buf).is_ok() {}
        self.engine.send(self.raw_addr, envelope).await?;
        let deadline = Instant::now() + CODEC_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.raw.recv_from(&mut self.buf)).await {
                Err(_) => return Ok(None),
                Ok(Ok((n, from))) if from == self.engine_addr => {
                    return Ok(Some(self.buf[..n].to_vec()));
                }
                // Anything else on the loopback port is not ours.
                Ok(Ok(_)) => continue,
                Ok(Err(e)) if transient(&e) => continue,
                Ok(Err(e)) => return Err(e).context("cluster codec socket"),
            }
        }
    }

    /// The envelope in `bytes` (`None`: not a valid envelope).
    async fn decode(&mut self, bytes: &[u8]) -> anyhow::Result<Option<ChitchatEnvelope>> {
        // As in `encode`: drop what a timed-out round left (the engine's receive is polled
        // once; it returns at once when a datagram is queued).
        while let Ok(Ok(_)) = tokio::time::timeout(Duration::ZERO, self.engine.recv()).await {}
        self.raw
            .send_to(bytes, self.engine_addr)
            .await
            .context("cluster codec socket")?;
        let deadline = Instant::now() + CODEC_TIMEOUT;
        loop {
            // chitchat's socket skips (and logs) payloads it cannot decode; the deadline ends
            // the wait for those.
            match tokio::time::timeout_at(deadline, self.engine.recv()).await {
                Err(_) => return Ok(None),
                Ok(Ok(out)) if out.from_addr == self.raw_addr => return Ok(Some(out.envelope)),
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests;
