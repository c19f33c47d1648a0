//! Prometheus metrics under Alertmanager's names, so existing dashboards and the mixin alerts work.
//!
//! One `Metrics` value is created by `app` and shared; label sets are bounded (integration,
//! reason, state, status), never alert labels. Process metrics are read from `/proc` at scrape
//! time by the `api` layer. Layer L0: no I/O here.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label pairs of one series.
pub type Labels = Vec<(&'static str, String)>;

/// The integrations Alertmanager pre-initialises its notification counters for.
pub const INTEGRATIONS: &[&str] = &[
    "discord",
    "email",
    "msteams",
    "msteamsv2",
    "opsgenie",
    "pagerduty",
    "pushover",
    "slack",
    "sns",
    "telegram",
    "victorops",
    "webex",
    "webhook",
    "wechat",
    "zendesk",
];

/// Reasons a notification finally failed (Alertmanager 0.34's set).
pub const FAILURE_REASONS: &[&str] = &[
    "other",
    "clientError",
    "serverError",
    "contextCanceled",
    "contextDeadlineExceeded",
    "authError",
    "rateLimited",
];

fn latency_histogram() -> Histogram {
    Histogram::new([1.0, 5.0, 10.0, 15.0, 20.0])
}

/// Buckets of `tocsin_notification_delivery_seconds`: 60 is the SLI's threshold.
pub const DELIVERY_BUCKETS: [f64; 11] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 10800.0,
];

fn delivery_histogram() -> Histogram {
    Histogram::new(DELIVERY_BUCKETS)
}

/// Every metric tocsin exports.
pub struct Metrics {
    registry: Registry,
    /// `alertmanager_alerts{state}`: set at scrape time.
    pub alerts: Family<Labels, Gauge>,
    /// `alertmanager_alerts_received_total{status,version}`.
    pub alerts_received: Family<Labels, Counter>,
    /// `alertmanager_alerts_invalid_total{version}`.
    pub alerts_invalid: Family<Labels, Counter>,
    /// `alertmanager_notifications_total{integration}`.
    pub notifications: Family<Labels, Counter>,
    /// `alertmanager_notifications_failed_total{integration,reason}`.
    pub notifications_failed: Family<Labels, Counter>,
    /// `alertmanager_notification_requests_total{integration}`.
    pub notification_requests: Family<Labels, Counter>,
    /// `alertmanager_notification_requests_failed_total{integration}`.
    pub notification_requests_failed: Family<Labels, Counter>,
    /// `alertmanager_notification_latency_seconds{integration}`.
    pub notification_latency: Family<Labels, Histogram, fn() -> Histogram>,
    /// `alertmanager_notifications_suppressed_total{reason}`.
    pub notifications_suppressed: Family<Labels, Counter>,
    /// `tocsin_notifications_due_total{receiver,integration,kind}`: notifications the pipeline
    /// decided to send, each counted once however often it is retried (see `notify::sli`).
    pub notifications_due: Family<Labels, Counter>,
    /// `tocsin_notifications_outcome_total{receiver,integration,kind,outcome,reason}`: how
    /// each due notification ended.
    pub notifications_outcome: Family<Labels, Counter>,
    /// `tocsin_notification_delivery_seconds{receiver,integration,kind}`: from due to accepted,
    /// retries included.
    pub notification_delivery: Family<Labels, Histogram, fn() -> Histogram>,
    /// `tocsin_notifications_pending{receiver,integration,kind}`: due, not yet ended.
    pub notifications_pending: Family<Labels, Gauge>,
    /// `alertmanager_dispatcher_aggregation_groups`.
    pub aggregation_groups: Gauge,
    /// `alertmanager_config_hash`.
    pub config_hash: Gauge<f64, AtomicU64>,
    /// `alertmanager_config_last_reload_successful`.
    pub config_last_reload_successful: Gauge,
    /// `alertmanager_config_last_reload_success_timestamp_seconds`.
    pub config_last_reload_success_timestamp: Gauge<f64, AtomicU64>,
    /// `alertmanager_receivers`.
    pub receivers: Gauge,
    /// `alertmanager_integrations{type}`: configured integrations that send, by kind (Alertmanager
    /// has one unlabelled series; `sum()` of ours is the same number).
    pub integrations: Family<Labels, Gauge>,
    /// `alertmanager_cluster_enabled`.
    pub cluster_enabled: Gauge,
    /// `alertmanager_cluster_members`: live members, this peer included.
    pub cluster_members: Gauge,
    /// `alertmanager_cluster_failed_peers`: members detected dead, not yet forgotten.
    pub cluster_failed_peers: Gauge,
    /// `alertmanager_peer_position`: this peer's index among the members sorted by name.
    pub peer_position: Gauge,
    /// `alertmanager_cluster_health_score`: 0 is healthy.
    pub cluster_health_score: Gauge,
    /// `tocsin_cluster_messages_refused_total`: peer datagrams refused (wrong key or label).
    pub cluster_refused_messages: Counter,
    /// `tocsin_cluster_bytes_sent_total`: bytes of the datagrams sent to peers (sealed).
    pub cluster_bytes_sent: Counter,
    /// `tocsin_cluster_bytes_received_total`: bytes of the peer datagrams accepted (sealed).
    pub cluster_bytes_received: Counter,
    /// `tocsin_cluster_claims_total{outcome}`: send claims by how they ended (`sent`,
    /// `took_over`, `covered`, `conflict_lost`; see `notify::claim`).
    pub cluster_claims: Family<Labels, Counter>,
    /// `tocsin_cluster_claims_waiting`: sends waiting now on another peer's claim (or on the
    /// cluster settling).
    pub cluster_claims_waiting: Gauge,
    /// `tocsin_cluster_replication_lag_seconds`: for each notification log entry learned from a
    /// peer, the time from its send to its merge here.
    pub cluster_replication_lag: Histogram,
    /// `alertmanager_tls_transport_read_errors_total`: errors reading peers' TLS connections
    /// (refused handshakes and bad frames included), with `--cluster.tls-config`.
    pub tls_read_errors: Counter,
    /// `alertmanager_tls_transport_write_errors_total{connection_type}`: datagrams not written
    /// to a peer's TLS connection (`packet`: failed dial or write, full queue).
    pub tls_write_errors: Family<Labels, Counter>,
    /// `alertmanager_tls_transport_packet_bytes_sent_total`: datagram bytes written to peers'
    /// TLS connections (framing excluded).
    pub tls_packet_bytes_sent: Counter,
    /// `alertmanager_tls_transport_packet_bytes_received_total`: datagram bytes read from
    /// peers' TLS connections (framing excluded).
    pub tls_packet_bytes_received: Counter,
    /// `tocsin_cluster_tls_handshakes_refused_total`: peers' connections refused in the TLS
    /// handshake (no certificate, one another CA signed, not TLS).
    pub tls_refused_handshakes: Counter,
    /// `alertmanager_build_info{version,revision,branch,goversion}` (always 1).
    pub build_info: Family<Labels, Gauge>,
    /// `tocsin_template_render_failures_total{integration}`: templates that failed at send time
    /// (a fallback was sent instead).
    pub template_render_failures: Family<Labels, Counter>,
    /// `tocsin_notification_ratelimit_queue{integration}`: sends waiting for their integration's
    /// rate limit now.
    pub ratelimit_queue: Family<Labels, Gauge>,
    /// `tocsin_notification_ratelimit_waits_total{integration}`: sends that had to wait.
    pub ratelimit_waits: Family<Labels, Counter>,
    /// `tocsin_notification_ratelimit_wait_seconds_total{integration}`: time spent waiting.
    pub ratelimit_wait_seconds: Family<Labels, Counter<f64, AtomicU64>>,
    /// `tocsin_notification_ratelimit_rejected_total{integration}`: sends refused because the
    /// queue was full (they fail as rate limited and are retried).
    pub ratelimit_rejected: Family<Labels, Counter>,
    /// `tocsin_heartbeat_up{heartbeat}`: 1 unless the check is down (set at scrape time).
    pub heartbeat_up: Family<Labels, Gauge>,
    /// `tocsin_heartbeat_last_ping_timestamp_seconds{heartbeat}`: the last success.
    pub heartbeat_last_ping: Family<Labels, Gauge<f64, AtomicU64>>,
    /// `tocsin_heartbeat_state{state}`: how many checks are in each state.
    pub heartbeat_state: Family<Labels, Gauge>,
    /// `tocsin_dead_mans_switch_pings_total{target,result}`: outbound pings by outcome
    /// (`success`, `failure`, `skipped`: tocsin was not healthy).
    pub dead_mans_switch_pings: Family<Labels, Counter>,
    /// `alertmanager_nflog_queries_total`.
    pub nflog_queries: Counter,
    /// `alertmanager_silences{state}`: set at scrape time.
    pub silences: Family<Labels, Gauge>,
    /// `alertmanager_inhibition_rules`.
    pub inhibition_rules: Gauge,
    /// `alertmanager_http_concurrency_limit_exceeded_total{method="get"}`: GETs answered 503
    /// because every `--web.get-concurrency` slot was taken.
    pub http_concurrency_limit_exceeded: Counter,
    /// `tocsin_http_auth_failures_total`: requests refused for a wrong basic-auth user or
    /// password (`--web.config.file`); requests without credentials are not counted.
    pub http_auth_failures: Counter,
    /// `tocsin_requests_limited_total{limit}`: requests (or alerts of one) refused by a limit,
    /// by its flag (`web.max-request-bytes`, `alerts.max-labels`, ...).
    pub requests_limited: Family<Labels, Counter>,
    /// `alertmanager_alerts_limited_total`: alerts dropped by `--alerts.per-alertname-limit`.
    pub alerts_limited: Counter,
    /// `alertmanager_alerts_per_alert_limit`: `--alerts.per-alertname-limit` (0: none).
    pub alerts_per_alert_limit: Gauge,
    /// `process_resident_memory_bytes`.
    pub process_resident_memory: Gauge,
    /// `process_cpu_seconds_total` (fed from /proc at scrape time).
    pub process_cpu_seconds: Counter<f64, AtomicU64>,
    /// `process_start_time_seconds`.
    pub process_start_time: Gauge<f64, AtomicU64>,
    /// `process_open_fds`.
    pub process_open_fds: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric, with the integration families pre-initialised to zero.
    pub fn new() -> Self {
        let mut r = Registry::default();
        let m = Metrics {
            alerts: Family::default(),
            alerts_received: Family::default(),
            alerts_invalid: Family::default(),
            notifications: Family::default(),
            notifications_failed: Family::default(),
            notification_requests: Family::default(),
            notification_requests_failed: Family::default(),
            notification_latency: Family::new_with_constructor(latency_histogram),
            notifications_suppressed: Family::default(),
            notifications_due: Family::default(),
            notifications_outcome: Family::default(),
            notification_delivery: Family::new_with_constructor(delivery_histogram),
            notifications_pending: Family::default(),
            aggregation_groups: Gauge::default(),
            config_hash: Gauge::default(),
            config_last_reload_successful: Gauge::default(),
            config_last_reload_success_timestamp: Gauge::default(),
            receivers: Gauge::default(),
            integrations: Family::default(),
            cluster_enabled: Gauge::default(),
            cluster_members: Gauge::default(),
            cluster_failed_peers: Gauge::default(),
            peer_position: Gauge::default(),
            cluster_health_score: Gauge::default(),
            cluster_refused_messages: Counter::default(),
            cluster_bytes_sent: Counter::default(),
            cluster_bytes_received: Counter::default(),
            cluster_claims: Family::default(),
            cluster_claims_waiting: Gauge::default(),
            cluster_replication_lag: Histogram::new([
                0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
            ]),
            tls_read_errors: Counter::default(),
            tls_write_errors: Family::default(),
            tls_packet_bytes_sent: Counter::default(),
            tls_packet_bytes_received: Counter::default(),
            tls_refused_handshakes: Counter::default(),
            build_info: Family::default(),
            template_render_failures: Family::default(),
            ratelimit_queue: Family::default(),
            ratelimit_waits: Family::default(),
            ratelimit_wait_seconds: Family::default(),
            ratelimit_rejected: Family::default(),
            heartbeat_up: Family::default(),
            heartbeat_last_ping: Family::default(),
            heartbeat_state: Family::default(),
            dead_mans_switch_pings: Family::default(),
            nflog_queries: Counter::default(),
            silences: Family::default(),
            inhibition_rules: Gauge::default(),
            http_concurrency_limit_exceeded: Counter::default(),
            http_auth_failures: Counter::default(),
            requests_limited: Family::default(),
            alerts_limited: Counter::default(),
            alerts_per_alert_limit: Gauge::default(),
            process_resident_memory: Gauge::default(),
            process_cpu_seconds: Counter::default(),
            process_start_time: Gauge::default(),
            process_open_fds: Gauge::default(),
            registry: Registry::default(),
        };
        let am = |name: &str| format!("alertmanager_{name}");
        r.register(am("alerts"), "How many alerts by state", m.alerts.clone());
        r.register(
            am("alerts_received"),
            "The total number of received alerts",
            m.alerts_received.clone(),
        );
        r.register(
            am("alerts_invalid"),
            "The total number of received alerts that were invalid",
            m.alerts_invalid.clone(),
        );
        r.register(
            am("notifications"),
            "The total number of attempted notifications",
            m.notifications.clone(),
        );
        r.register(
            am("notifications_failed"),
            "The total number of failed notifications",
            m.notifications_failed.clone(),
        );
        r.register(
            am("notification_requests"),
            "The total number of attempted notification requests",
            m.notification_requests.clone(),
        );
        r.register(
            am("notification_requests_failed"),
            "The total number of failed notification requests",
            m.notification_requests_failed.clone(),
        );
        r.register(
            am("notification_latency_seconds"),
            "The latency of notifications in seconds",
            m.notification_latency.clone(),
        );
        r.register(
            am("notifications_suppressed"),
            "The total number of notifications suppressed for being silenced, inhibited, outside of active time intervals or within muted time intervals",
            m.notifications_suppressed.clone(),
        );
        r.register(
            "tocsin_notifications_due",
            "Notifications the pipeline decided to send, each counted once however often retried",
            m.notifications_due.clone(),
        );
        r.register(
            "tocsin_notifications_outcome",
            "How due notifications ended: delivered, suppressed, superseded or failed (with reason)",
            m.notifications_outcome.clone(),
        );
        r.register(
            "tocsin_notification_delivery_seconds",
            "Time from a notification becoming due to the service accepting it, retries included",
            m.notification_delivery.clone(),
        );
        r.register(
            "tocsin_notifications_pending",
            "Due notifications that have not ended yet",
            m.notifications_pending.clone(),
        );
        r.register(
            am("dispatcher_aggregation_groups"),
            "Number of active aggregation groups",
            m.aggregation_groups.clone(),
        );
        r.register(
            am("config_hash"),
            "Hash of the currently loaded alertmanager configuration",
            m.config_hash.clone(),
        );
        r.register(
            am("config_last_reload_successful"),
            "Whether the last configuration reload attempt was successful",
            m.config_last_reload_successful.clone(),
        );
        r.register(
            am("config_last_reload_success_timestamp_seconds"),
            "Timestamp of the last successful configuration reload",
            m.config_last_reload_success_timestamp.clone(),
        );
        r.register(
            am("receivers"),
            "Number of configured receivers",
            m.receivers.clone(),
        );
        r.register(
            am("integrations"),
            "Number of configured integrations",
            m.integrations.clone(),
        );
        r.register(
            am("cluster_enabled"),
            "Indicates whether the clustering is enabled or not",
            m.cluster_enabled.clone(),
        );
        r.register(
            am("cluster_members"),
            "Number indicating current number of members in cluster",
            m.cluster_members.clone(),
        );
        r.register(
            am("cluster_failed_peers"),
            "Number indicating the current number of failed peers in the cluster",
            m.cluster_failed_peers.clone(),
        );
        r.register(
            am("peer_position"),
            "Position the Alertmanager instance believes it's in. The position determines a peer's behavior in the cluster",
            m.peer_position.clone(),
        );
        r.register(
            am("cluster_health_score"),
            "Health score of the cluster. Lower values are better and zero means 'totally healthy'",
            m.cluster_health_score.clone(),
        );
        r.register(
            "tocsin_cluster_messages_refused",
            "Cluster datagrams refused because they failed authentication (another key or label) or framing",
            m.cluster_refused_messages.clone(),
        );
        r.register(
            "tocsin_cluster_bytes_sent",
            "Bytes of the datagrams sent to cluster peers, sealed (the gossip's bandwidth out)",
            m.cluster_bytes_sent.clone(),
        );
        r.register(
            "tocsin_cluster_bytes_received",
            "Bytes of the cluster peers' datagrams accepted, sealed (the gossip's bandwidth in)",
            m.cluster_bytes_received.clone(),
        );
        r.register(
            "tocsin_cluster_claims",
            "Send claims by outcome: sent (this peer claimed and sent), took_over (sent after another peer's claim lapsed), covered (another peer's send made it unnecessary), conflict_lost (a simultaneous claim of a peer sorting first won)",
            m.cluster_claims.clone(),
        );
        r.register(
            "tocsin_cluster_claims_waiting",
            "Sends waiting now on another peer's send claim, or on the cluster settling",
            m.cluster_claims_waiting.clone(),
        );
        r.register(
            "tocsin_cluster_replication_lag_seconds",
            "Time from a notification's send on a peer to its notification log entry's merge here",
            m.cluster_replication_lag.clone(),
        );
        r.register(
            am("tls_transport_read_errors"),
            "The number of errors encountered while reading from incoming connections",
            m.tls_read_errors.clone(),
        );
        r.register(
            am("tls_transport_write_errors"),
            "The number of errors encountered while writing to outgoing connections",
            m.tls_write_errors.clone(),
        );
        r.register(
            am("tls_transport_packet_bytes_sent"),
            "The number of packet bytes sent to outgoing connections (excluding internal metadata)",
            m.tls_packet_bytes_sent.clone(),
        );
        r.register(
            am("tls_transport_packet_bytes_received"),
            "The number of packet bytes received from incoming connections (excluding internal metadata)",
            m.tls_packet_bytes_received.clone(),
        );
        r.register(
            "tocsin_cluster_tls_handshakes_refused",
            "Peers' cluster connections refused in the TLS handshake (no client certificate, one signed by another CA, not TLS)",
            m.tls_refused_handshakes.clone(),
        );
        r.register(
            am("build_info"),
            "A metric with a constant '1' value labeled by version, revision, branch, and goversion from which alertmanager was built",
            m.build_info.clone(),
        );
        r.register(
            "tocsin_template_render_failures",
            "Notification templates that failed to render at send time; a fallback was sent",
            m.template_render_failures.clone(),
        );
        r.register(
            "tocsin_notification_ratelimit_queue",
            "Notifications waiting for their integration's rate limit",
            m.ratelimit_queue.clone(),
        );
        r.register(
            "tocsin_notification_ratelimit_waits",
            "Notifications that waited for their integration's rate limit",
            m.ratelimit_waits.clone(),
        );
        r.register(
            "tocsin_notification_ratelimit_wait_seconds",
            "Time notifications spent waiting for their integration's rate limit",
            m.ratelimit_wait_seconds.clone(),
        );
        r.register(
            "tocsin_notification_ratelimit_rejected",
            "Notifications refused because their integration's rate-limit queue was full (retried)",
            m.ratelimit_rejected.clone(),
        );
        r.register(
            "tocsin_heartbeat_up",
            "Whether a heartbeat check is not down (1) or down (0)",
            m.heartbeat_up.clone(),
        );
        r.register(
            "tocsin_heartbeat_last_ping_timestamp_seconds",
            "When a heartbeat check last received a successful ping",
            m.heartbeat_last_ping.clone(),
        );
        r.register(
            "tocsin_heartbeat_state",
            "How many heartbeat checks are in each state",
            m.heartbeat_state.clone(),
        );
        r.register(
            "tocsin_dead_mans_switch_pings",
            "Outbound dead man's switch pings by target and result",
            m.dead_mans_switch_pings.clone(),
        );
        r.register(
            am("nflog_queries"),
            "Number of notification log queries were received",
            m.nflog_queries.clone(),
        );
        r.sub_registry_with_label(("method".into(), "get".into()))
            .register(
                am("http_concurrency_limit_exceeded"),
                "Total number of times an HTTP request failed because the concurrency limit was reached",
                m.http_concurrency_limit_exceeded.clone(),
            );
        r.register(
            "tocsin_http_auth_failures",
            "Requests refused for a wrong basic-auth user or password",
            m.http_auth_failures.clone(),
        );
        r.register(
            "tocsin_requests_limited",
            "Requests, or alerts of one, refused by a limit, by the limit's flag",
            m.requests_limited.clone(),
        );
        r.register(
            am("alerts_limited"),
            "Total number of alerts that were dropped due to per alert name limit",
            m.alerts_limited.clone(),
        );
        r.register(
            am("alerts_per_alert_limit"),
            "Current limit on number of alerts per alert name",
            m.alerts_per_alert_limit.clone(),
        );
        r.register(
            am("silences"),
            "How many silences by state",
            m.silences.clone(),
        );
        r.register(
            am("inhibition_rules"),
            "Number of configured inhibition rules",
            m.inhibition_rules.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            m.process_resident_memory.clone(),
        );
        r.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            m.process_cpu_seconds.clone(),
        );
        r.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            m.process_start_time.clone(),
        );
        r.register(
            "process_open_fds",
            "Number of open file descriptors",
            m.process_open_fds.clone(),
        );
        for integration in INTEGRATIONS {
            let l = vec![("integration", (*integration).to_owned())];
            let _ = m.notifications.get_or_create(&l);
            let _ = m.notification_requests.get_or_create(&l);
            let _ = m.notification_latency.get_or_create(&l);
            let _ = m.notification_requests_failed.get_or_create(&l);
            for reason in FAILURE_REASONS {
                let mut lr = l.clone();
                lr.push(("reason", (*reason).to_owned()));
                let _ = m.notifications_failed.get_or_create(&lr);
            }
        }
        for status in ["firing", "resolved"] {
            let _ = m.alerts_received.get_or_create(&vec![
                ("status", status.to_owned()),
                ("version", "v2".to_owned()),
            ]);
        }
        let _ = m
            .alerts_invalid
            .get_or_create(&vec![("version", "v2".to_owned())]);
        for reason in [
            "silence",
            "inhibition",
            "mute_time_interval",
            "active_time_interval",
        ] {
            let _ = m
                .notifications_suppressed
                .get_or_create(&vec![("reason", reason.to_owned())]);
        }
        m.build_info
            .get_or_create(&vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("revision", String::new()),
                ("branch", String::new()),
                ("goversion", "none (tocsin is written in Rust)".to_owned()),
            ])
            .set(1);
        Metrics { registry: r, ..m }
    }

    /// A series label set for one integration.
    pub fn integration(integration: &str) -> Labels {
        vec![("integration", integration.to_owned())]
    }

    /// Renders the OpenMetrics text format (`application/openmetrics-text; version=1.0.0`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail except on fmt errors, which String never gives.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// Renders Prometheus's classic text format (`text/plain; version=0.0.4`), what
    /// Alertmanager serves and what `promtool check metrics` reads.
    pub fn encode_classic(&self) -> String {
        openmetrics_to_classic(&self.encode())
    }
}

/// Rewrites OpenMetrics text as the classic text format: a counter family is named after its
/// `_total` samples, an info family after its `_info` samples (typed gauge), `# UNIT` lines,
/// `_created` samples and the `# EOF` line go. Samples and label escaping are the same in both.
pub fn openmetrics_to_classic(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // The classic name and type of each family, from its `# TYPE` line.
    let mut renamed: std::collections::HashMap<&str, (String, &str)> =
        std::collections::HashMap::new();
    for l in &lines {
        if let Some(rest) = l.strip_prefix("# TYPE ")
            && let Some((name, ty)) = rest.split_once(' ')
        {
            let classic = match ty {
                "counter" if !name.ends_with("_total") => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "gaugehistogram" => (name.to_owned(), "histogram"),
                "stateset" => (name.to_owned(), "gauge"),
                _ => (name.to_owned(), ty),
            };
            renamed.insert(name, classic);
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut counters: Vec<&str> = Vec::new();
    for l in lines {
        if l == "# EOF" || l.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = l.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            let classic = renamed.get(name).map_or(name, |(n, _)| n.as_str());
            out.push_str(&format!("# HELP {classic} {help}\n"));
            continue;
        }
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let name = rest.split_once(' ').map_or(rest, |(n, _)| n);
            if let Some((classic, ty)) = renamed.get(name) {
                if *ty == "counter" {
                    counters.push(name);
                }
                out.push_str(&format!("# TYPE {classic} {ty}\n"));
            }
            continue;
        }
        let sample = l.split(['{', ' ']).next().unwrap_or("");
        if sample
            .strip_suffix("_created")
            .is_some_and(|base| counters.contains(&base))
        {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_alertmanager_names() {
        let m = Metrics::new();
        m.config_last_reload_successful.set(1);
        let text = m.encode();
        for name in [
            "alertmanager_notifications_total{integration=\"webhook\"} 0",
            "alertmanager_notifications_failed_total{integration=\"slack\",reason=\"serverError\"} 0",
            "alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} 0",
            "alertmanager_config_last_reload_successful 1",
            "alertmanager_dispatcher_aggregation_groups 0",
            "alertmanager_notification_latency_seconds_bucket",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }

    #[test]
    fn classic_text_names_counter_families_by_their_samples() {
        let m = Metrics::new();
        m.nflog_queries.inc();
        let text = m.encode_classic();
        assert!(text.contains(
            "# HELP alertmanager_nflog_queries_total Number of notification log queries were received.\n\
             # TYPE alertmanager_nflog_queries_total counter\n\
             alertmanager_nflog_queries_total 1\n"
        ), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        assert!(
            !text.contains(".."),
            "help texts end with one full stop: {text}"
        );
        assert!(text.contains("# TYPE alertmanager_config_hash gauge\n"));
        assert!(text.contains("# TYPE alertmanager_notification_latency_seconds histogram\n"));
    }

    #[test]
    fn classic_text_drops_openmetrics_only_lines() {
        let om = "# HELP x_seconds A thing.\n# TYPE x_seconds counter\n# UNIT x_seconds seconds\n\
                  x_seconds_total 2\nx_seconds_created 1.5\n# HELP b Build.\n# TYPE b info\n\
                  b_info{v=\"1\"} 1\n# EOF\n";
        assert_eq!(
            openmetrics_to_classic(om),
            "# HELP x_seconds_total A thing.\n# TYPE x_seconds_total counter\nx_seconds_total 2\n\
             # HELP b_info Build.\n# TYPE b_info gauge\nb_info{v=\"1\"} 1\n"
        );
    }
}
