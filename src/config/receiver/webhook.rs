//! `webhook_configs`: Alertmanager's generic webhook (payload version 4).
//! Imports: std, serde, `crate::model`, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::de::{go_integer, zero};

use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, check_url};
use crate::model::Duration;

fn yes() -> bool {
    true
}

/// One webhook target.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// The URL to POST to (a secret: it often carries a token). Exactly one of `url`/`url_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret<String>>,
    /// File holding the URL (relative to the config file's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// At most this many alerts per message; 0 means all (default 0).
    #[serde(default, deserialize_with = "go_integer")]
    pub max_alerts: u64,
    /// Per-request timeout; 0 means none (0.28+).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "crate::config::validate::is_zero"
    )]
    pub timeout: Duration,
    /// Send rate override (tocsin extension; see `RateLimitConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<super::RateLimitConfig>,
    /// A templated body replacing the default payload (0.32+); kept as YAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

impl WebhookConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, global: &HttpConfig) {
        match (&self.url, &self.url_file) {
            (None, None) => ctx.error(path, "one of url or url_file must be configured"),
            (Some(_), Some(_)) => {
                ctx.error(path, "at most one of url & url_file must be configured")
            }
            (Some(u), None) => {
                // Templated URLs (0.31+) are checked when rendered.
                if !u.expose().contains("{{") {
                    check_url(ctx, &format!("{path}.url"), u.expose());
                }
            }
            (None, Some(_)) => {}
        }
        if let Some(r) = &self.rate_limit {
            r.validate(ctx, &format!("{path}.rate_limit"));
        }
        ctx.resolve_opt(&mut self.url_file);
        super::inherit_http(&mut self.http_config, global, ctx, path);
    }
}
