//! The escaping functions html/template inserts (`htmlEscaper`, `attrEscaper`, URL filter,
//! normaliser and escaper), applied at render time to an action's value.

use jiff::tz::TimeZone;

use super::super::funcs::{eval_args, html_escape, query_escape};
use super::super::printf::print_arg;
use super::super::value::{StrKind, Value};
use super::Esc;

/// html/template's `stringify`: the string and its content type.
fn stringify(v: &Value<'_>, zone: &TimeZone) -> (String, StrKind) {
    match v {
        Value::Str(s, k) => (s.as_str().to_string(), *k),
        Value::Nil => (String::new(), StrKind::Plain),
        Value::Data(_) => {
            let mut s = String::new();
            print_arg(&mut s, v, 'v', zone);
            (
                s.strip_prefix('&').unwrap_or(&s).to_string(),
                StrKind::Plain,
            )
        }
        other => {
            let mut s = String::new();
            print_arg(&mut s, other, 'v', zone);
            (s, StrKind::Plain)
        }
    }
}

fn html_replace(s: &str, amp: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '&' if amp => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '+' => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn url_process(s: &str, norm: bool) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in b.iter().enumerate() {
        let keep = match c {
            b'!' | b'#' | b'$' | b'&' | b'*' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?'
            | b'@' | b'[' | b']' => norm,
            b'-' | b'.' | b'_' | b'~' => true,
            b'%' => {
                norm && i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit()
            }
            c => c.is_ascii_alphanumeric(),
        };
        if keep {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02x}"));
        }
    }
    out
}

fn is_safe_url(s: &str) -> bool {
    match s.split_once(':') {
        Some((proto, _)) if !proto.contains('/') => {
            proto.eq_ignore_ascii_case("http")
                || proto.eq_ignore_ascii_case("https")
                || proto.eq_ignore_ascii_case("mailto")
        }
        _ => true,
    }
}

/// Text content of an HTML fragment (for `safeHtml` values used in attributes).
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag: Option<u8> = None;
    let mut tag = false;
    let b = html.as_bytes();
    let mut i = 0;
    let mut all_text = true;
    while i < b.len() {
        let x = b[i];
        if tag {
            match in_tag {
                Some(q) if x == q => in_tag = None,
                Some(_) => {}
                None if x == b'"' || x == b'\'' => in_tag = Some(x),
                None if x == b'>' => tag = false,
                None => {}
            }
            i += 1;
            continue;
        }
        if x == b'<'
            && b.get(i + 1)
                .is_some_and(|y| y.is_ascii_alphabetic() || *y == b'/' || *y == b'!')
        {
            tag = true;
            all_text = false;
            i += 1;
            continue;
        }
        let ch_len = html[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&html[i..i + ch_len]);
        i += ch_len;
    }
    if all_text { html.to_string() } else { out }
}

/// Applies an escaper chain to an action's value.
pub(crate) fn apply_escapers(esc: &[Esc], v: Value<'_>, zone: &TimeZone) -> String {
    let mut cur: Option<(String, StrKind)> = None;
    let mut first = Some(v);
    for e in esc {
        let (s, kind) = match (first.take(), cur.take()) {
            (Some(v), _) => {
                if matches!(e, Esc::BuiltinHtml | Esc::BuiltinUrlQuery) {
                    let s = eval_args(std::slice::from_ref(&v), zone);
                    let out = if *e == Esc::BuiltinHtml {
                        html_escape(&s)
                    } else {
                        query_escape(&s)
                    };
                    cur = Some((out, StrKind::Plain));
                    continue;
                }
                stringify(&v, zone)
            }
            (None, Some(c)) => c,
            (None, None) => (String::new(), StrKind::Plain),
        };
        let out = match e {
            Esc::Html => {
                if kind == StrKind::Html {
                    s
                } else {
                    html_replace(&s, true)
                }
            }
            Esc::Rcdata => html_replace(&s, kind != StrKind::Html),
            Esc::Attr => {
                if kind == StrKind::Html {
                    html_replace(&strip_tags(&s), false)
                } else {
                    html_replace(&s, true)
                }
            }
            Esc::UrlFilter => {
                if kind == StrKind::Url || is_safe_url(&s) {
                    s
                } else {
                    "#ZgotmplZ".to_string()
                }
            }
            Esc::UrlNorm => url_process(&s, true),
            Esc::UrlQuery => url_process(&s, kind == StrKind::Url),
            Esc::Comment => String::new(),
            Esc::BuiltinHtml => html_escape(&s),
            Esc::BuiltinUrlQuery => query_escape(&s),
        };
        cur = Some((out, StrKind::Plain));
    }
    match (first, cur) {
        (_, Some((s, _))) => s,
        (Some(v), None) => stringify(&v, zone).0,
        (None, None) => String::new(),
    }
}
