//! `receivers:`: named notification targets. Every Alertmanager integration and our Zendesk
//! extension is fully typed and checked as Alertmanager checks it (one file each; `notify` warns
//! about those of the first five it does not send to yet); the 14 tocsin does not send to at
//! all are reported here as warnings.
//! Imports: std, serde, the parent config modules.

mod common;
mod discord;
mod email;
mod incidentio;
mod jira;
mod mattermost;
mod msteams;
mod opsgenie;
mod pagerduty;
mod pushover;
mod rate_limit;
mod rocketchat;
mod slack;
mod sns;
mod telegram;
mod victorops;
mod webex;
mod webhook;
mod wechat;
mod zendesk;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use common::go_duration_problem;
pub use discord::DiscordConfig;
pub use email::{EmailConfig, EmailThreading};
pub use incidentio::IncidentioConfig;
pub use jira::{JiraConfig, JiraField, JiraFieldObject, JiraLabels, JiraLabelsObject};
pub use mattermost::{
    MattermostAttachment, MattermostConfig, MattermostField, MattermostPriority, MattermostProps,
};
pub use msteams::{MsteamsConfig, Msteamsv2Config};
pub use opsgenie::{OpsgenieConfig, OpsgenieResponder};
pub use pagerduty::{PagerdutyConfig, PagerdutyImage, PagerdutyLink};
pub use pushover::PushoverConfig;
pub use rate_limit::RateLimitConfig;
pub use rocketchat::{RocketchatAction, RocketchatConfig, RocketchatField};
pub use slack::{SlackAction, SlackConfig, SlackConfirm, SlackField};
pub use sns::{SigV4Config, SnsConfig};
pub use telegram::TelegramConfig;
pub use victorops::VictoropsConfig;
pub use webex::WebexConfig;
pub use webhook::WebhookConfig;
pub use wechat::WechatConfig;
pub use zendesk::ZendeskConfig;

use super::de::{Integration, configs, zero, zero_values};
use super::global::GlobalConfig;
use super::http::HttpConfig;
use super::validate::Ctx;
use crate::model::{NameValidation, is_valid_label_name};

impl Integration for WebhookConfig {
    const NAME: &'static str = "webhook";
}
impl Integration for EmailConfig {
    const NAME: &'static str = "email";
}
impl Integration for PagerdutyConfig {
    const NAME: &'static str = "pagerduty";
}
impl Integration for SlackConfig {
    const NAME: &'static str = "slack";
}
impl Integration for ZendeskConfig {
    const NAME: &'static str = "zendesk";
}

/// The Alertmanager integrations tocsin parses and checks but does not send to.
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
    #[serde(default, deserialize_with = "zero")]
    name: String,
    #[serde(default, deserialize_with = "zero_values")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "configs")]
    webhook_configs: Vec<WebhookConfig>,
    #[serde(default, deserialize_with = "configs")]
    email_configs: Vec<EmailConfig>,
    #[serde(default, deserialize_with = "configs")]
    pagerduty_configs: Vec<PagerdutyConfig>,
    #[serde(default, deserialize_with = "configs")]
    slack_configs: Vec<SlackConfig>,
    #[serde(default, deserialize_with = "configs")]
    zendesk_configs: Vec<ZendeskConfig>,
    #[serde(default)]
    send_resolved_when_muted: Option<bool>,
    #[serde(default, deserialize_with = "configs")]
    discord_configs: Vec<DiscordConfig>,
    #[serde(default, deserialize_with = "configs")]
    incidentio_configs: Vec<IncidentioConfig>,
    #[serde(default, deserialize_with = "configs")]
    jira_configs: Vec<JiraConfig>,
    #[serde(default, deserialize_with = "configs")]
    mattermost_configs: Vec<MattermostConfig>,
    #[serde(default, deserialize_with = "configs")]
    msteams_configs: Vec<MsteamsConfig>,
    #[serde(default, deserialize_with = "configs")]
    msteamsv2_configs: Vec<Msteamsv2Config>,
    #[serde(default, deserialize_with = "configs")]
    opsgenie_configs: Vec<OpsgenieConfig>,
    #[serde(default, deserialize_with = "configs")]
    pushover_configs: Vec<PushoverConfig>,
    #[serde(default, deserialize_with = "configs")]
    rocketchat_configs: Vec<RocketchatConfig>,
    #[serde(default, deserialize_with = "configs")]
    sns_configs: Vec<SnsConfig>,
    #[serde(default, deserialize_with = "configs")]
    telegram_configs: Vec<TelegramConfig>,
    #[serde(default, deserialize_with = "configs")]
    victorops_configs: Vec<VictoropsConfig>,
    #[serde(default, deserialize_with = "configs")]
    webex_configs: Vec<WebexConfig>,
    #[serde(default, deserialize_with = "configs")]
    wechat_configs: Vec<WechatConfig>,
}

/// Configs of the Alertmanager integrations tocsin does not send to: fully typed and checked
/// as Alertmanager checks them, so a config that Alertmanager refuses is refused here too.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OtherConfigs {
    /// Discord webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discord_configs: Vec<DiscordConfig>,
    /// incident.io alert sources.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidentio_configs: Vec<IncidentioConfig>,
    /// Jira projects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jira_configs: Vec<JiraConfig>,
    /// Mattermost webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mattermost_configs: Vec<MattermostConfig>,
    /// Teams connectors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub msteams_configs: Vec<MsteamsConfig>,
    /// Teams workflows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub msteamsv2_configs: Vec<Msteamsv2Config>,
    /// OpsGenie.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub opsgenie_configs: Vec<OpsgenieConfig>,
    /// Pushover.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pushover_configs: Vec<PushoverConfig>,
    /// Rocket.Chat.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rocketchat_configs: Vec<RocketchatConfig>,
    /// Amazon SNS.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sns_configs: Vec<SnsConfig>,
    /// Telegram.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telegram_configs: Vec<TelegramConfig>,
    /// VictorOps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub victorops_configs: Vec<VictoropsConfig>,
    /// Webex.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webex_configs: Vec<WebexConfig>,
    /// WeChat.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wechat_configs: Vec<WechatConfig>,
}

impl OtherConfigs {
    /// How many configs each integration has, in [`UNSUPPORTED_INTEGRATIONS`] order.
    pub fn counts(&self) -> [(&'static str, usize); 14] {
        [
            ("discord", self.discord_configs.len()),
            ("incidentio", self.incidentio_configs.len()),
            ("jira", self.jira_configs.len()),
            ("mattermost", self.mattermost_configs.len()),
            ("msteams", self.msteams_configs.len()),
            ("msteamsv2", self.msteamsv2_configs.len()),
            ("opsgenie", self.opsgenie_configs.len()),
            ("pushover", self.pushover_configs.len()),
            ("rocketchat", self.rocketchat_configs.len()),
            ("sns", self.sns_configs.len()),
            ("telegram", self.telegram_configs.len()),
            ("victorops", self.victorops_configs.len()),
            ("webex", self.webex_configs.len()),
            ("wechat", self.wechat_configs.len()),
        ]
    }

    fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        macro_rules! each {
            ($($field:ident),+) => {
                $(
                    for (i, c) in self.$field.iter_mut().enumerate() {
                        c.validate(ctx, &format!("{path}.{}[{i}]", stringify!($field)), g);
                    }
                )+
            };
        }
        each!(
            discord_configs,
            incidentio_configs,
            jira_configs,
            mattermost_configs,
            msteams_configs,
            msteamsv2_configs,
            opsgenie_configs,
            pushover_configs,
            rocketchat_configs,
            sns_configs,
            telegram_configs,
            victorops_configs,
            webex_configs,
            wechat_configs
        );
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
    /// Their configs, checked.
    pub others: OtherConfigs,
    /// `send_resolved_when_muted` (tocsin extension, default true): an integration that was
    /// sent an alert as firing is sent its resolve even when a silence, an inhibition rule or a
    /// mute time interval holds the alert back as it resolves (so PagerDuty incidents and Zendesk
    /// tickets close). `false` drops such resolves, as Alertmanager does.
    pub send_resolved_when_muted: bool,
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
    pub(crate) fn validate(
        self,
        ctx: &mut Ctx<'_>,
        path: &str,
        g: &GlobalConfig,
        names: NameValidation,
    ) -> Receiver {
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
            send_resolved_when_muted,
            discord_configs,
            incidentio_configs,
            jira_configs,
            mattermost_configs,
            msteams_configs,
            msteamsv2_configs,
            opsgenie_configs,
            pushover_configs,
            rocketchat_configs,
            sns_configs,
            telegram_configs,
            victorops_configs,
            webex_configs,
            wechat_configs,
        } = self;
        let mut others = OtherConfigs {
            discord_configs,
            incidentio_configs,
            jira_configs,
            mattermost_configs,
            msteams_configs,
            msteamsv2_configs,
            opsgenie_configs,
            pushover_configs,
            rocketchat_configs,
            sns_configs,
            telegram_configs,
            victorops_configs,
            webex_configs,
            wechat_configs,
        };
        for k in labels.keys() {
            if !is_valid_label_name(k, names) {
                ctx.error(
                    &format!("{path}.labels.{k}"),
                    format!("invalid label name {k:?} in receiver labels"),
                );
            }
        }
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
        others.validate(ctx, path, g);
        let mut unsupported = Vec::new();
        for (kind, n) in others.counts() {
            if n > 0 {
                ctx.warn(
                    &format!("{path}.{kind}_configs"),
                    format!("{kind} is not supported by tocsin; this receiver will not send to it"),
                );
                unsupported.push(kind.to_owned());
            }
        }
        Receiver {
            name,
            labels,
            webhook_configs,
            email_configs,
            pagerduty_configs,
            slack_configs,
            zendesk_configs,
            unsupported,
            others,
            send_resolved_when_muted: send_resolved_when_muted.unwrap_or(true),
        }
    }
}

/// Builds the validated receiver list, with the unsupported-integration warnings.
pub(crate) fn build(
    raws: Vec<RawReceiver>,
    ctx: &mut Ctx<'_>,
    g: &GlobalConfig,
    names: NameValidation,
) -> Vec<Receiver> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.into_iter().enumerate() {
        let path = format!("receivers[{i}]");
        let r = raw.validate(ctx, &path, g, names);
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
