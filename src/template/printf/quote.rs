//! Go's `strconv.Quote` family for `printf`: built on `model`'s quoting, which the
//! differential tests check against Go.

pub(crate) use crate::model::is_go_print as is_print;
use crate::model::{go_quote_with, push_escaped};

/// `strconv.Quote` (or `QuoteToASCII` when `ascii`).
pub(crate) fn go_quote(s: &str, ascii: bool) -> String {
    go_quote_with(s, '"', ascii)
}

pub(crate) fn quote_rune(c: char, ascii: bool) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii);
    out.push('\'');
    out
}

pub(crate) fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}
