//! A fake webhook receiver on 127.0.0.1:0 that checks requests the way a strict receiver would
//! (POST, JSON content type, a body that parses), records them, and answers from a script
//! (`429` with `Retry-After`, `5xx`, or 200).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warp::Filter;
use warp::http::StatusCode;

/// One received notification.
#[derive(Debug, Clone)]
pub struct Received {
    /// The parsed body.
    pub body: serde_json::Value,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// When it arrived (tokio clock).
    pub at: tokio::time::Instant,
    /// The status answered (0: never answered).
    pub status: u16,
}

/// A scripted answer.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// Status code; [`Answer::HANG`] keeps the connection open and never answers.
    pub status: u16,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
}

impl Answer {
    /// The status that means "never answer" (the request is recorded, the connection held).
    pub const HANG: u16 = 0;
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<Answer>,
    rejected: Vec<String>,
    /// How long each answer is held back (a slow receiver).
    delay: Duration,
}

/// The gate of [`FakeWebhook::hold_answers`]: true while answers are held.
type Gate = tokio::sync::watch::Sender<bool>;

/// The fake receiver.
#[derive(Clone)]
pub struct FakeWebhook {
    /// Its address.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    /// Closed by [`FakeWebhook::hold_answers`], opened by [`FakeWebhook::release_answers`].
    gate: Arc<Gate>,
}

impl FakeWebhook {
    /// Starts it on the current tokio runtime.
    pub async fn start() -> FakeWebhook {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let state = Arc::clone(&inner);
        let gate = Arc::new(tokio::sync::watch::channel(false).0);
        let held = Arc::clone(&gate);
        let route = warp::post()
            .and(warp::header::optional::<String>("content-type"))
            .and(warp::header::optional::<String>("user-agent"))
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::body::bytes())
            .map(
                move |ct: Option<String>,
                      ua: Option<String>,
                      auth: Option<String>,
                      body: bytes::Bytes| {
                    let mut st = state.lock().unwrap();
                    let delay = st.delay;
                    let reply = |r: Option<warp::reply::Response>| (r, delay);
                    if ct.as_deref() != Some("application/json") {
                        st.rejected.push(format!("content-type {ct:?}"));
                        return reply(Some(
                            warp::reply::with_status("bad content type", StatusCode::BAD_REQUEST)
                                .into_response(),
                        ));
                    }
                    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&body) else {
                        st.rejected.push("body is not JSON".into());
                        return reply(Some(
                            warp::reply::with_status("bad json", StatusCode::BAD_REQUEST)
                                .into_response(),
                        ));
                    };
                    let answer = st.script.pop_front().unwrap_or(Answer {
                        status: 200,
                        retry_after: None,
                    });
                    st.received.push(Received {
                        body,
                        user_agent: ua.unwrap_or_default(),
                        authorization: auth,
                        at: tokio::time::Instant::now(),
                        status: answer.status,
                    });
                    if answer.status == Answer::HANG {
                        return reply(None);
                    }
                    let mut resp = warp::reply::with_status(
                        "ok",
                        StatusCode::from_u16(answer.status).unwrap(),
                    )
                    .into_response();
                    if let Some(s) = answer.retry_after {
                        resp.headers_mut()
                            .insert("retry-after", s.to_string().parse().unwrap());
                    }
                    reply(Some(resp))
                },
            )
            .then(
                move |(resp, delay): (Option<warp::reply::Response>, Duration)| {
                    let mut gate = held.subscribe();
                    async move {
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        // Held answers wait for the release (the sender may be gone by then).
                        let _ = gate.wait_for(|held| !*held).await;
                        match resp {
                            Some(r) => r,
                            None => std::future::pending().await,
                        }
                    }
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        FakeWebhook { addr, inner, gate }
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Queues scripted answers (used in order, then 200).
    pub fn script(&self, answers: &[Answer]) {
        self.inner
            .lock()
            .unwrap()
            .script
            .extend(answers.iter().copied());
    }

    /// Holds every answer back this long from now on (a slow receiver); zero: answer at once.
    pub fn set_delay(&self, delay: Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    /// Holds every answer not given yet until
    /// [`FakeWebhook::release_answers`] (a receiver that takes as long as the test needs).
    pub fn hold_answers(&self) {
        self.gate.send_replace(true);
    }

    /// Answers the held requests and stops holding.
    pub fn release_answers(&self) {
        self.gate.send_replace(false);
    }

    /// Drops the scripted answers not used yet (every later request gets 200).
    pub fn clear_script(&self) {
        self.inner.lock().unwrap().script.clear();
    }

    /// Everything received so far (including requests answered with an error).
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Requests that failed validation.
    pub fn rejected(&self) -> Vec<String> {
        self.inner.lock().unwrap().rejected.clone()
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let ok = super::daemon::eventually(within, || self.received().len() >= n).await;
        assert!(
            ok,
            "expected {n} webhook requests, got {:?}",
            self.received()
        );
        self.received()
    }
}

use warp::Reply as _;
