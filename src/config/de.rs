//! Serde helpers that read YAML values as Alertmanager's Go decoder (`gopkg.in/yaml.v2`) does.
//! There a key whose value is null (`key:` with nothing after it, `key: ~`, `key: null`) sets
//! the field to its Go zero value (`false`, `""`, `0`, no list) instead of the documented
//! default, and the value's own checks do not run. So `routes:` followed only by comments
//! means no child routes, a child's empty `receiver:` inherits its parent's, and
//! `send_resolved:` alone is `false`. Fields use `#[serde(default, deserialize_with = "zero")]`;
//! `Option` fields need nothing (null is `None`, Go's nil pointer).
//! Imports: serde only.

use std::collections::BTreeMap;

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

/// An integer field (Telegram's `chat_id`): a number, or null for 0. A string, quoted or
/// not, is an error naming what was found, as Go's decoder refuses a `!!str` for an `int64`.
pub(crate) fn zero_integer<'de, D>(d: D) -> Result<i64, D::Error>
where
    D: Deserializer<'de>,
{
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} does not fit in a 64-bit integer")))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
            Err(E::custom(format!("expected an integer, got {v:?}")))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
    }
    d.deserialize_any(V)
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
}
