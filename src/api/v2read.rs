//! The read side of API v2: alerts (with Alertmanager's filters), alert groups, status and
//! receivers (reference §1.3).

use std::sync::Arc;

use jiff::Timestamp;
use regex::Regex;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{ApiState, Req, json, swagger_error};
use crate::clock;
use crate::config::Config;
use crate::dispatch::RouteTree;
use crate::dispatch::route::RouteSettings;
use crate::model::{
    Alert, LabelSet, Matcher, MatcherSyntax, all_match, compile_anchored, parse_matcher,
};
use crate::timeinterval::Schedule;

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub(super) fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameters of `GET /alerts` and `/alerts/groups`.
struct Filters {
    active: bool,
    silenced: bool,
    inhibited: bool,
    /// `muted=false` hides alerts (and groups) muted by a time interval.
    muted: bool,
    matchers: Vec<Matcher>,
    receiver: Option<Regex>,
}

fn parse_filters(query: &str) -> Result<Filters, Response> {
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
        let flag = |name: &str| -> Result<bool, Response> {
            match v.as_str() {
                "true" | "1" | "" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(swagger_error(
                    StatusCode::BAD_REQUEST,
                    400,
                    &format!("{name} in query must be of type boolean: {v:?}"),
                )),
            }
        };
        match k.as_str() {
            "active" => f.active = flag("active")?,
            "silenced" => f.silenced = flag("silenced")?,
            "inhibited" => f.inhibited = flag("inhibited")?,
            "muted" => f.muted = flag("muted")?,
            "unprocessed" => {
                flag(&k)?; // accepted; nothing is unprocessed
            }
            "filter" => match parse_matcher(&v, MatcherSyntax::Fallback) {
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
    #[serde(rename = "endsAt")]
    ends_at: Timestamp,
    fingerprint: String,
    receivers: Vec<ReceiverRef<'a>>,
    #[serde(rename = "startsAt")]
    starts_at: Timestamp,
    status: AlertStatus,
    #[serde(rename = "updatedAt")]
    updated_at: Timestamp,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    labels: &'a LabelSet,
}

fn gettable<'a>(
    a: &'a Alert,
    status: AlertStatus,
    receivers: Vec<ReceiverRef<'a>>,
) -> Gettable<'a> {
    Gettable {
        annotations: &a.annotations,
        ends_at: a.ends_at,
        fingerprint: a.fingerprint.to_string(),
        receivers,
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

/// `GET /api/v2/alerts`.
pub(super) fn get_alerts(state: &ApiState, req: &Req) -> Response {
    let f = match parse_filters(&req.query) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = clock::now();
    let cfg = state.config();
    let tree: Arc<RouteTree> = state.dispatcher.tree();
    let mut alerts: Vec<(Arc<Alert>, AlertStatus)> = state
        .store
        .list()
        .into_iter()
        .filter_map(|a| {
            let muted_by = || alert_muted_by(&cfg, &tree.routes(&a.labels), now);
            passes(state, &f, &a, now, muted_by).map(|st| (a, st))
        })
        .collect();
    alerts.sort_by_key(|(a, _)| a.fingerprint);
    let (alerts, statuses): (Vec<Arc<Alert>>, Vec<AlertStatus>) = alerts.into_iter().unzip();
    let receivers: Vec<Vec<Arc<str>>> = alerts.iter().map(|a| tree.receivers(&a.labels)).collect();
    let out: Vec<Gettable> = alerts
        .iter()
        .zip(statuses)
        .zip(&receivers)
        .filter(|(_, rs)| {
            f.receiver
                .as_ref()
                .is_none_or(|re| rs.iter().any(|r| re.is_match(r)))
        })
        .map(|((a, st), rs)| gettable(a, st, rs.iter().map(|r| ReceiverRef { name: r }).collect()))
        .collect();
    json(StatusCode::OK, &out)
}

/// `GET /api/v2/alerts/groups`.
pub(super) fn get_groups(state: &ApiState, req: &Req) -> Response {
    let f = match parse_filters(&req.query) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = clock::now();
    let cfg = state.config();
    let tree = state.dispatcher.tree();
    let mut groups = state.dispatcher.groups();
    groups.retain(|g| {
        f.receiver
            .as_ref()
            .is_none_or(|re| re.is_match(&g.receiver))
    });
    groups.sort_by(|a, b| (&a.labels, &a.receiver).cmp(&(&b.labels, &b.receiver)));
    #[derive(Serialize)]
    struct G<'a> {
        labels: &'a LabelSet,
        receiver: ReceiverRef<'a>,
        alerts: Vec<Gettable<'a>>,
    }
    let mut receivers_of = Vec::new();
    let mut statuses_of = Vec::new();
    for g in &mut groups {
        g.alerts
            .sort_by(|a, b| crate::notify::data::alert_order(a, b));
        // Alertmanager 0.28+: a group muted by a time interval marks its alerts `mutedBy` and
        // `suppressed`; `muted=false` drops it.
        let muted_by = route_muted_by(&cfg, &g.route, now);
        let mut statuses = Vec::with_capacity(g.alerts.len());
        g.alerts
            .retain(|a| match passes(state, &f, a, now, || muted_by.clone()) {
                Some(st) => {
                    statuses.push(st);
                    true
                }
                None => false,
            });
        statuses_of.push(statuses);
        receivers_of.push(
            g.alerts
                .iter()
                .map(|a| tree.receivers(&a.labels))
                .collect::<Vec<_>>(),
        );
    }
    let out: Vec<G> = groups
        .iter()
        .zip(&receivers_of)
        .zip(statuses_of)
        .filter(|((g, _), _)| !g.alerts.is_empty())
        .map(|((g, rs), sts)| G {
            labels: &g.labels,
            receiver: ReceiverRef { name: &g.receiver },
            alerts: g
                .alerts
                .iter()
                .zip(sts)
                .zip(rs)
                .map(|((a, st), r)| {
                    gettable(a, st, r.iter().map(|n| ReceiverRef { name: n }).collect())
                })
                .collect(),
        })
        .collect();
    json(StatusCode::OK, &out)
}

/// `GET /api/v2/status`.
pub(super) fn status(state: &ApiState) -> Response {
    #[derive(Serialize)]
    struct Cluster {
        name: &'static str,
        peers: [String; 0],
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
        uptime: Timestamp,
        #[serde(rename = "versionInfo")]
        version_info: Version,
    }
    let cfg = state.config();
    json(
        StatusCode::OK,
        &Status {
            cluster: Cluster {
                name: "",
                peers: [],
                status: "disabled",
            },
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
    fn decodes_queries() {
        assert_eq!(url_decode("alertname%3D%22a+b%22"), "alertname=\"a b\"");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(url_decode("%E2%9C%93"), "✓");
    }
}
