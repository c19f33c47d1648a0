//! `wechat_configs`: WeChat Work messages. Parsed and checked as Alertmanager does (secret,
//! corp ID and URL fall back to the `global.wechat_api_*` keys); tocsin does not send to
//! WeChat yet.
//! Imports: std, serde, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{set, set_str, tmpl};
use crate::config::de::{Integration, zero};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};

tmpl! {
    d_message => r#"{{ template "wechat.default.message" . }}"#;
    d_to_user => r#"{{ template "wechat.default.to_user" . }}"#;
    d_to_party => r#"{{ template "wechat.default.to_party" . }}"#;
    d_to_tag => r#"{{ template "wechat.default.to_tag" . }}"#;
    d_agent_id => r#"{{ template "wechat.default.agent_id" . }}"#;
}

/// One WeChat Work application.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WechatConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default, deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// API secret (default `global.wechat_api_secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_secret: Option<Secret<String>>,
    /// File holding the API secret (default `global.wechat_api_secret_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_secret_file: Option<PathBuf>,
    /// Corp ID (default `global.wechat_api_corp_id`).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub corp_id: String,
    /// Message (template).
    #[serde(default = "d_message", deserialize_with = "zero")]
    pub message: String,
    /// API URL (default `global.wechat_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Users (template).
    #[serde(default = "d_to_user", deserialize_with = "zero")]
    pub to_user: String,
    /// Parties (template).
    #[serde(default = "d_to_party", deserialize_with = "zero")]
    pub to_party: String,
    /// Tags (template).
    #[serde(default = "d_to_tag", deserialize_with = "zero")]
    pub to_tag: String,
    /// Agent ID (template).
    #[serde(default = "d_agent_id", deserialize_with = "zero")]
    pub agent_id: String,
    /// `text` (default) or `markdown`.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub message_type: String,
}

impl Integration for WechatConfig {
    const NAME: &'static str = "wechat";
}

impl WechatConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        if self.message_type.is_empty() {
            self.message_type = "text".into();
        }
        if !["text", "markdown"].contains(&self.message_type.as_str()) {
            ctx.error(
                &format!("{path}.message_type"),
                format!(
                    "weChat message type {:?} does not match valid options ^(text|markdown)$",
                    self.message_type
                ),
            );
        }
        let (secret, secret_file) = (set(&self.api_secret), set_str(&self.api_secret_file));
        both_set(
            ctx,
            path,
            "api_secret",
            secret,
            "api_secret_file",
            secret_file,
        );
        match &self.api_url {
            Some(u) => check_url(ctx, &format!("{path}.api_url"), u),
            None if g.wechat_api_url.is_empty() => ctx.error(path, "no global Wechat URL set"),
            None => self.api_url = Some(g.wechat_api_url.clone()),
        }
        if !secret && !secret_file {
            if !set(&g.wechat_api_secret) && !set_str(&g.wechat_api_secret_file) {
                ctx.error(
                    path,
                    "no global Wechat Api Secret set either inline or in a file",
                );
            }
            self.api_secret.clone_from(&g.wechat_api_secret);
            self.api_secret_file.clone_from(&g.wechat_api_secret_file);
        }
        if self.corp_id.is_empty() {
            match g.wechat_api_corp_id.as_deref() {
                Some(c) if !c.is_empty() => self.corp_id = c.to_owned(),
                _ => ctx.error(path, "no global Wechat CorpID set"),
            }
        }
        ctx.resolve_opt(&mut self.api_secret_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
