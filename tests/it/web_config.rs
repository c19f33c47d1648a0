//! `tocsin check-web-config` against `promtool check web-config` (Debian's Prometheus, which
//! embeds exporter-toolkit): the same verdict on the same files, certificates made in the test.

use std::process::Command;

use crate::support::debian_tool;
use crate::support::pki::{Ca, Leaf};

/// (name, file text, whether promtool and tocsin accept it). `HASH` is replaced by a real hash.
const CORPUS: &[(&str, &str, bool)] = &[
    ("empty", "", true),
    (
        "users",
        "basic_auth_users:\n  alice: HASH\n  bob: HASH\n",
        true,
    ),
    ("users-null", "basic_auth_users:\n", true),
    ("bad-hash", "basic_auth_users:\n  alice: plaintext\n", false),
    ("unknown-key", "basic_auth_user:\n  alice: HASH\n", false),
    (
        "tls",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
        true,
    ),
    (
        "tls-no-key",
        "tls_server_config:\n  cert_file: server.crt\n",
        false,
    ),
    (
        "tls-no-cert",
        "tls_server_config:\n  key_file: server.key\n",
        false,
    ),
    (
        "tls-missing-file",
        "tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n",
        false,
    ),
    (
        "tls-wrong-key",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
        false,
    ),
    (
        "tls-junk-key",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: junk.key\n",
        false,
    ),
    (
        "mtls",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
        true,
    ),
    (
        "ca-without-policy",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n",
        false,
    ),
    (
        "bad-policy",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Always\n",
        false,
    ),
    (
        "versions",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS13\n",
        true,
    ),
    (
        "bad-version",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS9\n",
        false,
    ),
    (
        "ciphers",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n  prefer_server_cipher_suites: false\n",
        true,
    ),
    (
        "bad-cipher",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_MADE_UP]\n",
        false,
    ),
    (
        "curves",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [X25519, CurveP256]\n",
        true,
    ),
    (
        "bad-curve",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [CurveP999]\n",
        false,
    ),
    (
        "headers",
        "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n",
        true,
    ),
    (
        "bad-header",
        "http_server_config:\n  headers:\n    Server: tocsin\n",
        false,
    ),
    (
        "bad-header-value",
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
        false,
    ),
];

fn dir_with_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    ca.leaf(&["localhost", "127.0.0.1"])
        .write(dir.path(), "server");
    Leaf::self_signed(&["other"]).write(dir.path(), "other");
    std::fs::write(dir.path().join("ca.crt"), &ca.pem).unwrap();
    std::fs::write(
        dir.path().join("junk.key"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    dir
}

#[test]
fn check_web_config_agrees_with_promtool() {
    let Some(promtool) = debian_tool("promtool") else {
        return;
    };
    let dir = dir_with_files();
    let hash = bcrypt_hash();
    for (name, text, valid) in CORPUS {
        let path = dir.path().join(format!("{name}.yml"));
        std::fs::write(&path, text.replace("HASH", &hash)).unwrap();
        let theirs = Command::new(&promtool)
            .args(["check", "web-config"])
            .arg(&path)
            .output()
            .unwrap();
        let ours = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .arg("check-web-config")
            .arg(&path)
            .output()
            .unwrap();
        let (t, o) = (theirs.status.success(), ours.status.success());
        assert_eq!(
            t,
            *valid,
            "{name}: promtool: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        assert_eq!(
            o,
            *valid,
            "{name}: tocsin: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let out = String::from_utf8_lossy(if o { &ours.stdout } else { &ours.stderr }).into_owned();
        let want = if o { "SUCCESS" } else { "FAILED: " };
        assert!(
            out.starts_with(&format!("{} {want}", path.display())),
            "{name}: {out}"
        );
        assert!(!out.contains(&hash), "{name}: never prints a hash: {out}");
    }
}

#[test]
fn check_web_config_names_what_is_wrong() {
    let dir = dir_with_files();
    let cases = [
        (
            "tls_server_config:\n  cert_file: server.crt\n",
            "tls_server_config.key_file: missing one of key or key_file",
        ),
        (
            "basic_auth_users:\n  a: plaintext\n",
            "basic_auth_users.a: not a bcrypt hash",
        ),
        (
            "tocsin_roles:\n  a: [read]\n",
            "tocsin_roles.a: no such user in basic_auth_users",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  max_version: TLS11\n",
            "TLS11 is not supported by tocsin",
        ),
        ("nope: 1\n", ":1:1: unknown field `nope`"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .arg("check-web-config")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{text}: {err}");
        assert!(!err.contains("plaintext"), "{err}");
    }
}

fn bcrypt_hash() -> String {
    bcrypt::hash("test-password", 4).unwrap()
}
