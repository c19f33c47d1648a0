//! Alertmanager's webhook payload, version 4, byte-compatible in field names and order.

use serde::Serialize;

use crate::model::{LabelSet, go_regex_quote};
use crate::notify::data::NotificationData;

/// Go's zero time, which Alertmanager sends as `endsAt` of firing alerts.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The v4 body.
#[derive(Serialize)]
pub struct Payload<'a> {
    receiver: String,
    status: &'a str,
    alerts: Vec<PayloadAlert<'a>>,
    #[serde(rename = "groupLabels")]
    group_labels: &'a LabelSet,
    #[serde(rename = "commonLabels")]
    common_labels: &'a LabelSet,
    #[serde(rename = "commonAnnotations")]
    common_annotations: &'a LabelSet,
    #[serde(rename = "externalURL")]
    external_url: &'a str,
    version: &'static str,
    #[serde(rename = "groupKey")]
    group_key: &'a str,
    #[serde(rename = "truncatedAlerts")]
    truncated_alerts: usize,
}

/// One alert of the body.
#[derive(Serialize)]
pub struct PayloadAlert<'a> {
    status: &'static str,
    labels: &'a LabelSet,
    annotations: &'a LabelSet,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    fingerprint: String,
}

/// Go's RFC 3339 with nanoseconds, trailing zeros trimmed (`time.RFC3339Nano`), in UTC.
pub fn go_time(t: jiff::Timestamp) -> String {
    let s = t.to_string();
    // jiff already prints the shortest fraction and a `Z` suffix for UTC.
    s
}

impl<'a> Payload<'a> {
    /// Builds the body from the notification data.
    pub fn new(d: &'a NotificationData) -> Self {
        Payload {
            receiver: go_regex_quote(&d.receiver),
            status: d.status,
            alerts: d
                .alerts
                .iter()
                .map(|(a, resolved)| PayloadAlert {
                    status: if *resolved { "resolved" } else { "firing" },
                    labels: &a.labels,
                    annotations: &a.annotations,
                    starts_at: go_time(a.starts_at),
                    ends_at: if *resolved {
                        go_time(a.ends_at)
                    } else {
                        ZERO_TIME.to_owned()
                    },
                    generator_url: &a.generator_url,
                    fingerprint: a.fingerprint.to_string(),
                })
                .collect(),
            group_labels: &d.group_labels,
            common_labels: &d.common_labels,
            common_annotations: &d.common_annotations,
            external_url: &d.external_url,
            version: "4",
            group_key: &d.group_key,
            truncated_alerts: d.truncated,
        }
    }
}
