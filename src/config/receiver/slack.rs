//! `slack_configs`: Slack incoming webhooks (`api_url`) or the Web API with an app token.
//! Imports: std, serde, `crate::model`, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::de::zero;

use super::common::{set, set_str};
use crate::config::global::{DEFAULT_SLACK_APP_URL, GlobalConfig};
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_secret_url, check_url};
use crate::model::Duration;

macro_rules! tmpl {
    ($f:ident, $s:expr) => {
        fn $f() -> String {
            $s.to_owned()
        }
    };
}
tmpl!(d_username, r#"{{ template "slack.default.username" . }}"#);
tmpl!(
    d_color,
    r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#
);
tmpl!(d_title, r#"{{ template "slack.default.title" . }}"#);
tmpl!(
    d_title_link,
    r#"{{ template "slack.default.titlelink" . }}"#
);
tmpl!(d_pretext, r#"{{ template "slack.default.pretext" . }}"#);
tmpl!(d_text, r#"{{ template "slack.default.text" . }}"#);
tmpl!(d_fallback, r#"{{ template "slack.default.fallback" . }}"#);
tmpl!(
    d_callback_id,
    r#"{{ template "slack.default.callbackid" . }}"#
);
tmpl!(
    d_icon_emoji,
    r#"{{ template "slack.default.iconemoji" . }}"#
);
tmpl!(d_icon_url, r#"{{ template "slack.default.iconurl" . }}"#);
tmpl!(d_footer, r#"{{ template "slack.default.footer" . }}"#);

/// One Slack channel.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default, deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// Incoming-webhook URL (a secret; default `global.slack_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<Secret<String>>,
    /// File holding the webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url_file: Option<PathBuf>,
    /// Slack app bot token (0.30+; default `global.slack_app_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_token: Option<Secret<String>>,
    /// File holding the app token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_token_file: Option<PathBuf>,
    /// Web API URL used with an app token (default `global.slack_app_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,
    /// Channel or user (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Bot user name (template).
    #[serde(default = "d_username", deserialize_with = "zero")]
    pub username: String,
    /// Attachment colour (template).
    #[serde(default = "d_color", deserialize_with = "zero")]
    pub color: String,
    /// Attachment title (template).
    #[serde(default = "d_title", deserialize_with = "zero")]
    pub title: String,
    /// Title link (template).
    #[serde(default = "d_title_link", deserialize_with = "zero")]
    pub title_link: String,
    /// Pretext (template).
    #[serde(default = "d_pretext", deserialize_with = "zero")]
    pub pretext: String,
    /// Text (template).
    #[serde(default = "d_text", deserialize_with = "zero")]
    pub text: String,
    /// Attachment fields.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub fields: Vec<SlackField>,
    /// Default `short` of fields.
    #[serde(default, deserialize_with = "zero")]
    pub short_fields: bool,
    /// Footer (template).
    #[serde(default = "d_footer", deserialize_with = "zero")]
    pub footer: String,
    /// Plain-text fallback (template).
    #[serde(default = "d_fallback", deserialize_with = "zero")]
    pub fallback: String,
    /// Callback ID for interactive messages (template).
    #[serde(default = "d_callback_id", deserialize_with = "zero")]
    pub callback_id: String,
    /// Emoji icon (template).
    #[serde(default = "d_icon_emoji", deserialize_with = "zero")]
    pub icon_emoji: String,
    /// Icon URL (template).
    #[serde(default = "d_icon_url", deserialize_with = "zero")]
    pub icon_url: String,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Thumbnail URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
    /// Link channel names and users.
    #[serde(default, deserialize_with = "zero")]
    pub link_names: bool,
    /// Attachment fields rendered as Markdown.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub mrkdwn_in: Vec<String>,
    /// Buttons.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub actions: Vec<SlackAction>,
    /// Top-level message text (template, 0.31+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_text: Option<String>,
    /// Update the previous message of the group instead of posting a new one (0.32+).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub update_message: bool,
    /// Reply in the thread of the group's first message (newer Alertmanager); needs a bot token.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub post_updates_to_thread: bool,
    /// Send rate override (tocsin extension; see `RateLimitConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<super::RateLimitConfig>,
    /// Per-request timeout; 0 means none (0.28+).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "crate::config::validate::is_zero"
    )]
    pub timeout: Duration,
}

/// A Slack attachment field.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    /// Title (template).
    #[serde(default, deserialize_with = "zero")]
    pub title: String,
    /// Value (template).
    #[serde(default, deserialize_with = "zero")]
    pub value: String,
    /// Show side by side (default `short_fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
}

/// A Slack button.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackAction {
    /// Action type (`button`).
    #[serde(default, deserialize_with = "zero", rename = "type")]
    pub kind: String,
    /// Button text (template).
    #[serde(default, deserialize_with = "zero")]
    pub text: String,
    /// Link (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub url: String,
    /// `default`, `primary` or `danger`.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub style: String,
    /// Action name (interactive).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Action value (interactive).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub value: String,
    /// Confirmation dialog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<SlackConfirm>,
}

/// A confirmation dialog of a Slack button.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfirm {
    /// Title.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub title: String,
    /// Text (required).
    #[serde(default, deserialize_with = "zero")]
    pub text: String,
    /// OK button text.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub ok_text: String,
    /// Dismiss button text.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub dismiss_text: String,
}

impl SlackConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        both_set(
            ctx,
            path,
            "api_url",
            self.api_url.is_some(),
            "api_url_file",
            self.api_url_file.is_some(),
        );
        both_set(
            ctx,
            path,
            "app_token",
            self.app_token.is_some(),
            "app_token_file",
            self.app_token_file.is_some(),
        );
        for (i, f) in self.fields.iter().enumerate() {
            let fp = format!("{path}.fields[{i}]");
            if f.title.is_empty() {
                ctx.error(&fp, "missing title in Slack field configuration");
            }
            if f.value.is_empty() {
                ctx.error(&fp, "missing value in Slack field configuration");
            }
        }
        for (i, a) in self.actions.iter().enumerate() {
            let ap = format!("{path}.actions[{i}]");
            if a.kind.is_empty() {
                ctx.error(&ap, "missing type in Slack action configuration");
            }
            if a.text.is_empty() {
                ctx.error(&ap, "missing text in Slack action configuration");
            }
            // A button links (`url`) or is an interactive action (`name`); `value` is optional.
            if a.url.is_empty() && a.name.is_empty() {
                ctx.error(&ap, "missing name or url in Slack action configuration");
            }
            if let Some(c) = &a.confirm
                && c.text.is_empty()
            {
                ctx.error(
                    &format!("{ap}.confirm"),
                    "missing text in Slack confirmation configuration",
                );
            }
        }
        let own_url = self.api_url.is_some() || self.api_url_file.is_some();
        let own_token = set(&self.app_token) || set_str(&self.app_token_file);
        if own_url && own_token {
            ctx.error(
                path,
                "at most one of api_url/api_url_file & app_token/app_token_file must be configured",
            );
        }
        if !own_url && !own_token {
            if g.slack_api_url.is_some() || g.slack_api_url_file.is_some() {
                self.api_url.clone_from(&g.slack_api_url);
                self.api_url_file.clone_from(&g.slack_api_url_file);
            } else if g.slack_app_token.is_some() || g.slack_app_token_file.is_some() {
                self.app_token.clone_from(&g.slack_app_token);
                self.app_token_file.clone_from(&g.slack_app_token_file);
            } else {
                ctx.error(
                    path,
                    "no Slack API URL nor App token set either inline or in a file",
                );
            }
        }
        if let Some(u) = &self.api_url {
            check_secret_url(ctx, &format!("{path}.api_url"), u.expose());
        }
        if self.app_token.is_some() || self.app_token_file.is_some() {
            if let Some(u) = &self.app_url {
                check_url(ctx, &format!("{path}.app_url"), u);
            } else {
                self.app_url = Some(
                    g.slack_app_url
                        .clone()
                        .unwrap_or_else(|| DEFAULT_SLACK_APP_URL.to_owned()),
                );
            }
        }
        // Updating or threading a message needs the Web API: a bot token, or `api_url` set to
        // chat.postMessage (a file is read only when sending, so it is trusted here).
        if let Some(u) = &self.api_url {
            let u = u.expose();
            for (on, key) in [
                (self.update_message, "update_message"),
                (self.post_updates_to_thread, "post_updates_to_thread"),
            ] {
                if on && u != DEFAULT_SLACK_APP_URL && u != crate::config::SECRET_PLACEHOLDER {
                    ctx.error(
                        &format!("{path}.{key}"),
                        format!("{key} can only be used with bot tokens. api_url must be set to {DEFAULT_SLACK_APP_URL}"),
                    );
                }
            }
        }
        if let Some(r) = &self.rate_limit {
            r.validate(ctx, &format!("{path}.rate_limit"));
        }
        ctx.resolve_opt(&mut self.api_url_file);
        ctx.resolve_opt(&mut self.app_token_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
