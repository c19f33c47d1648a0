//! Alertmanager's template data model: [`Data`], [`Alert`] and the label map [`Kv`].
//!
//! These are plain serde types shaped like the webhook "version 4" payload (which is also the
//! format of preview data files). The rest of the application fills them in; templates see them
//! through the field and method names Alertmanager exposes (`.Receiver`, `.Alerts.Firing`,
//! `.CommonLabels.SortedPairs`, ...). Label sets are the model's [`LabelSet`]; otherwise this file imports only serde and jiff.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{LabelIter, LabelSet};

/// The value Go prints for a `time.Time` zero value: `0001-01-01T00:00:00Z`.
pub fn zero_time() -> Timestamp {
    // 0001-01-01T00:00:00Z is within jiff's supported range, so this never falls back.
    Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::MIN)
}

/// A label or annotation set: Go's `template.KV` (`map[string]string`), kept sorted by name.
///
/// It is the store's own compact [`LabelSet`], so building template data from an alert copies
/// two allocations per set, not two per label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Kv(pub LabelSet);

impl Kv {
    /// Builds a set from `(name, value)` pairs (a later duplicate name wins).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Kv(pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the set has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value for `name`, if present.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.value(name)
    }

    /// Entries in name order.
    pub fn iter(&self) -> LabelIter<'_> {
        self.0.iter()
    }

    /// `.SortedPairs`: pairs sorted by name, except that `alertname` comes first.
    pub fn sorted_pairs(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::with_capacity(self.len());
        if let Some(v) = self.get("alertname") {
            out.push(("alertname", v));
        }
        out.extend(self.iter().filter(|(k, _)| *k != "alertname"));
        out
    }

    /// `.Names`: the names in `.SortedPairs` order.
    pub fn names(&self) -> Vec<&str> {
        self.sorted_pairs().into_iter().map(|(k, _)| k).collect()
    }

    /// `.Values`: the values in `.SortedPairs` order.
    pub fn values(&self) -> Vec<&str> {
        self.sorted_pairs().into_iter().map(|(_, v)| v).collect()
    }

    /// `.Remove names`: a copy without the given names.
    pub fn remove<S: AsRef<str>>(&self, names: &[S]) -> Kv {
        Kv(self
            .0
            .filtered(|k, _| !names.iter().any(|n| n.as_ref() == k)))
    }
}

impl std::fmt::Display for Kv {
    /// `.String`: `name=value` pairs in `.SortedPairs` order joined by `", "`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.sorted_pairs().into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

/// One alert as templates see it (`.Alerts` elements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `.Status`: `"firing"` or `"resolved"`.
    #[serde(default)]
    pub status: String,
    /// `.Labels`.
    #[serde(default)]
    pub labels: Kv,
    /// `.Annotations`.
    #[serde(default)]
    pub annotations: Kv,
    /// `.StartsAt`.
    #[serde(default = "zero_time")]
    pub starts_at: Timestamp,
    /// `.EndsAt`: the zero time (`0001-01-01T00:00:00Z`) while firing with no known end.
    #[serde(default = "zero_time")]
    pub ends_at: Timestamp,
    /// `.GeneratorURL`: link back to the rule in the source (Prometheus graph URL).
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    /// `.Fingerprint`: `%016x` of the label-set fingerprint.
    #[serde(default)]
    pub fingerprint: String,
}

impl Default for Alert {
    fn default() -> Self {
        Alert {
            status: String::new(),
            labels: Kv::default(),
            annotations: Kv::default(),
            starts_at: zero_time(),
            ends_at: zero_time(),
            generator_url: String::new(),
            fingerprint: String::new(),
        }
    }
}

/// The whole notification as templates see it (dot at the top of every template).
///
/// Deserializes from the webhook v4 JSON; fields only in the webhook message (`version`,
/// `groupKey`, `truncatedAlerts`) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Data {
    /// `.Receiver`: the receiver name, `regexp.QuoteMeta`'d as Alertmanager does.
    #[serde(default)]
    pub receiver: String,
    /// `.Status`: `"firing"` if any alert fires, else `"resolved"`.
    #[serde(default)]
    pub status: String,
    /// `.Alerts`.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// `.NotificationReason` (`first notification`, `new alerts added`, ...).
    #[serde(default, rename = "notification_reason")]
    pub notification_reason: String,
    /// `.GroupLabels`: the labels the route groups by.
    #[serde(default)]
    pub group_labels: Kv,
    /// `.CommonLabels`: labels with the same value in every alert.
    #[serde(default)]
    pub common_labels: Kv,
    /// `.CommonAnnotations`: annotations with the same value in every alert.
    #[serde(default)]
    pub common_annotations: Kv,
    /// `.RouteLabels`: labels of the matched route.
    #[serde(default)]
    pub route_labels: Kv,
    /// `.ExternalURL`: the URL this Alertmanager is reachable at.
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
}

impl Data {
    /// `.Alerts.Firing`.
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.status == "firing")
    }

    /// `.Alerts.Resolved`.
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.status == "resolved")
    }
}
