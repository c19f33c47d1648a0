//! `--alerts.per-alertname-limit` (Alertmanager 0.28+): at most N firing alerts per alertname.
//! Past it a new firing alert of that name is dropped; alerts already admitted keep being
//! updated, and a resolved (or expired) one frees its place.
//!
//! A bucket per alertname holds the fingerprints admitted and when each stops firing; a full
//! bucket first forgets the entries whose time has passed. Layer L2: imports `model`.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;

use crate::model::{Alert, Fingerprint};

/// The per-alertname buckets. Zero limit: everything is admitted and nothing is kept.
#[derive(Debug, Default)]
pub struct PerAlertnameLimit {
    limit: usize,
    buckets: Mutex<HashMap<String, HashMap<Fingerprint, Timestamp>>>,
}

impl PerAlertnameLimit {
    /// A limit of `limit` firing alerts per alertname; 0 (or less, as Alertmanager reads it)
    /// for none.
    pub fn new(limit: i64) -> Self {
        PerAlertnameLimit {
            limit: usize::try_from(limit).unwrap_or(0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit (0: none).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether `alert` may be stored at `now`: true for an alert already admitted, a resolved
    /// one (it frees its place) or one that finds room; false drops it.
    pub fn admit(&self, alert: &Alert, now: Timestamp) -> bool {
        if self.limit == 0 {
            return true;
        }
        let name = alert.labels.get("alertname");
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let fp = alert.fingerprint;
        if alert.ends_at <= now {
            if let Some(b) = buckets.get_mut(name) {
                b.remove(&fp);
                if b.is_empty() {
                    buckets.remove(name);
                }
            }
            return true;
        }
        let bucket = buckets.entry(name.to_owned()).or_default();
        if let Some(ends) = bucket.get_mut(&fp) {
            *ends = alert.ends_at;
            return true;
        }
        if bucket.len() >= self.limit {
            bucket.retain(|_, ends| *ends > now);
        }
        if bucket.len() >= self.limit {
            return false;
        }
        bucket.insert(fp, alert.ends_at);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelSet;

    fn alert(name: &str, instance: &str, ends: Timestamp) -> Alert {
        let mut labels = LabelSet::default();
        labels.insert("alertname", name);
        labels.insert("instance", instance);
        Alert {
            fingerprint: labels.fingerprint(),
            labels,
            annotations: LabelSet::default(),
            starts_at: Timestamp::UNIX_EPOCH,
            ends_at: ends,
            generator_url: "".into(),
            updated_at: Timestamp::UNIX_EPOCH,
            timeout: false,
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn new_firing_alerts_past_the_limit_are_dropped_known_ones_updated() {
        let l = PerAlertnameLimit::new(2);
        let now = at(100);
        assert!(l.admit(&alert("A", "1", at(200)), now));
        assert!(l.admit(&alert("A", "2", at(200)), now));
        assert!(!l.admit(&alert("A", "3", at(200)), now));
        // Known ones are updated, another alertname has its own bucket.
        assert!(l.admit(&alert("A", "1", at(300)), now));
        assert!(l.admit(&alert("B", "3", at(200)), now));
    }

    #[test]
    fn resolved_or_expired_alerts_free_their_place() {
        let l = PerAlertnameLimit::new(1);
        assert!(l.admit(&alert("A", "1", at(200)), at(100)));
        assert!(!l.admit(&alert("A", "2", at(200)), at(100)));
        // Resolved: admitted (stored as resolved) and its place is free.
        assert!(l.admit(&alert("A", "1", at(100)), at(100)));
        assert!(l.admit(&alert("A", "2", at(400)), at(100)));
        // Expired without a resolve: its place is free once its end has passed.
        assert!(!l.admit(&alert("A", "3", at(500)), at(300)));
        assert!(l.admit(&alert("A", "3", at(500)), at(400)));
    }

    #[test]
    fn zero_or_negative_is_no_limit() {
        for n in [0, -5] {
            let l = PerAlertnameLimit::new(n);
            for i in 0..100 {
                assert!(l.admit(&alert("A", &i.to_string(), at(200)), at(100)));
            }
            assert!(l.buckets.lock().unwrap().is_empty());
        }
    }
}
