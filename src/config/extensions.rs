//! tocsin's own top-level keys (reserved beside Alertmanager's): `heartbeats:` (inbound checks
//! that raise an alert when pings stop) and `dead_mans_switch:` (an outbound ping while tocsin
//! is healthy). Schedules are parsed here (`model::Schedule`) so a bad one fails the load with
//! its path. Imports: std, serde, jiff, `crate::model`, `crate::clock`, sibling modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

use super::http::{self, HttpConfig};
use super::secret::Secret;
use super::validate::{Ctx, check_url};
use crate::model::{Duration, Matcher, MatcherSyntax, Schedule, parse_matchers};

fn d_grace() -> Duration {
    Duration::from_secs(60)
}
fn d_interval() -> Duration {
    Duration::from_secs(60)
}
fn d_max_age() -> Duration {
    Duration::from_secs(300)
}
fn d_one() -> u32 {
    1
}
fn d_get() -> String {
    "GET".to_owned()
}

/// One inbound heartbeat check (`heartbeats:` entry), in the manner of healthchecks.io.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// Unique name, a lowercase slug (`a-z`, `0-9`, `-`, `_`); pings go to `/ping/<name>`.
    #[serde(default)]
    pub name: String,
    /// Expected time between pings. Exactly one of `period` or `schedule`.
    #[serde(default)]
    pub period: Option<Duration>,
    /// When pings are expected: a five-field cron, an `@daily`-style name, AWS EventBridge's
    /// `cron(min hour dom month dow year)`, or EventBridge's `rate(N unit)` (a period).
    #[serde(default)]
    pub schedule: Option<String>,
    /// `schedule` parsed with `timezone` (set by validation; `None` for a period).
    #[serde(skip)]
    pub cron: Option<Schedule>,
    /// IANA time zone of `schedule` (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// How late a ping may be before the check is down, and how long a started run may last
    /// (default 1m).
    #[serde(default = "d_grace")]
    pub grace: Duration,
    /// Labels of the `HeartbeatMissing` / `HeartbeatFailed` alert raised when the check is down.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of that alert (a `summary` here replaces the generated one).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Token a ping must carry (`?token=` or `Authorization: Bearer`); none = open.
    #[serde(default)]
    pub token: Option<Secret<String>>,
    /// An incoming alert matching these matchers (e.g. Prometheus's `alertname="Watchdog"`)
    /// counts as a ping each time it is received firing.
    #[serde(default)]
    pub alert_matchers: Vec<String>,
    /// `alert_matchers` parsed.
    #[serde(skip)]
    pub matchers: Vec<Matcher>,
    /// Alert only after this many consecutive failures (default 1: at the first).
    #[serde(default = "d_one")]
    pub failures_before_alert: u32,
    /// A run (start to success) shorter than this is a failure.
    #[serde(default)]
    pub min_duration: Option<Duration>,
    /// More successful pings than this within one period (or between two scheduled times) is
    /// a failure: the job runs too often.
    #[serde(default)]
    pub max_pings_per_period: Option<u32>,
    /// A success ping whose body contains none of these is a failure (when the list is set).
    #[serde(default)]
    pub success_keywords: Vec<String>,
    /// A success ping whose body contains one of these is a failure.
    #[serde(default)]
    pub failure_keywords: Vec<String>,
}

/// One outbound dead man's switch target (`dead_mans_switch:`, one or a list): pinged every
/// `interval` while tocsin is healthy (and, with `require_alerts`, while a matching alert is
/// fresh).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadMansSwitchConfig {
    /// Name in metrics and logs (default: the target's position, `0`, `1`, ...).
    #[serde(default)]
    pub name: String,
    /// The URL to ping (a secret). Exactly one of `url` or `url_file`.
    #[serde(default)]
    pub url: Option<Secret<String>>,
    /// File holding the URL (relative to the config file's directory).
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// HTTP method of the ping: `GET` (default), `POST` or `HEAD`.
    #[serde(default = "d_get")]
    pub method: String,
    /// Time between pings (default 1m).
    #[serde(default = "d_interval")]
    pub interval: Duration,
    /// Called (POST, the reason as a text body) when tocsin stops pinging because it is not
    /// healthy; for healthchecks.io this is the ping URL plus `/fail`.
    #[serde(default)]
    pub fail_url: Option<Secret<String>>,
    /// Ping only while an alert matching these matchers is active and fresh (typically
    /// `alertname="Watchdog"`), so the ping proves the whole pipeline works.
    #[serde(default)]
    pub require_alerts: Vec<String>,
    /// `require_alerts` parsed.
    #[serde(skip)]
    pub matchers: Vec<Matcher>,
    /// How recently a required alert must have been received (default 5m).
    #[serde(default = "d_max_age")]
    pub max_age: Duration,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
}

/// `dead_mans_switch:` takes one target or a list (a visitor rather than an untagged enum, so
/// an error inside a target keeps its message).
#[derive(Debug, Clone)]
pub(crate) struct OneOrMany(pub(crate) Vec<DeadMansSwitchConfig>, pub(crate) bool);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a dead_mans_switch target or a list of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<OneOrMany, A::Error> {
                DeadMansSwitchConfig::deserialize(MapAccessDeserializer::new(m))
                    .map(|d| OneOrMany(vec![d], true))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, s: A) -> Result<OneOrMany, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(s)).map(|v| OneOrMany(v, false))
            }
        }
        d.deserialize_any(V)
    }
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

/// EventBridge's `rate(N minute|minutes|hour|hours|day|days)` as a period.
pub fn parse_rate(s: &str) -> Option<Result<Duration, String>> {
    let inner = s.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let mut it = inner.split_whitespace();
    let (n, unit) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
    let bad = || Err(format!("schedule {s:?}: want rate(N minutes|hours|days)"));
    let Ok(n) = n.parse::<u64>() else {
        return Some(bad());
    };
    let secs = match unit {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86400,
        _ => return Some(bad()),
    };
    if n == 0 || it.next().is_some() || (n == 1) != unit.ends_with(|c| c != 's') {
        return Some(bad());
    }
    Some(Ok(Duration::from_secs(n.saturating_mul(secs))))
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

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
        } else if !is_slug(&h.name) {
            ctx.error(
                &format!("{p}.name"),
                format!(
                    "heartbeat name {:?} must be a lowercase slug (a-z, 0-9, '-', '_')",
                    h.name
                ),
            );
        } else if !names.insert(h.name.clone()) {
            ctx.error(
                &format!("{p}.name"),
                format!("heartbeat name {:?} is not unique", h.name),
            );
        }
        let tz = match &h.timezone {
            None => Some(jiff::tz::TimeZone::UTC),
            Some(tz) => match jiff::tz::TimeZone::get(tz) {
                Ok(z) => Some(z),
                Err(_) => {
                    ctx.error(
                        &format!("{p}.timezone"),
                        format!("unknown time zone {tz:?}"),
                    );
                    None
                }
            },
        };
        match (&h.period, &h.schedule) {
            (None, None) => ctx.error(&p, "one of period or schedule must be configured"),
            (Some(_), Some(_)) => {
                ctx.error(&p, "at most one of period & schedule must be configured")
            }
            (Some(d), None) if d.is_zero() => {
                ctx.error(&format!("{p}.period"), "period cannot be zero")
            }
            (None, Some(s)) => match parse_rate(s) {
                Some(Ok(d)) => h.period = Some(d),
                Some(Err(e)) => ctx.error(&format!("{p}.schedule"), e),
                None => match tz.map(|z| Schedule::parse(s, z)) {
                    Some(Ok(c)) if c.next_after(crate::clock::now()).is_none() => ctx.error(
                        &format!("{p}.schedule"),
                        format!("schedule {s:?} never fires again"),
                    ),
                    Some(Ok(c)) => h.cron = Some(c),
                    Some(Err(e)) => ctx.error(&format!("{p}.schedule"), e.to_string()),
                    None => {}
                },
            },
            _ => {}
        }
        if h.timezone.is_some() && h.cron.is_none() && h.schedule.is_none() {
            ctx.error(&format!("{p}.timezone"), "timezone needs a schedule");
        }
        if h.failures_before_alert == 0 {
            ctx.error(
                &format!("{p}.failures_before_alert"),
                "failures_before_alert must be at least 1",
            );
        }
        if h.max_pings_per_period == Some(0) {
            ctx.error(
                &format!("{p}.max_pings_per_period"),
                "max_pings_per_period must be at least 1",
            );
        }
        for (key, list) in [
            ("success_keywords", &h.success_keywords),
            ("failure_keywords", &h.failure_keywords),
        ] {
            if let Some(j) = list.iter().position(|k| k.is_empty()) {
                ctx.error(&format!("{p}.{key}[{j}]"), "empty keyword");
            }
        }
        h.matchers = parse_list(ctx, &p, "alert_matchers", &h.alert_matchers, syntax);
    }
}

pub(crate) fn validate_dead_mans_switch(
    list: &mut [DeadMansSwitchConfig],
    single: bool,
    ctx: &mut Ctx<'_>,
    global: &HttpConfig,
    syntax: MatcherSyntax,
) {
    let mut names = BTreeSet::new();
    for (i, d) in list.iter_mut().enumerate() {
        let p = if single {
            "dead_mans_switch".to_owned()
        } else {
            format!("dead_mans_switch[{i}]")
        };
        if d.name.is_empty() {
            d.name = i.to_string();
        }
        if !names.insert(d.name.clone()) {
            ctx.error(
                &format!("{p}.name"),
                format!("dead_mans_switch name {:?} is not unique", d.name),
            );
        }
        match (&d.url, &d.url_file) {
            (None, None) => ctx.error(&p, "one of url or url_file must be configured"),
            (Some(_), Some(_)) => ctx.error(&p, "at most one of url & url_file must be configured"),
            (Some(u), None) => check_url(ctx, &format!("{p}.url"), u.expose()),
            _ => {}
        }
        if let Some(u) = &d.fail_url {
            check_url(ctx, &format!("{p}.fail_url"), u.expose());
        }
        d.method = d.method.to_ascii_uppercase();
        if !["GET", "POST", "HEAD"].contains(&d.method.as_str()) {
            ctx.error(
                &format!("{p}.method"),
                format!("method {:?} must be GET, POST or HEAD", d.method),
            );
        }
        if d.interval.is_zero() {
            ctx.error(&format!("{p}.interval"), "interval cannot be zero");
        }
        if d.max_age.is_zero() {
            ctx.error(&format!("{p}.max_age"), "max_age cannot be zero");
        }
        ctx.resolve_opt(&mut d.url_file);
        d.matchers = parse_list(ctx, &p, "require_alerts", &d.require_alerts, syntax);
        if d.http_config.explicit {
            d.http_config.validate(ctx, &format!("{p}.http_config"));
        } else {
            d.http_config = global.clone();
        }
    }
}
