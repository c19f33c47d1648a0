//! The function map: Go's builtins (`and or not len index slice print printf println html js
//! urlquery eq ne lt le gt ge call`) and Alertmanager's `DefaultFuncs` (`toUpper`, `join`,
//! `reReplaceAll`, `date`, `tz`, `humanizeDuration`, `toJson`, `dict`, ...), with their Go
//! parameter types so argument checking matches Go's.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use regex::Regex;

mod text;

pub(crate) use text::{base64_decode, base64_encode, html_escape, query_escape};
use text::{humanize_duration, js_escape, map_chars, query_unescape, title};

use super::json::to_json;
use super::printf::{sprint, sprintf, sprintln};
use super::value::{AlertList, Str, StrKind, Value};

/// A function callable from templates, resolved at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    UrlQuery,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Call,
    ToUpper,
    ToLower,
    Title,
    TrimSpace,
    Join,
    Match,
    SafeHtml,
    SafeUrl,
    UrlUnescape,
    ReReplaceAll,
    StringSlice,
    Date,
    Tz,
    Since,
    HumanizeDuration,
    ToJson,
    Now,
    Dict,
    List,
    Append,
    Base64Encode,
    Base64Decode,
    /// Internal: `fmt.Sprint`-like stringification used when the HTML escaper takes over a
    /// trailing `html a b` (Go's `_eval_args_`).
    EvalArgs,
}

/// A Go parameter type, as far as argument checking needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum P {
    /// `interface{}` / `reflect.Value`: anything, nil included.
    Any,
    /// `string` (not `template.HTML`).
    Str,
    /// `[]string`.
    StrSlice,
    /// `[]interface{}`.
    List,
    /// `time.Time`.
    Time,
}

impl P {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Str => "string",
            P::StrSlice => "[]string",
            P::List => "[]interface {}",
            P::Time => "time.Time",
        }
    }
}

/// Fixed parameters and the element type of a trailing variadic parameter.
pub(crate) struct Sig {
    pub(crate) fixed: &'static [P],
    pub(crate) variadic: Option<P>,
}

const fn sig(fixed: &'static [P], variadic: Option<P>) -> Sig {
    Sig { fixed, variadic }
}

impl Func {
    /// Looks up a function by its template name.
    pub(crate) fn lookup(name: &str) -> Option<Func> {
        use Func::*;
        Some(match name {
            "and" => And,
            "or" => Or,
            "not" => Not,
            "len" => Len,
            "index" => Index,
            "slice" => Slice,
            "print" => Print,
            "printf" => Printf,
            "println" => Println,
            "html" => Html,
            "js" => Js,
            "urlquery" => UrlQuery,
            "eq" => Eq,
            "ne" => Ne,
            "lt" => Lt,
            "le" => Le,
            "gt" => Gt,
            "ge" => Ge,
            "call" => Call,
            "toUpper" => ToUpper,
            "toLower" => ToLower,
            "title" => Title,
            "trimSpace" => TrimSpace,
            "join" => Join,
            "match" => Match,
            "safeHtml" => SafeHtml,
            "safeUrl" => SafeUrl,
            "urlUnescape" => UrlUnescape,
            "reReplaceAll" => ReReplaceAll,
            "stringSlice" => StringSlice,
            "date" => Date,
            "tz" => Tz,
            "since" => Since,
            "humanizeDuration" => HumanizeDuration,
            "toJson" => ToJson,
            "now" => Now,
            "dict" => Dict,
            "list" => List,
            "append" => Append,
            "base64encode" => Base64Encode,
            "base64decode" => Base64Decode,
            _ => return None,
        })
    }

    /// The template name.
    pub(crate) fn name(self) -> &'static str {
        use Func::*;
        match self {
            And => "and",
            Or => "or",
            Not => "not",
            Len => "len",
            Index => "index",
            Slice => "slice",
            Print => "print",
            Printf => "printf",
            Println => "println",
            Html => "html",
            Js => "js",
            UrlQuery => "urlquery",
            Eq => "eq",
            Ne => "ne",
            Lt => "lt",
            Le => "le",
            Gt => "gt",
            Ge => "ge",
            Call => "call",
            ToUpper => "toUpper",
            ToLower => "toLower",
            Title => "title",
            TrimSpace => "trimSpace",
            Join => "join",
            Match => "match",
            SafeHtml => "safeHtml",
            SafeUrl => "safeUrl",
            UrlUnescape => "urlUnescape",
            ReReplaceAll => "reReplaceAll",
            StringSlice => "stringSlice",
            Date => "date",
            Tz => "tz",
            Since => "since",
            HumanizeDuration => "humanizeDuration",
            ToJson => "toJson",
            Now => "now",
            Dict => "dict",
            List => "list",
            Append => "append",
            Base64Encode => "base64encode",
            Base64Decode => "base64decode",
            EvalArgs => "_eval_args_",
        }
    }

    /// The Go signature.
    pub(crate) fn sig(self) -> Sig {
        use Func::*;
        const A: P = P::Any;
        const S: P = P::Str;
        match self {
            And | Or | Eq | Index | Slice | Call => sig(&[A], Some(A)),
            Not | Len | HumanizeDuration | ToJson => sig(&[A], None),
            Print | Println | Html | Js | UrlQuery | Dict | List | EvalArgs => sig(&[], Some(A)),
            Printf => sig(&[S], Some(A)),
            Ne | Lt | Le | Gt | Ge => sig(&[A, A], None),
            ToUpper | ToLower | Title | TrimSpace | SafeHtml | SafeUrl | UrlUnescape
            | Base64Encode | Base64Decode => sig(&[S], None),
            Join => sig(&[S, P::StrSlice], None),
            Match => sig(&[S, S], None),
            ReReplaceAll => sig(&[S, S, S], None),
            StringSlice => sig(&[], Some(S)),
            Date | Tz => sig(&[S, P::Time], None),
            Since => sig(&[P::Time], None),
            Now => sig(&[], None),
            Append => sig(&[P::List], Some(A)),
        }
    }
}

/// What functions may read from the render: zone, "now", and a regex cache.
pub(crate) struct Env {
    /// Zone of `now` and of alert times.
    pub(crate) zone: TimeZone,
    /// The instant used by `now` and `since`.
    pub(crate) now: Timestamp,
    regexes: HashMap<String, Regex>,
}

impl Env {
    pub(crate) fn new(zone: TimeZone, now: Timestamp) -> Self {
        Env {
            zone,
            now,
            regexes: HashMap::new(),
        }
    }

    fn regex(&mut self, pattern: &str) -> Result<&Regex, String> {
        if !self.regexes.contains_key(pattern) {
            if self.regexes.len() > 256 {
                self.regexes.clear();
            }
            let re = regex::RegexBuilder::new(pattern)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| format!("error parsing regexp: {e}"))?;
            self.regexes.insert(pattern.to_string(), re);
        }
        self.regexes
            .get(pattern)
            .ok_or_else(|| "regex cache".to_string())
    }
}

type R<'a> = Result<Value<'a>, String>;

fn s<'v>(v: &'v Value<'_>) -> &'v str {
    v.as_any_str().unwrap_or("")
}

/// `evalArgs` of text/template's html/js/urlquery: one string as is, else `fmt.Sprint`
/// with missing values shown as `<no value>`.
pub(crate) fn eval_args(args: &[Value<'_>], zone: &TimeZone) -> String {
    if let [Value::Str(s, StrKind::Plain)] = args {
        return s.as_str().to_string();
    }
    let fixed: Vec<Value<'_>> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::str("<no value>"),
            other => other.clone(),
        })
        .collect();
    let mut out = String::new();
    sprint(&mut out, &fixed, zone);
    out
}

/// Calls a function other than `and`/`or` with already checked arguments.
pub(crate) fn call<'a>(f: Func, mut args: Vec<Value<'a>>, env: &mut Env) -> R<'a> {
    use Func::*;
    match f {
        And | Or => Err("internal error: and/or are evaluated lazily".into()),
        Not => Ok(Value::Bool(!args[0].truth())),
        Len => len(&args[0]).map(Value::Int),
        Index => index(&args[0], &args[1..]),
        Slice => slice(&args[0], &args[1..]),
        Print => {
            let mut out = String::new();
            sprint(&mut out, &args, &env.zone);
            Ok(Value::string(out))
        }
        Println => {
            let mut out = String::new();
            sprintln(&mut out, &args, &env.zone);
            Ok(Value::string(out))
        }
        Printf => {
            let mut out = String::new();
            sprintf(&mut out, s(&args[0]), &args[1..], &env.zone)?;
            Ok(Value::string(out))
        }
        Html => Ok(Value::string(html_escape(&eval_args(&args, &env.zone)))),
        EvalArgs => Ok(Value::string(eval_args(&args, &env.zone))),
        Js => Ok(Value::string(js_escape(&eval_args(&args, &env.zone)))),
        UrlQuery => Ok(Value::string(query_escape(&eval_args(&args, &env.zone)))),
        Eq => {
            if args.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            for b in &args[1..] {
                if eq(&args[0], b)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        Ne => Ok(Value::Bool(!eq(&args[0], &args[1])?)),
        Lt => Ok(Value::Bool(lt(&args[0], &args[1])?)),
        Le => Ok(Value::Bool(
            lt(&args[0], &args[1])? || eq(&args[0], &args[1])?,
        )),
        Gt => Ok(Value::Bool(
            !lt(&args[0], &args[1])? && !eq(&args[0], &args[1])?,
        )),
        Ge => Ok(Value::Bool(!lt(&args[0], &args[1])?)),
        Call => Err(match &args[0] {
            Value::Nil => "call of nil".to_string(),
            v => format!("non-function of type {}", v.type_name()),
        }),
        ToUpper => Ok(Value::string(map_chars(s(&args[0]), true))),
        ToLower => Ok(Value::string(map_chars(s(&args[0]), false))),
        Title => Ok(Value::string(title(s(&args[0])))),
        TrimSpace => Ok(Value::string(s(&args[0]).trim().to_string())),
        Join => {
            let Value::Strings(items, _) = &args[1] else {
                return Ok(Value::str(""));
            };
            let sep = s(&args[0]);
            let mut out = String::new();
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                out.push_str(it.as_str());
            }
            Ok(Value::string(out))
        }
        Match => {
            let re = env.regex(s(&args[0]))?;
            Ok(Value::Bool(re.is_match(s(&args[1]))))
        }
        SafeHtml | SafeUrl => {
            let kind = if f == SafeHtml {
                StrKind::Html
            } else {
                StrKind::Url
            };
            match args.swap_remove(0) {
                Value::Str(st, _) => Ok(Value::Str(st, kind)),
                _ => Ok(Value::Str(Str::B(""), kind)),
            }
        }
        UrlUnescape => query_unescape(s(&args[0])).map(Value::string),
        ReReplaceAll => {
            let re = env.regex(s(&args[0]))?;
            Ok(Value::string(
                re.replace_all(s(&args[2]), s(&args[1])).into_owned(),
            ))
        }
        StringSlice => {
            let items: Vec<Str<'a>> = args
                .into_iter()
                .map(|v| match v {
                    Value::Str(st, _) => st,
                    _ => Str::B(""),
                })
                .collect();
            Ok(Value::Strings(Rc::new(items), false))
        }
        Date => match &args[1] {
            Value::Time(t) => Ok(Value::string(super::timefmt::go_format(t, s(&args[0])))),
            _ => Err("expected time.Time".into()),
        },
        Tz => {
            let name = s(&args[0]);
            let tz = load_location(name, &env.zone)?;
            match &args[1] {
                Value::Time(t) => Ok(Value::Time(Rc::new(t.timestamp().to_zoned(tz)))),
                _ => Err("expected time.Time".into()),
            }
        }
        Since => match &args[0] {
            Value::Time(t) => {
                let ns = env.now.as_nanosecond() - t.timestamp().as_nanosecond();
                Ok(Value::Duration(
                    ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
                ))
            }
            _ => Err("expected time.Time".into()),
        },
        HumanizeDuration => humanize_duration(&args[0]).map(Value::string),
        ToJson => to_json(&args[0], &env.zone).map(Value::string),
        Now => Ok(Value::Time(Rc::new(env.now.to_zoned(env.zone.clone())))),
        Dict => {
            if !args.len().is_multiple_of(2) {
                return Err("dict: odd number of arguments".into());
            }
            let mut m = BTreeMap::new();
            let mut it = args.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                match k {
                    Value::Str(k, StrKind::Plain) => {
                        m.insert(k.as_str().to_string(), v);
                    }
                    other => {
                        return Err(format!(
                            "dict: key must be a string, got {}",
                            other.type_name()
                        ));
                    }
                }
            }
            Ok(Value::Dict(Rc::new(m)))
        }
        List => Ok(Value::List(Rc::new(args))),
        Append => {
            let mut it = args.into_iter();
            let mut base = match it.next() {
                Some(Value::List(l)) => (*l).clone(),
                _ => Vec::new(),
            };
            base.extend(it);
            Ok(Value::List(Rc::new(base)))
        }
        Base64Encode => Ok(Value::string(base64_encode(s(&args[0]).as_bytes()))),
        Base64Decode => {
            let bytes = base64_decode(s(&args[0]))?;
            String::from_utf8(bytes).map(Value::string).map_err(|_| {
                "base64decode: decoded bytes are not valid UTF-8 (not supported)".into()
            })
        }
    }
}

fn load_location(name: &str, local: &TimeZone) -> Result<TimeZone, String> {
    match name {
        "" | "UTC" => Ok(TimeZone::UTC),
        "Local" => Ok(local.clone()),
        _ => jiff::tz::db()
            .get(name)
            .map_err(|_| format!("unknown time zone {name}")),
    }
}

/// Go's `len`.
fn len(v: &Value<'_>) -> Result<i64, String> {
    let n = match v {
        Value::Str(s, _) => s.as_str().len(),
        Value::Strings(x, _) => x.len(),
        Value::List(x) => x.len(),
        Value::Dict(x) => x.len(),
        Value::Kv(k) => k.kv().len(),
        Value::Alerts(l) => l.len(),
        Value::Pairs(p) => p.len(),
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(n as i64)
}

fn index_arg(v: &Value<'_>, len: usize, is_slice: bool) -> Result<usize, String> {
    let x: i64 = match v {
        Value::Int(i) | Value::Duration(i) => *i,
        Value::Byte(b) => i64::from(*b),
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > len as u64 || (!is_slice && x as u64 == len as u64) {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn map_key<'v>(v: &'v Value<'_>) -> Result<&'v str, String> {
    match v {
        Value::Str(s, StrKind::Plain) => Ok(s.as_str()),
        Value::Nil => Err("value is nil; should be of type string".into()),
        other => Err(format!(
            "value has type {}; should be string",
            other.type_name()
        )),
    }
}

/// Go's `index`.
fn index<'a>(item: &Value<'a>, idx: &[Value<'a>]) -> R<'a> {
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for i in idx {
        item = match &item {
            Value::Str(s, _) => {
                let b = s.as_str().as_bytes();
                Value::Byte(b[index_arg(i, b.len(), false)?])
            }
            Value::Strings(x, _) => {
                Value::Str(x[index_arg(i, x.len(), false)?].clone(), StrKind::Plain)
            }
            Value::List(x) => x[index_arg(i, x.len(), false)?].clone(),
            Value::Pairs(x) => {
                let (a, b) = &x[index_arg(i, x.len(), false)?];
                Value::Pair(a.clone(), b.clone())
            }
            Value::Alerts(l) => {
                let n = index_arg(i, l.len(), false)?;
                l.get(n).map(Value::Alert).unwrap_or(Value::Nil)
            }
            Value::Kv(k) => {
                let key = map_key(i)?;
                match k {
                    super::value::KvRef::B(kv) => Value::str(kv.get(key).unwrap_or("")),
                    super::value::KvRef::S(kv) => {
                        Value::string(kv.get(key).unwrap_or("").to_string())
                    }
                }
            }
            Value::Dict(m) => m.get(map_key(i)?).cloned().unwrap_or(Value::Nil),
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

/// Go's `slice`.
fn slice<'a>(item: &Value<'a>, idx: &[Value<'a>]) -> R<'a> {
    if matches!(item, Value::Nil) {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let n = match item {
        Value::Str(s, _) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.as_str().len()
        }
        Value::Strings(x, _) => x.len(),
        Value::List(x) => x.len(),
        Value::Pairs(x) => x.len(),
        Value::Alerts(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut bounds = [0, n, n];
    for (k, i) in idx.iter().enumerate() {
        bounds[k] = index_arg(i, n, true)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    let (a, b) = (bounds[0], bounds[1]);
    Ok(match item {
        Value::Str(s, k) => {
            let st = s.as_str();
            let sub = st
                .get(a..b)
                .ok_or("slicing would split a UTF-8 character (not supported)")?;
            Value::Str(Str::from(sub.to_string()), *k)
        }
        Value::Strings(x, named) => Value::Strings(Rc::new(x[a..b].to_vec()), *named),
        Value::List(x) => Value::List(Rc::new(x[a..b].to_vec())),
        Value::Pairs(x) => Value::Pairs(Rc::new(x[a..b].to_vec())),
        Value::Alerts(AlertList::All(all)) => Value::Alerts(AlertList::All(&all[a..b])),
        Value::Alerts(AlertList::Sub(v, named)) => {
            Value::Alerts(AlertList::Sub(Rc::new(v[a..b].to_vec()), *named))
        }
        _ => Value::Nil,
    })
}

/// A comparable scalar.
enum Basic<'v> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'v str),
}

fn basic<'v>(v: &'v Value<'_>) -> Option<Basic<'v>> {
    Some(match v {
        Value::Bool(b) => Basic::Bool(*b),
        Value::Int(i) | Value::Duration(i) => Basic::Int(*i),
        Value::Byte(b) => Basic::Uint(u64::from(*b)),
        Value::Float(f) => Basic::Float(*f),
        Value::Str(s, _) => Basic::Str(s.as_str()),
        _ => return None,
    })
}

const INCOMPATIBLE: &str = "incompatible types for comparison";

/// Go's `eq` for two values.
pub(crate) fn eq(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    match (basic(a), basic(b)) {
        (Some(x), Some(y)) => match (x, y) {
            (Basic::Bool(x), Basic::Bool(y)) => Ok(x == y),
            (Basic::Int(x), Basic::Int(y)) => Ok(x == y),
            (Basic::Uint(x), Basic::Uint(y)) => Ok(x == y),
            (Basic::Int(x), Basic::Uint(y)) | (Basic::Uint(y), Basic::Int(x)) => {
                Ok(x >= 0 && x as u64 == y)
            }
            (Basic::Float(x), Basic::Float(y)) => Ok(x == y),
            (Basic::Str(x), Basic::Str(y)) => Ok(x == y),
            _ => Err(INCOMPATIBLE.into()),
        },
        (Some(_), None) | (None, Some(_)) => {
            if matches!(a, Value::Nil) || matches!(b, Value::Nil) {
                Ok(false)
            } else {
                Err(INCOMPATIBLE.into())
            }
        }
        (None, None) => match (a, b) {
            (Value::Nil, Value::Nil) => Ok(true),
            (Value::Nil, _) | (_, Value::Nil) => Ok(false),
            (Value::Data(x), Value::Data(y)) => Ok(std::ptr::eq(*x, *y)),
            (Value::Time(x), Value::Time(y)) => {
                Ok(x.timestamp() == y.timestamp() && x.time_zone() == y.time_zone())
            }
            (Value::Pair(a1, b1), Value::Pair(a2, b2)) => {
                Ok(a1.as_str() == a2.as_str() && b1.as_str() == b2.as_str())
            }
            (x, y) if x.type_name() != y.type_name() => Err(INCOMPATIBLE.into()),
            (x, _) => Err(format!("non-comparable type {}", x.type_name())),
        },
    }
}

/// Go's `lt` for two values.
pub(crate) fn lt(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    let bad = || "invalid type for comparison".to_string();
    let (Some(x), Some(y)) = (basic(a), basic(b)) else {
        return Err(bad());
    };
    match (x, y) {
        (Basic::Bool(_), _) | (_, Basic::Bool(_)) => Err(bad()),
        (Basic::Int(x), Basic::Int(y)) => Ok(x < y),
        (Basic::Uint(x), Basic::Uint(y)) => Ok(x < y),
        (Basic::Int(x), Basic::Uint(y)) => Ok(x < 0 || (x as u64) < y),
        (Basic::Uint(x), Basic::Int(y)) => Ok(y >= 0 && x < y as u64),
        (Basic::Float(x), Basic::Float(y)) => Ok(x < y),
        (Basic::Str(x), Basic::Str(y)) => Ok(x < y),
        _ => Err(INCOMPATIBLE.into()),
    }
}
