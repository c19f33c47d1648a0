//! `zendesk_configs` (a tocsin extension): one Zendesk ticket per alert group. Parsed and checked
//! here; `notify::zendesk` sends.
//! Imports: std, serde, `crate::model`, the parent config modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::de::zero;

use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};
use crate::model::Duration;

fn yes() -> bool {
    true
}
fn d_subject() -> String {
    r#"{{ template "zendesk.default.subject" . }}"#.to_owned()
}
fn d_comment() -> String {
    r#"{{ template "zendesk.default.comment" . }}"#.to_owned()
}
fn d_priority() -> String {
    r#"{{ template "zendesk.default.priority" . }}"#.to_owned()
}

/// One Zendesk account: a ticket is created per alert group (its `external_id` derived from the
/// group key), commented on when the group changes and solved when it resolves; a closed ticket
/// gets a follow-up.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// Solve the ticket when the group resolves (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// The account's subdomain (`example` for `https://example.zendesk.com`). One of
    /// `subdomain` or `api_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    /// The API base URL (`https://example.zendesk.com/api/v2/`), for tests and proxies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The agent's email; the API token authenticates as `{email}/token`. Required.
    #[serde(default, deserialize_with = "zero")]
    pub email: String,
    /// The API token. Exactly one of `api_token` or `api_token_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<Secret<String>>,
    /// File holding the API token (relative to the config file's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_file: Option<PathBuf>,
    /// Ticket subject (template).
    #[serde(default = "d_subject", deserialize_with = "zero")]
    pub subject: String,
    /// Ticket body and later comments (template).
    #[serde(default = "d_comment", deserialize_with = "zero")]
    pub comment: String,
    /// `urgent`, `high`, `normal` or `low` (template; the default maps `severity`).
    #[serde(default = "d_priority", deserialize_with = "zero")]
    pub priority: String,
    /// `problem`, `incident`, `question` or `task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    /// Tags on the ticket (templates).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    /// Group the ticket is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u64>,
    /// Agent the ticket is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_email: Option<String>,
    /// Custom field values by field ID (templates).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub custom_fields: BTreeMap<u64, String>,
    /// Per-request timeout; 0 means none.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "crate::config::validate::is_zero"
    )]
    pub timeout: Duration,
}

const PRIORITIES: &[&str] = &["urgent", "high", "normal", "low"];
const TYPES: &[&str] = &["problem", "incident", "question", "task"];

impl ZendeskConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        match (&self.subdomain, &self.api_url) {
            (None, None) => ctx.error(path, "one of subdomain or api_url must be configured"),
            (Some(_), Some(_)) => ctx.error(
                path,
                "at most one of subdomain & api_url must be configured",
            ),
            (Some(s), None) => {
                if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    ctx.error(
                        &format!("{path}.subdomain"),
                        format!("invalid Zendesk subdomain {s:?}"),
                    );
                }
            }
            (None, Some(u)) => check_url(ctx, &format!("{path}.api_url"), u),
        }
        if self.email.is_empty() {
            ctx.error(path, "missing email in Zendesk config");
        }
        both_set(
            ctx,
            path,
            "api_token",
            self.api_token.is_some(),
            "api_token_file",
            self.api_token_file.is_some(),
        );
        if self.api_token.is_none() && self.api_token_file.is_none() {
            ctx.error(
                path,
                "one of api_token or api_token_file must be configured",
            );
        }
        if !self.priority.contains("{{") && !PRIORITIES.contains(&self.priority.as_str()) {
            ctx.error(
                &format!("{path}.priority"),
                format!(
                    "invalid priority {:?}, want one of {PRIORITIES:?}",
                    self.priority
                ),
            );
        }
        if let Some(t) = &self.ticket_type
            && !TYPES.contains(&t.as_str())
        {
            ctx.error(
                &format!("{path}.ticket_type"),
                format!("invalid ticket_type {t:?}, want one of {TYPES:?}"),
            );
        }
        ctx.resolve_opt(&mut self.api_token_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }

    /// The API base URL, from `api_url` or `subdomain`.
    pub fn base_url(&self) -> String {
        match (&self.api_url, &self.subdomain) {
            (Some(u), _) => u.clone(),
            (None, Some(s)) => format!("https://{s}.zendesk.com/api/v2/"),
            (None, None) => String::new(),
        }
    }
}
