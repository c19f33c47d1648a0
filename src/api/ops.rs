//! Operational endpoints: `POST /-/reload` and `GET /metrics` (with process metrics read from
//! `/proc` at scrape time).

use tokio::sync::oneshot;
use warp::http::header::ACCEPT;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use super::{ApiState, raw, text};
use crate::heartbeat::Status;

/// `POST /-/reload`: asks the app to reload; 200, or 500 with the reason (old config kept).
pub(super) async fn reload(state: &ApiState) -> Response {
    let (tx, rx) = oneshot::channel();
    if state.reload.send(tx).await.is_err() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match rx.await {
        Ok(Ok(())) => raw(StatusCode::OK, "text/plain; charset=utf-8", Vec::new()),
        Ok(Err(e)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to reload config: {e}"),
        ),
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
    }
}

/// Reads `/proc/self/stat` and `/proc/self/fd` into the process metrics (Linux only).
fn update_process_metrics(state: &ApiState) {
    let m = &state.metrics;
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the ")" of the command name; utime and stime are fields 14 and 15,
        // rss is field 24 (in pages).
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| {
                f.get(i - 3)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            let ticks = 100.0; // USER_HZ on Linux
            let cpu = (num(14) + num(15)) / ticks;
            let prev = m.process_cpu_seconds.get();
            if cpu > prev {
                m.process_cpu_seconds.inc_by(cpu - prev);
            }
            m.process_resident_memory.set((num(24) * 4096.0) as i64);
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        m.process_open_fds.set(dir.count() as i64);
    }
    m.process_start_time
        .set(state.started.as_millisecond() as f64 / 1000.0);
    let now = crate::clock::now();
    let (mut active, mut suppressed) = (0i64, 0i64);
    for a in state.store.list().iter().filter(|a| !a.resolved_at(now)) {
        if state.silences.is_silenced(&a.labels, now) || state.inhibitor.mutes(&a.labels, now) {
            suppressed += 1;
        } else {
            active += 1;
        }
    }
    for (s, n) in [
        ("active", active),
        ("suppressed", suppressed),
        ("unprocessed", 0),
    ] {
        let _ = m
            .alerts
            .get_or_create(&vec![("state", s.to_owned())])
            .set(n);
    }
    let counts = state.silences.count_states(now);
    for (st, n) in crate::silence::SilenceState::ALL.iter().zip(counts) {
        let _ = m
            .silences
            .get_or_create(&vec![("state", st.as_str().to_owned())])
            .set(n as i64);
    }
    m.inhibition_rules.set(state.inhibitor.len() as i64);
}

/// The heartbeat gauges, from the checks' state now (removed checks leave no series).
fn update_heartbeat_metrics(state: &ApiState) {
    let m = &state.metrics;
    let checks = state.heartbeats.summary(crate::clock::now());
    m.heartbeat_up.clear();
    m.heartbeat_last_ping.clear();
    let mut counts = std::collections::HashMap::new();
    for (name, status, last) in checks {
        let l = vec![("heartbeat", name)];
        m.heartbeat_up
            .get_or_create(&l)
            .set(i64::from(status != Status::Down));
        if let Some(t) = last {
            m.heartbeat_last_ping
                .get_or_create(&l)
                .set(t.as_millisecond() as f64 / 1000.0);
        }
        *counts.entry(status).or_insert(0i64) += 1;
    }
    for s in Status::ALL {
        m.heartbeat_state
            .get_or_create(&vec![("state", s.as_str().to_owned())])
            .set(counts.get(&s).copied().unwrap_or(0));
    }
}

/// `GET /metrics`: the classic text format, or OpenMetrics when the scraper's `Accept` asks
/// for it (as Prometheus does).
pub(super) fn metrics(state: &ApiState, headers: &HeaderMap) -> Response {
    update_process_metrics(state);
    update_heartbeat_metrics(state);
    let accept = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if wants_openmetrics(&accept) {
        raw(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            state.metrics.encode().into_bytes(),
        )
    } else {
        raw(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.encode_classic().into_bytes(),
        )
    }
}

/// Content negotiation as Prometheus's Go client does it with OpenMetrics enabled: the `Accept`
/// entries by falling quality (ties keep their order), the first one served wins: OpenMetrics
/// 0.0.1/1.0.0 or the classic text format 0.0.4 (or either without a version). Protobuf is not
/// served; with no match, the classic text format.
pub(super) fn wants_openmetrics(accept: &str) -> bool {
    let mut entries: Vec<(f32, &str, Option<&str>)> = accept
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let media = parts.next().filter(|m| !m.is_empty())?;
            let (mut q, mut version) = (1.0f32, None);
            for p in parts {
                match p.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                    Some(("q", v)) => q = v.parse().unwrap_or(0.0),
                    Some(("version", v)) => version = Some(v),
                    _ => {}
                }
            }
            Some((q, media, version))
        })
        .filter(|(q, ..)| *q > 0.0)
        .collect();
    entries.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, media, version) in entries {
        let media = media.to_ascii_lowercase();
        if media == "application/openmetrics-text"
            && matches!(version, None | Some("0.0.1" | "1.0.0"))
        {
            return true;
        }
        if media == "text/plain" && matches!(version, None | Some("0.0.4")) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::wants_openmetrics;

    #[test]
    fn negotiates_like_the_go_client() {
        // Prometheus 2.x's scrape Accept header.
        assert!(wants_openmetrics(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        ));
        // Protobuf first (native histograms), then OpenMetrics.
        assert!(wants_openmetrics(
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.3"
        ));
        assert!(!wants_openmetrics(""));
        assert!(!wants_openmetrics("*/*"));
        assert!(!wants_openmetrics("text/plain"));
        assert!(!wants_openmetrics(
            "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"
        ));
        assert!(wants_openmetrics(
            "text/plain;version=0.0.4;q=0.4,application/openmetrics-text;q=0.5"
        ));
        // An unknown version is skipped, as is q=0.
        assert!(!wants_openmetrics(
            "application/openmetrics-text;version=2.0.0"
        ));
        assert!(!wants_openmetrics("application/openmetrics-text;q=0"));
    }
}
