//! The HTTP surface: Alertmanager's API v2, the operational endpoints (`/-/healthy`, `/-/ready`,
//! `/-/reload`, `/metrics`), the v1 tombstones (410), the heartbeat pings (`/ping/...`) and our
//! own `/api/tocsin/v1`; the on-call pages (`crate::web`) are mounted here, behind the same
//! filter.
//!
//! One warp filter reads the request (method, path, query, headers, a size-limited body) and a
//! plain `match` routes it: every status code and error body is decided here, in one place,
//! the way Alertmanager answers. Layer L5: imports L0–L4.

// In this module an error value *is* the HTTP answer (`Result<_, Response>`); boxing it buys
// nothing on these cold paths.
#![allow(clippy::result_large_err)]

mod alerts;
mod delivery;
#[doc(hidden)]
pub mod fuzz;
pub mod head;
pub mod heartbeats;
pub mod limits;
mod notifications;
mod ops;
mod preview;
pub mod server;
mod silences;
pub use silences::JsonCache;
mod stream;
mod uri;
mod v2read;

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;

use crate::alerts::AlertStore;
use crate::config::Config;
use crate::dispatch::Dispatcher;
use crate::heartbeat::Heartbeats;
use crate::inhibit::Inhibitor;
use crate::metrics::Metrics;
use crate::silence::Silences;
use crate::template::Templates;

/// `--web.max-request-bytes`'s default: the largest request body accepted (413 above).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;

/// A reload request: the API sends one and waits for the answer on the oneshot.
pub type ReloadRequest = oneshot::Sender<Result<(), String>>;

/// What the handlers share.
pub struct ApiState {
    /// The alert store.
    pub store: Arc<AlertStore>,
    /// The dispatcher.
    pub dispatcher: Dispatcher,
    /// The heartbeat checks.
    pub heartbeats: Arc<Heartbeats>,
    /// The loaded config (swapped on reload).
    pub config: Mutex<Arc<Config>>,
    /// The notification templates of the loaded config (swapped on reload).
    pub templates: Mutex<Arc<Templates>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Where `POST /-/reload` sends its request.
    pub reload: mpsc::Sender<ReloadRequest>,
    /// Start time, for `uptime`.
    pub started: Timestamp,
    /// The external URL.
    pub external_url: String,
    /// `--web.route-prefix` (or the external URL's path): everything is served under it;
    /// empty for the root, else `/path` without a trailing slash.
    pub route_prefix: String,
    /// `--web.timeout`: the longest a request may take (body read included); none when zero.
    pub timeout: Option<std::time::Duration>,
    /// The threads that parse and store large ingest bodies, one per usable core (more would
    /// only add runnable threads without adding throughput), at a lower CPU priority than the
    /// runtime's workers so that a ping, a health check or a small request is never queued
    /// behind a batch on a busy core.
    pub ingest_pool: crate::workers::Pool,
    /// The silences.
    pub silences: Arc<Silences>,
    /// The storage journal: a write waits until its changes are durable before answering.
    pub journal: crate::storage::Journal,
    /// The heartbeat states' journal (their own file): a ping waits only for it, and for the
    /// main journal when it raised or resolved an alert.
    pub heartbeat_journal: crate::storage::Journal,
    /// The notification log (who was told, for the pages).
    pub nflog: Arc<crate::nflog::Nflog>,
    /// The inhibition rules and their source alerts.
    pub inhibitor: Arc<Inhibitor>,
    /// `--web.get-concurrency`: slots for `GET /api/v2/...` requests; a GET finding none free
    /// answers 503 at once, as Alertmanager does.
    pub get_slots: Arc<tokio::sync::Semaphore>,
    /// The number of `get_slots` (for the 503 message).
    pub get_limit: usize,
    /// The pages' live refresh: told after every successful write.
    pub live: crate::web::Live,
    /// The cluster's status (`None` when running alone).
    pub cluster: Option<tokio::sync::watch::Receiver<crate::cluster::Status>>,
    /// `--web.max-request-bytes`: the largest request body read (413 above).
    pub max_body_bytes: usize,
    /// The longest wait for the next piece of a request body (408 past it): a client that
    /// stops sending cannot hold a request open (`--web.read-header-timeout`).
    pub body_timeout: std::time::Duration,
    /// Alerts per request, labels per alert, label size, ingest rate per client.
    pub limits: limits::IngestLimits,
    /// `--web.ingest-rate-limit`'s per-address buckets.
    pub ingest_rate: limits::IngestRate,
    /// `--alerts.per-alertname-limit`.
    pub per_alertname: crate::alerts::limit::PerAlertnameLimit,
    /// Each listed silence's JSON, made once (see `silences::list`).
    pub silence_json: JsonCache,
}

/// Whether this peer's cluster is still settling (never when running alone).
fn cluster_settling(state: &ApiState) -> bool {
    state
        .cluster
        .as_ref()
        .is_some_and(|c| c.borrow().readiness == crate::cluster::Readiness::Settling)
}

/// `--web.get-concurrency` when 0 (Alertmanager's default): the number of cores, at least 8.
pub fn default_get_concurrency() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(8)
}

impl ApiState {
    /// The current config.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Waits until every change queued so far (the request's own included) is durable; when the
/// store cannot take writes, the answer is a 503 naming the reason.
pub(crate) async fn durable(state: &ApiState) -> Result<(), Response> {
    let seq = state.journal.head();
    state
        .journal
        .durable(seq)
        .await
        .map_err(|e| text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")))
}

/// An ingest answer, held back until what it stored is durable (a 200 becomes a 503 naming the
/// reason when the store cannot take writes).
async fn after_ingest(state: &ApiState, r: Response) -> Response {
    if r.status() != StatusCode::OK {
        return r;
    }
    match durable(state).await {
        Ok(()) => r,
        Err(e) => e,
    }
}

/// A ping's answer, held back until the check's new state is written to the heartbeat file
/// (its sync follows at once, without the answer waiting for the disk: see
/// `storage::writer::Syncer`), and the alerts it put are durable when `emitted` (a 200 becomes a
/// 503 naming the reason when the store cannot take writes). The heartbeat file's commits are
/// small and never wait behind an ingest batch's.
async fn after_ping(state: &ApiState, r: Response, emitted: bool) -> Response {
    if r.status() != StatusCode::OK {
        return r;
    }
    let hb = &state.heartbeat_journal;
    if let Err(e) = hb.written(hb.head()).await {
        return text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n"));
    }
    if emitted {
        return after_ingest(state, r).await;
    }
    r
}

/// A JSON response with Alertmanager's `Cache-Control: no-store`.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => raw(status, "application/json", bytes),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("encoding response: {e}"),
        ),
    }
}

/// A response with a body and content type.
pub(crate) fn raw(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = content_type.parse() {
        h.insert("content-type", v);
    }
    h.insert(
        "cache-control",
        warp::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: &str) -> Response {
    raw(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}

/// go-swagger's error shape: `{"code":N,"message":"..."}`.
pub(crate) fn swagger_error(status: StatusCode, code: u16, message: &str) -> Response {
    #[derive(Serialize)]
    struct E<'a> {
        code: u16,
        message: &'a str,
    }
    json(status, &E { code, message })
}

/// One request as the router sees it.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub remote: Option<std::net::SocketAddr>,
}

/// The most of a refused body read (and thrown away) before answering: a client that sent it
/// whole gets the answer, where closing on unread data would reset the connection under it.
const DRAIN_BYTES: usize = 256 << 20;

/// Reads and drops the rest of a refused body, up to [`DRAIN_BYTES`] and while it keeps coming.
async fn drain(
    mut stream: impl futures_util::Stream<Item = Result<impl bytes::Buf, warp::Error>> + Unpin,
    idle: std::time::Duration,
) {
    let mut left = DRAIN_BYTES;
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(idle, stream.next()).await {
        let Some(rest) = left.checked_sub(chunk.remaining()) else {
            return;
        };
        left = rest;
    }
}

/// Reads the body, up to `--web.max-request-bytes` (413) and with at most
/// `--web.read-header-timeout` between two pieces (408); both refusals name their flag, are
/// counted, and come in Alertmanager's JSON error shape under `/api/v2`.
async fn read_body(
    state: &ApiState,
    path: &str,
    headers: &HeaderMap,
    mut stream: impl futures_util::Stream<Item = Result<impl bytes::Buf, warp::Error>> + Unpin,
) -> Result<Bytes, Response> {
    let (max, idle) = (state.max_body_bytes, state.body_timeout);
    let too_large = || {
        limits::count(&state.metrics, "web.max-request-bytes");
        limits::refusal(
            path,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body larger than --web.max-request-bytes={max} bytes"),
        )
    };
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        drain(stream, idle).await;
        return Err(too_large());
    }
    // Sized once from the declared length (growing it piece by piece cost the runtime's worker
    // a tenth of its time copying at saturated ingest), up to 4 MiB: a length declared and not
    // sent reserves no more than that.
    let mut out = BytesMut::with_capacity(declared.map_or(0, |n| n.min(4 << 20) as usize));
    loop {
        let next = match tokio::time::timeout(idle, stream.next()).await {
            Ok(n) => n,
            Err(_) => {
                limits::count(&state.metrics, "web.read-header-timeout");
                return Err(limits::refusal(
                    path,
                    StatusCode::REQUEST_TIMEOUT,
                    &format!(
                        "request body not received: nothing for {} (--web.read-header-timeout)",
                        crate::model::Duration(idle)
                    ),
                ));
            }
        };
        let Some(chunk) = next else { break };
        let mut chunk = chunk.map_err(|e| {
            // hyper's reason (a malformed chunk, a body cut short) is in the source chain.
            let mut why = format!("reading the request body: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why = format!("{why}: {s}");
                source = s.source();
            }
            limits::refusal(path, StatusCode::BAD_REQUEST, &why)
        })?;
        if out.len() + chunk.remaining() > max {
            drop(out);
            drain(stream, idle).await;
            return Err(too_large());
        }
        while chunk.has_remaining() {
            let c = chunk.chunk();
            out.extend_from_slice(c);
            let n = c.len();
            chunk.advance(n);
        }
    }
    Ok(out.freeze())
}

/// `--web.ingest-rate-limit`'s 429 for a client over its rate.
fn ingest_refused(state: &ApiState, req: &Req) -> Option<Response> {
    let ip = req.remote?.ip();
    let wait = state.ingest_rate.check(ip).err()?;
    limits::count(&state.metrics, "web.ingest-rate-limit");
    Some(state.ingest_rate.refusal(wait))
}

/// The whole HTTP surface as one warp filter.
pub fn routes(
    state: Arc<ApiState>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(
            warp::addr::remote()
                .and(warp::ext::optional::<server::Peer>())
                .map(|a: Option<std::net::SocketAddr>, p: Option<server::Peer>| {
                    a.or(p.map(|p| p.0))
                }),
        )
        .and(warp::body::stream())
        .then(
            move |method, path: warp::path::FullPath, query, headers, remote, body| {
                let state = Arc::clone(&state);
                async move {
                    let handle = async {
                        let body = match read_body(&state, path.as_str(), &headers, Box::pin(body))
                            .await
                        {
                            Ok(b) => b,
                            Err(r) => return r,
                        };
                        let req = Req {
                            method,
                            path: path.as_str().to_owned(),
                            query,
                            headers,
                            body,
                            remote,
                        };
                        let write = !matches!(req.method, Method::GET | Method::HEAD);
                        let r = route(&state, req).await;
                        if write && r.status().is_success() {
                            state.live.changed();
                        }
                        r
                    };
                    match state.timeout {
                        Some(t) => match tokio::time::timeout(t, handle).await {
                            Ok(r) => r,
                            Err(_) => text(
                                StatusCode::SERVICE_UNAVAILABLE,
                                &format!(
                                    "request took longer than --web.timeout={}",
                                    crate::model::Duration(t)
                                ),
                            ),
                        },
                        None => handle.await,
                    }
                }
            },
        )
}

/// The on-call pages (`crate::web`), rendered on the blocking pool: a page over many alerts
/// must not hold a runtime worker.
async fn pages(state: &ApiState, req: &Req) -> Response {
    let src = crate::web::Sources {
        store: Arc::clone(&state.store),
        dispatcher: state.dispatcher.clone(),
        silences: Arc::clone(&state.silences),
        inhibitor: Arc::clone(&state.inhibitor),
        heartbeats: Arc::clone(&state.heartbeats),
        config: state.config(),
        metrics: Arc::clone(&state.metrics),
        started: state.started,
        external_url: state.external_url.clone(),
        journal: state.journal.clone(),
        nflog: Arc::clone(&state.nflog),
        live: state.live.clone(),
        cluster: state.cluster.as_ref().map(|rx| rx.borrow().clone()),
    };
    if crate::web::is_events(&req.path) {
        return crate::web::events(&src);
    }
    let (path, query) = (req.path.clone(), req.query.clone());
    tokio::task::spawn_blocking(move || crate::web::serve(&src, &path, &query))
        .await
        .unwrap_or_else(|e| {
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("rendering {}: {e}", req.path),
            )
        })
}

/// `302 Found` to `location` (Alertmanager sends `/` to the route prefix so).
fn redirect(location: &str) -> Response {
    let mut r = text(StatusCode::FOUND, "");
    if let Ok(v) = warp::http::HeaderValue::from_str(location) {
        r.headers_mut().insert("location", v);
    }
    r
}

const V1_GONE: &str = "The Alertmanager v1 API was deprecated in version 0.16.0 and is removed as of version 0.27.0 - please use the equivalent route in the v2 API";

/// Bodies above this size are parsed on the ingest pool, so a burst of large ingest batches
/// cannot hold every runtime worker while a small request (a new alert that must notify at once,
/// a health check) waits behind them.
const BLOCKING_BODY_BYTES: usize = 16 << 10;

/// Runs an ingest handler: a large body on the ingest pool, a small one here. The pool thread
/// is given back before the answer waits for the disk: requests waiting for one fsync must not
/// keep others from parsing (they share that fsync).
async fn ingest(
    state: &Arc<ApiState>,
    req: Req,
    post: fn(&ApiState, &Req) -> Response,
) -> Response {
    if req.body.len() <= BLOCKING_BODY_BYTES {
        return post(state, &req);
    }
    let st = Arc::clone(state);
    state
        .ingest_pool
        .run(move || post(&st, &req))
        .await
        .unwrap_or_else(|e| {
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("ingest failed: {e}"),
            )
        })
}

async fn route(state: &Arc<ApiState>, mut req: Req) -> Response {
    if !state.route_prefix.is_empty() {
        let prefix = &state.route_prefix;
        match req.path.strip_prefix(prefix.as_str()) {
            Some(rest) if rest.starts_with('/') => req.path = rest.to_owned(),
            // The pages' links are relative: the root page must be asked for with its slash.
            Some("") | None
                if (req.path == *prefix || req.path == "/")
                    && (req.method == Method::GET || req.method == Method::HEAD) =>
            {
                return redirect(&format!("{prefix}/"));
            }
            _ => return text(StatusCode::NOT_FOUND, "404 page not found"),
        }
    }
    let path = req.path.trim_end_matches('/');
    let m = &req.method;
    let get = m == Method::GET || m == Method::HEAD;
    if m == Method::POST
        && matches!(path, "/api/v2/alerts" | "/api/tocsin/v1/webhook")
        && let Some(refused) = ingest_refused(state, &req)
    {
        return refused;
    }
    // Reads of the API share `--web.get-concurrency` slots; health checks and metrics do not,
    // so no read load can make a liveness probe fail.
    let permit = if get && path.starts_with("/api/v2/") {
        match Arc::clone(&state.get_slots).try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                state.metrics.http_concurrency_limit_exceeded.inc();
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "Limit of concurrent GET requests reached ({}), try again later.\n",
                        state.get_limit
                    ),
                );
            }
        }
    } else {
        None
    };
    match path {
        "/api/v2/alerts" if m == Method::POST => {
            let r = ingest(state, req, alerts::post).await;
            after_ingest(state, r).await
        }
        "/api/v2/alerts" if get => v2read::get_alerts(state, &req, permit),
        "/api/v2/alerts/groups" if get => v2read::get_groups(state, &req, permit),
        "/api/v2/status" if get => v2read::status(state),
        "/api/v2/receivers" if get => v2read::receivers(state),
        "/api/v2/silences" if m == Method::POST => silences::post(state, &req).await,
        "/api/v2/silences" if get => silences::list(state, &req),
        p if p.starts_with("/api/v2/silence/") => {
            let id = &p["/api/v2/silence/".len()..];
            match *m {
                Method::GET | Method::HEAD => silences::get(state, id),
                Method::DELETE => silences::delete(state, id).await,
                _ => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
            }
        }
        p if p.starts_with("/api/v1/") || p == "/api/v1" => {
            #[derive(Serialize)]
            struct Gone {
                status: &'static str,
                error: &'static str,
            }
            json(
                StatusCode::GONE,
                &Gone {
                    status: "deprecated",
                    error: V1_GONE,
                },
            )
        }
        "/api/tocsin/v1/webhook" if m == Method::POST => {
            let r = ingest(state, req, alerts::post_webhook).await;
            after_ingest(state, r).await
        }
        "/api/tocsin/v1/templates/render" if m == Method::POST => preview::render(state, &req),
        // A ping is answered once the check's new state is stored (and the alert it raised or
        // resolved, if any).
        p if p.starts_with("/ping/") => {
            let (r, emitted) = heartbeats::ping(state, &req, &p["/ping/".len()..]);
            after_ping(state, r, emitted).await
        }
        "/api/tocsin/v1/notifications" if get => notifications::list(state, &req),
        "/api/tocsin/v1/delivery" if get => delivery::get(state, &req),
        "/api/tocsin/v1/heartbeats" => heartbeats::admin(state, &req, ""),
        p if p.starts_with("/api/tocsin/v1/heartbeats/") => {
            heartbeats::admin(state, &req, &p["/api/tocsin/v1/heartbeats/".len()..])
        }
        "/-/healthy" if get => text(StatusCode::OK, "OK"),
        // Ready only while the store takes writes (a load balancer sends writes elsewhere)
        // and once the cluster settled (synced with the peers, or --cluster.settle-timeout).
        "/-/ready" if get => match state.journal.health() {
            Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
            Ok(()) if cluster_settling(state) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the cluster is settling: waiting for the first sync with the peers (at most --cluster.settle-timeout)\n",
            ),
            Ok(()) => text(StatusCode::OK, "OK"),
        },
        "/-/reload" if m == Method::POST => ops::reload(state).await,
        "/metrics" if get => ops::metrics(state, &req.headers),
        _ if get && crate::web::is_page(&req.path) => pages(state, &req).await,
        "/api/v2/alerts"
        | "/api/v2/alerts/groups"
        | "/api/v2/status"
        | "/api/v2/receivers"
        | "/api/v2/silences"
        | "/api/tocsin/v1/webhook"
        | "/api/tocsin/v1/notifications"
        | "/api/tocsin/v1/delivery"
        | "/-/healthy"
        | "/-/ready"
        | "/-/reload"
        | "/metrics" => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}
