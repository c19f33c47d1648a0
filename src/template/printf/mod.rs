//! Go's `fmt` package as templates see it: `print`, `println`, `printf` and the default
//! printing of `{{ value }}` (maps as `map[k:v]`, slices as `[a b]`, structs as `{...}`,
//! `String()` methods honoured, `%!d(string=x)` bad-verb output, `%!(EXTRA ...)`).

use std::fmt::Write as _;

use jiff::tz::TimeZone;

mod float;
mod quote;

pub(crate) use float::format_float;
use quote::{can_backquote, quote_rune};
pub(crate) use quote::{go_quote, is_print};

use super::data::{Alert, Data};
use super::timefmt::{duration_string, time_string};
use super::value::{AlertList, Value};

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
        Value::Duration(d) => *d,
        _ => return None,
    };
    (-1_000_000..=1_000_000).contains(&v).then_some(v)
}

const LDIGITS: &[u8] = b"0123456789abcdefx";
const UDIGITS: &[u8] = b"0123456789ABCDEFX";

impl P<'_> {
    fn pad(&mut self, s: &str) {
        let Some(w) = self.f.wid.filter(|&w| w > 0) else {
            self.out.push_str(s);
            return;
        };
        let n = s.chars().count();
        if n >= w {
            self.out.push_str(s);
            return;
        }
        let fill = if self.f.zero { '0' } else { ' ' };
        if self.f.minus {
            self.out.push_str(s);
            self.out.extend(std::iter::repeat_n(' ', w - n));
        } else {
            self.out.extend(std::iter::repeat_n(fill, w - n));
            self.out.push_str(s);
        }
    }

    fn padding(&mut self, n: usize) {
        let fill = if self.f.zero { '0' } else { ' ' };
        self.out.extend(std::iter::repeat_n(fill, n));
    }

    fn bad_verb(&mut self, verb: char, v: &Value<'_>) {
        self.erroring = true;
        let _ = write!(self.out, "%!{verb}(");
        if matches!(v, Value::Nil) {
            self.out.push_str("<nil>");
        } else {
            self.out.push_str(v.type_name());
            self.out.push('=');
            let _ = self.arg(v, 'v');
        }
        self.out.push(')');
        self.erroring = false;
    }

    /// Go's `printArg` (depth 0).
    fn arg(&mut self, v: &Value<'_>, verb: char) -> Result<(), String> {
        if verb == 'T' {
            let t = v.type_name();
            self.pad(t);
            return Ok(());
        }
        if verb == 'p' {
            return Err("printf: %p is not supported".into());
        }
        match v {
            Value::Nil => {
                if verb == 'v' {
                    self.pad("<nil>");
                } else {
                    self.bad_verb(verb, v);
                }
                Ok(())
            }
            Value::Data(d) => {
                if self.try_stringer(v, verb) {
                    return Ok(());
                }
                self.out.push('&');
                self.data(d, verb)
            }
            _ => self.value(v, verb, 0),
        }
    }

    /// `String()` methods of KV, Pairs, time.Time and time.Duration.
    fn try_stringer(&mut self, v: &Value<'_>, verb: char) -> bool {
        if self.erroring || self.f.sharp_v || !matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
            return false;
        }
        let s = match v {
            Value::Kv(k) => k.kv().to_string(),
            Value::Pairs(ps) => pairs_string(ps.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
            Value::Time(t) => time_string(t),
            Value::Duration(d) => duration_string(*d),
            _ => return false,
        };
        self.string(&s, verb, v);
        true
    }

    /// Go's `printValue`.
    fn value(&mut self, v: &Value<'_>, verb: char, depth: usize) -> Result<(), String> {
        if self.try_stringer(v, verb) {
            return Ok(());
        }
        match v {
            Value::Nil => {
                if depth == 0 {
                    self.out.push_str("<invalid reflect.Value>");
                } else {
                    self.out.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) | Value::Duration(i) => self.integer(*i as u64, *i < 0, true, verb, v),
            Value::Byte(b) => self.integer(u64::from(*b), false, false, verb, v),
            Value::Float(f) => self.float(*f, verb, v)?,
            Value::Str(s, _) => self.string(s.as_str(), verb, v),
            Value::Strings(items, _) => {
                self.out.push('[');
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.value(
                        &Value::Str(s.clone(), super::value::StrKind::Plain),
                        verb,
                        depth + 1,
                    )?;
                }
                self.out.push(']');
            }
            Value::List(items) => {
                self.out.push('[');
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.elem(s, verb, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Dict(m) => {
                self.out.push_str("map[");
                for (i, (k, val)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.value(&Value::str(k), verb, depth + 1)?;
                    self.out.push(':');
                    self.elem(val, verb, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Kv(k) => {
                self.out.push_str("map[");
                for (i, (name, val)) in k.kv().0.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.value(&Value::str(name), verb, depth + 1)?;
                    self.out.push(':');
                    self.value(&Value::str(val), verb, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Pairs(ps) => {
                self.out.push('[');
                for (i, (a, b)) in ps.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.value(&Value::Pair(a.clone(), b.clone()), verb, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Pair(a, b) => {
                self.out.push('{');
                self.field(
                    "Name",
                    &Value::Str(a.clone(), super::value::StrKind::Plain),
                    verb,
                    depth,
                )?;
                self.out.push(' ');
                self.field(
                    "Value",
                    &Value::Str(b.clone(), super::value::StrKind::Plain),
                    verb,
                    depth,
                )?;
                self.out.push('}');
            }
            Value::Alerts(l) => self.alerts(l, verb, depth)?,
            Value::Alert(a) => self.alert(a, verb, depth)?,
            Value::Data(d) => self.data(d, verb)?,
            Value::Time(_) => {
                return Err(format!(
                    "printf: verb %{verb} is not supported for time.Time"
                ));
            }
        }
        Ok(())
    }

    /// An interface element: nil prints `<nil>` whatever the verb.
    fn elem(&mut self, v: &Value<'_>, verb: char, depth: usize) -> Result<(), String> {
        if matches!(v, Value::Nil) {
            self.out.push_str("<nil>");
            return Ok(());
        }
        if let Value::Data(d) = v {
            // A pointer inside a container prints as an address in Go; we never build one.
            return self.data(d, verb);
        }
        self.value(v, verb, depth)
    }

    fn field(&mut self, name: &str, v: &Value<'_>, verb: char, depth: usize) -> Result<(), String> {
        if self.f.plus_v || self.f.sharp_v {
            self.out.push_str(name);
            self.out.push(':');
        }
        self.value(v, verb, depth + 1)
    }

    fn alerts(&mut self, l: &AlertList<'_>, verb: char, depth: usize) -> Result<(), String> {
        self.out.push('[');
        for (i, a) in l.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            self.alert(a, verb, depth + 1)?;
        }
        self.out.push(']');
        Ok(())
    }

    fn alert(&mut self, a: &Alert, verb: char, depth: usize) -> Result<(), String> {
        use super::value::KvRef;
        self.out.push('{');
        self.field("Status", &Value::str(&a.status), verb, depth)?;
        self.out.push(' ');
        self.field("Labels", &Value::Kv(KvRef::B(&a.labels)), verb, depth)?;
        self.out.push(' ');
        self.field(
            "Annotations",
            &Value::Kv(KvRef::B(&a.annotations)),
            verb,
            depth,
        )?;
        self.out.push(' ');
        let st = Value::Time(std::rc::Rc::new(a.starts_at.to_zoned(self.zone.clone())));
        self.field("StartsAt", &st, verb, depth)?;
        self.out.push(' ');
        let en = Value::Time(std::rc::Rc::new(a.ends_at.to_zoned(self.zone.clone())));
        self.field("EndsAt", &en, verb, depth)?;
        self.out.push(' ');
        self.field("GeneratorURL", &Value::str(&a.generator_url), verb, depth)?;
        self.out.push(' ');
        self.field("Fingerprint", &Value::str(&a.fingerprint), verb, depth)?;
        self.out.push('}');
        Ok(())
    }

    fn data(&mut self, d: &Data, verb: char) -> Result<(), String> {
        use super::value::KvRef;
        let depth = 0;
        self.out.push('{');
        self.field("Receiver", &Value::str(&d.receiver), verb, depth)?;
        self.out.push(' ');
        self.field("Status", &Value::str(&d.status), verb, depth)?;
        self.out.push(' ');
        self.field(
            "Alerts",
            &Value::Alerts(AlertList::All(&d.alerts)),
            verb,
            depth,
        )?;
        self.out.push(' ');
        self.field(
            "NotificationReason",
            &Value::str(&d.notification_reason),
            verb,
            depth,
        )?;
        for (name, kv) in [
            ("GroupLabels", &d.group_labels),
            ("CommonLabels", &d.common_labels),
            ("CommonAnnotations", &d.common_annotations),
            ("RouteLabels", &d.route_labels),
        ] {
            self.out.push(' ');
            self.field(name, &Value::Kv(KvRef::B(kv)), verb, depth)?;
        }
        self.out.push(' ');
        self.field("ExternalURL", &Value::str(&d.external_url), verb, depth)?;
        self.out.push('}');
        Ok(())
    }

    fn string(&mut self, s: &str, verb: char, v: &Value<'_>) {
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

    fn integer(&mut self, u: u64, negative: bool, signed: bool, verb: char, v: &Value<'_>) {
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

    fn float(&mut self, x: f64, verb: char, v: &Value<'_>) -> Result<(), String> {
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
