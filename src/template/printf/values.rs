//! Printing a value under a verb (Go's `printArg`/`printValue`): padding, bad-verb output,
//! `String()` methods of `KV`, `Pairs`, `time.Time` and `time.Duration`, and composite
//! values (maps, slices, the `Data` and `Alert` structs).

use std::fmt::Write as _;

use super::super::data::{Alert, Data};
use super::super::timefmt::{duration_string, month_name, time_string, weekday_name};
use super::super::value::{AlertList, KvRef, PairRef, StrKind, Value};
use super::{P, pairs_string};

impl P<'_> {
    pub(super) fn pad(&mut self, s: &str) {
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

    pub(super) fn padding(&mut self, n: usize) {
        let fill = if self.f.zero { '0' } else { ' ' };
        self.out.extend(std::iter::repeat_n(fill, n));
    }

    pub(super) fn bad_verb(&mut self, verb: char, v: &Value<'_>) {
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
    pub(super) fn arg(&mut self, v: &Value<'_>, verb: char) -> Result<(), String> {
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

    /// `String()` methods of KV, Pairs, time.Time, time.Duration, time.Month and time.Weekday.
    pub(super) fn try_stringer(&mut self, v: &Value<'_>, verb: char) -> bool {
        if self.erroring || self.f.sharp_v || !matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
            return false;
        }
        let s = match v {
            Value::Kv(k) => {
                let mut s = String::new();
                k.write_string(&mut s);
                s
            }
            Value::Pairs(ps) => pairs_string(ps.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
            Value::Time(t) => time_string(t),
            Value::Duration(d) => duration_string(*d),
            Value::Month(m) => month_name(*m),
            Value::Weekday(d) => weekday_name(*d),
            _ => return false,
        };
        self.string(&s, verb, v);
        true
    }

    /// Go's `printValue`.
    pub(super) fn value(&mut self, v: &Value<'_>, verb: char, depth: usize) -> Result<(), String> {
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
            Value::Int(i) | Value::Duration(i) | Value::Month(i) | Value::Weekday(i) => {
                self.integer(*i as u64, *i < 0, true, verb, v)
            }
            Value::Byte(b) => self.integer(u64::from(*b), false, false, verb, v),
            Value::Float(f) => self.float(*f, verb, v)?,
            Value::Str(s, _) => self.string(s.as_str(), verb, v),
            Value::Strings(items, _) => {
                self.out.push('[');
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.value(&Value::Str(s.clone(), StrKind::Plain), verb, depth + 1)?;
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
                for (i, (name, val)) in k.iter().enumerate() {
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
                for i in 0..ps.len() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.value(&Value::Pair(PairRef::new(ps, i)), verb, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Pair(p) => {
                self.out.push('{');
                self.field("Name", &Value::Str(p.name(), StrKind::Plain), verb, depth)?;
                self.out.push(' ');
                self.field("Value", &Value::Str(p.value(), StrKind::Plain), verb, depth)?;
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
    pub(super) fn elem(&mut self, v: &Value<'_>, verb: char, depth: usize) -> Result<(), String> {
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

    pub(super) fn field(
        &mut self,
        name: &str,
        v: &Value<'_>,
        verb: char,
        depth: usize,
    ) -> Result<(), String> {
        if self.f.plus_v || self.f.sharp_v {
            self.out.push_str(name);
            self.out.push(':');
        }
        self.value(v, verb, depth + 1)
    }

    pub(super) fn alerts(
        &mut self,
        l: &AlertList<'_>,
        verb: char,
        depth: usize,
    ) -> Result<(), String> {
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

    pub(super) fn alert(&mut self, a: &Alert, verb: char, depth: usize) -> Result<(), String> {
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
        let st = Value::Time(std::rc::Rc::new(a.starts(self.zone)));
        self.field("StartsAt", &st, verb, depth)?;
        self.out.push(' ');
        let en = Value::Time(std::rc::Rc::new(a.ends(self.zone)));
        self.field("EndsAt", &en, verb, depth)?;
        self.out.push(' ');
        self.field("GeneratorURL", &Value::str(&a.generator_url), verb, depth)?;
        self.out.push(' ');
        self.field("Fingerprint", &Value::str(&a.fingerprint), verb, depth)?;
        self.out.push('}');
        Ok(())
    }

    pub(super) fn data(&mut self, d: &Data, verb: char) -> Result<(), String> {
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
}
