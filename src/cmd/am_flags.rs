//! The rest of Alertmanager 0.34's command line, so a script or unit file written for
//! Alertmanager starts tocsin unchanged. Every flag is accepted with Alertmanager's syntax
//! (kingpin's: `--flag=value` or `--flag value`, booleans also as `--flag`, `--no-flag` and
//! `--flag=false`); those that have no effect in tocsin yet produce a warning at start naming
//! them. The flags tocsin acts on (`--config.file`, `--web.listen-address`, ...) stay in
//! `run.rs`; `--enable-feature` is `features.rs`; `--cluster.*` is `cluster_flags.rs`.

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
    /// The most firing alerts per alertname (0 or less: no limit); past it new alerts of that
    /// name are dropped (counted in `alertmanager_alerts_limited_total`), known ones updated.
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
            "--web.systemd-socket",
            "--log.silences=false",
            "--dispatch.start-delay",
            "1m30s",
        ])
        .unwrap();
        assert_eq!(f.web_systemd_socket, Some(true));
        assert_eq!(f.log_silences, Some(false));
        let w = f.warnings().join("\n");
        assert!(w.contains("--web.systemd-socket") && w.contains("--dispatch.start-delay"));
        assert!(parse(&[]).unwrap().warnings().is_empty());
        assert!(parse(&["--dispatch.start-delay=soon"]).is_err());
    }
}
