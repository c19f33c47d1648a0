//! `webex_configs`: Cisco Webex messages. Parsed and checked as Alertmanager does (the bot
//! token goes in `http_config.authorization`); tocsin does not send to Webex yet.
//! Imports: serde, the parent config modules.

use serde::{Deserialize, Serialize};

use super::common::{tmpl, yes};
use crate::config::de::{Integration, zero};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::validate::{Ctx, check_url};

tmpl! {
    d_message => r#"{{ template "webex.default.message" . }}"#;
}

/// One Webex room.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebexConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings; `authorization` (the bot token) is required.
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// API URL (default `global.webex_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Message (template).
    #[serde(default = "d_message", deserialize_with = "zero")]
    pub message: String,
    /// Room ID (template). Required.
    #[serde(default, deserialize_with = "zero")]
    pub room_id: String,
}

impl Integration for WebexConfig {
    const NAME: &'static str = "webex";
}

impl WebexConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        if self.room_id.is_empty() {
            ctx.error(path, "missing room_id on webex_config");
        }
        if !self.http_config.explicit || !self.http_config.has_authorization() {
            ctx.error(path, "missing webex_configs.http_config.authorization");
        }
        match &self.api_url {
            Some(u) => check_url(ctx, &format!("{path}.api_url"), u),
            None if g.webex_api_url.is_empty() => ctx.error(path, "no global Webex URL set"),
            None => self.api_url = Some(g.webex_api_url.clone()),
        }
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
