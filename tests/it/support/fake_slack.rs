//! A strict fake of Slack on 127.0.0.1:0: incoming webhooks (`POST /services/...`) and the Web
//! API (`POST /api/chat.postMessage`, `POST /api/chat.update`), validating as Slack does
//! (reference integrations.md §2.1, §2.2, §2.6, Appendix A):
//! - webhook: JSON that parses (`invalid_payload`), text/blocks/attachments present (`no_text`),
//!   at most 100 attachments (`too_many_attachments`); success is 200 `ok` as `text/html`;
//! - Web API: a Bearer `xoxb-` token (`not_authed`, `invalid_auth`), JSON or form content type
//!   (`missing_post_type`, `invalid_post_type`), a channel (`channel_not_found`), content
//!   (`no_text`), and for `chat.update` a known channel ID and `ts` (`message_not_found`);
//!   errors are HTTP 200 `{"ok":false,"error":..}`; a post answers the channel **ID** and a `ts`
//!   `"<unix>.<6 digits>"` unique per channel; more than three posts to one channel within a
//!   second answer 429 with `Retry-After: 1`.
//!
//! It keeps every message with its edits, and answers from a script (429, 5xx, 4xx, slow).
//!
//! Self-contained (uses only `super::script`) so the integration's unit tests include it too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use warp::Filter;

use super::script::{Script, Step, poll_until, reply};

/// The webhook path the fake serves (any path under `/services/` is accepted).
pub const WEBHOOK_PATH: &str = "/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The path.
    pub path: String,
    /// The parsed body (Null when it did not parse).
    pub body: Value,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// Slack's error code, when it answered one.
    pub error: Option<String>,
    /// When it arrived.
    pub at: tokio::time::Instant,
}

/// A message posted through the Web API, with its edits.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The channel ID.
    pub channel: String,
    /// Its `ts`.
    pub ts: String,
    /// The body of the post, then of each `chat.update`.
    pub versions: Vec<Value>,
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    /// Channel name -> ID.
    channels: BTreeMap<String, String>,
    /// Messages in post order.
    messages: Vec<Posted>,
    /// Recent posts per channel ID.
    recent: HashMap<String, VecDeque<tokio::time::Instant>>,
    /// Last ts counter.
    seq: u64,
}

/// The fake.
#[derive(Clone)]
pub struct FakeSlack {
    /// Its address.
    pub addr: SocketAddr,
    /// The bot token it accepts.
    pub token: String,
    state: Arc<Mutex<State>>,
    script: Arc<Script>,
}

/// Validates a webhook body: the plain-text error Slack answers, or None.
pub fn validate_webhook(body: &[u8]) -> Option<(u16, &'static str)> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Some((400, "invalid_payload"));
    };
    if !v.is_object() {
        return Some((400, "invalid_payload"));
    }
    let has = |k: &str| match v.get(k) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    if !has("text") && !has("blocks") && !has("attachments") {
        return Some((400, "no_text"));
    }
    if v.get("attachments")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 100)
    {
        return Some((400, "too_many_attachments"));
    }
    if let Some(a) = v.get("attachments") {
        let ok = a.as_array().is_some_and(|a| a.iter().all(Value::is_object));
        if !ok {
            return Some((400, "invalid_attachments"));
        }
    }
    None
}

/// Validates a Web API message body (after auth and content type): Slack's error code, or None.
pub fn validate_api(method: &str, v: &Value) -> Option<&'static str> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    if s("channel").is_empty() {
        return Some("channel_not_found");
    }
    let has = |k: &str| match v.get(k) {
        Some(Value::String(x)) => !x.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    if !has("text") && !has("blocks") && !has("attachments") && !has("markdown_text") {
        return Some("no_text");
    }
    if v.get("attachments")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 100)
    {
        return Some("too_many_attachments");
    }
    if s("text").chars().count() > 40_000 {
        return Some("msg_too_long");
    }
    if method == "chat.update" && s("ts").is_empty() {
        return Some("message_not_found");
    }
    None
}

impl FakeSlack {
    /// Starts it on the current tokio runtime; it accepts the bot token `xoxb-test-token`.
    pub async fn start() -> FakeSlack {
        let state = Arc::new(Mutex::new(State::default()));
        let script = Arc::new(Script::default());
        let token = "xoxb-test-token".to_owned();
        let (st, sc, tk) = (Arc::clone(&state), Arc::clone(&script), token.clone());
        let route =
            warp::method()
                .and(warp::path::full())
                .and(warp::header::optional::<String>("content-type"))
                .and(warp::header::optional::<String>("authorization"))
                .and(warp::body::bytes())
                .then(
                    move |method: warp::http::Method,
                          path: warp::path::FullPath,
                          ct: Option<String>,
                          auth: Option<String>,
                          body: bytes::Bytes| {
                        let (st, sc, tk) = (Arc::clone(&st), Arc::clone(&sc), tk.clone());
                        async move {
                            handle(&st, &sc, &tk, method, path.as_str(), ct, auth, &body).await
                        }
                    },
                );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        FakeSlack {
            addr,
            token,
            state,
            script,
        }
    }

    /// The incoming-webhook URL to configure (`api_url:`).
    pub fn webhook_url(&self) -> String {
        format!("http://{}{WEBHOOK_PATH}", self.addr)
    }

    /// The Web API URL to configure (`app_url:`).
    pub fn app_url(&self) -> String {
        format!("http://{}/api/chat.postMessage", self.addr)
    }

    /// Queues scripted answers for the next valid requests.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.script.push(steps);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests that succeeded.
    pub fn accepted(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.status == 200 && r.error.is_none())
            .collect()
    }

    /// Messages posted through the Web API, with their edits.
    pub fn messages(&self) -> Vec<Posted> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Waits until `n` requests succeeded.
    pub async fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Request> {
        let ok = poll_until(within, || self.accepted().len() >= n).await;
        assert!(
            ok,
            "expected {n} accepted Slack requests, got {:#?}",
            self.requests()
        );
        self.accepted()
    }
}

fn api_error(code: &str) -> (u16, String, Option<String>) {
    (
        200,
        json!({"ok": false, "error": code}).to_string(),
        Some(code.to_owned()),
    )
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    st: &Mutex<State>,
    script: &Script,
    token: &str,
    method: warp::http::Method,
    path: &str,
    ct: Option<String>,
    auth: Option<String>,
    body: &[u8],
) -> warp::reply::Response {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let webhook = path.starts_with("/services/");
    let api = path
        .strip_prefix("/api/")
        .filter(|m| *m == "chat.postMessage" || *m == "chat.update");
    let now = tokio::time::Instant::now();
    // (status, body, slack error code)
    let (mut status, mut text, mut error): (u16, String, Option<String>) =
        if method != warp::http::Method::POST {
            (405, String::new(), None)
        } else if webhook {
            match validate_webhook(body) {
                Some((code, e)) => (code, e.to_owned(), Some(e.to_owned())),
                None => (200, "ok".to_owned(), None),
            }
        } else if let Some(m) = api {
            let ct = ct.clone().unwrap_or_default();
            let bearer = auth.as_deref().and_then(|a| a.strip_prefix("Bearer "));
            if bearer.is_none() {
                api_error("not_authed")
            } else if bearer != Some(token) || !token.starts_with("xoxb-") {
                api_error("invalid_auth")
            } else if ct.is_empty() {
                api_error("missing_post_type")
            } else if !ct.starts_with("application/json")
                && !ct.starts_with("application/x-www-form-urlencoded")
            {
                api_error("invalid_post_type")
            } else if let Some(v) = parsed.as_ref().filter(|v| v.is_object()) {
                match validate_api(m, v) {
                    Some(e) => api_error(e),
                    None => (200, String::new(), None),
                }
            } else {
                api_error("invalid_json")
            }
        } else {
            (404, "no_service".to_owned(), Some("no_service".to_owned()))
        };
    let mut retry_after = None;
    let mut delay = None;
    if status == 200 && error.is_none() {
        let step = script.next();
        delay = step.delay;
        retry_after = step.retry_after;
        if let Some(code) = step.status {
            status = code;
            text = step.body.clone().unwrap_or_else(|| match code {
                429 => "rate_limited".to_owned(),
                404 => "channel_not_found".to_owned(),
                403 => "action_prohibited".to_owned(),
                410 => "channel_is_archived".to_owned(),
                400 => "invalid_payload".to_owned(),
                _ => "rollup_error".to_owned(),
            });
            error = Some(text.clone());
        } else if let Some(b) = step.body {
            // A scripted 200 body: `{"ok":false,...}` or a webhook text.
            error = serde_json::from_str::<Value>(&b)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .or_else(|| (webhook && b != "ok").then(|| b.clone()));
            text = b;
        } else if let Some(m) = api {
            let v = parsed.as_ref().unwrap();
            let mut s = st.lock().unwrap();
            let name = v["channel"].as_str().unwrap_or("").to_owned();
            let id = if name.starts_with('C')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                name.clone()
            } else {
                let next = format!("C{:08}", s.channels.len() + 1);
                s.channels
                    .entry(name.trim_start_matches('#').to_owned())
                    .or_insert(next)
                    .clone()
            };
            let q = s.recent.entry(id.clone()).or_default();
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                q.pop_front();
            }
            if m == "chat.postMessage" && q.len() >= 3 {
                status = 429;
                retry_after = Some(1);
                text = "rate_limited".to_owned();
                error = Some("rate_limited".to_owned());
            } else if m == "chat.postMessage" {
                q.push_back(now);
                s.seq += 1;
                let ts = format!("1700000000.{:06}", s.seq);
                s.messages.push(Posted {
                    channel: id.clone(),
                    ts: ts.clone(),
                    versions: vec![v.clone()],
                });
                text = json!({"ok": true, "channel": id, "ts": ts, "message": {"text": v["text"]}})
                    .to_string();
            } else {
                let ts = v["ts"].as_str().unwrap_or("").to_owned();
                match s
                    .messages
                    .iter_mut()
                    .find(|p| p.channel == name && p.ts == ts)
                {
                    Some(p) => {
                        p.versions.push(v.clone());
                        text = json!({"ok": true, "channel": name, "ts": ts, "text": v["text"]})
                            .to_string();
                    }
                    None => {
                        (status, text, error) = api_error("message_not_found");
                    }
                }
            }
        }
    }
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    st.lock().unwrap().requests.push(Request {
        path: path.to_owned(),
        body: parsed.unwrap_or(Value::Null),
        authorization: auth,
        status,
        error,
        at: now,
    });
    let ct = if api.is_some() && status == 200 {
        "application/json; charset=utf-8"
    } else {
        "text/html"
    };
    reply(status, ct, text, retry_after)
}
