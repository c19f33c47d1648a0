//! Shared HTTP plumbing for integrations: the client built from an `http_config`, and the
//! classification of an answer into success, retry (with `Retry-After`) or permanent failure.

use std::time::Duration;

use jiff::Timestamp;

use super::retry::parse_retry_after;
use super::{FailureReason, NotifyError};
use crate::config::HttpConfig;

/// The `User-Agent` of every notification request.
pub const USER_AGENT: &str = concat!("tocsin/", env!("CARGO_PKG_VERSION"));

/// Builds a client for one integration from its (global-merged) `http_config`.
pub fn build_client(http: &HttpConfig) -> Result<reqwest::Client, String> {
    let redirects = if http.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(redirects)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| format!("building HTTP client: {e}"))
}

/// Reads at most this much of an error body for the log.
const BODY_SNIPPET: usize = 512;

/// Turns a response into `Ok` (2xx) or a `NotifyError` saying whether to retry and when.
pub async fn classify(resp: reqwest::Response, now: Timestamp) -> Result<(), NotifyError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    let body = resp.text().await.unwrap_or_default();
    let snippet: String = body.chars().take(BODY_SNIPPET).collect();
    let code = status.as_u16();
    let (retry, reason) = match code {
        429 => (true, FailureReason::RateLimited),
        500..=599 => (true, FailureReason::ServerError),
        401 | 403 => (false, FailureReason::AuthError),
        _ => (false, FailureReason::ClientError),
    };
    Err(NotifyError {
        retry,
        retry_after,
        reason,
        message: format!("unexpected status code {code}: {}", snippet.trim()),
    })
}

/// A transport error (connect, TLS, timeout): retryable.
pub fn transport_error(e: reqwest::Error) -> NotifyError {
    let reason = if e.is_timeout() {
        FailureReason::DeadlineExceeded
    } else {
        FailureReason::Other
    };
    // reqwest's Display includes the URL, which may hold a secret token: strip it.
    NotifyError {
        retry: true,
        retry_after: None,
        reason,
        message: e.without_url().to_string(),
    }
}
