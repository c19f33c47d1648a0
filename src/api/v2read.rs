//! The read side of API v2: alerts (with Alertmanager's filters), alert groups, status and
//! receivers (reference §1.3).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use jiff::Timestamp;
use regex::Regex;
use serde::Serialize;
use tokio::sync::OwnedSemaphorePermit;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{ApiState, Req, json, stream};
use crate::clock;
use crate::config::Config;
use crate::dispatch::RouteTree;
use crate::dispatch::route::RouteSettings;
use crate::model::{
    Alert, Fingerprint, LabelSet, Matcher, alert_order, all_match, compile_anchored,
    parse_filter_matcher,
};
use crate::timeinterval::Schedule;

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub(super) use crate::model::form_decode as url_decode;

/// The query parameters of `GET /alerts` and `/alerts/groups`.
pub(super) struct Filters {
    active: bool,
    silenced: bool,
    inhibited: bool,
    /// `muted=false` hides alerts (and groups) muted by a time interval.
    muted: bool,
    matchers: Vec<Matcher>,
    receiver: Option<Regex>,
}

/// go-swagger's reading of a boolean query parameter: empty keeps the default (true for every
/// flag here); otherwise true only for the words go-openapi counts as true, false for anything
/// else (`active=maybe` is false, not an error).
fn go_bool(v: &str) -> bool {
    v.is_empty()
        || matches!(
            v.to_lowercase().as_str(),
            "true" | "1" | "yes" | "ok" | "y" | "on" | "selected" | "checked" | "t" | "enabled"
        )
}

pub(super) fn parse_filters(query: &str) -> Result<Filters, Response> {
    let mut f = Filters {
        active: true,
        silenced: true,
        inhibited: true,
        muted: true,
        matchers: Vec::new(),
        receiver: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (url_decode(k), url_decode(v));
        match k.as_str() {
            "active" => f.active = go_bool(&v),
            "silenced" => f.silenced = go_bool(&v),
            "inhibited" => f.inhibited = go_bool(&v),
            "muted" => f.muted = go_bool(&v),
            "unprocessed" => {} // accepted; nothing is unprocessed
            "filter" => match parse_filter_matcher(&v) {
                Ok(m) => f.matchers.push(m),
                Err(_) => {
                    return Err(json(
                        StatusCode::BAD_REQUEST,
                        &format!("bad matcher format: {v}"),
                    ));
                }
            },
            "receiver" => match compile_anchored(&v) {
                Ok(re) => f.receiver = Some(re),
                Err(e) => return Err(json(StatusCode::BAD_REQUEST, &e.to_string())),
            },
            _ => {}
        }
    }
    Ok(f)
}

/// A time as go-openapi prints one (`strfmt.DateTime`): milliseconds, truncated.
pub(super) fn millis<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    match millis_bytes(*t) {
        Some(b) => s.serialize_str(std::str::from_utf8(&b).unwrap_or_default()),
        None => {
            let d = jiff::tz::Offset::UTC.to_datetime(*t);
            s.collect_str(&format_args!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.subsec_nanosecond() / 1_000_000
            ))
        }
    }
}

/// `t` as [`millis`] prints it, written digit by digit into a fixed buffer (a list of 10,000
/// silences prints 30,000 of them); None for a year outside 0-9999.
pub(super) fn millis_bytes(t: Timestamp) -> Option<[u8; 24]> {
    fn put(b: &mut [u8; 24], at: usize, width: usize, v: i64) {
        let mut v = v.unsigned_abs();
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let d = jiff::tz::Offset::UTC.to_datetime(t);
    if !(0..=9999).contains(&d.year()) {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00.000Z";
    put(&mut b, 0, 4, i64::from(d.year()));
    put(&mut b, 5, 2, i64::from(d.month()));
    put(&mut b, 8, 2, i64::from(d.day()));
    put(&mut b, 11, 2, i64::from(d.hour()));
    put(&mut b, 14, 2, i64::from(d.minute()));
    put(&mut b, 17, 2, i64::from(d.second()));
    put(&mut b, 20, 3, i64::from(d.subsec_nanosecond() / 1_000_000));
    Some(b)
}

#[derive(Serialize)]
struct ReceiverRef<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct AlertStatus {
    state: &'static str,
    #[serde(rename = "silencedBy", serialize_with = "str_seq")]
    silenced_by: Vec<Arc<str>>,
    #[serde(rename = "inhibitedBy")]
    inhibited_by: Vec<String>,
    /// The time intervals that mute the alert now (Alertmanager 0.28+).
    #[serde(rename = "mutedBy")]
    muted_by: Vec<String>,
}

fn str_seq<S: serde::Serializer>(v: &[Arc<str>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| &**x))
}

/// The time intervals that mute a route at `now` (none when it may notify), as Alertmanager's
/// TimeActive and TimeMute stages decide.
fn route_muted_by(cfg: &Config, route: &RouteSettings, now: Timestamp) -> Vec<String> {
    Schedule::new(
        &route.active_time_intervals[..],
        &route.mute_time_intervals[..],
        |n| cfg.time_intervals.get(n),
    )
    .muted_at(now)
    .map(|m| m.by.into_iter().map(str::to_owned).collect())
    .unwrap_or_default()
}

/// An alert's `mutedBy` in `GET /alerts`: when every route it takes is muted, the names that
/// mute them (in route order, each once); empty when at least one route may notify.
/// (Alertmanager reports `mutedBy` only in `/alerts/groups`.)
fn alert_muted_by(cfg: &Config, routes: &[Arc<RouteSettings>], now: Timestamp) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in routes {
        let by = route_muted_by(cfg, r, now);
        if by.is_empty() {
            return Vec::new();
        }
        for n in by {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// An alert's status predicted now, as Alertmanager 0.34 does for each read: the active
/// silences that match it, the source alert that inhibits it, and the time intervals that mute
/// it (`muted_by`, decided by the caller from its routes or its group).
fn status_of(state: &ApiState, a: &Alert, now: Timestamp, muted_by: Vec<String>) -> AlertStatus {
    let silenced_by = state.silences.silenced_by(&a.labels, now);
    let inhibited_by: Vec<String> = state
        .inhibitor
        .inhibited_by(&a.labels, now)
        .map(|fp| fp.to_string())
        .into_iter()
        .collect();
    let suppressed = !silenced_by.is_empty() || !inhibited_by.is_empty() || !muted_by.is_empty();
    AlertStatus {
        state: if suppressed { "suppressed" } else { "active" },
        silenced_by,
        inhibited_by,
        muted_by,
    }
}

#[derive(Serialize)]
struct Gettable<'a> {
    annotations: &'a LabelSet,
    #[serde(rename = "endsAt", serialize_with = "millis")]
    ends_at: Timestamp,
    fingerprint: String,
    receivers: Vec<ReceiverRef<'a>>,
    #[serde(rename = "startsAt", serialize_with = "millis")]
    starts_at: Timestamp,
    status: AlertStatus,
    #[serde(rename = "updatedAt", serialize_with = "millis")]
    updated_at: Timestamp,
    /// Left out when empty, as Alertmanager does.
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
    labels: &'a LabelSet,
}

fn gettable<'a>(a: &'a Alert, status: AlertStatus, receivers: &'a [Arc<str>]) -> Gettable<'a> {
    Gettable {
        annotations: &a.annotations,
        ends_at: a.ends_at,
        fingerprint: a.fingerprint.to_string(),
        receivers: receivers.iter().map(|r| ReceiverRef { name: r }).collect(),
        starts_at: a.starts_at,
        status,
        updated_at: a.updated_at,
        generator_url: &a.generator_url,
        labels: &a.labels,
    }
}

/// Whether an alert passes the filters (Alertmanager's `alertFilter`): not yet ended, then
/// the state flags, then the label matchers. Returns its status when it passes. `muted_by` is
/// only computed for an alert that passes the first checks.
fn passes(
    state: &ApiState,
    f: &Filters,
    a: &Alert,
    now: Timestamp,
    muted_by: impl FnOnce() -> Vec<String>,
) -> Option<AlertStatus> {
    if a.ends_at < now || !all_match(&f.matchers, &a.labels) {
        return None;
    }
    let st = status_of(state, a, now, muted_by());
    let keep = (f.active || st.state != "active")
        && (f.silenced || st.silenced_by.is_empty())
        && (f.inhibited || st.inhibited_by.is_empty())
        && (f.muted || st.muted_by.is_empty());
    keep.then_some(st)
}

/// `GET /api/v2/alerts`: written off the async workers (see `stream`), from a snapshot of the
/// store taken one shard at a time.
pub(super) fn get_alerts(
    state: &Arc<ApiState>,
    req: &Req,
    permit: Option<OwnedSemaphorePermit>,
) -> Response {
    let f = match parse_filters(&req.query) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let state = Arc::clone(state);
    stream::json(permit, move |w| {
        let now = clock::now();
        let cfg = state.config();
        let tree: Arc<RouteTree> = state.dispatcher.tree();
        let mut alerts = state.store.list();
        alerts.sort_unstable_by_key(|a| a.fingerprint);
        w.write_all(b"[")?;
        let mut first = true;
        for a in &alerts {
            let routes = tree.routes(&a.labels);
            let rs: Vec<Arc<str>> = routes.iter().map(|r| Arc::clone(&r.receiver)).collect();
            if let Some(re) = &f.receiver
                && !rs.iter().any(|r| re.is_match(r))
            {
                continue;
            }
            let muted_by = || alert_muted_by(&cfg, &routes, now);
            let Some(st) = passes(&state, &f, a, now, muted_by) else {
                continue;
            };
            if !std::mem::take(&mut first) {
                w.write_all(b",")?;
            }
            serde_json::to_writer(&mut *w, &gettable(a, st, &rs))?;
        }
        w.write_all(b"]")
    })
}

/// `GET /api/v2/alerts/groups`: groups in Alertmanager's order (label sets, then receiver),
/// alerts in its alert order, each alert listing the receivers of the groups that hold it.
pub(super) fn get_groups(
    state: &Arc<ApiState>,
    req: &Req,
    permit: Option<OwnedSemaphorePermit>,
) -> Response {
    let f = match parse_filters(&req.query) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let state = Arc::clone(state);
    stream::json(permit, move |w| {
        let now = clock::now();
        let cfg = state.config();
        let mut groups: Vec<(crate::dispatch::GroupView, Vec<AlertStatus>)> = Vec::new();
        for mut g in state.dispatcher.groups() {
            if f.receiver
                .as_ref()
                .is_some_and(|re| !re.is_match(&g.receiver))
            {
                continue;
            }
            // Alertmanager 0.28+: a group muted by a time interval marks its alerts `mutedBy`
            // and `suppressed`; `muted=false` drops it.
            let muted_by = route_muted_by(&cfg, &g.route, now);
            g.alerts.sort_by(|a, b| alert_order(a, b));
            let mut statuses = Vec::with_capacity(g.alerts.len());
            g.alerts
                .retain(|a| match passes(&state, &f, a, now, || muted_by.clone()) {
                    Some(st) => {
                        statuses.push(st);
                        true
                    }
                    None => false,
                });
            if !g.alerts.is_empty() {
                groups.push((g, statuses));
            }
        }
        groups.sort_by(|(a, _), (b, _)| {
            a.labels
                .am_cmp(&b.labels)
                .then_with(|| a.receiver.cmp(&b.receiver))
        });
        let mut receivers: HashMap<Fingerprint, Vec<Arc<str>>> = HashMap::new();
        for (g, _) in &groups {
            for a in &g.alerts {
                receivers
                    .entry(a.fingerprint)
                    .or_default()
                    .push(Arc::clone(&g.receiver));
            }
        }
        for r in receivers.values_mut() {
            r.sort();
        }
        #[derive(Serialize)]
        struct G<'a> {
            alerts: Vec<Gettable<'a>>,
            labels: &'a LabelSet,
            receiver: ReceiverRef<'a>,
        }
        w.write_all(b"[")?;
        for (i, (g, statuses)) in groups.into_iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            let alerts = g
                .alerts
                .iter()
                .zip(statuses)
                .map(|(a, st)| {
                    let rs = receivers.get(&a.fingerprint).map_or(&[][..], |v| v);
                    gettable(a, st, rs)
                })
                .collect();
            let out = G {
                alerts,
                labels: &g.labels,
                receiver: ReceiverRef { name: &g.receiver },
            };
            serde_json::to_writer(&mut *w, &out)?;
        }
        w.write_all(b"]")
    })
}

/// `GET /api/v2/status`.
pub(super) fn status(state: &ApiState) -> Response {
    #[derive(Serialize)]
    struct Peer {
        address: String,
        name: String,
    }
    #[derive(Serialize)]
    struct Cluster {
        name: String,
        peers: Vec<Peer>,
        status: &'static str,
    }
    #[derive(Serialize)]
    struct Version {
        branch: &'static str,
        #[serde(rename = "buildDate")]
        build_date: &'static str,
        #[serde(rename = "buildUser")]
        build_user: &'static str,
        #[serde(rename = "goVersion")]
        go_version: &'static str,
        revision: &'static str,
        version: &'static str,
    }
    #[derive(Serialize)]
    struct Original {
        original: String,
    }
    #[derive(Serialize)]
    struct Status {
        cluster: Cluster,
        config: Original,
        #[serde(serialize_with = "millis")]
        uptime: Timestamp,
        #[serde(rename = "versionInfo")]
        version_info: Version,
    }
    let cfg = state.config();
    let cluster = match &state.cluster {
        None => Cluster {
            name: String::new(),
            peers: Vec::new(),
            status: "disabled",
        },
        Some(rx) => {
            let st = rx.borrow();
            Cluster {
                name: st.name.clone(),
                peers: st
                    .peers
                    .iter()
                    .map(|p| Peer {
                        address: p.address.to_string(),
                        name: p.name.clone(),
                    })
                    .collect(),
                status: st.readiness.as_str(),
            }
        }
    };
    json(
        StatusCode::OK,
        &Status {
            cluster,
            config: Original {
                original: cfg.original.clone(),
            },
            uptime: state.started,
            version_info: Version {
                branch: "",
                build_date: "",
                build_user: "",
                go_version: "none (tocsin)",
                revision: "",
                version: env!("CARGO_PKG_VERSION"),
            },
        },
    )
}

/// One receiver of `GET /api/v2/receivers`: Alertmanager's `name`, plus the integrations
/// tocsin sends to (Grafana's field names; clients that do not know them ignore them).
#[derive(Serialize)]
struct ReceiverOut<'a> {
    name: &'a str,
    integrations: Vec<IntegrationOut>,
}

#[derive(Serialize)]
struct IntegrationOut {
    name: &'static str,
    #[serde(rename = "sendResolved")]
    send_resolved: bool,
}

/// `GET /api/v2/receivers`.
pub(super) fn receivers(state: &ApiState) -> Response {
    let cfg = state.config();
    let notifier = state.dispatcher.notifier();
    let out: Vec<ReceiverOut> = cfg
        .receivers
        .iter()
        .map(|r| ReceiverOut {
            name: &r.name,
            integrations: notifier
                .receiver(&r.name)
                .map(|rt| {
                    rt.integrations
                        .iter()
                        .map(|i| IntegrationOut {
                            name: i.kind,
                            send_resolved: i.send_resolved,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    json(StatusCode::OK, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_as_go_swagger_reads_them() {
        for v in ["", "true", "TRUE", "1", "yes", "on", "t", "enabled"] {
            assert!(go_bool(v), "{v}");
        }
        for v in ["false", "0", "maybe", "no", "2"] {
            assert!(!go_bool(v), "{v}");
        }
    }

    #[test]
    fn times_in_milliseconds() {
        let json = |t: &str| {
            let t: Timestamp = t.parse().unwrap();
            let mut out = Vec::new();
            millis(&t, &mut serde_json::Serializer::new(&mut out)).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            json("2026-12-02T01:22:43.459876Z"),
            "\"2026-12-02T01:22:43.459Z\""
        );
        assert_eq!(json("0001-01-01T00:00:00Z"), "\"0001-01-01T00:00:00.000Z\"");
        assert_eq!(
            json("9999-12-30T21:59:59.999Z"),
            "\"9999-12-30T21:59:59.999Z\""
        );
        assert_eq!(
            json("1969-12-31T23:59:59.5Z"),
            "\"1969-12-31T23:59:59.500Z\""
        );
        // Outside 0-9999 the general path prints it.
        let bc = Timestamp::from_second(-62_200_000_000).unwrap();
        let mut out = Vec::new();
        millis(&bc, &mut serde_json::Serializer::new(&mut out)).unwrap();
        assert!(
            out.starts_with(b"\"-00"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn decodes_queries() {
        assert_eq!(url_decode("alertname%3D%22a+b%22"), "alertname=\"a b\"");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(url_decode("%E2%9C%93"), "✓");
    }
}
