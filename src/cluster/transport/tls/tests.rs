//! The TLS network: the datagram contract, the sealed transport over it, a client certificate
//! from another CA refused (logged and counted), an oversized frame closing the connection,
//! and reconnection after the remote restarts. Certificates are made here (rcgen).

use std::net::SocketAddr;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::*;

/// A CA signing peer certificates.
struct Ca {
    /// Its certificate.
    cert: CertificateDer<'static>,
    /// Signs leaves.
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap().der().clone();
        Ca {
            cert,
            issuer: Issuer::new(p, key),
        }
    }

    /// Settings of a peer whose certificate (for 127.0.0.1) this CA signs, trusting `trust`.
    fn peer(&self, trust: &Ca) -> TlsSettings {
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let chain = vec![leaf.der().clone()];
        let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(trust.cert.clone()).unwrap();
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .build()
                .unwrap();
        let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .unwrap();
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        TlsSettings {
            server: ServerTls::fixed(Arc::new(server)),
            client: Arc::new(client),
            server_name: None,
            dial_timeout: Duration::from_secs(10),
            warnings: Vec::new(),
        }
    }
}

fn lo() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn network(settings: TlsSettings) -> TlsNetwork {
    TlsNetwork::new(settings, None, None)
}

/// The next datagram, within 10 s.
async fn recv(d: &mut Box<dyn Datagrams>) -> (Vec<u8>, SocketAddr) {
    tokio::time::timeout(Duration::from_secs(10), d.recv_from())
        .await
        .expect("a datagram within 10 s")
        .unwrap()
}

/// Polls `cond` every 20 ms for at most 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn tls_contract() {
    let ca = Ca::new();
    super::super::tests::contract(&network(ca.peer(&ca))).await;
}

#[tokio::test]
async fn sealed_over_tls() {
    let ca = Ca::new();
    super::super::tests::sealed_round_trip(network(ca.peer(&ca))).await;
}

#[tokio::test]
async fn frames_name_the_advertised_address_and_reuse_one_connection() {
    let ca = Ca::new();
    let advertised: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let a_net = TlsNetwork::new(ca.peer(&ca), Some(advertised), None);
    let a = a_net.bind(lo()).await.unwrap();
    let mut b = network(ca.peer(&ca)).bind(lo()).await.unwrap();
    for i in 0..20u8 {
        a.send_to(&[i; 100], b.local_addr()).await.unwrap();
    }
    for i in 0..20u8 {
        let (got, from) = recv(&mut b).await;
        assert_eq!(got, [i; 100], "in order, none lost");
        assert_eq!(from, advertised, "replies go to the advertised address");
    }
    assert_eq!(a_net.stats().dials.load(Ordering::Relaxed), 1);
    // A datagram past the bound is refused on the sending side.
    assert!(
        a.send_to(&vec![0; MAX_DATAGRAM + 1], b.local_addr())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_certificate_of_another_ca_is_refused_and_counted() {
    let (ca, other) = (Ca::new(), Ca::new());
    let good_net = network(ca.peer(&ca));
    let mut good = good_net.bind(lo()).await.unwrap();
    // The stranger trusts our CA, but its own certificate comes from another one.
    let stranger = network(other.peer(&ca)).bind(lo()).await.unwrap();
    let friend = network(ca.peer(&ca)).bind(lo()).await.unwrap();
    let stats = good_net.stats();
    stranger
        .send_to(b"let me in", good.local_addr())
        .await
        .unwrap();
    // Received datagrams only come while `recv_from` runs (it also accepts connections).
    let got = tokio::time::timeout(Duration::from_millis(500), good.recv_from()).await;
    assert!(got.is_err(), "nothing from the stranger: {got:?}");
    let refused = stats.refused_handshakes.load(Ordering::Relaxed);
    assert!(refused >= 1, "the refusal is counted");
    assert!(stats.read_errors.load(Ordering::Relaxed) >= refused);
    // A good peer still gets through.
    friend.send_to(b"hello", good.local_addr()).await.unwrap();
    assert_eq!(recv(&mut good).await.0, b"hello");
}

#[tokio::test]
async fn the_server_config_is_asked_for_at_each_connection() {
    let (ca, other) = (Ca::new(), Ca::new());
    // What the files on disk would hold: first a certificate of `ca`, then one of `other`.
    let slot = Arc::new(Mutex::new(ca.peer(&ca).server));
    let mut settings = ca.peer(&ca);
    let current = Arc::clone(&slot);
    settings.server = ServerTls::per_connection(move || {
        let s = current.lock().unwrap().clone();
        s.current()
    });
    let server_net = network(settings);
    let mut server = server_net.bind(lo()).await.unwrap();
    let client = network(other.peer(&other)).bind(lo()).await.unwrap();
    client.send_to(b"first", server.local_addr()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_millis(500), server.recv_from()).await;
    assert!(
        got.is_err(),
        "refused while the server holds the old CA's: {got:?}"
    );
    assert!(
        server_net
            .stats()
            .refused_handshakes
            .load(Ordering::Relaxed)
            >= 1
    );

    // Renewed: the next connection is served with the new certificate and CA.
    *slot.lock().unwrap() = other.peer(&other).server;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        client
            .send_to(b"second", server.local_addr())
            .await
            .unwrap();
        match tokio::time::timeout(Duration::from_millis(200), server.recv_from()).await {
            Ok(got) => {
                assert_eq!(got.unwrap().0, b"second");
                break;
            }
            Err(_) => assert!(Instant::now() < deadline, "never served with the new one"),
        }
    }
}

#[tokio::test]
async fn an_oversized_frame_closes_the_connection() {
    let ca = Ca::new();
    let net = network(ca.peer(&ca));
    let mut b = net.bind(lo()).await.unwrap();
    let to = b.local_addr();
    let settings = ca.peer(&ca);
    let raw = tokio::spawn(async move {
        let tcp = TcpStream::connect(to).await.unwrap();
        let mut tls = TlsConnector::from(settings.client)
            .connect(ServerName::IpAddress(to.ip().into()), tcp)
            .await
            .unwrap();
        // A good frame, then a length past the bound.
        let frame = encode("127.0.0.1:1".parse().unwrap(), b"fits").unwrap();
        tls.write_all(&frame).await.unwrap();
        tls.write_all(&((MAX_FRAME + 1) as u32).to_be_bytes())
            .await
            .unwrap();
        tls.flush().await.unwrap();
        // The server closes: reading ends (EOF or an error), nothing is answered.
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf))
            .await
            .expect("the connection closed within 10 s");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    });
    assert_eq!(recv(&mut b).await.0, b"fits");
    // Keep accepting while the client waits for the close.
    let stats = net.stats();
    tokio::select! {
        r = raw => r.unwrap(),
        _ = b.recv_from() => panic!("nothing else may arrive"),
    }
    assert_eq!(stats.read_errors.load(Ordering::Relaxed), 1);
    assert_eq!(stats.refused_handshakes.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_restarted_peer_is_dialled_again() {
    let ca = Ca::new();
    let a_net = network(ca.peer(&ca));
    let a = a_net.bind(lo()).await.unwrap();
    let b_net = network(ca.peer(&ca));
    let mut b = b_net.bind(lo()).await.unwrap();
    let addr = b.local_addr();
    a.send_to(b"before", addr).await.unwrap();
    assert_eq!(recv(&mut b).await.0, b"before");
    // The remote goes away (its listener and connections close) and comes back on the same
    // address, as a restarted process would.
    drop(b);
    let stats = a_net.stats();
    let mut b = b_net.bind(addr).await.unwrap();
    // Datagrams sent while the writer notices may be lost: send until one arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        a.send_to(b"after", addr).await.unwrap();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), b.recv_from()).await {
            assert_eq!(got.unwrap().0, b"after");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nothing arrived after the restart"
        );
    }
    eventually("a second dial", || stats.dials.load(Ordering::Relaxed) == 2).await;
}
