//! `http_config.oauth2` (client credentials), end to end: the real binary fetches a token from a
//! token endpoint started here and sends the webhook with it; the token request (form body and
//! client authentication) equals the one Alertmanager 0.25 sends for the same config; a kept
//! token is reused until it is due for renewal; an endpoint that refuses basic auth gets the
//! credentials in the form, as Go's client falls back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use warp::Filter;

use crate::support::alertmanager::{Alertmanager, post_json};
use crate::support::daemon::Daemon;
use crate::support::fake_webhook::FakeWebhook;

/// One token request as the endpoint saw it.
#[derive(Debug, Clone, PartialEq)]
struct TokenRequest {
    content_type: String,
    authorization: Option<String>,
    form: BTreeMap<String, String>,
}

/// A token endpoint: answers `tok-<n>` for the n-th request it accepts.
#[derive(Clone)]
struct TokenServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<TokenRequest>>>,
}

impl TokenServer {
    /// `expires_in` for each token; with `refuse_basic`, a request authenticating with basic
    /// auth gets 401 (the credentials must come in the form).
    async fn start(expires_in: u64, refuse_basic: bool) -> TokenServer {
        let seen: Arc<Mutex<Vec<TokenRequest>>> = Arc::default();
        let s = Arc::clone(&seen);
        let route = warp::post()
            .and(warp::path("token"))
            .and(warp::header::optional::<String>("content-type"))
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::body::bytes())
            .map(
                move |ct: Option<String>, auth: Option<String>, body: bytes::Bytes| {
                    let form = parse_form(&body);
                    let mut seen = s.lock().unwrap();
                    seen.push(TokenRequest {
                        content_type: ct.unwrap_or_default(),
                        authorization: auth.clone(),
                        form: form.clone(),
                    });
                    let basic_ok = auth.as_deref()
                        == Some("Basic aWQrb25lOnMlMjZjcmV0") // id+one:s%26cret
                        && !refuse_basic;
                    let form_ok = auth.is_none()
                        && form.get("client_id").map(String::as_str) == Some("id one")
                        && form.get("client_secret").map(String::as_str) == Some("s&cret");
                    if !(basic_ok || form_ok) {
                        return warp::reply::with_status(
                            warp::reply::json(&json!({"error": "invalid_client"})),
                            warp::http::StatusCode::UNAUTHORIZED,
                        );
                    }
                    let n = seen
                        .iter()
                        .filter(|r| r.authorization.is_none() || !refuse_basic)
                        .count();
                    warp::reply::with_status(
                        warp::reply::json(&json!({
                            "access_token": format!("tok-{n}"),
                            "token_type": "bearer",
                            "expires_in": expires_in,
                        })),
                        warp::http::StatusCode::OK,
                    )
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        TokenServer { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    fn requests(&self) -> Vec<TokenRequest> {
        self.seen.lock().unwrap().clone()
    }
}

/// An `application/x-www-form-urlencoded` body as a map (`+` is a space, `%XX` a byte).
fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex escape"));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).expect("UTF-8 form")
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn config(hook: &FakeWebhook, token: &TokenServer) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
        http_config:
          oauth2:
            client_id: id one
            client_secret: s&cret
            scopes: [alerts.write, read]
            token_url: {token}
            endpoint_params: {{audience: https://hooks.example/}}
"#,
        hook = hook.url(),
        token = token.url(),
    )
}

fn alert(name: &str) -> serde_json::Value {
    json!([{"labels": {"alertname": name, "job": "node"}, "endsAt": "2099-01-01T00:00:00Z"}])
}

async fn wait_hook(hook: &FakeWebhook, n: usize) -> Vec<Option<String>> {
    hook.wait_for(n, Duration::from_secs(30))
        .await
        .iter()
        .map(|r| r.authorization.clone())
        .collect()
}

#[tokio::test]
async fn the_token_request_equals_alertmanagers_and_the_token_is_kept() {
    let (hook, token) = (
        FakeWebhook::start().await,
        TokenServer::start(3600, false).await,
    );
    let t = Daemon::start(&config(&hook, &token));
    post_json(&t.url("/api/v2/alerts"), &alert("First")).await;
    assert_eq!(wait_hook(&hook, 1).await, [Some("Bearer tok-1".to_owned())]);
    // A second group: the kept token, no new request.
    post_json(&t.url("/api/v2/alerts"), &alert("Second")).await;
    assert_eq!(
        wait_hook(&hook, 2).await,
        [
            Some("Bearer tok-1".to_owned()),
            Some("Bearer tok-1".to_owned())
        ]
    );
    let ours = token.requests();
    assert_eq!(ours.len(), 1, "{ours:#?}");
    let want: BTreeMap<String, String> = [
        ("audience", "https://hooks.example/"),
        ("grant_type", "client_credentials"),
        ("scope", "alerts.write read"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(ours[0].form, want);
    assert_eq!(ours[0].content_type, "application/x-www-form-urlencoded");

    // Alertmanager 0.25, same config against its own endpoint and receiver: the same request.
    let (am_hook, am_token) = (
        FakeWebhook::start().await,
        TokenServer::start(3600, false).await,
    );
    let Some(am) = Alertmanager::start(&config(&am_hook, &am_token)).await else {
        return;
    };
    post_json(&am.url("/api/v2/alerts"), &alert("First")).await;
    assert_eq!(
        wait_hook(&am_hook, 1).await,
        [Some("Bearer tok-1".to_owned())]
    );
    assert_eq!(am_token.requests(), ours, "Alertmanager's token request");
    // The secret is in no log line.
    assert!(!t.log_text().contains("s&cret"));
}

#[tokio::test]
async fn a_token_due_for_renewal_is_fetched_again() {
    // expires_in 10 s is within the 10 s renewal margin: every request fetches anew.
    let (hook, token) = (
        FakeWebhook::start().await,
        TokenServer::start(10, false).await,
    );
    let t = Daemon::start(&config(&hook, &token));
    post_json(&t.url("/api/v2/alerts"), &alert("First")).await;
    wait_hook(&hook, 1).await;
    post_json(&t.url("/api/v2/alerts"), &alert("Second")).await;
    let auth = wait_hook(&hook, 2).await;
    assert_eq!(token.requests().len(), 2);
    let mut auth: Vec<String> = auth.into_iter().flatten().collect();
    auth.sort();
    assert_eq!(auth, ["Bearer tok-1", "Bearer tok-2"]);
}

#[tokio::test]
async fn an_endpoint_refusing_basic_auth_gets_the_credentials_in_the_form() {
    let (hook, token) = (
        FakeWebhook::start().await,
        TokenServer::start(3600, true).await,
    );
    let t = Daemon::start(&config(&hook, &token));
    post_json(&t.url("/api/v2/alerts"), &alert("First")).await;
    assert_eq!(wait_hook(&hook, 1).await, [Some("Bearer tok-1".to_owned())]);
    post_json(&t.url("/api/v2/alerts"), &alert("Second")).await;
    wait_hook(&hook, 2).await;
    let reqs = token.requests();
    // Basic auth refused once, then the form; the token is kept for the second group.
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    assert!(reqs[0].authorization.is_some() && !reqs[0].form.contains_key("client_id"));
    assert_eq!(reqs[1].authorization, None);
    assert_eq!(
        reqs[1].form.get("client_id").map(String::as_str),
        Some("id one")
    );
}
