//! Heartbeats: every check with its state, last ping, next deadline and schedule in words,
//! failing first (`/heartbeats`); one check with its ping log and pause/resume
//! (`/heartbeats/<name>`; the buttons call the API).

use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use warp::http::StatusCode;

use super::Sources;
use super::layout::{self, Nav, span, utc, when};
use super::query::encode;
use crate::clock;
use crate::heartbeat::{CheckSpec, CheckView, Expect, PingKind, Status};

/// Pings listed on a check's page (newest first).
const PINGS_SHOWN: usize = 200;
/// Characters of a ping body shown.
const BODY_EXCERPT: usize = 300;

/// Failing first: down, grace, then the rest, paused last.
fn rank(s: Status) -> u8 {
    match s {
        Status::Down => 0,
        Status::Grace => 1,
        Status::Started => 2,
        Status::New => 3,
        Status::Up => 4,
        Status::Paused => 5,
    }
}

/// Five-field cron in words for the usual shapes; anything else as written.
fn cron_words(text: &str) -> String {
    let f: Vec<&str> = text.split_whitespace().collect();
    let num = |s: &str| s.parse::<u32>().ok();
    let days = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    match (text, f.as_slice()) {
        ("@hourly", _) => "hourly, on the hour".into(),
        ("@daily" | "@midnight", _) => "daily at 00:00".into(),
        ("@weekly", _) => "weekly, Sunday 00:00".into(),
        ("@monthly", _) => "monthly, on the 1st at 00:00".into(),
        ("@yearly" | "@annually", _) => "yearly, 1 January 00:00".into(),
        (_, [m, "*", "*", "*", "*"]) if num(m).is_some() => format!("hourly at :{m:0>2}"),
        (_, [m, "*", "*", "*", "*"]) if m.starts_with("*/") => {
            format!("every {} minutes", &m[2..])
        }
        (_, [m, h, "*", "*", dow]) if num(m).is_some() && num(h).is_some() => {
            let at = format!("{h:0>2}:{m:0>2}");
            match (*dow, num(dow)) {
                ("*", _) => format!("daily at {at}"),
                ("1-5" | "MON-FRI", _) => format!("weekdays at {at}"),
                (_, Some(d)) if (d as usize) < 7 => format!("{}s at {at}", days[d as usize]),
                _ => format!("cron {text}"),
            }
        }
        _ => format!("cron {text}"),
    }
}

/// When a check expects pings, in words.
pub(super) fn schedule_words(spec: &CheckSpec) -> String {
    let grace = span(spec.grace);
    match &spec.expect {
        Expect::Period(d) => format!("every {}, {grace} grace", span(*d)),
        Expect::Schedule(s) => {
            let tz = s.time_zone().iana_name().unwrap_or("UTC").to_owned();
            format!("{} ({tz}), {grace} grace", cron_words(&s.to_string()))
        }
    }
}

fn deadline(v: &CheckView, now: Timestamp) -> Markup {
    html! {
        @match (v.status, v.next_deadline) {
            (Status::Paused, _) => span.muted { "paused" },
            (_, Some(t)) if t < now => { "overdue by " (span(now.duration_since(t))) },
            (_, Some(t)) => (when(t, now)),
            (_, None) => span.muted { "—" },
        }
    }
}

fn state(s: Status) -> Markup {
    html! { span.badge.(format!("hb-{}", s.as_str())) { (s.as_str()) } }
}

/// `GET /heartbeats`.
pub(super) fn list(src: &Sources, root: &str) -> (StatusCode, Markup) {
    let now = clock::now();
    let mut views = src.heartbeats.views(now);
    views.sort_by(|a, b| (rank(a.status), &a.name).cmp(&(rank(b.status), &b.name)));
    let failing = views
        .iter()
        .filter(|v| matches!(v.status, Status::Down | Status::Grace))
        .count();
    let body = html! {
        p.summary #summary {
            @if views.is_empty() { "No heartbeat checks are configured (" code { "heartbeats:" } " in the config)." }
            @else if failing == 0 { strong { "All " (views.len()) " checks are alive." } }
            @else { strong { (failing) " of " (views.len()) " checks failing." } }
        }
        @if !views.is_empty() {
            table.checks {
                thead { tr { th { "Check" } th { "State" } th { "Last ping" } th { "Next deadline" } th.wide { "Schedule" } } }
                tbody {
                    @for v in &views {
                        tr.(format!("hb-{}", v.status.as_str())) {
                            td { a href={ (root) "heartbeats/" (encode(&v.name)) } { (v.name) } }
                            td { (state(v.status)) @if v.failures > 0 { " " span.muted { "×" (v.failures) } } }
                            td { @match v.last_ping { Some(t) => (when(t, now)), None => span.muted { "never" } } }
                            td { (deadline(v, now)) }
                            td.wide { (src.heartbeats.spec(&v.name).map(|s| schedule_words(&s)).unwrap_or_else(|| v.schedule.clone())) }
                        }
                    }
                }
            }
        }
    };
    (
        StatusCode::OK,
        layout::page("Heartbeats", root, Nav::Heartbeats, Some(10), body),
    )
}

fn kind(k: PingKind) -> String {
    match k {
        PingKind::Success => "success".into(),
        PingKind::Start => "start".into(),
        PingKind::Fail => "fail".into(),
        PingKind::Log => "log".into(),
        PingKind::Exit(c) => format!("exit {c}"),
        PingKind::Alert => "alert".into(),
    }
}

fn excerpt(s: &str) -> String {
    match s.char_indices().nth(BODY_EXCERPT) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// `GET /heartbeats/<name>`.
pub(super) fn one(src: &Sources, name: &str, root: &str) -> (StatusCode, Markup) {
    let now = clock::now();
    let (Some(v), Some(spec), Ok(mut pings)) = (
        src.heartbeats
            .views(now)
            .into_iter()
            .find(|v| v.name == name),
        src.heartbeats.spec(name),
        src.heartbeats.pings(name),
    ) else {
        let body =
            html! { p.error role="alert" { "No heartbeat check named " code { (name) } "." } };
        return (
            StatusCode::NOT_FOUND,
            layout::page("Heartbeat", root, Nav::Heartbeats, None, body),
        );
    };
    pings.reverse();
    let api = format!("{root}api/tocsin/v1/heartbeats/{}", encode(name));
    let body = html! {
        h1 { (v.name) " " (state(v.status)) }
        dl.facts {
            dt { "Schedule" } dd { (schedule_words(&spec)) }
            dt { "Last ping" } dd { @match v.last_ping { Some(t) => { (when(t, now)) " · " (utc(t)) }, None => "never" } }
            dt { "Last success" } dd { @match v.last_success { Some(t) => (when(t, now)), None => "never" } }
            dt { "Next expected" } dd { @match v.next_expected { Some(t) => (when(t, now)), None => "—" } }
            dt { "Next deadline" } dd { (deadline(&v, now)) }
            @if let Some(d) = v.last_duration_seconds { dt { "Last run" } dd { (format!("{d:.1}")) " s" } }
            @if v.running > 0 { dt { "Running" } dd { (v.running) } }
            @if v.failures > 0 { dt { "Failures in a row" } dd { (v.failures) } }
            @if let Some(a) = v.alert { dt { "Alert" } dd { a href={ (root) "?filter=" (encode(&format!("{{alertname=\"{a}\",heartbeat=\"{}\"}}", v.name))) } { (a) } } }
            dt { "Pings received" } dd { (v.pings) }
            dt { "Ping URL" } dd { code { (root) "ping/" (v.name) } }
        }
        div.buttons {
            @if v.status == Status::Paused {
                button.hb-action type="button" data-url={ (api) "/resume" } { "Resume" }
            } @else {
                button.hb-action type="button" data-url={ (api) "/pause" } { "Pause" }
            }
            p.msg role="status" {}
        }
        h2 { "Ping log" }
        @if pings.is_empty() { p.empty { "No pings yet." } }
        @else {
            table.pings {
                thead { tr { th { "Kind" } th { "Time" } th { "Duration" } th { "Source" } th.wide { "Body" } } }
                tbody {
                    @for p in pings.iter().take(PINGS_SHOWN) {
                        tr.(format!("ping-{}", kind(p.kind).replace(' ', "-"))) {
                            td { (kind(p.kind)) }
                            td { (when(p.at, now)) br; span.small.muted { (utc(p.at)) } }
                            td { @match p.duration_seconds { Some(d) => { (span(SignedDuration::from_secs_f64(d))) }, None => "" } }
                            td { (p.source) }
                            td.wide {
                                @if let Some(n) = &p.note { span.note { (n) } br; }
                                code.body { (excerpt(&p.body)) }
                            }
                        }
                    }
                }
            }
        }
    };
    (
        StatusCode::OK,
        layout::page(name, root, Nav::Heartbeats, Some(10), body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_in_words() {
        assert_eq!(cron_words("30 2 * * *"), "daily at 02:30");
        assert_eq!(cron_words("0 9 * * 1-5"), "weekdays at 09:00");
        assert_eq!(cron_words("0 9 * * 1"), "Mondays at 09:00");
        assert_eq!(cron_words("*/5 * * * *"), "every 5 minutes");
        assert_eq!(cron_words("15 * * * *"), "hourly at :15");
        assert_eq!(cron_words("0 0 1,15 * *"), "cron 0 0 1,15 * *");
    }
}
