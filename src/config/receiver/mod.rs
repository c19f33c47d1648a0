//! `receivers:`: named notification targets. Webhook, email, PagerDuty, Slack and our Zendesk
//! extension are fully typed (`notify` warns about those it does not send to yet); every other
//! Alertmanager integration is parsed as opaque YAML and reported as a warning.
//! Imports: std, serde, the parent config modules.

mod email;
mod pagerduty;
mod slack;
mod webhook;
mod zendesk;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

pub use email::{EmailConfig, EmailThreading};
pub use pagerduty::{PagerdutyConfig, PagerdutyImage, PagerdutyLink};
pub use slack::{SlackAction, SlackConfig, SlackConfirm, SlackField};
pub use webhook::WebhookConfig;
pub use zendesk::ZendeskConfig;

use super::global::GlobalConfig;
use super::http::HttpConfig;
use super::validate::Ctx;

/// The Alertmanager integrations tocsin parses but does not send to.
pub const UNSUPPORTED_INTEGRATIONS: &[&str] = &[
    "discord",
    "incidentio",
    "jira",
    "mattermost",
    "msteams",
    "msteamsv2",
    "opsgenie",
    "pushover",
    "rocketchat",
    "sns",
    "telegram",
    "victorops",
    "webex",
    "wechat",
];

/// A receiver as written in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReceiver {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    webhook_configs: Vec<WebhookConfig>,
    #[serde(default)]
    email_configs: Vec<EmailConfig>,
    #[serde(default)]
    pagerduty_configs: Vec<PagerdutyConfig>,
    #[serde(default)]
    slack_configs: Vec<SlackConfig>,
    #[serde(default)]
    zendesk_configs: Vec<ZendeskConfig>,
    discord_configs: Option<Vec<serde_json::Value>>,
    incidentio_configs: Option<Vec<serde_json::Value>>,
    jira_configs: Option<Vec<serde_json::Value>>,
    mattermost_configs: Option<Vec<serde_json::Value>>,
    msteams_configs: Option<Vec<serde_json::Value>>,
    msteamsv2_configs: Option<Vec<serde_json::Value>>,
    opsgenie_configs: Option<Vec<serde_json::Value>>,
    pushover_configs: Option<Vec<serde_json::Value>>,
    rocketchat_configs: Option<Vec<serde_json::Value>>,
    sns_configs: Option<Vec<serde_json::Value>>,
    telegram_configs: Option<Vec<serde_json::Value>>,
    victorops_configs: Option<Vec<serde_json::Value>>,
    webex_configs: Option<Vec<serde_json::Value>>,
    wechat_configs: Option<Vec<serde_json::Value>>,
}

/// Configs of integrations tocsin does not send to, kept as parsed YAML so `original` can show
/// them. Debug prints only their names: they may hold secrets.
#[derive(Clone, PartialEq, Default)]
pub struct UnsupportedConfigs(pub(crate) BTreeMap<String, Vec<serde_json::Value>>);

impl fmt::Debug for UnsupportedConfigs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// A validated receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    /// Unique name, referenced by routes.
    pub name: String,
    /// Receiver labels (0.33+; shown by `/api/v2/receivers`).
    pub labels: BTreeMap<String, String>,
    /// Webhook targets.
    pub webhook_configs: Vec<WebhookConfig>,
    /// Email targets.
    pub email_configs: Vec<EmailConfig>,
    /// PagerDuty targets.
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Slack targets.
    pub slack_configs: Vec<SlackConfig>,
    /// Zendesk targets (tocsin extension; not sent yet).
    pub zendesk_configs: Vec<ZendeskConfig>,
    /// Names of the configured integrations tocsin does not send to (`opsgenie`, ...).
    pub unsupported: Vec<String>,
    /// Their parsed configs.
    pub unsupported_configs: UnsupportedConfigs,
}

impl Receiver {
    /// Number of integrations tocsin will send to.
    pub fn integration_count(&self) -> usize {
        self.webhook_configs.len()
            + self.email_configs.len()
            + self.pagerduty_configs.len()
            + self.slack_configs.len()
    }
}

/// Uses the global `http_config` when the integration has none; validates its own otherwise.
pub(crate) fn inherit_http(
    own: &mut HttpConfig,
    global: &HttpConfig,
    ctx: &mut Ctx<'_>,
    path: &str,
) {
    if own.explicit {
        own.validate(ctx, &format!("{path}.http_config"));
    } else {
        *own = global.clone();
    }
}

impl RawReceiver {
    pub(crate) fn validate(self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) -> Receiver {
        if self.name.is_empty() {
            ctx.error(path, "missing name in receiver");
        }
        let RawReceiver {
            name,
            labels,
            mut webhook_configs,
            mut email_configs,
            mut pagerduty_configs,
            mut slack_configs,
            mut zendesk_configs,
            ..
        } = self;
        for (i, c) in webhook_configs.iter_mut().enumerate() {
            c.validate(ctx, &format!("{path}.webhook_configs[{i}]"), &g.http_config);
        }
        for (i, c) in email_configs.iter_mut().enumerate() {
            c.validate(ctx, &format!("{path}.email_configs[{i}]"), g);
        }
        for (i, c) in pagerduty_configs.iter_mut().enumerate() {
            c.validate(ctx, &format!("{path}.pagerduty_configs[{i}]"), g);
        }
        for (i, c) in slack_configs.iter_mut().enumerate() {
            c.validate(ctx, &format!("{path}.slack_configs[{i}]"), g);
        }
        for (i, c) in zendesk_configs.iter_mut().enumerate() {
            c.validate(ctx, &format!("{path}.zendesk_configs[{i}]"), g);
        }
        Receiver {
            name,
            labels,
            webhook_configs,
            email_configs,
            pagerduty_configs,
            slack_configs,
            zendesk_configs,
            unsupported: Vec::new(),
            unsupported_configs: UnsupportedConfigs::default(),
        }
    }

    /// The opaque configs, by integration name, in Alertmanager's documentation order.
    pub(crate) fn take_unsupported(&mut self) -> BTreeMap<String, Vec<serde_json::Value>> {
        let mut out = BTreeMap::new();
        let all = [
            ("discord", self.discord_configs.take()),
            ("incidentio", self.incidentio_configs.take()),
            ("jira", self.jira_configs.take()),
            ("mattermost", self.mattermost_configs.take()),
            ("msteams", self.msteams_configs.take()),
            ("msteamsv2", self.msteamsv2_configs.take()),
            ("opsgenie", self.opsgenie_configs.take()),
            ("pushover", self.pushover_configs.take()),
            ("rocketchat", self.rocketchat_configs.take()),
            ("sns", self.sns_configs.take()),
            ("telegram", self.telegram_configs.take()),
            ("victorops", self.victorops_configs.take()),
            ("webex", self.webex_configs.take()),
            ("wechat", self.wechat_configs.take()),
        ];
        for (name, v) in all {
            if let Some(v) = v {
                out.insert(name.to_owned(), v);
            }
        }
        out
    }
}

/// Builds the validated receiver list, with the unsupported-integration warnings.
pub(crate) fn build(raws: Vec<RawReceiver>, ctx: &mut Ctx<'_>, g: &GlobalConfig) -> Vec<Receiver> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::with_capacity(raws.len());
    for (i, mut raw) in raws.into_iter().enumerate() {
        let path = format!("receivers[{i}]");
        let unsupported = raw.take_unsupported();
        let mut r = raw.validate(ctx, &path, g);
        for (name, configs) in &unsupported {
            if !configs.is_empty() {
                ctx.warn(
                    &format!("{path}.{name}_configs"),
                    format!("{name} is not supported by tocsin; this receiver will not send to it"),
                );
            }
        }
        r.unsupported = unsupported
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        r.unsupported_configs = UnsupportedConfigs(unsupported);
        if !r.name.is_empty() && seen.insert(r.name.clone(), i).is_some() {
            ctx.error(
                &format!("{path}.name"),
                format!("notification config name {:?} is not unique", r.name),
            );
        }
        out.push(r);
    }
    out
}
