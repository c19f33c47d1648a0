//! `global:`: defaults shared by every route and integration (Alertmanager's
//! `DefaultGlobalConfig`), and their checks.
//! Imports: std, serde, `crate::model`, and sibling modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::de::zero;
use super::http::{HttpConfig, TlsConfig};
use super::secret::Secret;
use super::validate::{Ctx, both_set, check_secret_url, check_url, host_port_problem};
use crate::model::Duration;

/// Default `global.pagerduty_url`.
pub const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Default `global.slack_app_url`.
pub const DEFAULT_SLACK_APP_URL: &str = "https://slack.com/api/chat.postMessage";

fn d_resolve_timeout() -> Duration {
    Duration::from_secs(300)
}
fn d_hello() -> String {
    "localhost".to_owned()
}
fn yes() -> bool {
    true
}
fn d_pagerduty() -> String {
    DEFAULT_PAGERDUTY_URL.to_owned()
}
fn d_opsgenie() -> String {
    "https://api.opsgenie.com/".to_owned()
}
fn d_wechat() -> String {
    "https://qyapi.weixin.qq.com/cgi-bin/".to_owned()
}
fn d_victorops() -> String {
    "https://alert.victorops.com/integrations/generic/20131114/alert/".to_owned()
}
fn d_telegram() -> String {
    "https://api.telegram.org".to_owned()
}
fn d_rocketchat() -> Option<String> {
    Some("https://open.rocket.chat/".to_owned())
}
/// `original` leaves the default out: Alertmanager 0.25 (amtool) does not know the key.
fn is_default_rocketchat(u: &Option<String>) -> bool {
    u.is_none() || *u == d_rocketchat()
}
fn d_webex() -> String {
    "https://webexapis.com/v1/messages".to_owned()
}

/// `global:` with Alertmanager's defaults filled in.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// How long an alert without `endsAt` stays firing after its last update (default 5m).
    #[serde(deserialize_with = "zero")]
    pub resolve_timeout: Duration,
    /// Default HTTP client settings of every HTTP integration without its own.
    #[serde(deserialize_with = "zero")]
    pub http_config: HttpConfig,
    /// Default email sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_from: Option<String>,
    /// Default SMTP HELO/EHLO name (default `localhost`).
    #[serde(deserialize_with = "zero")]
    pub smtp_hello: String,
    /// Default SMTP server, `host:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_smarthost: Option<String>,
    /// Default SMTP user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_username: Option<String>,
    /// Default SMTP password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_password: Option<Secret<String>>,
    /// File holding the default SMTP password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_password_file: Option<PathBuf>,
    /// Default CRAM-MD5 secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_secret: Option<Secret<String>>,
    /// File holding the default CRAM-MD5 secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_secret_file: Option<PathBuf>,
    /// Default PLAIN auth identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_identity: Option<String>,
    /// Require STARTTLS by default (default true).
    #[serde(deserialize_with = "zero")]
    pub smtp_require_tls: bool,
    /// Default SMTP TLS settings (0.30+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_tls_config: Option<TlsConfig>,
    /// Default implicit-TLS choice (0.31+); unset means port 465 uses implicit TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_force_implicit_tls: Option<bool>,
    /// Default Slack webhook URL (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_api_url: Option<Secret<String>>,
    /// File holding the default Slack webhook URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_api_url_file: Option<PathBuf>,
    /// Default Slack app token (0.30+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_app_token: Option<Secret<String>>,
    /// File holding the default Slack app token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_app_token_file: Option<PathBuf>,
    /// Slack API URL used with an app token (default `chat.postMessage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_app_url: Option<String>,
    /// Default PagerDuty Events API URL.
    #[serde(deserialize_with = "zero", default = "d_pagerduty")]
    pub pagerduty_url: String,
    /// OpsGenie API URL (integration not supported by tocsin).
    #[serde(deserialize_with = "zero", default = "d_opsgenie")]
    pub opsgenie_api_url: String,
    /// OpsGenie API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opsgenie_api_key: Option<Secret<String>>,
    /// File holding the OpsGenie API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opsgenie_api_key_file: Option<PathBuf>,
    /// WeChat API URL (not supported).
    #[serde(deserialize_with = "zero", default = "d_wechat")]
    pub wechat_api_url: String,
    /// WeChat API secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_api_secret: Option<Secret<String>>,
    /// File holding the WeChat API secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_api_secret_file: Option<PathBuf>,
    /// WeChat corp ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_api_corp_id: Option<String>,
    /// VictorOps API URL (not supported).
    #[serde(deserialize_with = "zero", default = "d_victorops")]
    pub victorops_api_url: String,
    /// VictorOps API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub victorops_api_key: Option<Secret<String>>,
    /// File holding the VictorOps API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub victorops_api_key_file: Option<PathBuf>,
    /// Telegram API URL (not supported).
    #[serde(deserialize_with = "zero", default = "d_telegram")]
    pub telegram_api_url: String,
    /// Telegram bot token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram_bot_token: Option<Secret<String>>,
    /// File holding the Telegram bot token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram_bot_token_file: Option<PathBuf>,
    /// Webex API URL (not supported).
    #[serde(deserialize_with = "zero", default = "d_webex")]
    pub webex_api_url: String,
    /// Rocket.Chat API URL (default `https://open.rocket.chat/`; integration not supported).
    #[serde(
        default = "d_rocketchat",
        skip_serializing_if = "is_default_rocketchat"
    )]
    pub rocketchat_api_url: Option<String>,
    /// Rocket.Chat token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rocketchat_token: Option<Secret<String>>,
    /// File holding the Rocket.Chat token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rocketchat_token_file: Option<PathBuf>,
    /// Rocket.Chat token ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rocketchat_token_id: Option<Secret<String>>,
    /// File holding the Rocket.Chat token ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rocketchat_token_id_file: Option<PathBuf>,
    /// Jira API URL (not supported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jira_api_url: Option<String>,
    /// Mattermost webhook URL (not supported; a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mattermost_webhook_url: Option<Secret<String>>,
    /// File holding the Mattermost webhook URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mattermost_webhook_url_file: Option<PathBuf>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            resolve_timeout: d_resolve_timeout(),
            http_config: HttpConfig::default(),
            smtp_from: None,
            smtp_hello: d_hello(),
            smtp_smarthost: None,
            smtp_auth_username: None,
            smtp_auth_password: None,
            smtp_auth_password_file: None,
            smtp_auth_secret: None,
            smtp_auth_secret_file: None,
            smtp_auth_identity: None,
            smtp_require_tls: yes(),
            smtp_tls_config: None,
            smtp_force_implicit_tls: None,
            slack_api_url: None,
            slack_api_url_file: None,
            slack_app_token: None,
            slack_app_token_file: None,
            slack_app_url: None,
            pagerduty_url: d_pagerduty(),
            opsgenie_api_url: d_opsgenie(),
            opsgenie_api_key: None,
            opsgenie_api_key_file: None,
            wechat_api_url: d_wechat(),
            wechat_api_secret: None,
            wechat_api_secret_file: None,
            wechat_api_corp_id: None,
            victorops_api_url: d_victorops(),
            victorops_api_key: None,
            victorops_api_key_file: None,
            telegram_api_url: d_telegram(),
            telegram_bot_token: None,
            telegram_bot_token_file: None,
            webex_api_url: d_webex(),
            rocketchat_api_url: d_rocketchat(),
            rocketchat_token: None,
            rocketchat_token_file: None,
            rocketchat_token_id: None,
            rocketchat_token_id_file: None,
            jira_api_url: None,
            mattermost_webhook_url: None,
            mattermost_webhook_url_file: None,
        }
    }
}

impl GlobalConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>) {
        let p = "global";
        self.http_config.validate(ctx, "global.http_config");
        let pairs = [
            (
                "smtp_auth_password",
                self.smtp_auth_password.is_some(),
                self.smtp_auth_password_file.is_some(),
            ),
            (
                "smtp_auth_secret",
                self.smtp_auth_secret.is_some(),
                self.smtp_auth_secret_file.is_some(),
            ),
            (
                "slack_api_url",
                self.slack_api_url.is_some(),
                self.slack_api_url_file.is_some(),
            ),
            (
                "slack_app_token",
                self.slack_app_token.is_some(),
                self.slack_app_token_file.is_some(),
            ),
            (
                "opsgenie_api_key",
                self.opsgenie_api_key.is_some(),
                self.opsgenie_api_key_file.is_some(),
            ),
            (
                "wechat_api_secret",
                self.wechat_api_secret.is_some(),
                self.wechat_api_secret_file.is_some(),
            ),
            (
                "victorops_api_key",
                self.victorops_api_key.is_some(),
                self.victorops_api_key_file.is_some(),
            ),
            (
                "telegram_bot_token",
                self.telegram_bot_token.is_some(),
                self.telegram_bot_token_file.is_some(),
            ),
            (
                "rocketchat_token",
                self.rocketchat_token.is_some(),
                self.rocketchat_token_file.is_some(),
            ),
            (
                "rocketchat_token_id",
                self.rocketchat_token_id.is_some(),
                self.rocketchat_token_id_file.is_some(),
            ),
            (
                "mattermost_webhook_url",
                self.mattermost_webhook_url.is_some(),
                self.mattermost_webhook_url_file.is_some(),
            ),
        ];
        for (k, a, b) in pairs {
            both_set(ctx, p, k, a, &format!("{k}_file"), b);
        }
        let slack_url = self.slack_api_url.is_some() || self.slack_api_url_file.is_some();
        let slack_token = self.slack_app_token.is_some() || self.slack_app_token_file.is_some();
        if slack_url && slack_token {
            ctx.error(
                p,
                "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured",
            );
        }
        if let Some(hp) = &self.smtp_smarthost
            && let Some(e) = host_port_problem(hp)
        {
            ctx.error("global.smtp_smarthost", e);
        }
        if let Some(u) = &self.slack_api_url {
            check_secret_url(ctx, "global.slack_api_url", u.expose());
        }
        if let Some(u) = &self.mattermost_webhook_url {
            check_secret_url(ctx, "global.mattermost_webhook_url", u.expose());
        }
        for (k, u) in [
            ("pagerduty_url", Some(&self.pagerduty_url)),
            ("opsgenie_api_url", Some(&self.opsgenie_api_url)),
            ("wechat_api_url", Some(&self.wechat_api_url)),
            ("victorops_api_url", Some(&self.victorops_api_url)),
            ("telegram_api_url", Some(&self.telegram_api_url)),
            ("webex_api_url", Some(&self.webex_api_url)),
            ("slack_app_url", self.slack_app_url.as_ref()),
            ("rocketchat_api_url", self.rocketchat_api_url.as_ref()),
            ("jira_api_url", self.jira_api_url.as_ref()),
        ] {
            // A null value (Go's nil) is no URL; the integrations that need one say so.
            if let Some(u) = u.filter(|u| !u.is_empty()) {
                check_url(ctx, &format!("global.{k}"), u);
            }
        }
        if let Some(t) = &mut self.smtp_tls_config {
            t.validate(ctx, "global.smtp_tls_config");
        }
        for f in [
            &mut self.smtp_auth_password_file,
            &mut self.smtp_auth_secret_file,
            &mut self.slack_api_url_file,
            &mut self.slack_app_token_file,
            &mut self.opsgenie_api_key_file,
            &mut self.wechat_api_secret_file,
            &mut self.victorops_api_key_file,
            &mut self.telegram_bot_token_file,
            &mut self.rocketchat_token_file,
            &mut self.rocketchat_token_id_file,
            &mut self.mattermost_webhook_url_file,
        ] {
            ctx.resolve_opt(f);
        }
    }
}
