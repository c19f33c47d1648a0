//! `jira_configs`: Jira issues. Parsed and checked as Alertmanager does (the API URL falls
//! back to `global.jira_api_url`); tocsin does not open Jira issues yet.
//! Imports: std, serde, `crate::model`, the parent config modules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{tmpl, yes};
use crate::config::de::{Integration, zero, zero_items};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::validate::{Ctx, check_url};
use crate::model::Duration;

tmpl! {
    d_api_type => "auto";
    d_priority => r#"{{ template "jira.default.priority" . }}"#;
}

fn d_summary() -> JiraField {
    JiraField::Template(r#"{{ template "jira.default.summary" . }}"#.to_owned())
}

fn d_description() -> JiraField {
    JiraField::Template(r#"{{ template "jira.default.description" . }}"#.to_owned())
}

/// One Jira project.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// REST API URL (default `global.jira_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// `auto` (default), `cloud` or `datacenter`.
    #[serde(default = "d_api_type", deserialize_with = "zero")]
    pub api_type: String,
    /// Project key. Required.
    #[serde(default, deserialize_with = "zero")]
    pub project: String,
    /// Issue summary (template, or `{template, enable_update}`).
    #[serde(default = "d_summary", deserialize_with = "zero")]
    pub summary: JiraField,
    /// Issue description (template, or `{template, enable_update}`).
    #[serde(default = "d_description", deserialize_with = "zero")]
    pub description: JiraField,
    /// Labels (a list of templates, or `{values, enable_update}`).
    #[serde(default, deserialize_with = "zero")]
    pub labels: JiraLabels,
    /// Priority (template).
    #[serde(default = "d_priority", deserialize_with = "zero")]
    pub priority: String,
    /// Issue type. Required.
    #[serde(default, deserialize_with = "zero")]
    pub issue_type: String,
    /// Transition used to reopen an issue.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub reopen_transition: String,
    /// Transition used to resolve an issue.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub resolve_transition: String,
    /// Resolution that keeps an issue closed.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub wont_fix_resolution: String,
    /// How long after resolution an issue is reopened instead of a new one opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopen_duration: Option<Duration>,
    /// Other issue fields, as Jira takes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A templated Jira field: a plain template, or the object form.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum JiraField {
    /// `summary: '{{ ... }}'`.
    Template(String),
    /// `summary: {template: ..., enable_update: false}`.
    Object(JiraFieldObject),
}

impl Default for JiraField {
    fn default() -> Self {
        JiraField::Template(String::new())
    }
}

/// The object form of a templated Jira field.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JiraFieldObject {
    /// The template.
    #[serde(default, deserialize_with = "zero")]
    pub template: String,
    /// Whether an update of an existing issue rewrites the field (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_update: Option<bool>,
}

/// Jira labels: a list, or the object form.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum JiraLabels {
    /// `labels: [a, b]`.
    List(Vec<String>),
    /// `labels: {values: [a, b], enable_update: false}`.
    Object(JiraLabelsObject),
}

impl Default for JiraLabels {
    fn default() -> Self {
        JiraLabels::List(Vec::new())
    }
}

/// The object form of Jira labels.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JiraLabelsObject {
    /// The labels (templates).
    #[serde(default, deserialize_with = "zero_items")]
    pub values: Vec<String>,
    /// Whether an update of an existing issue rewrites the labels (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_update: Option<bool>,
}

impl Integration for JiraConfig {
    const NAME: &'static str = "jira";
}

impl JiraConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        if self.project.is_empty() {
            ctx.error(path, "missing project in jira_config");
        }
        if self.issue_type.is_empty() {
            ctx.error(path, "missing issue_type in jira_config");
        }
        if !["auto", "cloud", "datacenter"].contains(&self.api_type.as_str()) {
            ctx.error(
                &format!("{path}.api_type"),
                "unknown api_type on jira_config, must be auto, cloud or datacenter",
            );
        }
        match &self.api_url {
            Some(u) => check_url(ctx, &format!("{path}.api_url"), u),
            None => match &g.jira_api_url {
                Some(u) => self.api_url = Some(u.clone()),
                None => ctx.error(path, "no global Jira Cloud URL set"),
            },
        }
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
