//! `tocsin silence add|query|expire|update|import`: amtool's silence commands, same flags, same
//! output (the `simple`, `extended` and `json` formats), against any Alertmanager API v2, for
//! people without amtool.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::clock;
use crate::model::{MatchType, Matcher, MatcherSyntax, parse_matcher, parse_matchers};

/// Output formats (amtool's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A table: ID, matchers, end, author, comment.
    Simple,
    /// A table with start and update times too.
    Extended,
    /// The silences as JSON.
    Json,
}

/// Flags shared by every `silence` command.
#[derive(Debug, Clone, Args)]
pub struct SilenceOpts {
    /// The Alertmanager (or tocsin) to talk to.
    #[arg(
        long = "alertmanager.url",
        value_name = "URL",
        default_value = "http://localhost:9093/",
        global = true
    )]
    pub url: String,
    /// Output format.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value = "simple",
        global = true
    )]
    pub output: Output,
    /// The command.
    #[command(subcommand)]
    pub command: SilenceCommand,
}

/// The `silence` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum SilenceCommand {
    /// Add a silence; prints its id. The first matcher may be a bare alert name.
    Add {
        /// Who creates it (default: $USER).
        #[arg(short = 'a', long = "author")]
        author: Option<String>,
        /// Require a comment.
        #[arg(long = "require-comment", default_value_t = true, action = clap::ArgAction::Set, hide = true)]
        require_comment: bool,
        /// How long it lasts.
        #[arg(short = 'd', long = "duration", default_value = "1h")]
        duration: String,
        /// When it starts (RFC 3339); default now.
        #[arg(long = "start")]
        start: Option<String>,
        /// When it ends (RFC 3339; overrides --duration).
        #[arg(long = "end")]
        end: Option<String>,
        /// Why.
        #[arg(short = 'c', long = "comment", default_value = "")]
        comment: String,
        /// Matchers (`name=value`, `name=~regex`, ...).
        matchers: Vec<String>,
    },
    /// List silences: active and pending by default, or expired ones.
    Query {
        /// Show expired silences instead.
        #[arg(long = "expired")]
        expired: bool,
        /// Only print ids.
        #[arg(short = 'q', long = "quiet")]
        quiet: bool,
        /// Only silences by this author.
        #[arg(long = "created-by")]
        created_by: Option<String>,
        /// Only silences ending (or, with --expired, ended) within this duration.
        #[arg(long = "within")]
        within: Option<String>,
        /// Matchers a silence must have (exactly, as Alertmanager's filter).
        matchers: Vec<String>,
    },
    /// Expire silences by id.
    Expire {
        /// The ids.
        ids: Vec<String>,
    },
    /// Change the times or comment of silences; prints them.
    Update {
        /// Only print ids.
        #[arg(short = 'q', long = "quiet")]
        quiet: bool,
        /// New length, from the start.
        #[arg(short = 'd', long = "duration")]
        duration: Option<String>,
        /// New start (RFC 3339).
        #[arg(long = "start")]
        start: Option<String>,
        /// New end (RFC 3339; overrides --duration).
        #[arg(long = "end")]
        end: Option<String>,
        /// New comment.
        #[arg(short = 'c', long = "comment")]
        comment: Option<String>,
        /// The ids.
        ids: Vec<String>,
    },
    /// Create silences from JSON (`silence query -o json`), from a file or stdin.
    Import {
        /// Create new silences even when the ids exist.
        #[arg(short = 'f', long = "force")]
        force: bool,
        /// Accepted for amtool compatibility (imports run one after the other).
        #[arg(short = 'w', long = "worker", default_value_t = 8)]
        worker: usize,
        /// The JSON file (stdin when absent).
        file: Option<PathBuf>,
    },
}

/// Runs a `silence` command; returns the exit code.
pub fn run(opts: &SilenceOpts, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "tocsin: error: starting the runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(dispatch(opts, out)) {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "tocsin: error: {e}");
            1
        }
    }
}

/// A tiny client of `/api/v2`.
struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    fn new(url: &str) -> Self {
        Client {
            base: format!("{}/api/v2", url.trim_end_matches('/')),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let mut url = format!("{}{path}", self.base);
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&format!("{}={}", encode(k), encode(v)));
        }
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("{method} {url}: reading the answer: {e}"))?;
        if !status.is_success() {
            // A JSON string body is Alertmanager's reason; show it unquoted.
            let reason = match serde_json::from_str::<Value>(&text) {
                Ok(Value::String(s)) => s,
                Ok(v) => v
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| text.clone(), str::to_owned),
                Err(_) => text.clone(),
            };
            return Err(format!("[{method} {path}][{}] {reason}", status.as_u16()));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {url}: bad JSON answer: {e}"))
    }
}

/// Percent-encodes a query component (everything but unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    s.parse::<Timestamp>()
        .map_err(|e| format!("parsing time {s:?} (want RFC 3339, 2006-01-02T15:04:05-07:00): {e}"))
}

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d = crate::model::Duration::parse(s).map_err(|e| format!("{e}"))?;
    if d.std().is_zero() {
        return Err("silence duration must be greater than 0".into());
    }
    SignedDuration::try_from(d.std()).map_err(|e| e.to_string())
}

/// amtool's rule: a first argument that is not a matcher is an alert name.
fn matchers_from_args(args: &[String]) -> Result<Vec<Matcher>, String> {
    let mut args = args.to_vec();
    if let Some(first) = args.first_mut()
        && parse_matchers(first, MatcherSyntax::Fallback).is_err()
    {
        *first = format!("alertname={first}");
    }
    let mut out = Vec::new();
    for a in &args {
        out.extend(parse_matchers(a, MatcherSyntax::Fallback).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn wire(m: &Matcher) -> Value {
    json!({"name": m.name, "value": m.value, "isRegex": m.op.is_regex(), "isEqual": m.op.is_equal()})
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (what Go's strfmt sends).
fn millis(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn dispatch(opts: &SilenceOpts, out: &mut dyn Write) -> Result<(), String> {
    let c = Client::new(&opts.url);
    let w = |out: &mut dyn Write, s: &str| {
        out.write_all(s.as_bytes())
            .map_err(|e| format!("writing output: {e}"))
    };
    match &opts.command {
        SilenceCommand::Add {
            author,
            require_comment,
            duration,
            start,
            end,
            comment,
            matchers,
        } => {
            let ms = matchers_from_args(matchers)?;
            if ms.is_empty() {
                return Err("no matchers specified".into());
            }
            let starts = match start {
                Some(s) => parse_time(s)?,
                None => clock::now(),
            };
            let ends = match end {
                Some(e) => parse_time(e)?,
                None => starts
                    .checked_add(parse_duration(duration)?)
                    .map_err(|e| e.to_string())?,
            };
            if starts > ends {
                return Err("silence cannot start after it ends".into());
            }
            if *require_comment && comment.is_empty() {
                return Err("comment required by config".into());
            }
            let author = author
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_default();
            let body = json!({
                "matchers": ms.iter().map(wire).collect::<Vec<_>>(),
                "startsAt": millis(starts),
                "endsAt": millis(ends),
                "createdBy": author,
                "comment": comment,
            });
            let r = c
                .call(reqwest::Method::POST, "/silences", &[], Some(&body))
                .await?;
            w(out, &format!("{}\n", r["silenceID"].as_str().unwrap_or("")))
        }
        SilenceCommand::Query {
            expired,
            quiet,
            created_by,
            within,
            matchers,
        } => {
            let mut args = matchers.clone();
            if let Some(first) = args.first_mut()
                && parse_matcher(first, MatcherSyntax::Fallback).is_err()
            {
                *first = format!("alertname={first}");
            }
            let query: Vec<(&str, String)> = args.into_iter().map(|m| ("filter", m)).collect();
            let r = c
                .call(reqwest::Method::GET, "/silences", &query, None)
                .await?;
            let within = within.as_deref().map(parse_duration).transpose()?;
            let now = clock::now();
            let sils: Vec<Value> = r
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|s| {
                    let Ok(ends) = s["endsAt"].as_str().unwrap_or("").parse::<Timestamp>() else {
                        return false;
                    };
                    let shown = if *expired { ends < now } else { ends >= now };
                    let in_window = match within {
                        None => true,
                        Some(d) if *expired => now.checked_sub(d).is_ok_and(|t| ends >= t),
                        Some(d) => now.checked_add(d).is_ok_and(|t| ends <= t),
                    };
                    let by = created_by
                        .as_deref()
                        .is_none_or(|c| s["createdBy"].as_str() == Some(c));
                    shown && in_window && by
                })
                .collect();
            if *quiet {
                let ids: String = sils
                    .iter()
                    .map(|s| format!("{}\n", s["id"].as_str().unwrap_or("")))
                    .collect();
                return w(out, &ids);
            }
            w(out, &format_silences(sils, opts.output))
        }
        SilenceCommand::Expire { ids } => {
            if ids.is_empty() {
                return Err("no silence IDs specified".into());
            }
            for id in ids {
                c.call(
                    reqwest::Method::DELETE,
                    &format!("/silence/{id}"),
                    &[],
                    None,
                )
                .await?;
            }
            Ok(())
        }
        SilenceCommand::Update {
            quiet,
            duration,
            start,
            end,
            comment,
            ids,
        } => {
            if ids.is_empty() {
                return Err("no silence IDs specified".into());
            }
            let mut updated = Vec::new();
            for id in ids {
                let mut s = c
                    .call(reqwest::Method::GET, &format!("/silence/{id}"), &[], None)
                    .await?;
                if let Some(st) = start {
                    s["startsAt"] = json!(millis(parse_time(st)?));
                }
                if let Some(e) = end {
                    s["endsAt"] = json!(millis(parse_time(e)?));
                } else if let Some(d) = duration {
                    let st = parse_time(s["startsAt"].as_str().unwrap_or(""))?;
                    let e = st
                        .checked_add(parse_duration(d)?)
                        .map_err(|e| e.to_string())?;
                    s["endsAt"] = json!(millis(e));
                }
                let (st, e) = (
                    parse_time(s["startsAt"].as_str().unwrap_or(""))?,
                    parse_time(s["endsAt"].as_str().unwrap_or(""))?,
                );
                if st > e {
                    return Err("silence cannot start after it ends".into());
                }
                if let Some(cm) = comment {
                    s["comment"] = json!(cm);
                }
                let body = json!({
                    "id": s["id"],
                    "matchers": s["matchers"],
                    "startsAt": s["startsAt"],
                    "endsAt": s["endsAt"],
                    "createdBy": s["createdBy"],
                    "comment": s["comment"],
                });
                let r = c
                    .call(reqwest::Method::POST, "/silences", &[], Some(&body))
                    .await?;
                s["id"] = r["silenceID"].clone();
                updated.push(s);
            }
            if *quiet {
                let ids: String = updated
                    .iter()
                    .map(|s| format!("{}\n", s["id"].as_str().unwrap_or("")))
                    .collect();
                return w(out, &ids);
            }
            w(out, &format_silences(updated, opts.output))
        }
        SilenceCommand::Import { force, file, .. } => {
            let mut text = String::new();
            match file {
                Some(f) => {
                    text = std::fs::read_to_string(f)
                        .map_err(|e| format!("reading {}: {e}", f.display()))?
                }
                None => {
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|e| format!("reading stdin: {e}"))?;
                }
            }
            let sils: Vec<Value> = serde_json::from_str(&text)
                .map_err(|e| format!("couldn't unmarshal input data, is it JSON?: {e}"))?;
            let (total, mut failed) = (sils.len(), 0);
            for s in sils {
                let mut body = json!({
                    "matchers": s["matchers"],
                    "startsAt": s["startsAt"],
                    "endsAt": s["endsAt"],
                    "createdBy": s["createdBy"],
                    "comment": s["comment"],
                });
                let id = s["id"].as_str().unwrap_or("").to_owned();
                if !force && !id.is_empty() {
                    body["id"] = json!(id);
                }
                let mut r = c
                    .call(reqwest::Method::POST, "/silences", &[], Some(&body))
                    .await;
                if matches!(&r, Err(e) if e.contains("][404]")) {
                    // Unknown here: create it anew, as amtool does.
                    if let Some(o) = body.as_object_mut() {
                        o.remove("id");
                    }
                    r = c
                        .call(reqwest::Method::POST, "/silences", &[], Some(&body))
                        .await;
                }
                match r {
                    Ok(v) => w(out, &format!("{}\n", v["silenceID"].as_str().unwrap_or("")))?,
                    Err(e) => {
                        failed += 1;
                        eprintln!("Error adding silence id='{id}': {e}");
                    }
                }
            }
            if failed > 0 {
                return Err(format!("couldn't import {failed} out of {total} silences"));
            }
            Ok(())
        }
    }
}

/// OpenMetrics escaping of a matcher value (what amtool prints): `\`, newline, `"`.
fn om_escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('\n', r"\n")
        .replace('"', "\\\"")
}

fn matcher_text(m: &Value) -> String {
    let op = MatchType::from_flags(
        m["isEqual"].as_bool().unwrap_or(true),
        m["isRegex"].as_bool().unwrap_or(false),
    );
    format!(
        "{}{}\"{}\"",
        m["name"].as_str().unwrap_or(""),
        op,
        om_escape(m["value"].as_str().unwrap_or(""))
    )
}

fn date(v: &Value) -> String {
    v.as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// Go's `text/tabwriter` with padding 2 and every cell tab-terminated, as amtool uses it.
fn tabulate(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            out.push_str(cell);
            let pad = widths[c] + 2 - cell.chars().count();
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.push('\n');
    }
    out
}

/// A silence in the field order Go's encoder gives amtool's JSON output.
#[derive(serde::Serialize)]
struct GoSilence<'a> {
    id: &'a Value,
    status: GoStatus<'a>,
    #[serde(rename = "updatedAt")]
    updated_at: &'a Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    annotations: &'a Value,
    comment: &'a Value,
    #[serde(rename = "createdBy")]
    created_by: &'a Value,
    #[serde(rename = "endsAt")]
    ends_at: &'a Value,
    matchers: Vec<GoMatcher<'a>>,
    #[serde(rename = "startsAt")]
    starts_at: &'a Value,
}

#[derive(serde::Serialize)]
struct GoStatus<'a> {
    state: &'a Value,
}

#[derive(serde::Serialize)]
struct GoMatcher<'a> {
    #[serde(rename = "isEqual")]
    is_equal: &'a Value,
    #[serde(rename = "isRegex")]
    is_regex: &'a Value,
    name: &'a Value,
    value: &'a Value,
}

fn go_silence(s: &Value) -> GoSilence<'_> {
    GoSilence {
        id: &s["id"],
        status: GoStatus {
            state: &s["status"]["state"],
        },
        updated_at: &s["updatedAt"],
        annotations: &s["annotations"],
        comment: &s["comment"],
        created_by: &s["createdBy"],
        ends_at: &s["endsAt"],
        matchers: s["matchers"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| GoMatcher {
                        is_equal: &m["isEqual"],
                        is_regex: &m["isRegex"],
                        name: &m["name"],
                        value: &m["value"],
                    })
                    .collect()
            })
            .unwrap_or_default(),
        starts_at: &s["startsAt"],
    }
}

/// amtool's silence formats: JSON as the server listed them, tables sorted by end time.
fn format_silences(mut sils: Vec<Value>, output: Output) -> String {
    let end = |s: &Value| s["endsAt"].as_str().unwrap_or("").parse::<Timestamp>().ok();
    if output != Output::Json {
        sils.sort_by_key(|s| end(s));
    }
    let matchers = |s: &Value| -> Vec<String> {
        s["matchers"]
            .as_array()
            .map(|ms| ms.iter().map(matcher_text).collect())
            .unwrap_or_default()
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    match output {
        Output::Json => {
            let go: Vec<GoSilence> = sils.iter().map(go_silence).collect();
            let mut s = serde_json::to_string(&go).unwrap_or_default();
            // Go's encoder escapes these for HTML safety; they only occur inside strings.
            s = s
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026");
            s.push('\n');
            s
        }
        Output::Simple => {
            let mut rows = vec![
                ["ID", "Matchers", "Ends At", "Created By", "Comment"]
                    .map(String::from)
                    .to_vec(),
            ];
            for s in &sils {
                rows.push(vec![
                    text(&s["id"]),
                    matchers(s).join(" "),
                    date(&s["endsAt"]),
                    text(&s["createdBy"]),
                    text(&s["comment"]),
                ]);
            }
            tabulate(&rows)
        }
        Output::Extended => {
            let mut rows = vec![
                [
                    "ID",
                    "Matchers",
                    "Starts At",
                    "Ends At",
                    "Updated At",
                    "Created By",
                    "Comment",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for s in &sils {
                rows.push(vec![
                    text(&s["id"]),
                    format!("{{{}}}", matchers(s).join(",")),
                    date(&s["startsAt"]),
                    date(&s["endsAt"]),
                    date(&s["updatedAt"]),
                    text(&s["createdBy"]),
                    text(&s["comment"]),
                ]);
            }
            tabulate(&rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_table_like_amtool() {
        let sils = vec![
            json!({"id": "b", "endsAt": "2026-12-02T02:23:18.000Z", "createdBy": "a", "comment": "c",
                   "matchers": [{"name": "x", "value": "y", "isRegex": false, "isEqual": true},
                                {"name": "a", "value": ".*", "isRegex": true, "isEqual": true}]}),
            json!({"id": "a", "endsAt": "2026-12-02T02:23:12.000Z", "createdBy": "", "comment": "",
                   "matchers": [{"name": "a", "value": "q\"", "isRegex": false, "isEqual": false}]}),
        ];
        let got = format_silences(sils, Output::Simple);
        let want = "\
ID  Matchers       Ends At                  Created By  Comment  
a   a!=\"q\\\"\"       2026-12-02 02:23:12 UTC                       
b   x=\"y\" a=~\".*\"  2026-12-02 02:23:18 UTC  a           c        
";
        assert_eq!(got, want);
    }

    #[test]
    fn bare_first_argument_is_an_alert_name() {
        let ms = matchers_from_args(&["Disk".into(), "instance=~a|b".into()]).unwrap();
        assert_eq!(ms[0].to_string(), "alertname=\"Disk\"");
        assert_eq!(ms[1].op, MatchType::Regex);
    }
}
