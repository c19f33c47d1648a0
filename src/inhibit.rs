//! Inhibition: a firing *source* alert mutes the *target* alerts of a rule that have the same
//! values for the rule's `equal` labels (reference §3.3, Alertmanager's `inhibit/inhibit.go`).
//!
//! Each rule keeps the source alerts it has seen, bucketed by the hash of their `equal` label
//! values (a missing label is `""`). A check hashes the target's `equal` values and looks in one
//! bucket, so its cost does not grow with the number of sources (Alertmanager 0.25 scans every
//! source: 104 µs at 10,000). Within the bucket a source counts when it still fires, its `equal`
//! values really are the target's (hash collisions are checked), and, when the target matches
//! both sides of the rule, the source does not: an alert never inhibits itself, nor another
//! two-sided alert.
//!
//! The ingest path feeds every stored alert to [`Inhibitor::observe`]; a resolved source leaves
//! its bucket at once, so its targets are released before any garbage collection.
//! Each rule's buckets sit behind a `std::sync::RwLock` (checks read in parallel); no lock is held
//! across an `.await`. Layer L2: imports `model` and `config`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use jiff::Timestamp;

use crate::config::InhibitRule;
use crate::model::{Alert, Fingerprint, LabelSet, Matcher, all_match};

/// One rule with its source index.
struct Rule {
    /// The rule's `name` (Alertmanager 0.30+), for logs.
    name: Option<String>,
    /// Matchers a source alert satisfies.
    source: Vec<Matcher>,
    /// Matchers a target alert satisfies.
    target: Vec<Matcher>,
    /// The `equal` label names, sorted and deduplicated.
    equal: Vec<String>,
    /// Source alerts by the hash of their `equal` values, then by fingerprint (so the reported
    /// inhibitor is the lowest fingerprint: deterministic).
    sources: RwLock<HashMap<u64, BTreeMap<Fingerprint, Source>>>,
}

/// A source alert as a rule keeps it.
struct Source {
    /// The alert (the store's copy, shared).
    alert: Arc<Alert>,
    /// Whether it also matches the rule's target matchers (then it cannot inhibit an alert
    /// that matches both sides).
    matches_target: bool,
}

/// A source alert that stopped inhibiting: its rule's targets with these `equal` values were
/// released.
#[derive(Debug, Clone)]
pub struct Released {
    /// The index of the rule in `inhibit_rules`.
    pub rule: usize,
    /// The source alert's labels.
    pub source: LabelSet,
}

/// The inhibitor: the rules of the loaded config with their source alerts. One value lives as
/// long as the daemon; a reload swaps its rules ([`Inhibitor::set_rules`]).
#[derive(Default)]
pub struct Inhibitor {
    /// The rules, in config order. Readers clone the `Arc` and let go of the lock.
    rules: RwLock<Arc<Vec<Rule>>>,
}

/// FNV-1a over the `equal` values of `labels`, each followed by 0xff.
fn equal_key(equal: &[String], labels: &LabelSet) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for name in equal {
        for b in labels.get(name).bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // Each update is a single map operation: a panic cannot leave a bucket half-changed.
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn lock_write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

impl Rule {
    fn new(r: &InhibitRule) -> Self {
        let mut equal = r.equal.clone();
        equal.sort();
        equal.dedup();
        Rule {
            name: r.name.clone(),
            source: r.source_matchers.clone(),
            target: r.target_matchers.clone(),
            equal,
            sources: RwLock::new(HashMap::new()),
        }
    }

    /// The first source that inhibits `labels` under this rule (lowest fingerprint).
    fn inhibitor_of(&self, labels: &LabelSet, now: Timestamp) -> Option<Fingerprint> {
        if !all_match(&self.target, labels) {
            return None;
        }
        let two_sided = all_match(&self.source, labels);
        let buckets = lock_read(&self.sources);
        let bucket = buckets.get(&equal_key(&self.equal, labels))?;
        bucket
            .iter()
            .find(|(_, s)| {
                let excluded = two_sided && s.matches_target;
                !excluded
                    && !s.alert.resolved_at(now)
                    && self
                        .equal
                        .iter()
                        .all(|n| s.alert.labels.get(n) == labels.get(n))
            })
            .map(|(fp, _)| *fp)
    }
}

impl Inhibitor {
    /// An inhibitor for `rules`, with no source alerts yet.
    pub fn new(rules: &[InhibitRule]) -> Self {
        Inhibitor {
            rules: RwLock::new(Arc::new(rules.iter().map(Rule::new).collect())),
        }
    }

    fn rules(&self) -> Arc<Vec<Rule>> {
        Arc::clone(&lock_read(&self.rules))
    }

    /// Replaces the rules (a config reload) and fills their sources from `alerts`, which is
    /// called with the rules locked: an alert stored meanwhile is observed by the new rules.
    pub fn set_rules(
        &self,
        rules: &[InhibitRule],
        alerts: impl FnOnce() -> Vec<Arc<Alert>>,
        now: Timestamp,
    ) {
        let mut cur = lock_write(&self.rules);
        let new: Vec<Rule> = rules.iter().map(Rule::new).collect();
        observe_into(&new, &alerts(), now);
        *cur = Arc::new(new);
    }

    /// Whether there are no rules (then nothing is ever inhibited).
    pub fn is_empty(&self) -> bool {
        self.rules().is_empty()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules().len()
    }

    /// Takes note of stored alerts (new versions after a merge): a firing one that matches a
    /// rule's source matchers becomes (or stays) a source of that rule; a resolved one stops
    /// being one at once. Returns the sources that stopped inhibiting.
    pub fn observe(&self, alerts: &[Arc<Alert>], now: Timestamp) -> Vec<Released> {
        observe_into(&self.rules(), alerts, now)
    }

    /// The source alert that inhibits `labels` at `now` (the first rule's, lowest
    /// fingerprint), if any: the `inhibitedBy` of an alert.
    pub fn inhibited_by(&self, labels: &LabelSet, now: Timestamp) -> Option<Fingerprint> {
        self.rules()
            .iter()
            .find_map(|r| r.inhibitor_of(labels, now))
    }

    /// Whether `labels` is inhibited at `now`.
    pub fn mutes(&self, labels: &LabelSet, now: Timestamp) -> bool {
        self.inhibited_by(labels, now).is_some()
    }

    /// Whether `labels` matches the target matchers of any rule whose source is `source`'s
    /// rule with equal `equal` values: used to find the alerts a released source freed.
    pub fn was_target_of(&self, released: &Released, labels: &LabelSet) -> bool {
        self.rules().get(released.rule).is_some_and(|r| {
            all_match(&r.target, labels)
                && r.equal
                    .iter()
                    .all(|n| released.source.get(n) == labels.get(n))
        })
    }

    /// Drops sources that resolved by `now` (by time, without a resolving POST).
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut removed = 0;
        for r in self.rules().iter() {
            let mut buckets = lock_write(&r.sources);
            buckets.retain(|_, b| {
                let before = b.len();
                b.retain(|_, s| !s.alert.resolved_at(now));
                removed += before - b.len();
                !b.is_empty()
            });
        }
        removed
    }

    /// How many source alerts each rule holds (for logs and tests).
    pub fn source_counts(&self) -> Vec<(Option<String>, usize)> {
        self.rules()
            .iter()
            .map(|r| {
                let n = lock_read(&r.sources).values().map(BTreeMap::len).sum();
                (r.name.clone(), n)
            })
            .collect()
    }
}

/// [`Inhibitor::observe`] against a given rule list.
fn observe_into(rules: &[Rule], alerts: &[Arc<Alert>], now: Timestamp) -> Vec<Released> {
    let mut released = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let mut pending: Vec<(u64, &Arc<Alert>, bool)> = Vec::new();
        for a in alerts {
            if all_match(&rule.source, &a.labels) {
                let matches_target = all_match(&rule.target, &a.labels);
                pending.push((equal_key(&rule.equal, &a.labels), a, matches_target));
            }
        }
        if pending.is_empty() {
            continue;
        }
        let mut buckets = lock_write(&rule.sources);
        for (key, a, matches_target) in pending {
            if a.resolved_at(now) {
                let Some(bucket) = buckets.get_mut(&key) else {
                    continue;
                };
                if let Some(old) = bucket.remove(&a.fingerprint) {
                    if !old.alert.resolved_at(now) {
                        released.push(Released {
                            rule: i,
                            source: a.labels.clone(),
                        });
                    }
                    if bucket.is_empty() {
                        buckets.remove(&key);
                    }
                }
            } else {
                buckets.entry(key).or_default().insert(
                    a.fingerprint,
                    Source {
                        alert: Arc::clone(a),
                        matches_target,
                    },
                );
            }
        }
    }
    released
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MatchType, test_ts as ts};
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        pairs.iter().copied().collect()
    }

    fn alert(pairs: &[(&str, &str)], ends: i64) -> Arc<Alert> {
        let labels = labels(pairs);
        Arc::new(Alert {
            fingerprint: labels.fingerprint(),
            labels,
            annotations: LabelSet::new(),
            starts_at: ts(0),
            ends_at: ts(ends),
            generator_url: Arc::from(""),
            updated_at: ts(0),
            timeout: false,
        })
    }

    fn eq(n: &str, v: &str) -> Matcher {
        Matcher::new(n, MatchType::Equal, v).unwrap()
    }

    fn rule(source: Vec<Matcher>, target: Vec<Matcher>, equal: &[&str]) -> InhibitRule {
        InhibitRule {
            name: None,
            source_matchers: source,
            target_matchers: target,
            equal: equal.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn equal_labels_decide() {
        let ih = Inhibitor::new(&[rule(
            vec![eq("severity", "critical")],
            vec![eq("severity", "warning")],
            &["cluster"],
        )]);
        let src = alert(
            &[
                ("alertname", "Down"),
                ("severity", "critical"),
                ("cluster", "a"),
            ],
            100,
        );
        ih.observe(&[Arc::clone(&src)], ts(0));
        let warn_a = labels(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "a"),
        ]);
        let warn_b = labels(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "b"),
        ]);
        let warn_none = labels(&[("alertname", "Slow"), ("severity", "warning")]);
        assert_eq!(ih.inhibited_by(&warn_a, ts(1)), Some(src.fingerprint));
        assert_eq!(ih.inhibited_by(&warn_b, ts(1)), None);
        assert_eq!(ih.inhibited_by(&warn_none, ts(1)), None);
        // The source's end passes: no longer inhibits, even before gc.
        assert_eq!(ih.inhibited_by(&warn_a, ts(100)), None);
        assert_eq!(ih.gc(ts(100)), 1);
    }

    #[test]
    fn missing_equal_labels_are_empty_on_both_sides() {
        let ih = Inhibitor::new(&[rule(vec![eq("a", "src")], vec![eq("a", "dst")], &["zone"])]);
        ih.observe(&[alert(&[("a", "src")], 100)], ts(0));
        assert!(ih.mutes(&labels(&[("a", "dst")]), ts(1)));
        assert!(!ih.mutes(&labels(&[("a", "dst"), ("zone", "z")]), ts(1)));
    }

    #[test]
    fn resolving_the_source_releases_at_once() {
        let ih = Inhibitor::new(&[rule(vec![eq("a", "src")], vec![eq("a", "dst")], &[])]);
        ih.observe(&[alert(&[("a", "src")], 100)], ts(0));
        let t = labels(&[("a", "dst")]);
        assert!(ih.mutes(&t, ts(1)));
        let released = ih.observe(&[alert(&[("a", "src")], 5)], ts(10));
        assert_eq!(released.len(), 1);
        assert!(ih.was_target_of(&released[0], &t));
        assert!(!ih.mutes(&t, ts(10)));
        assert_eq!(ih.source_counts(), vec![(None, 0)]);
    }

    #[test]
    fn an_alert_never_inhibits_itself() {
        // Both sides match `alertname=X`: two-sided alerts cannot inhibit each other.
        let ih = Inhibitor::new(&[rule(
            vec![eq("alertname", "X")],
            vec![eq("alertname", "X")],
            &[],
        )]);
        let x1 = alert(&[("alertname", "X"), ("i", "1")], 100);
        let x2 = alert(&[("alertname", "X"), ("i", "2")], 100);
        ih.observe(&[Arc::clone(&x1), Arc::clone(&x2)], ts(0));
        assert!(!ih.mutes(&x1.labels, ts(1)));
        assert!(!ih.mutes(&x2.labels, ts(1)));
        // A source that matches only the source side does inhibit a two-sided alert.
        let ih = Inhibitor::new(&[rule(vec![eq("s", "1")], vec![eq("t", "1")], &[])]);
        let both = alert(&[("s", "1"), ("t", "1")], 100);
        let src = alert(&[("s", "1")], 100);
        ih.observe(&[Arc::clone(&both)], ts(0));
        assert!(!ih.mutes(&both.labels, ts(1)), "not by itself");
        ih.observe(&[Arc::clone(&src)], ts(0));
        assert_eq!(ih.inhibited_by(&both.labels, ts(1)), Some(src.fingerprint));
    }

    fn arb_labels() -> impl Strategy<Value = LabelSet> {
        prop::collection::btree_map(
            prop::sample::select(vec!["s", "t", "e", "f"]),
            prop::sample::select(vec!["1", "2"]),
            0..4,
        )
        .prop_map(|m| m.into_iter().collect())
    }

    fn arb_rule() -> impl Strategy<Value = InhibitRule> {
        let m = (
            prop::sample::select(vec!["s", "t", "e"]),
            prop::sample::select(vec![
                crate::model::MatchType::Equal,
                crate::model::MatchType::NotEqual,
            ]),
            prop::sample::select(vec!["1", "2", ""]),
        )
            .prop_map(|(n, o, v)| Matcher::new(n, o, v).unwrap());
        (
            prop::collection::vec(m.clone(), 0..3),
            prop::collection::vec(m, 0..3),
            prop::collection::vec(prop::sample::select(vec!["e", "f"]), 0..3),
        )
            .prop_map(|(s, t, e)| InhibitRule {
                name: None,
                source_matchers: s,
                target_matchers: t,
                equal: e.into_iter().map(String::from).collect(),
            })
    }

    proptest! {
        /// The indexed check agrees with Alertmanager's rule applied to every source naively.
        #[test]
        fn agrees_with_a_naive_scan(
            rules in prop::collection::vec(arb_rule(), 0..3),
            alerts in prop::collection::vec((arb_labels(), 0i64..20), 0..12),
            now in 0i64..20,
        ) {
            let mut latest: BTreeMap<Fingerprint, Arc<Alert>> = BTreeMap::new();
            let ih = Inhibitor::new(&rules);
            for (l, ends) in &alerts {
                let pairs: Vec<(&str, &str)> = l.iter().collect();
                let a = alert(&pairs, *ends);
                ih.observe(&[Arc::clone(&a)], ts(0));
                latest.insert(a.fingerprint, a);
            }
            for (l, _) in &alerts {
                let naive = rules.iter().any(|r| {
                    all_match(&r.target_matchers, l) && latest.values().any(|s| {
                        !s.resolved_at(ts(now))
                            && all_match(&r.source_matchers, &s.labels)
                            && r.equal.iter().all(|n| s.labels.get(n) == l.get(n))
                            && !(all_match(&r.source_matchers, l) && all_match(&r.target_matchers, &s.labels))
                    })
                });
                prop_assert_eq!(ih.mutes(l, ts(now)), naive, "{:?}", l);
            }
        }
    }
}
