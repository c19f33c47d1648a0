//! The generic webhook integration: POSTs Alertmanager's v4 JSON payload.

pub mod payload;
pub mod template_payload;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::data::NotificationData;
use super::http::{RequestAuth, build_client, classify, transport_error};
use super::{FailureReason, NotifyError};
use crate::config::{Secret, WebhookConfig};
use crate::template::{RenderContext, Templates};
use template_payload::PayloadTemplate;

/// A configured webhook.
pub struct Webhook {
    /// The URL, or the file to read it from at each send (as Alertmanager does).
    url: UrlSource,
    /// The HTTP client from `http_config`.
    client: reqwest::Client,
    /// Authentication and extra headers from `http_config`.
    auth: RequestAuth,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
    /// `max_alerts` (0 = all).
    pub max_alerts: usize,
    /// Per-request timeout (none when zero).
    timeout: Option<Duration>,
    /// The `payload:` template, if configured, with the template set it renders against.
    payload: Option<(PayloadTemplate, Arc<Templates>)>,
    /// Counts payloads that failed to render (the v4 payload was sent instead).
    render_failures: prometheus_client::metrics::counter::Counter,
}

enum UrlSource {
    Inline(Secret<String>),
    File(PathBuf),
}

impl Webhook {
    /// Builds the integration from its config.
    pub fn new(
        c: &WebhookConfig,
        templates: &Arc<Templates>,
        render_failures: prometheus_client::metrics::counter::Counter,
    ) -> Result<Self, String> {
        let payload = match &c.payload {
            Some(v) => Some((
                PayloadTemplate::parse(v, templates, "payload")?,
                Arc::clone(templates),
            )),
            None => None,
        };
        let url = match (&c.url, &c.url_file) {
            (Some(u), _) => UrlSource::Inline(u.clone()),
            (None, Some(f)) => UrlSource::File(f.clone()),
            (None, None) => return Err("webhook_config needs url or url_file".into()),
        };
        Ok(Webhook {
            url,
            client: build_client(&c.http_config)?,
            auth: RequestAuth::new(&c.http_config),
            send_resolved: c.send_resolved,
            max_alerts: c.max_alerts as usize,
            timeout: (!c.timeout.is_zero()).then(|| c.timeout.std()),
            payload,
            render_failures,
        })
    }

    /// Sends one notification.
    pub async fn notify(&self, data: &NotificationData) -> Result<(), NotifyError> {
        let url = match &self.url {
            UrlSource::Inline(u) => u.expose().clone(),
            UrlSource::File(p) => tokio::fs::read_to_string(p)
                .await
                .map(|s| s.trim().to_owned())
                .map_err(|e| NotifyError {
                    retry: true,
                    retry_after: None,
                    reason: FailureReason::Other,
                    message: format!("reading url_file {}: {e}", p.display()),
                })?,
        };
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
        let body = encoded.map_err(|e| NotifyError {
            retry: false,
            retry_after: None,
            reason: FailureReason::Other,
            message: format!("encoding payload: {e}"),
        })?;
        let mut req = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        req = self.auth.apply(req).map_err(|e| NotifyError {
            retry: true,
            retry_after: None,
            reason: FailureReason::Other,
            message: e,
        })?;
        if let Some(t) = self.timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await.map_err(transport_error)?;
        classify(resp, data.now).await
    }
}
