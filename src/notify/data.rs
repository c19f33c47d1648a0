//! What one notification is about: the alerts of a flush, sorted and truncated, with the status
//! and common labels computed the way Alertmanager computes them (over the truncated list).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::model::{Alert, LabelSet, alert_order, go_regex_quote};
use crate::nflog::ReceiverData;
use crate::template;

/// One notification's content.
#[derive(Debug, Clone)]
pub struct NotificationData {
    /// Receiver name (raw; the webhook payload regex-quotes it).
    pub receiver: String,
    /// `"firing"` if any carried alert fires, else `"resolved"`.
    pub status: &'static str,
    /// The carried alerts, sorted, with their resolved flag at flush time.
    pub alerts: Vec<(Arc<Alert>, bool)>,
    /// How many alerts `max_alerts` cut off.
    pub truncated: usize,
    /// The group's labels.
    pub group_labels: LabelSet,
    /// Labels with the same value in every carried alert.
    pub common_labels: LabelSet,
    /// Annotations with the same value in every carried alert.
    pub common_annotations: LabelSet,
    /// The daemon's external URL.
    pub external_url: String,
    /// The group key.
    pub group_key: String,
    /// Why this notification goes out.
    pub reason: &'static str,
    /// The flush time.
    pub now: Timestamp,
    /// What this integration's last successful send for this group asked to keep (Slack's
    /// channel and `ts`...), from the notification log; empty when there was none.
    pub receiver_data: ReceiverData,
    /// How long one request may take when the integration's config sets no `timeout`: every
    /// integration bounds each request by it, so a receiver that never answers costs one
    /// failed (and retried) attempt, not the group. The pipeline sets it from the group
    /// interval.
    pub timeout: Duration,
}

/// Labels whose value is the same in every set (empty for no sets).
pub fn common<'a>(mut sets: impl Iterator<Item = &'a LabelSet>) -> LabelSet {
    let Some(first) = sets.next() else {
        return LabelSet::new();
    };
    let mut out = first.clone();
    for s in sets {
        if out.is_empty() {
            break;
        }
        out = out.filtered(|k, v| s.value(k) == Some(v));
    }
    out
}

impl NotificationData {
    /// Builds the data for a list of alerts (already filtered for this integration).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        receiver: &str,
        mut alerts: Vec<Arc<Alert>>,
        max_alerts: usize,
        group_labels: &LabelSet,
        external_url: &str,
        group_key: &str,
        reason: &'static str,
        now: Timestamp,
    ) -> Self {
        alerts.sort_by(|a, b| alert_order(a, b));
        let mut truncated = 0;
        if max_alerts > 0 && alerts.len() > max_alerts {
            truncated = alerts.len() - max_alerts;
            alerts.truncate(max_alerts);
        }
        let alerts: Vec<(Arc<Alert>, bool)> = alerts
            .into_iter()
            .map(|a| {
                let r = a.resolved_at(now);
                (a, r)
            })
            .collect();
        let status = if alerts.iter().any(|(_, r)| !r) {
            "firing"
        } else {
            "resolved"
        };
        NotificationData {
            receiver: receiver.to_owned(),
            status,
            common_labels: common(alerts.iter().map(|(a, _)| &a.labels)),
            common_annotations: common(alerts.iter().map(|(a, _)| &a.annotations)),
            alerts,
            truncated,
            group_labels: group_labels.clone(),
            external_url: external_url.to_owned(),
            group_key: group_key.to_owned(),
            reason,
            now,
            receiver_data: ReceiverData::new(),
            timeout: super::pipeline::MIN_REQUEST_TIMEOUT,
        }
    }
}

fn kv(ls: &LabelSet) -> template::Kv {
    template::Kv(ls.clone())
}

impl NotificationData {
    /// The template data (`.Receiver`, `.Alerts`, ...) exactly as Alertmanager builds it: the
    /// receiver name regex-quoted, firing alerts with Go's zero end time.
    pub fn template_data(&self) -> template::Data {
        template::Data {
            receiver: go_regex_quote(&self.receiver),
            status: self.status.to_owned(),
            alerts: self
                .alerts
                .iter()
                .map(|(a, resolved)| template::Alert {
                    status: if *resolved { "resolved" } else { "firing" }.to_owned(),
                    labels: kv(&a.labels),
                    annotations: kv(&a.annotations),
                    starts_at: a.starts_at,
                    ends_at: if *resolved {
                        a.ends_at
                    } else {
                        template::zero_time()
                    },
                    generator_url: a.generator_url.to_string(),
                    fingerprint: a.fingerprint.to_string(),
                    starts_at_offset: None,
                    // Go's zero time is in UTC whatever the local zone.
                    ends_at_offset: (!*resolved).then_some(0),
                })
                .collect(),
            notification_reason: self.reason.to_owned(),
            group_labels: kv(&self.group_labels),
            common_labels: kv(&self.common_labels),
            common_annotations: kv(&self.common_annotations),
            route_labels: template::Kv::default(),
            external_url: self.external_url.clone(),
        }
    }
}
