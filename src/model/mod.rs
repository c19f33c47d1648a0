//! Pure value types shared by every layer: label sets and fingerprints, matchers and their two
//! syntaxes, Prometheus durations, Go string quoting, cron schedules, URL query encoding.
//!
//! Layer L0: imports std and small crates (regex, serde) only; no I/O, no clock.

mod alert;
mod duration;
mod fingerprint;
mod form;
mod labels;
mod matcher;
mod quote;
mod schedule;

pub use alert::{Alert, alert_order};
#[cfg(test)]
pub(crate) use alert::{test_alert, ts as test_ts};
pub use duration::{Duration, DurationError};
pub use fingerprint::{Fingerprint, FingerprintParseError};
pub use form::{form_decode, percent_encode, query_escape};
pub use labels::{LabelIter, LabelSet, NameValidation, is_classic_label_name, is_valid_label_name};
pub use matcher::{
    MatchType, Matcher, MatcherError, MatcherSyntax, all_match, compile_anchored,
    matchers_to_string, parse_filter_matcher, parse_matcher, parse_matchers,
};
pub use quote::{go_quote, go_quote_with, go_regex_quote, go_unquote, is_go_print, push_escaped};
pub use schedule::{Flavor, Schedule, ScheduleError};
