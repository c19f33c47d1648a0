//! Go's `fmt` package as templates see it: `print`, `println`, `printf` and the default
//! printing of `{{ value }}` (maps as `map[k:v]`, slices as `[a b]`, structs as `{...}`,
//! `String()` methods honoured, `%!d(string=x)` bad-verb output, `%!(EXTRA ...)`).

//!
//! This file owns the entry points and `printf` format parsing; `values` prints values by
//! kind (composites, `String()` methods, bad verbs); `scalar` formats strings, integers and
//! floats under a verb; `float` and `quote` hold Go's float and quoting algorithms.
use std::fmt::Write as _;

use jiff::tz::TimeZone;

mod float;
mod quote;
mod scalar;
mod values;

pub(crate) use float::format_float;
pub(crate) use quote::is_print;

use super::value::Value;

/// Flags, width and precision of one verb.
#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

struct P<'o> {
    out: &'o mut String,
    zone: &'o TimeZone,
    f: Spec,
    erroring: bool,
}

/// `fmt.Sprint(args...)`.
pub(crate) fn sprint(out: &mut String, args: &[Value<'_>], zone: &TimeZone) {
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string_kind();
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_arg(out, a, 'v', zone);
        prev_string = is_string;
    }
}

/// `fmt.Sprintln(args...)`.
pub(crate) fn sprintln(out: &mut String, args: &[Value<'_>], zone: &TimeZone) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_arg(out, a, 'v', zone);
    }
    out.push('\n');
}

/// `fmt.Fprint(w, v)` for one value with `%v`.
pub(crate) fn print_arg(out: &mut String, v: &Value<'_>, verb: char, zone: &TimeZone) {
    let mut p = P {
        out,
        zone,
        f: Spec::default(),
        erroring: false,
    };
    // Unsupported combinations cannot arise for %v.
    let _ = p.arg(v, verb);
}

/// `fmt.Sprintf(format, args...)`. Errors only for formatting features we do not implement.
pub(crate) fn sprintf(
    out: &mut String,
    format: &str,
    args: &[Value<'_>],
    zone: &TimeZone,
) -> Result<(), String> {
    let mut p = P {
        out,
        zone,
        f: Spec::default(),
        erroring: false,
    };
    let b = format.as_bytes();
    let mut i = 0;
    let mut arg_num = 0usize;
    let mut reordered = false;
    while i < b.len() {
        let lit_end = format[i..].find('%').map_or(b.len(), |x| i + x);
        p.out.push_str(&format[i..lit_end]);
        i = lit_end;
        if i >= b.len() {
            break;
        }
        i += 1; // '%'
        p.f = Spec::default();
        // Flags.
        while i < b.len() {
            match b[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index, width.
        let mut good_arg = true;
        (arg_num, i, reordered, good_arg) =
            arg_index(format, i, arg_num, args.len(), reordered, good_arg);
        if i < b.len() && b[i] == b'*' {
            i += 1;
            match int_arg(args, arg_num) {
                Some(n) => {
                    arg_num += 1;
                    if n < 0 {
                        p.f.minus = true;
                        p.f.zero = false;
                    }
                    p.f.wid = Some(n.unsigned_abs() as usize);
                }
                None => {
                    arg_num += usize::from(arg_num < args.len());
                    p.out.push_str("%!(BADWIDTH)");
                }
            }
            reordered = false;
        } else {
            let (n, ni) = parse_num(format, i);
            if ni > i {
                p.f.wid = Some(n);
                i = ni;
            }
        }
        // Precision.
        if i < b.len() && b[i] == b'.' {
            i += 1;
            (arg_num, i, reordered, good_arg) =
                arg_index(format, i, arg_num, args.len(), reordered, good_arg);
            if i < b.len() && b[i] == b'*' {
                i += 1;
                match int_arg(args, arg_num) {
                    Some(n) if n >= 0 => {
                        arg_num += 1;
                        p.f.prec = Some(n as usize);
                    }
                    Some(_) => {
                        arg_num += 1;
                        p.out.push_str("%!(BADPREC)");
                    }
                    None => {
                        arg_num += usize::from(arg_num < args.len());
                        p.out.push_str("%!(BADPREC)");
                    }
                }
                reordered = false;
            } else {
                let (n, ni) = parse_num(format, i);
                p.f.prec = Some(n);
                i = ni;
            }
        }
        (arg_num, i, reordered, good_arg) =
            arg_index(format, i, arg_num, args.len(), reordered, good_arg);
        let Some(verb) = format[i..].chars().next() else {
            p.out.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.out.push('%');
            continue;
        }
        if !good_arg {
            let _ = write!(p.out, "%!{verb}(BADINDEX)");
            continue;
        }
        if arg_num >= args.len() {
            let _ = write!(p.out, "%!{verb}(MISSING)");
            continue;
        }
        if verb == 'v' {
            if p.f.sharp {
                p.f.sharp = false;
                p.f.sharp_v = true;
            }
            if p.f.plus {
                p.f.plus = false;
                p.f.plus_v = true;
            }
        }
        if verb == 'w' {
            p.bad_verb(verb, &args[arg_num]);
        } else {
            p.arg(&args[arg_num], verb)?;
        }
        arg_num += 1;
    }
    if !reordered && arg_num < args.len() {
        p.f = Spec::default();
        p.out.push_str("%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.out.push_str(", ");
            }
            if matches!(a, Value::Nil) {
                p.out.push_str("<nil>");
            } else {
                p.out.push_str(a.type_name());
                p.out.push('=');
                p.arg(a, 'v')?;
            }
        }
        p.out.push(')');
    }
    Ok(())
}

fn parse_num(s: &str, mut i: usize) -> (usize, usize) {
    let b = s.as_bytes();
    let mut n = 0usize;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n
            .saturating_mul(10)
            .saturating_add(usize::from(b[i] - b'0'))
            .min(1_000_000);
        i += 1;
    }
    (n, i)
}

/// Handles an explicit `[n]` argument index at `i`.
fn arg_index(
    s: &str,
    i: usize,
    arg_num: usize,
    nargs: usize,
    reordered: bool,
    good: bool,
) -> (usize, usize, bool, bool) {
    let b = s.as_bytes();
    if i >= b.len() || b[i] != b'[' {
        return (arg_num, i, reordered, good);
    }
    let Some(close) = s[i..].find(']') else {
        return (arg_num, b.len().min(i + 1), true, false);
    };
    let inner = &s[i + 1..i + close];
    match inner.parse::<usize>() {
        Ok(n) if n >= 1 && n <= nargs && !inner.starts_with('+') => {
            (n - 1, i + close + 1, true, good)
        }
        _ => (arg_num, i + close + 1, true, false),
    }
}

/// An integer `*` argument; values beyond ±1e6 are refused as Go does.
fn int_arg(args: &[Value<'_>], n: usize) -> Option<i64> {
    let v = match args.get(n)? {
        Value::Int(i) => *i,
        Value::Byte(b) => i64::from(*b),
        Value::Duration(d) | Value::Month(d) | Value::Weekday(d) => *d,
        _ => return None,
    };
    (-1_000_000..=1_000_000).contains(&v).then_some(v)
}

/// `Pairs.String()`: `a=b, c=d`.
pub(crate) fn pairs_string<'x>(it: impl Iterator<Item = (&'x str, &'x str)>) -> String {
    let mut s = String::new();
    for (i, (a, b)) in it.enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(a);
        s.push('=');
        s.push_str(b);
    }
    s
}
