//! A strict fake of the Zendesk Support ticketing API on 127.0.0.1:0, validating as Zendesk does
//! (reference integrations.md §3, Appendix A):
//! - Basic auth `{email}/token:{api_token}` (else 401 `Couldn't authenticate you`);
//! - `Content-Type: application/json` on POST and PUT (else 400, as Zendesk's API-level errors,
//!   in `text/plain`), a body `{"ticket": {...}}` that parses (else 400 `InvalidValue`);
//! - `POST /api/v2/tickets.json`: a comment `body` or `html_body` (else 422 `RecordInvalid`,
//!   `details.base` "Description: cannot be blank"), `priority`, `type` and `status` enums,
//!   `tags` strings, `custom_fields` `{id, value}`, `via_followup_source_id` naming a closed
//!   ticket; answers 201 with `Location` and the ticket;
//! - `PUT /api/v2/tickets/{id}.json`: 404 `RecordNotFound` for an unknown id, 422 "Status: closed
//!   prevents ticket update" for a closed ticket, the same enums; answers 200 `{ticket, audit}`;
//! - `GET /api/v2/tickets.json?external_id=..`: every ticket with that id (not unique), as
//!   `{tickets, next_page, previous_page, count}`.
//!
//! Keys Zendesk does not know are ignored, as Zendesk does, and recorded so tests can assert a
//! client sends none. Every answer carries `X-Rate-Limit` headers; scripted answers give 429 with
//! `Retry-After`, 4xx, 5xx or a slow answer. [`FakeZendesk::close`] plays the automation that
//! closes a solved ticket.
//!
//! Self-contained (uses only `super::script`) so the integration's unit tests include it too.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use warp::Filter;

use super::script::{Script, Step, poll_until, reply};

/// Ticket priorities Zendesk accepts.
pub const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];
/// Ticket types Zendesk accepts.
pub const TYPES: [&str; 4] = ["problem", "incident", "question", "task"];
/// Statuses a ticket can be set to (`closed` only by an update).
pub const STATUSES: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];
/// The ticket keys the fake knows (others are ignored and recorded).
const KNOWN: [&str; 14] = [
    "subject",
    "comment",
    "priority",
    "type",
    "status",
    "tags",
    "external_id",
    "custom_fields",
    "group_id",
    "assignee_email",
    "assignee_id",
    "requester",
    "via_followup_source_id",
    "description",
];

/// One ticket.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Its id.
    pub id: u64,
    /// `new`, `open`, `pending`, `hold`, `solved` or `closed`.
    pub status: String,
    /// The subject.
    pub subject: String,
    /// The priority, if set.
    pub priority: Option<String>,
    /// The type, if set.
    pub kind: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The external id.
    pub external_id: Option<String>,
    /// The closed ticket this one follows up.
    pub via_followup_source_id: Option<u64>,
    /// Custom field values by id.
    pub custom_fields: BTreeMap<u64, Value>,
    /// Comments in order: (body, public).
    pub comments: Vec<(String, bool)>,
    /// Group and assignee as given.
    pub group_id: Option<u64>,
    /// The assignee's email as given.
    pub assignee_email: Option<String>,
}

impl Ticket {
    fn json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "url": format!("{base}/api/v2/tickets/{}.json", self.id),
            "status": self.status,
            "subject": self.subject,
            "priority": self.priority,
            "type": self.kind,
            "tags": self.tags,
            "external_id": self.external_id,
            "description": self.comments.first().map(|c| c.0.clone()).unwrap_or_default(),
        })
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST` or `PUT`.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The parsed body (Null when none or not JSON).
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// When it arrived.
    pub at: tokio::time::Instant,
}

#[derive(Default)]
struct State {
    tickets: BTreeMap<u64, Ticket>,
    requests: Vec<Request>,
    ignored: Vec<String>,
}

/// The fake.
#[derive(Clone)]
pub struct FakeZendesk {
    /// Its address.
    pub addr: SocketAddr,
    /// The agent email it accepts.
    pub email: String,
    /// The API token it accepts.
    pub token: String,
    state: Arc<Mutex<State>>,
    script: Arc<Script>,
}

/// Standard base64 (for the expected `Authorization` header).
pub fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn record_invalid(field: &str, description: &str) -> (u16, Value) {
    (
        422,
        json!({"error": "RecordInvalid", "description": "Record validation errors",
               "details": {field: [{"description": description}]}}),
    )
}

impl FakeZendesk {
    /// Starts it; it accepts `agent@example.org` with token `zd-test-token`.
    pub async fn start() -> FakeZendesk {
        let state = Arc::new(Mutex::new(State::default()));
        let script = Arc::new(Script::default());
        let (email, token) = ("agent@example.org".to_owned(), "zd-test-token".to_owned());
        let expected = format!(
            "Basic {}",
            base64(format!("{email}/token:{token}").as_bytes())
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let (st, sc) = (Arc::clone(&state), Arc::clone(&script));
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .then(
                move |method: warp::http::Method,
                      path: warp::path::FullPath,
                      query: String,
                      headers: warp::http::HeaderMap,
                      body: bytes::Bytes| {
                    let (st, sc, exp, base) = (
                        Arc::clone(&st),
                        Arc::clone(&sc),
                        expected.clone(),
                        base.clone(),
                    );
                    async move {
                        handle(
                            &st,
                            &sc,
                            &exp,
                            &base,
                            method,
                            path.as_str(),
                            &query,
                            &headers,
                            &body,
                        )
                        .await
                    }
                },
            );
        tokio::spawn(warp::serve(route).incoming(listener).run());
        FakeZendesk {
            addr,
            email,
            token,
            state,
            script,
        }
    }

    /// The API base URL to configure (`api_url:`).
    pub fn url(&self) -> String {
        format!("http://{}/api/v2/", self.addr)
    }

    /// Queues scripted answers for the next valid requests.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.script.push(steps);
    }

    /// Every ticket, by id.
    pub fn tickets(&self) -> Vec<Ticket> {
        self.state
            .lock()
            .unwrap()
            .tickets
            .values()
            .cloned()
            .collect()
    }

    /// Every request, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Ticket keys that were sent but that Zendesk ignores.
    pub fn ignored_keys(&self) -> Vec<String> {
        self.state.lock().unwrap().ignored.clone()
    }

    /// Closes a ticket, as Zendesk's automation does some days after it is solved.
    pub fn close(&self, id: u64) {
        if let Some(t) = self.state.lock().unwrap().tickets.get_mut(&id) {
            t.status = "closed".to_owned();
        }
    }

    /// Adds a ticket as if created earlier (for the lookup path).
    pub fn seed(&self, status: &str, external_id: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        let id = 1000 + s.tickets.len() as u64;
        s.tickets.insert(
            id,
            Ticket {
                id,
                status: status.to_owned(),
                subject: "seeded".to_owned(),
                priority: None,
                kind: None,
                tags: Vec::new(),
                external_id: Some(external_id.to_owned()),
                via_followup_source_id: None,
                custom_fields: BTreeMap::new(),
                comments: vec![("seeded".to_owned(), true)],
                group_id: None,
                assignee_email: None,
            },
        );
        id
    }

    /// Waits until `n` requests were answered 2xx.
    pub async fn wait_ok(&self, n: usize, within: Duration) -> Vec<Request> {
        let ok = |r: &Request| (200..300).contains(&r.status);
        let done = poll_until(within, || {
            self.requests().iter().filter(|r| ok(r)).count() >= n
        })
        .await;
        assert!(
            done,
            "expected {n} successful requests, got {:#?}",
            self.requests()
        );
        self.requests().into_iter().filter(|r| ok(r)).collect()
    }
}

/// Checks the fields of a ticket body; the 422 to answer, or None.
fn validate_ticket(t: &serde_json::Map<String, Value>, creating: bool) -> Option<(u16, Value)> {
    let enum_ok = |k: &str, allowed: &[&str]| match t.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => allowed.contains(&s.as_str()),
        Some(_) => false,
    };
    if creating {
        let c = t.get("comment");
        let text = |k: &str| {
            c.and_then(|c| c.get(k))
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty())
        };
        if !text("body") && !text("html_body") {
            return Some(record_invalid("base", "Description: cannot be blank"));
        }
    } else if let Some(c) = t.get("comment") {
        let ok = c.get("body").or(c.get("html_body")).and_then(Value::as_str);
        if ok.is_none_or(|s| s.trim().is_empty()) {
            return Some(record_invalid("comment", "Comment: cannot be blank"));
        }
    }
    if !enum_ok("priority", &PRIORITIES) {
        return Some(record_invalid("priority", "Priority: is invalid"));
    }
    if !enum_ok("type", &TYPES) {
        return Some(record_invalid("type", "Type: is invalid"));
    }
    let statuses: &[&str] = if creating { &STATUSES[..5] } else { &STATUSES };
    if !enum_ok("status", statuses) {
        return Some(record_invalid("status", "Status: is invalid"));
    }
    if let Some(tags) = t.get("tags")
        && !tags
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
    {
        return Some((
            400,
            json!({"error": "InvalidValue", "description": "tags must be strings"}),
        ));
    }
    if let Some(cf) = t.get("custom_fields") {
        let ok = cf.as_array().is_some_and(|a| {
            a.iter()
                .all(|f| f.get("id").and_then(Value::as_u64).is_some() && f.get("value").is_some())
        });
        if !ok {
            return Some(record_invalid("custom_fields", "Custom fields: is invalid"));
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    st: &Mutex<State>,
    script: &Script,
    expected_auth: &str,
    base: &str,
    method: warp::http::Method,
    path: &str,
    query: &str,
    headers: &warp::http::HeaderMap,
    body: &[u8],
) -> warp::reply::Response {
    let now = tokio::time::Instant::now();
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let is_write = method == warp::http::Method::POST || method == warp::http::Method::PUT;
    let tickets_path = path == "/api/v2/tickets.json" || path == "/api/v2/tickets";
    let put_id = path
        .strip_prefix("/api/v2/tickets/")
        .map(|r| r.trim_end_matches(".json"))
        .and_then(|r| r.parse::<u64>().ok());
    let mut content_type = "application/json";
    let (mut status, mut answer): (u16, Value) = if header("authorization") != expected_auth {
        (401, json!({"error": "Couldn't authenticate you"}))
    } else if is_write && !header("content-type").starts_with("application/json") {
        content_type = "text/plain";
        (
            400,
            Value::String("Content-Type must be application/json".into()),
        )
    } else if is_write && !parsed.get("ticket").is_some_and(Value::is_object) {
        (
            400,
            json!({"error": "InvalidValue", "description": "expected {\"ticket\": {...}}"}),
        )
    } else if method == warp::http::Method::GET && tickets_path {
        (200, Value::Null)
    } else if method == warp::http::Method::POST && tickets_path {
        match validate_ticket(parsed["ticket"].as_object().unwrap(), true) {
            Some(e) => e,
            None => (201, Value::Null),
        }
    } else if method == warp::http::Method::PUT && put_id.is_some() {
        let s = st.lock().unwrap();
        match s.tickets.get(&put_id.unwrap()) {
            None => (
                404,
                json!({"error": "RecordNotFound", "description": "Not found"}),
            ),
            Some(t) if t.status == "closed" => {
                record_invalid("status", "Status: closed prevents ticket update")
            }
            Some(_) => match validate_ticket(parsed["ticket"].as_object().unwrap(), false) {
                Some(e) => e,
                None => (200, Value::Null),
            },
        }
    } else {
        (
            404,
            json!({"error": "InvalidEndpoint", "description": "Not found"}),
        )
    };
    let mut retry_after = None;
    let mut location = None;
    if (200..300).contains(&status) {
        let step: Step = script.next();
        if let Some(d) = step.delay {
            tokio::time::sleep(d).await;
        }
        retry_after = step.retry_after;
        if let Some(code) = step.status {
            status = code;
            answer = match step.body {
                Some(b) => serde_json::from_str(&b).unwrap_or(Value::String(b)),
                None => match code {
                    429 => {
                        json!({"error": "TooManyRequests", "description": "Rate limit exceeded"})
                    }
                    409 => json!({"error": "UpdateConflict", "description": "Conflict"}),
                    403 => {
                        json!({"error": {"title": "Forbidden", "message": "You do not have access to this page"}})
                    }
                    _ => json!({"error": "ServerError", "description": "Internal error"}),
                },
            };
        } else {
            let mut s = st.lock().unwrap();
            if method == warp::http::Method::GET {
                let want = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("external_id="))
                    .map(decode);
                let list: Vec<Value> = s
                    .tickets
                    .values()
                    .filter(|t| want.is_none() || t.external_id == want)
                    .map(|t| t.json(base))
                    .collect();
                answer = json!({"count": list.len(), "tickets": list, "next_page": null, "previous_page": null});
            } else {
                let t = parsed["ticket"].as_object().unwrap().clone();
                for k in t.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
                    s.ignored.push(k.clone());
                }
                let comment = t.get("comment").map(|c| {
                    let b = c.get("body").or(c.get("html_body")).and_then(Value::as_str);
                    (
                        b.unwrap_or("").to_owned(),
                        c.get("public").and_then(Value::as_bool).unwrap_or(true),
                    )
                });
                let text = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
                if method == warp::http::Method::POST {
                    let follow = t.get("via_followup_source_id").and_then(Value::as_u64);
                    if follow
                        .is_some_and(|f| s.tickets.get(&f).is_none_or(|x| x.status != "closed"))
                    {
                        (status, answer) = record_invalid(
                            "via_followup_source_id",
                            "Via followup source id: must be a closed ticket",
                        );
                    } else {
                        let id = 1000 + s.tickets.len() as u64;
                        let ticket = Ticket {
                            id,
                            status: text("status").unwrap_or_else(|| "new".to_owned()),
                            subject: text("subject").unwrap_or_default(),
                            priority: text("priority"),
                            kind: text("type"),
                            tags: t
                                .get("tags")
                                .and_then(Value::as_array)
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|v| v.as_str().map(str::to_owned))
                                        .collect()
                                })
                                .unwrap_or_default(),
                            external_id: text("external_id"),
                            via_followup_source_id: follow,
                            custom_fields: t
                                .get("custom_fields")
                                .and_then(Value::as_array)
                                .map(|a| {
                                    a.iter()
                                        .map(|f| {
                                            (f["id"].as_u64().unwrap_or(0), f["value"].clone())
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                            comments: comment.into_iter().collect(),
                            group_id: t.get("group_id").and_then(Value::as_u64),
                            assignee_email: text("assignee_email"),
                        };
                        answer = json!({"ticket": ticket.json(base)});
                        location = Some(format!("{base}/api/v2/tickets/{id}.json"));
                        s.tickets.insert(id, ticket);
                    }
                } else {
                    let ticket = s.tickets.get_mut(&put_id.unwrap()).unwrap();
                    if let Some(st) = text("status") {
                        ticket.status = st;
                    }
                    if let Some(subject) = text("subject") {
                        ticket.subject = subject;
                    }
                    if let Some(p) = text("priority") {
                        ticket.priority = Some(p);
                    }
                    ticket.comments.extend(comment);
                    answer = json!({"ticket": ticket.json(base), "audit": {"events": []}});
                }
            }
        }
    }
    st.lock().unwrap().requests.push(Request {
        method: method.to_string(),
        path: if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        },
        body: parsed,
        status,
        at: now,
    });
    let text = match answer {
        Value::String(s) if content_type == "text/plain" => s,
        v => v.to_string(),
    };
    let mut resp = reply(status, content_type, text, retry_after);
    let h = resp.headers_mut();
    h.insert("x-rate-limit", "700".parse().unwrap());
    h.insert("x-rate-limit-remaining", "699".parse().unwrap());
    if let Some(l) = location {
        h.insert("location", l.parse().unwrap());
    }
    resp
}

/// Percent-decoding of a query value.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
