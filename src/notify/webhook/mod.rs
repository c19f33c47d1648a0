//! The generic webhook integration: POSTs Alertmanager's v4 JSON payload.

pub mod payload;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use super::data::NotificationData;
use super::http::{RequestAuth, build_client, classify, transport_error};
use super::{FailureReason, NotifyError};
use crate::config::{Secret, WebhookConfig};

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
}

enum UrlSource {
    Inline(Secret<String>),
    File(PathBuf),
}

impl Webhook {
    /// Builds the integration from its config.
    pub fn new(c: &WebhookConfig) -> Result<Self, String> {
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
        let body = serde_json::to_vec(&payload::Payload::new(data)).map_err(|e| NotifyError {
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
