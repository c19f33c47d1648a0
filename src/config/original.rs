//! `config.original`: the loaded config re-serialized as YAML, defaults filled in, secrets shown
//! as `<secret>`, in a form Alertmanager 0.25's parser (amtool) accepts: keys newer than 0.25
//! appear only when the file set them, and tocsin's extension keys are left out.
//! Imports: std, serde, serde-saphyr, sibling modules.

use std::collections::BTreeMap;

use serde::Serialize;

use super::global::GlobalConfig;
use super::http::HttpConfig;
use super::inhibit::RawInhibitRule;
use super::receiver::{
    EmailConfig, OtherConfigs, PagerdutyConfig, Receiver, SlackConfig, WebhookConfig,
};
use super::route::RawRoute;
use super::secret::SECRET_PLACEHOLDER;
use super::time_interval::RawTimeIntervalSet;
use crate::model::Duration;

#[derive(Serialize)]
struct Original<'a> {
    global: &'a GlobalConfig,
    route: &'a RawRoute,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    inhibit_rules: &'a [RawInhibitRule],
    receivers: Vec<OriginalReceiver<'a>>,
    templates: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    mute_time_intervals: &'a [RawTimeIntervalSet],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    time_intervals: &'a [RawTimeIntervalSet],
}

#[derive(Serialize)]
struct OriginalReceiver<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<OriginalWebhook<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    email_configs: &'a [EmailConfig],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pagerduty_configs: &'a [PagerdutyConfig],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    slack_configs: &'a [SlackConfig],
    #[serde(flatten)]
    others: &'a OtherConfigs,
}

/// A webhook with its secret URL reduced to `scheme://host/<secret>`: Alertmanager 0.25 reads
/// `url` as a plain URL and refuses a bare `<secret>`.
#[derive(Serialize)]
struct OriginalWebhook<'a> {
    send_resolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url_file: Option<&'a std::path::Path>,
    http_config: &'a HttpConfig,
    max_alerts: u64,
    #[serde(skip_serializing_if = "crate::config::validate::is_zero")]
    timeout: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a serde_json::Value>,
}

/// `scheme://host[:port]/<secret>`: what of a secret URL can be shown.
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = authority.rsplit('@').next().unwrap_or("");
            format!("{scheme}://{host}/{SECRET_PLACEHOLDER}")
        }
        None => SECRET_PLACEHOLDER.to_owned(),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn render(
    global: &GlobalConfig,
    route: &RawRoute,
    inhibit_rules: &[RawInhibitRule],
    receivers: &[Receiver],
    templates: &[String],
    mute_time_intervals: &[RawTimeIntervalSet],
    time_intervals: &[RawTimeIntervalSet],
) -> String {
    let receivers = receivers
        .iter()
        .map(|r| OriginalReceiver {
            name: &r.name,
            labels: &r.labels,
            webhook_configs: r.webhook_configs.iter().map(webhook).collect(),
            email_configs: &r.email_configs,
            pagerduty_configs: &r.pagerduty_configs,
            slack_configs: &r.slack_configs,
            others: &r.others,
        })
        .collect();
    let doc = Original {
        global,
        route,
        inhibit_rules,
        receivers,
        templates,
        mute_time_intervals,
        time_intervals,
    };
    serde_saphyr::to_string(&doc).unwrap_or_else(|e| format!("# cannot render the config: {e}\n"))
}

fn webhook(w: &WebhookConfig) -> OriginalWebhook<'_> {
    OriginalWebhook {
        send_resolved: w.send_resolved,
        url: w.url.as_ref().map(|u| redact_url(u.expose())),
        url_file: w.url_file.as_deref(),
        http_config: &w.http_config,
        max_alerts: w.max_alerts,
        timeout: w.timeout,
        payload: w.payload.as_ref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts() {
        assert_eq!(
            redact_url("https://user:pw@hc.example:8443/ping/abc?x=1"),
            "https://hc.example:8443/<secret>"
        );
        assert_eq!(redact_url("nope"), "<secret>");
    }
}
