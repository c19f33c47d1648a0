//! The function map: Go's builtins (`and or not len index slice print printf println html js
//! urlquery eq ne lt le gt ge call`) and Alertmanager's `DefaultFuncs` (`toUpper`, `join`,
//! `reReplaceAll`, `date`, `tz`, `humanizeDuration`, `toJson`, `dict`, ...), with their Go
//! parameter types so argument checking matches Go's.
//!
//! This file owns the function table (names, Go signatures) and the render environment
//! (zone, "now", regex cache); `call` dispatches a checked call, `builtins` has `len`,
//! `index`, `slice` and the comparisons, `text` the string and encoding helpers.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use regex::Regex;

mod builtins;
mod call;
mod case;
mod text;

pub(crate) use call::call;
pub(crate) use text::{html_escape, query_escape};

use super::printf::sprint;
use super::value::{StrKind, Value};

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
    ToDate,
    MustToDate,
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
    /// `time.Duration` (integer constants convert to it).
    Duration,
}

impl P {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Str => "string",
            P::StrSlice => "[]string",
            P::List => "[]interface {}",
            P::Time => "time.Time",
            P::Duration => "time.Duration",
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
            "toDate" => ToDate,
            "mustToDate" => MustToDate,
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
            ToDate => "toDate",
            MustToDate => "mustToDate",
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
            Match | ToDate | MustToDate => sig(&[S, S], None),
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
