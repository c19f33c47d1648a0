//! The matching index: which silences could match a label set, without trying all of them.
//!
//! Each silence gets one *anchor*: a matcher that only accepts a few known values of one label,
//! `name="value"` (non-empty), or `name=~"a|b|c"` when the regex is a plain alternation of
//! literals with none empty. The silence is filed under the hash of `(name, value)` for each
//! such value. An alert with labels `l1..ln` then looks up `n` buckets; every silence in them is
//! checked in full (a hash collision costs a check, never a wrong answer). Silences without an
//! anchor (only negative or general regex matchers) sit in a list checked for every alert.
//! Expired silences leave the index; the map of all silences keeps them until retention ends.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::{Silence, SilenceState};
use crate::model::{LabelSet, MatchType, Matcher};

/// The index over the silences not yet expired.
#[derive(Default)]
pub(super) struct Index {
    /// Silences by the hash of an anchor `(name, value)`.
    buckets: HashMap<u64, Vec<Arc<Silence>>>,
    /// Silences with no anchor: checked for every label set.
    scan: Vec<Arc<Silence>>,
}

/// FNV-1a over `name 0xff value`: cheap for short strings, deterministic.
fn key(name: &str, value: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain([0xff]).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The literal values a regex accepts when it is a plain alternation (`a|b\.c|d`), else None.
fn literal_alternatives(pattern: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push(String::new()),
            '\\' => {
                let next = chars.next()?;
                if !next.is_ascii_punctuation() {
                    return None; // \d, \w, \b ...: a class or an assertion
                }
                out.last_mut()?.push(next);
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => return None,
            c => out.last_mut()?.push(c),
        }
    }
    Some(out)
}

/// The anchor of a matcher list: a label name and the values it must have.
fn anchor(ms: &[Matcher]) -> Option<(&str, Vec<String>)> {
    let mut best: Option<(&str, Vec<String>)> = None;
    for m in ms {
        let values = match m.op {
            MatchType::Equal if !m.value.is_empty() => vec![m.value.clone()],
            MatchType::Regex => match literal_alternatives(&m.value) {
                Some(v) if v.iter().all(|s| !s.is_empty()) => v,
                _ => continue,
            },
            _ => continue,
        };
        // Fewer values: fewer buckets to file under.
        if best.as_ref().is_none_or(|(_, b)| values.len() < b.len()) {
            best = Some((&m.name, values));
        }
    }
    best
}

impl Index {
    /// Files a silence.
    pub(super) fn insert(&mut self, s: Arc<Silence>) {
        match anchor(&s.matchers) {
            Some((name, values)) => {
                let mut keys: Vec<u64> = values.iter().map(|v| key(name, v)).collect();
                keys.sort_unstable();
                keys.dedup();
                for k in keys {
                    self.buckets.entry(k).or_default().push(Arc::clone(&s));
                }
            }
            None => self.scan.push(s),
        }
    }

    /// Takes a silence out (by id).
    pub(super) fn remove(&mut self, s: &Silence) {
        let id = &s.id;
        match anchor(&s.matchers) {
            Some((name, values)) => {
                for v in values {
                    let k = key(name, &v);
                    if let Some(b) = self.buckets.get_mut(&k) {
                        b.retain(|x| x.id != *id);
                        if b.is_empty() {
                            self.buckets.remove(&k);
                        }
                    }
                }
            }
            None => self.scan.retain(|x| x.id != *id),
        }
    }

    /// Drops expired silences and any whose id `live` no longer knows.
    pub(super) fn prune_expired(&mut self, now: Timestamp, live: impl Fn(&str) -> bool) {
        let keep = |s: &Arc<Silence>| s.state(now) != SilenceState::Expired && live(&s.id);
        self.buckets.retain(|_, b| {
            b.retain(keep);
            !b.is_empty()
        });
        self.scan.retain(keep);
    }

    /// Calls `f` with every silence that may match `labels` (possibly more than once when
    /// hashes collide) until it returns false.
    pub(super) fn for_each_candidate(
        &self,
        labels: &LabelSet,
        mut f: impl FnMut(&Silence) -> bool,
    ) {
        if !self.buckets.is_empty() {
            for (name, value) in labels.iter() {
                if let Some(b) = self.buckets.get(&key(name, value)) {
                    for s in b {
                        if !f(s) {
                            return;
                        }
                    }
                }
            }
        }
        for s in &self.scan {
            if !f(s) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_alternations() {
        assert_eq!(
            literal_alternatives(r"a|b\.c|d-e"),
            Some(vec!["a".into(), "b.c".into(), "d-e".into()])
        );
        assert_eq!(literal_alternatives("web"), Some(vec!["web".into()]));
        assert_eq!(
            literal_alternatives("a|"),
            Some(vec!["a".into(), "".into()])
        );
        assert_eq!(literal_alternatives("a.b"), None);
        assert_eq!(literal_alternatives(r"a\d"), None);
        assert_eq!(literal_alternatives("(a|b)"), None);
    }

    #[test]
    fn anchors_prefer_the_narrowest_matcher() {
        let ms = vec![
            Matcher::new("a", MatchType::Regex, "x|y").unwrap(),
            Matcher::new("b", MatchType::Equal, "z").unwrap(),
            Matcher::new("c", MatchType::NotEqual, "w").unwrap(),
        ];
        assert_eq!(anchor(&ms), Some(("b", vec!["z".to_owned()])));
        let none = vec![
            Matcher::new("a", MatchType::Regex, "x.*").unwrap(),
            Matcher::new("b", MatchType::Equal, "").unwrap(),
            Matcher::new("c", MatchType::Regex, "p|").unwrap(),
        ];
        assert_eq!(anchor(&none), None);
    }
}
