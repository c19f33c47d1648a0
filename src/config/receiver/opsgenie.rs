//! `opsgenie_configs`: OpsGenie alerts. Parsed and checked as Alertmanager does (its key falls
//! back to `global.opsgenie_api_key`); tocsin does not send to OpsGenie yet.
//! Imports: std, serde, the parent config modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{is_false, set, set_str, template_problem, tmpl, yes};
use crate::config::de::{Integration, zero, zero_items, zero_values};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};

tmpl! {
    d_message => r#"{{ template "opsgenie.default.message" . }}"#;
    d_description => r#"{{ template "opsgenie.default.description" . }}"#;
    d_source => r#"{{ template "opsgenie.default.source" . }}"#;
}

/// One OpsGenie integration.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// API key (default `global.opsgenie_api_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret<String>>,
    /// File holding the API key (default `global.opsgenie_api_key_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    /// API URL (default `global.opsgenie_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Alert text (template).
    #[serde(default = "d_message", deserialize_with = "zero")]
    pub message: String,
    /// Description (template).
    #[serde(default = "d_description", deserialize_with = "zero")]
    pub description: String,
    /// Source (template).
    #[serde(default = "d_source", deserialize_with = "zero")]
    pub source: String,
    /// Extra details (templates).
    #[serde(
        default,
        deserialize_with = "zero_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub details: BTreeMap<String, String>,
    /// Entity (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub entity: String,
    /// Who is notified.
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub responders: Vec<OpsgenieResponder>,
    /// Comma-separated actions (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub actions: String,
    /// Comma-separated tags (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub tags: String,
    /// Note (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub note: String,
    /// Priority, `P1`..`P5` (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub priority: String,
    /// Update message and description of existing alerts.
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub update_alerts: bool,
}

/// An OpsGenie responder: one of `id`, `name` or `username`, and a type.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieResponder {
    /// Responder ID (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub id: String,
    /// Responder name (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// User name (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub username: String,
    /// `team`, `teams`, `user`, `escalation` or `schedule` (or a template).
    #[serde(
        default,
        rename = "type",
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
}

impl Integration for OpsgenieConfig {
    const NAME: &'static str = "opsgenie";
}

/// Go's `%v` of a responder, as Alertmanager's messages print it: `{id name username type}`.
fn show(r: &OpsgenieResponder) -> String {
    format!("{{{} {} {} {}}}", r.id, r.name, r.username, r.kind)
}

impl OpsgenieConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        both_set(
            ctx,
            path,
            "api_key",
            set(&self.api_key),
            "api_key_file",
            set_str(&self.api_key_file),
        );
        for (i, r) in self.responders.iter_mut().enumerate() {
            let rp = format!("{path}.responders[{i}]");
            if r.id.is_empty() && r.name.is_empty() && r.username.is_empty() {
                ctx.error(&rp, format!("opsGenieConfig responder {} has to have at least one of id, username or name specified", show(r)));
            }
            if r.kind.contains("{{") {
                if let Some(e) = template_problem(&r.kind) {
                    ctx.error(
                        &format!("{rp}.type"),
                        format!(
                            "opsGenieConfig responder {} type is not a valid template: {e}",
                            show(r)
                        ),
                    );
                }
            } else if !["team", "teams", "user", "escalation", "schedule"]
                .contains(&r.kind.to_lowercase().as_str())
            {
                ctx.error(&format!("{rp}.type"), format!("opsGenieConfig responder {} type does not match valid options ^(team|teams|user|escalation|schedule)$", show(r)));
            }
        }
        match &self.api_url {
            Some(u) => check_url(ctx, &format!("{path}.api_url"), u),
            None if g.opsgenie_api_url.is_empty() => ctx.error(path, "no global OpsGenie URL set"),
            None => self.api_url = Some(g.opsgenie_api_url.clone()),
        }
        if !set(&self.api_key) && !set_str(&self.api_key_file) {
            if !set(&g.opsgenie_api_key) && !set_str(&g.opsgenie_api_key_file) {
                ctx.error(
                    path,
                    "no global OpsGenie API Key set either inline or in a file",
                );
            }
            self.api_key.clone_from(&g.opsgenie_api_key);
            self.api_key_file.clone_from(&g.opsgenie_api_key_file);
        }
        ctx.resolve_opt(&mut self.api_key_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
