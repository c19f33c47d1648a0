//! Field and method access (Go's `evalField`): struct fields of `Data` and `Alert`, label
//! lookups and methods of `KV`, `Pairs`, `Alerts`, `Strings`, `time.Time` and
//! `time.Duration`, `time.Month` and `time.Weekday`, with small per-render caches for alert
//! times and their formatting.

use std::rc::Rc;
use std::sync::Arc;

use super::super::ast::Arg;
use super::super::funcs::P;
use super::super::printf::pairs_string;
use super::super::timefmt::{go_format, month_name, time_string, weekday_name};
use super::super::value::{AlertList, KvRef, Str, StrKind, Value};
use super::{CACHE_SIZE, Exec, R, fields_err};

impl<'a> Exec<'a> {
    pub(super) fn field_chain(
        &mut self,
        dot: &Value<'a>,
        recv: &Value<'a>,
        names: &'a [Arc<str>],
        args: &'a [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let Some((last, init)) = names.split_last() else {
            return self.err("internal error: empty field chain");
        };
        let plain = args.len() <= 1 && fin.is_none();
        let Some((first, mid)) = init.split_first() else {
            if plain && let Some(v) = plain_field(recv, last) {
                return Ok(v);
            }
            return self.field(dot, last, args, fin, recv);
        };
        let mut cur = match plain_field(recv, first) {
            Some(v) => v,
            None => {
                self.missing_key = false;
                let v = self.field(dot, first, &[], None, recv)?;
                if self.missing_key {
                    let next = mid.first().unwrap_or(last);
                    return self.err(format!("nil pointer evaluating interface {{}}.{next}"));
                }
                v
            }
        };
        for (i, name) in mid.iter().enumerate() {
            cur = match plain_field(&cur, name) {
                Some(v) => v,
                None => {
                    self.missing_key = false;
                    let v = self.field(dot, name, &[], None, &cur)?;
                    if self.missing_key {
                        let next = mid.get(i + 1).unwrap_or(last);
                        return self.err(format!("nil pointer evaluating interface {{}}.{next}"));
                    }
                    v
                }
            };
        }
        if plain && let Some(v) = plain_field(&cur, last) {
            return Ok(v);
        }
        self.field(dot, last, args, fin, &cur)
    }

    /// Go's `evalField`: methods first, then struct fields or map keys. A missing `dict` key
    /// (a nil interface, which cannot be dereferenced further) sets `missing_key`.
    pub(super) fn field(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value<'a>>,
        recv: &Value<'a>,
    ) -> R<Value<'a>> {
        let has_args = args.len() > 1 || fin.is_some();
        let margs: &'a [Arg] = if args.is_empty() { args } else { &args[1..] };
        let no_args = |this: &Self| -> R<()> {
            if has_args {
                return this.err(format!(
                    "{name} has arguments but cannot be invoked as function"
                ));
            }
            Ok(())
        };
        let v = match recv {
            Value::Nil => return Ok(Value::Nil),
            Value::Data(d) => {
                let v = match name {
                    "Receiver" => Value::str(&d.receiver),
                    "Status" => Value::str(&d.status),
                    "Alerts" => Value::Alerts(AlertList::All(&d.alerts)),
                    "GroupLabels" => Value::Kv(KvRef::B(&d.group_labels)),
                    "CommonLabels" => Value::Kv(KvRef::B(&d.common_labels)),
                    "CommonAnnotations" => Value::Kv(KvRef::B(&d.common_annotations)),
                    "RouteLabels" => Value::Kv(KvRef::B(&d.route_labels)),
                    "ExternalURL" => Value::str(&d.external_url),
                    "NotificationReason" => Value::str(&d.notification_reason),
                    _ => return self.err(fields_err(name, recv)),
                };
                no_args(self)?;
                v
            }
            Value::Alert(a) => {
                let v = match name {
                    "Status" => Value::str(&a.status),
                    "Labels" => Value::Kv(KvRef::B(&a.labels)),
                    "Annotations" => Value::Kv(KvRef::B(&a.annotations)),
                    "StartsAt" => Value::Time(self.zoned(a.starts_at)),
                    "EndsAt" => Value::Time(self.zoned(a.ends_at)),
                    "GeneratorURL" => Value::str(&a.generator_url),
                    "Fingerprint" => Value::str(&a.fingerprint),
                    _ => return self.err(fields_err(name, recv)),
                };
                no_args(self)?;
                v
            }
            Value::Alerts(l) if l.named() && (name == "Firing" || name == "Resolved") => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                let want = if name == "Firing" {
                    "firing"
                } else {
                    "resolved"
                };
                let sub: Vec<_> = l.iter().filter(|a| a.status == want).collect();
                Value::Alerts(AlertList::Sub(Rc::new(sub), false))
            }
            Value::Kv(k) => match name {
                "SortedPairs" | "Names" | "Values" | "String" => {
                    self.call_args(dot, name, &[], None, margs, fin)?;
                    let pairs = kv_pairs(k);
                    match name {
                        "SortedPairs" => Value::Pairs(Rc::new(pairs)),
                        "Names" => {
                            Value::Strings(Rc::new(pairs.into_iter().map(|p| p.0).collect()), true)
                        }
                        "Values" => {
                            Value::Strings(Rc::new(pairs.into_iter().map(|p| p.1).collect()), true)
                        }
                        _ => {
                            let mut s = String::new();
                            k.write_string(&mut s);
                            Value::string(s)
                        }
                    }
                }
                "Remove" => {
                    let argv = self.call_args(dot, name, &[P::StrSlice], None, margs, fin)?;
                    let v = match &argv[0] {
                        Value::Strings(x, _) => Value::Kv(k.remove(x)),
                        _ => Value::Kv(k.remove(&Rc::new(Vec::new()))),
                    };
                    self.recycle(argv);
                    v
                }
                _ => {
                    if has_args {
                        return self.err(format!("{name} is not a method but has arguments"));
                    }
                    Value::str(k.get(name).unwrap_or(""))
                }
            },
            Value::Dict(m) => {
                if has_args {
                    return self.err(format!("{name} is not a method but has arguments"));
                }
                return Ok(match m.get(name) {
                    Some(v) => v.clone(),
                    None => {
                        self.missing_key = true;
                        Value::Nil
                    }
                });
            }
            Value::Pairs(ps) if matches!(name, "Names" | "Values" | "String") => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                match name {
                    "Names" => {
                        Value::Strings(Rc::new(ps.iter().map(|p| p.0.clone()).collect()), true)
                    }
                    "Values" => {
                        Value::Strings(Rc::new(ps.iter().map(|p| p.1.clone()).collect()), true)
                    }
                    _ => Value::string(pairs_string(
                        ps.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                    )),
                }
            }
            Value::Pair(a, b) if name == "Name" || name == "Value" => {
                no_args(self)?;
                Value::Str(
                    if name == "Name" { a.clone() } else { b.clone() },
                    StrKind::Plain,
                )
            }
            Value::Strings(items, true) if name == "Join" => {
                let argv = self.call_args(dot, name, &[P::Str], None, margs, fin)?;
                let sep = argv[0].as_any_str().unwrap_or("");
                let mut out = String::new();
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    out.push_str(s.as_str());
                }
                Value::string(out)
            }
            Value::Time(t) => self.time_method(dot, t, name, margs, fin, recv)?,
            Value::Month(m) if name == "String" => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                Value::string(month_name(*m))
            }
            Value::Weekday(d) if name == "String" => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                Value::string(weekday_name(*d))
            }
            Value::Duration(d) => {
                let d = *d;
                let v = match name {
                    "Seconds" => Value::Float(d as f64 / 1e9),
                    "Minutes" => Value::Float(d as f64 / 6e10),
                    "Hours" => Value::Float(d as f64 / 3.6e12),
                    "Milliseconds" => Value::Int(d / 1_000_000),
                    "Microseconds" => Value::Int(d / 1_000),
                    "Nanoseconds" => Value::Int(d),
                    "String" => Value::string(super::super::timefmt::duration_string(d)),
                    _ => return self.err(fields_err(name, recv)),
                };
                self.call_args(dot, name, &[], None, margs, fin)?;
                v
            }
            _ => return self.err(fields_err(name, recv)),
        };
        Ok(v)
    }

    /// An alert time in the render zone, shared between uses of the same instant.
    pub(super) fn zoned(&mut self, ts: jiff::Timestamp) -> Rc<jiff::Zoned> {
        if let Some((_, z)) = self.times.iter().find(|(t, _)| *t == ts) {
            return z.clone();
        }
        let z = Rc::new(ts.to_zoned(self.env.zone.clone()));
        if self.times.len() >= CACHE_SIZE {
            self.times.remove(0);
        }
        self.times.push((ts, z.clone()));
        z
    }

    /// `t.Format(layout)`, remembered for the same time value and layout.
    pub(super) fn format_cached(&mut self, t: &Rc<jiff::Zoned>, layout: &str) -> Rc<str> {
        if let Some((_, _, s)) = self
            .formats
            .iter()
            .find(|(z, l, _)| Rc::ptr_eq(z, t) && &**l == layout)
        {
            return s.clone();
        }
        let s: Rc<str> = Rc::from(go_format(t, layout));
        if self.formats.len() >= CACHE_SIZE {
            self.formats.remove(0);
        }
        self.formats.push((t.clone(), Box::from(layout), s.clone()));
        s
    }

    pub(super) fn time_method(
        &mut self,
        dot: &Value<'a>,
        t: &Rc<jiff::Zoned>,
        name: &str,
        margs: &'a [Arg],
        fin: Option<Value<'a>>,
        recv: &Value<'a>,
    ) -> R<Value<'a>> {
        if name == "Format" {
            let argv = self.call_args(dot, name, &[P::Str], None, margs, fin)?;
            let s = self.format_cached(t, argv[0].as_any_str().unwrap_or(""));
            self.recycle(argv);
            return Ok(Value::Str(Str::S(s), StrKind::Plain));
        }
        let ts = t.timestamp();
        match name {
            "Sub" => {
                let argv = self.call_args(dot, name, &[P::Time], None, margs, fin)?;
                let ns = match &argv[0] {
                    Value::Time(u) => ts.as_nanosecond() - u.timestamp().as_nanosecond(),
                    _ => 0,
                };
                self.recycle(argv);
                // Go saturates at the Duration bounds.
                let d = ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                return Ok(Value::Duration(d));
            }
            "Add" => {
                let argv = self.call_args(dot, name, &[P::Duration], None, margs, fin)?;
                let d = match &argv[0] {
                    Value::Duration(d) => *d,
                    _ => 0,
                };
                self.recycle(argv);
                return match ts.checked_add(jiff::SignedDuration::from_nanos(d)) {
                    Ok(sum) => Ok(Value::Time(Rc::new(sum.to_zoned(t.time_zone().clone())))),
                    Err(_) => self.err(format!(
                        "error calling Add: time {sum} is out of range (not supported)",
                        sum = time_string(t)
                    )),
                };
            }
            _ => {}
        }
        let v = match name {
            "Unix" => Value::Int(ts.as_second()),
            "UnixMilli" => Value::Int(ts.as_millisecond()),
            "UnixMicro" => Value::Int(ts.as_microsecond()),
            "UnixNano" => Value::Int(ts.as_nanosecond() as i64),
            "UTC" => Value::Time(Rc::new(ts.to_zoned(jiff::tz::TimeZone::UTC))),
            "Local" => Value::Time(Rc::new(ts.to_zoned(self.env.zone.clone()))),
            "IsZero" => Value::Bool(ts == super::super::data::zero_time()),
            "Year" => Value::Int(i64::from(t.year())),
            "YearDay" => Value::Int(i64::from(t.day_of_year())),
            "Day" => Value::Int(i64::from(t.day())),
            "Hour" => Value::Int(i64::from(t.hour())),
            "Minute" => Value::Int(i64::from(t.minute())),
            "Second" => Value::Int(i64::from(t.second())),
            "Nanosecond" => Value::Int(i64::from(t.subsec_nanosecond())),
            "Month" => Value::Month(i64::from(t.month())),
            "Weekday" => Value::Weekday(i64::from(t.weekday().to_sunday_zero_offset())),
            "String" => Value::string(time_string(t)),
            _ => {
                return self.err(format!(
                    "{} (time.Time method {name} is not supported)",
                    fields_err(name, recv)
                ));
            }
        };
        self.call_args(dot, name, &[], None, margs, fin)?;
        Ok(v)
    }
}

/// `.SortedPairs` as template values.
fn kv_pairs<'a>(k: &KvRef<'a>) -> Vec<(Str<'a>, Str<'a>)> {
    k.sorted_pairs()
        .map(|(a, b)| (Str::B(a), Str::B(b)))
        .collect()
}

/// Struct fields and label lookups that take no arguments and cannot fail: the bulk of real
/// templates, answered without the general method machinery. `None` means "use [`field`]".
///
/// [`field`]: Exec::field
#[inline(always)]
fn plain_field<'a>(recv: &Value<'a>, name: &str) -> Option<Value<'a>> {
    Some(match recv {
        Value::Alert(a) => match name {
            "Labels" => Value::Kv(KvRef::B(&a.labels)),
            "Annotations" => Value::Kv(KvRef::B(&a.annotations)),
            "Status" => Value::str(&a.status),
            "GeneratorURL" => Value::str(&a.generator_url),
            "Fingerprint" => Value::str(&a.fingerprint),
            _ => return None,
        },
        Value::Data(d) => match name {
            "Receiver" => Value::str(&d.receiver),
            "Status" => Value::str(&d.status),
            "Alerts" => Value::Alerts(AlertList::All(&d.alerts)),
            "GroupLabels" => Value::Kv(KvRef::B(&d.group_labels)),
            "CommonLabels" => Value::Kv(KvRef::B(&d.common_labels)),
            "CommonAnnotations" => Value::Kv(KvRef::B(&d.common_annotations)),
            "RouteLabels" => Value::Kv(KvRef::B(&d.route_labels)),
            "ExternalURL" => Value::str(&d.external_url),
            "NotificationReason" => Value::str(&d.notification_reason),
            _ => return None,
        },
        Value::Kv(k) => match name {
            "SortedPairs" | "Names" | "Values" | "String" | "Remove" => return None,
            _ => Value::str(k.get(name).unwrap_or("")),
        },
        _ => return None,
    })
}
