//! A strict fake of PagerDuty's Events API (v2 `/v2/enqueue` and v1
//! `/generic/2010-04-15/create_event.json`) on 127.0.0.1:0. It validates every request the way
//! PagerDuty does (reference integrations.md §1.2, §1.4, §1.6, §1.8, Appendix A): method, path,
//! JSON, key lengths, enums, required fields, lengths, HTTPS images, the 512 KB limit, and
//! answers with PagerDuty's bodies (`202 {status,message,dedup_key}`, `400 {status:"invalid
//! event",message,errors[]}`, an empty 429). It keeps incidents per (key, dedup key): a trigger
//! opens or updates, a resolve closes, a resolve for an unknown or closed incident is accepted
//! and dropped. It counts events per key against the 120/minute limit, and answers from a
//! script (429 + `Retry-After`, 5xx, 400, slow).
//!
//! Self-contained (uses only `super::script`) so the integration's unit tests include it too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use warp::Filter;

use super::script::{Script, Step, poll_until, reply};

/// The v2 path.
pub const V2_PATH: &str = "/v2/enqueue";
/// The v1 path.
pub const V1_PATH: &str = "/generic/2010-04-15/create_event.json";
/// PagerDuty's documented limit per integration key.
pub const EVENTS_PER_MINUTE: usize = 120;

/// One request the fake received (valid or not).
#[derive(Debug, Clone)]
pub struct Event {
    /// The request path.
    pub path: String,
    /// The parsed body (Null when it did not parse).
    pub body: Value,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The status the fake answered.
    pub status: u16,
    /// The validation errors (empty for a valid event).
    pub errors: Vec<String>,
    /// When it arrived.
    pub at: tokio::time::Instant,
}

/// The state of one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Open (triggered) or resolved.
    pub open: bool,
    /// How many triggers it received.
    pub triggers: usize,
    /// How many resolves it received while open.
    pub resolves: usize,
    /// The summary (v2) or description (v1) of the last trigger.
    pub summary: String,
}

#[derive(Default)]
struct State {
    events: Vec<Event>,
    /// (integration key, dedup key) -> incident; a resolved incident is re-opened as a new one.
    incidents: BTreeMap<(String, String), Vec<Incident>>,
    /// Accepted events per key, for the rate limit.
    recent: HashMap<String, VecDeque<tokio::time::Instant>>,
}

/// The fake.
#[derive(Clone)]
pub struct FakePagerDuty {
    /// Its address.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    script: Arc<Script>,
}

fn invalid(errors: &[String]) -> (u16, String) {
    let body =
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors});
    (400, body.to_string())
}

fn str_field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// Validates a v2 event; returns the errors PagerDuty would list.
pub fn validate_v2(v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    if !v.is_object() {
        return vec!["Event object is not a JSON object".into()];
    }
    match str_field(v, &["routing_key"]) {
        None | Some("") => errs.push("'routing_key' cannot be blank".into()),
        Some(k) if k.chars().count() != 32 => {
            errs.push("Length of 'routing_key' is incorrect (should be 32 characters)".into())
        }
        _ => {}
    }
    let action = str_field(v, &["event_action"]).unwrap_or("");
    match action {
        "" => errs.push("'event_action' is missing or blank".into()),
        "trigger" | "acknowledge" | "resolve" => {}
        _ => errs.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')".into()),
    }
    if let Some(d) = v.get("dedup_key") {
        match d.as_str() {
            Some(d) if d.chars().count() > 255 => {
                errs.push("'dedup_key' is too long (must be 255 characters or less)".into())
            }
            Some(_) => {}
            None => errs.push("'dedup_key' must be a string".into()),
        }
    } else if action != "trigger" {
        errs.push("'dedup_key' is missing or blank".into());
    }
    if action == "trigger" {
        let Some(p) = v.get("payload").filter(|p| p.is_object()) else {
            errs.push("'payload' is missing or blank".into());
            return errs;
        };
        match str_field(p, &["summary"]) {
            None | Some("") => errs.push("'payload.summary' is missing or blank".into()),
            Some(s) if s.chars().count() > 1024 => {
                errs.push("'payload.summary' is too long (must be 1024 characters or less)".into())
            }
            _ => {}
        }
        if str_field(p, &["source"]).unwrap_or("").is_empty() {
            errs.push("'payload.source' is missing or blank".into());
        }
        match str_field(p, &["severity"]) {
            Some("critical" | "error" | "warning" | "info") => {}
            None | Some("") => errs.push("'payload.severity' is missing or blank".into()),
            Some(_) => errs.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')".into()),
        }
        for k in ["class", "component", "group"] {
            if p.get(k).is_some_and(|x| !x.is_string()) {
                errs.push(format!("'payload.{k}' must be a string"));
            }
        }
        if p.get("custom_details").is_some_and(|x| !x.is_object()) {
            errs.push("'payload.custom_details' must be an object".into());
        }
        if p.get("timestamp").is_some_and(|x| !x.is_string()) {
            errs.push("'payload.timestamp' is invalid".into());
        }
    }
    if let Some(images) = v.get("images") {
        for (i, im) in images
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            match str_field(im, &["src"]) {
                Some(s) if s.starts_with("https://") => {}
                Some(_) => errs.push(format!("'images[{i}].src' must be an HTTPS URL")),
                None => errs.push(format!("'images[{i}].src' is missing or blank")),
            }
        }
        if !images.is_array() {
            errs.push("'images' must be an array".into());
        }
    }
    if let Some(links) = v.get("links") {
        for (i, l) in links
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            if str_field(l, &["href"]).unwrap_or("").is_empty() {
                errs.push(format!("'links[{i}].href' is missing or blank"));
            }
        }
        if !links.is_array() {
            errs.push("'links' must be an array".into());
        }
    }
    for k in ["client", "client_url"] {
        if v.get(k).is_some_and(|x| !x.is_string()) {
            errs.push(format!("'{k}' must be a string"));
        }
    }
    errs
}

/// Validates a v1 event.
pub fn validate_v1(v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    match str_field(v, &["service_key"]) {
        None | Some("") => errs.push("service_key is missing or blank".into()),
        Some(k) if k.len() != 32 => {
            errs.push("Length of 'service_key' is incorrect (should be 32 characters)".into())
        }
        _ => {}
    }
    let ty = str_field(v, &["event_type"]).unwrap_or("");
    if !matches!(ty, "trigger" | "acknowledge" | "resolve") {
        errs.push("event_type is invalid (must be one of: trigger acknowledge resolve)".into());
    }
    let key = str_field(v, &["incident_key"]).unwrap_or("");
    if ty != "trigger" && key.is_empty() {
        errs.push("incident_key is required for acknowledge and resolve events".into());
    }
    if key.chars().count() > 255 {
        errs.push("incident_key is too long (must be 255 characters or less)".into());
    }
    let desc = str_field(v, &["description"]).unwrap_or("");
    if ty == "trigger" && desc.is_empty() {
        errs.push("description is missing or blank".into());
    }
    if desc.chars().count() > 1024 {
        errs.push("description is too long (must be 1024 characters or less)".into());
    }
    if v.get("details").is_some_and(|d| !d.is_object()) {
        errs.push("details must be an object".into());
    }
    errs
}

impl FakePagerDuty {
    /// Starts it on the current tokio runtime.
    pub async fn start() -> FakePagerDuty {
        let state = Arc::new(Mutex::new(State::default()));
        let script = Arc::new(Script::default());
        let (st, sc) = (Arc::clone(&state), Arc::clone(&script));
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::header::optional::<String>("content-type"))
            .and(warp::header::optional::<String>("user-agent"))
            .and(warp::body::bytes())
            .then(
                move |method: warp::http::Method,
                      path: warp::path::FullPath,
                      ct: Option<String>,
                      ua: Option<String>,
                      body: bytes::Bytes| {
                    let (st, sc) = (Arc::clone(&st), Arc::clone(&sc));
                    async move { handle(&st, &sc, method, path.as_str(), ct, ua, &body).await }
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        FakePagerDuty {
            addr,
            state,
            script,
        }
    }

    /// The v2 URL to configure (`url:`).
    pub fn url(&self) -> String {
        format!("http://{}{V2_PATH}", self.addr)
    }

    /// Queues scripted answers for the next valid events.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.script.push(steps);
    }

    /// Every request received, in order.
    pub fn events(&self) -> Vec<Event> {
        self.state.lock().unwrap().events.clone()
    }

    /// The valid events that were accepted (2xx).
    pub fn accepted(&self) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| (200..300).contains(&e.status))
            .collect()
    }

    /// Incidents by (integration key, dedup key); a key re-triggered after its resolve has a
    /// second incident.
    pub fn incidents(&self) -> BTreeMap<(String, String), Vec<Incident>> {
        self.state.lock().unwrap().incidents.clone()
    }

    /// Waits until `n` events were accepted.
    pub async fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Event> {
        let ok = poll_until(within, || self.accepted().len() >= n).await;
        assert!(
            ok,
            "expected {n} accepted PagerDuty events, got {:#?}",
            self.events()
        );
        self.accepted()
    }

    /// Waits until `n` requests arrived (valid or not).
    pub async fn wait_events(&self, n: usize, within: Duration) -> Vec<Event> {
        let ok = poll_until(within, || self.events().len() >= n).await;
        assert!(
            ok,
            "expected {n} PagerDuty requests, got {:#?}",
            self.events()
        );
        self.events()
    }
}

async fn handle(
    st: &Mutex<State>,
    script: &Script,
    method: warp::http::Method,
    path: &str,
    ct: Option<String>,
    ua: Option<String>,
    body: &[u8],
) -> warp::reply::Response {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let v1 = path == V1_PATH;
    let mut errors = Vec::new();
    let (mut status, mut text) = if method != warp::http::Method::POST {
        (405, String::new())
    } else if path != V2_PATH && !v1 {
        (404, "Not found".to_owned())
    } else if !ct.as_deref().unwrap_or("").starts_with("application/json") {
        errors.push("Content-Type must be application/json".to_owned());
        invalid(&errors)
    } else if body.len() > 512 * 1024 {
        errors.push("Event object exceeds the maximum size of 512 KB".to_owned());
        invalid(&errors)
    } else if let Some(v) = &parsed {
        errors = if v1 { validate_v1(v) } else { validate_v2(v) };
        if errors.is_empty() {
            (if v1 { 200 } else { 202 }, String::new())
        } else {
            invalid(&errors)
        }
    } else {
        errors.push("Malformed JSON".to_owned());
        invalid(&errors)
    };
    let mut retry_after = None;
    let mut delay = None;
    if errors.is_empty() && (200..300).contains(&status) {
        let step = script.next();
        delay = step.delay;
        retry_after = step.retry_after;
        let v = parsed.as_ref().unwrap();
        let key_name = if v1 { "service_key" } else { "routing_key" };
        let key = str_field(v, &[key_name]).unwrap_or("").to_owned();
        let limited = {
            let mut s = st.lock().unwrap();
            let now = tokio::time::Instant::now();
            let q = s.recent.entry(key.clone()).or_default();
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
            {
                q.pop_front();
            }
            q.len() >= EVENTS_PER_MINUTE
        };
        if let Some(code) = step.status {
            status = code;
            text = step.body.clone().unwrap_or_else(|| match code {
                400 => invalid(&["Scripted rejection".to_owned()]).1,
                429 | 403 => String::new(),
                _ => json!({"status": "error", "message": "internal error"}).to_string(),
            });
            if code == 400 {
                errors.push("scripted 400".into());
            }
        } else if limited {
            status = if v1 { 403 } else { 429 };
            retry_after = Some(60);
        } else {
            let action_field = if v1 { "event_type" } else { "event_action" };
            let action = str_field(v, &[action_field]).unwrap_or("").to_owned();
            let dedup_field = if v1 { "incident_key" } else { "dedup_key" };
            let dedup = str_field(v, &[dedup_field]).unwrap_or("").to_owned();
            let summary = if v1 {
                str_field(v, &["description"])
            } else {
                str_field(v, &["payload", "summary"])
            }
            .unwrap_or("")
            .to_owned();
            let mut s = st.lock().unwrap();
            s.recent
                .entry(key.clone())
                .or_default()
                .push_back(tokio::time::Instant::now());
            let list = s.incidents.entry((key, dedup.clone())).or_default();
            let open = list.last_mut().filter(|i| i.open);
            match (action.as_str(), open) {
                ("trigger", Some(i)) => {
                    i.triggers += 1;
                    i.summary = summary;
                }
                ("trigger", None) => list.push(Incident {
                    open: true,
                    triggers: 1,
                    resolves: 0,
                    summary,
                }),
                ("resolve", Some(i)) => {
                    i.open = false;
                    i.resolves += 1;
                }
                // A resolve or acknowledge for an unknown or closed incident: dropped silently.
                _ => {}
            }
            if list.is_empty() {
                s.incidents.remove(&(
                    str_field(v, &[key_name]).unwrap_or("").to_owned(),
                    dedup.clone(),
                ));
            }
            text = if v1 {
                json!({"status": "success", "message": "Event processed", "incident_key": dedup})
            } else {
                json!({"status": "success", "message": "Event processed", "dedup_key": dedup})
            }
            .to_string();
        }
    }
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    st.lock().unwrap().events.push(Event {
        path: path.to_owned(),
        body: parsed.unwrap_or(Value::Null),
        user_agent: ua.unwrap_or_default(),
        status,
        errors,
        at: tokio::time::Instant::now(),
    });
    reply(status, "application/json", text, retry_after)
}
