//! `http_config.tls_config.server_name` for a webhook receiver at `https://127.0.0.1:<port>`
//! whose certificate names only `hooks.example`: without `server_name` the certificate is
//! refused (it is not valid for 127.0.0.1), with `server_name: hooks.example` the notification
//! is delivered. The same config to Alertmanager 0.25 delivers too; the test server records the
//! SNI each client sent, so the one documented difference shows: Alertmanager sends
//! `hooks.example`, tocsin sends none (an IP URL), as README says.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::alertmanager::{Alertmanager, post_json};
use crate::support::daemon::{Daemon, eventually};
use crate::support::pair::whole_second;
use crate::support::pki::Ca;

const WAIT: Duration = Duration::from_secs(30);

/// One request the server answered: its path and the SNI of its connection.
#[derive(Debug, Clone, PartialEq)]
struct Hit {
    /// The request path (`/named`, `/plain`).
    path: String,
    /// The SNI the client sent, if any.
    sni: Option<String>,
    /// The TLS version the connection runs (`TLSv1_2`, `TLSv1_3`).
    version: String,
}

/// An HTTPS server on 127.0.0.1 answering every POST with 200, one request per connection.
struct TlsHook {
    /// `https://127.0.0.1:<port>`.
    base: String,
    /// The requests answered.
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl TlsHook {
    async fn start(cert_pem: &str, key_pem: &str) -> TlsHook {
        use rustls::pki_types::pem::PemObject;
        let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
            rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, hits) = (acceptor.clone(), Arc::clone(&recorded));
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    // This connection's own SNI.
                    let sni = tls.get_ref().1.server_name().map(str::to_owned);
                    let version = format!("{:?}", tls.get_ref().1.protocol_version());
                    let Some(path) = read_request(&mut tls).await else {
                        return;
                    };
                    hits.lock().unwrap().push(Hit { path, sni, version });
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        TlsHook { base, hits }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// Reads one HTTP/1.1 request (headers and a `content-length` body); returns its path.
async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let path = head.split(' ').nth(1)?.to_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(path)
}

/// The config: alerts with `r=named` go to the receiver with `server_name`, `r=plain` to the
/// one without; both trust the CA.
fn config(base: &str, ca: &str) -> String {
    format!(
        r#"
route:
  receiver: named
  group_by: [r]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: [r="plain"]
      receiver: plain
receivers:
  - name: named
    webhook_configs:
      - url: {base}/named
        http_config:
          tls_config: {{ca_file: {ca}, server_name: hooks.example}}
  - name: plain
    webhook_configs:
      - url: {base}/plain
        http_config:
          tls_config: {{ca_file: {ca}}}
"#
    )
}

fn alerts() -> serde_json::Value {
    let start = whole_second().to_string();
    json!([
        {"labels": {"alertname": "A", "r": "named"}, "startsAt": start},
        {"labels": {"alertname": "A", "r": "plain"}, "startsAt": start},
    ])
}

#[tokio::test]
async fn server_name_is_the_name_the_certificate_is_verified_for() {
    let ca = Ca::new("hooks CA");
    let leaf = ca.leaf(&["hooks.example"]);
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca.pem).unwrap();
    let ca_path = ca_path.display().to_string();

    let hook = TlsHook::start(&leaf.cert, &leaf.key).await;
    let d = Daemon::start(&config(&hook.base, &ca_path));
    assert_eq!(post_json(&d.url("/api/v2/alerts"), &alerts()).await, 200);
    let delivered = eventually(WAIT, || hook.hits().iter().any(|h| h.path == "/named")).await;
    assert!(
        delivered,
        "not delivered with server_name: {}",
        d.log_text()
    );
    // Without server_name the certificate is checked against 127.0.0.1 and refused.
    let refused = eventually(WAIT, || {
        d.log_text().lines().any(|l| {
            l.contains(r#""receiver":"plain""#)
                && l.contains("Notify failed")
                && l.contains("certificate not valid for name")
        })
    })
    .await;
    assert!(
        refused,
        "no certificate error for the plain receiver: {}",
        d.log_text()
    );
    let hits = hook.hits();
    assert!(hits.iter().all(|h| h.path == "/named"), "{hits:?}");
    // reqwest sends no SNI for an IP address (the documented difference from Go).
    assert!(hits.iter().all(|h| h.sni.is_none()), "{hits:?}");

    // Alertmanager 0.25, same config: delivers to `named` (sending SNI hooks.example), refuses
    // `plain`.
    let am_hook = TlsHook::start(&leaf.cert, &leaf.key).await;
    let Some(am) = Alertmanager::start(&config(&am_hook.base, &ca_path)).await else {
        return;
    };
    assert_eq!(post_json(&am.url("/api/v2/alerts"), &alerts()).await, 200);
    let delivered = eventually(WAIT, || am_hook.hits().iter().any(|h| h.path == "/named")).await;
    assert!(delivered, "Alertmanager did not deliver with server_name");
    let hits = am_hook.hits();
    assert!(hits.iter().all(|h| h.path == "/named"), "{hits:?}");
    assert!(
        hits.iter()
            .all(|h| h.sni.as_deref() == Some("hooks.example")),
        "{hits:?}"
    );
}

/// `tls_config.max_version: TLS12` caps the version a receiver's connection runs, both when the
/// certificate is verified for `server_name` (tocsin's own rustls config) and when it is not
/// (the HTTP client's); without it the same server speaks TLS 1.3. `TLS11` is refused at load,
/// naming the key.
#[tokio::test]
async fn max_version_caps_the_version_a_receiver_speaks() {
    let ca = Ca::new("hooks CA");
    let leaf = ca.leaf(&["hooks.example"]);
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca.pem).unwrap();
    let ca = ca_path.display().to_string();
    let hook = TlsHook::start(&leaf.cert, &leaf.key).await;
    let base = &hook.base;
    let receiver = |name: &str, tls: &str| {
        format!(
            "  - name: {name}\n    webhook_configs:\n      - url: {base}/{name}\n        \
             http_config:\n          tls_config: {{{tls}}}\n"
        )
    };
    let config = format!(
        "route:\n  receiver: named12\n  group_by: [r]\n  group_wait: 0s\n  \
         group_interval: 1s\n  repeat_interval: 1h\n  routes:\n\
         \x20   - {{matchers: [r=\"skip12\"], receiver: skip12}}\n\
         \x20   - {{matchers: [r=\"named\"], receiver: named}}\nreceivers:\n{}{}{}",
        receiver(
            "named12",
            &format!("ca_file: {ca}, server_name: hooks.example, max_version: TLS12")
        ),
        receiver("skip12", "insecure_skip_verify: true, max_version: TLS12"),
        receiver(
            "named",
            &format!("ca_file: {ca}, server_name: hooks.example")
        ),
    );
    let d = Daemon::start(&config);
    let start = whole_second().to_string();
    let alerts = json!([
        {"labels": {"alertname": "A", "r": "named12"}, "startsAt": start},
        {"labels": {"alertname": "A", "r": "skip12"}, "startsAt": start},
        {"labels": {"alertname": "A", "r": "named"}, "startsAt": start},
    ]);
    assert_eq!(post_json(&d.url("/api/v2/alerts"), &alerts).await, 200);
    let all = eventually(WAIT, || {
        let hits = hook.hits();
        ["/named12", "/skip12", "/named"]
            .iter()
            .all(|p| hits.iter().any(|h| h.path == *p))
    })
    .await;
    assert!(all, "not all delivered: {:?} {}", hook.hits(), d.log_text());
    for h in hook.hits() {
        let want = if h.path.ends_with("12") {
            "Some(TLSv1_2)"
        } else {
            "Some(TLSv1_3)"
        };
        assert_eq!(h.version, want, "{h:?}");
    }
    drop(d);

    let bad = config.replace(
        "insecure_skip_verify: true, max_version: TLS12",
        "insecure_skip_verify: true, max_version: TLS11",
    );
    let path = dir.path().join("bad.yml");
    std::fs::write(&path, bad).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("max_version") && text.contains("TLS11 is not supported"),
        "{text}"
    );
}
