//! The generic webhook integration: POSTs Alertmanager's v4 JSON payload.

pub mod payload;
pub mod template_payload;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use super::data::NotificationData;
use super::error::{BuildCause, NotifyError};
use super::http::{RequestAuth, classify, transport_error};
use super::integration::{BuildEnv, Sent};
use super::ratelimit::Limiter;
use super::value::ValueSource;
use crate::config::WebhookConfig;
use crate::metrics::Metrics;
use crate::template::{RenderContext, Templates};
use template_payload::PayloadTemplate;

/// Where one request goes.
enum Target<'a> {
    /// The inline URL, parsed when the integration was built.
    Parsed(&'a reqwest::Url),
    /// The URL read for this send.
    Read(crate::config::Secret<String>),
}

/// A configured webhook.
pub struct Webhook {
    /// The URL, or the file to read it from at each send (as Alertmanager does).
    url: ValueSource,
    /// An inline URL, parsed once when the integration is built (a URL from a file, or one
    /// that does not parse, is read and parsed at each send: the request then says why).
    parsed_url: Option<reqwest::Url>,
    /// The HTTP client from `http_config`.
    client: reqwest::Client,
    /// Authentication and extra headers from `http_config`.
    auth: RequestAuth,
    /// Per-request timeout (none when zero).
    timeout: Option<Duration>,
    /// The `payload:` template, if configured, with the template set it renders against.
    payload: Option<(PayloadTemplate, Arc<Templates>)>,
    /// Counts payloads that failed to render (the v4 payload was sent instead).
    render_failures: prometheus_client::metrics::counter::Counter,
    /// No limit unless `rate_limit:` sets one.
    limit: Limiter,
}

impl Webhook {
    /// Builds the integration from its config.
    pub fn new(c: &WebhookConfig, env: &BuildEnv<'_>) -> Result<Self, BuildCause> {
        let payload = match &c.payload {
            Some(v) => Some((
                PayloadTemplate::parse(v, env.templates, "payload")?,
                Arc::clone(env.templates),
            )),
            None => None,
        };
        let url = ValueSource::from_config(c.url.as_ref(), c.url_file.as_deref(), "url_file")
            .ok_or(BuildCause::Missing("webhook_config needs url or url_file"))?;
        let parsed_url = match &url {
            ValueSource::Inline(u) => reqwest::Url::parse(u.expose()).ok(),
            ValueSource::File { .. } => None,
        };
        Ok(Webhook {
            url,
            parsed_url,
            client: env.clients.client(&c.http_config)?,
            auth: RequestAuth::new(&c.http_config),
            timeout: (!c.timeout.is_zero()).then(|| c.timeout.std()),
            payload,
            render_failures: env
                .metrics
                .template_render_failures
                .get_or_create(&Metrics::integration("webhook"))
                .clone(),
            limit: Limiter::new("webhook", c.rate_limit.as_ref(), None, env.metrics),
        })
    }

    /// Sends one notification.
    pub async fn notify(&self, data: &NotificationData) -> Result<Sent, NotifyError> {
        let url = match &self.parsed_url {
            Some(u) => Target::Parsed(u),
            None => Target::Read(self.url.read().await?),
        };
        self.limit.acquire("").await?;
        let custom = self.payload.as_ref().and_then(|(t, templates)| {
            let ctx = RenderContext::system_zone(data.now);
            match t.render(templates, &data.template_data(), &ctx) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.render_failures.inc();
                    tracing::warn!(receiver = %data.receiver, error = %e, "Rendering the webhook payload failed; sending the standard v4 payload instead.");
                    None
                }
            }
        });
        let encoded = match &custom {
            Some(v) => serde_json::to_vec(v),
            None => serde_json::to_vec(&payload::Payload::new(data)),
        };
        let body = encoded.map_err(|e| NotifyError::payload("the JSON body", e))?;
        let req = match url {
            Target::Parsed(u) => self.client.post(u.clone()),
            Target::Read(u) => self.client.post(u.expose()),
        };
        let mut req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        req = self.auth.apply(req).await?;
        req = req.timeout(self.timeout.unwrap_or(data.timeout));
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        classify(resp, data.now).await?;
        Ok(Sent {
            status: Some(status),
            ..Sent::default()
        })
    }
}
