//! `--web.config.file` served by the real binary: TLS (certificates made in the test, replaced on
//! disk, client certificates, version limits), basic auth with bcrypt hashes and tocsin's roles,
//! and the real clients: amtool with `--http.config.file`, Prometheus with `basic_auth` and
//! `tls_config` in its `alerting:` section.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually};
use crate::support::debian_tool;
use crate::support::pki::{Ca, Leaf};

const CONFIG: &str = "route:\n  receiver: r\nreceivers:\n- name: r\n";

/// Writes a CA, a server certificate for 127.0.0.1 and `web.yml` (with `extra` appended) into
/// `dir`; returns the CA.
fn setup(dir: &Path, extra: &str) -> Ca {
    let ca = Ca::new("tocsin test CA");
    ca.leaf(&["localhost", "127.0.0.1"]).write(dir, "server");
    std::fs::write(dir.join("ca.crt"), &ca.pem).unwrap();
    std::fs::write(
        dir.join("web.yml"),
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"),
    )
    .unwrap();
    ca
}

fn users() -> String {
    let h = |p: &str| bcrypt::hash(p, 4).unwrap();
    format!(
        "basic_auth_users:\n  admin: {}\n  prom: {}\n  reader: {}\ntocsin_roles:\n  prom: [ingest]\n  reader: [read]\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        h("admin-pw"),
        h("prom-pw"),
        h("reader-pw")
    )
}

fn client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn start(dir: &Path) -> Daemon {
    Daemon::start_with(
        CONFIG,
        &[&format!(
            "--web.config.file={}",
            dir.join("web.yml").display()
        )],
    )
}

fn https(d: &Daemon, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", d.addr.port())
}

#[tokio::test]
async fn basic_auth_with_roles_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = setup(dir.path(), &users());
    let d = start(dir.path());
    let c = client(&ca.pem);
    let alerts = https(&d, "/api/v2/alerts");

    // No credentials, a wrong password, an unknown user: 401 with a Basic challenge.
    let r = c.get(&alerts).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic");
    assert_eq!(r.headers()["x-frame-options"], "deny");
    assert_eq!(r.text().await.unwrap(), "Unauthorized\n");
    for (u, p) in [
        ("admin", "admin-PW"),
        ("mallory", "admin-pw"),
        ("admin", ""),
    ] {
        let r = c.get(&alerts).basic_auth(u, Some(p)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{u}:{p}");
        assert_eq!(r.headers()["www-authenticate"], "Basic");
    }

    // prom may send alerts, not read them; reader the reverse; admin everything.
    let body = json!([{"labels": {"alertname": "TlsAuth"}}]);
    let r = c
        .post(&alerts)
        .basic_auth("prom", Some("prom-pw"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(&alerts)
        .basic_auth("prom", Some("prom-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("\"read\" role"));
    let r = c
        .post(&alerts)
        .basic_auth("reader", Some("reader-pw"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .get(&alerts)
        .basic_auth("reader", Some("reader-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: serde_json::Value = r.json().await.unwrap();
    assert_eq!(got[0]["labels"]["alertname"], "TlsAuth");
    let r = c
        .post(https(&d, "/-/reload"))
        .basic_auth("reader", Some("reader-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(https(&d, "/-/reload"))
        .basic_auth("admin", Some("admin-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Failed logins are counted (three wrong ones above; missing credentials are not).
    let m = c
        .get(https(&d, "/metrics"))
        .basic_auth("admin", Some("admin-pw"))
        .send()
        .await
        .unwrap();
    let text = m.text().await.unwrap();
    assert!(text.contains("tocsin_http_auth_failures_total 3"), "{text}");

    // The file is re-read per request: a user removed is refused on the same client at once.
    let h = bcrypt::hash("admin-pw", 4).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  admin: {h}\n"),
    )
    .unwrap();
    let r = c
        .get(&alerts)
        .basic_auth("reader", Some("reader-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(&alerts)
        .basic_auth("admin", Some("admin-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A changed password too: the old one (right a moment ago, its outcome remembered) is
    // refused on the next request, the new one taken.
    let h = bcrypt::hash("admin-pw2", 4).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  admin: {h}\n"),
    )
    .unwrap();
    for (pw, want) in [("admin-pw", 401), ("admin-pw2", 200), ("admin-pw", 401)] {
        let r = c
            .get(&alerts)
            .basic_auth("admin", Some(pw))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{pw}");
    }
    // Plain HTTP to the TLS port gets no answer it could mistake for the API.
    assert!(
        reqwest::get(d.url("/-/healthy"))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );
    // No hash and no password in the log.
    let log = d.log_text();
    for secret in ["admin-pw", "prom-pw", "$2b$04$"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_is_served_on_the_next_connection() {
    let dir = tempfile::tempdir().unwrap();
    let old = setup(dir.path(), "");
    let d = start(dir.path());
    let healthy = https(&d, "/-/healthy");
    assert_eq!(
        client(&old.pem)
            .get(&healthy)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let new = Ca::new("second CA");
    new.leaf(&["127.0.0.1"]).write(dir.path(), "server");
    // Each client opens its own connection.
    assert_eq!(
        client(&new.pem)
            .get(&healthy)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(client(&old.pem).get(&healthy).send().await.is_err());
    // A broken file refuses connections instead of serving without protection, and the next
    // good one is served again.
    std::fs::write(dir.path().join("server.key"), "junk").unwrap();
    assert!(client(&new.pem).get(&healthy).send().await.is_err());
    new.leaf(&["127.0.0.1"]).write(dir.path(), "server");
    assert_eq!(
        client(&new.pem)
            .get(&healthy)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn client_certificates_required_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = setup(
        dir.path(),
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let d = start(dir.path());
    let healthy = https(&d, "/-/healthy");
    let with = |leaf: &Leaf| {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
            .identity(
                reqwest::Identity::from_pem(format!("{}{}", leaf.cert, leaf.key).as_bytes())
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    assert!(
        client(&ca.pem).get(&healthy).send().await.is_err(),
        "no client certificate"
    );
    let stranger = Leaf::self_signed(&["client"]);
    assert!(
        with(&stranger).get(&healthy).send().await.is_err(),
        "self-signed client"
    );
    let good = ca.leaf(&["client"]);
    assert_eq!(
        with(&good).get(&healthy).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn client_allowed_sans_admits_only_certificates_naming_one() {
    let dir = tempfile::tempdir().unwrap();
    // VerifyClientCertIfGiven alone would serve a client without a certificate; with
    // client_allowed_sans one is required (as exporter-toolkit's check refuses none).
    let ca = setup(
        dir.path(),
        "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n  \
         client_allowed_sans: [prometheus.example, 192.0.2.9]\n",
    );
    let d = start(dir.path());
    let healthy = https(&d, "/-/healthy");
    let with = |leaf: &Leaf| {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
            .identity(
                reqwest::Identity::from_pem(format!("{}{}", leaf.cert, leaf.key).as_bytes())
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    assert!(
        client(&ca.pem).get(&healthy).send().await.is_err(),
        "no client certificate"
    );
    assert!(
        with(&ca.leaf(&["grafana.example"]))
            .get(&healthy)
            .send()
            .await
            .is_err(),
        "a name not allowed"
    );
    assert!(
        with(&Leaf::self_signed(&["prometheus.example"]))
            .get(&healthy)
            .send()
            .await
            .is_err(),
        "an allowed name on a certificate the CA did not sign"
    );
    for names in [&["other", "prometheus.example"][..], &["192.0.2.9"]] {
        let r = with(&ca.leaf(names)).get(&healthy).send().await.unwrap();
        assert_eq!(r.status(), 200, "{names:?}");
    }
}

#[tokio::test]
async fn tls_versions_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let ca = setup(dir.path(), "  min_version: TLS13\n");
    let d = start(dir.path());
    let healthy = https(&d, "/-/healthy");
    let tls12 = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(
        tls12.get(&healthy).send().await.is_err(),
        "TLS 1.2 below min_version TLS13"
    );
    assert_eq!(
        client(&ca.pem).get(&healthy).send().await.unwrap().status(),
        200
    );
    drop(d);
    // The default minimum is TLS 1.2: a TLS 1.2 client is served.
    setup(dir.path(), "");
    let d = start(dir.path());
    let ca = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
    let tls12 = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert_eq!(
        tls12
            .get(https(&d, "/-/healthy"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn amtool_over_tls_with_basic_auth() {
    let Some(bin) = debian_tool("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &users());
    let d = start(dir.path());
    let http_config = |user: &str, pw: &str| {
        let f = dir.path().join(format!("amtool-{user}-{pw}.yml"));
        std::fs::write(
            &f,
            format!(
                "basic_auth:\n  username: {user}\n  password: {pw}\ntls_config:\n  ca_file: {}\n",
                dir.path().join("ca.crt").display()
            ),
        )
        .unwrap();
        f
    };
    let amtool = |cfg: &Path, args: &[&str]| {
        let out = Command::new(&bin)
            .arg(format!(
                "--alertmanager.url=https://127.0.0.1:{}",
                d.addr.port()
            ))
            .arg(format!("--http.config.file={}", cfg.display()))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let admin = http_config("admin", "admin-pw");
    let (ok, out) = amtool(&admin, &["alert", "add", "AmtoolTls", "severity=page"]);
    assert!(ok, "{out}");
    let (ok, out) = amtool(&admin, &["alert", "query", "-o", "extended"]);
    assert!(ok && out.contains("AmtoolTls"), "{out}");
    let (ok, out) = amtool(&http_config("admin", "nope"), &["alert", "query"]);
    assert!(!ok, "{out}");
    // prom (ingest only) may add but not query.
    let prom = http_config("prom", "prom-pw");
    let (ok, out) = amtool(&prom, &["alert", "add", "FromProm"]);
    assert!(ok, "{out}");
    let (ok, out) = amtool(&prom, &["alert", "query"]);
    assert!(!ok, "{out}");
}

#[tokio::test]
async fn prometheus_sends_alerts_over_tls_with_basic_auth() {
    let Some(bin) = debian_tool("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = setup(dir.path(), &users());
    let d = start(dir.path());
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: t\n    interval: 1s\n    rules:\n      - alert: OverTls\n        expr: vector(1)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{evaluation_interval: 1s}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - scheme: https\n      basic_auth: {{username: prom, password: prom-pw}}\n      tls_config: {{ca_file: ca.crt}}\n      static_configs:\n        - targets: ['127.0.0.1:{}']\n",
            d.addr.port()
        ),
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut prom = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--rules.alert.resend-delay=1s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let c = client(&ca.pem);
    let url = https(&d, "/api/v2/alerts");
    let mut got = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !got && tokio::time::Instant::now() < deadline {
        if let Ok(r) = c
            .get(&url)
            .basic_auth("admin", Some("admin-pw"))
            .send()
            .await
        {
            got = r.text().await.unwrap_or_default().contains("OverTls");
        }
        if !got {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let errors_zero = eventually(Duration::from_secs(10), || {
        crate::support::daemon::http_get(&metrics)
            .map(|(_, t)| {
                t.lines().any(|l| {
                    l.starts_with("prometheus_notifications_sent_total") && !l.ends_with(" 0")
                }) && t
                    .lines()
                    .filter(|l| l.starts_with("prometheus_notifications_errors_total"))
                    .all(|l| l.ends_with(" 0"))
            })
            .unwrap_or(false)
    })
    .await;
    let _ = prom.kill();
    let _ = prom.wait();
    assert!(got, "Prometheus's alert did not reach tocsin");
    assert!(
        errors_zero,
        "Prometheus counted notification errors or sent none"
    );
}

#[tokio::test]
async fn basic_auth_and_rate_limit_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let h = bcrypt::hash("pw", 4).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        format!("basic_auth_users:\n  u: {h}\nauth_excluded_paths: [/-/healthy]\nrate_limit:\n  burst: 3\n  interval: 1h\n"),
    )
    .unwrap();
    let d = start(dir.path());
    let c = reqwest::Client::new();
    // Excluded path: no credentials needed.
    assert_eq!(
        c.get(d.url("/-/healthy")).send().await.unwrap().status(),
        200
    );
    assert_eq!(c.get(d.url("/-/ready")).send().await.unwrap().status(), 401);
    assert_eq!(
        c.get(d.url("/-/ready"))
            .basic_auth("u", Some("pw"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The bucket (3, one more per hour) is spent: exporter-toolkit's 429.
    let r = c
        .get(d.url("/-/ready"))
        .basic_auth("u", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.text().await.unwrap(), "Too Many Requests\n");
}

/// Sends `request` as it is on a new connection and reads until the server closes it.
fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn refusals_of_the_http_layer_carry_the_configured_headers() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n    X-Content-Type-Options: nosniff\n",
    )
    .unwrap();
    let d = Daemon::start_with(
        CONFIG,
        &[
            &format!("--web.config.file={}", web.display()),
            "--web.read-header-timeout=1s",
        ],
    );
    let addr = d.addr;
    let long_url = format!(
        "GET /api/v2/alerts?x={} HTTP/1.1\r\n\r\n",
        "a".repeat(20 << 10)
    );
    let long_header = format!(
        "GET /-/ready HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "h".repeat(200 << 10)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("414", long_url.into_bytes(), "--web.max-url-bytes"),
        ("431", long_header.into_bytes(), "--web.max-header-bytes"),
        (
            "505",
            b"GET /-/ready HTTP/3.0\r\n\r\n".to_vec(),
            "HTTP version",
        ),
        (
            "400",
            b"G@T /-/ready HTTP/1.1\r\n\r\n".to_vec(),
            "malformed request",
        ),
        (
            "408",
            b"GET /-/ready HTTP/1.1\r\nX-Slow: ".to_vec(),
            "--web.read-header-timeout",
        ),
    ];
    let answers = tokio::task::spawn_blocking(move || {
        cases
            .into_iter()
            .map(|(status, req, why)| (status, raw_exchange(addr, &req), why))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (status, answer, why) in answers {
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{answer}");
        assert!(
            head.contains("\r\nStrict-Transport-Security: max-age=31536000\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nX-Content-Type-Options: nosniff"),
            "{head}"
        );
        assert!(body.contains(why), "{status}: {body}");
    }
    // As the file says now: a header removed from it is gone from the next refusal.
    std::fs::write(
        &web,
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    )
    .unwrap();
    let answer =
        tokio::task::spawn_blocking(move || raw_exchange(addr, b"GET /-/ready HTTP/3.0\r\n\r\n"))
            .await
            .unwrap();
    assert!(answer.contains("\r\nX-Frame-Options: deny\r\n"), "{answer}");
    assert!(!answer.contains("Strict-Transport-Security"), "{answer}");
}

#[tokio::test]
async fn refusals_over_http2_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let ca = setup(
        dir.path(),
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    );
    let d = start(dir.path());
    let c = client(&ca.pem);
    // A header list HTTP/1.1 takes is taken over HTTP/2 too (h2's own bound is 16 KiB, and it
    // refuses with a bare 431).
    let r = c
        .get(https(&d, "/-/ready"))
        .header("x-big", "h".repeat(40 << 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    // Over the limit: 431 with the reason and the configured headers.
    let r = c
        .get(https(&d, "/api/v2/status"))
        .header("x-big", "h".repeat(100 << 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 431);
    assert_eq!(r.headers()["x-frame-options"], "deny");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], 431);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("--web.max-header-bytes=65536"),
        "{v}"
    );
    // Far over it, where the HTTP/2 layer answers itself (refusing the stream, or ending the
    // connection for a list too long to read): the same shape.
    for kib in [200, 300, 1024] {
        let r = c
            .get(https(&d, "/-/ready"))
            .header("x-big", "h".repeat(kib << 10))
            .send()
            .await
            .unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        assert_eq!(r.status(), 431, "{kib} KiB");
        assert_eq!(r.headers()["x-frame-options"], "deny");
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("--web.max-header-bytes=65536"),
            "{v}"
        );
    }
    let r = c
        .get(https(&d, &format!("/-/ready?x={}", "u".repeat(20 << 10))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 414);
    assert!(r.text().await.unwrap().contains("--web.max-url-bytes"));
    // An oversized body: 413 in Alertmanager's shape.
    let r = c
        .post(https(&d, "/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(vec![b' '; 17 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 413);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("16777216"), "{v}");
}

/// A TLS connection to the daemon offering only HTTP/2 (ALPN `h2`).
async fn h2_tls(
    d: &Daemon,
    ca_pem: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap()
}

/// An HTTP/2 connection over TLS from h2's client, with windows of 1 MiB for the connection
/// (given at once, as Go's client, curl and browsers give theirs) and for each stream.
async fn h2_connect(d: &Daemon, ca_pem: &str) -> h2::client::SendRequest<bytes::Bytes> {
    let tls = h2_tls(d, ca_pem).await;
    let (send, conn) = h2::client::Builder::new()
        .initial_connection_window_size(1 << 20)
        .initial_window_size(1 << 20)
        .handshake(tls)
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

/// A response's status, headers and whole body, read (and its window given back) as it comes,
/// after `pause` (the server meanwhile sends what the windows let it).
async fn h2_answer(
    resp: h2::client::ResponseFuture,
    pause: Duration,
) -> (u16, warp::http::HeaderMap, Vec<u8>) {
    let resp = resp.await.unwrap();
    tokio::time::sleep(pause).await;
    let (head, mut body) = resp.into_parts();
    let mut all = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        all.extend_from_slice(&chunk);
    }
    (head.status.as_u16(), head.headers, all)
}

#[tokio::test]
async fn http2s_own_refusal_of_a_huge_header_list_says_why_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let ca = setup(
        dir.path(),
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    );
    let d = start(dir.path());
    // Enough alerts that listing them takes the windows many times over.
    let alerts: Vec<_> = (0..3000)
        .map(|i| json!({"labels": {"alertname": "Big", "instance": format!("host-{i:05}"), "job": "node"}, "annotations": {"summary": "x".repeat(100)}}))
        .collect();
    let r = client(&ca.pem)
        .post(https(&d, "/api/v2/alerts"))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut h2c = h2_connect(&d, &ca.pem).await;
    let request = |method: &str, path: &str, big: usize| {
        let mut b = warp::http::Request::builder()
            .method(method)
            .uri(https(&d, path));
        if big > 0 {
            b = b.header("x-big", "h".repeat(big));
        }
        b.body(()).unwrap()
    };
    // Over twice --web.max-header-bytes, where h2 answers itself: 431 with a body, ten times on
    // one connection (each body uses window h2 does not know of).
    for _ in 0..10 {
        h2c = h2c.ready().await.unwrap();
        let (resp, _) = h2c
            .send_request(request("GET", "/api/v2/status", 200 << 10), true)
            .unwrap();
        let (status, headers, body) = h2_answer(resp, Duration::ZERO).await;
        assert_eq!(status, 431);
        assert_eq!(headers["x-frame-options"], "deny");
        assert_eq!(headers["content-type"], "application/json");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], 431, "{v}");
        let why = v["message"].as_str().unwrap();
        assert!(why.contains("--web.max-header-bytes=65536"), "{why}");
    }
    // A request whose body is still coming: answered, and its stream ended without an error.
    h2c = h2c.ready().await.unwrap();
    let (resp, mut upload) = h2c
        .send_request(request("POST", "/api/v2/alerts", 200 << 10), false)
        .unwrap();
    let (status, _, body) = h2_answer(resp, Duration::ZERO).await;
    assert_eq!(status, 431);
    assert!(String::from_utf8_lossy(&body).contains("header list"));
    let reason = std::future::poll_fn(|cx| upload.poll_reset(cx))
        .await
        .unwrap();
    assert_eq!(reason, h2::Reason::NO_ERROR);
    // The same connection lists every alert: more than the windows, which the server fills
    // before the client reads (had h2 not been kept from the window the bodies took, it would
    // send more than the connection's window, and the client would end the connection).
    h2c = h2c.ready().await.unwrap();
    let (resp, _) = h2c
        .send_request(request("GET", "/api/v2/alerts", 0), true)
        .unwrap();
    let (status, _, body) = h2_answer(resp, Duration::from_millis(500)).await;
    assert_eq!(status, 200);
    assert!(body.len() > 1 << 20, "{}", body.len());
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(listed.len(), 3000);
    let m = client(&ca.pem)
        .get(https(&d, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.lines().any(|l| l
            .strip_prefix("tocsin_requests_limited_total{limit=\"web.max-header-bytes\"} ")
            .is_some_and(|v| v.parse::<f64>().unwrap() >= 11.0)),
        "{m}"
    );
}

/// One HTTP/2 frame's bytes.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend(stream.to_be_bytes());
    f.extend(payload);
    f
}

#[tokio::test]
async fn an_hpack_bomb_is_answered_431_before_the_connection_ends() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let ca = setup(dir.path(), "");
    let d = start(dir.path());
    let mut tls = h2_tls(&d, &ca.pem).await;
    // A 4,000-byte field put in the HPACK table, then named by its index 12,000 times: a
    // 16 KiB frame that decodes to 48 MB.
    let mut block = vec![0x82, 0x87, 0x84, 0x40, 5];
    block.extend(b"x-big");
    block.extend([0x7f, 0xa1, 0x1e]);
    block.extend(vec![b'b'; 4000]);
    block.extend(vec![0xbe; 12_000]);
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(h2_frame(0x4, 0, 0, &[]));
    out.extend(h2_frame(0x8, 0, 0, &(1u32 << 20).to_be_bytes()));
    out.extend(h2_frame(0x1, 0x5, 1, &block));
    tls.write_all(&out).await.unwrap();
    let mut input = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut input)).await;
    // The server's frames: an answer on stream 1, then the GOAWAY naming it.
    let mut frames = Vec::new();
    let mut p = 0;
    while p + 9 <= input.len() {
        let len = usize::from(input[p]) << 16
            | usize::from(input[p + 1]) << 8
            | usize::from(input[p + 2]);
        let stream = u32::from_be_bytes(input[p + 5..p + 9].try_into().unwrap()) & 0x7fff_ffff;
        frames.push((
            input[p + 3],
            stream,
            input[p + 9..(p + 9 + len).min(input.len())].to_vec(),
        ));
        p += 9 + len;
    }
    let on_1: Vec<_> = frames.iter().filter(|f| f.1 == 1).collect();
    assert_eq!(on_1.len(), 2, "{frames:?}");
    assert_eq!(on_1[0].0, 0x1);
    // `:status: 431` and `content-type: application/json`, literals that touch no table.
    let status = &on_1[0].2;
    assert!(status.starts_with(b"\x08\x03431\x00\x0ccontent-type\x10application/json"));
    assert_eq!(on_1[1].0, 0x0);
    let v: serde_json::Value = serde_json::from_slice(&on_1[1].2).unwrap();
    assert_eq!(v["code"], 431);
    let goaway = frames.iter().find(|f| f.0 == 0x7).expect("a GOAWAY");
    assert_eq!(&goaway.2[..4], &1u32.to_be_bytes());
    assert_eq!(&goaway.2[8..], b"header_list_way_too_large");
    // The server goes on.
    let r = client(&ca.pem)
        .get(https(&d, "/-/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
