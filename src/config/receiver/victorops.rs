//! `victorops_configs`: Splunk On-Call (VictorOps). Parsed and checked as Alertmanager does (its
//! key falls back to `global.victorops_api_key`); tocsin does not send to VictorOps yet.
//! Imports: std, serde, the parent config modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{set, set_str, tmpl, yes};
use crate::config::de::{Integration, zero, zero_values};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};

tmpl! {
    d_message_type => "CRITICAL";
    d_state_message => r#"{{ template "victorops.default.state_message" . }}"#;
    d_entity_display_name => r#"{{ template "victorops.default.entity_display_name" . }}"#;
    d_monitoring_tool => r#"{{ template "victorops.default.monitoring_tool" . }}"#;
}

/// Custom fields that would overwrite the fixed ones.
const RESERVED: &[&str] = &[
    "routing_key",
    "message_type",
    "state_message",
    "entity_display_name",
    "monitoring_tool",
    "entity_id",
    "entity_state",
];

/// One VictorOps routing key.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VictoropsConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// API key (default `global.victorops_api_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret<String>>,
    /// File holding the API key (default `global.victorops_api_key_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    /// API URL (default `global.victorops_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Routing key (template). Required.
    #[serde(default, deserialize_with = "zero")]
    pub routing_key: String,
    /// Message type (template; default `CRITICAL`).
    #[serde(default = "d_message_type", deserialize_with = "zero")]
    pub message_type: String,
    /// State message (template).
    #[serde(default = "d_state_message", deserialize_with = "zero")]
    pub state_message: String,
    /// Entity display name (template).
    #[serde(default = "d_entity_display_name", deserialize_with = "zero")]
    pub entity_display_name: String,
    /// Monitoring tool (template).
    #[serde(default = "d_monitoring_tool", deserialize_with = "zero")]
    pub monitoring_tool: String,
    /// Extra fields (templates).
    #[serde(
        default,
        deserialize_with = "zero_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub custom_fields: BTreeMap<String, String>,
}

impl Integration for VictoropsConfig {
    const NAME: &'static str = "victorops";
}

impl VictoropsConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        if self.routing_key.is_empty() {
            ctx.error(path, "missing Routing key in VictorOps config");
        }
        both_set(
            ctx,
            path,
            "api_key",
            set(&self.api_key),
            "api_key_file",
            set_str(&self.api_key_file),
        );
        for k in RESERVED {
            if self.custom_fields.contains_key(*k) {
                ctx.error(
                    &format!("{path}.custom_fields.{k}"),
                    format!("victorOps config contains custom field {k} which cannot be used as it conflicts with the fixed/static fields"),
                );
            }
        }
        match &self.api_url {
            Some(u) => check_url(ctx, &format!("{path}.api_url"), u),
            None if g.victorops_api_url.is_empty() => {
                ctx.error(path, "no global VictorOps URL set")
            }
            None => self.api_url = Some(g.victorops_api_url.clone()),
        }
        if !set(&self.api_key) && !set_str(&self.api_key_file) {
            if !set(&g.victorops_api_key) && !set_str(&g.victorops_api_key_file) {
                ctx.error(path, "no global VictorOps API Key set");
            }
            self.api_key.clone_from(&g.victorops_api_key);
            self.api_key_file.clone_from(&g.victorops_api_key_file);
        }
        ctx.resolve_opt(&mut self.api_key_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
