//! Go's `strconv.FormatFloat` for the verbs `e E f F g G` (shortest or fixed precision).

use std::fmt::Write as _;

/// Decimal digits (no leading/trailing zeros) and decimal point position of `|x|`:
/// `x = 0.d1d2... * 10^dp`. `sig` rounds to that many significant digits; `None` is shortest.
fn decimal(x: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    if x == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match sig {
        None => format!("{:e}", x.abs()),
        Some(n) => format!("{:.*e}", n.max(1) - 1, x.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, exp + 1)
}

fn fmt_e(out: &mut String, digits: &[u8], dp: i32, prec: usize, upper: bool) {
    out.push(digits.first().map_or('0', |&d| d as char));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digits.get(i).map_or('0', |&d| d as char));
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    let _ = write!(out, "{e}");
}

fn fmt_f(out: &mut String, digits: &[u8], dp: i32, prec: usize) {
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(digits.get(i).map_or('0', |&d| d as char));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i32 {
            let idx = dp + i - 1;
            let d = if idx < 0 {
                b'0'
            } else {
                digits.get(idx as usize).copied().unwrap_or(b'0')
            };
            out.push(d as char);
        }
    }
}

/// `strconv.FormatFloat(x, verb, prec, 64)` for verbs e, E, f, F, g, G (`prec` `None` = shortest).
pub(crate) fn format_float(x: f64, verb: char, prec: Option<usize>) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    match verb {
        'e' | 'E' => match prec {
            Some(p) => {
                let (d, dp) = decimal(x, Some(p + 1));
                fmt_e(&mut out, &d, dp, p, verb == 'E');
            }
            None => {
                let (d, dp) = decimal(x, None);
                fmt_e(&mut out, &d, dp, d.len().saturating_sub(1), verb == 'E');
            }
        },
        'f' | 'F' => match prec {
            Some(p) => {
                let s = format!("{:.*}", p, x.abs());
                out.push_str(&s);
            }
            None => {
                let (d, dp) = decimal(x, None);
                fmt_f(&mut out, &d, dp, (d.len() as i32 - dp).max(0) as usize);
            }
        },
        _ => {
            let upper = verb == 'G';
            let shortest = prec.is_none();
            let (d, dp) = match prec {
                None => decimal(x, None),
                Some(p) => decimal(x, Some(p.max(1))),
            };
            let nd = d.len() as i32;
            let mut p = match prec {
                None => nd,
                Some(p) => p.max(1) as i32,
            };
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if (exp < -4 || exp >= eprec) && !d.is_empty() {
                if p > nd {
                    p = nd;
                }
                fmt_e(&mut out, &d, dp, (p - 1).max(0) as usize, upper);
            } else {
                if p > dp {
                    p = nd;
                }
                fmt_f(&mut out, &d, dp, (p - dp).max(0) as usize);
            }
        }
    }
    out
}
