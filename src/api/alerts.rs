//! Alert ingest: `POST /api/v2/alerts` with Alertmanager's defaults, validation, best-effort
//! insert and status codes (reference §1.2), and `POST /api/tocsin/v1/webhook`, which takes an
//! Alertmanager webhook payload (v4) so another Alertmanager or Grafana can forward to us.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::uri::is_request_uri;
use super::{ApiState, Req, json, raw, swagger_error};
use crate::clock;
use crate::model::{Alert, LabelSet, NameValidation};

/// One element of the POST body.
#[derive(Deserialize)]
pub(super) struct Postable {
    labels: Option<LabelSet>,
    #[serde(default)]
    annotations: Option<LabelSet>,
    #[serde(rename = "startsAt", default)]
    starts_at: Option<Timestamp>,
    #[serde(rename = "endsAt", default)]
    ends_at: Option<Timestamp>,
    #[serde(rename = "generatorURL", default)]
    generator_url: Option<String>,
}

/// Go's zero time: treated as "not set".
fn non_zero(t: Option<Timestamp>) -> Option<Timestamp> {
    t.filter(|t| t.as_second() != -62135596800)
}

/// 415 unless the body is declared JSON, as go-swagger answers.
pub(super) fn media_type_ok(req: &Req) -> Result<(), Response> {
    let ct = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(swagger_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        415,
        &format!("unsupported media type {media:?}, only [application/json] are allowed"),
    ))
}

/// Go's JSON decoder turns each byte that is not part of valid UTF-8 into U+FFFD (one per
/// byte, where Rust's lossy conversion would merge a truncated sequence into one).
fn go_lossy_utf8(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{FFFD}');
                bytes = &bad[1..];
            }
        }
    }
}

/// Reads a POST body as go-swagger does: an empty body is 422 "required", `null` is an empty
/// list, and invalid UTF-8 inside strings is replaced rather than refused.
pub(super) fn parse_postables(body: &[u8], what: &str) -> Result<Vec<Postable>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(swagger_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            &format!("{what} in body is required"),
        ));
    }
    let parsed = match serde_json::from_slice::<Option<Courteous<Postable>>>(body) {
        Err(e) if std::str::from_utf8(body).is_err() => {
            serde_json::from_str(&go_lossy_utf8(body)).map_err(|_| e)
        }
        r => r,
    };
    parsed
        .map(|p| p.map(|c| c.0).unwrap_or_default())
        .map_err(|e| parse_error(&e))
}

/// A list decoded like `Vec<T>` (same errors), with a courtesy call between two items
/// ([`crate::workers::courtesy`]): a large batch takes a pool thread about a millisecond to
/// decode, which would otherwise keep a request thread waiting for the core that long.
struct Courteous<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Courteous<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Items<T> {
            type Value = Courteous<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                loop {
                    crate::workers::courtesy();
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => return Ok(Courteous(items)),
                    }
                }
            }
        }
        d.deserialize_seq(Items(std::marker::PhantomData))
    }
}

/// Applies Alertmanager's defaults and validation to one alert.
pub(super) fn build(
    p: Postable,
    now: Timestamp,
    resolve_timeout: SignedDuration,
    intern: impl Fn(&str) -> std::sync::Arc<str>,
) -> Result<Alert, String> {
    let mut labels = p.labels.unwrap_or_default();
    labels.remove_empty();
    let starts = non_zero(p.starts_at);
    let ends = non_zero(p.ends_at);
    let starts_at = starts.or(ends).unwrap_or(now);
    let (ends_at, timeout) = match ends {
        Some(e) => (e, false),
        None => (now.checked_add(resolve_timeout).unwrap_or(now), true),
    };
    if ends.is_some_and(|e| e < starts_at) {
        return Err("start time must be before end time".into());
    }
    labels
        .validate(NameValidation::Utf8)
        .map_err(|e| format!("invalid label set: {e}"))?;
    if labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    let annotations = p.annotations.unwrap_or_default();
    annotations
        .validate(NameValidation::Utf8)
        .map_err(|e| format!("invalid annotations: {e}"))?;
    Ok(Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations,
        starts_at,
        ends_at,
        generator_url: intern(p.generator_url.as_deref().unwrap_or("")),
        updated_at: now,
        timeout,
    })
}

/// Hands stored alerts to inhibition and dispatch (API ingest and heartbeat alerts alike).
pub(super) fn deliver(state: &ApiState, stored: &[std::sync::Arc<Alert>], now: Timestamp) {
    let released = state.inhibitor.observe(stored, now);
    state.dispatcher.ingest(stored);
    // An inhibiting alert resolved: its targets notify now, not at their next tick.
    state.dispatcher.flush_released(&state.inhibitor, &released);
}

/// 413 for a batch over `--alerts.max-per-request`, naming the limit.
fn too_many(state: &ApiState, path: &str, n: usize) -> Result<(), Response> {
    let max = state.limits.max_alerts;
    if max == 0 || n <= max {
        return Ok(());
    }
    super::limits::count(&state.metrics, "alerts.max-per-request");
    Err(super::limits::refusal(
        path,
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("{n} alerts in one request, more than --alerts.max-per-request={max}"),
    ))
}

/// Validates, stores and dispatches; answers 200, or 400 listing the invalid alerts (the valid
/// ones are kept, as Alertmanager does). An alert over the label limits is one of the invalid
/// ones; a new alert over `--alerts.per-alertname-limit` is dropped with a warning and the
/// answer stays 200, as in Alertmanager.
fn ingest(state: &ApiState, postables: Vec<Postable>) -> Response {
    let now = clock::now();
    let cfg = state.config();
    let resolve_timeout = SignedDuration::try_from(cfg.global.resolve_timeout.std())
        .unwrap_or(SignedDuration::from_mins(5));
    let mut errors = Vec::new();
    let mut stored = Vec::with_capacity(postables.len());
    let (mut firing, mut resolved) = (0u64, 0u64);
    for p in postables {
        crate::workers::courtesy();
        let counts_firing = non_zero(p.ends_at).is_none_or(|e| e > now);
        if counts_firing {
            firing += 1;
        } else {
            resolved += 1;
        }
        let built = build(p, now, resolve_timeout, |s| state.store.intern(s)).and_then(|a| {
            state
                .limits
                .check_labels(&a.labels)
                .map(|()| a)
                .map_err(|e| {
                    let flag = if e.contains("max-labels") {
                        "alerts.max-labels"
                    } else {
                        "alerts.max-label-bytes"
                    };
                    super::limits::count(&state.metrics, flag);
                    format!("invalid label set: {e}")
                })
        });
        match built {
            Ok(a) if !state.per_alertname.admit(&a, now) => {
                state.metrics.alerts_limited.inc();
                tracing::warn!(
                    alertname = a.labels.get("alertname"),
                    limit = state.per_alertname.limit(),
                    "Alert dropped: its alertname has as many firing alerts as \
                     --alerts.per-alertname-limit allows."
                );
            }
            Ok(a) => stored.push(state.store.put(a, now)),
            Err(e) => errors.push(e),
        }
    }
    let m = &state.metrics;
    let v2 = |status: &str| vec![("status", status.to_owned()), ("version", "v2".to_owned())];
    m.alerts_received
        .get_or_create(&v2("firing"))
        .inc_by(firing);
    m.alerts_received
        .get_or_create(&v2("resolved"))
        .inc_by(resolved);
    if !errors.is_empty() {
        m.alerts_invalid
            .get_or_create(&vec![("version", "v2".to_owned())])
            .inc_by(errors.len() as u64);
    }
    deliver(state, &stored, now);
    let fed = state.heartbeats.observe_alerts(&stored, now);
    super::heartbeats::emit(state, fed);
    if errors.is_empty() {
        raw(StatusCode::OK, "application/json", Vec::new())
    } else {
        json(StatusCode::BAD_REQUEST, &errors.join("; "))
    }
}

fn parse_error(e: &serde_json::Error) -> Response {
    swagger_error(
        StatusCode::BAD_REQUEST,
        400,
        &format!("parsing alerts body from \"\" failed, because {e}"),
    )
}

/// `POST /api/v2/alerts`.
pub(super) fn post(state: &ApiState, req: &Req) -> Response {
    if let Err(r) = media_type_ok(req) {
        return r;
    }
    let postables = match parse_postables(&req.body, "alerts") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = too_many(state, &req.path, postables.len()) {
        return r;
    }
    for (i, p) in postables.iter().enumerate() {
        if p.labels.is_none() {
            return swagger_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                602,
                &format!("{i}.labels in body is required"),
            );
        }
        if let Some(u) = p
            .generator_url
            .as_deref()
            .filter(|u| !u.is_empty() && !is_request_uri(u))
        {
            return swagger_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                601,
                &format!(
                    "{i}.generatorURL in body must be of type uri: {}",
                    crate::model::go_quote(u)
                ),
            );
        }
    }
    ingest(state, postables)
}

/// The parts of an Alertmanager webhook payload (v4) we ingest.
#[derive(Deserialize)]
struct WebhookPayload {
    version: Option<String>,
    alerts: Vec<Postable>,
}

/// `POST /api/tocsin/v1/webhook`: an Alertmanager webhook body; its alerts are ingested as if
/// POSTed to `/api/v2/alerts` (a firing alert's zero `endsAt` counts as unset).
pub(super) fn post_webhook(state: &ApiState, req: &Req) -> Response {
    if let Err(r) = media_type_ok(req) {
        return r;
    }
    let payload: WebhookPayload = match serde_json::from_slice(&req.body) {
        Ok(p) => p,
        Err(e) => {
            return swagger_error(
                StatusCode::BAD_REQUEST,
                400,
                &format!("not an Alertmanager webhook payload: {e}"),
            );
        }
    };
    if payload.version.as_deref().is_some_and(|v| v != "4") {
        return swagger_error(
            StatusCode::BAD_REQUEST,
            400,
            &format!(
                "unsupported webhook payload version {:?}; tocsin reads version \"4\"",
                payload.version.unwrap_or_default()
            ),
        );
    }
    if let Err(r) = too_many(state, &req.path, payload.alerts.len()) {
        return r;
    }
    for (i, p) in payload.alerts.iter().enumerate() {
        if p.labels.is_none() {
            return swagger_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                602,
                &format!("alerts.{i}.labels in body is required"),
            );
        }
    }
    ingest(state, payload.alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn postable(json: &str) -> Postable {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn invalid_utf8_becomes_one_replacement_per_byte() {
        assert_eq!(
            go_lossy_utf8(b"a\xffb\xe2\x82c"),
            "a\u{FFFD}b\u{FFFD}\u{FFFD}c"
        );
        assert_eq!(go_lossy_utf8("ok ✓".as_bytes()), "ok ✓");
        let p = parse_postables(b"[{\"labels\":{\"a\":\"x\xffy\"}}]", "alerts")
            .ok()
            .unwrap();
        assert_eq!(p[0].labels.as_ref().unwrap().get("a"), "x\u{FFFD}y");
    }

    #[test]
    fn empty_and_null_bodies() {
        assert_eq!(
            parse_postables(b" \n", "alerts").err().unwrap().status(),
            422
        );
        assert!(parse_postables(b"null", "alerts").ok().unwrap().is_empty());
        assert_eq!(
            parse_postables(b"{}", "alerts").err().unwrap().status(),
            400
        );
    }

    #[test]
    fn defaults_and_validation() {
        let now = ts("2026-01-01T00:00:00Z");
        let rt = SignedDuration::from_mins(5);
        let a = build(
            postable(r#"{"labels":{"a":"1","b":""}}"#),
            now,
            rt,
            |s: &str| std::sync::Arc::from(s),
        )
        .unwrap();
        assert_eq!(a.starts_at, now);
        assert_eq!(a.ends_at, ts("2026-01-01T00:05:00Z"));
        assert!(a.timeout);
        assert_eq!(a.labels.len(), 1, "empty labels are dropped");
        let only_end = build(
            postable(r#"{"labels":{"a":"1"},"endsAt":"2025-12-31T00:00:00Z"}"#),
            now,
            rt,
            |s: &str| std::sync::Arc::from(s),
        )
        .unwrap();
        assert_eq!(
            only_end.starts_at, only_end.ends_at,
            "startsAt defaults to endsAt"
        );
        let zero = build(
            postable(r#"{"labels":{"a":"1"},"endsAt":"0001-01-01T00:00:00Z"}"#),
            now,
            rt,
            |s: &str| std::sync::Arc::from(s),
        )
        .unwrap();
        assert!(zero.timeout, "Go's zero time counts as unset");
        let errs = [
            (r#"{"labels":{}}"#, "at least one label pair required"),
            (r#"{"labels":{"a":""}}"#, "at least one label pair required"),
            (
                r#"{"labels":{"a":"1"},"startsAt":"2026-01-02T00:00:00Z","endsAt":"2026-01-01T00:00:00Z"}"#,
                "start time must be before end time",
            ),
        ];
        for (body, want) in errs {
            assert_eq!(
                build(postable(body), now, rt, |s: &str| std::sync::Arc::from(s)).unwrap_err(),
                want,
                "{body}"
            );
        }
    }
}
