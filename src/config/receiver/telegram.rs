//! `telegram_configs`: Telegram bot messages. Parsed and checked as Alertmanager does (the bot
//! token falls back to `global.telegram_bot_token`); tocsin does not send to Telegram yet.
//! Imports: std, serde, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{check_go_duration, is_false, set, set_str, tmpl, yes};
use crate::config::de::{Integration, go_integer, zero};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};

tmpl! {
    d_message => r#"{{ template "telegram.default.message" . }}"#;
    d_parse_mode => "HTML";
}

/// One Telegram chat.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// Bot API URL (default `global.telegram_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Bot token (default `global.telegram_bot_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<Secret<String>>,
    /// File holding the bot token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token_file: Option<PathBuf>,
    /// Chat ID (an integer). One of `chat_id`/`chat_id_file` is required.
    #[serde(
        default,
        deserialize_with = "go_integer",
        skip_serializing_if = "is_zero"
    )]
    pub chat_id: i64,
    /// File holding the chat ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id_file: Option<PathBuf>,
    /// Forum topic (an integer).
    #[serde(
        default,
        deserialize_with = "go_integer",
        skip_serializing_if = "is_zero"
    )]
    pub message_thread_id: i64,
    /// Message (template).
    #[serde(default = "d_message", deserialize_with = "zero")]
    pub message: String,
    /// Send silently.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub disable_notifications: bool,
    /// `Markdown`, `MarkdownV2`, `HTML` (default) or empty.
    #[serde(default = "d_parse_mode", deserialize_with = "zero")]
    pub parse_mode: String,
    /// Per-request timeout (Go duration); 0 means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Integration for TelegramConfig {
    const NAME: &'static str = "telegram";
}

impl TelegramConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        let (token, token_file) = (set(&self.bot_token), set_str(&self.bot_token_file));
        both_set(ctx, path, "bot_token", token, "bot_token_file", token_file);
        let has_file = set_str(&self.chat_id_file);
        if self.chat_id == 0 && !has_file {
            ctx.error(path, "missing chat_id or chat_id_file on telegram_config");
        }
        both_set(
            ctx,
            path,
            "chat_id",
            self.chat_id != 0,
            "chat_id_file",
            has_file,
        );
        if !["", "Markdown", "MarkdownV2", "HTML"].contains(&self.parse_mode.as_str()) {
            ctx.error(
                &format!("{path}.parse_mode"),
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string",
            );
        }
        if !token && !token_file {
            if !set(&g.telegram_bot_token) && !set_str(&g.telegram_bot_token_file) {
                ctx.error(
                    path,
                    "missing bot_token or bot_token_file on telegram_config",
                );
            }
            self.bot_token.clone_from(&g.telegram_bot_token);
            self.bot_token_file.clone_from(&g.telegram_bot_token_file);
        }
        check_go_duration(ctx, &format!("{path}.timeout"), &self.timeout);
        match &self.api_url {
            Some(u) => check_url(ctx, &format!("{path}.api_url"), u),
            None => self.api_url = Some(g.telegram_api_url.clone()),
        }
        ctx.resolve_opt(&mut self.bot_token_file);
        ctx.resolve_opt(&mut self.chat_id_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
