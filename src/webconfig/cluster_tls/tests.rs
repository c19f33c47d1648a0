use std::net::Ipv4Addr;
use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

use super::*;

/// Alertmanager's own test files (Debian's golang-github-prometheus-alertmanager-dev).
const UPSTREAM: &str = "/usr/share/gocode/src/github.com/prometheus/alertmanager/cluster/testdata";

/// A CA, and a peer certificate for 127.0.0.1 it signs, written as `ca.pem`, `peer.pem`,
/// `peer-key.pem` under `dir/certs`.
fn write_pki(dir: &Path) {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = p.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(p, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(certs.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(certs.join("peer.pem"), leaf.pem()).unwrap();
    std::fs::write(certs.join("peer-key.pem"), key.serialize_pem()).unwrap();
}

const GOOD: &str = "tls_server_config:
  cert_file: certs/peer.pem
  key_file: certs/peer-key.pem
  client_ca_file: certs/ca.pem
  client_auth_type: RequireAndVerifyClientCert
tls_client_config:
  cert_file: certs/peer.pem
  key_file: certs/peer-key.pem
  ca_file: certs/ca.pem
";

/// Writes `text` as `dir/tls.yml` and loads it; the error as text.
fn load(dir: &Path, text: &str) -> Result<ClusterTls, String> {
    let path = dir.join("tls.yml");
    std::fs::write(&path, text).unwrap();
    ClusterTls::load(&path).map_err(|e| e.to_string())
}

/// A TLS handshake between `client`'s client side and `server`'s server side, in memory (for
/// 127.0.0.1 unless `server_name` is set); the first error, saying which side refused.
fn handshake(client: &ClusterTls, server: &ClusterTls) -> Result<(), String> {
    let name = client
        .server_name
        .clone()
        .unwrap_or(ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()));
    let mut c = rustls::ClientConnection::new(Arc::clone(&client.client), name).unwrap();
    let mut s = rustls::ServerConnection::new(server.server.current().unwrap()).unwrap();
    for _ in 0..10 {
        let mut wire = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut wire).unwrap();
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
            s.process_new_packets()
                .map_err(|e| format!("server: {e}"))?;
        }
        let mut wire = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut wire).unwrap();
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
            c.process_new_packets()
                .map_err(|e| format!("client: {e}"))?;
        }
        if !c.is_handshaking() && !s.is_handshaking() && !c.wants_write() {
            return Ok(());
        }
    }
    Err("the handshake did not end".into())
}

#[test]
fn upstream_test_files_load() {
    let dir = Path::new(UPSTREAM);
    if !dir.is_dir() {
        let why = format!(
            "{UPSTREAM} is missing (Debian package golang-github-prometheus-alertmanager-dev)"
        );
        // CI installs it (as for tests/it/upstream.rs): missing there is a broken setup.
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "{why}; CI must install it"
        );
        eprintln!("skipping: {why}");
        return;
    }
    for name in ["tls_config_node1.yml", "tls_config_node2.yml"] {
        let t = ClusterTls::load(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
        assert!(t.client.client_auth_cert_resolver.has_certs(), "{name}");
        assert!(t.server_name.is_none());
    }
    // Node 1 and node 2 accept each other (both ways).
    let n1 = ClusterTls::load(&dir.join("tls_config_node1.yml")).unwrap();
    let n2 = ClusterTls::load(&dir.join("tls_config_node2.yml")).unwrap();
    handshake(&n1, &n2).unwrap();
    handshake(&n2, &n1).unwrap();
}

#[test]
fn peers_of_one_ca_accept_each_other_and_refuse_another_cas() {
    let (ours, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_pki(ours.path());
    write_pki(theirs.path());
    let a = load(ours.path(), GOOD).unwrap();
    let other = load(theirs.path(), GOOD).unwrap();
    handshake(&a, &a).unwrap();
    // A peer trusting our CA with a certificate of theirs: refused by our server.
    std::fs::copy(
        ours.path().join("certs/ca.pem"),
        theirs.path().join("our-ca.pem"),
    )
    .unwrap();
    let stranger = load(
        theirs.path(),
        &GOOD.replace("  ca_file: certs/ca.pem", "  ca_file: our-ca.pem"),
    )
    .unwrap();
    let e = handshake(&stranger, &a).unwrap_err();
    assert!(
        e.starts_with("server:") && e.contains("invalid peer certificate"),
        "{e}"
    );
    // Our client refuses their server.
    let e = handshake(&a, &other).unwrap_err();
    assert!(
        e.starts_with("client:") && e.contains("invalid peer certificate"),
        "{e}"
    );
    // Without a CA the system's roots are used: our private CA is not among them.
    let no_ca = load(ours.path(), &GOOD.replace("  ca_file: certs/ca.pem\n", "")).unwrap();
    let e = handshake(&no_ca, &a).unwrap_err();
    assert!(e.starts_with("client:"), "{e}");
    // server_name: our certificate is for 127.0.0.1 only.
    let named = load(ours.path(), &format!("{GOOD}  server_name: peer.example\n")).unwrap();
    let e = handshake(&named, &a).unwrap_err();
    assert!(e.starts_with("client:"), "{e}");
}

#[test]
fn relative_paths_resolve_against_the_files_folder() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let t = load(dir.path(), GOOD).unwrap();
    assert!(t.server.current().unwrap().alpn_protocols.is_empty());
    // The same file read from another working directory: still found.
    let abs = GOOD.replace("certs/", &format!("{}/certs/", dir.path().display()));
    load(dir.path(), &abs).unwrap();
    let named = load(
        dir.path(),
        &format!("{GOOD}  server_name: peer.example\n  min_version: TLS13\n"),
    )
    .unwrap();
    assert_eq!(
        named.server_name,
        Some(ServerName::try_from("peer.example").unwrap())
    );
}

#[test]
fn bad_files_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let file = dir.path().join("tls.yml").display().to_string();
    let cases: &[(&str, &str)] = &[
        ("", "tls_server_config: missing"),
        (
            "tls_client_config:\n  ca_file: certs/ca.pem\n",
            "tls_server_config: missing",
        ),
        (
            &GOOD.replace(
                "certs/peer-key.pem\n  client_ca",
                "certs/nope.pem\n  client_ca",
            ),
            "tls_server_config.key_file: cannot read",
        ),
        (
            &GOOD.replace("RequireAndVerifyClientCert", "Sometimes"),
            "tls_server_config.client_auth_type: invalid ClientAuth: Sometimes",
        ),
        (
            &GOOD.replace("  ca_file: certs/ca.pem", "  ca_file: certs/gone.pem"),
            "tls_client_config.ca_file: cannot read",
        ),
        (
            &GOOD.replace("  ca_file: certs/ca.pem", "  ca_file: certs/peer-key.pem"),
            "tls_client_config.ca_file: no certificate found",
        ),
        (
            &format!("{GOOD}  min_version: TLS99\n"),
            "tls_client_config.min_version: unknown TLS version: TLS99",
        ),
        (
            &format!("{GOOD}  ca: inline\n"),
            "tls_client_config.ca_file: at most one of ca and ca_file",
        ),
        (
            &GOOD.replace(
                "tls_client_config:\n  cert_file: certs/peer.pem\n",
                "tls_client_config:\n",
            ),
            "tls_client_config.cert_file: exactly one of key or cert",
        ),
        (&format!("{GOOD}gossip: yes\n"), "unknown field"),
        (
            &format!("{GOOD}  server_name: \"not a name!\"\n"),
            "tls_client_config.server_name",
        ),
    ];
    for (text, want) in cases {
        let e = load(dir.path(), text).unwrap_err();
        assert!(e.starts_with(&file), "{e}");
        assert!(e.contains(want), "want {want:?} in: {e}");
    }
    // A syntax error carries its position.
    let e = load(dir.path(), &format!("{GOOD}gossip: yes\n")).unwrap_err();
    assert!(e.starts_with(&format!("{file}:10:")), "{e}");
    let gone = ClusterTls::load(&dir.path().join("absent.yml")).unwrap_err();
    assert!(
        gone.to_string().contains("absent.yml: cannot read"),
        "{gone}"
    );
}

#[test]
fn insecure_skip_verify_needs_no_ca_and_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let text = GOOD.replace(
        "  ca_file: certs/ca.pem\n",
        "  insecure_skip_verify: true\n",
    );
    let t = load(dir.path(), &text).unwrap();
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("insecure_skip_verify"))
    );
    // Any server certificate is then taken: a server of another CA that accepts our client
    // certificate is reached; the same server with its own CA's client check refuses us.
    let theirs = tempfile::tempdir().unwrap();
    write_pki(theirs.path());
    std::fs::copy(
        dir.path().join("certs/ca.pem"),
        theirs.path().join("our-ca.pem"),
    )
    .unwrap();
    let lenient = load(
        theirs.path(),
        &GOOD.replace("client_ca_file: certs/ca.pem", "client_ca_file: our-ca.pem"),
    )
    .unwrap();
    handshake(&t, &lenient).unwrap();
    let strict = load(theirs.path(), GOOD).unwrap();
    let e = handshake(&t, &strict).unwrap_err();
    assert!(
        e.starts_with("server:"),
        "only the server side refuses: {e}"
    );
}

#[test]
fn certificate_key_and_ca_replaced_on_disk_serve_the_next_connection() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_pki(one.path());
    write_pki(two.path());
    let server = load(one.path(), GOOD).unwrap();
    let old_client = load(one.path(), GOOD).unwrap();
    let new_client = load(two.path(), GOOD).unwrap();
    handshake(&old_client, &server).unwrap();
    let err = handshake(&new_client, &server).unwrap_err();
    assert!(err.starts_with("client:"), "{err}");

    // The certificate, key and client CA are renewed in place (another CA's, as a rotation
    // to a new CA would do): the next connection is served and verified with them.
    for f in ["peer.pem", "peer-key.pem", "ca.pem"] {
        std::fs::copy(
            two.path().join("certs").join(f),
            one.path().join("certs").join(f),
        )
        .unwrap();
    }
    handshake(&new_client, &server).unwrap();
    let err = handshake(&old_client, &server).unwrap_err();
    assert!(err.starts_with("client:"), "{err}");

    // A broken file refuses connections (naming the file and the key) rather than serving
    // the old certificate; mended, it serves again.
    let cert = one.path().join("certs/peer.pem");
    let good = std::fs::read(&cert).unwrap();
    std::fs::write(&cert, "not a certificate").unwrap();
    let err = server.server.current().unwrap_err().to_string();
    assert!(
        err.contains("tls.yml") && err.contains("cert_file"),
        "{err}"
    );
    std::fs::write(&cert, good).unwrap();
    handshake(&new_client, &server).unwrap();
}
