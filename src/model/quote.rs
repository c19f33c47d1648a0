//! Go's `strconv.Quote` and `strconv.Unquote` for double-quoted strings, which Alertmanager uses
//! to print label values, matchers and group keys. Imports: std only.

/// Quotes `s` the way Go's `strconv.Quote` does: `"`, `\` and control characters escaped,
/// printable Unicode kept as is.
pub fn go_quote(s: &str) -> String {
    go_quote_with(s, '"', false)
}

/// Go's `strconv.Quote` family: `quote` is the delimiter (`"` for strings, `'` for runes) and
/// `ascii` escapes every non-ASCII character (`QuoteToASCII`). The template engine's `%q` uses
/// it too, so it is checked byte for byte against Go by the template differential tests.
pub fn go_quote_with(s: &str, quote: char, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        push_escaped(&mut out, c, quote, ascii);
    }
    out.push(quote);
    out
}

/// Go's `unicode.IsPrint`, approximated: exact for ASCII and the common scripts; format,
/// private-use and unassigned-plane code points count as unprintable.
pub fn is_go_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c,
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{E000}'..='\u{F8FF}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{FFFE}' | '\u{FFFF}'
        | '\u{E0000}'..='\u{10FFFF}')
}

/// Appends `c` as Go escapes it inside a literal delimited by `quote`.
pub fn push_escaped(out: &mut String, c: char, quote: char, ascii: bool) {
    use std::fmt::Write as _;
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if (c.is_ascii() || !ascii) && is_go_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
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
