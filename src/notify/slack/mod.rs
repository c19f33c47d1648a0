//! Slack: incoming webhooks (`api_url`), or the Web API with a bot token (`app_token`, posting to
//! `app_url`, default `chat.postMessage`).
//!
//! - Webhook: success is a 2xx whose body is `ok` (or a JSON body with `"ok":true`).
//! - Web API (a bot token in `app_token`, or Alertmanager 0.32's form: `api_url` set to
//!   `chat.postMessage` with the token in `http_config.authorization`): HTTP 200 with
//!   `{"ok":false,"error":..}` is a failure. With `update_message: true`
//!   the first message of a group is posted, its channel ID and `ts` are kept with the group's
//!   notification log entry, and later notifications of the group (changes, repeats, the resolve)
//!   edit that message with `chat.update` (the `app_url` with its last path segment replaced).
//!   A message that can no longer be edited (`message_not_found`, `cant_update_message`,
//!   `edit_window_closed`) is posted anew. With `post_updates_to_thread: true` later
//!   notifications are posted as replies in the first message's thread (after editing it, when
//!   `update_message` is set too). After an all-resolved notification, a group that fires again
//!   starts a new message.
//! - 429 (and `ratelimited`) is retried after `Retry-After`, as are 5xx and Slack's transient
//!   errors (Alertmanager gives up on 429); other errors are permanent. Every error names the
//!   channel, never the webhook URL or the token.

pub mod payload;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::data::NotificationData;
use super::dedup::Reason;
use super::error::{BuildCause, FailureReason, NotifyError};
use super::http::{RequestAuth, reason_for, retry_after, transport_error};
use super::integration::{BuildEnv, Sent};
use super::ratelimit::{self, Limiter};
use super::tmpl::Renderer;
use super::value::ValueSource;
use crate::config::{Secret, SlackConfig};
use crate::nflog::ReceiverData;
use crate::template::Templates;
use payload::{Fields, Message};

/// The `receiver_data` key of the posted message's channel ID.
pub const DATA_CHANNEL: &str = "slack_channel";
/// The `receiver_data` key of the posted message's `ts`.
pub const DATA_TS: &str = "slack_ts";

/// How messages reach Slack.
enum Mode {
    /// An incoming webhook: the URL is the secret.
    Webhook {
        /// The webhook URL.
        url: ValueSource,
    },
    /// The Web API: a bot token, or `api_url` set to `chat.postMessage` with the token in
    /// `http_config`.
    Bot {
        /// The token (`xoxb-...`); None when `http_config` carries it.
        token: Option<ValueSource>,
        /// `chat.postMessage`'s URL (`app_url`, or `api_url`).
        post_url: ValueSource,
        /// Whether later notifications of a group edit its first message.
        update_message: bool,
        /// Whether later notifications of a group are posted as replies in its first message's
        /// thread.
        thread: bool,
    },
}

/// A configured Slack destination.
pub struct Slack {
    /// Webhook or bot.
    mode: Mode,
    /// The templated fields.
    fields: Fields,
    /// The template set the fields render against.
    templates: Arc<Templates>,
    /// The HTTP client from `http_config`.
    client: reqwest::Client,
    /// Authentication and extra headers from `http_config`.
    auth: RequestAuth,
    /// Per-request timeout (none when zero).
    timeout: Option<Duration>,
    /// Messages per channel (default one per second, bursts of three).
    limit: Limiter,
}

/// Slack's JSON answer.
#[derive(Deserialize, Default)]
struct ApiAnswer {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    error: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    ts: String,
}

/// A failed call: the error, and Slack's error code when it answered one.
struct Failure {
    err: NotifyError,
    code: Option<String>,
}

impl From<NotifyError> for Failure {
    fn from(err: NotifyError) -> Self {
        Failure { err, code: None }
    }
}

/// Slack error codes worth another try.
fn transient(code: &str) -> bool {
    matches!(
        code,
        "ratelimited"
            | "rate_limited"
            | "internal_error"
            | "fatal_error"
            | "service_unavailable"
            | "request_timeout"
    )
}

/// Slack error codes about the token.
fn auth_code(code: &str) -> bool {
    matches!(
        code,
        "not_authed"
            | "invalid_auth"
            | "token_revoked"
            | "token_expired"
            | "account_inactive"
            | "missing_scope"
            | "no_permission"
    )
}

impl Slack {
    /// Builds the integration from its config.
    pub fn new(c: &SlackConfig, env: &BuildEnv<'_>) -> Result<Self, BuildCause> {
        let token = ValueSource::from_config(
            c.app_token.as_ref(),
            c.app_token_file.as_deref(),
            "app_token_file",
        );
        let url = ValueSource::from_config(
            c.api_url.as_ref(),
            c.api_url_file.as_deref(),
            "api_url_file",
        );
        let web_api = |post_url: ValueSource, token: Option<ValueSource>| Mode::Bot {
            token,
            post_url,
            update_message: c.update_message,
            thread: c.post_updates_to_thread,
        };
        let mode = match (token, url) {
            (Some(token), _) => {
                let post_url = c
                    .app_url
                    .clone()
                    .unwrap_or_else(|| crate::config::DEFAULT_SLACK_APP_URL.to_owned());
                update_url(&post_url)?;
                web_api(ValueSource::Inline(Secret::new(post_url)), Some(token))
            }
            // Alertmanager 0.32's other bot form: api_url is chat.postMessage itself.
            (None, Some(ValueSource::Inline(u))) if is_post_message(u.expose()) => {
                update_url(u.expose())?;
                web_api(ValueSource::Inline(u), None)
            }
            (None, Some(url)) => Mode::Webhook { url },
            (None, None) => {
                return Err(BuildCause::Missing(
                    "slack_config needs api_url or app_token",
                ));
            }
        };
        Ok(Slack {
            mode,
            fields: Fields::parse(c, env.templates)?,
            templates: Arc::clone(env.templates),
            client: env.clients.client(&c.http_config)?,
            auth: RequestAuth::new(&c.http_config),
            timeout: (!c.timeout.is_zero()).then(|| c.timeout.std()),
            limit: Limiter::new(
                "slack",
                c.rate_limit.as_ref(),
                Some(ratelimit::SLACK),
                env.metrics,
            ),
        })
    }

    /// Sends one message (or edits the group's message).
    pub async fn notify(&self, data: &NotificationData) -> Result<Sent, NotifyError> {
        let r = Renderer::new(&self.templates, data);
        let built = payload::build(&self.fields, &r)?;
        if built.title_truncated {
            tracing::warn!(receiver = %data.receiver, max_runes = payload::MAX_TITLE_RUNES, "Truncated the Slack title.");
        }
        let msg = built.message;
        let channel = msg.channel.clone();
        self.limit.acquire(&channel).await?;
        let named = |f: Failure| NotifyError {
            message: format!("channel {channel:?}: {}", f.err.message),
            ..f.err
        };
        match &self.mode {
            Mode::Webhook { url } => {
                let url = url.read().await?;
                self.call(&url, None, &msg, data).await.map_err(named)?;
                Ok(Sent::default())
            }
            Mode::Bot {
                token,
                post_url,
                update_message,
                thread,
            } => {
                let token = match token {
                    Some(t) => Some(t.read().await?),
                    None => None,
                };
                let post_url = post_url.read().await?;
                let previous = (
                    data.receiver_data.get(DATA_CHANNEL),
                    data.receiver_data.get(DATA_TS),
                );
                let later = data.reason != Reason::FirstNotification.as_str();
                if let (true, Some(ch), Some(ts)) = (later, previous.0, previous.1) {
                    if *update_message {
                        let mut edit = msg.clone();
                        edit.channel.clone_from(ch);
                        edit.ts.clone_from(ts);
                        let url = Secret::new(update_url(post_url.expose()).map_err(|_| {
                            NotifyError::permanent(FailureReason::Other, "app_url is not a URL")
                        })?);
                        match self.call(&url, token.as_ref(), &edit, data).await {
                            Ok(_) if !*thread => return Ok(kept_as(ch, ts)),
                            Ok(_) => {}
                            Err(Failure {
                                code: Some(code), ..
                            }) if !*thread
                                && matches!(
                                    code.as_str(),
                                    "message_not_found"
                                        | "cant_update_message"
                                        | "edit_window_closed"
                                ) =>
                            {
                                tracing::warn!(receiver = %data.receiver, error = %code, "The Slack message cannot be edited; posting a new one.");
                                let a = self
                                    .call(&post_url, token.as_ref(), &msg, data)
                                    .await
                                    .map_err(named)?;
                                return Ok(kept(&a, &a.channel, &a.ts));
                            }
                            Err(f) => return Err(named(f)),
                        }
                    }
                    if *thread {
                        let mut reply = msg.clone();
                        reply.channel.clone_from(ch);
                        reply.thread_ts.clone_from(ts);
                        self.call(&post_url, token.as_ref(), &reply, data)
                            .await
                            .map_err(named)?;
                        return Ok(kept_as(ch, ts));
                    }
                }
                let a = self
                    .call(&post_url, token.as_ref(), &msg, data)
                    .await
                    .map_err(named)?;
                if *update_message || *thread {
                    Ok(kept(&a, &a.channel, &a.ts))
                } else {
                    Ok(Sent::default())
                }
            }
        }
    }

    /// One POST of `msg`; the token, when given, as `Authorization: Bearer`.
    async fn call(
        &self,
        url: &Secret<String>,
        token: Option<&Secret<String>>,
        msg: &Message,
        data: &NotificationData,
    ) -> Result<ApiAnswer, Failure> {
        let body = serde_json::to_vec(msg).map_err(|e| NotifyError::payload("the message", e))?;
        let mut req = self
            .client
            .post(url.expose())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body);
        req = self.auth.apply(req).await?;
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        req = req.timeout(self.timeout.unwrap_or(data.timeout));
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let wait = retry_after(&resp, data.now);
        let json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let text = resp.text().await.unwrap_or_default();
        let snippet: String = text.chars().take(512).collect();
        if !(200..300).contains(&status) {
            let message = format!("unexpected status code {status}: {}", snippet.trim());
            let reason = reason_for(status);
            let err = if status == 429 || status >= 500 {
                NotifyError::retryable(reason, message)
            } else {
                NotifyError::permanent(reason, message)
            };
            return Err(err.with_retry_after(wait).into());
        }
        if !json {
            return if text == "ok" {
                Ok(ApiAnswer::default())
            } else {
                Err(NotifyError::permanent(
                    FailureReason::ClientError,
                    format!("received an error response from Slack: {}", snippet.trim()),
                )
                .into())
            };
        }
        let a: ApiAnswer = serde_json::from_str(&text).map_err(|e| {
            NotifyError::retryable(
                FailureReason::Other,
                format!("could not parse Slack's answer {:?}: {e}", snippet.trim()),
            )
        })?;
        if a.ok {
            return Ok(a);
        }
        let code = a.error;
        let message = format!("error response from Slack: {code}");
        let err = if transient(&code) {
            let reason = if code.contains("rate") {
                FailureReason::RateLimited
            } else {
                FailureReason::ServerError
            };
            NotifyError::retryable(reason, message).with_retry_after(wait)
        } else if auth_code(&code) {
            NotifyError::permanent(FailureReason::AuthError, message)
        } else {
            NotifyError::permanent(FailureReason::ClientError, message)
        };
        Err(Failure {
            err,
            code: Some(code),
        })
    }
}

/// What to keep for the group's next notification: the message's channel ID and `ts` (the
/// previous ones when Slack's answer lacks them).
fn kept(a: &ApiAnswer, channel: &str, ts: &str) -> Sent {
    let pick = |new: &str, old: &str| if new.is_empty() { old } else { new }.to_owned();
    if pick(&a.ts, ts).is_empty() {
        return Sent::default();
    }
    let mut d = ReceiverData::new();
    d.insert(DATA_CHANNEL.to_owned(), pick(&a.channel, channel));
    d.insert(DATA_TS.to_owned(), pick(&a.ts, ts));
    Sent {
        receiver_data: d,
        ..Sent::default()
    }
}

/// The group's message, as stored.
fn kept_as(channel: &str, ts: &str) -> Sent {
    kept(&ApiAnswer::default(), channel, ts)
}

/// Whether a URL is the Web API's `chat.postMessage`.
fn is_post_message(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| u.path().ends_with("/chat.postMessage"))
}

/// `chat.update`'s URL: the app URL with its last path segment replaced.
fn update_url(post_url: &str) -> Result<String, BuildCause> {
    let mut u = reqwest::Url::parse(post_url)
        .map_err(|_| BuildCause::Missing("app_url is not a valid URL"))?;
    let path = u.path().to_owned();
    let base = path.rsplit_once('/').map_or("", |(b, _)| b);
    u.set_path(&format!("{base}/chat.update"));
    Ok(u.to_string())
}
