//! The alerts page (`/`): alert groups as the routing tree made them (receiver and group
//! labels), groups with firing alerts first, then by severity; each alert with its age,
//! annotations (links clickable) and state (silenced by which silence, inhibited by which alert,
//! muted by which time interval). Filters (matchers in Alertmanager's syntax, receiver, state,
//! one group) and the view (expanded or compact) live in the URL.
//!
//! Fast with many alerts: every alert's state is worked out (to sort and count), but only one
//! page of groups ([`PAGE_GROUPS`]), at most [`GROUP_ALERTS`] alerts of each and
//! [`PAGE_ALERTS`] in all are rendered: the groups past that budget show their header only
//! (collapsed, with a link to the group's own view).

use std::cmp::Reverse;
use std::sync::Arc;

use jiff::Timestamp;
use maud::{Markup, html};
use warp::http::StatusCode;

use super::Sources;
use super::layout::{self, Nav, chips, severity, text_or_link, when};
use super::query::{Query, encode, link};
use crate::clock;
use crate::dispatch::GroupView;
use crate::model::{
    Alert, Fingerprint, LabelSet, MatchType, Matcher, MatcherSyntax, alert_order, all_match,
    matchers_to_string, parse_matchers,
};
use crate::timeinterval::Schedule;

/// Groups per page.
pub(super) const PAGE_GROUPS: usize = 100;
/// Alerts rendered per group on the list (all of them on the group's own view, up to
/// [`ONE_GROUP_ALERTS`]).
pub(super) const GROUP_ALERTS: usize = 50;
/// Alerts rendered on one page of the list, all groups together; later groups are collapsed.
pub(super) const PAGE_ALERTS: usize = 300;
/// Alerts rendered on one group's own view.
const ONE_GROUP_ALERTS: usize = 2000;

/// The state filter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StateFilter {
    All,
    Active,
    Suppressed,
    Silenced,
    Inhibited,
    Muted,
}

const STATES: [(StateFilter, &str, &str); 6] = [
    (StateFilter::All, "", "all states"),
    (StateFilter::Active, "active", "firing (not suppressed)"),
    (StateFilter::Suppressed, "suppressed", "suppressed"),
    (StateFilter::Silenced, "silenced", "silenced"),
    (StateFilter::Inhibited, "inhibited", "inhibited"),
    (StateFilter::Muted, "muted", "muted by a time interval"),
];

/// One alert with its state now.
struct Row {
    alert: Arc<Alert>,
    silenced_by: Vec<Arc<str>>,
    inhibited_by: Option<Fingerprint>,
    muted: bool,
    sev: (u8, &'static str),
}

impl Row {
    fn suppressed(&self) -> bool {
        !self.silenced_by.is_empty() || self.inhibited_by.is_some() || self.muted
    }
}

/// One group with the alerts that pass the filters.
struct Group {
    view: GroupView,
    id: String,
    muted_by: Vec<String>,
    rows: Vec<Row>,
    firing: usize,
    sev: (u8, &'static str),
}

/// A group's id in links: a hash of its receiver and group labels (stable across restarts).
pub(super) fn group_id(receiver: &str, labels: &LabelSet) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in receiver.bytes().chain([0xff]) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:016x}", h ^ labels.fingerprint().0)
}

/// The time intervals that mute the group's route now (empty when it may notify).
fn muted_by(src: &Sources, g: &GroupView, now: Timestamp) -> Vec<String> {
    let cfg = &src.config;
    Schedule::new(
        &g.route.active_time_intervals[..],
        &g.route.mute_time_intervals[..],
        |n| cfg.time_intervals.get(n),
    )
    .muted_at(now)
    .map(|m| m.by.into_iter().map(str::to_owned).collect())
    .unwrap_or_default()
}

/// The matchers that silence a group: its group labels, or the labels all its alerts share when
/// it has none; as the API's JSON.
fn group_silence_matchers(g: &Group) -> Option<String> {
    let labels = silence_labels(g);
    if labels.is_empty() {
        return None;
    }
    let ms: Vec<serde_json::Value> = labels
        .iter()
        .map(|(k, v)| serde_json::json!({"name": k, "value": v, "isRegex": false, "isEqual": true}))
        .collect();
    serde_json::to_string(&ms).ok()
}

fn equal_matchers(labels: &LabelSet) -> String {
    let ms: Vec<Matcher> = labels
        .iter()
        .filter_map(|(k, v)| Matcher::new(k, MatchType::Equal, v).ok())
        .collect();
    matchers_to_string(&ms)
}

/// The page's parameters, kept in every link it renders.
struct Params<'a> {
    filter: &'a str,
    receiver: &'a str,
    state: &'a str,
    view: &'a str,
    group: &'a str,
}

impl Params<'_> {
    fn href(&self, page: usize, filter: &str, group: &str) -> String {
        let p = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        link(&[
            ("filter", filter),
            ("receiver", self.receiver),
            ("state", self.state),
            ("view", self.view),
            ("group", group),
            ("page", &p),
        ])
    }
}

/// `GET /`.
pub(super) fn page(src: &Sources, q: &Query, root: &str) -> (StatusCode, Markup) {
    let now = clock::now();
    let p = Params {
        filter: q.get("filter").unwrap_or(""),
        receiver: q.get("receiver").unwrap_or(""),
        state: q.get("state").unwrap_or(""),
        view: q.get("view").unwrap_or(""),
        group: q.get("group").unwrap_or(""),
    };
    let compact = p.view == "compact";
    let state = STATES
        .iter()
        .find(|(_, k, _)| *k == p.state)
        .map_or(StateFilter::All, |s| s.0);
    let (matchers, error) = if p.filter.is_empty() {
        (Vec::new(), None)
    } else {
        match parse_matchers(p.filter, MatcherSyntax::Fallback) {
            Ok(m) => (m, None),
            Err(e) => (Vec::new(), Some(format!("filter {:?}: {e}", p.filter))),
        }
    };
    let page_no: usize = q
        .get("page")
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);

    let mut groups = Vec::new();
    let (mut firing_total, mut suppressed_total) = (0usize, 0usize);
    for view in src.dispatcher.groups() {
        if !p.receiver.is_empty() && &*view.receiver != p.receiver {
            continue;
        }
        let id = group_id(&view.receiver, &view.labels);
        if !p.group.is_empty() && id != p.group {
            continue;
        }
        let muted = muted_by(src, &view, now);
        let mut rows = Vec::new();
        for a in &view.alerts {
            if a.resolved_at(now) || !all_match(&matchers, &a.labels) {
                continue;
            }
            let row = Row {
                silenced_by: src.silences.silenced_by(&a.labels, now),
                inhibited_by: src.inhibitor.inhibited_by(&a.labels, now),
                muted: !muted.is_empty(),
                sev: severity(&a.labels),
                alert: Arc::clone(a),
            };
            let keep = match state {
                StateFilter::All => true,
                StateFilter::Active => !row.suppressed(),
                StateFilter::Suppressed => row.suppressed(),
                StateFilter::Silenced => !row.silenced_by.is_empty(),
                StateFilter::Inhibited => row.inhibited_by.is_some(),
                StateFilter::Muted => row.muted,
            };
            if keep {
                rows.push(row);
            }
        }
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| {
            (a.suppressed(), Reverse(a.sev.0))
                .cmp(&(b.suppressed(), Reverse(b.sev.0)))
                .then_with(|| alert_order(&a.alert, &b.alert))
        });
        let firing = rows.iter().filter(|r| !r.suppressed()).count();
        firing_total += firing;
        suppressed_total += rows.len() - firing;
        let sev = rows
            .iter()
            .filter(|r| !r.suppressed() || firing == 0)
            .map(|r| r.sev)
            .max()
            .unwrap_or((0, "sev-none"));
        groups.push(Group {
            view,
            id,
            muted_by: muted,
            rows,
            firing,
            sev,
        });
    }
    groups.sort_by(|a, b| {
        (a.firing == 0, Reverse(a.sev.0))
            .cmp(&(b.firing == 0, Reverse(b.sev.0)))
            .then_with(|| a.view.labels.am_cmp(&b.view.labels))
            .then_with(|| a.view.receiver.cmp(&b.view.receiver))
    });
    let pages = groups.len().div_ceil(PAGE_GROUPS).max(1);
    let page_no = page_no.min(pages);
    let shown = groups
        .iter()
        .skip((page_no - 1) * PAGE_GROUPS)
        .take(PAGE_GROUPS);
    let per_group = if p.group.is_empty() {
        GROUP_ALERTS
    } else {
        ONE_GROUP_ALERTS
    };
    // Each shown group with how many of its alerts are rendered (0: collapsed).
    let mut budget = per_group.max(PAGE_ALERTS);
    let shown: Vec<(&Group, usize)> = shown
        .map(|g| {
            let n = g.rows.len().min(per_group).min(budget);
            budget -= n;
            (g, n)
        })
        .collect();

    let mut receivers: Vec<&str> = src.config.receivers.iter().map(|r| &*r.name).collect();
    receivers.sort_unstable();
    let add_filter = |k: &str, v: &str| {
        let mut ms = matchers.clone();
        let m = Matcher::new(k, MatchType::Equal, v).ok()?;
        if !ms
            .iter()
            .any(|x| x.name == m.name && x.value == m.value && x.op == m.op)
        {
            ms.push(m);
        }
        Some(p.href(1, &matchers_to_string(&ms), p.group))
    };

    let body = html! {
        form.filters method="get" action="" role="search" {
            input type="search" name="filter" value=(p.filter) aria-label="Filter by labels"
                placeholder="{alertname=\"…\", severity=~\"crit.*\"}" autocomplete="off";
            select name="receiver" aria-label="Receiver" data-autosubmit {
                option value="" { "all receivers" }
                @for r in &receivers {
                    option value=(r) selected[*r == p.receiver] { (r) }
                }
            }
            select name="state" aria-label="State" data-autosubmit {
                @for (_, k, label) in STATES {
                    option value=(k) selected[k == p.state] { (label) }
                }
            }
            select name="view" aria-label="View" data-autosubmit {
                option value="" { "expanded" }
                option value="compact" selected[compact] { "compact" }
            }
            @if !p.group.is_empty() { input type="hidden" name="group" value=(p.group); }
            button type="submit" { "Filter" }
            @if !p.filter.is_empty() || !p.receiver.is_empty() || !p.state.is_empty() || !p.group.is_empty() {
                a.clear href="?" { "clear" }
            }
        }
        @if let Some(e) = &error { p.error role="alert" { (e) } }
        p.summary #summary {
            strong { (firing_total) } " firing, " (suppressed_total) " suppressed, in "
            (groups.len()) @if groups.len() == 1 { " group" } @else { " groups" }
            @if !p.group.is_empty() { " · " a href=(p.href(1, p.filter, "")) { "all groups" } }
        }
        @if groups.is_empty() {
            p.empty { @if error.is_some() || !p.filter.is_empty() || !p.receiver.is_empty() || !p.state.is_empty() { "No alert matches." } @else { "Nothing fires." } }
        }
        @for (g, n) in shown {
            (group(g, &p, compact, n, root, now, src, &add_filter))
        }
        @if pages > 1 {
            nav.pages aria-label="pages of groups" {
                @if page_no > 1 { a rel="prev" href=(p.href(page_no - 1, p.filter, p.group)) { "← previous" } }
                span { "page " (page_no) " of " (pages) }
                @if page_no < pages { a rel="next" href=(p.href(page_no + 1, p.filter, p.group)) { "next →" } }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        layout::page("Alerts", root, Nav::Alerts, Some(10), body),
    )
}

#[allow(clippy::too_many_arguments)]
fn group(
    g: &Group,
    p: &Params<'_>,
    compact: bool,
    per_group: usize,
    root: &str,
    now: Timestamp,
    src: &Sources,
    add_filter: &dyn Fn(&str, &str) -> Option<String>,
) -> Markup {
    let silenced = g.rows.iter().filter(|r| !r.silenced_by.is_empty()).count();
    let inhibited = g.rows.iter().filter(|r| r.inhibited_by.is_some()).count();
    let since = g
        .rows
        .iter()
        .filter(|r| !r.suppressed() || g.firing == 0)
        .map(|r| r.alert.starts_at)
        .min();
    let label_names: Vec<&str> = g.view.labels.names().collect();
    let silence_json = group_silence_matchers(g);
    let state_class = if g.firing > 0 { "firing" } else { "suppressed" };
    html! {
        section.group.(g.sev.1).(state_class) id={ "g-" (g.id) } data-group=(g.id) {
            header {
                h2 {
                    @if g.view.labels.is_empty() { span.muted { "(all alerts of the route)" } }
                    (chips(g.view.labels.iter(), add_filter))
                }
                p.meta {
                    span.receiver title="receiver" { (g.view.receiver) }
                    " · "
                    @if g.firing > 0 { strong.count { (g.firing) " firing" } }
                    @if silenced > 0 { " " span.badge.silenced { (silenced) " silenced" } }
                    @if inhibited > 0 { " " span.badge.inhibited { (inhibited) " inhibited" } }
                    @if !g.muted_by.is_empty() { " " span.badge.muted { "muted by " (g.muted_by.join(", ")) } }
                    @if let Some(t) = since { " · since " (when(t, now)) }
                    @if p.group.is_empty() { " · " a href=(p.href(1, p.filter, &g.id)) { "this group only" } }
                }
                @if let Some(ms) = &silence_json {
                    details.silence-menu {
                        summary { "Silence…" }
                        div.menu data-matchers=(ms) {
                            p { "Silence " (g.rows.len()) " alerts of this group:" }
                            div.buttons {
                                button type="button" data-for="1h" { "1 hour" }
                                button type="button" data-for="4h" { "4 hours" }
                                button type="button" data-for="09:00" { "until 09:00" }
                            }
                            label { "by " input name="author" autocomplete="username" placeholder="your name"; }
                            label { "why " input name="comment" placeholder="e.g. known, working on it"; }
                            p.msg role="status" {}
                            a href={ (root) "silences/new?matchers=" (encode(&equal_matchers(&silence_labels(g)))) "&preview=1" } { "other duration or matchers…" }
                        }
                    }
                }
            }
            @if per_group > 0 {
                ul.alerts.compact[compact] {
                    @for r in g.rows.iter().take(per_group) {
                        (alert(r, &label_names, compact, root, now, src, add_filter))
                    }
                }
            }
            @if !p.group.is_empty() { (told(src, g, now)) }
            @if per_group == 0 {
                p.more.collapsed { a href=(p.href(1, p.filter, &g.id)) { "show the " (g.rows.len()) @if g.rows.len() == 1 { " alert" } @else { " alerts" } " of this group" } }
            } @else if g.rows.len() > per_group {
                p.more { a href=(p.href(1, p.filter, &g.id)) { "all " (g.rows.len()) " alerts of this group" } }
            }
        }
    }
}

/// The labels a group's silence matches (see [`group_silence_matchers`]).
fn silence_labels(g: &Group) -> LabelSet {
    if !g.view.labels.is_empty() {
        return g.view.labels.clone();
    }
    let mut rows = g.rows.iter().map(|r| &r.alert.labels);
    let Some(first) = rows.next() else {
        return LabelSet::new();
    };
    let rest: Vec<&LabelSet> = rows.collect();
    first.filtered(|k, v| rest.iter().all(|l| l.value(k) == Some(v)))
}

fn alert(
    r: &Row,
    group_labels: &[&str],
    compact: bool,
    root: &str,
    now: Timestamp,
    src: &Sources,
    add_filter: &dyn Fn(&str, &str) -> Option<String>,
) -> Markup {
    let a = &r.alert;
    let name = a.labels.get("alertname");
    let rest = a
        .labels
        .iter()
        .filter(|(k, _)| *k != "alertname" && !group_labels.contains(k));
    let cls = if r.suppressed() {
        "suppressed"
    } else {
        "active"
    };
    html! {
        li.alert.(r.sev.1).(cls) id={ "a-" (a.fingerprint) } {
            div.line {
                span.sev title={ "severity " (a.labels.get("severity")) } {}
                strong.name { (name) }
                " "
                span.age { (when(a.starts_at, now)) }
                " "
                @if !r.suppressed() { span.badge.active { "firing" } }
                @for id in &r.silenced_by {
                    " " a.badge.silenced href={ (root) "silences#s-" (id) } title={ "silence " (id) } { "silenced by " (&id[..id.len().min(8)]) }
                }
                @if let Some(fp) = r.inhibited_by {
                    " " span.badge.inhibited title={ "source alert " (fp) } { "inhibited by " (inhibitor_name(src, fp)) }
                }
                @if r.muted { " " span.badge.muted { "muted" } }
                @if !a.generator_url.is_empty() && !compact {
                    " " (source_link(&a.generator_url))
                }
            }
            div.labels { (chips(rest, add_filter)) }
            @if !compact && !a.annotations.is_empty() {
                dl.annotations {
                    @for (k, v) in a.annotations.iter() {
                        dt { (k) } dd { (text_or_link(v)) }
                    }
                }
            } @else if compact {
                @for (k, v) in a.annotations.iter().filter(|(_, v)| v.starts_with("http://") || v.starts_with("https://")) {
                    " " a.annlink href=(v) rel="noopener noreferrer" target="_blank" { (k) }
                }
            }
        }
    }
}

fn source_link(url: &str) -> Markup {
    let lower = url.to_ascii_lowercase();
    html! {
        @if lower.starts_with("http://") || lower.starts_with("https://") {
            a.source href=(url) rel="noopener noreferrer" target="_blank" { "source" }
        }
    }
}

/// How an inhibiting alert is named: its alertname and labels, or its fingerprint when it is
/// gone from the store.
fn inhibitor_name(src: &Sources, fp: Fingerprint) -> String {
    match src.store.get(fp) {
        Some(a) => {
            let name = a.labels.get("alertname");
            if name.is_empty() {
                fp.to_string()
            } else {
                name.to_owned()
            }
        }
        None => fp.to_string(),
    }
}

/// How many notifications of a group its view lists.
const TOLD_ROWS: usize = 20;

/// Who was told about a group (its own view): from the notification history, each due
/// notification (newest first): receiver, integration, when it became due, kind, outcome (and
/// reason), delivery time, its attempts (status code or error each) and what the service gave
/// back (PagerDuty's dedup key, Slack's ts, a Zendesk ticket id), with its id.
fn told(src: &Sources, g: &Group, now: Timestamp) -> Markup {
    let filter = crate::nflog::history::Filter {
        group: Some(g.view.key.to_string()),
        receiver: Some(g.view.receiver.to_string()),
        ..Default::default()
    };
    let sent = src.nflog.history().query(&filter, TOLD_ROWS);
    html! {
        section.told #told {
            h3 { "Who was told" }
            @if sent.is_empty() {
                p.empty { "No notification sent for this group yet." }
            } @else {
                table.told {
                    thead { tr { th { "Receiver" } th { "Integration" } th { "Due" } th { "Kind" } th { "Outcome" } th { "Attempts" } th.wide { "Service's reference" } } }
                    tbody {
                        @for r in &sent {
                            tr.(format!("outcome-{}", r.outcome.as_str())) data-id=(r.id) {
                                td { (r.receiver) }
                                td { (r.integration) @if r.index > 0 { " #" (r.index + 1) } }
                                td { (when(r.due_at, now)) }
                                td { (r.kind) }
                                td.outcome {
                                    (r.outcome.as_str())
                                    @if !r.reason.is_empty() { " (" (r.reason) ")" }
                                    @if let Some(d) = r.delivery_time() { " in " (crate::model::Duration(std::time::Duration::try_from(d).unwrap_or_default())) }
                                }
                                td.attempts {
                                    @for a in &r.attempts {
                                        span.attempt title=(a.error) {
                                            "#" (a.number) " "
                                            @match a.status { Some(c) => (c), None => @if a.accepted { "ok" } @else { "error" } }
                                        }
                                        " "
                                    }
                                }
                                td.wide { @for (dk, dv) in &r.service_ids { code { (dk) "=" (dv) } " " } }
                            }
                        }
                    }
                }
            }
        }
    }
}
