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
//!
//! Failing that too, a general regex whose every match must contain one of a few literals
//! (`.+-12\..*` contains `-12.`; `(web|db)-eu-.*` contains `web-eu-` or `db-eu-`; `(?i)web`
//! one of its eight spellings; `.+-[4_]2\..*` `-42.` or `-_2.`: runs of literal text, classes of
//! a few characters and alternations multiplied out up to 32 strings, read from the parsed
//! regex, the set with the longest shortest member chosen) files the silence under
//! `(name, literal)` for each literal of the set; per label name, one Aho-Corasick automaton
//! over those literals (built on the first look-up after a change) finds every literal an
//! alert's value contains in one pass over the value, so an alert costs one scan of each such
//! label's value, not one regex per silence. Such a set is also used instead of a prefix when
//! its shortest literal is longer (`host-.*-12` is filed under `-12`, not `host-`).
//! Silences with none of these (only negative matchers, or regexes such as `.*` or `\d+` with no
//! literal text) sit in a list checked for every alert. Expired silences leave the index; the
//! map of all silences keeps them until retention ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::{Hir, HirKind};

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
    /// Silences by a literal their regex's every match contains, per label name.
    literal: HashMap<String, Literals>,
    /// Silences with no anchor: checked for every label set.
    scan: Vec<Arc<Silence>>,
}

/// The silences filed under literals of one label name, and the automaton finding those
/// literals in a value.
#[derive(Default)]
struct Literals {
    /// Silences by literal.
    by_literal: HashMap<Box<[u8]>, Vec<Arc<Silence>>>,
    /// The automaton over the keys of `by_literal` (pattern i is `keys[i]`), built on first use
    /// after a change; None when it could not be built (the silences are then all tried).
    finder: OnceLock<Option<Finder>>,
}

struct Finder {
    ac: AhoCorasick,
    keys: Vec<Box<[u8]>>,
}

impl Literals {
    fn finder(&self) -> Option<&Finder> {
        self.finder
            .get_or_init(|| {
                let keys: Vec<Box<[u8]>> = self.by_literal.keys().cloned().collect();
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&keys)
                    .ok()
                    .map(|ac| Finder { ac, keys })
            })
            .as_ref()
    }

    fn remove(&mut self, lit: &[u8], id: &str) -> bool {
        let Some(b) = self.by_literal.get_mut(lit) else {
            return false;
        };
        b.retain(|x| *x.id != *id);
        if b.is_empty() {
            self.by_literal.remove(lit);
            self.finder = OnceLock::new();
        }
        true
    }
}

/// Where a silence is filed.
#[derive(Debug, PartialEq, Eq)]
enum Anchor<'a> {
    /// The label must have one of these values.
    Values(&'a str, Vec<String>),
    /// The label's value must start with this literal prefix.
    Prefix(&'a str, String),
    /// The label's value must contain one of these literals.
    Contains(&'a str, Vec<Vec<u8>>),
}

/// At most this many strings in a literal set: a silence is filed under each of them.
const SET_LIMIT: usize = 32;

/// What a part of a regex tells about the strings it matches: all of them (`exact`, when few and
/// finite) and a set of literals one of which every match contains (`required`).
#[derive(Debug, Default)]
struct Facts {
    exact: Option<Vec<Vec<u8>>>,
    required: Option<Vec<Vec<u8>>>,
}

/// How well a literal set narrows the candidates: longer shortest member first (up to 8 bytes,
/// beyond which every literal is selective enough), then fewer members. None when a member is
/// empty (it is in every value) or when there are many short ones (`[a-z]+` needs one of 26
/// letters: nearly every value has one, and the silence would be tried once per letter found).
fn score(set: &[Vec<u8>]) -> Option<(usize, std::cmp::Reverse<usize>, usize)> {
    let min = set.iter().map(Vec::len).min()?;
    (min > 0 && set.len() <= 8 * min).then_some((min.min(8), std::cmp::Reverse(set.len()), min))
}

/// The better of two literal sets.
fn better(a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let (sa, sb) = (a.as_deref().and_then(score), b.as_deref().and_then(score));
    match (sa, sb) {
        (Some(x), Some(y)) if y > x => b,
        (Some(_), _) => a,
        (None, Some(_)) => b,
        (None, None) => None,
    }
}

/// Every concatenation of a string of `a` with one of `b`, if there are at most
/// [`SET_LIMIT`].
fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len().saturating_mul(b.len()) > SET_LIMIT {
        return None;
    }
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// The union of literal sets, if every one is known and there are at most [`SET_LIMIT`].
fn union(sets: impl Iterator<Item = Option<Vec<Vec<u8>>>>) -> Option<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for s in sets {
        out.extend(s?);
        if out.len() > SET_LIMIT * 2 {
            return None;
        }
    }
    out.sort_unstable();
    out.dedup();
    (out.len() <= SET_LIMIT).then_some(out)
}

/// [`Facts`] of a parsed regex: which literals every match must contain. A class of a few
/// characters (`[4_]`, or a letter under `(?i)`) and an alternation count as their few
/// strings, so `.+-[4_]2\..*` requires one of `-42.`, `-_2.` and `(web|db)-eu` one of `web-eu`,
/// `db-eu`.
fn facts(h: &Hir) -> Facts {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Facts {
            exact: Some(vec![Vec::new()]),
            required: None,
        },
        HirKind::Literal(l) => Facts {
            exact: Some(vec![l.0.to_vec()]),
            required: Some(vec![l.0.to_vec()]),
        },
        HirKind::Class(c) => {
            let set = class_strings(c);
            Facts {
                required: set.clone(),
                exact: set,
            }
        }
        HirKind::Capture(c) => facts(&c.sub),
        HirKind::Repetition(r) => {
            if r.max == Some(0) {
                return Facts {
                    exact: Some(vec![Vec::new()]),
                    required: None,
                };
            }
            if r.min == 0 {
                return Facts::default();
            }
            let sub = facts(&r.sub);
            // `x{3,}` contains `xxx`: the set raised to the minimum count.
            let mut power = sub.exact.clone().map(|_| vec![Vec::new()]);
            for _ in 0..r.min.min(16) {
                power = match (&power, &sub.exact) {
                    (Some(p), Some(e)) => product(p, e),
                    _ => None,
                };
            }
            let exact = if r.max == Some(r.min) && r.min <= 16 {
                power.clone()
            } else {
                None
            };
            Facts {
                exact,
                required: better(sub.required, power),
            }
        }
        HirKind::Alternation(branches) => {
            let all: Vec<Facts> = branches.iter().map(facts).collect();
            Facts {
                exact: union(all.iter().map(|f| f.exact.clone())),
                required: union(all.into_iter().map(|f| f.required)),
            }
        }
        HirKind::Concat(parts) => {
            // The product of a run of exact parts is required; so is each part's own set.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut run: Vec<Vec<u8>> = vec![Vec::new()];
            let mut whole = true;
            for p in parts {
                let f = facts(p);
                if let Some(e) = &f.exact
                    && let Some(joined) = product(&run, e)
                {
                    run = joined;
                    continue;
                }
                whole = false;
                best = better(best, Some(std::mem::take(&mut run)));
                best = better(best, f.required);
                run = f.exact.unwrap_or_else(|| vec![Vec::new()]);
            }
            let exact = whole.then(|| run.clone());
            Facts {
                exact,
                required: better(best, Some(run)),
            }
        }
    }
}

/// The strings of a class of at most [`SET_LIMIT`] characters (or bytes), else None.
fn class_strings(c: &regex_syntax::hir::Class) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    match c {
        regex_syntax::hir::Class::Unicode(u) => {
            for r in u.ranges() {
                let n = u32::from(r.end()) - u32::from(r.start()) + 1;
                if out.len() + n as usize > SET_LIMIT {
                    return None;
                }
                for ch in (u32::from(r.start())..=u32::from(r.end())).filter_map(char::from_u32) {
                    let mut buf = [0u8; 4];
                    out.push(ch.encode_utf8(&mut buf).as_bytes().to_vec());
                }
            }
        }
        regex_syntax::hir::Class::Bytes(b) => {
            for r in b.ranges() {
                let n = usize::from(r.end() - r.start()) + 1;
                if out.len() + n > SET_LIMIT {
                    return None;
                }
                out.extend((r.start()..=r.end()).map(|b| vec![b]));
            }
        }
    }
    Some(out)
}

/// The literals one of which every match of a matcher's regex contains (parsed as the matcher
/// compiles it: anchored), if there is such a set of non-empty literals.
fn regex_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(100)
        .build()
        .parse(&format!("^(?:{pattern})$"))
        .ok()?;
    let set = facts(&hir).required?;
    score(&set)?;
    Some(set)
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
    let mut contains: Option<(&str, Vec<Vec<u8>>)> = None;
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
                    if best.is_none()
                        && let Some(l) = regex_literals(&m.value)
                        && contains.as_ref().is_none_or(|(_, q)| score(&l) > score(q))
                    {
                        contains = Some((&m.name, l));
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
    match (best, prefix, contains) {
        (Some((n, v)), _, _) => Some(Anchor::Values(n, v)),
        (None, Some((_, p)), Some((cn, c)))
            if c.iter().map(Vec::len).min().unwrap_or(0) > p.len() =>
        {
            Some(Anchor::Contains(cn, c))
        }
        (None, Some((n, p)), _) => Some(Anchor::Prefix(n, p)),
        (None, None, Some((n, c))) => Some(Anchor::Contains(n, c)),
        (None, None, None) => None,
    }
}

impl Index {
    /// Whether no silence is filed (none can match anything).
    pub(super) fn is_empty(&self) -> bool {
        self.buckets.is_empty()
            && self.prefixed.is_empty()
            && self.literal.is_empty()
            && self.scan.is_empty()
    }

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
            Some(Anchor::Contains(name, lits)) => {
                let l = self.literal.entry(name.to_owned()).or_default();
                for lit in lits {
                    let b = l
                        .by_literal
                        .entry(lit.into_boxed_slice())
                        .or_insert_with(|| {
                            l.finder = OnceLock::new();
                            Vec::new()
                        });
                    b.push(Arc::clone(&s));
                }
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
            Some(Anchor::Contains(name, lits)) => {
                if let Some(l) = self.literal.get_mut(name) {
                    for lit in lits {
                        l.remove(&lit, id);
                    }
                    if l.by_literal.is_empty() {
                        self.literal.remove(name);
                    }
                }
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
        self.literal.retain(|_, l| {
            let before = l.by_literal.len();
            l.by_literal.retain(|_, b| {
                b.retain(keep);
                !b.is_empty()
            });
            if l.by_literal.len() != before {
                l.finder = OnceLock::new();
            }
            !l.by_literal.is_empty()
        });
        self.scan.retain(keep);
    }

    /// Calls `f` with every silence that may match `labels` (possibly more than once when
    /// hashes collide) until it returns false.
    pub(super) fn for_each_candidate(
        &self,
        labels: &LabelSet,
        mut f: impl FnMut(&Arc<Silence>) -> bool,
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
        if !self.literal.is_empty() {
            for (name, value) in labels.iter() {
                let Some(l) = self.literal.get(name) else {
                    continue;
                };
                let Some(finder) = l.finder() else {
                    // No automaton (it could not be built): try them all.
                    for b in l.by_literal.values() {
                        for s in b {
                            if !f(s) {
                                return;
                            }
                        }
                    }
                    continue;
                };
                // A literal found many times in one value (`a` in `aaaa...`) is tried once.
                let mut seen: Vec<usize> = Vec::new();
                for m in finder.ac.find_overlapping_iter(value.as_bytes()) {
                    let p = m.pattern().as_usize();
                    if seen.contains(&p) {
                        continue;
                    }
                    seen.push(p);
                    let Some(b) = finder.keys.get(p).and_then(|k| l.by_literal.get(k)) else {
                        continue;
                    };
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
        let contains = vec![
            Matcher::new("a", MatchType::Regex, ".*x").unwrap(),
            Matcher::new("e", MatchType::Regex, "(a|b)-web-.*").unwrap(),
            Matcher::new("b", MatchType::Equal, "").unwrap(),
        ];
        assert_eq!(
            anchor(&contains),
            Some(Anchor::Contains(
                "e",
                vec![b"a-web-".to_vec(), b"b-web-".to_vec()]
            ))
        );
        // A literal longer than the prefix wins over the prefix.
        let longer = vec![
            Matcher::new("i", MatchType::Regex, r"host-.*-1234\..*").unwrap(),
            Matcher::new("j", MatchType::Regex, r"db-.*").unwrap(),
        ];
        assert_eq!(
            anchor(&longer),
            Some(Anchor::Contains("i", vec![b"-1234.".to_vec()]))
        );
        let few = vec![
            Matcher::new("a", MatchType::Regex, "(?i)x.*").unwrap(),
            Matcher::new("b", MatchType::Equal, "").unwrap(),
            Matcher::new("c", MatchType::Regex, "p|").unwrap(),
            Matcher::new("d", MatchType::NotRegex, "abc.*").unwrap(),
            Matcher::new("e", MatchType::Regex, "x?yz?").unwrap(),
            Matcher::new("e", MatchType::Regex, "(ab|cd)").unwrap(),
        ];
        // `ab` or `cd` (two bytes) beats `y` of `x?yz?` and `x` or `X`.
        assert_eq!(
            anchor(&few),
            Some(Anchor::Contains("e", vec![b"ab".to_vec(), b"cd".to_vec()]))
        );
        assert_eq!(
            anchor(&few[..4]),
            Some(Anchor::Contains("a", vec![b"X".to_vec(), b"x".to_vec()]))
        );
        // Nothing any match must contain: checked for every alert.
        let none = vec![
            Matcher::new("a", MatchType::Regex, ".*").unwrap(),
            Matcher::new("b", MatchType::Regex, "x*|y+").unwrap(),
            Matcher::new("c", MatchType::Regex, r"\d+").unwrap(),
            Matcher::new("d", MatchType::NotRegex, "abc").unwrap(),
        ];
        assert_eq!(anchor(&none), None);
    }

    #[test]
    fn required_literals() {
        let lits = |p: &str| {
            regex_literals(p).map(|set| {
                set.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(lits(r".+-4242\..*").unwrap(), ["-4242."]);
        assert_eq!(lits(r"(?:db)+-(eu|us)-\d+").unwrap(), ["-eu-", "-us-"]);
        assert_eq!(lits(r"(web|db)-eu-[0-9]+").unwrap(), ["db-eu-", "web-eu-"]);
        assert_eq!(lits(r"a(b)c").unwrap(), ["abc"]);
        assert_eq!(lits(r"x*y?"), None);
        assert_eq!(lits(r"(ab|cd)").unwrap(), ["ab", "cd"]);
        assert_eq!(lits(r"(?i)ab").unwrap(), ["AB", "Ab", "aB", "ab"]);
        assert_eq!(lits(r"[ab]{2,}").unwrap(), ["aa", "ab", "ba", "bb"]);
        assert_eq!(lits(r"(a|)b").unwrap(), ["ab", "b"]);
        assert_eq!(lits(r"(").as_deref(), None);
        // Anchored as Alertmanager anchors it, `^(?:a)|(b)$` needs an `a` or a `b`.
        assert_eq!(lits(r"a)|(b").unwrap(), ["a", "b"]);
        assert_eq!(lits(r"ä.*ö{1,3}").unwrap(), ["ä"]);
        // Each digit a class of two: sixteen literals of six bytes.
        let set = lits(r".+-[4_][2_][4_][2_]\..*").unwrap();
        assert_eq!(set.len(), 16);
        assert!(set.contains(&"-4242.".to_owned()) && set.contains(&"-____.".to_owned()));
        // Too many strings: the best smaller set instead.
        let set = lits(r"[0-9a-z]-x[0-9][0-9]").unwrap();
        assert_eq!(set.len(), 10, "{set:?}");
        assert!(set.contains(&"-x5".to_owned()));
        assert_eq!(lits(r".*|a"), None);
        assert_eq!(lits(r"[a-z]+"), None);
    }

    #[test]
    fn literal_sets_are_exact_about_candidates() {
        // Every value a regex matches contains one of its literals (a wrong set would hide a
        // silence): checked on values built from each regex's own alphabet.
        for (pattern, values) in [
            (
                r"(?i)host-[0-9a]\..*",
                &["HOST-1.x", "hOsT-a.", "host-9.y"][..],
            ),
            (r"(ab|cd){2}x?", &["abab", "abcd", "cdcdx"][..]),
            (r"[ab]{3,}z", &["aaaz", "babbz", "bbbbbbz"][..]),
            (r"(x|y)(1|2)(p|q)", &["x1p", "y2q"][..]),
        ] {
            let set = regex_literals(pattern).unwrap();
            let re = crate::model::Matcher::new("l", MatchType::Regex, pattern).unwrap();
            for v in values {
                let labels: LabelSet = [("l", *v)].into_iter().collect();
                assert!(re.matches(&labels), "{pattern} should match {v}");
                assert!(
                    set.iter()
                        .any(|l| v.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                    "{pattern}: {v} contains none of {set:?}"
                );
            }
        }
    }

    #[test]
    fn literal_silences_are_found_through_the_automaton() {
        let mut ix = Index::default();
        let (a, b, c) = (
            prefix_silence("a", r".+-12\..*"),
            prefix_silence("b", r".+-123\..*"),
            prefix_silence("c", r"(web|db)-eu-.*"),
        );
        for s in [&a, &b, &c] {
            ix.insert(Arc::clone(s));
        }
        assert_eq!(candidates(&ix, "host-12.example"), vec!["a"]);
        assert_eq!(candidates(&ix, "host-123.example"), vec!["b"]);
        assert_eq!(candidates(&ix, "db-eu-3"), vec!["c"]);
        assert!(candidates(&ix, "host-1.example").is_empty());
        // Found many times in one value, a literal's silences are tried once.
        assert_eq!(candidates(&ix, "db-eu-db-eu-db-eu-1"), vec!["c"]);
        // A change rebuilds the automaton.
        ix.remove(&b);
        assert!(candidates(&ix, "host-123.example").is_empty());
        let d = prefix_silence("d", r".*-123\..*");
        ix.insert(Arc::clone(&d));
        assert_eq!(candidates(&ix, "host-123.example"), vec!["d"]);
        ix.prune_expired(Timestamp::from_second(3_000).unwrap(), |_| true);
        assert!(candidates(&ix, "host-12.example").is_empty());
        assert!(ix.literal.is_empty());
    }

    /// Regex pieces, each with strings it matches.
    const PIECES: &[(&str, &[&str])] = &[
        ("a", &["a"]),
        ("b", &["b"]),
        ("ab", &["ab"]),
        ("[ab]", &["a", "b"]),
        ("(a|b)", &["a", "b"]),
        ("(ab|c)", &["ab", "c"]),
        ("x?", &["", "x"]),
        ("y*", &["", "y", "yy"]),
        ("z+", &["z", "zz"]),
        ("(?i:c)", &["c", "C"]),
        (".", &["a", "-", "é"]),
        ("[a-c]{2}", &["ab", "ca", "cc"]),
        ("(a|)", &["a", ""]),
        ("b{2,}", &["bb", "bbb"]),
        ("(?:xa)+", &["xa", "xaxa"]),
        ("-", &["-"]),
        ("[0-9]", &["0", "7"]),
        ("\\d", &["3"]),
        ("(?i)k", &["k", "K", "\u{212a}"]),
    ];

    proptest::proptest! {
        /// A value a regex matches contains one of the regex's literals: the index never hides
        /// a silence that matches. Regexes are built from pieces, values from strings each piece
        /// matches.
        #[test]
        fn a_matching_value_contains_a_literal_of_the_set(
            picks in proptest::collection::vec((0..PIECES.len(), 0..3usize), 1..7),
        ) {
            let pattern: String = picks.iter().map(|&(p, _)| PIECES[p].0).collect();
            let value: String = picks
                .iter()
                .map(|&(p, e)| PIECES[p].1[e % PIECES[p].1.len()])
                .collect();
            let re = Matcher::new("l", MatchType::Regex, &pattern).unwrap();
            proptest::prop_assert!(re.matches_value(&value), "{} vs {}", pattern, value);
            if let Some(set) = regex_literals(&pattern) {
                proptest::prop_assert!(
                    set.iter().any(|l| value.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                    "{} matches {} but contains none of {:?}", pattern, value, set
                );
            }
        }
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
