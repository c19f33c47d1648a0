//! Dispatch of a checked call to the function's implementation: Go's builtins and
//! Alertmanager's `DefaultFuncs`.

use std::collections::BTreeMap;
use std::rc::Rc;

use jiff::tz::TimeZone;

use super::super::json::to_json;
use super::super::printf::{sprint, sprintf, sprintln};
use super::super::value::{Str, StrKind, Value};
use super::builtins::{eq, index, len, lt, slice};
use super::case::{map_chars, title};
use super::text::{
    base64_decode, base64_encode, html_escape, humanize_duration, js_escape, query_escape,
    query_unescape,
};
use super::{Env, Func, R, eval_args, s};

/// Calls a function other than `and`/`or` with already checked arguments. Functions that
/// keep their arguments take them out of `args`; the caller reuses the buffer.
pub(crate) fn call<'a>(f: Func, args: &mut Vec<Value<'a>>, env: &mut Env) -> R<'a> {
    use Func::*;
    match f {
        And | Or => Err("internal error: and/or are evaluated lazily".into()),
        Not => Ok(Value::Bool(!args[0].truth())),
        Len => len(&args[0]).map(Value::Int),
        Index => index(&args[0], &args[1..]),
        Slice => slice(&args[0], &args[1..]),
        Print => {
            let mut out = String::new();
            sprint(&mut out, args, &env.zone);
            Ok(Value::string(out))
        }
        Println => {
            let mut out = String::new();
            sprintln(&mut out, args, &env.zone);
            Ok(Value::string(out))
        }
        Printf => {
            let mut out = String::new();
            sprintf(&mut out, s(&args[0]), &args[1..], &env.zone)?;
            Ok(Value::string(out))
        }
        Html => Ok(Value::string(html_escape(&eval_args(args, &env.zone)))),
        EvalArgs => Ok(Value::string(eval_args(args, &env.zone))),
        Js => Ok(Value::string(js_escape(&eval_args(args, &env.zone)))),
        UrlQuery => Ok(Value::string(query_escape(&eval_args(args, &env.zone)))),
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
                .drain(..)
                .map(|v| match v {
                    Value::Str(st, _) => st,
                    _ => Str::B(""),
                })
                .collect();
            Ok(Value::Strings(Rc::new(items), false))
        }
        Date => match &args[1] {
            Value::Time(t) => Ok(Value::string(super::super::timefmt::go_format(
                t,
                s(&args[0]),
            ))),
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
        // sprig's pair: `toDate` answers Go's zero time when the text does not parse,
        // `mustToDate` fails the render with Go's parse error. Both read the text in the
        // render zone (Go's `time.Local`).
        ToDate | MustToDate => {
            match super::super::timeparse::go_parse_in(s(&args[0]), s(&args[1]), &env.zone) {
                Ok(t) => Ok(Value::Time(Rc::new(t))),
                Err(e) if f == MustToDate => Err(e),
                Err(_) => Ok(Value::Time(Rc::new(
                    super::super::data::zero_time().to_zoned(TimeZone::UTC),
                ))),
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
            let mut it = args.drain(..);
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
        List => Ok(Value::List(Rc::new(std::mem::take(args)))),
        Append => {
            let mut it = args.drain(..);
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
