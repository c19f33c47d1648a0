//! Test helpers for the integrations' `tests.rs`: a notifier built from a receivers YAML snippet
//! (the real config loader, the real builder), alerts, and flushes at chosen instants, so each
//! integration runs the real pipeline (dedup, retry, nflog) against its strict fake.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

use super::http::ClientCache;
use super::pipeline::{FlushCtx, FlushOutcome, Notifier, NotifySettings};
use crate::clock;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::{Alert, LabelSet};
use crate::nflog::Nflog;

/// The group key every test group uses.
pub const GROUP_KEY: &str = "{}:{alertname=\"DiskFull\"}";

/// A notifier over one receiver `r`, with its config given as YAML receiver keys.
pub struct Rig {
    /// The pipeline.
    pub notifier: Notifier,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    /// Its notification log.
    pub nflog: Arc<Nflog>,
    /// The start of the test's timeline.
    pub t0: Timestamp,
}

impl Rig {
    /// `receiver_yaml` is the body of receiver `r` (indented by four spaces), `global_yaml` the
    /// body of `global:`. Retries are given up after `max_retry`.
    pub fn new(global_yaml: &str, receiver_yaml: &str, max_retry: Duration) -> Rig {
        let yaml = format!(
            "global:\n{global_yaml}\nroute:\n  receiver: r\nreceivers:\n  - name: r\n{receiver_yaml}\n"
        );
        let cfg = Config::from_yaml(&yaml, std::path::Path::new("."), "test.yml")
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let templates = Arc::new(cfg.load_templates().unwrap());
        let metrics = Arc::new(Metrics::new());
        let built =
            Notifier::build_receivers(&cfg.receivers, &templates, &metrics, &ClientCache::new())
                .unwrap();
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
        let nflog = Arc::new(Nflog::new());
        let notifier = Notifier::new(
            built.receivers,
            Arc::clone(&nflog),
            Arc::clone(&metrics),
            NotifySettings {
                external_url: "http://tocsin.test:9093".into(),
                max_retry,
                retention: SignedDuration::from_hours(120),
            },
            CancellationToken::new(),
        );
        Rig {
            notifier,
            metrics,
            nflog,
            t0: clock::now(),
        }
    }

    /// Flushes `alerts` as group [`GROUP_KEY`] at `t0 + at_secs`, repeat interval one hour.
    pub async fn flush(&self, at_secs: i64, alerts: Vec<Arc<Alert>>) -> FlushOutcome {
        let ctx = FlushCtx {
            receiver: Arc::from("r"),
            group_key: Arc::from(GROUP_KEY),
            group_labels: [("alertname", "DiskFull")].into_iter().collect(),
            repeat_interval: SignedDuration::from_hours(1),
            active_time_intervals: Arc::from([]),
            mute_time_intervals: Arc::from([]),
            group_interval: Duration::from_secs(300),
            now: self.t0 + SignedDuration::from_secs(at_secs),
            cancel: CancellationToken::new(),
        };
        self.notifier.flush(&ctx, alerts).await
    }

    /// The value of a metric line (`name{labels}`), 0 when absent.
    pub fn metric(&self, series: &str) -> f64 {
        self.metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }
}

/// A `DiskFull` alert on `instance`, started at `t0`, firing until `t0 + ends_secs`.
pub fn alert(rig: &Rig, instance: &str, ends_secs: i64) -> Arc<Alert> {
    alert_with(rig, instance, ends_secs, &[("summary", "Disk is full")])
}

/// [`alert`] with these annotations.
pub fn alert_with(
    rig: &Rig,
    instance: &str,
    ends_secs: i64,
    annotations: &[(&str, &str)],
) -> Arc<Alert> {
    let labels: LabelSet = [
        ("alertname", "DiskFull"),
        ("instance", instance),
        ("job", "node"),
    ]
    .into_iter()
    .collect();
    Arc::new(Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations: annotations.iter().copied().collect(),
        starts_at: rig.t0,
        ends_at: rig.t0 + SignedDuration::from_secs(ends_secs),
        generator_url: Arc::from("http://prometheus.test/graph"),
        updated_at: rig.t0,
        timeout: false,
    })
}

/// A loopback address where nothing listens (connections are refused).
pub async fn closed_port() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// Notifies once through the rig's first integration and returns the error text (the text that
/// reaches the log), failing if the send succeeded.
pub async fn error_text(rig: &Rig) -> String {
    let integ = &rig.notifier.receiver("r").unwrap().integrations[0];
    let data = super::data::NotificationData::new(
        "r",
        vec![alert(rig, "a:9100", 100_000)],
        0,
        &LabelSet::new(),
        "http://tocsin.test",
        GROUP_KEY,
        "first notification",
        rig.t0,
    );
    let e = integ.notify(&data).await.expect_err("the send fails");
    format!("{e} {e:?}")
}
