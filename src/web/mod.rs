//! The on-call engineer's pages: what fires (`/`), silences (`/silences`, `/silences/new`),
//! heartbeats (`/heartbeats`, `/heartbeats/<name>`) and status (`/status`), rendered by the
//! daemon with maud (HTML checked at compile time, every value escaped), with a little plain
//! JavaScript (live refresh, the silence buttons) and a style sheet, both embedded in the binary
//! (`assets.rs`): the page fetches nothing from elsewhere and works on an isolated network.
//!
//! Pages only read. What changes state (a silence made or expired, a check paused) is done by the
//! page's script through the API (`/api/v2/silences`, `/api/tocsin/v1/heartbeats`), so the
//! API's validation, persistence and authentication apply to it unchanged.
//!
//! Every link is relative to the page (`root` is `./` or `../`), so the pages work unchanged
//! when served under a route prefix. `/events` streams server-sent events that make an open
//! page refresh when what it shows changed (`events.rs`). The API's router mounts [`serve`] behind its own filter
//! (the same authentication and timeouts as the API). Layer L5: imports L0–L4, never `api`.

mod alerts;
mod assets;
mod events;
mod heartbeats;
mod layout;
mod query;
mod silences;
mod status;

use std::sync::Arc;

use jiff::Timestamp;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

use crate::alerts::AlertStore;
use crate::config::Config;
use crate::dispatch::Dispatcher;
use crate::heartbeat::Heartbeats;
use crate::inhibit::Inhibitor;
use crate::metrics::Metrics;
use crate::silence::Silences;

pub use events::Live;

/// What the pages read: cheap clones of the daemon's shared handles, taken per request, so a
/// page renders on the blocking pool without holding the API's state.
#[derive(Clone)]
pub struct Sources {
    /// The alert store (silence counts and previews).
    pub store: Arc<AlertStore>,
    /// The dispatcher (alert groups as the routing tree made them).
    pub dispatcher: Dispatcher,
    /// The silences.
    pub silences: Arc<Silences>,
    /// The inhibition rules and their source alerts.
    pub inhibitor: Arc<Inhibitor>,
    /// The heartbeat checks.
    pub heartbeats: Arc<Heartbeats>,
    /// The loaded config.
    pub config: Arc<Config>,
    /// The metrics (the last reload's result).
    pub metrics: Arc<Metrics>,
    /// When the daemon started.
    pub started: Timestamp,
    /// `--web.external-url`.
    pub external_url: String,
    /// The storage journal (its health, on the status page).
    pub journal: crate::storage::Journal,
    /// The notification log (who was told about a group).
    pub nflog: Arc<crate::nflog::Nflog>,
    /// The live-refresh hub (`/events`).
    pub live: Live,
    /// The cluster's state when clustered (`--cluster.listen-address`), read at the request.
    pub cluster: Option<crate::cluster::Status>,
}

/// Whether `path` (as requested, before any trailing slash is trimmed) is one of the pages or
/// their assets; the API's router sends these GET and HEAD requests to [`serve`].
pub fn is_page(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    matches!(
        p,
        "" | "/silences" | "/silences/new" | "/heartbeats" | "/status" | "/events"
    ) || p.starts_with("/heartbeats/")
        || p.starts_with("/assets/")
}

/// Whether `path` is the live-refresh stream (answered by [`events`], not on the blocking
/// pool: it is long-lived).
pub fn is_events(path: &str) -> bool {
    path.trim_end_matches('/') == "/events"
}

/// Answers `GET /events`: the pages' live-refresh stream (server-sent events).
pub fn events(src: &Sources) -> Response {
    events::serve(src)
}

/// Answers a GET for one of the pages ([`is_page`]); `path` as requested, `query` the raw query
/// string.
pub fn serve(src: &Sources, path: &str, query: &str) -> Response {
    // Relative links: a page at `/a/b` reaches the root as `../`, whatever prefix is in front.
    let depth = path.trim_start_matches('/').matches('/').count();
    let root = if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    };
    let q = query::Query::parse(query);
    let p = path.trim_end_matches('/');
    let (status, body) = match p {
        "" => alerts::page(src, &q, &root),
        "/silences" => silences::list(src, &q, &root),
        "/silences/new" => silences::form(src, &q, &root),
        "/heartbeats" => heartbeats::list(src, &root),
        "/status" => status::page(src, &root),
        p if p.starts_with("/assets/") => return assets::serve(&p["/assets/".len()..]),
        p => heartbeats::one(src, &query::decode(&p["/heartbeats/".len()..]), &root),
    };
    html(status, body.into_string())
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    // Nothing but our own script and style, and no framing by other sites.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}
