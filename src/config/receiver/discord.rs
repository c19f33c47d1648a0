//! `discord_configs`: Discord webhooks. Parsed and checked as Alertmanager does; tocsin does
//! not send to Discord yet.
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
    d_title => r#"{{ template "discord.default.title" . }}"#;
    d_message => r#"{{ template "discord.default.message" . }}"#;
}

/// One Discord webhook.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
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
    /// Message content above the embed (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub content: String,
    /// Embed title (template).
    #[serde(default = "d_title", deserialize_with = "zero")]
    pub title: String,
    /// Embed text (template).
    #[serde(default = "d_message", deserialize_with = "zero")]
    pub message: String,
    /// Bot name shown (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub username: String,
    /// Avatar URL (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub avatar_url: String,
}

impl Integration for DiscordConfig {
    const NAME: &'static str = "discord";
}

impl DiscordConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        let (url, file) = (self.webhook_url.is_some(), set_str(&self.webhook_url_file));
        if !url && !file {
            ctx.error(
                path,
                "one of webhook_url or webhook_url_file must be configured",
            );
        }
        if url && file {
            ctx.error(
                path,
                "at most one of webhook_url & webhook_url_file must be configured",
            );
        }
        if let Some(u) = &self.webhook_url {
            check_secret_url(ctx, &format!("{path}.webhook_url"), u.expose());
        }
        ctx.resolve_opt(&mut self.webhook_url_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
