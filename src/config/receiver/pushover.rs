//! `pushover_configs`: Pushover push messages. Parsed and checked as Alertmanager does; tocsin
//! does not send to Pushover yet.
//! Imports: std, serde, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{check_go_duration, is_false, set, set_str, tmpl, yes};
use crate::config::de::{Integration, zero};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set};

tmpl! {
    d_title => r#"{{ template "pushover.default.title" . }}"#;
    d_message => r#"{{ template "pushover.default.message" . }}"#;
    d_url => r#"{{ template "pushover.default.url" . }}"#;
    d_priority => r#"{{ if eq .Status "firing" }}2{{ else }}0{{ end }}"#;
}

/// One Pushover recipient.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PushoverConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// The recipient's user key. One of `user_key`/`user_key_file` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_key: Option<Secret<String>>,
    /// File holding the user key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_key_file: Option<PathBuf>,
    /// The application token. One of `token`/`token_file` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret<String>>,
    /// File holding the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Title (template).
    #[serde(default = "d_title", deserialize_with = "zero")]
    pub title: String,
    /// Message (template).
    #[serde(default = "d_message", deserialize_with = "zero")]
    pub message: String,
    /// Supplementary URL (template).
    #[serde(default = "d_url", deserialize_with = "zero")]
    pub url: String,
    /// Title of the URL (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub url_title: String,
    /// Device name (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub device: String,
    /// Sound name (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub sound: String,
    /// Priority (template; default 2 when firing, 0 when resolved).
    #[serde(default = "d_priority", deserialize_with = "zero")]
    pub priority: String,
    /// Retry interval of emergency notifications (Go duration, default 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<String>,
    /// How long emergency notifications are retried (Go duration, default 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire: Option<String>,
    /// Time to live of the message (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// The message is HTML.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub html: bool,
    /// The message is monospace.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub monospace: bool,
}

impl Integration for PushoverConfig {
    const NAME: &'static str = "pushover";
}

impl PushoverConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        let (key, key_file) = (set(&self.user_key), set_str(&self.user_key_file));
        let (token, token_file) = (set(&self.token), set_str(&self.token_file));
        if !key && !key_file {
            ctx.error(path, "one of user_key or user_key_file must be configured");
        }
        both_set(ctx, path, "user_key", key, "user_key_file", key_file);
        if !token && !token_file {
            ctx.error(path, "one of token or token_file must be configured");
        }
        both_set(ctx, path, "token", token, "token_file", token_file);
        if self.html && self.monospace {
            ctx.error(path, "at most one of monospace & html must be configured");
        }
        for (k, v) in [
            ("retry", &self.retry),
            ("expire", &self.expire),
            ("ttl", &self.ttl),
        ] {
            check_go_duration(ctx, &format!("{path}.{k}"), v);
        }
        ctx.resolve_opt(&mut self.user_key_file);
        ctx.resolve_opt(&mut self.token_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
