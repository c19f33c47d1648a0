//! Silences in API v2 (reference §1.4): `POST /api/v2/silences` (create, update in place or
//! replace), `GET /api/v2/silences` (`filter`, and 0.34's `active`/`pending`/`expired`; sorted
//! active by end, pending by start, expired by end descending), `GET` and `DELETE
//! /api/v2/silence/{id}`. Status codes and messages are Alertmanager's: go-swagger's 422 for a
//! missing field (checked in its order) or a non-UUID id, 400 with a JSON string for a refused
//! silence, 404 for an unknown id.
//!
//! Our extension: `"duration": "2h"` instead of `endsAt` (from `startsAt`, or now).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;

use super::v2read::url_decode;
use super::{ApiState, Req, json, raw, swagger_error};
use crate::clock;
use crate::model::{Duration, LabelSet, Matcher, parse_filter_matcher};
use crate::silence::{
    Silence, SilenceError, SilenceState, WireMatcher, build_matchers, check_times, is_uuid,
};

/// A matcher in a POST body: every field optional so a missing one gets go-swagger's 422.
#[derive(Deserialize)]
struct PostableMatcher {
    name: Option<String>,
    value: Option<String>,
    #[serde(rename = "isRegex")]
    is_regex: Option<bool>,
    #[serde(rename = "isEqual")]
    is_equal: Option<bool>,
}

/// The POST body.
#[derive(Deserialize)]
struct PostableSilence {
    id: Option<String>,
    matchers: Option<Vec<PostableMatcher>>,
    #[serde(rename = "startsAt")]
    starts_at: Option<Timestamp>,
    #[serde(rename = "endsAt")]
    ends_at: Option<Timestamp>,
    #[serde(rename = "createdBy")]
    created_by: Option<String>,
    comment: Option<String>,
    annotations: Option<BTreeMap<String, String>>,
    /// tocsin: instead of `endsAt`.
    duration: Option<String>,
}

fn unprocessable(message: &str) -> Response {
    swagger_error(StatusCode::UNPROCESSABLE_ENTITY, 602, message)
}

fn bad_request(message: &str) -> Response {
    json(StatusCode::BAD_REQUEST, &message)
}

fn empty(status: StatusCode) -> Response {
    let mut r = raw(status, "application/json", Vec::new());
    r.headers_mut().remove("content-type");
    r
}

/// 404 for an unknown id. Alertmanager's GET and DELETE answer it with an empty body; ours says
/// why, in the JSON string its POST uses (clients read no payload from a 404 here).
fn not_found() -> Response {
    json(StatusCode::NOT_FOUND, &"silence not found")
}

/// The answer to a refused change.
fn refused(e: &SilenceError) -> Response {
    match e {
        SilenceError::NotFound => json(StatusCode::NOT_FOUND, &e.to_string()),
        _ => bad_request(&e.to_string()),
    }
}

/// Required fields in go-swagger's order: comment, createdBy, endsAt, matchers (each matcher's
/// isRegex, name, value), startsAt. With `duration`, endsAt and startsAt may be left out.
fn required(p: &PostableSilence) -> Result<(), Response> {
    let with_duration = p.duration.is_some();
    if p.comment.is_none() {
        return Err(unprocessable("comment in body is required"));
    }
    if p.created_by.is_none() {
        return Err(unprocessable("createdBy in body is required"));
    }
    if p.ends_at.is_none() && !with_duration {
        return Err(unprocessable("endsAt in body is required"));
    }
    let Some(ms) = &p.matchers else {
        return Err(unprocessable("matchers in body is required"));
    };
    if ms.is_empty() {
        return Err(swagger_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            612,
            "matchers in body should have at least 1 items",
        ));
    }
    for (i, m) in ms.iter().enumerate() {
        let missing = [
            ("isRegex", m.is_regex.is_none()),
            ("name", m.name.is_none()),
            ("value", m.value.is_none()),
        ];
        if let Some((field, _)) = missing.iter().find(|(_, gone)| *gone) {
            return Err(unprocessable(&format!(
                "matchers.{i}.{field} in body is required"
            )));
        }
    }
    if p.starts_at.is_none() && !with_duration {
        return Err(unprocessable("startsAt in body is required"));
    }
    Ok(())
}

/// Waits until storage holds the change just made; a store that cannot take writes makes the
/// answer a 503 with the reason (the change holds in memory and is written once the store
/// recovers, but it was not acknowledged).
async fn saved(state: &ApiState) -> Result<(), Response> {
    super::durable(state).await
}

/// Reads a POST body into the silence it asks for, as Alertmanager reads it (go-swagger's
/// required fields, then the times and matchers); the store validates the rest.
pub(crate) fn parse_post(body: &[u8], now: Timestamp) -> Result<Silence, Response> {
    // As go-swagger reads the body: none at all is a missing parameter, `null` an empty object.
    let body: &[u8] = match body.trim_ascii() {
        b"" => return Err(unprocessable("silence in body is required")),
        b"null" => b"{}",
        b => b,
    };
    let p: PostableSilence = serde_json::from_slice(body).map_err(|e| {
        swagger_error(
            StatusCode::BAD_REQUEST,
            400,
            &format!("parsing silence body from \"\" failed, because {e}"),
        )
    })?;
    required(&p)?;
    let starts_at = p.starts_at.unwrap_or(now);
    let ends_at = match (p.ends_at, p.duration.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(bad_request("give either endsAt or duration, not both"));
        }
        (Some(e), None) => e,
        (None, Some(d)) => match Duration::parse(d) {
            Ok(d) => {
                let d = SignedDuration::try_from(d.std()).unwrap_or(SignedDuration::MAX);
                match starts_at.checked_add(d) {
                    Ok(e) => e,
                    Err(_) => return Err(bad_request(&format!("duration {d:?} is too long"))),
                }
            }
            Err(e) => return Err(bad_request(&format!("invalid duration {d:?}: {e}"))),
        },
        (None, None) => return Err(unprocessable("endsAt in body is required")),
    };
    check_times(starts_at, ends_at, now).map_err(|e| bad_request(&e.to_string()))?;
    let wire: Vec<WireMatcher> = p
        .matchers
        .unwrap_or_default()
        .into_iter()
        .map(|m| WireMatcher {
            name: m.name.unwrap_or_default(),
            value: m.value.unwrap_or_default(),
            is_regex: m.is_regex.unwrap_or(false),
            is_equal: m.is_equal.unwrap_or(true),
        })
        .collect();
    let matchers = build_matchers(&wire).map_err(|e| refused(&e))?;
    Ok(Silence {
        id: Arc::from(p.id.unwrap_or_default()),
        matchers,
        starts_at,
        ends_at,
        updated_at: now,
        created_by: p.created_by.unwrap_or_default(),
        comment: p.comment.unwrap_or_default(),
        annotations: p
            .annotations
            .unwrap_or_default()
            .into_iter()
            .collect::<LabelSet>(),
    })
}

/// `POST /api/v2/silences`.
pub(super) async fn post(state: &ApiState, req: &Req) -> Response {
    if let Err(r) = super::alerts::media_type_ok(req) {
        return r;
    }
    let now = clock::now();
    let silence = match parse_post(&req.body, now) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let replaces = state.silences.get(&silence.id);
    let changed = silence.clone();
    match state.silences.set(silence, now) {
        Ok((id, _)) => {
            let stored = saved(state).await;
            // A replaced silence ended, an updated one may end sooner: its groups look again.
            wake_groups(state, &changed);
            if let Some(old) = replaces.filter(|o| o.id != id) {
                wake_groups(state, &old);
            }
            if let Err(r) = stored {
                return r;
            }
            #[derive(Serialize)]
            struct Created<'a> {
                #[serde(rename = "silenceID")]
                silence_id: &'a str,
            }
            json(StatusCode::OK, &Created { silence_id: &id })
        }
        Err(e) => refused(&e),
    }
}

/// A silence as GET returns it (go-swagger's field order).
#[derive(Serialize)]
struct Gettable<'a> {
    id: &'a str,
    status: Status,
    #[serde(rename = "updatedAt", serialize_with = "super::v2read::millis")]
    updated_at: Timestamp,
    #[serde(skip_serializing_if = "is_empty_labels")]
    annotations: &'a LabelSet,
    comment: &'a str,
    #[serde(rename = "createdBy")]
    created_by: &'a str,
    #[serde(rename = "endsAt", serialize_with = "super::v2read::millis")]
    ends_at: Timestamp,
    #[serde(serialize_with = "wire_matchers")]
    matchers: &'a [Matcher],
    #[serde(rename = "startsAt", serialize_with = "super::v2read::millis")]
    starts_at: Timestamp,
}

/// A silence's matchers as the API writes them (written one by one, not collected first).
fn wire_matchers<S: serde::Serializer>(ms: &&[Matcher], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(ms.iter().map(|m| WireOut {
        is_equal: m.op.is_equal(),
        is_regex: m.op.is_regex(),
        name: &m.name,
        value: &m.value,
    }))
}

fn is_empty_labels(l: &&LabelSet) -> bool {
    l.is_empty()
}

#[derive(Serialize)]
struct Status {
    state: &'static str,
}

#[derive(Serialize)]
struct WireOut<'a> {
    #[serde(rename = "isEqual")]
    is_equal: bool,
    #[serde(rename = "isRegex")]
    is_regex: bool,
    name: &'a str,
    value: &'a str,
}

fn gettable(s: &Silence, now: Timestamp) -> Gettable<'_> {
    Gettable {
        id: &s.id,
        status: Status {
            state: s.state(now).as_str(),
        },
        updated_at: s.updated_at,
        annotations: &s.annotations,
        comment: &s.comment,
        created_by: &s.created_by,
        ends_at: s.ends_at,
        matchers: &s.matchers,
        starts_at: s.starts_at,
    }
}

/// Alertmanager's filter rule: every filter matcher equals (name, operator, value) one of the
/// silence's matchers.
fn filter_matches(s: &Silence, filters: &[Matcher]) -> bool {
    filters.iter().all(|f| {
        s.matchers
            .iter()
            .any(|m| m.name == f.name && m.op == f.op && m.value == f.value)
    })
}

/// `GET /api/v2/silences`.
pub(super) fn list(state: &ApiState, req: &Req) -> Response {
    let mut filters = Vec::new();
    let mut want = [true; 3]; // active, pending, expired
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (url_decode(k), url_decode(v));
        match k.as_str() {
            "filter" => match parse_filter_matcher(&v) {
                Ok(m) => filters.push(m),
                Err(e) => return bad_request(&e.to_string()),
            },
            "active" | "pending" | "expired" => {
                let on = match v.as_str() {
                    "true" | "1" | "" => true,
                    "false" | "0" => false,
                    _ => {
                        return swagger_error(
                            StatusCode::BAD_REQUEST,
                            400,
                            &format!("{k} in query must be of type boolean: {v:?}"),
                        );
                    }
                };
                let i = ["active", "pending", "expired"]
                    .iter()
                    .position(|s| *s == k)
                    .unwrap_or(0);
                want[i] = on;
            }
            _ => {}
        }
    }
    let now = clock::now();
    let mut sils: Vec<(SilenceState, Arc<Silence>)> = state
        .silences
        .list()
        .into_iter()
        .map(|s| (s.state(now), s))
        .filter(|(st, s)| want[*st as usize] && filter_matches(s, &filters))
        .collect();
    sils.sort_by(|(sa, a), (sb, b)| {
        sa.cmp(sb)
            .then_with(|| match sa {
                SilenceState::Active => a.ends_at.cmp(&b.ends_at),
                SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
                SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    let body = state.silence_json.write(&sils);
    raw(StatusCode::OK, "application/json", body)
}

/// Each silence's JSON for `GET /api/v2/silences`, made when the silence is first listed and
/// kept while it is unchanged (a changed silence is a new `Arc`; the cache holds the old one,
/// so its address is not reused while cached): a list of 10,000 silences is then copied, not
/// encoded. The state, which time changes, is put between the two parts at each GET.
#[derive(Default)]
pub struct JsonCache {
    entries: Mutex<HashMap<usize, Cached>>,
}

struct Cached {
    /// The silence (kept so that its address stays its own).
    silence: Arc<Silence>,
    /// The JSON up to the state's value, and the rest.
    json: Box<[u8]>,
    split: usize,
}

impl JsonCache {
    /// The JSON array of `sils` (in that order, each with its state).
    fn write(&self, sils: &[(SilenceState, Arc<Silence>)]) -> Vec<u8> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut len = 2;
        for (_, s) in sils {
            let e = entries
                .entry(Arc::as_ptr(s) as usize)
                .or_insert_with(|| encode(s));
            len += e.json.len() + 12;
        }
        let mut body = Vec::with_capacity(len);
        body.push(b'[');
        for (i, (st, s)) in sils.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            if let Some(e) = entries.get(&(Arc::as_ptr(s) as usize)) {
                body.extend_from_slice(&e.json[..e.split]);
                body.extend_from_slice(st.as_str().as_bytes());
                body.extend_from_slice(&e.json[e.split..]);
            }
        }
        body.push(b']');
        // Silences gone from the store (only the cache still holds them) are dropped now and
        // then, not at each GET.
        if entries.len() > 2 * sils.len() + 64 {
            entries.retain(|_, e| Arc::strong_count(&e.silence) > 1);
        }
        body
    }
}

/// A silence's JSON with the state's value left out (between the two parts).
fn encode(s: &Arc<Silence>) -> Cached {
    // The state written is a marker, found again to split around it.
    const MARK: &str = "\u{1}state\u{1}";
    let mut g = gettable(s, clock::now());
    g.status.state = MARK;
    let mut json = serde_json::to_vec(&g).unwrap_or_default();
    let marker = serde_json::to_vec(MARK).unwrap_or_default();
    let at = json
        .windows(marker.len())
        .position(|w| w == marker.as_slice())
        .unwrap_or(0);
    // Keep the quotes around the state; drop the marker between them.
    let split = at + 1;
    json.drain(split..at + marker.len() - 1);
    Cached {
        silence: Arc::clone(s),
        json: json.into_boxed_slice(),
        split,
    }
}

/// Flushes now the groups holding an alert `s` matches: when a silence ends early (expired,
/// replaced) a still-firing alert is notified at once, not at the repeat interval.
fn wake_groups(state: &ApiState, s: &Silence) {
    state
        .dispatcher
        .flush_now_where(|g| g.alerts().any(|a| s.matches(&a.labels)));
}

fn bad_id(id: &str) -> Response {
    swagger_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        601,
        &format!("silenceID in path must be of type uuid: {id:?}"),
    )
}

/// `GET /api/v2/silence/{id}`.
pub(super) fn get(state: &ApiState, id: &str) -> Response {
    if !is_uuid(id) {
        return bad_id(id);
    }
    match state.silences.get(id) {
        Some(s) => json(StatusCode::OK, &gettable(&s, clock::now())),
        None => not_found(),
    }
}

/// `DELETE /api/v2/silence/{id}`: expires it; 404 when unknown (Alertmanager 0.26+).
pub(super) async fn delete(state: &ApiState, id: &str) -> Response {
    if !is_uuid(id) {
        return bad_id(id);
    }
    match state.silences.expire(id, clock::now()) {
        Ok(_) => {
            let stored = saved(state).await;
            if let Some(s) = state.silences.get(id) {
                wake_groups(state, &s);
            }
            if let Err(r) = stored {
                return r;
            }
            empty(StatusCode::OK)
        }
        Err(SilenceError::NotFound) => not_found(),
        Err(e) => json(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time as a silence's `startsAt`, `endsAt` and `updatedAt` print it.
    fn millis(t: Timestamp) -> String {
        let mut out = Vec::new();
        super::super::v2read::millis(&t, &mut serde_json::Serializer::new(&mut out)).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn millisecond_timestamps_like_go_swagger() {
        let t: Timestamp = "2026-12-02T01:23:12.821987Z".parse().unwrap();
        assert_eq!(millis(t), "2026-12-02T01:23:12.821Z");
        let t: Timestamp = "2026-12-02T02:23:12+01:00".parse().unwrap();
        assert_eq!(millis(t), "2026-12-02T01:23:12.000Z");
        // The fast path prints what strftime prints.
        for t in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999999Z",
            "0001-01-01T00:00:00.001Z",
            "9999-12-30T21:59:59.999Z",
        ] {
            let t: Timestamp = t.parse().unwrap();
            assert_eq!(millis(t), t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }

    #[test]
    fn cached_silences_are_written_as_encoded_fresh_with_their_state_now() {
        let now = clock::now();
        let t = |h: i64| now + SignedDuration::from_hours(h);
        let mut ann = LabelSet::new();
        ann.insert("ticket", "\u{1}state\u{1}");
        let sil = |id: &str, starts: i64, ends: i64, comment: &str| {
            Arc::new(Silence {
                id: Arc::from(id),
                matchers: crate::silence::build_matchers(&[WireMatcher {
                    name: "job".into(),
                    value: "a\"b".into(),
                    is_regex: false,
                    is_equal: true,
                }])
                .unwrap(),
                starts_at: t(starts),
                ends_at: t(ends),
                updated_at: t(-2),
                created_by: "me".into(),
                comment: comment.into(),
                annotations: ann.clone(),
            })
        };
        let all = [
            sil("a", -1, 1, "active"),
            sil("b", 1, 2, "pending \u{1}state\u{1}"),
            sil("c", -2, -1, "expired"),
        ];
        let fresh = |sils: &[(SilenceState, Arc<Silence>)], at: Timestamp| {
            let g: Vec<Gettable> = sils.iter().map(|(_, s)| gettable(s, at)).collect();
            serde_json::to_vec(&g).unwrap()
        };
        let cache = JsonCache::default();
        let listed = |at: Timestamp| -> Vec<(SilenceState, Arc<Silence>)> {
            all.iter().map(|s| (s.state(at), Arc::clone(s))).collect()
        };
        let first = cache.write(&listed(now));
        assert_eq!(first, fresh(&listed(now), now));
        // Later, from the cache: the states are those of the later time.
        let later = t(3);
        let again = cache.write(&listed(later));
        assert_eq!(again, fresh(&listed(later), later));
        assert_ne!(again, first);
        // A changed silence is a new Arc, encoded anew.
        let changed = vec![(SilenceState::Active, sil("a", -1, 5, "changed"))];
        assert_eq!(cache.write(&changed), fresh(&changed, now));
    }
}
