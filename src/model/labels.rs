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

/// A set of labels (or annotations): names to values, ordered by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelSet(pub BTreeMap<String, String>);

impl LabelSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name`, or `""` when absent (Alertmanager treats both the same).
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether the set has a label `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Sets `name` to `value`, returning the old value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(name.into(), value.into())
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates `(name, value)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Drops labels whose value is empty (Alertmanager does this before validating an alert).
    pub fn remove_empty(&mut self) {
        self.0.retain(|_, v| !v.is_empty());
    }

    /// The subset whose names are in `names` (missing names are simply absent).
    pub fn subset<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> LabelSet {
        let mut out = LabelSet::new();
        for n in names {
            if let Some(v) = self.0.get(n) {
                out.0.insert(n.to_owned(), v.clone());
            }
        }
        out
    }

    /// Alertmanager's fingerprint: FNV-1a 64 over `name 0xff value 0xff` in name order.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_pairs(self.iter())
    }

    /// Checks every name against `mode`; the error names the first bad one
    /// (`invalid name "0bad"`, as Alertmanager says it).
    pub fn validate(&self, mode: NameValidation) -> Result<(), String> {
        for name in self.0.keys() {
            if !is_valid_label_name(name, mode) {
                return Err(format!("invalid name {}", go_quote(name)));
            }
        }
        Ok(())
    }
}

impl FromIterator<(String, String)> for LabelSet {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        LabelSet(iter.into_iter().collect())
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for LabelSet {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        LabelSet(
            iter.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
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
    fn validate_names() {
        let ls: LabelSet = [("0bad", "x")].into_iter().collect();
        assert_eq!(
            ls.validate(NameValidation::Classic).unwrap_err(),
            r#"invalid name "0bad""#
        );
        assert!(ls.validate(NameValidation::Utf8).is_ok());
    }
}
