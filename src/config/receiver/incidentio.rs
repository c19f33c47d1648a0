//! `incidentio_configs`: incident.io alert sources. Parsed and checked as Alertmanager does;
//! tocsin does not send to incident.io yet.
//! Imports: std, serde, the parent config modules.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{check_go_duration, set, set_str, yes};
use crate::config::de::{Integration, go_integer, zero};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, check_url};

/// One incident.io alert source.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentioConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// The alert source URL. One of `url`/`url_file` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// File holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// The alert source token (or `http_config.authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_source_token: Option<Secret<String>>,
    /// File holding the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_source_token_file: Option<PathBuf>,
    /// At most this many alerts per message; 0 means all.
    #[serde(default, deserialize_with = "go_integer")]
    pub max_alerts: u64,
    /// Per-request timeout (Go duration); 0 means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

impl Integration for IncidentioConfig {
    const NAME: &'static str = "incidentio";
}

impl IncidentioConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        let (url, url_file) = (self.url.is_some(), set_str(&self.url_file));
        if !url && !url_file {
            ctx.error(path, "one of url or url_file must be configured");
        }
        if url && url_file {
            ctx.error(path, "at most one of url & url_file must be configured");
        }
        if let Some(u) = &self.url {
            check_url(ctx, &format!("{path}.url"), u);
        }
        let token = set(&self.alert_source_token);
        let token_file = set_str(&self.alert_source_token_file);
        both_set(
            ctx,
            path,
            "alert_source_token",
            token,
            "alert_source_token_file",
            token_file,
        );
        let explicit_http = self.http_config.explicit;
        let auth = explicit_http && self.http_config.has_authorization();
        if auth && (token || token_file) {
            ctx.error(path, "cannot specify alert_source_token or alert_source_token_file when using http_config.authorization");
        }
        // As in Alertmanager, only an own http_config without authorization makes a token
        // required.
        if explicit_http && !auth && !token && !token_file {
            ctx.error(path, "at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured");
        }
        check_go_duration(ctx, &format!("{path}.timeout"), &self.timeout);
        ctx.resolve_opt(&mut self.url_file);
        ctx.resolve_opt(&mut self.alert_source_token_file);
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
