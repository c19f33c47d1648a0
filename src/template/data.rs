//! Alertmanager's template data model: [`Data`], [`Alert`] and the label map [`Kv`].
//!
//! These are plain serde types shaped like the webhook "version 4" payload (which is also the
//! format of preview data files). The rest of the application fills them in; templates see them
//! through the field and method names Alertmanager exposes (`.Receiver`, `.Alerts.Firing`,
//! `.CommonLabels.SortedPairs`, ...). Label sets are the model's [`LabelSet`]; otherwise this file imports only serde and
//! jiff.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
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
///
/// Its two times keep the UTC offset they were written with, as Go's `time.Time` does: an alert
/// that arrived with `"startsAt": "...+02:00"` prints `+0200` in `{{ .StartsAt }}` and in
/// `.Format`, and one sent in UTC prints `UTC`. Times without a recorded offset (made by tocsin
/// itself) are shown in the render zone, as Alertmanager shows its own `time.Now()` in `Local`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawAlert")]
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
    /// The UTC offset `starts_at` was written with, in seconds east (None: the render zone).
    #[serde(skip)]
    pub starts_at_offset: Option<i32>,
    /// The UTC offset `ends_at` was written with, in seconds east (None: the render zone).
    #[serde(skip)]
    pub ends_at_offset: Option<i32>,
}

impl Alert {
    /// `.StartsAt` as Go holds it: the instant in the zone it was written in.
    pub fn starts(&self, render: &TimeZone) -> Zoned {
        self.starts_at
            .to_zoned(zone_of(self.starts_at_offset, render))
    }

    /// `.EndsAt` as Go holds it.
    pub fn ends(&self, render: &TimeZone) -> Zoned {
        self.ends_at.to_zoned(zone_of(self.ends_at_offset, render))
    }
}

/// The zone a time written with `offset` prints in: UTC for `Z` or `+00:00` (Go's decoders
/// give the UTC location), a nameless fixed zone otherwise (`+0200 +0200`), and the render
/// zone when no offset was recorded.
pub fn zone_of(offset: Option<i32>, render: &TimeZone) -> TimeZone {
    match offset {
        None => render.clone(),
        Some(0) => TimeZone::UTC,
        Some(s) => jiff::tz::Offset::from_seconds(s)
            .map(TimeZone::fixed)
            .unwrap_or(TimeZone::UTC),
    }
}

/// The UTC offset of an RFC 3339 time (`Z` is 0, `+02:00` is 7200), None when there is none.
pub fn rfc3339_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.ends_with(['Z', 'z']) {
        return Some(0);
    }
    let tail = s.get(s.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = tail[1..].split_once(':')?;
    Some(sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60))
}

/// An alert as written in JSON: the times as text, to keep their offsets.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    #[serde(default)]
    status: String,
    #[serde(default)]
    labels: Kv,
    #[serde(default)]
    annotations: Kv,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
    #[serde(default)]
    fingerprint: String,
}

impl TryFrom<RawAlert> for Alert {
    type Error = String;

    fn try_from(r: RawAlert) -> Result<Self, String> {
        let time = |t: Option<String>| -> Result<(Timestamp, Option<i32>), String> {
            match t {
                None => Ok((zero_time(), Some(0))),
                Some(t) => {
                    let ts = t
                        .parse::<Timestamp>()
                        .map_err(|e| format!("invalid time {t:?}: {e}"))?;
                    Ok((ts, rfc3339_offset(&t)))
                }
            }
        };
        let (starts_at, starts_at_offset) = time(r.starts_at)?;
        let (ends_at, ends_at_offset) = time(r.ends_at)?;
        Ok(Alert {
            status: r.status,
            labels: r.labels,
            annotations: r.annotations,
            starts_at,
            ends_at,
            generator_url: r.generator_url,
            fingerprint: r.fingerprint,
            starts_at_offset,
            ends_at_offset,
        })
    }
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
            starts_at_offset: None,
            ends_at_offset: None,
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
