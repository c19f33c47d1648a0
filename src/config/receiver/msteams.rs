//! `msteams_configs` (Office 365 connectors) and `msteamsv2_configs` (Power Automate
//! workflows): Microsoft Teams webhooks. Parsed and checked as Alertmanager does; tocsin does
//! not send to Teams yet.
//! Imports: std, serde, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{set_str, tmpl, yes};
use crate::config::de::{Integration, zero};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, check_secret_url};

tmpl! {
    d_title => r#"{{ template "msteams.default.title" . }}"#;
    d_summary => r#"{{ template "msteams.default.summary" . }}"#;
    d_text => r#"{{ template "msteams.default.text" . }}"#;
    d_title_v2 => r#"{{ template "msteamsv2.default.title" . }}"#;
    d_text_v2 => r#"{{ template "msteamsv2.default.text" . }}"#;
}

/// One Teams incoming webhook (Office 365 connector).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MsteamsConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// The webhook URL (a secret). One of `webhook_url`/`webhook_url_file` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Secret<String>>,
    /// File holding the webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_file: Option<PathBuf>,
    /// Card title (template).
    #[serde(default = "d_title", deserialize_with = "zero")]
    pub title: String,
    /// Card summary (template).
    #[serde(default = "d_summary", deserialize_with = "zero")]
    pub summary: String,
    /// Card text (template).
    #[serde(default = "d_text", deserialize_with = "zero")]
    pub text: String,
}

/// One Teams workflow webhook (Power Automate, Adaptive Cards).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Msteamsv2Config {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// The workflow URL (a secret). One of `webhook_url`/`webhook_url_file` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Secret<String>>,
    /// File holding the workflow URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_file: Option<PathBuf>,
    /// Card title (template).
    #[serde(default = "d_title_v2", deserialize_with = "zero")]
    pub title: String,
    /// Card text (template).
    #[serde(default = "d_text_v2", deserialize_with = "zero")]
    pub text: String,
}

impl Integration for MsteamsConfig {
    const NAME: &'static str = "msteams";
}

impl Integration for Msteamsv2Config {
    const NAME: &'static str = "msteamsv2";
}

/// The webhook checks both versions share.
fn check_webhook(
    ctx: &mut Ctx<'_>,
    path: &str,
    url: &Option<Secret<String>>,
    file: &mut Option<PathBuf>,
) {
    let (has_url, has_file) = (url.is_some(), set_str(file));
    if !has_url && !has_file {
        ctx.error(
            path,
            "one of webhook_url or webhook_url_file must be configured",
        );
    }
    if has_url && has_file {
        ctx.error(
            path,
            "at most one of webhook_url & webhook_url_file must be configured",
        );
    }
    if let Some(u) = url {
        check_secret_url(ctx, &format!("{path}.webhook_url"), u.expose());
    }
    ctx.resolve_opt(file);
}

impl MsteamsConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        check_webhook(ctx, path, &self.webhook_url, &mut self.webhook_url_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}

impl Msteamsv2Config {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        check_webhook(ctx, path, &self.webhook_url, &mut self.webhook_url_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
