//! Log lines as Alertmanager writes them, so log pipelines built for it keep working:
//! `--log.format=logfmt` gives `ts=2026-01-02T03:04:05.678Z caller=run.rs:42 level=info
//! msg="Starting tocsin." version=0.1.0`, `--log.format=json` one flat object per line with the
//! same keys (`ts`, `caller`, `level`, `msg`, then the event's fields).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A value of an event field, kept typed for JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (also what `%` and `?` fields render to).
    Str(String),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(n) => write!(f, "{n}"),
            Value::Uint(n) => write!(f, "{n}"),
            Value::Float(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One log line's content, before rendering.
#[derive(Debug, Default)]
pub struct Line {
    /// `ts`: UTC, milliseconds, as Prometheus's `promlog`.
    pub ts: String,
    /// `caller`: `file.rs:line`.
    pub caller: String,
    /// `level`: `debug`, `info`, `warn`, `error`.
    pub level: &'static str,
    /// `msg`: the event's message.
    pub msg: String,
    /// The other fields, in the order they were given.
    pub fields: Vec<(String, Value)>,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::Str(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Str(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::Uint(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::Float(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The whole chain: "error sending request: connection refused".
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            let msg = s.to_string();
            if !text.contains(&msg) {
                text.push_str(": ");
                text.push_str(&msg);
            }
            source = s.source();
        }
        self.put(field, Value::Str(text));
    }
}

impl Line {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.msg = value.to_string();
        } else {
            self.fields.push((field.name().to_owned(), value));
        }
    }

    /// The logfmt line (no newline): values quoted and escaped when they hold a space, `=`,
    /// `"` or a control character, as go-logfmt writes them.
    pub fn logfmt(&self) -> String {
        let mut out = String::with_capacity(96);
        let fixed = [
            ("ts", self.ts.as_str()),
            ("caller", self.caller.as_str()),
            ("level", self.level),
            ("msg", self.msg.as_str()),
        ];
        let rest = self.fields.iter().map(|(k, v)| (k.as_str(), v.to_string()));
        for (i, (k, v)) in fixed
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .chain(rest)
            .enumerate()
        {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&logfmt_key(k));
            out.push('=');
            logfmt_value(&mut out, &v);
        }
        out
    }

    /// The JSON object (no newline), flat: `ts`, `caller`, `level`, `msg`, then the fields (a
    /// field named like one of those four is dropped).
    pub fn json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("ts".into(), self.ts.clone().into());
        m.insert("caller".into(), self.caller.clone().into());
        m.insert("level".into(), self.level.into());
        m.insert("msg".into(), self.msg.clone().into());
        for (k, v) in &self.fields {
            if m.contains_key(k) {
                continue;
            }
            let v = match v {
                Value::Str(s) => s.clone().into(),
                Value::Int(n) => (*n).into(),
                Value::Uint(n) => (*n).into(),
                Value::Float(n) => serde_json::Number::from_f64(*n)
                    .map_or_else(|| n.to_string().into(), serde_json::Value::Number),
                Value::Bool(b) => (*b).into(),
            };
            m.insert(k.clone(), v);
        }
        serde_json::Value::Object(m).to_string()
    }
}

/// A key as logfmt allows it: characters that would end or quote it become `_`.
fn logfmt_key(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c <= ' ' || c == '=' || c == '"' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn logfmt_value(out: &mut String, v: &str) {
    if v == "null" {
        out.push_str("\"null\"");
        return;
    }
    if !v
        .chars()
        .any(|c| c <= ' ' || c == '=' || c == '"' || c == '\u{7f}')
    {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `tracing` event formatter for both formats.
#[derive(Debug, Clone, Copy)]
pub struct AlertmanagerFormat {
    /// JSON objects instead of logfmt.
    pub json: bool,
}

impl<S, N> FormatEvent<S, N> for AlertmanagerFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let file = meta.file().unwrap_or(meta.target());
        let file = file.rsplit('/').next().unwrap_or(file);
        let mut line = Line {
            ts: crate::clock::now()
                .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            caller: match meta.line() {
                Some(n) => format!("{file}:{n}"),
                None => file.to_owned(),
            },
            level: match *meta.level() {
                tracing::Level::ERROR => "error",
                tracing::Level::WARN => "warn",
                tracing::Level::INFO => "info",
                _ => "debug",
            },
            ..Line::default()
        };
        event.record(&mut line);
        let text = if self.json {
            line.json()
        } else {
            line.logfmt()
        };
        writeln!(w, "{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(msg: &str, fields: &[(&str, Value)]) -> Line {
        Line {
            ts: "2026-01-02T03:04:05.678Z".into(),
            caller: "run.rs:42".into(),
            level: "info",
            msg: msg.into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn logfmt_quotes_only_what_needs_it() {
        let l = line(
            "Starting tocsin.",
            &[
                ("version", Value::Str("0.1.0".into())),
                ("err", Value::Str("bad \"x\"\nline 2\\".into())),
                ("empty", Value::Str(String::new())),
                ("n", Value::Uint(3)),
                ("ok", Value::Bool(true)),
                ("eq", Value::Str("a=b".into())),
                ("null", Value::Str("null".into())),
            ],
        );
        assert_eq!(
            l.logfmt(),
            "ts=2026-01-02T03:04:05.678Z caller=run.rs:42 level=info msg=\"Starting tocsin.\" \
             version=0.1.0 err=\"bad \\\"x\\\"\\nline 2\\\\\" empty= n=3 ok=true eq=\"a=b\" null=\"null\""
        );
    }

    #[test]
    fn json_is_flat() {
        let l = line(
            "Listening.",
            &[
                ("address", Value::Str("127.0.0.1:9093".into())),
                ("n", Value::Int(-1)),
                ("msg", Value::Str("shadowed".into())),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&l.json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ts": "2026-01-02T03:04:05.678Z", "caller": "run.rs:42",
                "level": "info", "msg": "Listening.", "address": "127.0.0.1:9093", "n": -1})
        );
    }
}
