//! Serde helpers that read YAML values as Alertmanager's Go decoder (`gopkg.in/yaml.v2`) does.
//! There a key whose value is null (`key:` with nothing after it, `key: ~`, `key: null`) sets
//! the field to its Go zero value (`false`, `""`, `0`, no list) instead of the documented
//! default, and the value's own checks do not run. So `routes:` followed only by comments
//! means no child routes, a child's empty `receiver:` inherits its parent's, and
//! `send_resolved:` alone is `false`. Fields use `#[serde(default, deserialize_with = "zero")]`;
//! `Option` fields need nothing (null is `None`, Go's nil pointer).
//! Imports: serde only.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// A null value reads as `T::default()` (Go's zero value for the field's type).
pub(crate) fn zero<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list whose null items read as `T::default()` (a null string item is `""`), and whose null
/// value is the empty list.
pub(crate) fn zero_items<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let items = Option::<Vec<Option<T>>>::deserialize(d)?.unwrap_or_default();
    Ok(items.into_iter().map(Option::unwrap_or_default).collect())
}

/// [`zero_items`] for an optional list: a null value is `None` (Go's nil slice).
pub(crate) fn opt_zero_items<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let items = Option::<Vec<Option<T>>>::deserialize(d)?;
    Ok(items.map(|v| v.into_iter().map(Option::unwrap_or_default).collect()))
}

/// A list of mappings (routes, receivers' configs, ...) whose null value is the empty list; a
/// null item is an error (Alertmanager stops on a nil entry, 0.25 with a crash).
pub(crate) fn no_null_items<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Option::<Vec<Option<T>>>::deserialize(d)?.unwrap_or_default();
    items
        .into_iter()
        .map(|c| c.ok_or_else(|| D::Error::custom("empty list item (null)")))
        .collect()
}

/// A map whose null values read as `T::default()`, and whose null value is the empty map.
pub(crate) fn zero_values<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let m = Option::<BTreeMap<String, Option<T>>>::deserialize(d)?.unwrap_or_default();
    Ok(m.into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A `match_re` map: a null regex is an error, `invalid regexp value for "<label>"`, as in
/// Alertmanager (whose regex type stays unset on null).
pub(crate) fn regex_values<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let m = Option::<BTreeMap<String, Option<String>>>::deserialize(d)?.unwrap_or_default();
    m.into_iter()
        .map(|(k, v)| match v {
            Some(v) => Ok((k, v)),
            None => Err(D::Error::custom(format!("invalid regexp value for {k:?}"))),
        })
        .collect()
}

/// The parser options that make our YAML library read values as Go's decoder does: a plain
/// number with a leading zero (`010`) or an underscore (`1_000`) reaches an integer field as
/// its text, which [`go_integer`] reads by Go's rules (octal, digits without the underscores).
pub(crate) fn go_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    }
}

thread_local! {
    /// The number-like texts (`010`, `1_000`) the document being read wrote only quoted: our
    /// parser hands them to [`go_integer`] as text whether quoted or not, so this tells it.
    static QUOTED_ONLY: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// Reads `text` as Alertmanager's Go decoder does ([`go_options`]), telling [`go_integer`]
/// which number-like values were written quoted (Go refuses `'010'` in an integer field and
/// reads a plain `010` as 8). A text written both ways in one document is taken as plain.
pub(crate) fn from_go_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<T, serde_saphyr::Error> {
    let quoted =
        super::yaml_compat::quoted_only(text, |v| go_number(v).is_some() && !typed_when_plain(v));
    QUOTED_ONLY.with(|q| *q.borrow_mut() = quoted);
    let out = serde_saphyr::from_str_with_options(text, go_options());
    QUOTED_ONLY.with(|q| q.borrow_mut().clear());
    out
}

/// Go's name of an integer type, for messages as Go's decoder words them.
fn go_type<T>() -> &'static str {
    match std::any::type_name::<T>() {
        "u64" => "uint64",
        "i64" => "int64",
        "u32" => "uint32",
        "i32" => "int32",
        other => other,
    }
}

/// Whether our parser reads this text, written plain, as a number itself: a plain number that
/// arrives as text must have been quoted.
fn typed_when_plain(v: &str) -> bool {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    let leading_zero =
        digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit());
    !v.contains('_') && !leading_zero && go_number(v).is_some()
}

/// A number as Go's YAML decoder resolves a plain scalar: `strconv.ParseInt`/`ParseUint` with
/// base prefixes (`0x`, `0o`, a leading `0` for octal, `0b`) after dropping every `_`, else a
/// float in YAML 1.1's form (`1e3`, `1.5`, `.5`, `08`). `None` when Go reads it as a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum GoNumber {
    /// An integer (negative ones and those that fit an `int64`).
    Int(i64),
    /// An integer above `i64::MAX`.
    Uint(u64),
    /// A float.
    Float(f64),
}

/// Go's `strconv.ParseUint(s, 0, 64)` on a sign-less text: base from the prefix.
fn go_parse_unsigned(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(o) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (o, 8)
    } else if let Some(b) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (b, 2)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// How Go's YAML decoder (`gopkg.in/yaml.v2`, `resolve`) reads a plain scalar as a number.
pub(crate) fn go_number(text: &str) -> Option<GoNumber> {
    let first = text.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return None;
    }
    let plain = text.replace('_', "");
    let (negative, body) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    if let Some(u) = go_parse_unsigned(body) {
        return if negative {
            match i64::try_from(u) {
                Ok(i) => Some(GoNumber::Int(-i)),
                Err(_) if u == 1 << 63 => Some(GoNumber::Int(i64::MIN)),
                Err(_) => None,
            }
        } else {
            Some(i64::try_from(u).map_or(GoNumber::Uint(u), GoNumber::Int))
        };
    }
    // YAML 1.1's float form: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        None => !int_part.is_empty() && digits(int_part),
        Some(f) if int_part.is_empty() => !f.is_empty() && digits(f),
        Some(f) => digits(int_part) && digits(f),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    plain.parse::<f64>().ok().map(GoNumber::Float)
}

/// An integer field as Go's decoder fills an `int64`/`uint64` from a plain scalar: `010` is 8
/// (octal), `1e3` is 1000, `1.5` is 1 (a float is truncated), `1_000` is 1000, null is 0. A
/// quoted value (`'5'`) is a `!!str` and refused, as Go refuses it.
pub(crate) fn go_integer<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64> + Default,
{
    struct V<T>(std::marker::PhantomData<T>);
    fn fit<T: TryFrom<i64> + TryFrom<u64>, E: serde::de::Error>(
        n: GoNumber,
        shown: &dyn std::fmt::Display,
    ) -> Result<T, E> {
        let out = match n {
            GoNumber::Int(i) => T::try_from(i).ok(),
            GoNumber::Uint(u) => T::try_from(u).ok(),
            // Go converts a float that fits the target by truncation.
            GoNumber::Float(f) if f.is_finite() && f.trunc() >= i64::MIN as f64 && f < 9.2e18 => {
                T::try_from(f.trunc() as i64).ok()
            }
            GoNumber::Float(f) if f.is_finite() && f >= 0.0 && f <= u64::MAX as f64 => {
                T::try_from(f.trunc() as u64).ok()
            }
            GoNumber::Float(_) => None,
        };
        out.ok_or_else(|| E::custom(format!("cannot unmarshal {shown} into {}", go_type::<T>())))
    }
    impl<'de, T: TryFrom<i64> + TryFrom<u64> + Default> serde::de::Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
            fit(GoNumber::Int(v), &v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
            fit(GoNumber::Uint(v), &v)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
            fit(GoNumber::Float(v), &v)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            // Our parser types a plain decimal number itself, so a decimal number arriving as
            // text was quoted: Go's `!!str`. The forms only Go reads as numbers come as text.
            let quoted = typed_when_plain(v) || QUOTED_ONLY.with(|q| q.borrow().contains(v));
            match go_number(v) {
                Some(n) if !quoted => fit(n, &format!("`{v}`")),
                _ => Err(E::custom(format!(
                    "cannot unmarshal !!str `{v}` into {}",
                    go_type::<T>()
                ))),
            }
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<T, E> {
            Err(E::custom(format!(
                "cannot unmarshal !!bool `{v}` into {}",
                go_type::<T>()
            )))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<T, E> {
            Ok(T::default())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<T, E> {
            Ok(T::default())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// A config type listed under a receiver's `<name>_configs:`.
pub(crate) trait Integration {
    /// The integration's name (`webhook`, `opsgenie`, ...).
    const NAME: &'static str;
}

/// A `<name>_configs:` list: a null value is no configs; a null item (`- ` with nothing after
/// it) is an error, `missing <name> config`, as in Alertmanager 0.30+ (0.25 crashes on it).
pub(crate) fn configs<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Integration,
{
    let items = Option::<Vec<Option<T>>>::deserialize(d)?.unwrap_or_default();
    items
        .into_iter()
        .map(|c| c.ok_or_else(|| D::Error::custom(format!("missing {} config", T::NAME))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct S {
        #[serde(default = "yes", deserialize_with = "zero")]
        b: bool,
        #[serde(default, deserialize_with = "zero_items")]
        l: Vec<String>,
        #[serde(default, deserialize_with = "zero_values")]
        m: BTreeMap<String, String>,
    }

    fn yes() -> bool {
        true
    }

    #[test]
    fn null_is_the_go_zero_value() {
        let s: S = serde_saphyr::from_str("b:\nl:\nm: ~\n").unwrap();
        assert_eq!(
            s,
            S {
                b: false,
                l: vec![],
                m: BTreeMap::new()
            }
        );
        let s: S = serde_saphyr::from_str("l: [a, ~]\nm: {k: ~}\n").unwrap();
        assert!(s.b, "an absent key keeps the default");
        assert_eq!(s.l, ["a", ""]);
        assert_eq!(s.m["k"], "");
    }

    #[derive(Debug, Deserialize)]
    struct N {
        #[serde(default, deserialize_with = "go_integer")]
        u: u64,
        #[serde(default, deserialize_with = "go_integer")]
        i: i64,
    }

    /// The plain forms Go's decoder reads as numbers give Go's values; quoted numbers, booleans
    /// and values out of range are refused as Alertmanager refuses them (checked with amtool
    /// 0.25 on `max_alerts`).
    #[test]
    fn integers_read_as_go_reads_them() {
        for (text, want) in [
            ("5", 5),
            ("010", 8),
            ("08", 8),
            ("1e3", 1000),
            ("1.5", 1),
            (".5", 0),
            ("0x10", 16),
            ("0o10", 8),
            ("+5", 5),
            ("1_000", 1000),
            ("0b101", 5),
            ("~", 0),
            ("null", 0),
            ("", 0),
        ] {
            let n: N = serde_saphyr::from_str_with_options(
                &format!("u: {text}\ni: {text}\n"),
                go_options(),
            )
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!((n.u, n.i), (want, want as i64), "{text:?}");
        }
        let n: N = serde_saphyr::from_str_with_options("i: -010\n", go_options()).unwrap();
        assert_eq!(n.i, -8);
        for text in ["-1", "1e30", "'5'", "\"5\"", "true", ".inf", "abc", "[1]"] {
            let r = serde_saphyr::from_str_with_options::<N>(&format!("u: {text}\n"), go_options());
            assert!(r.is_err(), "{text:?} must be refused: {r:?}");
        }
        let e = serde_saphyr::from_str_with_options::<N>("u: '5'\n", go_options())
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot unmarshal !!str `5`"), "{e}");
    }

    /// Our parser hands `010` and `1_000` over as text whether they were quoted or not; the
    /// document's own quoting decides, as it does for Go (amtool 0.25 refuses `'010'` in
    /// `max_alerts` and reads a plain `010` as 8).
    #[test]
    fn quoted_leading_zero_and_underscore_numbers_are_strings() {
        for text in ["'010'", "\"1_000\"", "'-010'"] {
            let r = from_go_yaml::<N>(&format!("u: 1\ni: {text}\n"));
            let e = r.expect_err(text).to_string();
            assert!(e.contains("cannot unmarshal !!str"), "{text}: {e}");
        }
        let n: N = from_go_yaml("u: 010\ni: 1_000\n").unwrap();
        assert_eq!((n.u, n.i), (8, 1000));
        // Written plain in one place and quoted in another: the integer field is read plain.
        #[derive(Debug, Deserialize)]
        struct Both {
            #[serde(deserialize_with = "go_integer")]
            u: u64,
            s: String,
        }
        let b: Both = from_go_yaml("u: 010\ns: '010'\n").unwrap();
        assert_eq!((b.u, b.s.as_str()), (8, "010"));
        let b: Both = from_go_yaml("u: 9\ns: '010'\n").unwrap();
        assert_eq!((b.u, b.s.as_str()), (9, "010"));
    }
}
