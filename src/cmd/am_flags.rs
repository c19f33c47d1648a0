//! The rest of Alertmanager 0.34's command line, so a script or unit file written for
//! Alertmanager starts tocsin unchanged. Every flag is accepted with Alertmanager's syntax
//! (kingpin's: `--flag=value` or `--flag value`, booleans also as `--flag`, `--no-flag` and
//! `--flag=false`); those that have no effect in tocsin yet produce a warning at start naming
//! them. The flags tocsin acts on (`--config.file`, `--web.listen-address`, ...) stay in
//! `run.rs`; `--enable-feature` is `features.rs`.

use clap::Args;

use crate::config::go_duration_problem;
use crate::model::Duration;

/// A duration as Alertmanager's flags take it: Go's syntax (`200ms`, `1h30m`, `1.5s`) or
/// Prometheus's (`1d`, `1w`).
fn duration(s: &str) -> Result<String, String> {
    if go_duration_problem(s).is_none() || s.parse::<Duration>().is_ok() {
        Ok(s.to_owned())
    } else {
        Err(format!("invalid duration {s:?}"))
    }
}

/// A kingpin boolean given a value (`--flag=true`).
fn boolean(s: &str) -> Result<bool, String> {
    match s {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("invalid boolean {s:?}")),
    }
}

/// Alertmanager flags tocsin accepts and does not act on yet (each one given is warned about).
#[derive(Debug, Clone, Default, Args)]
pub struct AlertmanagerFlags {
    /// Interval between garbage collection and snapshotting of silences and the notification log
    /// (accepted; tocsin writes silences as they change).
    #[arg(long = "data.maintenance-interval", value_name = "DURATION", value_parser = duration)]
    pub data_maintenance_interval: Option<String>,
    /// Log silence state changes (accepted; no effect yet).
    #[arg(long = "log.silences", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = boolean)]
    pub log_silences: Option<bool>,
    /// Not `--log.silences`.
    #[arg(long = "no-log.silences", hide = true)]
    pub no_log_silences: bool,
    /// Maximum number of alerts per alertname (accepted; no limit is applied yet).
    #[arg(
        long = "alerts.per-alertname-limit",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub alerts_per_alertname_limit: Option<i64>,
    /// Interval between maintenance of aggregation groups (accepted; tocsin's scheduler needs
    /// none).
    #[arg(long = "dispatch.maintenance-interval", value_name = "DURATION", value_parser = duration)]
    pub dispatch_maintenance_interval: Option<String>,
    /// Minimum time before the first dispatch after start (accepted; no effect yet).
    #[arg(long = "dispatch.start-delay", value_name = "DURATION", value_parser = duration)]
    pub dispatch_start_delay: Option<String>,
    /// Prefix of every served path (API, health, metrics, pages, pings); defaults to the path
    /// of `--web.external-url`, as in Alertmanager.
    #[arg(long = "web.route-prefix", value_name = "PATH")]
    pub web_route_prefix: Option<String>,
    /// Use systemd socket activation instead of the listen address (accepted; tocsin binds the
    /// listen address).
    #[arg(long = "web.systemd-socket", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = boolean)]
    pub web_systemd_socket: Option<bool>,
    /// Not `--web.systemd-socket`.
    #[arg(long = "no-web.systemd-socket", hide = true)]
    pub no_web_systemd_socket: bool,
    /// TLS, basic auth and tocsin's roles for the API (Prometheus exporter-toolkit's format),
    /// re-read for every connection and request; empty serves plain HTTP to everyone.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<String>,
    /// The ratio of memory reserved for GOMEMLIMIT (accepted; Go-specific, no effect).
    #[arg(long = "auto-gomemlimit.ratio", value_name = "RATIO")]
    pub auto_gomemlimit_ratio: Option<f64>,
    /// Cluster listen address; empty (`--cluster.listen-address=`) disables clustering, which is
    /// how tocsin runs (clustering is not implemented yet: any other value is warned about).
    #[arg(long = "cluster.listen-address", value_name = "ADDR")]
    pub cluster_listen_address: Option<String>,
    /// Address to advertise in the cluster (accepted; no clustering yet).
    #[arg(long = "cluster.advertise-address", value_name = "ADDR")]
    pub cluster_advertise_address: Option<String>,
    /// Allow discovering a public advertise address (accepted; no clustering yet).
    #[arg(long = "cluster.allow-insecure-public-advertise-address-discovery", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = boolean)]
    pub cluster_allow_insecure_public_advertise: Option<bool>,
    /// Not `--cluster.allow-insecure-public-advertise-address-discovery`.
    #[arg(
        long = "no-cluster.allow-insecure-public-advertise-address-discovery",
        hide = true
    )]
    pub no_cluster_allow_insecure_public_advertise: bool,
    /// Initial peers, repeatable (accepted; no clustering yet).
    #[arg(long = "cluster.peer", value_name = "ADDR")]
    pub cluster_peer: Vec<String>,
    /// This peer's name (accepted; no clustering yet).
    #[arg(long = "cluster.peer-name", value_name = "NAME")]
    pub cluster_peer_name: Option<String>,
    /// Time to wait between peers to send notifications (accepted; no clustering yet).
    #[arg(long = "cluster.peer-timeout", value_name = "DURATION", value_parser = duration)]
    pub cluster_peer_timeout: Option<String>,
    /// Time to resolve peers (accepted; no clustering yet).
    #[arg(long = "cluster.peers-resolve-timeout", value_name = "DURATION", value_parser = duration)]
    pub cluster_peers_resolve_timeout: Option<String>,
    /// Interval between gossip messages (accepted; no clustering yet).
    #[arg(long = "cluster.gossip-interval", value_name = "DURATION", value_parser = duration)]
    pub cluster_gossip_interval: Option<String>,
    /// Interval of gossip state syncs (accepted; no clustering yet).
    #[arg(long = "cluster.pushpull-interval", value_name = "DURATION", value_parser = duration)]
    pub cluster_pushpull_interval: Option<String>,
    /// Timeout of stream connections to peers (accepted; no clustering yet).
    #[arg(long = "cluster.tcp-timeout", value_name = "DURATION", value_parser = duration)]
    pub cluster_tcp_timeout: Option<String>,
    /// Timeout of a probe's ack (accepted; no clustering yet).
    #[arg(long = "cluster.probe-timeout", value_name = "DURATION", value_parser = duration)]
    pub cluster_probe_timeout: Option<String>,
    /// Interval between node probes (accepted; no clustering yet).
    #[arg(long = "cluster.probe-interval", value_name = "DURATION", value_parser = duration)]
    pub cluster_probe_interval: Option<String>,
    /// Longest wait for the cluster to settle (accepted; no clustering yet).
    #[arg(long = "cluster.settle-timeout", value_name = "DURATION", value_parser = duration)]
    pub cluster_settle_timeout: Option<String>,
    /// Interval between reconnects to lost peers (accepted; no clustering yet).
    #[arg(long = "cluster.reconnect-interval", value_name = "DURATION", value_parser = duration)]
    pub cluster_reconnect_interval: Option<String>,
    /// How long to try reconnecting to a lost peer (accepted; no clustering yet).
    #[arg(long = "cluster.reconnect-timeout", value_name = "DURATION", value_parser = duration)]
    pub cluster_reconnect_timeout: Option<String>,
    /// Label on every cluster packet (accepted; no clustering yet).
    #[arg(long = "cluster.label", value_name = "LABEL")]
    pub cluster_label: Option<String>,
    /// Mutual TLS settings of the gossip protocol (accepted; no clustering yet).
    #[arg(long = "cluster.tls-config", value_name = "FILE")]
    pub cluster_tls_config: Option<String>,
}

impl AlertmanagerFlags {
    /// One warning per flag given that has no effect yet.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut no_effect = |flag: &str, given: bool, why: &str| {
            if given {
                out.push(format!(
                    "--{flag} is accepted but has no effect in tocsin yet: {why}"
                ));
            }
        };
        no_effect(
            "data.maintenance-interval",
            self.data_maintenance_interval.is_some(),
            "silences are written as they change",
        );
        no_effect(
            "log.silences",
            self.log_silences.is_some() || self.no_log_silences,
            "silence changes are not logged",
        );
        no_effect(
            "alerts.per-alertname-limit",
            self.alerts_per_alertname_limit.is_some(),
            "no per-alertname limit is applied",
        );
        no_effect(
            "dispatch.maintenance-interval",
            self.dispatch_maintenance_interval.is_some(),
            "the dispatcher's scheduler needs no maintenance",
        );
        no_effect(
            "dispatch.start-delay",
            self.dispatch_start_delay.is_some(),
            "groups are dispatched from the start",
        );
        no_effect(
            "web.systemd-socket",
            self.web_systemd_socket == Some(true),
            "tocsin binds --web.listen-address itself",
        );
        no_effect(
            "auto-gomemlimit.ratio",
            self.auto_gomemlimit_ratio.is_some(),
            "it tunes Go's garbage collector",
        );
        let cluster_given = self
            .cluster_listen_address
            .as_deref()
            .is_some_and(|a| !a.is_empty())
            || self.cluster_advertise_address.is_some()
            || self.cluster_allow_insecure_public_advertise.is_some()
            || self.no_cluster_allow_insecure_public_advertise
            || !self.cluster_peer.is_empty()
            || self.cluster_peer_name.is_some()
            || self.cluster_peer_timeout.is_some()
            || self.cluster_peers_resolve_timeout.is_some()
            || self.cluster_gossip_interval.is_some()
            || self.cluster_pushpull_interval.is_some()
            || self.cluster_tcp_timeout.is_some()
            || self.cluster_probe_timeout.is_some()
            || self.cluster_probe_interval.is_some()
            || self.cluster_settle_timeout.is_some()
            || self.cluster_reconnect_interval.is_some()
            || self.cluster_reconnect_timeout.is_some()
            || self.cluster_label.is_some()
            || self.cluster_tls_config.is_some();
        if cluster_given {
            out.push("--cluster.* flags are accepted but clustering is not implemented in tocsin yet: this instance runs alone and does not gossip with peers".to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        f: AlertmanagerFlags,
    }

    fn parse(args: &[&str]) -> Result<AlertmanagerFlags, clap::Error> {
        Cli::try_parse_from(std::iter::once("tocsin").chain(args.iter().copied())).map(|c| c.f)
    }

    #[test]
    fn kingpin_syntax_and_warnings() {
        let f = parse(&[
            "--cluster.listen-address=",
            "--web.systemd-socket",
            "--log.silences=false",
            "--dispatch.start-delay",
            "1m30s",
            "--cluster.peer-timeout=1.5s",
        ])
        .unwrap();
        assert_eq!(f.cluster_listen_address.as_deref(), Some(""));
        assert_eq!(f.web_systemd_socket, Some(true));
        assert_eq!(f.log_silences, Some(false));
        let w = f.warnings().join("\n");
        assert!(w.contains("--web.systemd-socket") && w.contains("--dispatch.start-delay"));
        assert!(
            w.contains("clustering is not implemented"),
            "peer-timeout was given"
        );

        let alone = parse(&["--cluster.listen-address="]).unwrap();
        assert!(
            alone.warnings().is_empty(),
            "an empty listen address is a single node"
        );
        assert!(parse(&["--dispatch.start-delay=soon"]).is_err());
    }
}
