//! Heartbeat endpoints: the pings (`/ping/<name>[/start|/fail|/log|/<exit-code>]`, GET, HEAD or
//! POST, answered as healthchecks.io answers) and the admin view under
//! `/api/tocsin/v1/heartbeats` (list, one check, its pings, pause, resume).
//!
//! Pings never need the admin API's credentials; a check with a `token` requires it
//! (`?token=` or `Authorization: Bearer`). What a ping changes enters the pipeline as alerts
//! through [`emit`], the same way the timer loop's do.

use std::sync::Arc;

use jiff::Timestamp;
use warp::http::{HeaderValue, Method, StatusCode};
use warp::reply::Response;

use super::{ApiState, Req, json, text};
use crate::clock;
use crate::heartbeat::{CheckError, Ping, PingKind};
use crate::model::Alert;

/// The most of a ping body kept as the run's message (healthchecks.io self-hosted keeps 10 KB;
/// the issue asks for 100 KB).
pub const PING_BODY_LIMIT: usize = 100_000;

/// Puts alerts produced by heartbeats into the store and hands them to inhibition and dispatch,
/// as API ingest does.
pub fn emit(state: &ApiState, alerts: Vec<Alert>) {
    if alerts.is_empty() {
        return;
    }
    let now = clock::now();
    let stored: Vec<Arc<Alert>> = alerts
        .into_iter()
        .map(|a| state.store.put(a, now))
        .collect();
    super::alerts::deliver(state, &stored, now);
}

fn ping_answer(status: StatusCode, body: &str) -> Response {
    let mut r = text(status, body);
    let h = r.headers_mut();
    h.insert("ping-body-limit", HeaderValue::from(PING_BODY_LIMIT));
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    r
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| super::v2read::url_decode(v))
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `/ping/...`: the answer, and whether the ping raised or resolved an alert (put into the
/// alert store; the caller waits for it too).
pub(super) fn ping(state: &ApiState, req: &Req, rest: &str) -> (Response, bool) {
    let mut emitted = false;
    let r = ping_inner(state, req, rest, &mut emitted);
    (r, emitted)
}

fn ping_inner(state: &ApiState, req: &Req, rest: &str, emitted: &mut bool) -> Response {
    if !matches!(req.method, Method::GET | Method::HEAD | Method::POST) {
        return ping_answer(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let mut parts = rest.split('/');
    let name = parts.next().unwrap_or("");
    let kind = match parts.next() {
        None => PingKind::Success,
        Some("start") => PingKind::Start,
        Some("fail") => PingKind::Fail,
        Some("log") => PingKind::Log,
        Some(code)
            if !code.is_empty() && code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()) =>
        {
            match code.parse::<u8>() {
                Ok(c) => PingKind::Exit(c),
                Err(_) => return ping_answer(StatusCode::BAD_REQUEST, "invalid url format"),
            }
        }
        Some(_) => return ping_answer(StatusCode::BAD_REQUEST, "invalid url format"),
    };
    if parts.next().is_some() || name.is_empty() {
        return ping_answer(StatusCode::BAD_REQUEST, "invalid url format");
    }
    let rid = query_param(&req.query, "rid").filter(|r| !r.is_empty());
    if rid.as_deref().is_some_and(|r| !is_uuid(r)) {
        return ping_answer(StatusCode::BAD_REQUEST, "invalid uuid format");
    }
    let hb = &state.heartbeats;
    let Some(spec) = hb.spec(name) else {
        return ping_answer(StatusCode::NOT_FOUND, "not found");
    };
    if let Some(token) = &spec.token {
        let given = query_param(&req.query, "token").or_else(|| {
            req.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| t.trim().to_owned())
        });
        if !given.is_some_and(|g| same(g.as_bytes(), token.expose().as_bytes())) {
            return ping_answer(StatusCode::UNAUTHORIZED, "bad token");
        }
    }
    let body = &req.body[..req.body.len().min(PING_BODY_LIMIT)];
    let source = req
        .remote
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    let p = Ping {
        kind,
        at: clock::now(),
        rid,
        body: String::from_utf8_lossy(body).into_owned(),
        source,
    };
    match hb.ping(name, &p) {
        Ok(alerts) => {
            *emitted = !alerts.is_empty();
            emit(state, alerts);
            ping_answer(StatusCode::OK, "OK")
        }
        Err(CheckError::NotFound(_)) => ping_answer(StatusCode::NOT_FOUND, "not found"),
    }
}

fn not_found(e: &CheckError) -> Response {
    text(StatusCode::NOT_FOUND, &e.to_string())
}

/// `/api/tocsin/v1/heartbeats[/<name>[/pings|/pause|/resume]]`.
pub(super) fn admin(state: &ApiState, req: &Req, rest: &str) -> Response {
    let now: Timestamp = clock::now();
    let get = matches!(req.method, Method::GET | Method::HEAD);
    let post = req.method == Method::POST;
    let hb = &state.heartbeats;
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) if get => json(StatusCode::OK, &hb.views(now)),
        (Some(name), None, None) if get => match hb.views(now).into_iter().find(|v| v.name == name)
        {
            Some(v) => json(StatusCode::OK, &v),
            None => not_found(&CheckError::NotFound(name.to_owned())),
        },
        (Some(name), Some("pings"), None) if get => match hb.pings(name) {
            Ok(p) => json(StatusCode::OK, &p),
            Err(e) => not_found(&e),
        },
        (Some(name), Some("pause"), None) if post => match hb.pause(name, now) {
            Ok(alerts) => {
                emit(state, alerts);
                text(StatusCode::OK, "paused")
            }
            Err(e) => not_found(&e),
        },
        (Some(name), Some("resume"), None) if post => match hb.resume(name, now) {
            Ok(()) => text(StatusCode::OK, "resumed"),
            Err(e) => not_found(&e),
        },
        (_, Some("pause" | "resume"), None)
        | (Some(_), Some("pings") | None, None)
        | (None, _, _) => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}
