//! Entry points for fuzzing: each runs one parser that faces the network on untrusted bytes,
//! as the server runs it, without a server around it. The cargo-fuzz targets under `fuzz/`
//! call them, and so do the bounded proptests below (in `cargo test`, always), over the seed
//! corpora in `tests/data/fuzz/`. Not part of the API: anything may change.

use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::head::{HeadLimits, Heads};
use crate::config::Config;
use crate::model::{MatcherSyntax, parse_matchers};
use crate::silence::{Limits, Silences};
use crate::template::Templates;

/// A fixed "now", so that a failing input fails again.
fn now() -> Timestamp {
    Timestamp::from_second(1_780_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `POST /api/v2/alerts`: the body read as go-swagger reads it, each alert validated.
pub fn alerts(body: &[u8]) {
    if let Ok(postables) = super::alerts::parse_postables(body, "alerts") {
        for p in postables {
            let _ = super::alerts::build(p, now(), SignedDuration::from_mins(5), |s: &str| {
                Arc::from(s)
            });
        }
    }
}

/// The query string of `GET /api/v2/alerts` (and groups): its filters, and the text as a
/// matcher list in both syntaxes (the `filter` of the silence list, amtool's arguments).
pub fn filters(query: &[u8]) {
    let text = String::from_utf8_lossy(query);
    let _ = super::v2read::parse_filters(&text);
    let _ = parse_matchers(&text, MatcherSyntax::Fallback);
    let _ = parse_matchers(&text, MatcherSyntax::Utf8Strict);
}

/// `POST /api/v2/silences`: the body read, then stored in an empty in-memory store (which
/// validates it as the API's store does).
pub fn silence(body: &[u8]) {
    if let Ok(s) = super::silences::parse_post(body, now()) {
        let store = Silences::new(SignedDuration::from_hours(120), Limits::default());
        let _ = store.set(s, now());
    }
}

/// `POST /api/tocsin/v1/templates/render` against the default templates.
pub fn preview(body: &[u8]) {
    thread_local! {
        static TEMPLATES: Templates = Templates::with_defaults();
    }
    TEMPLATES.with(|t| {
        let _ = super::preview::answer(t, body, now());
    });
}

/// `tocsin check-config` (and `POST /-/reload`): a config file's text, read and validated.
/// Files it names are looked for in a directory that does not exist.
pub fn config(text: &[u8]) {
    if let Ok(text) = std::str::from_utf8(text) {
        let _ = Config::from_yaml(text, Path::new("/nonexistent/tocsin-fuzz"), "fuzz.yml");
    }
}

/// The bytes of an HTTP/1 connection, read by [`super::head`] as the server reads them.
pub fn heads(bytes: &[u8]) {
    let mut h = Heads::new(HeadLimits {
        max_head: 4096,
        max_url: 1024,
        max_fields: 64,
        timeout: std::time::Duration::from_secs(10),
        h2: bytes.first().is_some_and(|b| b & 1 == 1),
        head_flag: "web.max-header-bytes",
        head_flag_value: 2048,
    });
    let mut out = Vec::new();
    // Fed in two parts, as a connection may bring them.
    let cut = bytes.len() / 3;
    if h.feed(&bytes[..cut], &mut out).is_ok() {
        let _ = h.feed(&bytes[cut..], &mut out);
    }
}

/// A fuzz target: untrusted bytes in, nothing out (it must not panic or hang).
pub type Target = fn(&[u8]);

/// Each target by the name of its `fuzz/fuzz_targets/` file and its corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("alerts", alerts),
    ("filters", filters),
    ("silence", silence),
    ("preview", preview),
    ("config", config),
    ("heads", heads),
];

#[cfg(test)]
#[path = "fuzz_tests.rs"]
mod tests;
