//! Label names, label sets and their fingerprints.
//!
//! A [`LabelSet`] is an ordered map (bytewise name order, as Go's `sort.Strings`), so every
//! iteration, fingerprint and printed form is deterministic. Imports: std only.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use super::quote::go_quote;

/// How label names are validated: Alertmanager's classic rule, or any non-empty UTF-8 string
/// (the default since Alertmanager 0.27's "fallback" and "utf8-strict" modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    Classic,
    /// Any non-empty string.
    #[default]
    Utf8,
}

/// Whether `name` is a valid label name under the classic rule `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_classic_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `name` is a valid label name under `mode`.
pub fn is_valid_label_name(name: &str, mode: NameValidation) -> bool {
    match mode {
        NameValidation::Classic => is_classic_label_name(name),
        NameValidation::Utf8 => !name.is_empty(),
    }
}

/// A set of labels (or annotations): names to values, ordered by name (bytewise).
///
/// Stored compactly, because an alert store holds hundreds of thousands of them: every name and
/// value concatenated in one string, plus the end offset of each. Two allocations per set
/// instead of two per label. Sets are built once and read many times; `insert` rebuilds.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSet {
    /// `name0 value0 name1 value1 ...` with no separators.
    buf: Box<str>,
    /// End offset in `buf` of each name and value, alternating.
    ends: Box<[u32]>,
}

impl LabelSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds from pairs already sorted by name with no duplicate names.
    fn from_sorted<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let total: usize = pairs.clone().map(|(k, v)| k.len() + v.len()).sum();
        let mut buf = String::with_capacity(total);
        let mut ends = Vec::with_capacity(pairs.clone().count() * 2);
        for (k, v) in pairs {
            buf.push_str(k);
            ends.push(buf.len() as u32);
            buf.push_str(v);
            ends.push(buf.len() as u32);
        }
        LabelSet {
            buf: buf.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    #[inline]
    fn pair(&self, i: usize) -> (&str, &str) {
        let start = if i == 0 {
            0
        } else {
            self.ends[2 * i - 1] as usize
        };
        let mid = self.ends[2 * i] as usize;
        let end = self.ends[2 * i + 1] as usize;
        (&self.buf[start..mid], &self.buf[mid..end])
    }

    fn find(&self, name: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.pair(mid).0.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The value of `name`, or `""` when absent (Alertmanager treats both the same).
    pub fn get(&self, name: &str) -> &str {
        self.value(name).unwrap_or("")
    }

    /// The value of `name`, if present.
    #[inline]
    pub fn value(&self, name: &str) -> Option<&str> {
        let i = self.position(name)?;
        let e = self.ends.get(2 * i..2 * i + 2)?;
        self.buf.get(e[0] as usize..e[1] as usize)
    }

    /// The index of `name` in name order, if present.
    #[inline(always)]
    pub fn position(&self, name: &str) -> Option<usize> {
        if self.ends.len() > 32 {
            return self.find(name);
        }
        // Small sets (the usual case): a scan comparing lengths before bytes beats the
        // binary search.
        let (bytes, want) = (self.buf.as_bytes(), name.as_bytes());
        let mut start = 0;
        for (i, e) in self.ends.chunks_exact(2).enumerate() {
            let name_end = e[0] as usize;
            if name_end.wrapping_sub(start) == want.len()
                && let Some(n) = bytes.get(start..name_end)
                && same_bytes(n, want)
            {
                return Some(i);
            }
            start = e[1] as usize;
        }
        None
    }

    /// The `i`th entry in name order.
    #[inline]
    pub fn entry(&self, i: usize) -> Option<(&str, &str)> {
        (i < self.len()).then(|| self.pair(i))
    }

    /// Whether the set has a label `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Sets `name` to `value` (rebuilds the set), returning the old value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let (name, value) = (name.into(), value.into());
        let old = self.value(&name).map(str::to_owned);
        let mut map: BTreeMap<&str, &str> = self.iter().collect();
        map.insert(&name, &value);
        *self = LabelSet::from_sorted(map.iter().map(|(k, v)| (*k, *v)));
        old
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Iterates `(name, value)` in name order.
    pub fn iter(&self) -> LabelIter<'_> {
        LabelIter {
            set: self,
            i: 0,
            start: 0,
        }
    }

    /// Iterates the names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// Keeps the labels for which `keep` holds.
    pub fn filtered(&self, mut keep: impl FnMut(&str, &str) -> bool) -> LabelSet {
        let kept: Vec<(&str, &str)> = self.iter().filter(|(k, v)| keep(k, v)).collect();
        LabelSet::from_sorted(kept.into_iter())
    }

    /// Drops labels whose value is empty (Alertmanager does this before validating an alert).
    pub fn remove_empty(&mut self) {
        if self.iter().any(|(_, v)| v.is_empty()) {
            *self = self.filtered(|_, v| !v.is_empty());
        }
    }

    /// The subset whose names are in `names` (missing names are simply absent).
    pub fn subset<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> LabelSet {
        let mut wanted: Vec<&str> = names.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let kept: Vec<(&str, &str)> = wanted
            .into_iter()
            .filter_map(|n| self.find(n).map(|i| self.pair(i)))
            .collect();
        LabelSet::from_sorted(kept.into_iter())
    }

    /// Alertmanager's fingerprint: FNV-1a 64 over `name 0xff value 0xff` in name order.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_pairs(self.iter())
    }

    /// Checks every name against `mode`; the error names the first bad one
    /// (`invalid name "0bad"`, as Alertmanager says it).
    pub fn validate(&self, mode: NameValidation) -> Result<(), String> {
        for name in self.names() {
            if !is_valid_label_name(name, mode) {
                return Err(format!("invalid name {}", go_quote(name)));
            }
        }
        Ok(())
    }

    /// Bytes held on the heap (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.buf.len() + self.ends.len() * 4
    }
}

/// Byte equality for slices of equal length, inlined (label names are short, and a call to
/// the C library's comparison costs more than the comparison itself): eight bytes at a time,
/// then the rest.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (wa.remainder(), wb.remainder());
    wa.zip(wb)
        .all(|(x, y)| <[u8; 8]>::try_from(x).ok() == <[u8; 8]>::try_from(y).ok())
        && ra.iter().zip(rb).all(|(x, y)| x == y)
}

impl LabelSet {
    /// Alertmanager's label-set order (Prometheus's `LabelSet.Before`): fewer labels first;
    /// between sets of one size, the first name (in name order) that only one set has puts the
    /// set lacking it first, else the first differing value decides (bytewise). Notifications
    /// list their alerts, and the API its groups, in this order.
    pub fn am_cmp(&self, other: &LabelSet) -> std::cmp::Ordering {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self.len().cmp(&other.len()) {
            Equal => {}
            o => return o,
        }
        for ((an, av), (bn, bv)) in self.iter().zip(other.iter()) {
            match an.cmp(bn) {
                // `other` lacks `an`, the smaller name: `self` is not before it.
                Less => return Greater,
                // `self` lacks `bn`.
                Greater => return Less,
                Equal => match av.cmp(bv) {
                    Equal => {}
                    o => return o,
                },
            }
        }
        Equal
    }
}

/// The entries of a [`LabelSet`] in name order.
#[derive(Clone)]
pub struct LabelIter<'a> {
    set: &'a LabelSet,
    /// Index of the next entry.
    i: usize,
    /// Where the next entry's name starts in the buffer.
    start: usize,
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = (&'a str, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let e = self.set.ends.get(2 * self.i..2 * self.i + 2)?;
        let (name_end, value_end) = (e[0] as usize, e[1] as usize);
        let name = self.set.buf.get(self.start..name_end)?;
        let value = self.set.buf.get(name_end..value_end)?;
        self.i += 1;
        self.start = value_end;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.set.len() - self.i.min(self.set.len());
        (n, Some(n))
    }
}

impl ExactSizeIterator for LabelIter<'_> {}

impl PartialOrd for LabelSet {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Pairwise in name order, as a sorted map compares.
impl Ord for LabelSet {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(String, String)> for LabelSet {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let map: BTreeMap<String, String> = iter.into_iter().collect();
        LabelSet::from_sorted(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for LabelSet {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let map: BTreeMap<&str, &str> = iter.into_iter().collect();
        LabelSet::from_sorted(map.iter().map(|(k, v)| (*k, *v)))
    }
}

impl Serialize for LabelSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Later duplicates win, as Go's encoding/json does.
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Ok(LabelSet::from_sorted(
            map.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }
}

/// Prometheus's `LabelSet.String()`: `{a="x", b="y"}` in name order, values Go-quoted.
impl fmt::Display for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={}", go_quote(v))?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups agree with a sorted map for small sets (scanned) and large ones (searched).
    #[test]
    fn lookups_small_and_large() {
        for n in [0usize, 1, 5, 16, 17, 40] {
            let map: BTreeMap<String, String> = (0..n)
                .map(|i| (format!("n{i:02}"), format!("v{i}")))
                .collect();
            let set: LabelSet = map.clone().into_iter().collect();
            assert_eq!(set.iter().count(), n);
            assert!(
                set.iter()
                    .eq(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            );
            for (i, (k, v)) in map.iter().enumerate() {
                assert_eq!(set.position(k), Some(i), "{k} in {n}");
                assert_eq!(set.value(k), Some(v.as_str()));
                assert_eq!(set.entry(i), Some((k.as_str(), v.as_str())));
            }
            assert_eq!(set.position("n9x"), None);
            // Same length, differing only after the first eight bytes.
            let long: LabelSet = [("kubernetes_pod_name", "a"), ("kubernetes_pod_namf", "b")]
                .into_iter()
                .collect();
            assert_eq!(long.value("kubernetes_pod_namf"), Some("b"));
            assert_eq!(long.value("kubernetes_pod_name"), Some("a"));
            assert_eq!(long.value("kubernetes_pod_namg"), None);
            assert_eq!(set.value(""), None);
            assert_eq!(set.entry(n), None);
        }
    }

    #[test]
    fn classic_names() {
        assert!(is_classic_label_name("alertname"));
        assert!(is_classic_label_name("_x9"));
        assert!(!is_classic_label_name("0bad"));
        assert!(!is_classic_label_name(""));
        assert!(!is_classic_label_name("a-b"));
        assert!(!is_classic_label_name("a:b"));
        assert!(is_valid_label_name("a-b", NameValidation::Utf8));
        assert!(!is_valid_label_name("", NameValidation::Utf8));
    }

    #[test]
    fn prints_like_prometheus() {
        let ls: LabelSet = [("b", "y"), ("a", "x\"q")].into_iter().collect();
        assert_eq!(ls.to_string(), r#"{a="x\"q", b="y"}"#);
        assert_eq!(LabelSet::new().to_string(), "{}");
    }

    #[test]
    fn remove_empty_and_subset() {
        let mut ls: LabelSet = [("a", "1"), ("b", ""), ("c", "3")].into_iter().collect();
        ls.remove_empty();
        assert_eq!(ls.len(), 2);
        assert_eq!(ls.subset(["c", "zz"]).to_string(), r#"{c="3"}"#);
        assert_eq!(ls.get("b"), "");
    }

    #[test]
    fn compact_storage_behaves_like_a_sorted_map() {
        let mut ls: LabelSet = [("b", "2"), ("a", "1"), ("c", "")].into_iter().collect();
        assert_eq!(
            ls.iter().collect::<Vec<_>>(),
            vec![("a", "1"), ("b", "2"), ("c", "")]
        );
        assert_eq!(ls.value("c"), Some(""));
        assert_eq!(ls.value("d"), None);
        assert_eq!(ls.insert("b", "x"), Some("2".into()));
        assert_eq!(ls.insert("aa", "y"), None);
        assert_eq!(ls.to_string(), r#"{a="1", aa="y", b="x", c=""}"#);
        let json = serde_json::to_string(&ls).unwrap();
        assert_eq!(json, r#"{"a":"1","aa":"y","b":"x","c":""}"#);
        let back: LabelSet =
            serde_json::from_str(r#"{"b":"x","a":"1","c":"","aa":"y","a":"1"}"#).unwrap();
        assert_eq!(back, ls);
        let small: LabelSet = [("a", "1")].into_iter().collect();
        let smaller: LabelSet = [("a", "0"), ("z", "9")].into_iter().collect();
        assert!(smaller < small, "pairwise order");
        assert!(LabelSet::new() < small);
    }

    /// Prometheus's `LabelSet.Before`, written as it is specified (a sorted list of both sets'
    /// names, duplicates kept, walked in order), agrees with [`LabelSet::am_cmp`].
    fn before_by_spec(a: &LabelSet, b: &LabelSet) -> bool {
        if a.len() != b.len() {
            return a.len() < b.len();
        }
        let mut names: Vec<&str> = a.names().chain(b.names()).collect();
        names.sort_unstable();
        for n in names {
            let Some(x) = a.value(n) else { return true };
            let Some(y) = b.value(n) else { return false };
            if x != y {
                return x < y;
            }
        }
        false
    }

    #[test]
    fn alertmanager_order() {
        use std::cmp::Ordering::*;
        let set = |p: &[(&str, &str)]| p.iter().copied().collect::<LabelSet>();
        let one = set(&[("z", "0")]);
        let two = set(&[("a", "9"), ("b", "9")]);
        assert_eq!(one.am_cmp(&two), Less, "fewer labels first");
        // {a=1, c=1} against {b=1, c=1}: `a` comes first and only the left has it.
        assert_eq!(
            set(&[("a", "1"), ("c", "1")]).am_cmp(&set(&[("b", "1"), ("c", "1")])),
            Greater
        );
        assert_eq!(set(&[("a", "1")]).am_cmp(&set(&[("a", "2")])), Less);
        assert_eq!(two.am_cmp(&two.clone()), Equal);
        let pool = ["", "a", "b", "ab", "B"];
        let mut sets = Vec::new();
        for i in 0..200usize {
            let n = 1 + i % 3;
            let pairs: Vec<(String, String)> = (0..n)
                .map(|j| {
                    let k = (i * 7 + j * 13) % 5;
                    (format!("l{k}"), pool[(i / 3 + j) % pool.len()].to_owned())
                })
                .collect();
            sets.push(pairs.into_iter().collect::<LabelSet>());
        }
        for a in &sets {
            for b in &sets {
                let want = if before_by_spec(a, b) {
                    Less
                } else if before_by_spec(b, a) {
                    Greater
                } else {
                    Equal
                };
                assert_eq!(a.am_cmp(b), want, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn validate_names() {
        let ls: LabelSet = [("0bad", "x")].into_iter().collect();
        assert_eq!(
            ls.validate(NameValidation::Classic).unwrap_err(),
            r#"invalid name "0bad""#
        );
        assert!(ls.validate(NameValidation::Utf8).is_ok());
    }
}
