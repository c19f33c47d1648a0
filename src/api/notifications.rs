//! `GET /api/tocsin/v1/notifications`: who was told, from the notification log. One entry per
//! group, receiver and integration: the last notification it sent (only successful sends are
//! logged), kept for `--data.retention`. Filters: `group` (the group key), `receiver`, `since`
//! and `until` (RFC 3339 times, on the send time).

use jiff::Timestamp;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::v2read::url_decode;
use super::{ApiState, Req, json};

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

fn time(k: &str, v: &str) -> Result<Timestamp, Response> {
    v.parse().map_err(|e| {
        json(
            StatusCode::BAD_REQUEST,
            &format!("{k} {v:?}: not an RFC 3339 time ({e})"),
        )
    })
}

/// `GET /api/tocsin/v1/notifications`, newest first.
pub(super) fn list(state: &ApiState, req: &Req) -> Response {
    let (mut group, mut receiver, mut since, mut until) = (None, None, None, None);
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (url_decode(k), url_decode(v));
        match k.as_str() {
            "group" => group = Some(v),
            "receiver" => receiver = Some(v),
            "since" => match time(&k, &v) {
                Ok(t) => since = Some(t),
                Err(r) => return r,
            },
            "until" => match time(&k, &v) {
                Ok(t) => until = Some(t),
                Err(r) => return r,
            },
            _ => {}
        }
    }
    let mut out: Vec<(Timestamp, Sent)> = state
        .nflog
        .snapshot()
        .into_iter()
        .filter(|(k, e)| {
            group.as_ref().is_none_or(|g| *g == k.group_key)
                && receiver.as_ref().is_none_or(|r| *r == k.receiver)
                && since.is_none_or(|t| e.timestamp >= t)
                && until.is_none_or(|t| e.timestamp <= t)
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
