//! PagerDuty: the Events API v2 (`routing_key`), or v1 when a `service_key` is configured.
//!
//! One incident per aggregation group: every event carries the sha256 of the group key as its
//! dedup key, `trigger` while any alert fires and `resolve` when all are resolved (PagerDuty
//! drops a resolve for an incident already closed, so a repeated resolve is harmless).
//! Answers: 2xx is success; 429 (v1: 403) and 5xx are retried honouring `Retry-After`; a 400 is
//! permanent and its `message` and `errors[]` are logged and counted with reason `clientError`.
//!
//! The v1 endpoint is Alertmanager's fixed path on the host of `url` (by default
//! `events.pagerduty.com`), so a test or an EU account can point both versions elsewhere.

pub mod payload;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::data::NotificationData;
use super::error::{BuildCause, FailureReason, NotifyError};
use super::http::{Answer, RequestAuth, transport_error};
use super::integration::{BuildEnv, Sent};
use super::ratelimit::{self, Limiter};
use super::tmpl::Renderer;
use super::value::ValueSource;
use crate::config::PagerdutyConfig;
use crate::template::Templates;
use payload::{Api, Fields};

/// The path of the Events API v1 endpoint.
pub const V1_PATH: &str = "/generic/2010-04-15/create_event.json";

/// A configured PagerDuty service.
pub struct PagerDuty {
    /// v2 or v1.
    api: Api,
    /// Where events are posted.
    url: String,
    /// `url`, parsed once when the integration is built (None if it does not parse: the
    /// request then says why).
    parsed_url: Option<reqwest::Url>,
    /// The routing key (v2) or service key (v1), inline or from its file.
    key: ValueSource,
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
    /// Events per routing key (default 120 per minute).
    limit: Limiter,
}

/// PagerDuty's error envelope (400).
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<String>,
}

impl PagerDuty {
    /// The id PagerDuty knows a group's incident by (`dedup_key`, v1 `incident_key`): derived
    /// from the group key, so any peer of a cluster can name it.
    pub fn service_ids(&self, group_key: &str) -> crate::nflog::ReceiverData {
        self.ids(payload::dedup_key(group_key))
    }

    /// [`PagerDuty::service_ids`] of a dedup key already computed.
    fn ids(&self, dedup_key: String) -> crate::nflog::ReceiverData {
        let name = match self.api {
            Api::V2 => "dedup_key",
            Api::V1 => "incident_key",
        };
        [(name.to_owned(), dedup_key)].into()
    }

    /// Builds the integration from its config.
    pub fn new(c: &PagerdutyConfig, env: &BuildEnv<'_>) -> Result<Self, BuildCause> {
        let service = ValueSource::from_config(
            c.service_key.as_ref(),
            c.service_key_file.as_deref(),
            "service_key_file",
        );
        let routing = ValueSource::from_config(
            c.routing_key.as_ref(),
            c.routing_key_file.as_deref(),
            "routing_key_file",
        );
        let v2_url = c
            .url
            .clone()
            .ok_or(BuildCause::Missing("pagerduty_config needs a url"))?;
        let (api, key, url) = match (service, routing) {
            (Some(k), _) => (Api::V1, k, v1_url(&v2_url)?),
            (None, Some(k)) => (Api::V2, k, v2_url),
            (None, None) => {
                return Err(BuildCause::Missing(
                    "pagerduty_config needs routing_key or service_key",
                ));
            }
        };
        Ok(PagerDuty {
            api,
            parsed_url: reqwest::Url::parse(&url).ok(),
            url,
            key,
            fields: Fields::parse(c, env.templates)?,
            templates: Arc::clone(env.templates),
            client: env.clients.client(&c.http_config)?,
            auth: RequestAuth::new(&c.http_config),
            timeout: (!c.timeout.is_zero()).then(|| c.timeout.std()),
            limit: Limiter::new(
                "pagerduty",
                c.rate_limit.as_ref(),
                Some(ratelimit::PAGERDUTY),
                env.metrics,
            ),
        })
    }

    /// Sends one event.
    pub async fn notify(&self, data: &NotificationData) -> Result<Sent, NotifyError> {
        let r = Renderer::new(&self.templates, data);
        let key = r.adhoc("routing key", self.key.read().await?.expose())?;
        if key.is_empty() {
            let what = match self.api {
                Api::V2 => "routing key",
                Api::V1 => "service key",
            };
            return Err(NotifyError::permanent(
                FailureReason::Other,
                format!("{what} cannot be empty"),
            ));
        }
        let event = payload::build(self.api, &self.fields, &r, data, &key)?;
        self.limit.acquire(&key).await?;
        if event.summary_truncated {
            tracing::warn!(receiver = %data.receiver, max_runes = payload::MAX_SUMMARY_RUNES, "Truncated the PagerDuty summary.");
        }
        if event.details_removed {
            tracing::warn!(receiver = %data.receiver, max_bytes = payload::MAX_EVENT_SIZE, "Removed the PagerDuty custom details: the event exceeds the size limit.");
        }
        let req = match &self.parsed_url {
            Some(u) => self.client.post(u.clone()),
            None => self.client.post(&self.url),
        };
        let mut req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(event.body);
        req = self.auth.apply(req).await?;
        req = req.timeout(self.timeout.unwrap_or(data.timeout));
        let resp = req.send().await.map_err(transport_error)?;
        if resp.status().is_success() {
            tracing::debug!(receiver = %data.receiver, action = event.action, "PagerDuty accepted the event.");
            return Ok(Sent {
                status: Some(resp.status().as_u16()),
                service_ids: self.ids(event.dedup_key),
                ..Sent::default()
            });
        }
        let answer = Answer::read(resp, data.now).await;
        Err(self.classify(&answer))
    }

    /// The error for a non-2xx answer: PagerDuty's retry codes, and a 400's errors spelled out.
    fn classify(&self, a: &Answer) -> NotifyError {
        let detail = (a.status == 400)
            .then(|| serde_json::from_str::<ErrorBody>(&a.body).ok())
            .flatten()
            .map(|e| format!("{}: {}", e.message, e.errors.join(",")));
        match self.api {
            Api::V2 => a.error(&[429], detail.as_deref()),
            Api::V1 => {
                let mut e = a.error(&[403], detail.as_deref());
                if a.status == 403 {
                    // v1 answers 403 when rate limited.
                    e.reason = FailureReason::RateLimited;
                }
                e
            }
        }
    }
}

/// The v1 endpoint on the host of the configured (v2) URL.
fn v1_url(v2: &str) -> Result<String, BuildCause> {
    let u = reqwest::Url::parse(v2).map_err(|_| BuildCause::Missing("url is not a valid URL"))?;
    let mut v1 = u.clone();
    v1.set_path(V1_PATH);
    v1.set_query(None);
    Ok(v1.to_string())
}
