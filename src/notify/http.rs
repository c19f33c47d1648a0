//! Shared HTTP plumbing for integrations: the client built from an `http_config`, and the
//! classification of an answer into success, retry (with `Retry-After`) or permanent failure.

use std::time::Duration;

use jiff::Timestamp;

use super::retry::parse_retry_after;
use super::{FailureReason, NotifyError};
use crate::config::HttpConfig;

/// The `User-Agent` of every notification request.
pub const USER_AGENT: &str = concat!("tocsin/", env!("CARGO_PKG_VERSION"));

/// Builds a client for one integration from its (global-merged) `http_config`: TLS (CA, client
/// certificate, minimum version, skip-verify), proxy (explicit, `no_proxy`, or the environment
/// only when `proxy_from_environment`), redirects and HTTP/2. Per-request parts (auth, headers)
/// are applied by [`RequestAuth`], which re-reads `*_file` secrets at each send.
pub fn build_client(http: &HttpConfig) -> Result<reqwest::Client, String> {
    if http.oauth2.is_some() {
        return Err("http_config.oauth2 is not supported by tocsin yet".into());
    }
    let redirects = if http.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(redirects)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90));
    if !http.enable_http2 {
        b = b.http1_only();
    }
    if let Some(p) = &http.proxy_url {
        let mut proxy = reqwest::Proxy::all(p.as_str()).map_err(|e| format!("proxy_url: {e}"))?;
        if let Some(np) = &http.no_proxy {
            proxy = proxy.no_proxy(reqwest::NoProxy::from_string(np));
        }
        b = b.proxy(proxy);
    } else if !http.proxy_from_environment {
        b = b.no_proxy();
    }
    if let Some(tls) = &http.tls_config {
        let read = |inline: Option<&str>, file: &Option<std::path::PathBuf>, what: &str| match (
            inline, file,
        ) {
            (Some(s), _) => Ok(Some(s.as_bytes().to_vec())),
            (None, Some(f)) => std::fs::read(f)
                .map(Some)
                .map_err(|e| format!("tls_config.{what}_file {}: {e}", f.display())),
            (None, None) => Ok(None),
        };
        if let Some(ca) = read(tls.ca.as_deref(), &tls.ca_file, "ca")? {
            let certs = reqwest::Certificate::from_pem_bundle(&ca)
                .map_err(|e| format!("tls_config.ca: {e}"))?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let cert = read(tls.cert.as_deref(), &tls.cert_file, "cert")?;
        let key = read(
            tls.key.as_ref().map(|k| k.expose().as_str()),
            &tls.key_file,
            "key",
        )?;
        if let (Some(mut cert), Some(key)) = (cert, key) {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let id = reqwest::Identity::from_pem(&cert)
                .map_err(|e| format!("tls_config client certificate: {e}"))?;
            b = b.identity(id);
        }
        if tls.insecure_skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(v) = &tls.min_version {
            let v = match v.as_str() {
                "TLS12" => reqwest::tls::Version::TLS_1_2,
                "TLS13" => reqwest::tls::Version::TLS_1_3,
                other => {
                    return Err(format!(
                        "tls_config.min_version {other} is not supported (TLS12 or TLS13)"
                    ));
                }
            };
            b = b.min_tls_version(v);
        }
        if tls.server_name.is_some() {
            return Err("tls_config.server_name is not supported by tocsin yet".into());
        }
    }
    b.build().map_err(|e| format!("building HTTP client: {e}"))
}

/// The per-request parts of an `http_config`: authentication and extra headers. Secrets given
/// as files are read at each send, so a rotated token needs no reload (as in Prometheus).
#[derive(Debug, Clone)]
pub struct RequestAuth {
    /// The config it came from.
    http: HttpConfig,
}

fn read_secret(
    inline: Option<&str>,
    file: &Option<std::path::PathBuf>,
) -> Result<Option<String>, String> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.to_owned())),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|e| format!("reading {}: {e}", f.display())),
        (None, None) => Ok(None),
    }
}

impl RequestAuth {
    /// From an `http_config`.
    pub fn new(http: &HttpConfig) -> Self {
        RequestAuth { http: http.clone() }
    }

    /// Adds authentication and headers to a request.
    pub fn apply(
        &self,
        mut req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, String> {
        let h = &self.http;
        if let Some(ba) = &h.basic_auth {
            let user = match read_secret(None, &ba.username_file)? {
                Some(u) => u,
                None => ba.username.clone(),
            };
            let pass = read_secret(
                ba.password.as_ref().map(|p| p.expose().as_str()),
                &ba.password_file,
            )?;
            req = req.basic_auth(user, pass);
        }
        if let Some(a) = &h.authorization {
            let cred = read_secret(
                a.credentials.as_ref().map(|c| c.expose().as_str()),
                &a.credentials_file,
            )?
            .unwrap_or_default();
            let kind = a.kind.as_deref().unwrap_or("Bearer");
            req = req.header(reqwest::header::AUTHORIZATION, format!("{kind} {cred}"));
        }
        if let Some(tok) = read_secret(
            h.bearer_token.as_ref().map(|t| t.expose().as_str()),
            &h.bearer_token_file,
        )? {
            req = req.bearer_auth(tok);
        }
        for (name, hv) in &h.http_headers {
            for v in &hv.values {
                req = req.header(name.as_str(), v.as_str());
            }
            for v in &hv.secrets {
                req = req.header(name.as_str(), v.expose().as_str());
            }
            for f in &hv.files {
                if let Some(v) = read_secret(None, &Some(f.clone()))? {
                    req = req.header(name.as_str(), v);
                }
            }
        }
        Ok(req)
    }
}

/// Reads at most this much of an error body for the log.
const BODY_SNIPPET: usize = 512;

/// Turns a response into `Ok` (2xx) or a `NotifyError` saying whether to retry and when.
pub async fn classify(resp: reqwest::Response, now: Timestamp) -> Result<(), NotifyError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    let body = resp.text().await.unwrap_or_default();
    let snippet: String = body.chars().take(BODY_SNIPPET).collect();
    let code = status.as_u16();
    let (retry, reason) = match code {
        429 => (true, FailureReason::RateLimited),
        500..=599 => (true, FailureReason::ServerError),
        401 | 403 => (false, FailureReason::AuthError),
        _ => (false, FailureReason::ClientError),
    };
    Err(NotifyError {
        retry,
        retry_after,
        reason,
        message: format!("unexpected status code {code}: {}", snippet.trim()),
    })
}

/// A transport error (connect, TLS, timeout): retryable.
pub fn transport_error(e: reqwest::Error) -> NotifyError {
    let reason = if e.is_timeout() {
        FailureReason::DeadlineExceeded
    } else {
        FailureReason::Other
    };
    // reqwest's Display includes the URL, which may hold a secret token: strip it.
    NotifyError {
        retry: true,
        retry_after: None,
        reason,
        message: e.without_url().to_string(),
    }
}
