//! Go's `strconv.Quote` and `strconv.Unquote` for double-quoted strings, which Alertmanager uses
//! to print label values, matchers and group keys. Imports: std only.

/// Quotes `s` the way Go's `strconv.Quote` does: `"`, `\` and control characters escaped,
/// printable Unicode kept as is.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint`: not a control character, not a lone format or
/// private-use code point. Exact for ASCII and the common scripts.
fn is_go_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x20 || u == 0x7f || (0x80..0xa0).contains(&u) {
        return false;
    }
    // U+00AD soft hyphen, zero-width and bidi formatting characters, separators, private use,
    // specials: Go escapes these.
    let format_or_private = matches!(u, 0xad | 0x200b..=0x200f | 0x2028..=0x202e
        | 0x2060..=0x206f | 0xfeff | 0xe000..=0xf8ff | 0xfff9..=0xfffb | 0xf0000..=0x10ffff);
    // Go prints U+0020, U+00A0 and U+3000 but escapes the other space characters below U+2000.
    let odd_space = u != 0x20 && u != 0xa0 && u != 0x3000 && u < 0x2000 && c.is_whitespace();
    !format_or_private && !odd_space
}

/// Unquotes a Go double-quoted string literal (including the quotes). Returns `None` when the
/// literal is malformed.
pub fn go_unquote(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => {
                let e = chars.next()?;
                match e {
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'x' => {
                        let v = hex(&mut chars, 2)?;
                        // Go allows arbitrary bytes here; we keep only those that form UTF-8.
                        out.push(char::from_u32(v).filter(|_| v < 0x80)?);
                    }
                    'u' => out.push(char::from_u32(hex(&mut chars, 4)?)?),
                    'U' => out.push(char::from_u32(hex(&mut chars, 8)?)?),
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            v = v * 8 + chars.next()?.to_digit(8)?;
                        }
                        out.push(char::from_u32(v).filter(|_| v < 0x80)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Go's `regexp.QuoteMeta`: escapes every regex metacharacter (`\.+*?()|[]{}^$`).
pub fn go_regex_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hex(chars: &mut std::str::Chars<'_>, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for _ in 0..n {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("plain"), r#""plain""#);
        assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("héllo ✓"), "\"héllo ✓\"");
    }

    #[test]
    fn regex_quote_like_go() {
        assert_eq!(go_regex_quote("hook.default"), "hook\\.default");
        assert_eq!(
            go_regex_quote("a+b(c)|[d]{e}^$*?\\"),
            "a\\+b\\(c\\)\\|\\[d\\]\\{e\\}\\^\\$\\*\\?\\\\"
        );
    }

    #[test]
    fn unquote_round_trips() {
        for s in ["", "x", "a\"b", "tab\there", "é", "\\"] {
            assert_eq!(go_unquote(&go_quote(s)).as_deref(), Some(s));
        }
        assert_eq!(go_unquote(r#""\u00e9""#).as_deref(), Some("é"));
        assert!(go_unquote(r#""bad\q""#).is_none());
        assert!(go_unquote(r#""open"#).is_none());
    }
}
