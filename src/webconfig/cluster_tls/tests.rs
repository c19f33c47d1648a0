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

#[test]
fn upstream_test_files_load() {
    let dir = Path::new(UPSTREAM);
    if !dir.is_dir() {
        eprintln!(
            "skipping: {UPSTREAM} is missing (Debian package golang-github-prometheus-alertmanager-dev)"
        );
        return;
    }
    for name in ["tls_config_node1.yml", "tls_config_node2.yml"] {
        let t = ClusterTls::load(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
        assert!(t.client.client_auth_cert_resolver.has_certs(), "{name}");
        assert!(t.server_name.is_none());
    }
}

#[test]
fn relative_paths_resolve_against_the_files_folder() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let t = load(dir.path(), GOOD).unwrap();
    assert!(t.server.alpn_protocols.is_empty());
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
            &GOOD.replace("  ca_file: certs/ca.pem\n", ""),
            "tls_client_config.ca_file: missing",
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
}
