//! Durations in Prometheus's grammar: `1y2w3d4h5m6s7ms`, each unit at most once and in that
//! order, integers only (`1.5h` and `30m1h` are rejected), `0` allowed. A year is 365 days.
//! Imports: std and serde.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration with millisecond resolution, parsed and printed like Prometheus's
/// `model.Duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Why a duration string was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DurationError {
    /// The input was empty.
    #[error("empty duration string")]
    Empty,
    /// The input does not follow the grammar.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// The value does not fit.
    #[error("duration out of range: {0:?}")]
    Overflow(String),
}

impl Duration {
    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }

    /// From milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }

    /// The std duration.
    pub const fn std(self) -> std::time::Duration {
        self.0
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Parses Prometheus's grammar.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        match s {
            "" => return Err(DurationError::Empty),
            "0" => return Ok(Duration::default()),
            _ => {}
        }
        let invalid = || DurationError::Invalid(s.to_owned());
        let mut rest = s;
        let mut next_unit = 0;
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let n: u64 = rest[..digits]
                .parse()
                .map_err(|_| DurationError::Overflow(s.to_owned()))?;
            rest = &rest[digits..];
            // "ms" must be tried before "m".
            let (idx, unit) = UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .filter(|(_, (u, _))| rest.starts_with(u))
                .max_by_key(|(_, (u, _))| u.len())
                .ok_or_else(invalid)?;
            rest = &rest[unit.0.len()..];
            next_unit = idx + 1;
            total = n
                .checked_mul(unit.1)
                .and_then(|v| total.checked_add(v))
                .filter(|v| *v <= i64::MAX as u64 / 1_000_000)
                .ok_or_else(|| DurationError::Overflow(s.to_owned()))?;
        }
        Ok(Duration::from_millis(total))
    }
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

/// Prints the largest units first (`1h30m`, `90d`, `0s`); years and weeks only when exact.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (i, (unit, mult)) in UNITS.iter().enumerate() {
            let exact_only = i < 2;
            if exact_only && !ms.is_multiple_of(*mult) {
                continue;
            }
            let v = ms / mult;
            if v > 0 {
                write!(f, "{v}{unit}")?;
                ms -= v * mult;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grammar() {
        let ok = [
            ("0", 0),
            ("0s", 0),
            ("30s", 30_000),
            ("1h30m", 5_400_000),
            ("1d", 86_400_000),
            ("1w", 604_800_000),
            ("1y", 31_536_000_000),
            ("1m1ms", 60_001),
            ("100ms", 100),
        ];
        for (s, ms) in ok {
            assert_eq!(
                Duration::parse(s).unwrap(),
                Duration::from_millis(ms),
                "{s}"
            );
        }
        for bad in [
            "", "1.5h", "30m1h", "1h1h", "h", "1", "-1s", " 1s", "1s ", "1x", "1mss",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Duration::parse("").unwrap_err(), DurationError::Empty);
        assert!(matches!(
            Duration::parse("99999999999999999999y"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn printing() {
        let cases = [
            (0, "0s"),
            (5_400_000, "1h30m"),
            (86_400_000 * 90, "90d"),
            (604_800_000, "1w"),
            (31_536_000_000, "1y"),
            (300_000, "5m"),
            (1_500, "1s500ms"),
        ];
        for (ms, s) in cases {
            assert_eq!(Duration::from_millis(ms).to_string(), s);
        }
    }

    proptest! {
        #[test]
        fn parse_print_round_trip(ms in 0u64..(1u64 << 40)) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        }

        #[test]
        fn never_panics(s in ".{0,24}") {
            let _ = Duration::parse(&s);
        }
    }
}
