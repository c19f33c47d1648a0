//! String helpers behind the function map: HTML/JS/URL escaping, base64, and Prometheus'
//! `humanizeDuration` (case mapping is in `case.rs`).

use super::super::printf::{format_float, is_print};
use super::super::value::{StrKind, Value};

/// text/template's `HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// text/template's `JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `url.QueryUnescape`.
pub(crate) fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let (Some(h), Some(l)) = (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) else {
                    let end = (i + 3).min(b.len());
                    return Err(format!(
                        "invalid URL escape {:?}",
                        String::from_utf8_lossy(&b[i..end])
                    ));
                };
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| "urlUnescape: result is not valid UTF-8 (not supported)".into())
}

pub(crate) const B64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= n {
                out.push(B64[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 decoding (padding required; CR and LF ignored), Go's error messages.
pub(crate) fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut vals: Vec<(usize, u8)> = Vec::with_capacity(s.len());
    for (i, c) in s.bytes().enumerate() {
        if c == b'\r' || c == b'\n' {
            continue;
        }
        vals.push((i, c));
    }
    let err = |i: usize| Err(format!("illegal base64 data at input byte {i}"));
    if !vals.len().is_multiple_of(4) {
        let i = vals
            .get(vals.len() - vals.len() % 4)
            .map_or(s.len(), |v| v.0);
        return err(i.min(s.len()));
    }
    let mut out = Vec::with_capacity(vals.len() / 4 * 3);
    let chunks = vals.len() / 4;
    for (ci, q) in vals.chunks(4).enumerate() {
        let mut v = 0u32;
        let mut pad = 0;
        for (k, &(pos, c)) in q.iter().enumerate() {
            let d = if c == b'=' {
                if ci + 1 != chunks || k < 2 || (k == 2 && q[3].1 != b'=') {
                    return err(pos);
                }
                pad += 1;
                0
            } else if pad > 0 {
                return err(pos);
            } else {
                match B64.iter().position(|&x| x == c) {
                    Some(d) => d as u32,
                    None => return err(pos),
                }
            };
            v = (v << 6) | d;
        }
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

/// Prometheus' `humanizeDuration`: `1d 2h 3m 4s`, or SI-prefixed seconds below one second.
pub(crate) fn humanize_duration(v: &Value<'_>) -> Result<String, String> {
    let x = match v {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        Value::Byte(b) => f64::from(*b),
        Value::Duration(d) => *d as f64 / 1e9,
        Value::Str(s, StrKind::Plain) => parse_go_float(s.as_str())?,
        other => return Err(format!("can't convert {} to float", other.type_name())),
    };
    if x.is_nan() || x.is_infinite() {
        return Ok(format_float(x, 'g', Some(4)));
    }
    if x == 0.0 {
        return Ok(format!("{}s", format_float(x, 'g', Some(4))));
    }
    if x.abs() >= 1.0 {
        let sign = if x < 0.0 { "-" } else { "" };
        let v = x.abs();
        let d = v as i64;
        let (days, hours, minutes, seconds) = (d / 86400, (d / 3600) % 24, (d / 60) % 60, d % 60);
        return Ok(if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", format_float(v, 'g', Some(4)))
        });
    }
    let mut v = x;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    Ok(format!("{}{prefix}s", format_float(v, 'g', Some(4))))
}

pub(crate) fn parse_go_float(s: &str) -> Result<f64, String> {
    let t = s.trim_start_matches(['+', '-']);
    let lower = t.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special
        && (t.is_empty()
            || !t
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')))
    {
        return Err(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"));
    }
    s.parse::<f64>()
        .map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
}
