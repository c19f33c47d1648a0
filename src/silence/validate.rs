//! Silence validation with Alertmanager's messages, its two limits, and our bounds on hostile
//! input.
//!
//! Alertmanager's rules (0.25 wording): the times (`start time must be before end time`, `end
//! time can't be in the past`), every matcher valid (`invalid label matcher N: ...`), and not all
//! of them matching the empty string (only `=` and `=~` count, as upstream). Its limits
//! (0.28+): `--silences.max-silences` counts every stored silence, expired ones included;
//! `--silences.max-silence-size-bytes` bounds the protobuf size of one silence as Alertmanager
//! stores it, computed here byte for byte. Ours: at most [`MAX_MATCHERS`] matchers and
//! [`MAX_PATTERN_BYTES`] bytes of names and values per silence, and regexes compiled with
//! size limits, so a hostile silence costs bounded time and memory.

use jiff::Timestamp;

use super::{Silence, WireMatcher};
use crate::model::{MatchType, Matcher, MatcherError};

/// At most this many matchers per silence (tocsin's bound; Alertmanager has none).
pub const MAX_MATCHERS: usize = 1000;

/// At most this many bytes of matcher names and values per silence (tocsin's bound).
pub const MAX_PATTERN_BYTES: usize = 128 << 10;

/// Why a silence was refused. `Display` is the message the API answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// The id is unknown (404).
    #[error("silence not found")]
    NotFound,
    /// `startsAt >= endsAt` in a request.
    #[error("Failed to create silence: start time must be before end time")]
    StartNotBeforeEnd,
    /// `endsAt` in the past in a request.
    #[error("Failed to create silence: end time can't be in the past")]
    EndInPast,
    /// A matcher or the matcher list is invalid.
    #[error("silence invalid: {0}")]
    Invalid(String),
    /// `--silences.max-silences` reached.
    #[error("exceeded maximum number of silences: {count} (limit: {limit})")]
    TooMany {
        /// Silences stored now.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// `--silences.max-silence-size-bytes` exceeded.
    #[error("silence exceeded maximum size: {size} bytes (limit: {limit} bytes)")]
    TooLarge {
        /// The silence's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A snapshot or a peer's state could not be read.
    #[error("{0}")]
    Snapshot(String),
}

/// Alertmanager's silence limits; zero means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// `--silences.max-silences`: stored silences, expired ones included.
    pub max_silences: usize,
    /// `--silences.max-silence-size-bytes`: the protobuf size of one silence.
    pub max_silence_size_bytes: usize,
}

/// The time checks the API makes before storing (Alertmanager's handler, in its order).
pub fn check_times(
    starts_at: Timestamp,
    ends_at: Timestamp,
    now: Timestamp,
) -> Result<(), SilenceError> {
    if starts_at >= ends_at {
        return Err(SilenceError::StartNotBeforeEnd);
    }
    if ends_at < now {
        return Err(SilenceError::EndInPast);
    }
    Ok(())
}

/// Builds the matchers of an API silence, bounds first (so a hostile silence is refused before
/// anything is compiled), then each in order; the error names the first bad one.
pub fn build_matchers(wire: &[WireMatcher]) -> Result<Vec<Matcher>, SilenceError> {
    check_bounds(
        wire.len(),
        wire.iter().map(|m| m.name.len() + m.value.len()).sum(),
    )?;
    let mut out = Vec::with_capacity(wire.len());
    for (i, w) in wire.iter().enumerate() {
        if w.name.is_empty() {
            return Err(SilenceError::Invalid(format!(
                "invalid label matcher {i}: invalid label name \"\""
            )));
        }
        let m = Matcher::new(&w.name, w.op(), &w.value).map_err(|e| {
            SilenceError::Invalid(match e {
                MatcherError::Regex { pattern, reason } => {
                    format!(
                        "invalid label matcher {i}: invalid regular expression {pattern}: {reason}"
                    )
                }
                MatcherError::Syntax(s) => format!("invalid label matcher {i}: {s}"),
            })
        })?;
        out.push(m);
    }
    Ok(out)
}

fn check_bounds(count: usize, bytes: usize) -> Result<(), SilenceError> {
    if count > MAX_MATCHERS {
        return Err(SilenceError::Invalid(format!(
            "{count} matchers; at most {MAX_MATCHERS} are allowed"
        )));
    }
    if bytes > MAX_PATTERN_BYTES {
        return Err(SilenceError::Invalid(format!(
            "matcher names and values take {bytes} bytes; at most {MAX_PATTERN_BYTES} are allowed"
        )));
    }
    Ok(())
}

/// Checks a matcher list: present, bounded, names valid, and not all matching the empty
/// string. (Regexes were compiled, with limits, when the matchers were built.)
pub fn validate_matchers(ms: &[Matcher]) -> Result<(), SilenceError> {
    if ms.is_empty() {
        return Err(SilenceError::Invalid(
            "at least one matcher required".into(),
        ));
    }
    check_bounds(
        ms.len(),
        ms.iter().map(|m| m.name.len() + m.value.len()).sum(),
    )?;
    for (i, m) in ms.iter().enumerate() {
        if m.name.is_empty() {
            return Err(SilenceError::Invalid(format!(
                "invalid label matcher {i}: invalid label name \"\""
            )));
        }
    }
    let all_empty = ms.iter().all(|m| match m.op {
        MatchType::Equal | MatchType::Regex => m.matches_empty(),
        MatchType::NotEqual | MatchType::NotRegex => false,
    });
    if all_empty {
        return Err(SilenceError::Invalid(
            "at least one matcher must not match the empty string".into(),
        ));
    }
    Ok(())
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// A length-delimited field: tag, length, bytes.
fn delimited(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// A proto3 string field (omitted when empty).
fn string_field(s: &str) -> usize {
    if s.is_empty() { 0 } else { delimited(s.len()) }
}

/// A `google.protobuf.Timestamp` message body.
fn timestamp_len(t: Timestamp) -> usize {
    let (secs, nanos) = (t.as_second(), t.subsec_nanosecond());
    let mut n = 0;
    if secs != 0 {
        n += 1 + varint_len(secs as u64);
    }
    if nanos != 0 {
        n += 1 + varint_len(nanos as u64);
    }
    n
}

/// The size in bytes of the silence as Alertmanager stores it (`silencepb.MeshSilence`), which
/// `--silences.max-silence-size-bytes` bounds.
pub fn proto_size(s: &Silence, expires_at: Timestamp) -> usize {
    let mut body = string_field(&s.id);
    for m in &s.matchers {
        let ty: u64 = match m.op {
            MatchType::Equal => 0,
            MatchType::Regex => 1,
            MatchType::NotEqual => 2,
            MatchType::NotRegex => 3,
        };
        let mut mb = string_field(&m.name) + string_field(&m.value);
        if ty != 0 {
            mb += 1 + varint_len(ty);
        }
        body += delimited(mb);
    }
    for t in [s.starts_at, s.ends_at, s.updated_at] {
        body += delimited(timestamp_len(t));
    }
    body += string_field(&s.created_by) + string_field(&s.comment);
    delimited(body) + delimited(timestamp_len(expires_at))
}
