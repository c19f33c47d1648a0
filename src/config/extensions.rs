//! tocsin's own top-level keys (reserved beside Alertmanager's): `heartbeats:` (inbound checks
//! that raise an alert when pings stop) and `dead_mans_switch:` (an outbound ping while tocsin
//! is healthy). Parsed and checked; not acted on by this version (a warning says so).
//! Imports: std, serde, jiff, `crate::model`, sibling modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

use super::http::{self, HttpConfig};
use super::secret::Secret;
use super::validate::{Ctx, check_url};
use crate::model::{Duration, Matcher, MatcherSyntax, parse_matchers};

fn d_grace() -> Duration {
    Duration::from_secs(60)
}
fn d_interval() -> Duration {
    Duration::from_secs(60)
}

/// One inbound heartbeat check (`heartbeats:` entry), in the manner of healthchecks.io.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// Unique name; pings go to `/ping/<name>`. Letters, digits, `-`, `_`, `.`.
    #[serde(default)]
    pub name: String,
    /// Expected time between pings. Exactly one of `period` or `schedule`.
    #[serde(default)]
    pub period: Option<Duration>,
    /// Cron expression (5 fields, or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`)
    /// of when pings are expected.
    #[serde(default)]
    pub schedule: Option<String>,
    /// IANA time zone of `schedule` (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// How late a ping may be before the check is down (default 1m).
    #[serde(default = "d_grace")]
    pub grace: Duration,
    /// Labels of the `HeartbeatMissing` alert raised when the check is down.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of that alert.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Token a ping must carry (`?token=` or `Authorization: Bearer`); none = open.
    #[serde(default)]
    pub token: Option<Secret<String>>,
    /// Instead of pings, an incoming alert matching these matchers (e.g. Prometheus's
    /// `alertname="Watchdog"`) counts as a ping each time it is received.
    #[serde(default)]
    pub alert_matchers: Vec<String>,
    /// `alert_matchers` parsed.
    #[serde(skip)]
    pub matchers: Vec<Matcher>,
}

/// The outbound dead man's switch (`dead_mans_switch:`): pinged every `interval` by one live
/// peer while tocsin works (and, with `require_alerts`, while a matching alert is fresh).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadMansSwitchConfig {
    /// The URL to ping (a secret). Exactly one of `url` or `url_file`.
    #[serde(default)]
    pub url: Option<Secret<String>>,
    /// File holding the URL (relative to the config file's directory).
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// Time between pings (default 1m).
    #[serde(default = "d_interval")]
    pub interval: Duration,
    /// Ping only while an alert matching these matchers is active and fresh (typically
    /// `alertname="Watchdog"`), so the ping proves the whole pipeline works.
    #[serde(default)]
    pub require_alerts: Vec<String>,
    /// `require_alerts` parsed.
    #[serde(skip)]
    pub matchers: Vec<Matcher>,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
}

fn parse_list(
    ctx: &mut Ctx<'_>,
    path: &str,
    key: &str,
    list: &[String],
    syntax: MatcherSyntax,
) -> Vec<Matcher> {
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        match parse_matchers(t, syntax) {
            Ok(ms) => out.extend(ms),
            Err(e) => ctx.error(&format!("{path}.{key}[{i}]"), e.to_string()),
        }
    }
    out
}

/// A light check of a cron expression: five fields of digits, names, `*`, `,`, `-`, `/`, `?`,
/// or one of the `@` shorthands.
pub fn cron_problem(s: &str) -> Option<String> {
    const SHORT: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if s.starts_with('@') {
        return (!SHORT.contains(&s)).then(|| format!("unknown schedule shorthand {s:?}"));
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "schedule {s:?} must have 5 fields (minute hour day month weekday)"
        ));
    }
    if fields.iter().any(|f| {
        !f.chars()
            .all(|c| c.is_ascii_alphanumeric() || "*,-/?".contains(c))
    }) {
        return Some(format!("schedule {s:?} has an invalid character"));
    }
    None
}

const EXT_WARNING: &str = "parsed; not supported by this version of tocsin yet";

pub(crate) fn validate_heartbeats(
    list: &mut [HeartbeatConfig],
    ctx: &mut Ctx<'_>,
    syntax: MatcherSyntax,
) {
    let mut names = BTreeSet::new();
    for (i, h) in list.iter_mut().enumerate() {
        let p = format!("heartbeats[{i}]");
        if h.name.is_empty() {
            ctx.error(&p, "missing name in heartbeat");
        } else if !h
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            ctx.error(
                &format!("{p}.name"),
                format!(
                    "heartbeat name {:?} may only hold letters, digits, '-', '_' and '.'",
                    h.name
                ),
            );
        } else if !names.insert(h.name.clone()) {
            ctx.error(
                &format!("{p}.name"),
                format!("heartbeat name {:?} is not unique", h.name),
            );
        }
        match (&h.period, &h.schedule) {
            (None, None) => ctx.error(&p, "one of period or schedule must be configured"),
            (Some(_), Some(_)) => {
                ctx.error(&p, "at most one of period & schedule must be configured")
            }
            (Some(d), None) if d.is_zero() => {
                ctx.error(&format!("{p}.period"), "period cannot be zero")
            }
            (None, Some(s)) => {
                if let Some(e) = cron_problem(s) {
                    ctx.error(&format!("{p}.schedule"), e);
                }
            }
            _ => {}
        }
        if let Some(tz) = &h.timezone {
            if h.schedule.is_none() {
                ctx.error(&format!("{p}.timezone"), "timezone needs a schedule");
            } else if jiff::tz::TimeZone::get(tz).is_err() {
                ctx.error(
                    &format!("{p}.timezone"),
                    format!("unknown time zone {tz:?}"),
                );
            }
        }
        h.matchers = parse_list(ctx, &p, "alert_matchers", &h.alert_matchers, syntax);
    }
    if !list.is_empty() {
        ctx.warn("heartbeats", format!("heartbeats: {EXT_WARNING}"));
    }
}

pub(crate) fn validate_dead_mans_switch(
    d: &mut DeadMansSwitchConfig,
    ctx: &mut Ctx<'_>,
    global: &HttpConfig,
    syntax: MatcherSyntax,
) {
    let p = "dead_mans_switch";
    match (&d.url, &d.url_file) {
        (None, None) => ctx.error(p, "one of url or url_file must be configured"),
        (Some(_), Some(_)) => ctx.error(p, "at most one of url & url_file must be configured"),
        (Some(u), None) => check_url(ctx, "dead_mans_switch.url", u.expose()),
        _ => {}
    }
    if d.interval.is_zero() {
        ctx.error("dead_mans_switch.interval", "interval cannot be zero");
    }
    ctx.resolve_opt(&mut d.url_file);
    d.matchers = parse_list(ctx, p, "require_alerts", &d.require_alerts, syntax);
    if d.http_config.explicit {
        d.http_config.validate(ctx, "dead_mans_switch.http_config");
    } else {
        d.http_config = global.clone();
    }
    ctx.warn(p, format!("dead_mans_switch: {EXT_WARNING}"));
}
