//! `GET /api/tocsin/v1/notifications`: who was told.
//!
//! Without `view`, from the notification log, as before: one entry per group, receiver and
//! integration, the last notification it sent successfully. With `view=history`, from the
//! notification history: every due notification (newest first) with its id, kind, outcome and
//! reason, due and end times, each attempt (time, status code, error) and the ids the service
//! gave back (PagerDuty `dedup_key`, Slack `ts`, Zendesk `ticket_id`), kept for
//! `--data.retention`. Filters: `group` (the group key), `receiver`, `since` and `until` (RFC 3339
//! times, on the send time, or the due time for the history); the history also takes `id`,
//! `integration`, `outcome` (`pending`, `delivered`, `suppressed`, `superseded`, `failed`) and
//! `limit` (default and most [`MAX_LIMIT`]).

use jiff::Timestamp;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::v2read::url_decode;
use super::{ApiState, Req, json};
use crate::nflog::history::{Filter, Outcome};

/// The most history records one answer holds.
pub const MAX_LIMIT: usize = 10_000;

/// One logged notification.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    group_key: String,
    receiver: String,
    integration: String,
    index: usize,
    sent_at: String,
    firing: usize,
    resolved: usize,
    /// What the service gave back (a Zendesk ticket id...).
    receiver_data: std::collections::BTreeMap<String, String>,
}

fn bad(msg: String) -> Response {
    json(StatusCode::BAD_REQUEST, &msg)
}

fn time(k: &str, v: &str) -> Result<Timestamp, Response> {
    v.parse()
        .map_err(|e| bad(format!("{k} {v:?}: not an RFC 3339 time ({e})")))
}

/// A query string's filters, checked.
pub(super) struct Query {
    /// The filter on records (and, for the log, on its entries).
    pub filter: Filter,
    /// `view=history`.
    pub history: bool,
    /// `limit`.
    pub limit: usize,
    /// `within` (the delivery API's bound for a good delivery), if given.
    pub within: Option<std::time::Duration>,
}

/// Reads the filters of `query` (names as the module doc says); a value that does not parse is
/// a 400 naming it.
pub(super) fn parse(query: &str) -> Result<Query, Response> {
    let mut q = Query {
        filter: Filter::default(),
        history: false,
        limit: MAX_LIMIT,
        within: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (url_decode(k), url_decode(v));
        let f = &mut q.filter;
        match k.as_str() {
            "group" => f.group = Some(v),
            "receiver" => f.receiver = Some(v),
            "integration" => f.integration = Some(v),
            "id" => f.id = Some(v),
            "since" => f.since = Some(time(&k, &v)?),
            "until" => f.until = Some(time(&k, &v)?),
            "outcome" => f.outcome = Some(Outcome::parse(&v).ok_or_else(|| {
                bad(format!(
                    "outcome {v:?}: not one of pending, delivered, suppressed, superseded, failed"
                ))
            })?),
            "view" => match v.as_str() {
                "history" => q.history = true,
                "last" | "" => q.history = false,
                _ => return Err(bad(format!("view {v:?}: not one of last, history"))),
            },
            "limit" => {
                q.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        bad(format!("limit {v:?}: not a number from 1 to {MAX_LIMIT}"))
                    })?
            }
            "within" => {
                q.within = Some(
                    v.parse::<crate::model::Duration>()
                        .map_err(|e| bad(format!("within {v:?}: {e}")))?
                        .0,
                )
            }
            _ => {}
        }
    }
    Ok(q)
}

/// `GET /api/tocsin/v1/notifications`, newest first.
pub(super) fn list(state: &ApiState, req: &Req) -> Response {
    let q = match parse(&req.query) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if q.history {
        let records = state.nflog.history().query(&q.filter, q.limit);
        return json(StatusCode::OK, &records);
    }
    let f = &q.filter;
    let mut out: Vec<(Timestamp, Sent)> = state
        .nflog
        .snapshot()
        .into_iter()
        .filter(|(k, e)| {
            f.group.as_ref().is_none_or(|g| *g == k.group_key)
                && f.receiver.as_ref().is_none_or(|r| *r == k.receiver)
                && f.integration.as_ref().is_none_or(|i| *i == k.integration)
                && f.since.is_none_or(|t| e.timestamp >= t)
                && f.until.is_none_or(|t| e.timestamp <= t)
        })
        .map(|(k, e)| {
            (
                e.timestamp,
                Sent {
                    group_key: k.group_key,
                    receiver: k.receiver,
                    integration: k.integration,
                    index: k.index,
                    sent_at: e.timestamp.to_string(),
                    firing: e.firing.len(),
                    resolved: e.resolved.len(),
                    receiver_data: e.receiver_data,
                },
            )
        })
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.0));
    let out: Vec<Sent> = out.into_iter().map(|(_, s)| s).collect();
    json(StatusCode::OK, &out)
}
