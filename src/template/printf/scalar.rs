//! Scalars under a verb: strings (`%s %q %x %X %v`), integers (`%d %b %o %O %x %X %c %q %U`,
//! with precision and flags) and floats (`%e %E %f %F %g %G %b %x %X %v`).

use super::super::value::Value;
use super::P;
use super::float::format_float;
use super::quote::{can_backquote, go_quote, is_print, quote_rune};

const LDIGITS: &[u8] = b"0123456789abcdefx";
const UDIGITS: &[u8] = b"0123456789ABCDEFX";

impl P<'_> {
    pub(super) fn string(&mut self, s: &str, verb: char, v: &Value<'_>) {
        match verb {
            'v' if self.f.sharp_v => {
                let q = go_quote(s, false);
                self.pad(&q);
            }
            'v' | 's' => {
                if let Some(p) = self.f.prec {
                    let t: String = s.chars().take(p).collect();
                    self.pad(&t);
                } else {
                    self.pad(s);
                }
            }
            'x' | 'X' => {
                let digits = if verb == 'x' { LDIGITS } else { UDIGITS };
                let bytes = s.as_bytes();
                let n = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
                let mut buf = String::new();
                for (i, &c) in bytes[..n].iter().enumerate() {
                    if self.f.space && i > 0 {
                        buf.push(' ');
                    }
                    if self.f.sharp && (self.f.space || i == 0) {
                        buf.push('0');
                        buf.push(digits[16] as char);
                    }
                    buf.push(digits[usize::from(c >> 4)] as char);
                    buf.push(digits[usize::from(c & 15)] as char);
                }
                self.pad(&buf);
            }
            'q' => {
                let s = match self.f.prec {
                    Some(p) => s.chars().take(p).collect::<String>(),
                    None => s.to_string(),
                };
                let q = if self.f.sharp && can_backquote(&s) {
                    format!("`{s}`")
                } else {
                    go_quote(&s, self.f.plus)
                };
                self.pad(&q);
            }
            _ => self.bad_verb(verb, v),
        }
    }

    pub(super) fn integer(
        &mut self,
        u: u64,
        negative: bool,
        signed: bool,
        verb: char,
        v: &Value<'_>,
    ) {
        let base = match verb {
            'v' | 'd' => 10,
            'b' => 2,
            'o' | 'O' => 8,
            'x' | 'X' => 16,
            'c' => {
                let c = if negative {
                    None
                } else {
                    u32::try_from(u).ok().and_then(char::from_u32)
                };
                let s = c.unwrap_or('\u{FFFD}').to_string();
                self.pad(&s);
                return;
            }
            'q' => {
                let c = if negative {
                    None
                } else {
                    u32::try_from(u).ok().and_then(char::from_u32)
                };
                let q = quote_rune(c.unwrap_or('\u{FFFD}'), self.f.plus);
                self.pad(&q);
                return;
            }
            'U' => {
                let mut s = format!("U+{u:04X}");
                if let Some(p) = self.f.prec
                    && p > 4
                {
                    s = format!("U+{u:0p$X}");
                }
                if self.f.sharp
                    && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
                    && is_print(c)
                {
                    s.push_str(&format!(" '{c}'"));
                }
                let zero = self.f.zero;
                self.f.zero = false;
                self.pad(&s);
                self.f.zero = zero;
                return;
            }
            _ => {
                self.bad_verb(verb, v);
                return;
            }
        };
        let _ = signed;
        let mut mag = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let digits = if verb == 'X' { UDIGITS } else { LDIGITS };
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && mag == 0 {
                let zero = self.f.zero;
                self.f.zero = false;
                let w = self.f.wid.unwrap_or(0);
                self.padding(w);
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero
            && let Some(w) = self.f.wid
        {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut buf: Vec<u8> = Vec::with_capacity(24);
        if mag == 0 {
            buf.push(b'0');
        }
        while mag > 0 {
            buf.push(digits[(mag % base) as usize]);
            mag /= base;
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => {
                    buf.push(digits[16]);
                    buf.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        let s = String::from_utf8(buf).unwrap_or_default();
        let zero = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = zero;
    }

    pub(super) fn float(&mut self, x: f64, verb: char, v: &Value<'_>) -> Result<(), String> {
        let body = match verb {
            'v' => format_float(x, 'g', None),
            'g' | 'G' => format_float(x, verb, self.f.prec),
            'e' | 'E' | 'f' | 'F' => format_float(x, verb, Some(self.f.prec.unwrap_or(6))),
            'b' | 'x' | 'X' => return Err(format!("printf: %{verb} is not supported for floats")),
            _ => {
                self.bad_verb(verb, v);
                return Ok(());
            }
        };
        if self.f.sharp && verb != 'v' {
            return Err("printf: the # flag is not supported for floats".into());
        }
        let mut num = if let Some(rest) = body.strip_prefix('-') {
            format!("-{rest}")
        } else {
            format!("+{body}")
        };
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with('I') || num[1..].starts_with('N') {
            let zero = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = zero;
            return Ok(());
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero
                && let Some(w) = self.f.wid
                && w > num.len()
            {
                let (sign, rest) = num.split_at(1);
                self.out.push_str(sign);
                self.padding(w - num.len());
                self.out.push_str(rest);
                return Ok(());
            }
            self.pad(&num);
            return Ok(());
        }
        self.pad(&num[1..]);
        Ok(())
    }
}
