//! Alertmanager-compatible fingerprints: FNV-1a 64 over sorted label pairs.
//!
//! The byte layout is `name 0xff value 0xff` for each label in bytewise name order, hashed with
//! FNV-1a 64 and printed as `%016x`. Imports: std only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const FNV_OFFSET: u64 = 14695981039346656037;
const FNV_PRIME: u64 = 1099511628211;
const SEPARATOR: u8 = 0xff;

/// A 64-bit label-set fingerprint, printed as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// Hashes `(name, value)` pairs that the caller yields in bytewise name order.
    pub fn of_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut h = FNV_OFFSET;
        let mut feed = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
        };
        for (name, value) in pairs {
            feed(name.as_bytes());
            feed(&[SEPARATOR]);
            feed(value.as_bytes());
            feed(&[SEPARATOR]);
        }
        Fingerprint(h)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Error for a string that is not 1 to 16 hex digits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid fingerprint {0:?}: want up to 16 hex digits")]
pub struct FingerprintParseError(pub String);

impl FromStr for Fingerprint {
    type Err = FingerprintParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 16 {
            return Err(FingerprintParseError(s.to_owned()));
        }
        u64::from_str_radix(s, 16)
            .map(Fingerprint)
            .map_err(|_| FingerprintParseError(s.to_owned()))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelSet;

    #[test]
    fn known_values_from_alertmanager() {
        assert_eq!(
            LabelSet::new().fingerprint().to_string(),
            "cbf29ce484222325"
        );
        let ls: LabelSet = [("alertname", "A1"), ("job", "j"), ("severity", "warning")]
            .into_iter()
            .collect();
        assert_eq!(ls.fingerprint().to_string(), "fa9dea0775b91b56");
    }

    #[test]
    fn parse_round_trip() {
        let f = Fingerprint(0x0123_4567_89ab_cdef);
        assert_eq!(f.to_string().parse::<Fingerprint>().unwrap(), f);
        assert!("xyz".parse::<Fingerprint>().is_err());
        assert!("".parse::<Fingerprint>().is_err());
        assert!("0123456789abcdef0".parse::<Fingerprint>().is_err());
    }
}
