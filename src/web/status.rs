//! Status (`/status`): version, uptime, the loaded config (secrets hidden, as the API's
//! `config.original`) with its last reload result, cluster and storage facts, the heartbeat
//! checks' summary and the dead man's switch.

use maud::{Markup, html};
use warp::http::StatusCode;

use super::Sources;
use super::layout::{self, Nav, span, utc, when};
use crate::clock;

/// How many outbound dead man's switch pings to `target` ended with `result`.
fn pings(src: &Sources, target: &str, result: &str) -> u64 {
    let labels = vec![("target", target.to_owned()), ("result", result.to_owned())];
    src.metrics
        .dead_mans_switch_pings
        .get(&labels)
        .map_or(0, |c| c.get())
}

/// `GET /status`.
pub(super) fn page(src: &Sources, root: &str) -> (StatusCode, Markup) {
    let now = clock::now();
    let m = &src.metrics;
    let reload_ok = m.config_last_reload_successful.get() == 1;
    let reloaded_ms = (m.config_last_reload_success_timestamp.get() * 1000.0) as i64;
    let reloaded = jiff::Timestamp::from_millisecond(reloaded_ms).ok();
    let cfg = &src.config;
    let checks = src.heartbeats.views(now);
    let down = checks
        .iter()
        .filter(|v| v.status == crate::heartbeat::Status::Down)
        .count();
    let body = html! {
        h1 { "Status" }
        dl.facts {
            dt { "Version" } dd { "tocsin " (env!("CARGO_PKG_VERSION")) }
            dt { "Up since" } dd { (utc(src.started)) " (" (span(now.duration_since(src.started))) ")" }
            dt { "External URL" } dd { code { (src.external_url) } }
            dt { "Last config reload" }
            dd {
                @if reload_ok { span.badge.ok { "succeeded" } } @else { span.badge.bad { "failed: the previous config is still in force (see the log)" } }
                @if let Some(t) = reloaded { " · last success " (when(t, now)) }
            }
            dt { "Config hash" } dd { code { (format!("{:016x}", cfg.hash)) } }
            dt { "Cluster" } dd {
                @match &src.cluster {
                    None => { span.muted { "not clustered (a single node)" } },
                    Some(c) => {
                        @if c.readiness.as_str() == "ready" { span.badge.ok { "ready" } } @else { span.badge.warn { (c.readiness.as_str()) } }
                        " · this peer " code { (c.name) } " · position " (c.position)
                        " · " (c.peers.len()) @if c.peers.len() == 1 { " member" } @else { " members" }
                        @if c.failed > 0 { " · " span.badge.bad { (c.failed) " failed" } }
                        table.peers {
                            thead { tr { th { "Peer" } th { "Address" } } }
                            tbody {
                                @for p in &c.peers {
                                    tr {
                                        td { code { (p.name) } @if p.name == c.name { " (this peer)" } }
                                        td { code { (p.address) } }
                                    }
                                }
                            }
                        }
                    },
                }
            }
            dt { "Storage" } dd {
                @if !src.journal.is_persistent() { span.badge.warn { "in memory" } " (--storage.in-memory: nothing survives a restart)" }
                @else {
                    @match src.journal.health() {
                        Ok(()) => { span.badge.ok { "writable" } " · every change is on disk before it is acknowledged" },
                        Err(e) => { span.badge.bad { "not writable" } " " (e.0) " (writes answer 503 until it recovers)" },
                    }
                }
            }
            dt { "Alerts" } dd { (src.store.len()) " in memory" }
            dt { "Silences" } dd { (src.silences.len()) " stored" }
            dt { "Heartbeats" } dd {
                a href={ (root) "heartbeats" } { (checks.len()) @if checks.len() == 1 { " check" } @else { " checks" } }
                @if down > 0 { ", " span.badge.bad { (down) " down" } }
            }
            dt { "Dead man's switch" } dd {
                @if cfg.dead_mans_switch.is_empty() { span.muted { "not configured" } }
                @for d in &cfg.dead_mans_switch {
                    div {
                        strong { (d.name) } " · every " (d.interval) " · pings "
                        @for (result, class) in [("success", "ok"), ("failure", "bad"), ("skipped", "warn")] {
                            span.badge.(class) { (pings(src, &d.name, result)) " " (result) } " "
                        }
                    }
                }
            }
        }
        details.config {
            summary { "Config (secrets hidden)" }
            pre { code { (cfg.original) } }
        }
    };
    (
        StatusCode::OK,
        layout::page("Status", root, Nav::Status, Some(30), body),
    )
}
