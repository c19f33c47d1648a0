//! Runtime values of the template engine, mirroring the Go types a template can see.
//!
//! Each variant stands for one Go type (the type name matters for `%T`, for bad-verb output and
//! for which methods exist). Values borrow from the [`Data`] being rendered where they can, so a
//! render allocates little.

use std::collections::BTreeMap;
use std::rc::Rc;

use jiff::Zoned;

use super::data::{Alert, Data, Kv};
use crate::model::LabelIter;

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
    /// A set from the data without some entries (a `.Remove` result): the entries whose
    /// bit is set in the mask, so reading it compares no strings.
    Masked(&'a Kv, Keep),
}

/// Which entries of a set a [`KvRef::Masked`] keeps: bit `i` for the `i`th entry in name
/// order.
#[derive(Clone, Debug)]
pub(crate) enum Keep {
    /// Sets of up to 64 entries (all real label sets), without allocating.
    Small(u64),
    /// Larger sets.
    Big(Rc<[u64]>),
}

impl Keep {
    /// Keeps every entry of a set of `n`.
    fn all(n: usize) -> Keep {
        if n <= 64 {
            Keep::Small(if n == 64 { u64::MAX } else { (1u64 << n) - 1 })
        } else {
            let mut words = vec![u64::MAX; n.div_ceil(64)];
            if !n.is_multiple_of(64)
                && let Some(last) = words.last_mut()
            {
                *last = (1u64 << (n % 64)) - 1;
            }
            Keep::Big(words.into())
        }
    }

    #[inline]
    fn has(&self, i: usize) -> bool {
        match self {
            Keep::Small(m) => i < 64 && m & (1 << i) != 0,
            Keep::Big(w) => w.get(i / 64).is_some_and(|m| m & (1 << (i % 64)) != 0),
        }
    }

    fn clear(&mut self, i: usize) {
        match self {
            Keep::Small(m) => {
                if i < 64 {
                    *m &= !(1 << i);
                }
            }
            Keep::Big(w) => {
                let mut words = w.to_vec();
                if let Some(m) = words.get_mut(i / 64) {
                    *m &= !(1 << (i % 64));
                }
                *w = words.into();
            }
        }
    }

    fn count(&self) -> usize {
        match self {
            Keep::Small(m) => m.count_ones() as usize,
            Keep::Big(w) => w.iter().map(|m| m.count_ones() as usize).sum(),
        }
    }
}

/// Entries of a [`KvRef`] in name order (Go's map iteration order for templates).
pub(crate) struct KvIter<'a, 'r> {
    it: std::iter::Enumerate<LabelIter<'a>>,
    keep: Option<&'r Keep>,
}

impl<'a> Iterator for KvIter<'a, '_> {
    type Item = (&'a str, &'a str);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.keep {
            None => self.it.next().map(|(_, e)| e),
            Some(keep) => self.it.by_ref().find(|(i, _)| keep.has(*i)).map(|(_, e)| e),
        }
    }
}

impl<'a> KvRef<'a> {
    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            KvRef::B(k) => k.len(),
            KvRef::Masked(_, keep) => keep.count(),
        }
    }

    /// True when there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value for `name`, if present.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        match self {
            KvRef::B(k) => k.get(name),
            KvRef::Masked(k, keep) => {
                let i = k.0.position(name)?;
                if keep.has(i) {
                    k.0.entry(i).map(|(_, v)| v)
                } else {
                    None
                }
            }
        }
    }

    /// Entries in name order.
    pub(crate) fn iter(&self) -> KvIter<'a, '_> {
        match self {
            KvRef::B(k) => KvIter {
                it: k.iter().enumerate(),
                keep: None,
            },
            KvRef::Masked(k, keep) => KvIter {
                it: k.iter().enumerate(),
                keep: Some(keep),
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
    pub(crate) fn remove(&self, names: &[Str<'a>]) -> KvRef<'a> {
        let (k, mut keep) = match self {
            KvRef::B(k) => (*k, Keep::all(k.len())),
            KvRef::Masked(k, keep) => (*k, keep.clone()),
        };
        for n in names {
            if let Some(i) = k.0.position(n.as_str()) {
                keep.clear(i);
            }
        }
        KvRef::Masked(k, keep)
    }

    /// `.String`: `name=value` pairs in `.SortedPairs` order joined by `", "`, appended to
    /// `out`.
    pub(crate) fn write_string(&self, out: &mut String) {
        let (set, keep) = match self {
            KvRef::B(k) => (&k.0, None),
            KvRef::Masked(k, keep) => (&k.0, Some(keep)),
        };
        let kept = |i: usize| keep.is_none_or(|m| m.has(i));
        let first = set.position("alertname").filter(|&i| kept(i));
        let mut sep = "";
        let mut put = |(name, value): (&str, &str)| {
            out.push_str(sep);
            out.push_str(name);
            out.push('=');
            out.push_str(value);
            sep = ", ";
        };
        if let Some(entry) = first.and_then(|i| set.entry(i)) {
            put(entry);
        }
        for (i, entry) in set.iter().enumerate() {
            if kept(i) && Some(i) != first {
                put(entry);
            }
        }
    }
}

/// One element of a `Pairs` list: shares the list rather than copying its strings, which
/// keeps [`Value`] small.
#[derive(Clone, Debug)]
pub(crate) struct PairRef<'a> {
    list: Rc<Vec<(Str<'a>, Str<'a>)>>,
    i: usize,
}

impl<'a> PairRef<'a> {
    /// Element `i` of `list`.
    pub(crate) fn new(list: &Rc<Vec<(Str<'a>, Str<'a>)>>, i: usize) -> Self {
        PairRef {
            list: list.clone(),
            i,
        }
    }

    /// `.Name`.
    pub(crate) fn name(&self) -> Str<'a> {
        self.list.get(self.i).map_or(Str::B(""), |p| p.0.clone())
    }

    /// `.Value`.
    pub(crate) fn value(&self) -> Str<'a> {
        self.list.get(self.i).map_or(Str::B(""), |p| p.1.clone())
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
    Pair(PairRef<'a>),
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

    /// Drops the value, skipping the out-of-line drop code for the variants that own
    /// nothing (most values in a render borrow from the data).
    // Always inlined in release; not in debug builds, whose frames would add up over deep
    // template recursion.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn discard(self) {
        if matches!(
            self,
            Value::Nil
                | Value::Bool(_)
                | Value::Int(_)
                | Value::Str(Str::B(_), _)
                | Value::Data(_)
                | Value::Alert(_)
                | Value::Kv(KvRef::B(_))
                | Value::Alerts(AlertList::All(_))
        ) {
            std::mem::forget(self);
        }
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
            Value::Pair(_) => "template.Pair",
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
            Value::Data(_) | Value::Alert(_) | Value::Pair(_) | Value::Time(_) => true,
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
