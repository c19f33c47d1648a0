//! An alert as storage keeps it: a compact binary record (the alert store writes one per
//! ingested alert, so it must be cheap to make), keyed by the fingerprint (8 bytes, big-endian).
//!
//! Layout: a version byte (1); labels and annotations as a count (u32) and name/value strings;
//! `startsAt`, `endsAt`, `updatedAt` as nanoseconds since the epoch (i128); the generator URL;
//! the `timeout` flag (one byte). Strings are a length (u32) and UTF-8 bytes; integers are
//! little-endian. The fingerprint is recomputed from the labels when read.

use std::sync::Arc;

use jiff::Timestamp;

use crate::model::{Alert, Fingerprint, LabelSet};

const VERSION: u8 = 1;

/// Why a stored alert could not be read.
#[derive(Debug, thiserror::Error)]
#[error("stored alert does not decode: {0}")]
pub struct DecodeError(&'static str);

/// The storage key of an alert.
pub fn key(fp: Fingerprint) -> [u8; 8] {
    fp.0.to_be_bytes()
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_labels(out: &mut Vec<u8>, l: &LabelSet) {
    out.extend_from_slice(&(l.len() as u32).to_le_bytes());
    for (n, v) in l.iter() {
        put_str(out, n);
        put_str(out, v);
    }
}

fn put_ts(out: &mut Vec<u8>, t: Timestamp) {
    out.extend_from_slice(&t.as_nanosecond().to_le_bytes());
}

fn labels_len(l: &LabelSet) -> usize {
    4 + l.iter().map(|(n, v)| 8 + n.len() + v.len()).sum::<usize>()
}

/// Where an alert's times (`startsAt`, `endsAt`, `updatedAt`: [`TIMES_LEN`] bytes) start in
/// its encoding, and the encoding's length: what a patch of them needs
/// ([`crate::storage::Journal::patch_with`]).
pub fn times_at(a: &Alert) -> (usize, usize) {
    let at = 1 + labels_len(&a.labels) + labels_len(&a.annotations);
    (at, at + TIMES_LEN + 4 + a.generator_url.len() + 1)
}

/// The length of an alert's times in its encoding.
pub const TIMES_LEN: usize = 48;

/// Appends an alert's times as its encoding has them (at [`times_at`]).
pub fn encode_times(a: &Alert, out: &mut Vec<u8>) {
    put_ts(out, a.starts_at);
    put_ts(out, a.ends_at);
    put_ts(out, a.updated_at);
}

/// Whether `new`'s encoding differs from `old`'s only in the times: same labels,
/// annotations, generator URL and `timeout` flag (what a re-sent firing alert usually is).
pub fn same_but_times(old: &Alert, new: &Alert) -> bool {
    old.timeout == new.timeout
        && old.generator_url == new.generator_url
        && old.labels == new.labels
        && old.annotations == new.annotations
}

/// Encodes an alert.
pub fn encode(a: &Alert) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + a.labels.heap_bytes() + a.annotations.heap_bytes());
    encode_into(a, &mut out);
    out
}

/// Appends an alert's encoding to `out` (what the ingest path uses: no allocation of its own).
pub fn encode_into(a: &Alert, out: &mut Vec<u8>) {
    out.push(VERSION);
    put_labels(out, &a.labels);
    put_labels(out, &a.annotations);
    encode_times(a, out);
    put_str(out, &a.generator_url);
    out.push(u8::from(a.timeout));
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError("truncated"));
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }
    fn u32(&mut self) -> Result<usize, DecodeError> {
        let b: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| DecodeError("length"))?;
        Ok(u32::from_le_bytes(b) as usize)
    }
    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.u32()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError("invalid UTF-8"))
    }
    fn labels(&mut self) -> Result<LabelSet, DecodeError> {
        let n = self.u32()?;
        let mut l = LabelSet::new();
        for _ in 0..n {
            let (name, value) = (self.str()?, self.str()?);
            l.insert(name, value);
        }
        Ok(l)
    }
    fn ts(&mut self) -> Result<Timestamp, DecodeError> {
        let b: [u8; 16] = self.take(16)?.try_into().map_err(|_| DecodeError("time"))?;
        Timestamp::from_nanosecond(i128::from_le_bytes(b)).map_err(|_| DecodeError("time range"))
    }
}

/// Decodes an alert; `intern` shares the generator URL with the store's other alerts.
pub fn decode(bytes: &[u8], intern: impl Fn(&str) -> Arc<str>) -> Result<Alert, DecodeError> {
    let mut r = Reader(bytes);
    if r.take(1)?[0] != VERSION {
        return Err(DecodeError("unknown record version"));
    }
    let labels = r.labels()?;
    let annotations = r.labels()?;
    let (starts_at, ends_at, updated_at) = (r.ts()?, r.ts()?, r.ts()?);
    let generator_url = intern(r.str()?);
    let timeout = match r.take(1)?[0] {
        0 => false,
        1 => true,
        _ => return Err(DecodeError("timeout flag")),
    };
    if !r.0.is_empty() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok(Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations,
        starts_at,
        ends_at,
        generator_url,
        updated_at,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels() -> impl Strategy<Value = LabelSet> {
        proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..6)
            .prop_map(|m| m.into_iter().collect())
    }

    fn ts() -> impl Strategy<Value = Timestamp> {
        (-62_000_000_000i64..250_000_000_000, 0i32..1_000_000_000)
            .prop_map(|(s, n)| Timestamp::new(s, n).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    prop_compose! {
        fn alert()(labels in labels(), annotations in labels(), starts in ts(), ends in ts(),
                   updated in ts(), url in "\\PC{0,30}", timeout in any::<bool>()) -> Alert {
            Alert {
                fingerprint: labels.fingerprint(),
                labels,
                annotations,
                starts_at: starts,
                ends_at: ends,
                generator_url: Arc::from(url.as_str()),
                updated_at: updated,
                timeout,
            }
        }
    }

    proptest! {
        #[test]
        fn round_trip(a in alert()) {
            let bytes = encode(&a);
            let back = decode(&bytes, |s: &str| Arc::from(s)).unwrap();
            prop_assert_eq!(back, a);
        }

        #[test]
        fn times_are_where_times_at_says(a in alert(), b in alert()) {
            let bytes = encode(&a);
            let (at, len) = times_at(&a);
            prop_assert_eq!(bytes.len(), len);
            let mut times = Vec::new();
            encode_times(&a, &mut times);
            prop_assert_eq!(&bytes[at..at + TIMES_LEN], &times[..]);
            // Another alert's times written there make the encoding of `a` with those times.
            let mut patched = bytes.clone();
            times.clear();
            encode_times(&b, &mut times);
            patched[at..at + TIMES_LEN].copy_from_slice(&times);
            let moved = Alert { starts_at: b.starts_at, ends_at: b.ends_at, updated_at: b.updated_at, ..a };
            prop_assert_eq!(patched, encode(&moved));
        }

        #[test]
        fn a_damaged_record_is_an_error_not_a_panic(a in alert(), cut in 1usize..200, flip in any::<(usize, u8)>()) {
            let bytes = encode(&a);
            let _ = decode(&bytes[..bytes.len().saturating_sub(cut)], |s: &str| Arc::from(s));
            let mut b = bytes.clone();
            let i = flip.0 % b.len();
            b[i] ^= flip.1;
            let _ = decode(&b, |s: &str| Arc::from(s));
        }
    }
}
