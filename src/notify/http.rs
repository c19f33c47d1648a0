//! Shared HTTP plumbing for integrations: the client built from an `http_config`, the
//! per-request authentication and headers, and the classification of an answer into success,
//! retry (with `Retry-After`) or permanent failure. Every HTTP integration uses these, so a 429
//! or a 503 means the same thing everywhere.

use std::time::Duration;

use jiff::Timestamp;

use super::error::{FailureReason, HttpConfigError, NotifyError, ReadError};
use super::retry::parse_retry_after;
use super::value::ValueSource;
use crate::config::{HttpConfig, Secret};

/// The `User-Agent` of every notification request.
pub const USER_AGENT: &str = concat!("tocsin/", env!("CARGO_PKG_VERSION"));

/// Reads the inline value or the file (for TLS material, read once when the client is built).
fn read_pem(
    inline: Option<&str>,
    file: &Option<std::path::PathBuf>,
    what: &'static str,
) -> Result<Option<Vec<u8>>, HttpConfigError> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(f)) => std::fs::read(f).map(Some).map_err(|source| {
            HttpConfigError::Read(ReadError {
                what,
                path: f.clone(),
                source,
            })
        }),
        (None, None) => Ok(None),
    }
}

/// What makes two `http_config`s need different clients: everything but the per-request parts
/// (authentication and headers, applied by [`RequestAuth`]). TLS material is held as the bytes
/// read from its files, so a changed certificate file gives a new client at the next reload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    follow_redirects: bool,
    enable_http2: bool,
    proxy_url: Option<String>,
    no_proxy: Option<String>,
    proxy_from_environment: bool,
    tls: Option<TlsKey>,
}

/// The client-side TLS settings of a [`ClientKey`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TlsKey {
    ca: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    insecure_skip_verify: bool,
    /// The TLS versions offered (`http_tls::version_range`).
    versions: (u8, u8),
    /// `server_name`: the name the server's certificate is verified against instead of the
    /// URL's host (see `notify::http_tls`).
    server_name: Option<String>,
}

impl ClientKey {
    /// Checks what the client will not support and reads the TLS files.
    fn new(http: &HttpConfig) -> Result<ClientKey, HttpConfigError> {
        let tls = match &http.tls_config {
            None => None,
            Some(tls) => {
                let versions = super::http_tls::version_range(
                    tls.min_version.as_deref(),
                    tls.max_version.as_deref(),
                )?;
                Some(TlsKey {
                    ca: read_pem(tls.ca.as_deref(), &tls.ca_file, "tls_config.ca_file")?,
                    cert: read_pem(tls.cert.as_deref(), &tls.cert_file, "tls_config.cert_file")?,
                    key: read_pem(
                        tls.key.as_ref().map(|k| k.expose().as_str()),
                        &tls.key_file,
                        "tls_config.key_file",
                    )?,
                    insecure_skip_verify: tls.insecure_skip_verify,
                    versions,
                    server_name: tls.server_name.clone().filter(|s| !s.is_empty()),
                })
            }
        };
        Ok(ClientKey {
            follow_redirects: http.follow_redirects,
            enable_http2: http.enable_http2,
            proxy_url: http.proxy_url.clone(),
            no_proxy: http.no_proxy.clone(),
            proxy_from_environment: http.proxy_from_environment,
            tls,
        })
    }

    /// Builds the client: TLS (CA, client certificate, minimum version, skip-verify, the name
    /// the certificate is verified for), proxy
    /// (explicit, `no_proxy`, or the environment only when `proxy_from_environment`),
    /// redirects and HTTP/2.
    fn build(&self) -> Result<reqwest::Client, HttpConfigError> {
        let redirects = if self.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let mut b = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(redirects)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90));
        if !self.enable_http2 {
            b = b.http1_only();
        }
        if let Some(p) = &self.proxy_url {
            let mut proxy =
                reqwest::Proxy::all(p.as_str()).map_err(|e| HttpConfigError::Invalid {
                    key: "proxy_url",
                    reason: e.to_string(),
                })?;
            if let Some(np) = &self.no_proxy {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(np));
            }
            b = b.proxy(proxy);
        } else if !self.proxy_from_environment {
            b = b.no_proxy();
        }
        if let Some(tls) = &self.tls
            && let Some(name) = &tls.server_name
            && !tls.insecure_skip_verify
        {
            // The certificate is verified against `server_name`: reqwest has no setting for
            // that, so the whole rustls config is built here (same roots, same versions).
            let config = super::http_tls::client_config(&super::http_tls::NamedTls {
                ca: tls.ca.as_deref(),
                cert_key: tls.cert.as_deref().zip(tls.key.as_deref()),
                versions: tls.versions,
                server_name: name,
                http2: self.enable_http2,
            })?;
            b = b.tls_backend_preconfigured(config);
        } else if let Some(tls) = &self.tls {
            if let Some(ca) = &tls.ca {
                let certs = reqwest::Certificate::from_pem_bundle(ca).map_err(|e| {
                    HttpConfigError::Invalid {
                        key: "tls_config.ca",
                        reason: e.to_string(),
                    }
                })?;
                for c in certs {
                    b = b.add_root_certificate(c);
                }
            }
            if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
                let mut pem = cert.clone();
                pem.push(b'\n');
                pem.extend_from_slice(key);
                let id =
                    reqwest::Identity::from_pem(&pem).map_err(|e| HttpConfigError::Invalid {
                        key: "tls_config client certificate",
                        reason: e.to_string(),
                    })?;
                b = b.identity(id);
            }
            if tls.insecure_skip_verify {
                b = b.danger_accept_invalid_certs(true);
            }
            let version = |v: u8| {
                if v == 13 {
                    reqwest::tls::Version::TLS_1_3
                } else {
                    reqwest::tls::Version::TLS_1_2
                }
            };
            let (lo, hi) = tls.versions;
            b = b.min_tls_version(version(lo)).max_tls_version(version(hi));
        }
        b.build()
            .map_err(|e| HttpConfigError::Client(e.without_url().to_string()))
    }
}

/// Above this many distinct clients the cache starts over (a process that reloads configs with
/// ever-changing TLS files must not grow without bound).
const CACHE_LIMIT: usize = 512;

/// HTTP clients shared between integrations whose `http_config`s differ only in authentication
/// and headers. Building a client loads the system's CA roots (tens of thousands of file reads),
/// so a config with 200 receivers used to take half a second to load; with the cache it loads
/// them once per distinct client setting. One cache lives for the whole process, so a reload
/// also keeps the clients, and with them their open connections.
#[derive(Debug, Default)]
pub struct ClientCache {
    clients: std::sync::Mutex<std::collections::HashMap<ClientKey, reqwest::Client>>,
}

impl ClientCache {
    /// An empty cache.
    pub fn new() -> ClientCache {
        ClientCache::default()
    }

    /// The process-wide cache (the daemon, its reloads and the dead man's switch share it).
    pub fn shared() -> &'static ClientCache {
        static SHARED: std::sync::OnceLock<ClientCache> = std::sync::OnceLock::new();
        SHARED.get_or_init(ClientCache::new)
    }

    /// The client for `http`: the cached one for an equal setting, else a new one.
    pub fn client(&self, http: &HttpConfig) -> Result<reqwest::Client, HttpConfigError> {
        let key = ClientKey::new(http)?;
        if let Some(c) = self.lock().get(&key) {
            return Ok(c.clone());
        }
        // Built outside the lock: two loads racing on a new setting both build, one is kept.
        let client = key.build()?;
        let mut clients = self.lock();
        if clients.len() >= CACHE_LIMIT {
            clients.clear();
        }
        Ok(clients.entry(key).or_insert(client).clone())
    }

    /// How many distinct clients the cache holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache holds no client.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<ClientKey, reqwest::Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One header value of `http_headers`.
#[derive(Debug, Clone)]
enum HeaderValue {
    /// A plain value (may be logged).
    Plain(String),
    /// A secret value, inline or from a file.
    Secret(ValueSource),
}

/// The per-request parts of an `http_config`: authentication and extra headers. Secrets given
/// as files are read at each send, so a rotated token needs no reload (as in Prometheus).
#[derive(Debug, Clone, Default)]
pub struct RequestAuth {
    /// Basic auth: the user name (inline or file) and the password.
    basic: Option<(ValueSource, Option<ValueSource>)>,
    /// `Authorization: <type> <credentials>`.
    authorization: Option<(String, Option<ValueSource>)>,
    /// `Authorization: Bearer <token>` (the older `bearer_token` keys).
    bearer: Option<ValueSource>,
    /// Extra headers, in config order.
    headers: Vec<(String, HeaderValue)>,
    /// `oauth2`: the client-credentials token source.
    oauth2: Option<std::sync::Arc<super::oauth2::TokenSource>>,
}

impl RequestAuth {
    /// From an `http_config`.
    pub fn new(http: &HttpConfig) -> Self {
        let basic = http.basic_auth.as_ref().map(|ba| {
            let user = ValueSource::from_config(None, ba.username_file.as_deref(), "username_file")
                .unwrap_or_else(|| ValueSource::Inline(Secret::new(ba.username.clone())));
            let pass = ValueSource::from_config(
                ba.password.as_ref(),
                ba.password_file.as_deref(),
                "password_file",
            );
            (user, pass)
        });
        let authorization = http.authorization.as_ref().map(|a| {
            (
                a.kind.clone().unwrap_or_else(|| "Bearer".to_owned()),
                ValueSource::from_config(
                    a.credentials.as_ref(),
                    a.credentials_file.as_deref(),
                    "credentials_file",
                ),
            )
        });
        let bearer = ValueSource::from_config(
            http.bearer_token.as_ref(),
            http.bearer_token_file.as_deref(),
            "bearer_token_file",
        );
        let mut headers = Vec::new();
        for (name, hv) in &http.http_headers {
            for v in &hv.values {
                headers.push((name.clone(), HeaderValue::Plain(v.clone())));
            }
            for v in &hv.secrets {
                headers.push((
                    name.clone(),
                    HeaderValue::Secret(ValueSource::Inline(v.clone())),
                ));
            }
            for f in &hv.files {
                headers.push((
                    name.clone(),
                    HeaderValue::Secret(ValueSource::File {
                        what: "http_headers file",
                        path: f.clone(),
                    }),
                ));
            }
        }
        RequestAuth {
            basic,
            authorization,
            bearer,
            headers,
            oauth2: http
                .oauth2
                .as_ref()
                .map(|o| std::sync::Arc::new(super::oauth2::TokenSource::new(o))),
        }
    }

    /// Adds authentication and headers to a request (fetching an OAuth 2.0 token first when
    /// `oauth2` is set and none is kept).
    pub async fn apply(
        &self,
        mut req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, NotifyError> {
        if let Some((user, pass)) = &self.basic {
            let user = user.read_now()?;
            let pass = pass.as_ref().map(ValueSource::read_now).transpose()?;
            req = req.basic_auth(user.expose(), pass.as_ref().map(|p| p.expose()));
        }
        if let Some((kind, cred)) = &self.authorization {
            let cred = cred.as_ref().map(ValueSource::read_now).transpose()?;
            let cred = cred.as_ref().map_or("", |c| c.expose().as_str());
            req = req.header(reqwest::header::AUTHORIZATION, format!("{kind} {cred}"));
        }
        if let Some(tok) = &self.bearer {
            req = req.bearer_auth(tok.read_now()?.expose());
        }
        if let Some(o) = &self.oauth2 {
            let h = o.header().await?;
            req = req.header(reqwest::header::AUTHORIZATION, h.expose().as_str());
        }
        for (name, v) in &self.headers {
            req = match v {
                HeaderValue::Plain(v) => req.header(name.as_str(), v.as_str()),
                HeaderValue::Secret(s) => {
                    req.header(name.as_str(), s.read_now()?.expose().as_str())
                }
            };
        }
        Ok(req)
    }
}

/// Reads at most this much of an error body for the log.
const BODY_SNIPPET: usize = 512;

/// What a non-2xx answer said: the status, `Retry-After`, and the start of the body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `Retry-After` delay, if the header was given and parses.
    pub retry_after: Option<Duration>,
    /// The body (at most 512 characters, trimmed).
    pub body: String,
}

impl Answer {
    /// Reads a response's status, `Retry-After` and body snippet.
    pub async fn read(resp: reqwest::Response, now: Timestamp) -> Answer {
        let status = resp.status().as_u16();
        let retry_after = retry_after(&resp, now);
        let body = resp.text().await.unwrap_or_default();
        Answer {
            status,
            retry_after,
            body: body
                .chars()
                .take(BODY_SNIPPET)
                .collect::<String>()
                .trim()
                .to_owned(),
        }
    }

    /// Alertmanager's classification plus `Retry-After`: 5xx and the integration's extra
    /// `retry_codes` (PagerDuty's 429) are retried, anything else is permanent. The message is
    /// `unexpected status code N: <detail>`, where `detail` defaults to the body.
    pub fn error(&self, retry_codes: &[u16], detail: Option<&str>) -> NotifyError {
        let code = self.status;
        let reason = reason_for(code);
        let retry = (500..=599).contains(&code) || retry_codes.contains(&code);
        let detail = detail.unwrap_or(&self.body);
        let message = format!("unexpected status code {code}: {detail}");
        let e = if retry {
            NotifyError::retryable(reason, message)
        } else {
            NotifyError::permanent(reason, message)
        };
        NotifyError {
            status: Some(code),
            ..e.with_retry_after(self.retry_after)
        }
    }
}

/// The metric reason of a status code (Alertmanager 0.34's mapping).
pub fn reason_for(code: u16) -> FailureReason {
    match code {
        429 => FailureReason::RateLimited,
        500..=599 => FailureReason::ServerError,
        401 | 403 => FailureReason::AuthError,
        _ => FailureReason::ClientError,
    }
}

/// The `Retry-After` header of a response, parsed relative to `now`.
pub fn retry_after(resp: &reqwest::Response, now: Timestamp) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

/// Turns a response into `Ok` (2xx) or a `NotifyError` saying whether to retry and when: 429 and
/// 5xx are retried (honouring `Retry-After`), anything else is permanent.
pub async fn classify(resp: reqwest::Response, now: Timestamp) -> Result<(), NotifyError> {
    if resp.status().is_success() {
        return Ok(());
    }
    Err(Answer::read(resp, now).await.error(&[429], None))
}

/// A transport error (connect, TLS, timeout): retryable.
pub fn transport_error(e: reqwest::Error) -> NotifyError {
    let reason = if e.is_timeout() {
        FailureReason::DeadlineExceeded
    } else {
        FailureReason::Other
    };
    // reqwest's Display includes the URL, which may hold a secret token: strip it, then add
    // the causes (connection refused, certificate unknown...), which name no URL.
    let e = e.without_url();
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    NotifyError::retryable(reason, message)
}
