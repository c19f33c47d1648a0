//! The matching index: which silences could match a label set, without trying all of them.
//!
//! Each silence gets one *anchor*: a matcher that only accepts a few known values of one label,
//! `name="value"` (non-empty), or `name=~"a|b|c"` when the regex is a plain alternation of
//! literals with none empty. The silence is filed under the hash of `(name, value)` for each
//! such value. An alert with labels `l1..ln` then looks up `n` buckets; every silence in them is
//! checked in full (a hash collision costs a check, never a wrong answer).
//!
//! Failing that, a regex with a literal prefix and no alternation (`host-12\..*`, the usual
//! "this host" silence) files the silence under `(name, prefix)`, and the prefix lengths in use
//! are kept per label name: an alert's label is looked up once per length in use for its name.
//! Silences with neither (only negative or general regex matchers) sit in a list checked for
//! every alert. Expired silences leave the index; the map of all silences keeps them until
//! retention ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;

use super::{Silence, SilenceState};
use crate::model::{LabelSet, MatchType, Matcher};

/// The index over the silences not yet expired.
#[derive(Default)]
pub(super) struct Index {
    /// Silences by the hash of an anchor `(name, value)`.
    buckets: HashMap<u64, Vec<Arc<Silence>>>,
    /// Silences by the hash of `(name, literal prefix)` of a regex matcher.
    prefixed: HashMap<u64, Vec<Arc<Silence>>>,
    /// The prefix lengths (bytes) in `prefixed` per label name, each with how many silences
    /// use it.
    prefix_lens: HashMap<String, BTreeMap<usize, usize>>,
    /// Silences with no anchor: checked for every label set.
    scan: Vec<Arc<Silence>>,
}

/// Where a silence is filed.
#[derive(Debug, PartialEq, Eq)]
enum Anchor<'a> {
    /// The label must have one of these values.
    Values(&'a str, Vec<String>),
    /// The label's value must start with this literal prefix.
    Prefix(&'a str, String),
}

/// The characters `regex` treats as meta: escaped, they stand for themselves (other escapes are
/// classes or assertions, such as `\d` and `\<`).
fn is_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
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
                if !is_meta(next) {
                    return None; // \d, \w, \b, \< ...: a class or an assertion
                }
                out.last_mut()?.push(next);
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => return None,
            c => out.last_mut()?.push(c),
        }
    }
    Some(out)
}

/// The literal text every match of an anchored regex starts with, when the regex has no
/// alternation: the characters before the first meta character, less the last one if a
/// repetition follows it. None when that is empty.
fn literal_prefix(pattern: &str) -> Option<String> {
    let mut chars = pattern.chars();
    let mut prefix = String::new();
    let mut before_last = 0;
    let mut stop = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) if is_meta(n) => {
                    before_last = prefix.len();
                    prefix.push(n);
                }
                _ => {
                    stop = Some('\\');
                    break;
                }
            },
            c if is_meta(c) && !matches!(c, '#' | '&' | '-' | '~') => {
                stop = Some(c);
                break;
            }
            c => {
                before_last = prefix.len();
                prefix.push(c);
            }
        }
    }
    // An alternation anywhere (even escaped-looking or in a class: be conservative) may offer
    // a branch without the prefix.
    if pattern.contains('|') {
        return None;
    }
    if matches!(stop, Some('?' | '*' | '+' | '{')) {
        prefix.truncate(before_last);
    }
    (!prefix.is_empty()).then_some(prefix)
}

/// The anchor of a matcher list: a label name and the values it must have (the fewest
/// values win), else a label name and the longest literal prefix its value must have.
fn anchor(ms: &[Matcher]) -> Option<Anchor<'_>> {
    let mut best: Option<(&str, Vec<String>)> = None;
    let mut prefix: Option<(&str, String)> = None;
    for m in ms {
        let values = match m.op {
            MatchType::Equal if !m.value.is_empty() => vec![m.value.clone()],
            MatchType::Regex => match literal_alternatives(&m.value) {
                Some(v) if v.iter().all(|s| !s.is_empty()) => v,
                Some(_) => continue,
                None => {
                    if let Some(p) = literal_prefix(&m.value)
                        && prefix.as_ref().is_none_or(|(_, q)| p.len() > q.len())
                    {
                        prefix = Some((&m.name, p));
                    }
                    continue;
                }
            },
            _ => continue,
        };
        // Fewer values: fewer buckets to file under.
        if best.as_ref().is_none_or(|(_, b)| values.len() < b.len()) {
            best = Some((&m.name, values));
        }
    }
    match (best, prefix) {
        (Some((n, v)), _) => Some(Anchor::Values(n, v)),
        (None, Some((n, p))) => Some(Anchor::Prefix(n, p)),
        (None, None) => None,
    }
}

impl Index {
    /// Files a silence.
    pub(super) fn insert(&mut self, s: Arc<Silence>) {
        match anchor(&s.matchers) {
            Some(Anchor::Values(name, values)) => {
                let mut keys: Vec<u64> = values.iter().map(|v| key(name, v)).collect();
                keys.sort_unstable();
                keys.dedup();
                for k in keys {
                    self.buckets.entry(k).or_default().push(Arc::clone(&s));
                }
            }
            Some(Anchor::Prefix(name, p)) => {
                *self
                    .prefix_lens
                    .entry(name.to_owned())
                    .or_default()
                    .entry(p.len())
                    .or_default() += 1;
                self.prefixed
                    .entry(key(name, &p))
                    .or_default()
                    .push(Arc::clone(&s));
            }
            None => self.scan.push(s),
        }
    }

    /// Takes a silence out (by id).
    pub(super) fn remove(&mut self, s: &Silence) {
        let id = &s.id;
        match anchor(&s.matchers) {
            Some(Anchor::Values(name, values)) => {
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
            Some(Anchor::Prefix(name, p)) => {
                let k = key(name, &p);
                let Some(b) = self.prefixed.get_mut(&k) else {
                    return;
                };
                let before = b.len();
                b.retain(|x| x.id != *id);
                let removed = before - b.len();
                if b.is_empty() {
                    self.prefixed.remove(&k);
                }
                self.forget_prefix(name, p.len(), removed);
            }
            None => self.scan.retain(|x| x.id != *id),
        }
    }

    /// Lowers the count of silences filed under a prefix of `len` bytes of `name`.
    fn forget_prefix(&mut self, name: &str, len: usize, n: usize) {
        if n == 0 {
            return;
        }
        let Some(lens) = self.prefix_lens.get_mut(name) else {
            return;
        };
        if let Some(c) = lens.get_mut(&len) {
            *c = c.saturating_sub(n);
            if *c == 0 {
                lens.remove(&len);
            }
        }
        if lens.is_empty() {
            self.prefix_lens.remove(name);
        }
    }

    /// Drops expired silences and any whose id `live` no longer knows.
    pub(super) fn prune_expired(&mut self, now: Timestamp, live: impl Fn(&str) -> bool) {
        let keep = |s: &Arc<Silence>| s.state(now) != SilenceState::Expired && live(&s.id);
        self.buckets.retain(|_, b| {
            b.retain(keep);
            !b.is_empty()
        });
        let mut dropped = Vec::new();
        self.prefixed.retain(|_, b| {
            b.retain(|s| {
                let k = keep(s);
                if !k {
                    dropped.push(Arc::clone(s));
                }
                k
            });
            !b.is_empty()
        });
        for s in dropped {
            if let Some(Anchor::Prefix(name, p)) = anchor(&s.matchers) {
                self.forget_prefix(name, p.len(), 1);
            }
        }
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
        if !self.prefix_lens.is_empty() {
            for (name, value) in labels.iter() {
                let Some(lens) = self.prefix_lens.get(name) else {
                    continue;
                };
                for &len in lens.keys() {
                    let Some(p) = value.get(..len) else {
                        continue; // shorter, or not at a character boundary
                    };
                    if let Some(b) = self.prefixed.get(&key(name, p)) {
                        for s in b {
                            if !f(s) {
                                return;
                            }
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
        assert_eq!(anchor(&ms), Some(Anchor::Values("b", vec!["z".to_owned()])));
        let prefixed = vec![
            Matcher::new("a", MatchType::Regex, "x.*").unwrap(),
            Matcher::new("d", MatchType::Regex, r"host-1\..*").unwrap(),
            Matcher::new("b", MatchType::Equal, "").unwrap(),
            Matcher::new("c", MatchType::Regex, "p|").unwrap(),
        ];
        assert_eq!(
            anchor(&prefixed),
            Some(Anchor::Prefix("d", "host-1.".to_owned()))
        );
        let none = vec![
            Matcher::new("a", MatchType::Regex, ".*x").unwrap(),
            Matcher::new("b", MatchType::Equal, "").unwrap(),
            Matcher::new("c", MatchType::Regex, "p|").unwrap(),
        ];
        assert_eq!(anchor(&none), None);
    }

    fn prefix_silence(id: &str, pattern: &str) -> Arc<Silence> {
        let t = Timestamp::from_second(1_000).unwrap();
        Arc::new(Silence {
            id: Arc::from(id),
            matchers: vec![Matcher::new("instance", MatchType::Regex, pattern).unwrap()],
            starts_at: t,
            ends_at: Timestamp::from_second(2_000).unwrap(),
            updated_at: t,
            created_by: "me".into(),
            comment: "why".into(),
            annotations: LabelSet::new(),
        })
    }

    fn candidates(ix: &Index, value: &str) -> Vec<String> {
        let labels: LabelSet = [("instance", value)].into_iter().collect();
        let mut out = Vec::new();
        ix.for_each_candidate(&labels, |s| {
            out.push(s.id.to_string());
            true
        });
        out.sort();
        out
    }

    #[test]
    fn prefix_lengths_are_kept_while_a_silence_uses_them() {
        let mut ix = Index::default();
        let (a, b, c) = (
            prefix_silence("a", r"web-1\..*"),
            prefix_silence("b", r"web-2\..*"),
            prefix_silence("c", "db.*"),
        );
        for s in [&a, &b, &c] {
            ix.insert(Arc::clone(s));
        }
        assert_eq!(candidates(&ix, "web-1.example"), ["a"]);
        assert_eq!(candidates(&ix, "db7"), ["c"]);
        assert!(
            candidates(&ix, "web").is_empty(),
            "shorter than every prefix"
        );
        ix.remove(&a);
        assert!(candidates(&ix, "web-1.example").is_empty());
        assert_eq!(
            candidates(&ix, "web-2.x"),
            ["b"],
            "the length is still in use"
        );
        // Removing twice changes nothing; pruning drops the rest.
        ix.remove(&a);
        assert_eq!(candidates(&ix, "web-2.x"), ["b"]);
        ix.prune_expired(Timestamp::from_second(3_000).unwrap(), |_| true);
        assert!(ix.prefixed.is_empty() && ix.prefix_lens.is_empty());
        assert!(candidates(&ix, "web-2.x").is_empty());
    }

    #[test]
    fn literal_prefixes() {
        let p = |s: &str| literal_prefix(s);
        assert_eq!(p(r"host-1\..*").as_deref(), Some("host-1."));
        assert_eq!(p("web[0-9]+").as_deref(), Some("web"));
        // A repeated last character is optional.
        assert_eq!(p("abc*").as_deref(), Some("ab"));
        assert_eq!(p("abc?d").as_deref(), Some("ab"));
        assert_eq!(p("ab{0,3}").as_deref(), Some("a"));
        assert_eq!(p(r"a\.+").as_deref(), Some("a"));
        assert_eq!(p("a*"), None);
        // Alternations, flags, classes and assertions up front have none.
        assert_eq!(p("ab.*|cd"), None);
        assert_eq!(p("(ab|cd).*"), None);
        assert_eq!(p("(?i)ab.*"), None);
        assert_eq!(p(r"\dab"), None);
        assert_eq!(p(r"ab\<c"), Some("ab".to_owned()));
        assert_eq!(p(".*"), None);
        assert_eq!(p("é.*").as_deref(), Some("é"));
    }
}
