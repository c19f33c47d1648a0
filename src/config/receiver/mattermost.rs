//! `mattermost_configs`: Mattermost incoming webhooks. Parsed and checked as Alertmanager does
//! (the URL falls back to `global.mattermost_webhook_url`); tocsin does not send to Mattermost
//! yet.
//! Imports: std, serde, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{is_false, set_str, tmpl, yes};
use crate::config::de::{Integration, zero, zero_items};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, check_secret_url};

tmpl! {
    d_username => r#"{{ template "mattermost.default.username" . }}"#;
    d_color => r#"{{ template "mattermost.default.color" . }}"#;
    d_text => r#"{{ template "mattermost.default.text" . }}"#;
    d_title => r#"{{ template "mattermost.default.title" . }}"#;
    d_title_link => r#"{{ template "mattermost.default.titlelink" . }}"#;
    d_fallback => r#"{{ template "mattermost.default.fallback" . }}"#;
}

/// One Mattermost webhook.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// The webhook URL (a secret; default `global.mattermost_webhook_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Secret<String>>,
    /// File holding the webhook URL (default `global.mattermost_webhook_url_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_file: Option<PathBuf>,
    /// Channel override (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub channel: String,
    /// Bot user name (template).
    #[serde(default = "d_username", deserialize_with = "zero")]
    pub username: String,
    /// Message text (template).
    #[serde(default = "d_text", deserialize_with = "zero")]
    pub text: String,
    /// Plain-text fallback (template).
    #[serde(default = "d_fallback", deserialize_with = "zero")]
    pub fallback: String,
    /// Attachment colour (template).
    #[serde(default = "d_color", deserialize_with = "zero")]
    pub color: String,
    /// Pretext (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub pretext: String,
    /// Author name (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub author_name: String,
    /// Author link (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub author_link: String,
    /// Author icon (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub author_icon: String,
    /// Title (template).
    #[serde(default = "d_title", deserialize_with = "zero")]
    pub title: String,
    /// Title link (template).
    #[serde(default = "d_title_link", deserialize_with = "zero")]
    pub title_link: String,
    /// Attachment fields.
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub fields: Vec<MattermostField>,
    /// Thumbnail URL (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub thumb_url: String,
    /// Footer (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub footer: String,
    /// Footer icon (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub footer_icon: String,
    /// Image URL (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub image_url: String,
    /// Icon URL (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub icon_url: String,
    /// Icon emoji (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub icon_emoji: String,
    /// Extra attachments.
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attachments: Vec<MattermostAttachment>,
    /// Post type.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub r#type: String,
    /// Post properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<MattermostProps>,
    /// Message priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<MattermostPriority>,
}

/// A Mattermost attachment field.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostField {
    /// Title (template). Required.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub title: String,
    /// Value (template). Required.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub value: String,
    /// Show side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
}

/// A Mattermost message attachment.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostAttachment {
    /// Plain-text fallback.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub fallback: String,
    /// Colour.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub color: String,
    /// Pretext.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub pretext: String,
    /// Text.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub text: String,
    /// Author name.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub author_name: String,
    /// Author link.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub author_link: String,
    /// Author icon.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub author_icon: String,
    /// Title.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub title: String,
    /// Title link.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub title_link: String,
    /// Fields.
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub fields: Vec<MattermostField>,
    /// Thumbnail URL.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub thumb_url: String,
    /// Footer.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub footer: String,
    /// Footer icon.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub footer_icon: String,
    /// Image URL.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub image_url: String,
}

/// Mattermost post properties.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostProps {
    /// Markdown shown in the post's side panel.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub card: String,
}

/// Mattermost message priority.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostPriority {
    /// `important` or `urgent`.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub priority: String,
    /// Ask recipients to acknowledge.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub requested_ack: bool,
    /// Repeat notifications until acknowledged.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub persistent_notifications: bool,
}

impl Integration for MattermostConfig {
    const NAME: &'static str = "mattermost";
}

fn check_fields(ctx: &mut Ctx<'_>, path: &str, fields: &[MattermostField]) {
    for (i, f) in fields.iter().enumerate() {
        let fp = format!("{path}.fields[{i}]");
        if f.title.is_empty() {
            ctx.error(&fp, "missing title in Mattermost field configuration");
        }
        if f.value.is_empty() {
            ctx.error(&fp, "missing value in Mattermost field configuration");
        }
    }
}

impl MattermostConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        let (url, file) = (self.webhook_url.is_some(), set_str(&self.webhook_url_file));
        if url && file {
            ctx.error(
                path,
                "at most one of webhook_url & webhook_url_file must be configured",
            );
        }
        check_fields(ctx, path, &self.fields);
        for (i, a) in self.attachments.iter().enumerate() {
            check_fields(ctx, &format!("{path}.attachments[{i}]"), &a.fields);
        }
        if let Some(u) = &self.webhook_url {
            check_secret_url(ctx, &format!("{path}.webhook_url"), u.expose());
        }
        if !url && !file {
            if g.mattermost_webhook_url.is_none() && !set_str(&g.mattermost_webhook_url_file) {
                ctx.error(
                    path,
                    "missing webhook_url or webhook_url_file on mattermost_config",
                );
            }
            self.webhook_url.clone_from(&g.mattermost_webhook_url);
            self.webhook_url_file
                .clone_from(&g.mattermost_webhook_url_file);
        }
        ctx.resolve_opt(&mut self.webhook_url_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
