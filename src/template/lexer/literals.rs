//! Literal scanning for the lexer: quoted strings, character constants and numbers, plus
//! Go's `unquote` and the `%#U` character names used in messages.

use super::{LexError, Lexer, Tok, is_alnum};

impl Lexer<'_> {
    /// Finds the closing `delim` of a literal opened at `self.pos` (escapes skipped); `what`
    /// names the literal in the error.
    fn scan_to(&self, delim: u8, what: &str) -> Result<usize, LexError> {
        let start = self.pos;
        let mut p = self.pos + 1;
        loop {
            match self.b.get(p) {
                None | Some(b'\n') => return self.err(start, format!("unterminated {what}")),
                Some(b'\\') => {
                    if matches!(self.b.get(p + 1), None | Some(b'\n')) {
                        return self.err(start, format!("unterminated {what}"));
                    }
                    p += 2;
                }
                Some(&b) if b == delim => return Ok(p),
                Some(_) => p += 1,
            }
        }
    }

    pub(super) fn quote(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let p = self.scan_to(b'"', "quoted string")?;
        let body = &self.src[start + 1..p];
        let s = unquote(body, '"').map_err(|msg| LexError { pos: start, msg })?;
        self.push(Tok::Str(s), start);
        self.pos = p + 1;
        Ok(())
    }

    pub(super) fn char_const(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let p = self.scan_to(b'\'', "character constant")?;
        let body = &self.src[start + 1..p];
        let s = unquote(body, '\'').map_err(|_| LexError {
            pos: start,
            msg: format!("malformed character constant: {}", &self.src[start..=p]),
        })?;
        let mut it = s.chars();
        let (Some(c), None) = (it.next(), it.next()) else {
            return self.err(
                start,
                format!("malformed character constant: {}", &self.src[start..=p]),
            );
        };
        self.push(Tok::Char(c as i64), start);
        self.pos = p + 1;
        Ok(())
    }

    pub(super) fn number(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let ok = self.scan_number();
        if !ok {
            return self.err(
                start,
                format!("bad number syntax: {:?}", &self.src[start..self.pos]),
            );
        }
        if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
            return self.err(start, "complex number constants are not supported");
        }
        self.push(Tok::Number(self.src[start..self.pos].to_string()), start);
        Ok(())
    }

    pub(super) fn accept(&mut self, set: &str) -> bool {
        if let Some(&b) = self.b.get(self.pos)
            && set.as_bytes().contains(&b)
        {
            self.pos += 1;
            return true;
        }
        false
    }

    pub(super) fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    pub(super) fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.src[self.pos..].chars().next()
            && is_alnum(c)
        {
            self.pos += c.len_utf8();
            return false;
        }
        true
    }
}

/// Go's `%#U` rendering of a character, used in error messages.
pub(crate) fn unicode_name(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// Unquotes the body of a Go interpreted string or rune literal (without the quotes).
pub(crate) fn unquote(body: &str, quote: char) -> Result<String, String> {
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut it = body.char_indices().peekable();
    let bad = || "invalid syntax".to_string();
    while let Some((_, c)) = it.next() {
        if c == quote {
            return Err(bad());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some((_, e)) = it.next() else {
            return Err(bad());
        };
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' | '"' if e == quote => Some(e as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let mut hex = |n: usize| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let (_, d) = it.next().ok_or_else(bad)?;
                v = v * 16 + d.to_digit(16).ok_or_else(bad)?;
            }
            Ok(v)
        };
        // `\x`, `\u`, `\U` and octal escapes: a code point in a character constant (and for
        // `\u`/`\U` anywhere), a raw byte in a string.
        let (v, code_point) = match e {
            'x' => (hex(2)?, quote == '\''),
            'u' | 'U' => (hex(if e == 'u' { 4 } else { 8 })?, true),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let (_, d) = it.next().ok_or_else(bad)?;
                    v = v * 8 + d.to_digit(8).ok_or_else(bad)?;
                }
                if v > 255 {
                    return Err(bad());
                }
                (v, quote == '\'')
            }
            _ => return Err(bad()),
        };
        if code_point {
            let c = char::from_u32(v).ok_or_else(bad)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        } else {
            out.push(v as u8);
        }
    }
    String::from_utf8(out)
        .map_err(|_| "string literal is not valid UTF-8 (not supported)".to_string())
}
