//! `toJson`: Go's `encoding/json` output for template values (HTML-safe string escaping,
//! sorted map keys, Go's float format, struct tags of the data model).

use std::fmt::Write as _;

use jiff::tz::TimeZone;

use super::data::{Alert, Data};
use super::timefmt::{RFC3339_NANO, go_format};
use super::value::Value;

/// Encodes a value as Go's `json.Marshal` would.
pub(crate) fn to_json(v: &Value<'_>, zone: &TimeZone) -> Result<String, String> {
    let mut out = String::new();
    value(&mut out, v, zone)?;
    Ok(out)
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn float(out: &mut String, f: f64) -> Result<(), String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            super::printf::format_float(f, 'g', None)
        ));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = super::printf::format_float(f, 'e', None);
        // Go trims "e-07" to "e-7".
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.split_at(1);
                let digits = digits.trim_start_matches('0');
                let _ = write!(
                    out,
                    "{m}e{sign}{}",
                    if digits.is_empty() { "0" } else { digits }
                );
            }
            None => out.push_str(&s),
        }
    } else {
        out.push_str(&super::printf::format_float(f, 'f', None));
    }
    Ok(())
}

fn kv<'x>(out: &mut String, entries: impl Iterator<Item = (&'x str, &'x str)>) {
    out.push('{');
    for (i, (name, v)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, name);
        out.push(':');
        string(out, v);
    }
    out.push('}');
}

fn time(out: &mut String, t: &jiff::Zoned) -> Result<(), String> {
    if !(0..=9999).contains(&t.year()) {
        return Err("Time.MarshalJSON: year outside of range [0,9999]".into());
    }
    string(out, &go_format(t, RFC3339_NANO));
    Ok(())
}

fn alert(out: &mut String, a: &Alert, zone: &TimeZone) -> Result<(), String> {
    out.push_str("{\"status\":");
    string(out, &a.status);
    out.push_str(",\"labels\":");
    kv(out, a.labels.iter());
    out.push_str(",\"annotations\":");
    kv(out, a.annotations.iter());
    out.push_str(",\"startsAt\":");
    time(out, &a.starts(zone))?;
    out.push_str(",\"endsAt\":");
    time(out, &a.ends(zone))?;
    out.push_str(",\"generatorURL\":");
    string(out, &a.generator_url);
    out.push_str(",\"fingerprint\":");
    string(out, &a.fingerprint);
    out.push('}');
    Ok(())
}

fn data(out: &mut String, d: &Data, zone: &TimeZone) -> Result<(), String> {
    out.push_str("{\"receiver\":");
    string(out, &d.receiver);
    out.push_str(",\"status\":");
    string(out, &d.status);
    out.push_str(",\"alerts\":[");
    for (i, a) in d.alerts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        alert(out, a, zone)?;
    }
    out.push_str("],\"notification_reason\":");
    string(out, &d.notification_reason);
    for (name, k) in [
        ("groupLabels", &d.group_labels),
        ("commonLabels", &d.common_labels),
        ("commonAnnotations", &d.common_annotations),
        ("routeLabels", &d.route_labels),
    ] {
        let _ = write!(out, ",\"{name}\":");
        kv(out, k.iter());
    }
    out.push_str(",\"externalURL\":");
    string(out, &d.external_url);
    out.push('}');
    Ok(())
}

fn value(out: &mut String, v: &Value<'_>, zone: &TimeZone) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Duration(i) | Value::Month(i) | Value::Weekday(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Byte(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Float(f) => float(out, *f)?,
        Value::Str(s, _) => string(out, s.as_str()),
        Value::Strings(items, _) => {
            out.push('[');
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, s.as_str());
            }
            out.push(']');
        }
        Value::List(items) => {
            out.push('[');
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(out, s, zone)?;
            }
            out.push(']');
        }
        Value::Dict(m) => {
            out.push('{');
            for (i, (k, s)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, k);
                out.push(':');
                value(out, s, zone)?;
            }
            out.push('}');
        }
        Value::Kv(k) => kv(out, k.iter()),
        Value::Pairs(ps) => {
            out.push('[');
            for (i, (a, b)) in ps.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"Name\":");
                string(out, a.as_str());
                out.push_str(",\"Value\":");
                string(out, b.as_str());
                out.push('}');
            }
            out.push(']');
        }
        Value::Pair(p) => {
            out.push_str("{\"Name\":");
            string(out, p.name().as_str());
            out.push_str(",\"Value\":");
            string(out, p.value().as_str());
            out.push('}');
        }
        Value::Alerts(l) => {
            out.push('[');
            for (i, a) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                alert(out, a, zone)?;
            }
            out.push(']');
        }
        Value::Alert(a) => alert(out, a, zone)?,
        Value::Data(d) => data(out, d, zone)?,
        Value::Time(t) => time(out, t)?,
    }
    Ok(())
}
