//! Runtime values of the template engine, mirroring the Go types a template can see.
//!
//! Each variant stands for one Go type (the type name matters for `%T`, for bad-verb output and
//! for which methods exist). Values borrow from the [`Data`] being rendered where they can, so a
//! render allocates little.

use std::collections::BTreeMap;
use std::rc::Rc;

use jiff::Zoned;

use super::data::{Alert, Data, Kv};

/// A string that is either borrowed from the data or shared.
#[derive(Clone, Debug)]
pub(crate) enum Str<'a> {
    /// Borrowed from the data or the template source.
    B(&'a str),
    /// Computed during rendering.
    S(Rc<str>),
}

impl<'a> Str<'a> {
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Str::B(s) => s,
            Str::S(s) => s,
        }
    }
}

impl From<String> for Str<'_> {
    fn from(s: String) -> Self {
        Str::S(Rc::from(s))
    }
}

/// Which Go string type a string value has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrKind {
    /// `string`.
    Plain,
    /// html/template's `HTML` (from `safeHtml`).
    Html,
    /// html/template's `URL` (from `safeUrl`).
    Url,
}

/// A list of alerts: Go's named `Alerts` type (has `.Firing`/`.Resolved`) or a plain `[]Alert`.
#[derive(Clone, Debug)]
pub(crate) enum AlertList<'a> {
    /// `.Alerts` itself (type `Alerts`).
    All(&'a [Alert]),
    /// A subset (type `[]Alert`, as returned by `.Firing`/`.Resolved`).
    Sub(Rc<Vec<&'a Alert>>, bool),
}

impl<'a> AlertList<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            AlertList::All(a) => a.len(),
            AlertList::Sub(v, _) => v.len(),
        }
    }
    pub(crate) fn get(&self, i: usize) -> Option<&'a Alert> {
        match self {
            AlertList::All(a) => a.get(i),
            AlertList::Sub(v, _) => v.get(i).copied(),
        }
    }
    pub(crate) fn named(&self) -> bool {
        match self {
            AlertList::All(_) => true,
            AlertList::Sub(_, named) => *named,
        }
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a Alert> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A label set: borrowed from the data, or a borrowed view of some of its entries (what
/// `.Remove` returns), so no label string is ever copied during a render.
#[derive(Clone, Debug)]
pub(crate) enum KvRef<'a> {
    /// A whole set from the data.
    B(&'a Kv),
    /// A set from the data without the listed names (a `.Remove` result; shares the
    /// name list with the `[]string` argument, so removing allocates nothing).
    Minus(&'a Kv, Rc<Vec<Str<'a>>>),
}

/// Entries of a [`KvRef`] in name order (Go's map iteration order for templates).
pub(crate) struct KvIter<'a, 'r> {
    it: std::collections::btree_map::Iter<'a, String, String>,
    removed: &'r [Str<'a>],
}

impl<'a> Iterator for KvIter<'a, '_> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        self.it
            .by_ref()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .find(|(k, _)| !is_removed(self.removed, k))
    }
}

fn is_removed(removed: &[Str<'_>], name: &str) -> bool {
    removed.iter().any(|r| r.as_str() == name)
}

impl<'a> KvRef<'a> {
    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            KvRef::B(k) => k.len(),
            KvRef::Minus(..) => self.iter().count(),
        }
    }

    /// True when there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            KvRef::B(k) => k.is_empty(),
            KvRef::Minus(..) => self.iter().next().is_none(),
        }
    }

    /// The value for `name`, if present.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        match self {
            // Label sets are small: a length-filtered scan beats the tree search.
            KvRef::B(k) if k.len() <= 16 => {
                k.0.iter()
                    .find(|(key, _)| key.len() == name.len() && key.as_str() == name)
                    .map(|(_, v)| v.as_str())
            }
            KvRef::B(k) => k.0.get(name).map(String::as_str),
            KvRef::Minus(k, removed) => {
                if is_removed(removed, name) {
                    None
                } else {
                    KvRef::B(k).get(name)
                }
            }
        }
    }

    /// Entries in name order.
    pub(crate) fn iter(&self) -> KvIter<'a, '_> {
        match self {
            KvRef::B(k) => KvIter {
                it: k.0.iter(),
                removed: &[],
            },
            KvRef::Minus(k, removed) => KvIter {
                it: k.0.iter(),
                removed,
            },
        }
    }

    /// `.SortedPairs` order: `alertname` first, then by name.
    pub(crate) fn sorted_pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        let first = self.get("alertname").map(|v| ("alertname", v));
        first
            .into_iter()
            .chain(self.iter().filter(|(k, _)| *k != "alertname"))
    }

    /// `.Remove names`: a view without the given names.
    pub(crate) fn remove(&self, names: &Rc<Vec<Str<'a>>>) -> KvRef<'a> {
        match self {
            KvRef::B(k) => KvRef::Minus(k, names.clone()),
            KvRef::Minus(k, removed) => {
                let mut all: Vec<Str<'a>> = removed.to_vec();
                all.extend(names.iter().cloned());
                KvRef::Minus(k, Rc::new(all))
            }
        }
    }

    /// `.String`: `name=value` pairs in `.SortedPairs` order joined by `", "`, appended to
    /// `out`.
    pub(crate) fn write_string(&self, out: &mut String) {
        for (i, (k, v)) in self.sorted_pairs().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
    }
}

/// A template value.
#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    /// No value (Go's invalid `reflect.Value` / nil interface).
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int` (also `int64` results such as `.Unix`).
    Int(i64),
    /// `uint8`, from indexing a string.
    Byte(u8),
    /// `float64`.
    Float(f64),
    /// A string of the given Go type.
    Str(Str<'a>, StrKind),
    /// `[]string`; `true` marks the named `Strings` type (has `.Join`).
    Strings(Rc<Vec<Str<'a>>>, bool),
    /// `[]interface {}` (from `list`/`append`).
    List(Rc<Vec<Value<'a>>>),
    /// `map[string]interface {}` (from `dict`).
    Dict(Rc<BTreeMap<String, Value<'a>>>),
    /// `*Data`.
    Data(&'a Data),
    /// `Alerts` or `[]Alert`.
    Alerts(AlertList<'a>),
    /// `Alert`.
    Alert(&'a Alert),
    /// `KV`.
    Kv(KvRef<'a>),
    /// `Pairs`.
    Pairs(Rc<Vec<(Str<'a>, Str<'a>)>>),
    /// `Pair`.
    Pair(Str<'a>, Str<'a>),
    /// `time.Time`.
    Time(Rc<Zoned>),
    /// `time.Duration` in nanoseconds.
    Duration(i64),
    /// `time.Month` (1 = January).
    Month(i64),
    /// `time.Weekday` (0 = Sunday).
    Weekday(i64),
}

impl<'a> Value<'a> {
    #[inline]
    pub(crate) fn str(s: &'a str) -> Self {
        Value::Str(Str::B(s), StrKind::Plain)
    }
    pub(crate) fn string(s: String) -> Self {
        Value::Str(Str::from(s), StrKind::Plain)
    }

    /// Go's type name, as `%T` prints it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Byte(_) => "uint8",
            Value::Float(_) => "float64",
            Value::Str(_, StrKind::Plain) => "string",
            Value::Str(_, StrKind::Html) => "template.HTML",
            Value::Str(_, StrKind::Url) => "template.URL",
            Value::Strings(_, true) => "template.Strings",
            Value::Strings(_, false) => "[]string",
            Value::List(_) => "[]interface {}",
            Value::Dict(_) => "map[string]interface {}",
            Value::Data(_) => "*template.Data",
            Value::Alerts(l) if l.named() => "template.Alerts",
            Value::Alerts(_) => "[]template.Alert",
            Value::Alert(_) => "template.Alert",
            Value::Kv(_) => "template.KV",
            Value::Pairs(_) => "template.Pairs",
            Value::Pair(..) => "template.Pair",
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
            Value::Month(_) => "time.Month",
            Value::Weekday(_) => "time.Weekday",
        }
    }

    /// Go's truth: false, 0, empty string/slice/map and nil are false; structs are true.
    #[inline]
    pub(crate) fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Duration(i) | Value::Month(i) | Value::Weekday(i) => *i != 0,
            Value::Byte(b) => *b != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s, _) => !s.as_str().is_empty(),
            Value::Strings(v, _) => !v.is_empty(),
            Value::List(v) => !v.is_empty(),
            Value::Dict(m) => !m.is_empty(),
            Value::Alerts(l) => l.len() > 0,
            Value::Kv(k) => !k.is_empty(),
            Value::Pairs(p) => !p.is_empty(),
            Value::Data(_) | Value::Alert(_) | Value::Pair(..) | Value::Time(_) => true,
        }
    }

    /// The string content if this is any Go string type.
    pub(crate) fn as_any_str(&self) -> Option<&str> {
        match self {
            Value::Str(s, _) => Some(s.as_str()),
            _ => None,
        }
    }

    /// True for Go kinds that `fmt.Sprint` treats as strings (no space added next to them).
    pub(crate) fn is_string_kind(&self) -> bool {
        matches!(self, Value::Str(..))
    }
}
