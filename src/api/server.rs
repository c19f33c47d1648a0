//! The HTTP server: accepts connections, applies `--web.config.file` (TLS, basic auth, roles,
//! headers) and the connection limits, and hands each request to the warp filter of
//! [`super::routes`] as a hyper service.
//!
//! Every HTTP/1 head is read by [`super::head`] first (targets Go takes encoded for hyper,
//! refusals with a body).
//!
//! The web config is re-read for every new connection (a replaced certificate is served on the
//! next handshake, without a restart) and, as exporter-toolkit does, for every request (a removed
//! user is refused at once, even on a kept-alive connection); an unchanged file costs one read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use warp::http::{self, HeaderValue, Method, Request, StatusCode};
use warp::reply::Response;

use super::head::{CONNECT_RENAMED, Guarded, HeadLimits, Refusal};
use super::{ApiState, text};
use crate::webconfig::users::AuthCache;
use crate::webconfig::{Loader, RateLimit, Role, WebConfig};

/// The address of the client, put in each request's extensions by the server (warp's own
/// remote-address extension is private to warp).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// How the server treats connections.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `--web.config.file`, re-read per connection and per request; `None` serves plain HTTP to
    /// everyone.
    pub web_config: Option<Arc<Loader>>,
    /// `--web.max-connections`: connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// `--web.read-header-timeout`: the longest a client may take to send a request's headers
    /// (and a TLS handshake); slower clients are disconnected (slowloris).
    pub read_header_timeout: Duration,
    /// `--web.max-header-bytes`: the largest request head (request line and headers) accepted
    /// (431 with a body above; the HTTP layer drops heads over twice this without one).
    pub max_header_bytes: usize,
    /// `--web.max-url-bytes`: the longest request URL accepted (414 with a body above).
    pub max_url_bytes: usize,
}

/// The most header fields a request may carry (431 above).
pub const MAX_HEADERS: usize = 100;

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            web_config: None,
            max_connections: 4096,
            read_header_timeout: Duration::from_secs(10),
            max_header_bytes: 64 << 10,
            max_url_bytes: 16 << 10,
        }
    }
}

/// State shared by every connection.
struct Shared {
    state: Arc<ApiState>,
    opts: ServeOptions,
    cache: AuthCache,
    /// One bcrypt run at a time (exporter-toolkit serialises them too): a flood of wrong
    /// passwords costs one core, never all of them.
    bcrypt: tokio::sync::Semaphore,
    /// `rate_limit`'s token bucket, rebuilt when the file's values change.
    rate: std::sync::Mutex<Option<(RateLimit, Arc<Limiter>)>>,
}

type Limiter = governor::DefaultDirectRateLimiter;

impl Shared {
    /// Whether `rate_limit` lets one more request through (always without one).
    fn admit(&self, limit: Option<RateLimit>) -> bool {
        let Some(limit) = limit else {
            return true;
        };
        let limiter = {
            let mut slot = self.rate.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some((l, r)) if *l == limit => Arc::clone(r),
                _ => {
                    // Go's limiter with a burst of 0 admits nothing; governor needs at least 1.
                    let burst = std::num::NonZeroU32::new(limit.burst.max(1))
                        .unwrap_or(std::num::NonZeroU32::MIN);
                    let Some(quota) = governor::Quota::with_period(limit.interval) else {
                        return true;
                    };
                    let r = Arc::new(governor::RateLimiter::direct(quota.allow_burst(burst)));
                    *slot = Some((limit, Arc::clone(&r)));
                    r
                }
            }
        };
        limit.burst > 0 && limiter.check().is_ok()
    }
}

/// Serves until `cancel`, then stops accepting and waits for the open connections to finish
/// (the caller bounds that wait with `--web.shutdown-timeout`).
pub async fn serve(
    listener: TcpListener,
    state: Arc<ApiState>,
    opts: ServeOptions,
    cancel: CancellationToken,
) {
    let filter = hyper_util::service::TowerToHyperService::new(warp::service(super::routes(
        Arc::clone(&state),
    )));
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.max_connections.max(1)));
    let shared = Arc::new(Shared {
        state,
        opts,
        cache: AuthCache::default(),
        bcrypt: tokio::sync::Semaphore::new(1),
        rate: std::sync::Mutex::new(None),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = cancel.cancelled() => break,
        };
        let (tcp, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off a little instead of spinning.
                    tracing::warn!(error = %e, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = cancel.cancelled() => break,
        };
        let _ = tcp.set_nodelay(true);
        let (shared, filter, watcher) = (Arc::clone(&shared), filter.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _permit = permit;
            connection(shared, filter, watcher, tcp, peer).await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn connection<F>(
    shared: Arc<Shared>,
    filter: F,
    watcher: hyper_util::server::graceful::Watcher,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
) where
    F: Service<Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    F::Future: Send + 'static,
{
    let loaded = match &shared.opts.web_config {
        Some(l) => match l.current() {
            Ok(c) => Some(c),
            Err(e) => {
                // A broken file refuses connections rather than serving without protection.
                tracing::error!(error = %e, "Unable to load the web config file; connection refused.");
                return;
            }
        },
        None => None,
    };
    let tls = loaded.as_ref().and_then(|l| l.tls.clone());
    let http2 = tls.is_some() && loaded.as_ref().is_some_and(|l| l.config.http2);
    let timeout = shared.opts.read_header_timeout;
    let svc = {
        let shared = Arc::clone(&shared);
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let (shared, filter) = (Arc::clone(&shared), filter.clone());
            async move {
                let mut req = req;
                req.extensions_mut().insert(Peer(peer));
                Ok::<_, Infallible>(handle(&shared, req, &filter).await)
            }
        })
    };
    // Heads are read by `head::Guarded` first, under these limits; hyper's are looser, so that
    // every refusal is ours, with a body that says why.
    let max_head = shared.opts.max_header_bytes.saturating_mul(2).max(8192);
    let limits = HeadLimits {
        max_head,
        max_url: shared.opts.max_url_bytes,
        max_fields: MAX_HEADERS * 4,
        timeout,
        h2: http2,
        head_flag: "web.max-header-bytes",
        head_flag_value: shared.opts.max_header_bytes,
    };
    let metrics = Arc::clone(&shared.state.metrics);
    let web_config = shared.opts.web_config.clone();
    let on_refusal = move |r: &Refusal| {
        tracing::debug!(peer = %peer, status = r.status.as_u16(), reason = %r.message, "Request refused.");
        if let Some(flag) = r.limit {
            super::limits::count(&metrics, flag);
        }
        // The headers the file asks for now, as on every other answer.
        web_config
            .as_ref()
            .and_then(|l| l.config().ok())
            .map(|c| c.headers.clone())
            .unwrap_or_default()
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // A backstop: a begun head times out in `Guarded` (408 with a body); this closes
        // connections that stay idle without sending a byte.
        .header_read_timeout(timeout + Duration::from_secs(1))
        // A refused head ends hyper's input (`head::Guarded`): the requests before it, still
        // being answered, must be answered, not dropped as if the client had gone.
        .half_close(true)
        .max_headers(MAX_HEADERS * 4 + 1)
        .max_buf_size(max_head + 8192);
    if http2 {
        // h2 refuses a header list over its limit itself, with a 431 (given a body by
        // `Guarded`): let through what HTTP/1 lets through, so that [`too_big`] answers.
        let list = limits.h2_header_list();
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(list).unwrap_or(u32::MAX));
    } else {
        builder = builder.http1_only();
    }
    let result = match tls {
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            let stream = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %peer, error = %e, "TLS handshake failed.");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %peer, "TLS handshake timed out.");
                    return;
                }
            };
            let io = Guarded::new(stream, limits, on_refusal);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
            watcher.watch(conn.into_owned()).await
        }
        None => {
            let io = Guarded::new(tcp, limits, on_refusal);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
            watcher.watch(conn.into_owned()).await
        }
    };
    if let Err(e) = result {
        tracing::debug!(peer = %peer, error = %e, "HTTP connection ended with an error.");
    }
}

/// Authenticates and authorises one request, then runs it; adds the configured headers.
async fn handle<F>(shared: &Shared, req: Request<Incoming>, filter: &F) -> Response
where
    F: Service<Request<Incoming>, Response = Response, Error = Infallible> + Sync,
{
    let too_big = too_big(&shared.opts, &req).map(|(flag, refused)| {
        super::limits::count(&shared.state.metrics, flag);
        refused
    });
    let Some(loader) = &shared.opts.web_config else {
        return match too_big {
            Some(r) => r,
            None => call(filter, req).await,
        };
    };
    let cfg = match loader.config() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Unable to load the web config file.");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n");
        }
    };
    let mut resp = if let Some(r) = too_big {
        r
    } else if !shared.admit(cfg.rate_limit) {
        text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n")
    } else {
        match authorize(shared, &cfg, &req).await {
            Ok(()) => call(filter, req).await,
            Err(r) => r,
        }
    };
    for (k, v) in &cfg.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

/// 414 or 431 for a head over the limits, with a body that says why (Alertmanager's JSON error
/// shape under `/api/v2`, plain text elsewhere), and the flag of the limit.
fn too_big<B>(opts: &ServeOptions, req: &Request<B>) -> Option<(&'static str, Response)> {
    let url = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let fields = req.headers().len();
    let head = url
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    let (flag, status, message) = if url > opts.max_url_bytes {
        (
            "web.max-url-bytes",
            StatusCode::URI_TOO_LONG,
            format!(
                "request URL is {url} bytes, more than --web.max-url-bytes={}",
                opts.max_url_bytes
            ),
        )
    } else if fields > MAX_HEADERS {
        (
            "web.max-header-bytes",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "request has {fields} header fields, more than {MAX_HEADERS} (the field limit \
                 that goes with --web.max-header-bytes)"
            ),
        )
    } else if head > opts.max_header_bytes {
        (
            "web.max-header-bytes",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "request headers are {head} bytes, more than --web.max-header-bytes={}",
                opts.max_header_bytes
            ),
        )
    } else {
        return None;
    };
    Some((
        flag,
        super::limits::refusal(req.uri().path(), status, &message),
    ))
}

async fn call<F>(filter: &F, mut req: Request<Incoming>) -> Response
where
    F: Service<Request<Incoming>, Response = Response, Error = Infallible>,
{
    // The head layer renamed it so hyper would not hold the connection for a tunnel.
    if req.method().as_str() == CONNECT_RENAMED {
        *req.method_mut() = Method::CONNECT;
    }
    // A target with no path (`CONNECT host:443`) names no page of ours; warp's path filters
    // would panic on it. Alertmanager answers 404.
    if req.uri().path_and_query().is_none() {
        return text(StatusCode::NOT_FOUND, "404 page not found");
    }
    match filter.call(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// `Ok` when the request may go on; otherwise the answer: 401 with `WWW-Authenticate: Basic`
/// for a missing or wrong password (exporter-toolkit's answer), 403 for a role that does not
/// allow the request.
async fn authorize(
    shared: &Shared,
    cfg: &WebConfig,
    req: &Request<Incoming>,
) -> Result<(), Response> {
    if !cfg.auth_enabled() {
        return Ok(());
    }
    let path = req.uri().path();
    if cfg.auth_excluded_paths.iter().any(|p| p == path) {
        return Ok(());
    }
    // Under --web.route-prefix, what the request asks for is the path after it.
    let prefix = shared.state.route_prefix.as_str();
    let path = match path.strip_prefix(prefix) {
        Some(rest) if !prefix.is_empty() && rest.starts_with('/') => rest,
        _ => path,
    };
    // Heartbeat pings carry their own per-check tokens.
    if path.starts_with("/ping/") {
        return Ok(());
    }
    let Some((user, password)) = basic_credentials(req) else {
        return Err(unauthorized());
    };
    let users = &cfg.users;
    let key = users.cache_key(&user, &password);
    let ok = match shared.cache.get(&key) {
        Some(ok) => ok,
        None => {
            let ok = {
                let _one = shared.bcrypt.acquire().await;
                let (users, user, password) = (users.clone(), user.clone(), password);
                tokio::task::spawn_blocking(move || users.verify(&user, &password))
                    .await
                    .unwrap_or(false)
            };
            shared.cache.insert(key, ok);
            ok
        }
    };
    if !ok || !users.contains(&user) {
        shared.state.metrics.http_auth_failures.inc();
        return Err(unauthorized());
    }
    let need = required_role(req.method(), path);
    if users.roles(&user).allows(need) {
        Ok(())
    } else {
        Err(text(
            StatusCode::FORBIDDEN,
            &format!(
                "user {user:?} lacks the {:?} role this request needs\n",
                need.name()
            ),
        ))
    }
}

fn unauthorized() -> Response {
    let mut r = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    r.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic"),
    );
    r
}

/// What a request needs (tocsin's roles): sending alerts needs `ingest`, reading `read`,
/// silences and heartbeat pause/resume `silence`, anything else `admin`.
pub fn required_role(method: &http::Method, path: &str) -> Role {
    use http::Method;
    let path = path.trim_end_matches('/');
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if read {
        return Role::Read;
    }
    match path {
        "/api/v2/alerts" | "/api/tocsin/v1/webhook" | "/api/v1/alerts" => Role::Ingest,
        "/api/tocsin/v1/templates/render" => Role::Read,
        "/api/v2/silences" => Role::Silence,
        p if p.starts_with("/api/v2/silence/") => Role::Silence,
        p if p.starts_with("/api/tocsin/v1/heartbeats/")
            && (p.ends_with("/pause") || p.ends_with("/resume")) =>
        {
            Role::Silence
        }
        _ => Role::Admin,
    }
}

/// The user and password of an `Authorization: Basic` header, as Go's `Request.BasicAuth`
/// reads it (scheme case-insensitive, standard base64, split at the first colon).
fn basic_credentials<B>(req: &Request<B>) -> Option<(String, Vec<u8>)> {
    let v = req.headers().get(http::header::AUTHORIZATION)?.as_bytes();
    if v.len() < 6 || !v[..6].eq_ignore_ascii_case(b"Basic ") {
        return None;
    }
    let decoded = base64_decode(&v[6..])?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// Standard base64 with padding (what Go's `base64.StdEncoding` accepts).
fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (i, chunk) in s.chunks(4).enumerate() {
        let last = i + 1 == s.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_go_reads_it() {
        assert_eq!(base64_decode(b"dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode(b"YTpi").unwrap(), b"a:b");
        assert_eq!(base64_decode(b"YTo=").unwrap(), b"a:");
        assert_eq!(base64_decode(b"YQ==").unwrap(), b"a");
        assert_eq!(base64_decode(b"").unwrap(), b"");
        assert!(base64_decode(b"YQ=").is_none());
        assert!(base64_decode(b"Y===").is_none());
        assert!(base64_decode(b"YQ==YQ==").is_none());
        assert!(base64_decode(b"a b!").is_none());
    }

    #[test]
    fn credentials_split_at_the_first_colon() {
        let req = |v: &str| {
            Request::builder()
                .header("authorization", v)
                .body(())
                .unwrap()
        };
        // "u:p:q"
        assert_eq!(
            basic_credentials(&req("basic dTpwOnE=")),
            Some(("u".to_owned(), b"p:q".to_vec()))
        );
        assert_eq!(basic_credentials(&req("Bearer dTpwOnE=")), None);
        // "nocolon"
        assert_eq!(basic_credentials(&req("Basic bm9jb2xvbg==")), None);
    }

    #[test]
    fn roles_of_requests() {
        use http::Method;
        assert_eq!(required_role(&Method::POST, "/api/v2/alerts"), Role::Ingest);
        assert_eq!(required_role(&Method::GET, "/api/v2/alerts"), Role::Read);
        assert_eq!(
            required_role(&Method::POST, "/api/v2/silences"),
            Role::Silence
        );
        assert_eq!(
            required_role(&Method::DELETE, "/api/v2/silence/x"),
            Role::Silence
        );
        assert_eq!(
            required_role(&Method::POST, "/api/tocsin/v1/heartbeats/db/pause"),
            Role::Silence
        );
        assert_eq!(required_role(&Method::POST, "/-/reload"), Role::Admin);
        assert_eq!(required_role(&Method::PUT, "/api/v2/alerts/x"), Role::Admin);
    }
}
