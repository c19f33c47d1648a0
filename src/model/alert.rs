//! An alert as the store keeps it, and Alertmanager's merge rule for two versions of one alert.
//! Imports: std, jiff.

use std::sync::Arc;

use jiff::Timestamp;

use super::fingerprint::Fingerprint;
use super::labels::LabelSet;

/// One alert, identified by the fingerprint of its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Identifying labels (empty values already removed).
    pub labels: LabelSet,
    /// Fingerprint of `labels`, computed once.
    pub fingerprint: Fingerprint,
    /// Descriptive annotations (from the newest POST).
    pub annotations: LabelSet,
    /// When the alert started firing.
    pub starts_at: Timestamp,
    /// When it ends or ended. Always set once ingested (defaulted from `resolve_timeout`).
    pub ends_at: Timestamp,
    /// Link back to the producer (`generatorURL`).
    pub generator_url: Arc<str>,
    /// When this version was received.
    pub updated_at: Timestamp,
    /// Whether `ends_at` was defaulted from `resolve_timeout` rather than given.
    pub timeout: bool,
}

impl Alert {
    /// Whether the alert is resolved at `now`: `ends_at <= now`.
    pub fn resolved_at(&self, now: Timestamp) -> bool {
        self.ends_at <= now
    }

    /// Merges this (stored) alert with a newer version, as Alertmanager does: the newer one's
    /// fields, the earliest start, and the end time chosen by the rules in reference §1.2.
    pub fn merge(&self, other: &Alert, now: Timestamp) -> Alert {
        if other.updated_at < self.updated_at {
            other.clone().merged_over(self, now)
        } else {
            self.clone().merged_over_newer(other.clone(), now)
        }
    }

    /// [`Alert::merge`] taking the incoming version by value (no copy in the usual case where
    /// it is the newer one).
    pub fn merge_owned(&self, incoming: Alert, now: Timestamp) -> Alert {
        if incoming.updated_at < self.updated_at {
            incoming.merged_over(self, now)
        } else {
            self.clone().merged_over_newer(incoming, now)
        }
    }

    /// `self` is the older version, `new` the newer: the result starts from `new`.
    fn merged_over_newer(self, mut new: Alert, now: Timestamp) -> Alert {
        let old = &self;
        if old.starts_at < new.starts_at {
            new.starts_at = old.starts_at;
        }
        if new.resolved_at(now) {
            if old.resolved_at(now) && old.ends_at > new.ends_at {
                new.ends_at = old.ends_at;
            }
        } else if old.ends_at > new.ends_at && !old.timeout {
            new.ends_at = old.ends_at;
            new.timeout = false;
        }
        new
    }

    /// `self` is the older version, `newer` the stored newer one.
    fn merged_over(self, newer: &Alert, now: Timestamp) -> Alert {
        self.merged_over_newer(newer.clone(), now)
    }

    /// A copy with one more label (and the fingerprint recomputed).
    pub fn with_label(mut self, name: &str, value: &str) -> Alert {
        let mut labels = self.labels.clone();
        labels.insert(name, value);
        self.fingerprint = labels.fingerprint();
        self.labels = labels;
        self
    }

    /// Whether `self` (stored) and `new` overlap in time, which makes the store merge them
    /// instead of replacing.
    pub fn overlaps(&self, new: &Alert) -> bool {
        (new.ends_at > self.starts_at && new.ends_at < self.ends_at)
            || (new.starts_at > self.starts_at && new.starts_at < self.ends_at)
    }
}

/// Alertmanager's alert order (`types.AlertSlice`): by the `job` label, then `instance` (an
/// alert lacking the label sorts after those having it), then [`LabelSet::am_cmp`].
pub fn alert_order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for name in ["job", "instance"] {
        match (a.labels.value(name), b.labels.value(name)) {
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            _ => {}
        }
    }
    a.labels.am_cmp(&b.labels)
}

/// Seconds after 2023-11-14T22:13:20Z, for tests.
#[cfg(test)]
pub(crate) fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap_or(Timestamp::MIN)
}

/// An alert labelled `alertname=name` with its times in [`ts`] seconds, for tests.
#[cfg(test)]
pub(crate) fn test_alert(name: &str, starts: i64, ends: i64, updated: i64, timeout: bool) -> Alert {
    let labels: LabelSet = [("alertname", name)].into_iter().collect();
    Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations: LabelSet::new(),
        starts_at: ts(starts),
        ends_at: ts(ends),
        generator_url: Arc::from(""),
        updated_at: ts(updated),
        timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(starts: i64, ends: i64, updated: i64, timeout: bool) -> Alert {
        test_alert("A", starts, ends, updated, timeout)
    }

    #[test]
    fn merge_keeps_earliest_start_and_newest_fields() {
        let old = alert(0, 300, 0, false);
        let mut new = alert(60, 360, 60, false);
        new.generator_url = "http://new".into();
        let m = old.merge(&new, ts(60));
        assert_eq!(m.starts_at, ts(0));
        assert_eq!(m.ends_at, ts(360));
        assert_eq!(&*m.generator_url, "http://new");
        // Argument order does not matter: the newer update wins.
        assert_eq!(new.merge(&old, ts(60)), m);
    }

    #[test]
    fn later_explicit_end_wins_over_timeout() {
        let old = alert(0, 600, 0, false);
        let new = alert(0, 300, 60, true);
        assert_eq!(old.merge(&new, ts(60)).ends_at, ts(600));
        let old_timeout = alert(0, 600, 0, true);
        assert_eq!(old_timeout.merge(&new, ts(60)).ends_at, ts(300));
    }

    #[test]
    fn resolve_wins_unless_older_resolve_is_later() {
        let firing = alert(0, 600, 0, false);
        let resolve = alert(0, 50, 60, false);
        assert_eq!(firing.merge(&resolve, ts(60)).ends_at, ts(50));
        let resolved_later = alert(0, 55, 0, false);
        assert_eq!(resolved_later.merge(&resolve, ts(60)).ends_at, ts(55));
    }

    #[test]
    fn overlap() {
        let old = alert(0, 300, 0, false);
        assert!(old.overlaps(&alert(10, 400, 10, false)));
        assert!(!old.overlaps(&alert(400, 500, 400, false)));
    }
}
