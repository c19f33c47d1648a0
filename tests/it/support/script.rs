//! Scripted answers shared by the strict fakes: each request that passes validation takes the
//! next scripted answer (or the service's normal success when the script is empty), so a test can
//! make a fake answer 429 with `Retry-After`, a 5xx, a 4xx, or answer slowly.
//!
//! Self-contained (std, tokio, warp only) so the integrations' unit tests include it too.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// One scripted answer.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// Status code; None answers as the service normally does.
    pub status: Option<u16>,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
    /// The body (the service's usual one when None).
    pub body: Option<String>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Step {
    /// Answer with `status` and the service's usual body for it.
    pub fn status(status: u16) -> Step {
        Step {
            status: Some(status),
            ..Step::default()
        }
    }

    /// 429 with `Retry-After: secs`.
    pub fn rate_limited(secs: u64) -> Step {
        Step {
            status: Some(429),
            retry_after: Some(secs),
            ..Step::default()
        }
    }

    /// The normal answer, after `delay`.
    pub fn slow(delay: Duration) -> Step {
        Step {
            delay: Some(delay),
            ..Step::default()
        }
    }

    /// With this body.
    pub fn body(mut self, body: &str) -> Step {
        self.body = Some(body.to_owned());
        self
    }
}

/// A queue of steps.
#[derive(Debug, Default)]
pub struct Script(Mutex<VecDeque<Step>>);

impl Script {
    /// Appends steps.
    pub fn push(&self, steps: impl IntoIterator<Item = Step>) {
        self.0.lock().unwrap().extend(steps);
    }

    /// The next step (the default one when the script is empty).
    pub fn next(&self) -> Step {
        self.0.lock().unwrap().pop_front().unwrap_or_default()
    }
}

/// Polls `cond` every 10 ms until it holds or `within` passes.
pub async fn poll_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// Builds a reply.
pub fn reply(
    status: u16,
    content_type: &str,
    body: String,
    retry_after: Option<u64>,
) -> warp::reply::Response {
    let mut resp = warp::http::Response::builder()
        .status(status)
        .header("content-type", content_type);
    if let Some(s) = retry_after {
        resp = resp.header("retry-after", s.to_string());
    }
    resp.body(body.into()).unwrap()
}
