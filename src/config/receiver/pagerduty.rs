//! `pagerduty_configs`: PagerDuty Events API v2 (`routing_key`) or v1 (`service_key`).
//! Imports: std, serde, `crate::model`, the parent config modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::de::zero;

use super::common::{set, set_str};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};
use crate::model::Duration;

fn yes() -> bool {
    true
}
fn d_client() -> String {
    r#"{{ template "pagerduty.default.client" . }}"#.to_owned()
}
fn d_client_url() -> String {
    r#"{{ template "pagerduty.default.clientURL" . }}"#.to_owned()
}
fn d_description() -> String {
    r#"{{ template "pagerduty.default.description" .}}"#.to_owned()
}
fn d_details() -> BTreeMap<String, String> {
    [
        (
            "firing",
            r#"{{ template "pagerduty.default.instances" .Alerts.Firing }}"#,
        ),
        (
            "resolved",
            r#"{{ template "pagerduty.default.instances" .Alerts.Resolved }}"#,
        ),
        ("num_firing", "{{ .Alerts.Firing | len }}"),
        ("num_resolved", "{{ .Alerts.Resolved | len }}"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// One PagerDuty service.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// Events API v1 integration key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key: Option<Secret<String>>,
    /// File holding the v1 key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key_file: Option<PathBuf>,
    /// Events API v2 routing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<Secret<String>>,
    /// File holding the v2 routing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key_file: Option<PathBuf>,
    /// The events URL (default `global.pagerduty_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The client name shown in PagerDuty (template).
    #[serde(default = "d_client", deserialize_with = "zero")]
    pub client: String,
    /// Link back to the client (template).
    #[serde(default = "d_client_url", deserialize_with = "zero")]
    pub client_url: String,
    /// Incident summary (template).
    #[serde(default = "d_description", deserialize_with = "zero")]
    pub description: String,
    /// Custom details (templates).
    #[serde(default = "d_details", deserialize_with = "zero")]
    pub details: BTreeMap<String, String>,
    /// Images attached to the incident.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub images: Vec<PagerdutyImage>,
    /// Links attached to the incident.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub links: Vec<PagerdutyLink>,
    /// Affected system (template; default the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `critical`, `error`, `warning` or `info` (template; default `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Event class (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Affected component (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Logical group (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
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

/// An image on a PagerDuty incident.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyImage {
    /// Image URL (template).
    #[serde(default, deserialize_with = "zero")]
    pub src: String,
    /// Alt text (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub alt: String,
    /// Link (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub href: String,
}

/// A link on a PagerDuty incident.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyLink {
    /// Link (template).
    #[serde(default, deserialize_with = "zero")]
    pub href: String,
    /// Link text (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub text: String,
}

impl PagerdutyConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, global: &GlobalConfig) {
        // As in Alertmanager, an empty key (`routing_key: ''`) is no key.
        let routing = set(&self.routing_key);
        let routing_file = set_str(&self.routing_key_file);
        let service = set(&self.service_key);
        let service_file = set_str(&self.service_key_file);
        if !routing && !routing_file && !service && !service_file {
            ctx.error(path, "missing service or routing key in PagerDuty config");
        }
        both_set(
            ctx,
            path,
            "routing_key",
            routing,
            "routing_key_file",
            routing_file,
        );
        both_set(
            ctx,
            path,
            "service_key",
            service,
            "service_key_file",
            service_file,
        );
        match &self.url {
            Some(u) => check_url(ctx, &format!("{path}.url"), u),
            None if global.pagerduty_url.is_empty() => {
                ctx.error(path, "no global PagerDuty URL set");
            }
            None => self.url = Some(global.pagerduty_url.clone()),
        }
        if let Some(r) = &self.rate_limit {
            r.validate(ctx, &format!("{path}.rate_limit"));
        }
        ctx.resolve_opt(&mut self.routing_key_file);
        ctx.resolve_opt(&mut self.service_key_file);
        super::inherit_http(&mut self.http_config, &global.http_config, ctx, path);
    }
}
