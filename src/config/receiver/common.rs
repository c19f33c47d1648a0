//! Pieces every integration config shares: default templates, "is this secret set" as
//! Alertmanager reads it (an empty string is not set), Go's `time.ParseDuration` grammar (for
//! the few fields Alertmanager types as `time.Duration`), and the inline-template check.
//! Imports: std, `crate::template`, the parent config modules.

use crate::config::secret::Secret;
use crate::config::validate::Ctx;

/// `fn $f() -> String` returning a default template, for `#[serde(default = "...")]`.
macro_rules! tmpl {
    ($($f:ident => $s:expr;)+) => {
        $(
            fn $f() -> String {
                $s.to_owned()
            }
        )+
    };
}
pub(crate) use tmpl;

/// `true`, for `#[serde(default = "yes")]`.
pub(crate) fn yes() -> bool {
    true
}

/// For `skip_serializing_if`: `false`.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether a Go `Secret` field is set: present and not empty.
pub(crate) fn set(s: &Option<Secret<String>>) -> bool {
    s.as_ref().is_some_and(|v| !v.expose().is_empty())
}

/// Whether a Go string field (a `_file` path, say) is set: present and not empty.
pub(crate) fn set_str<T: AsRef<std::ffi::OsStr>>(s: &Option<T>) -> bool {
    s.as_ref().is_some_and(|v| !v.as_ref().is_empty())
}

/// Why Go's `time.ParseDuration` refuses `s` (`1h30m`, `1.5s`, `300ms`; no days), or None.
pub fn go_duration_problem(s: &str) -> Option<String> {
    let bad = || Some(format!("time: invalid duration {s:?}"));
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body == "0" {
        return None;
    }
    if body.is_empty() {
        return bad();
    }
    let mut rest = body;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut n = int_len;
        let mut frac_len = 0;
        if rest[n..].starts_with('.') {
            n += 1;
            frac_len = rest[n..].bytes().take_while(u8::is_ascii_digit).count();
            n += frac_len;
        }
        if int_len == 0 && frac_len == 0 {
            return bad();
        }
        rest = &rest[n..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Some(format!("time: missing unit in duration {s:?}"));
        }
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit) {
            return Some(format!("time: unknown unit {unit:?} in duration {s:?}"));
        }
        rest = &rest[unit_len..];
    }
    None
}

/// Records an error when a Go `time.Duration` field does not parse.
pub(crate) fn check_go_duration(ctx: &mut Ctx<'_>, path: &str, s: &Option<String>) {
    if let Some(s) = s
        && let Some(e) = go_duration_problem(s)
    {
        ctx.error(path, e);
    }
}

/// Why an inline template does not parse, or None.
pub(crate) fn template_problem(text: &str) -> Option<String> {
    crate::template::Templates::new()
        .parse_inline(text)
        .err()
        .map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for ok in ["0", "1h30m", "1.5s", "300ms", "-2m", ".5h", "1h0m0s", "2µs"] {
            assert_eq!(go_duration_problem(ok), None, "{ok}");
        }
        for bad in ["", "1d", "5", "h", "1hm", "1.h.", "abc", "+"] {
            assert!(go_duration_problem(bad).is_some(), "{bad}");
        }
    }
}
