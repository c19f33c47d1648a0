use std::path::Path;
use std::sync::Arc;

use super::*;

fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
    WebConfig::parse(text, Path::new("/etc/tocsin/web.yml"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

const HASH: &str = "$2y$04$wH3o3u7HS3HqS3lTz3Mj2uZ1fWc3TjKxGm6bqpxbWf8t2y2XbqZ5K";

fn hash() -> String {
    bcrypt::hash("secret", 4).unwrap()
}

#[test]
fn empty_file_is_plain_http_without_auth() {
    for text in ["", "---\n", "tls_server_config:\nbasic_auth_users:\n"] {
        let c = parse(text).unwrap();
        assert!(c.tls.is_none());
        assert!(!c.auth_enabled());
        assert!(c.http2);
    }
}

#[test]
fn unknown_keys_are_refused_with_their_position() {
    let e = err("basic_auth_users: {}\nfoo: 1\n");
    assert!(
        e.starts_with("/etc/tocsin/web.yml:2:1: unknown field `foo`"),
        "{e}"
    );
    assert!(!e.contains(" at line "), "{e}");
    let e = err("tls_server_config:\n  certfile: x\n");
    assert!(e.contains("unknown field `certfile`"), "{e}");
}

#[test]
fn headers_as_exporter_toolkit_allows_them() {
    let c = parse(
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\n",
    )
    .unwrap();
    assert_eq!(
        c.headers,
        vec![
            (
                "Strict-Transport-Security".to_owned(),
                "max-age=31536000".to_owned()
            ),
            ("X-Frame-Options".to_owned(), "deny".to_owned()),
        ]
    );
    assert!(
        err("http_server_config:\n  headers:\n    Server: x\n")
            .contains("HTTP header \"Server\" can not be configured")
    );
    assert!(
        err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n")
            .contains("X-Frame-Options: invalid value \"allow\"")
    );
}

#[test]
fn users_roles_and_bad_hashes() {
    let h = hash();
    let c = parse(&format!(
        "basic_auth_users:\n  prom: {h}\n  ops: {h}\ntocsin_roles:\n  prom: [ingest]\n"
    ))
    .unwrap();
    assert!(c.auth_enabled());
    assert!(c.users.roles("prom").allows(Role::Ingest));
    assert!(!c.users.roles("prom").allows(Role::Read));
    assert!(c.users.roles("ops").allows(Role::Admin));
    let e = err("basic_auth_users:\n  prom: hunter2\n");
    assert!(
        e.contains("basic_auth_users.prom: not a bcrypt hash"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "the value is never shown: {e}");
    // A hash that parses is accepted as is (its password is unknown to us).
    parse(&format!("basic_auth_users:\n  x: '{HASH}'\n")).unwrap();
}

#[test]
fn tls_keys_are_checked_as_exporter_toolkit_checks_them() {
    assert!(
        err("tls_server_config:\n  cert_file: c.pem\n")
            .contains("tls_server_config.key_file: missing one of key or key_file")
    );
    assert!(
        err("tls_server_config:\n  key_file: k.pem\n").contains("missing one of cert or cert_file")
    );
    let base = "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n";
    assert!(
        err(&format!("{base}  client_ca_file: ca.pem\n"))
            .contains("client CA's have been configured without a Client Auth Policy")
    );
    assert!(
        err(&format!(
            "{base}  client_auth_type: RequireAndVerifyClientCert\n"
        ))
        .contains("needs client_ca_file or client_ca")
    );
    assert!(
        err(&format!("{base}  client_auth_type: Sometimes\n"))
            .contains("invalid ClientAuth: Sometimes")
    );
    assert!(err(&format!("{base}  min_version: TLS14\n")).contains("unknown TLS version: TLS14"));
    assert!(err(&format!("{base}  max_version: TLS11\n")).contains("not supported by tocsin"));
    assert!(
        err(&format!(
            "{base}  min_version: TLS13\n  max_version: TLS12\n"
        ))
        .contains("higher than max_version")
    );
    assert!(
        err(&format!("{base}  cipher_suites: [TLS_FOO]\n")).contains("unknown cipher: TLS_FOO")
    );
    assert!(
        err(&format!("{base}  curve_preferences: [CurveP999]\n"))
            .contains("unknown curve: CurveP999")
    );
    let c = parse(&format!(
        "{base}  min_version: TLS10\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [CurveP521, X25519]\n"
    ))
    .unwrap();
    let t = c.tls.as_ref().unwrap();
    assert_eq!(t.min_version, TlsVersion::Tls12);
    assert_eq!(
        t.cert,
        Pem::File("/etc/tocsin/c.pem".into()),
        "relative to the file"
    );
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
}

/// A self-signed certificate and its key, written to `dir`.
fn write_cert(dir: &Path, name: &str) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (ck.cert.pem(), ck.signing_key.serialize_pem());
    std::fs::write(dir.join(format!("{name}.crt")), &cert).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), &key).unwrap();
    (cert, key)
}

#[test]
fn load_reads_the_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), "a");
    write_cert(dir.path(), "b");
    let path = dir.path().join("web.yml");
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n",
    )
    .unwrap();
    let c = WebConfig::load(&path).unwrap();
    assert!(c.tls.is_some());
    // A key of another certificate.
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n",
    )
    .unwrap();
    let e = WebConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("certificate and key do not go together"), "{e}");
    // A missing file.
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: nope.crt\n  key_file: a.key\n",
    )
    .unwrap();
    let e = WebConfig::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("tls_server_config.cert_file: cannot read"),
        "{e}"
    );
    // A key that is not PEM: the message does not quote it.
    std::fs::write(dir.path().join("junk.key"), "not a key at all").unwrap();
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: a.crt\n  key_file: junk.key\n",
    )
    .unwrap();
    let e = WebConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("no usable private key"), "{e}");
    assert!(!e.contains("not a key at all"), "{e}");
}

#[test]
fn the_loader_rebuilds_only_when_a_byte_changed() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), "a");
    let path = dir.path().join("web.yml");
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n",
    )
    .unwrap();
    let loader = Loader::new(&path);
    let first = loader.current().unwrap();
    let again = loader.current().unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "nothing changed: the same build"
    );
    write_cert(dir.path(), "a");
    let renewed = loader.current().unwrap();
    assert!(
        !Arc::ptr_eq(&first, &renewed),
        "a renewed certificate is a new build"
    );
    std::fs::write(&path, "tls_server_config:\n  cert_file: a.crt\n").unwrap();
    assert!(
        loader.current().is_err(),
        "a broken file is an error, not the old config"
    );
}

#[test]
fn a_request_sees_every_change_of_the_file_with_or_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    let burst = |l: &Loader| l.config().unwrap().rate_limit.unwrap().burst.to_string();
    let write = |v: &str| {
        std::fs::write(&path, format!("rate_limit: {{burst: {v}, interval: 1s}}\n")).unwrap()
    };
    write("1");
    let loader = Loader::new(&path);
    assert_eq!(burst(&loader), "1");
    // Rewritten in place at once, same size: the file is not settled, so it is read again.
    write("2");
    assert_eq!(burst(&loader), "2");
    // A second later the stamp is trusted...
    crate::clock::set_now_for_test(crate::clock::now() + jiff::SignedDuration::from_secs(5));
    assert_eq!(burst(&loader), "2");
    assert!(loader.seen.lock().unwrap().is_some());
    // ...and a same-size rewrite that puts the old modification time back still changes it.
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    write("3");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(burst(&loader), "3");
    // A file gone is an error, not the last config.
    std::fs::remove_file(&path).unwrap();
    assert!(loader.config().is_err());
}
