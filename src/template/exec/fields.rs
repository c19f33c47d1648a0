//! Field and method access (Go's `evalField`): struct fields of `Data` and `Alert`, label
//! lookups and methods of `KV`, `Pairs`, `Alerts`, `Strings`, `time.Time` and
//! `time.Duration`, `time.Month` and `time.Weekday`, with small per-render caches for alert
//! times and their formatting.

use std::rc::Rc;

use super::super::ast::{Arg, Fid, Name};
use super::super::data::{Alert, Data, Kv};
use super::super::funcs::{Func, P};
use super::super::printf::pairs_string;
use super::super::timefmt::{go_format, month_name, time_string, weekday_name};
use super::super::value::{AlertList, KvRef, Str, StrKind, Value};
use super::{CACHE_SIZE, Exec, R, fields_err};

impl<'a> Exec<'a> {
    pub(super) fn field_chain(
        &mut self,
        dot: &Value<'a>,
        recv: &Value<'a>,
        names: &'a [Name],
        args: &'a [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let Some((last, init)) = names.split_last() else {
            return self.err("internal error: empty field chain");
        };
        // `.StartsAt.Format "layout"` on an alert: formatted straight from the timestamp.
        if let ([time, format], Value::Alert(a), [_, Arg::Str(_, layout)], None) =
            (names, recv, args, &fin)
            && format.id == Fid::Format
            && matches!(time.id, Fid::StartsAt | Fid::EndsAt)
        {
            let ts = if time.id == Fid::StartsAt {
                (a.starts_at, a.starts_at_offset)
            } else {
                (a.ends_at, a.ends_at_offset)
            };
            let s = self.format_timestamp(ts, layout);
            return Ok(Value::Str(Str::S(s), StrKind::Plain));
        }
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
        name: &Name,
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
                let Some(v) = data_field(d, name.id) else {
                    return self.err(fields_err(name, recv));
                };
                no_args(self)?;
                v
            }
            Value::Alert(a) => {
                let v = match name.id {
                    Fid::StartsAt => Value::Time(self.zoned((a.starts_at, a.starts_at_offset))),
                    Fid::EndsAt => Value::Time(self.zoned((a.ends_at, a.ends_at_offset))),
                    id => match alert_field(a, id) {
                        Some(v) => v,
                        None => return self.err(fields_err(name, recv)),
                    },
                };
                no_args(self)?;
                v
            }
            Value::Alerts(l) if l.named() && matches!(name.id, Fid::Firing | Fid::Resolved) => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                let want = if name.id == Fid::Firing {
                    "firing"
                } else {
                    "resolved"
                };
                let sub: Vec<_> = l.iter().filter(|a| a.status == want).collect();
                Value::Alerts(AlertList::Sub(Rc::new(sub), false))
            }
            Value::Kv(k) => match name.id {
                Fid::SortedPairs | Fid::Names | Fid::Values | Fid::String => {
                    self.call_args(dot, name, &[], None, margs, fin)?;
                    let pairs = kv_pairs(k);
                    match name.id {
                        Fid::SortedPairs => Value::Pairs(Rc::new(pairs)),
                        Fid::Names => {
                            Value::Strings(Rc::new(pairs.into_iter().map(|p| p.0).collect()), true)
                        }
                        Fid::Values => {
                            Value::Strings(Rc::new(pairs.into_iter().map(|p| p.1).collect()), true)
                        }
                        _ => {
                            let mut s = String::new();
                            k.write_string(&mut s);
                            Value::string(s)
                        }
                    }
                }
                Fid::Remove => {
                    // `.Remove (stringSlice "a" "b")`: the literal list, without a call.
                    if fin.is_none()
                        && let [Arg::Pipe(_, p)] = margs
                        && let ([cmd], []) = (&p.cmds[..], &p.decl[..])
                        && let [Arg::Func(_, Func::StringSlice), lits @ ..] = &cmd.args[..]
                        && !lits.is_empty()
                        && lits.iter().all(|a| matches!(a, Arg::Str(..)))
                    {
                        let names = self.literal_slice(lits);
                        return Ok(Value::Kv(k.remove(&names)));
                    }
                    let argv = self.call_args(dot, name, &[P::StrSlice], None, margs, fin)?;
                    let v = match &argv[0] {
                        Value::Strings(x, _) => Value::Kv(k.remove(x)),
                        _ => Value::Kv(k.remove(&[])),
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
                return Ok(match m.get(&*name.text) {
                    Some(v) => v.clone(),
                    None => {
                        self.missing_key = true;
                        Value::Nil
                    }
                });
            }
            Value::Pairs(ps) if matches!(name.id, Fid::Names | Fid::Values | Fid::String) => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                match name.id {
                    Fid::Names => {
                        Value::Strings(Rc::new(ps.iter().map(|p| p.0.clone()).collect()), true)
                    }
                    Fid::Values => {
                        Value::Strings(Rc::new(ps.iter().map(|p| p.1.clone()).collect()), true)
                    }
                    _ => Value::string(pairs_string(
                        ps.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                    )),
                }
            }
            Value::Pair(p) if matches!(name.id, Fid::Name | Fid::Value) => {
                no_args(self)?;
                Value::Str(
                    if name.id == Fid::Name {
                        p.name()
                    } else {
                        p.value()
                    },
                    StrKind::Plain,
                )
            }
            Value::Strings(items, true) if name.id == Fid::Join => {
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
            Value::Month(m) if name.id == Fid::String => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                Value::string(month_name(*m))
            }
            Value::Weekday(d) if name.id == Fid::String => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                Value::string(weekday_name(*d))
            }
            Value::Duration(d) => {
                let d = *d;
                let v = match name.id {
                    Fid::Seconds => Value::Float(d as f64 / 1e9),
                    Fid::Minutes => Value::Float(d as f64 / 6e10),
                    Fid::Hours => Value::Float(d as f64 / 3.6e12),
                    Fid::Milliseconds => Value::Int(d / 1_000_000),
                    Fid::Microseconds => Value::Int(d / 1_000),
                    Fid::Nanoseconds => Value::Int(d),
                    Fid::String => Value::string(super::super::timefmt::duration_string(d)),
                    _ => return self.err(fields_err(name, recv)),
                };
                self.call_args(dot, name, &[], None, margs, fin)?;
                v
            }
            _ => return self.err(fields_err(name, recv)),
        };
        Ok(v)
    }

    /// An alert time in the zone it was written in (the render zone when unknown), shared
    /// between uses of the same instant.
    pub(super) fn zoned(&mut self, ts: super::AlertTime) -> Rc<jiff::Zoned> {
        if let Some((_, z)) = self.times.iter().find(|(t, _)| *t == ts) {
            return z.clone();
        }
        let z = Rc::new(ts.0.to_zoned(crate::template::data::zone_of(ts.1, &self.env.zone)));
        if self.times.len() >= CACHE_SIZE {
            self.times.remove(0);
        }
        self.times.push((ts, z.clone()));
        z
    }

    /// An alert time formatted with a layout from the template text, remembered per
    /// instant and layout (the layout is identified by its place in the template).
    pub(super) fn format_timestamp(&mut self, ts: super::AlertTime, layout: &'a str) -> Rc<str> {
        let key = layout.as_ptr();
        if let Some((_, _, s)) = self
            .ts_formats
            .iter()
            .find(|(t, l, _)| *t == ts && std::ptr::eq(*l, key))
        {
            return s.clone();
        }
        let z = self.zoned(ts);
        let s: Rc<str> = Rc::from(go_format(&z, layout));
        if self.ts_formats.len() >= CACHE_SIZE {
            self.ts_formats.remove(0);
        }
        self.ts_formats.push((ts, key, s.clone()));
        s
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
        name: &Name,
        margs: &'a [Arg],
        fin: Option<Value<'a>>,
        recv: &Value<'a>,
    ) -> R<Value<'a>> {
        if name.id == Fid::Format {
            // The usual call, with a constant layout.
            if fin.is_none()
                && let [Arg::Str(_, layout)] = margs
            {
                let s = self.format_cached(t, layout);
                return Ok(Value::Str(Str::S(s), StrKind::Plain));
            }
            let argv = self.call_args(dot, name, &[P::Str], None, margs, fin)?;
            let s = self.format_cached(t, argv[0].as_any_str().unwrap_or(""));
            self.recycle(argv);
            return Ok(Value::Str(Str::S(s), StrKind::Plain));
        }
        let ts = t.timestamp();
        match name.id {
            Fid::Sub => {
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
            Fid::Equal | Fid::Before | Fid::After | Fid::Compare => {
                // Instants compare whatever zone they are shown in, as Go's do.
                let argv = self.call_args(dot, name, &[P::Time], None, margs, fin)?;
                let other = match &argv[0] {
                    Value::Time(u) => u.timestamp(),
                    _ => ts,
                };
                self.recycle(argv);
                return Ok(match name.id {
                    Fid::Equal => Value::Bool(ts == other),
                    Fid::Before => Value::Bool(ts < other),
                    Fid::After => Value::Bool(ts > other),
                    _ => Value::Int(match ts.cmp(&other) {
                        std::cmp::Ordering::Less => -1,
                        std::cmp::Ordering::Equal => 0,
                        std::cmp::Ordering::Greater => 1,
                    }),
                });
            }
            Fid::Add => {
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
        let v = match name.id {
            Fid::Unix => Value::Int(ts.as_second()),
            Fid::UnixMilli => Value::Int(ts.as_millisecond()),
            Fid::UnixMicro => Value::Int(ts.as_microsecond()),
            Fid::UnixNano => Value::Int(ts.as_nanosecond() as i64),
            Fid::UTC => Value::Time(Rc::new(ts.to_zoned(jiff::tz::TimeZone::UTC))),
            Fid::Local => Value::Time(Rc::new(ts.to_zoned(self.env.zone.clone()))),
            Fid::IsZero => Value::Bool(ts == super::super::data::zero_time()),
            Fid::Year => Value::Int(i64::from(t.year())),
            Fid::YearDay => Value::Int(i64::from(t.day_of_year())),
            Fid::Day => Value::Int(i64::from(t.day())),
            Fid::Hour => Value::Int(i64::from(t.hour())),
            Fid::Minute => Value::Int(i64::from(t.minute())),
            Fid::Second => Value::Int(i64::from(t.second())),
            Fid::Nanosecond => Value::Int(i64::from(t.subsec_nanosecond())),
            Fid::Month => Value::Month(i64::from(t.month())),
            Fid::Weekday => Value::Weekday(i64::from(t.weekday().to_sunday_zero_offset())),
            Fid::String => Value::string(time_string(t)),
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

/// Where a plain field chain stands between steps: plain references, so walking
/// `.Labels.severity` builds no intermediate [`Value`].
#[derive(Clone, Copy)]
enum Cur<'a> {
    Data(&'a Data),
    Alert(&'a Alert),
    Kv(&'a Kv),
}

impl<'a> Cur<'a> {
    #[inline(always)]
    fn of(v: &Value<'a>) -> Option<Cur<'a>> {
        match v {
            Value::Data(d) => Some(Cur::Data(d)),
            Value::Alert(a) => Some(Cur::Alert(a)),
            Value::Kv(KvRef::B(k)) => Some(Cur::Kv(k)),
            _ => None,
        }
    }

    /// A step to a label set (the only kind of field a chain can continue from here).
    #[inline(always)]
    fn step(self, name: &Name) -> Option<Cur<'a>> {
        Some(Cur::Kv(match (self, name.id) {
            (Cur::Alert(a), Fid::Labels) => &a.labels,
            (Cur::Alert(a), Fid::Annotations) => &a.annotations,
            (Cur::Data(d), Fid::GroupLabels) => &d.group_labels,
            (Cur::Data(d), Fid::CommonLabels) => &d.common_labels,
            (Cur::Data(d), Fid::CommonAnnotations) => &d.common_annotations,
            (Cur::Data(d), Fid::RouteLabels) => &d.route_labels,
            _ => return None,
        }))
    }

    /// The final step, as a value.
    #[inline(always)]
    fn last(self, name: &Name) -> Option<Value<'a>> {
        match self {
            Cur::Data(d) => data_field(d, name.id),
            Cur::Alert(a) => alert_field(a, name.id),
            Cur::Kv(k) => label(&KvRef::B(k), name),
        }
    }
}

/// [`plain_field`] along a whole chain (`.Labels.severity`); `None` as soon as one step
/// needs the general machinery.
#[inline]
pub(super) fn plain_chain<'a>(recv: &Value<'a>, names: &[Name]) -> Option<Value<'a>> {
    let (last, init) = names.split_last()?;
    let mut cur = Cur::of(recv)?;
    for name in init {
        cur = cur.step(name)?;
    }
    cur.last(last)
}

/// `Data`'s struct fields.
#[inline]
fn data_field<'a>(d: &'a Data, id: Fid) -> Option<Value<'a>> {
    Some(match id {
        Fid::Receiver => Value::str(&d.receiver),
        Fid::Status => Value::str(&d.status),
        Fid::Alerts => Value::Alerts(AlertList::All(&d.alerts)),
        Fid::GroupLabels => Value::Kv(KvRef::B(&d.group_labels)),
        Fid::CommonLabels => Value::Kv(KvRef::B(&d.common_labels)),
        Fid::CommonAnnotations => Value::Kv(KvRef::B(&d.common_annotations)),
        Fid::RouteLabels => Value::Kv(KvRef::B(&d.route_labels)),
        Fid::ExternalURL => Value::str(&d.external_url),
        Fid::NotificationReason => Value::str(&d.notification_reason),
        _ => return None,
    })
}

/// `Alert`'s struct fields other than the two times (which need the render zone).
#[inline]
fn alert_field<'a>(a: &'a Alert, id: Fid) -> Option<Value<'a>> {
    Some(match id {
        Fid::Labels => Value::Kv(KvRef::B(&a.labels)),
        Fid::Annotations => Value::Kv(KvRef::B(&a.annotations)),
        Fid::Status => Value::str(&a.status),
        Fid::GeneratorURL => Value::str(&a.generator_url),
        Fid::Fingerprint => Value::str(&a.fingerprint),
        _ => return None,
    })
}

/// Struct fields and label lookups that take no arguments and cannot fail: the bulk of real
/// templates, answered without the general method machinery. `None` means "use [`field`]".
///
/// [`field`]: Exec::field
#[inline(always)]
fn plain_field<'a>(recv: &Value<'a>, name: &Name) -> Option<Value<'a>> {
    match recv {
        Value::Kv(k) => label(k, name),
        _ => Cur::of(recv)?.last(name),
    }
}

/// `.name` on a `KV`: the label's value (`""` when absent), unless `name` is one of `KV`'s
/// methods.
#[inline(always)]
fn label<'a>(k: &KvRef<'a>, name: &Name) -> Option<Value<'a>> {
    match name.id {
        Fid::SortedPairs | Fid::Names | Fid::Values | Fid::String | Fid::Remove => None,
        _ => Some(Value::str(k.get(&name.text).unwrap_or(""))),
    }
}
