//! `rocketchat_configs`: Rocket.Chat messages. Parsed and checked as Alertmanager does (token
//! and token ID fall back to `global.rocketchat_token` and `global.rocketchat_token_id`);
//! tocsin does not send to Rocket.Chat yet.
//! Imports: std, serde, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{is_false, set_str, tmpl};
use crate::config::de::{Integration, zero, zero_items};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};

tmpl! {
    d_color => r#"{{ if eq .Status "firing" }}red{{ else }}green{{ end }}"#;
    d_emoji => r#"{{ template "rocketchat.default.emoji" . }}"#;
    d_icon_url => r#"{{ template "rocketchat.default.iconurl" . }}"#;
    d_text => r#"{{ template "rocketchat.default.text" . }}"#;
    d_title => r#"{{ template "rocketchat.default.title" . }}"#;
    d_title_link => r#"{{ template "rocketchat.default.titlelink" . }}"#;
}

/// One Rocket.Chat channel. Unlike most integrations, an empty `token: ''` counts as given
/// (Alertmanager keeps these two as pointers).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default, deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// API URL (default `global.rocketchat_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Token ID (default `global.rocketchat_token_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<Secret<String>>,
    /// File holding the token ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id_file: Option<PathBuf>,
    /// Token (default `global.rocketchat_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret<String>>,
    /// File holding the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Channel override (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub channel: String,
    /// Attachment colour (template).
    #[serde(default = "d_color", deserialize_with = "zero")]
    pub color: String,
    /// Title (template).
    #[serde(default = "d_title", deserialize_with = "zero")]
    pub title: String,
    /// Title link (template).
    #[serde(default = "d_title_link", deserialize_with = "zero")]
    pub title_link: String,
    /// Text (template).
    #[serde(default = "d_text", deserialize_with = "zero")]
    pub text: String,
    /// Attachment fields.
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub fields: Vec<RocketchatField>,
    /// Default `short` of fields.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub short_fields: bool,
    /// Emoji (template).
    #[serde(default = "d_emoji", deserialize_with = "zero")]
    pub emoji: String,
    /// Icon URL (template).
    #[serde(default = "d_icon_url", deserialize_with = "zero")]
    pub icon_url: String,
    /// Image URL (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub image_url: String,
    /// Thumbnail URL (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub thumb_url: String,
    /// Link channel names and users.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub link_names: bool,
    /// Buttons.
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub actions: Vec<RocketchatAction>,
}

/// A Rocket.Chat attachment field (Alertmanager reads these keys as written here).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatField {
    /// Show side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
    /// Title (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub title: String,
    /// Value (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub value: String,
}

/// A Rocket.Chat button. Alertmanager gives these no YAML names, so its decoder reads the Go
/// field names lower-cased: `imageurl`, `iswebview`, `msginchatwindow`, ...
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatAction {
    /// Button type.
    #[serde(
        default,
        rename = "type",
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Button text (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub text: String,
    /// Link (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub url: String,
    /// Button image.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub imageurl: String,
    /// Open in a web view.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub iswebview: bool,
    /// Web view height.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub webviewheightratio: String,
    /// Message sent on click (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub msg: String,
    /// Show the message in the chat window.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub msginchatwindow: bool,
    /// `sendMessage` or `respondWithMessage`.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub msgprocessingtype: String,
}

impl Integration for RocketchatConfig {
    const NAME: &'static str = "rocketchat";
}

impl RocketchatConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        let (token, token_file) = (self.token.is_some(), set_str(&self.token_file));
        let (id, id_file) = (self.token_id.is_some(), set_str(&self.token_id_file));
        both_set(ctx, path, "token", token, "token_file", token_file);
        both_set(ctx, path, "token_id", id, "token_id_file", id_file);
        match &self.api_url {
            Some(u) => check_url(ctx, &format!("{path}.api_url"), u),
            None => self.api_url.clone_from(&g.rocketchat_api_url),
        }
        if !id && !id_file {
            if g.rocketchat_token_id.is_none() && !set_str(&g.rocketchat_token_id_file) {
                ctx.error(
                    path,
                    "no global Rocketchat TokenID set either inline or in a file",
                );
            }
            self.token_id.clone_from(&g.rocketchat_token_id);
            self.token_id_file.clone_from(&g.rocketchat_token_id_file);
        }
        if !token && !token_file {
            if g.rocketchat_token.is_none() && !set_str(&g.rocketchat_token_file) {
                ctx.error(
                    path,
                    "no global Rocketchat Token set either inline or in a file",
                );
            }
            self.token.clone_from(&g.rocketchat_token);
            self.token_file.clone_from(&g.rocketchat_token_file);
        }
        ctx.resolve_opt(&mut self.token_file);
        ctx.resolve_opt(&mut self.token_id_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
