//! Peer datagrams over TCP and mutual TLS (`--cluster.tls-config`), as Alertmanager's TLS
//! transport carries memberlist's packets: the gossip engine still sees datagrams, each one
//! becomes a frame on a TLS connection.
//!
//! - Incoming: a TCP listener on the listen address; every connection is a TLS server
//!   handshake (the rustls config decides whether a client certificate is required and which
//!   CA must sign it). The config is asked for at each connection ([`ServerTls`]), so a
//!   certificate renewed on disk is served to the next peer without a restart. A refused handshake is logged with the peer's address and the TLS error
//!   (at most once a minute per IP address) and counted. An accepted connection carries frames
//!   until either end closes it.
//! - Outgoing: one connection per peer address, kept and reused, dialled (TCP connect and
//!   handshake within the dial timeout) when the first datagram for it is sent and again after
//!   an error or when the peer closes it. Each peer has its own writer task and a small queue:
//!   [`Datagrams::send_to`] never waits on the network (the gossip engine sends from its one
//!   loop, so a dial to a dead peer must not stall the others); a full queue or a failed dial
//!   loses the datagram, which gossip tolerates. A writer idle for [`IDLE`] closes its
//!   connection and ends.
//! - A frame: a 4-byte big-endian length, then the sender's address (one length byte and the
//!   text `ip:port`) and the datagram. The address is the one to reply to (the advertised or
//!   listen address): the engine answers the address a message came from, and a connection's
//!   source port is not a listening one. A frame longer than [`MAX_FRAME`] (a datagram past
//!   [`MAX_DATAGRAM`]) or with an unreadable address closes the connection.
//!
//! Every datagram is still sealed by [`super::Sealed`] (the shared key of `--cluster.key-file`,
//! or a fixed key when TLS alone authenticates peers) before it reaches this network.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{Datagrams, MAX_DATAGRAM, Network};
use crate::metrics::Metrics;

/// Room for the sender's address in a frame (its length byte and `[ipv6%scope]:port`).
const ADDR_ROOM: usize = 64;
/// The longest frame accepted: a datagram of [`MAX_DATAGRAM`] bytes and its sender.
pub const MAX_FRAME: usize = MAX_DATAGRAM + ADDR_ROOM;
/// Datagrams waiting for one peer's connection (more are lost).
const QUEUE: usize = 64;
/// Accepted connections open at once (more are closed at once).
const MAX_CONNECTIONS: usize = 512;
/// Peers with a writer before idle ones are pruned from the pool.
const POOL_PRUNE: usize = 1024;
/// A writer with nothing to send for this long closes its connection and ends.
pub const IDLE: Duration = Duration::from_secs(120);
/// The dial timeout when none is given (Alertmanager's TCP timeout).
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server config of each accepted connection comes from.
#[derive(Clone)]
pub struct ServerTls(Arc<dyn Fn() -> Result<Arc<rustls::ServerConfig>, String> + Send + Sync>);

impl ServerTls {
    /// Always `config`.
    pub fn fixed(config: Arc<rustls::ServerConfig>) -> ServerTls {
        ServerTls(Arc::new(move || Ok(Arc::clone(&config))))
    }

    /// Asks `current` at each accepted connection (for instance: the certificate files as they
    /// are now). An error refuses that connection, logged and counted as a refused handshake.
    pub fn per_connection(
        current: impl Fn() -> Result<Arc<rustls::ServerConfig>, String> + Send + Sync + 'static,
    ) -> ServerTls {
        ServerTls(Arc::new(current))
    }

    /// The config for a new connection.
    fn current(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        (self.0)()
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

/// TLS settings of the peer connections (built from `--cluster.tls-config`).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Accepting: this peer's certificate and the client certificate policy.
    pub server: ServerTls,
    /// Dialling: the CA peers' certificates are verified against, this peer's certificate.
    pub client: Arc<rustls::ClientConfig>,
    /// The name peers' certificates are verified for; `None`: the IP address dialled.
    pub server_name: Option<ServerName<'static>>,
    /// How long a TCP connect and TLS handshake may take (`--cluster.tcp-timeout`).
    pub dial_timeout: Duration,
    /// What the file sets that is not acted on as written (logged at start).
    pub warnings: Vec<String>,
}

/// Counters of the TLS network (read by tests; the metrics are counted alongside).
#[derive(Debug, Default)]
pub struct TlsStats {
    /// Incoming handshakes refused (no certificate, another CA, not TLS).
    pub refused_handshakes: AtomicU64,
    /// Errors reading incoming connections, refused handshakes and bad frames included.
    pub read_errors: AtomicU64,
    /// Datagrams not written: failed dials, failed writes, full queues.
    pub write_errors: AtomicU64,
    /// Outgoing connections established.
    pub dials: AtomicU64,
}

/// The network of TLS connections between peers. Cheap to clone (shared).
#[derive(Clone)]
pub struct TlsNetwork {
    /// Shared with every socket and task.
    shared: Arc<Shared>,
}

/// What the sockets and their tasks share.
struct Shared {
    /// The TLS settings.
    settings: TlsSettings,
    /// The address put in frames as the one to reply to; `None`: the bound address.
    advertise: Option<SocketAddr>,
    /// Counters.
    stats: Arc<TlsStats>,
    /// Alertmanager's `tls_transport` metrics.
    metrics: Option<Arc<Metrics>>,
    /// When a problem with each address was last logged (once a minute each, incoming
    /// connections by IP; cleared past 1024 addresses). A std mutex: held for one map operation, never across an `.await`.
    warned: Mutex<HashMap<SocketAddr, Instant>>,
}

impl Shared {
    /// Whether a problem with `peer` may be logged now.
    fn may_warn(&self, peer: SocketAddr) -> bool {
        let now = Instant::now();
        let mut w = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if w.get(&peer)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
        {
            return false;
        }
        if w.len() >= 1024 {
            w.clear();
        }
        w.insert(peer, now);
        true
    }

    fn read_error(&self) {
        self.stats.read_errors.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.tls_read_errors.inc();
        }
    }

    fn write_error(&self) {
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.tls_write_errors
                .get_or_create(&vec![("connection_type", "packet".to_owned())])
                .inc();
        }
    }

    fn refused(&self, peer: SocketAddr, error: &dyn std::fmt::Display) {
        self.stats
            .refused_handshakes
            .fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.tls_refused_handshakes.inc();
        }
        self.read_error();
        // Keyed by IP: a refused peer dials again from a new port every gossip round.
        if self.may_warn(SocketAddr::new(peer.ip(), 0)) {
            tracing::warn!(peer = %peer, error = %error, "Refused a cluster connection: TLS handshake failed.");
        }
    }
}

impl TlsNetwork {
    /// A network with `settings`, putting `advertise` (default: the bound address) in frames as
    /// the address to reply to; `metrics` get Alertmanager's `tls_transport` counters.
    pub fn new(
        settings: TlsSettings,
        advertise: Option<SocketAddr>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        TlsNetwork {
            shared: Arc::new(Shared {
                settings,
                advertise,
                stats: Arc::new(TlsStats::default()),
                metrics,
                warned: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The counters.
    pub fn stats(&self) -> Arc<TlsStats> {
        Arc::clone(&self.shared.stats)
    }
}

#[async_trait]
impl Network for TlsNetwork {
    fn protocol(&self) -> &'static str {
        "TCP+TLS"
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Datagrams>> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        Ok(Box::new(TlsDatagrams {
            listener,
            local,
            reply_to: self.shared.advertise.unwrap_or(local),
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            tx,
            rx,
            pool: Mutex::new(HashMap::new()),
            shared: Arc::clone(&self.shared),
            cancel: cancel.clone(),
            _stop: cancel.drop_guard(),
        }))
    }
}

/// A bound TLS "socket": the listener, the received datagrams, the outgoing pool.
struct TlsDatagrams {
    /// Accepts peers' connections (polled by `recv_from`; dropped with the socket).
    listener: TcpListener,
    /// The bound address.
    local: SocketAddr,
    /// The address frames name as their sender.
    reply_to: SocketAddr,
    /// Free slots for accepted connections.
    slots: Arc<Semaphore>,
    /// Where connection readers put the datagrams they receive.
    tx: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    /// The datagrams received.
    rx: mpsc::Receiver<(Vec<u8>, SocketAddr)>,
    /// Each peer's writer queue. A std mutex: held for one map operation, never across an
    /// `.await`.
    pool: Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>,
    /// Shared settings and counters.
    shared: Arc<Shared>,
    /// Ends every reader and writer task of this socket.
    cancel: CancellationToken,
    /// Cancels `cancel` when the socket is dropped.
    _stop: DropGuard,
}

#[async_trait]
impl Datagrams for TlsDatagrams {
    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<()> {
        let frame = encode(self.reply_to, buf)?;
        let queue = {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            match pool.get(&to) {
                Some(q) if !q.is_closed() => q.clone(),
                _ => {
                    if pool.len() >= POOL_PRUNE {
                        pool.retain(|_, q| !q.is_closed());
                    }
                    let (q, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(writer(
                        to,
                        rx,
                        Arc::clone(&self.shared),
                        self.cancel.child_token(),
                    ));
                    pool.insert(to, q.clone());
                    q
                }
            }
        };
        if queue.try_send(frame).is_err() {
            // A full queue (the peer is slow or being dialled) loses the datagram.
            self.shared.write_error();
        }
        Ok(())
    }

    async fn recv_from(&mut self) -> io::Result<(Vec<u8>, SocketAddr)> {
        loop {
            // Both branches are cancel-safe: the engine drops this future between rounds.
            tokio::select! {
                got = self.rx.recv() => {
                    // `self.tx` keeps the channel open: `None` cannot happen.
                    if let Some(d) = got {
                        return Ok(d);
                    }
                }
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
                            self.shared.read_error();
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        let reader = Reader {
                            peer,
                            tx: self.tx.clone(),
                            shared: Arc::clone(&self.shared),
                            cancel: self.cancel.child_token(),
                        };
                        tokio::spawn(async move {
                            reader.run(stream).await;
                            drop(slot);
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little, keep listening.
                        self.shared.read_error();
                        tracing::debug!(error = %e, "Accepting a cluster connection failed.");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }
}

/// The frame carrying `datagram` from `from`.
fn encode(from: SocketAddr, datagram: &[u8]) -> io::Result<Vec<u8>> {
    let addr = from.to_string();
    if datagram.len() > MAX_DATAGRAM || addr.len() >= ADDR_ROOM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a cluster datagram of {} bytes is larger than {MAX_DATAGRAM}",
                datagram.len()
            ),
        ));
    }
    let len = 1 + addr.len() + datagram.len();
    let mut frame = Vec::with_capacity(4 + len);
    frame.extend_from_slice(&(len as u32).to_be_bytes());
    frame.push(addr.len() as u8);
    frame.extend_from_slice(addr.as_bytes());
    frame.extend_from_slice(datagram);
    Ok(frame)
}

/// The sender and the datagram of a frame's body (`None`: unreadable).
fn decode(body: &[u8]) -> Option<(SocketAddr, &[u8])> {
    let (&n, rest) = body.split_first()?;
    let addr = rest.get(..usize::from(n))?;
    let from = std::str::from_utf8(addr).ok()?.parse().ok()?;
    Some((from, &rest[usize::from(n)..]))
}

/// Why a connection stopped carrying frames.
#[derive(Debug, thiserror::Error)]
enum FrameError {
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A frame longer than [`MAX_FRAME`].
    #[error("a frame of {0} bytes is larger than {MAX_FRAME}")]
    TooLarge(usize),
    /// The sender's address cannot be read.
    #[error("a frame without a readable sender address")]
    Malformed,
}

/// Reads the next frame (`None`: the peer closed the connection between frames).
async fn read_frame<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
) -> Result<Option<(SocketAddr, Vec<u8>)>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    let (from, datagram) = decode(&body).ok_or(FrameError::Malformed)?;
    Ok(Some((from, datagram.to_vec())))
}

/// Serves one accepted connection.
struct Reader {
    /// The connection's remote address.
    peer: SocketAddr,
    /// Where datagrams go.
    tx: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    /// Settings and counters.
    shared: Arc<Shared>,
    /// Ends the connection (the socket was dropped).
    cancel: CancellationToken,
}

impl Reader {
    async fn run(self, stream: TcpStream) {
        let timeout = self.shared.settings.dial_timeout;
        let acceptor = match self.shared.settings.server.current() {
            Ok(config) => TlsAcceptor::from(config),
            Err(e) => {
                return self.shared.refused(
                    self.peer,
                    &format!("the TLS server settings cannot be loaded: {e}"),
                );
            }
        };
        let handshake = tokio::select! {
            () = self.cancel.cancelled() => return,
            h = tokio::time::timeout(timeout, acceptor.accept(stream)) => h,
        };
        let mut tls = match handshake {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.shared.refused(self.peer, &e),
            Err(_) => {
                return self.shared.refused(
                    self.peer,
                    &format!("no handshake within {}", humanize(timeout)),
                );
            }
        };
        loop {
            let frame = tokio::select! {
                () = self.cancel.cancelled() => return,
                f = read_frame(&mut tls) => f,
            };
            match frame {
                Ok(Some((from, datagram))) => {
                    if let Some(m) = &self.shared.metrics {
                        m.tls_packet_bytes_received.inc_by(datagram.len() as u64);
                    }
                    if self.tx.send((datagram, from)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    self.shared.read_error();
                    if self.shared.may_warn(SocketAddr::new(self.peer.ip(), 0)) {
                        tracing::warn!(peer = %self.peer, error = %e, "Closed a cluster connection.");
                    }
                    return;
                }
            }
        }
    }
}

/// `10s`, `1.5s`.
fn humanize(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// An established outgoing connection.
struct Conn {
    /// Reads nothing but the peer closing (or refusing us after the handshake, in TLS 1.3).
    r: ReadHalf<tokio_rustls::client::TlsStream<TcpStream>>,
    /// Writes frames.
    w: WriteHalf<tokio_rustls::client::TlsStream<TcpStream>>,
}

/// What the writer waits for.
enum Event {
    /// A frame to send.
    Frame(Vec<u8>),
    /// The connection ended (the error, or `None` when the peer closed it).
    Closed(Option<io::Error>),
    /// Stop: cancelled, idle, or the socket is gone.
    Stop,
}

/// Resolves when the connection's read side ends (never while there is no connection).
async fn closed(conn: Option<&mut Conn>) -> Option<io::Error> {
    let Some(c) = conn else {
        return std::future::pending().await;
    };
    let mut buf = [0u8; 64];
    match c.r.read(&mut buf).await {
        Ok(0) => None,
        Ok(_) => Some(io::Error::new(
            io::ErrorKind::InvalidData,
            "the peer sent data on a connection that only carries ours",
        )),
        Err(e) => Some(e),
    }
}

/// Dials `to`: TCP connect and TLS handshake within the dial timeout.
async fn dial(to: SocketAddr, shared: &Shared) -> io::Result<Conn> {
    let s = &shared.settings;
    let name = s
        .server_name
        .clone()
        .unwrap_or_else(|| ServerName::IpAddress(to.ip().into()));
    let connector = TlsConnector::from(Arc::clone(&s.client));
    let connect = async {
        let tcp = TcpStream::connect(to).await?;
        let _ = tcp.set_nodelay(true);
        connector.connect(name, tcp).await
    };
    let tls = tokio::time::timeout(s.dial_timeout, connect)
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {}", humanize(s.dial_timeout)),
            )
        })??;
    shared.stats.dials.fetch_add(1, Ordering::Relaxed);
    let (r, w) = tokio::io::split(tls);
    Ok(Conn { r, w })
}

/// Writes `frame` on `conn` within the dial timeout.
async fn write(conn: &mut Conn, frame: &[u8], timeout: Duration) -> io::Result<()> {
    let w = async {
        conn.w.write_all(frame).await?;
        conn.w.flush().await
    };
    tokio::time::timeout(timeout, w)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
}

/// One peer's writer: sends the queued frames on its connection, dialling it when needed.
async fn writer(
    to: SocketAddr,
    mut queue: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let timeout = shared.settings.dial_timeout;
    let mut conn: Option<Conn> = None;
    loop {
        let event = tokio::select! {
            () = cancel.cancelled() => Event::Stop,
            f = tokio::time::timeout(IDLE, queue.recv()) => match f {
                Ok(Some(f)) => Event::Frame(f),
                Ok(None) | Err(_) => Event::Stop,
            },
            e = closed(conn.as_mut()) => Event::Closed(e),
        };
        let frame = match event {
            Event::Stop => return,
            Event::Closed(e) => {
                conn = None;
                if let Some(e) = e
                    && shared.may_warn(to)
                {
                    tracing::warn!(peer = %to, error = %e, "Cluster connection closed.");
                }
                continue;
            }
            Event::Frame(f) => f,
        };
        // A kept connection may have died unnoticed: one more try on a fresh one.
        let mut sent = false;
        for _ in 0..2 {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match dial(to, &shared).await {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        if shared.may_warn(to) {
                            tracing::warn!(peer = %to, error = %e, "Cannot connect to a cluster peer.");
                        }
                        break;
                    }
                },
            };
            match write(c, &frame, timeout).await {
                Ok(()) => {
                    sent = true;
                    break;
                }
                Err(_) => conn = None,
            }
        }
        if sent {
            if let Some(m) = &shared.metrics {
                let datagram = decode(&frame[4..]).map_or(0, |(_, d)| d.len());
                m.tls_packet_bytes_sent.inc_by(datagram as u64);
            }
        } else {
            shared.write_error();
            // What queued up while dialling a peer that does not answer is stale: drop it.
            while queue.try_recv().is_ok() {
                shared.write_error();
            }
        }
    }
}

#[cfg(test)]
mod tests;
