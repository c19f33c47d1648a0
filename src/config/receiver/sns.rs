//! `sns_configs`: Amazon SNS. Parsed and checked as Alertmanager does; tocsin does not send to
//! SNS yet.
//! Imports: std, serde, the parent config modules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{is_false, set, tmpl, yes};
use crate::config::de::{Integration, zero, zero_values};
use crate::config::global::GlobalConfig;
use crate::config::http::{self, HttpConfig};
use crate::config::secret::Secret;
use crate::config::validate::Ctx;

tmpl! {
    d_subject => r#"{{ template "sns.default.subject" . }}"#;
    d_message => r#"{{ template "sns.default.message" . }}"#;
}

/// One SNS target.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when not set).
    #[serde(default, deserialize_with = "http::explicit")]
    pub http_config: HttpConfig,
    /// SNS API URL (default: the region's endpoint).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_url: String,
    /// AWS request signing.
    #[serde(default, deserialize_with = "zero")]
    pub sigv4: SigV4Config,
    /// Topic ARN. Exactly one of `topic_arn`, `phone_number`, `target_arn` (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub topic_arn: String,
    /// Phone number for SMS (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub phone_number: String,
    /// Mobile platform endpoint ARN (template).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub target_arn: String,
    /// Subject (template).
    #[serde(default = "d_subject", deserialize_with = "zero")]
    pub subject: String,
    /// Message (template).
    #[serde(default = "d_message", deserialize_with = "zero")]
    pub message: String,
    /// Message attributes.
    #[serde(
        default,
        deserialize_with = "zero_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: BTreeMap<String, String>,
    /// Use the AWS SDK's HTTP client (newer Alertmanager).
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub use_aws_http_client: bool,
}

/// AWS Signature V4 settings.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SigV4Config {
    /// AWS region.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub region: String,
    /// Access key ID (with `secret_key`, or neither).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub access_key: String,
    /// Secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<Secret<String>>,
    /// Named AWS profile.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub profile: String,
    /// Role to assume.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub role_arn: String,
    /// External ID for the role (newer versions).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub external_id: String,
    /// Use the FIPS STS endpoint (newer versions).
    #[serde(default, deserialize_with = "zero", skip_serializing_if = "is_false")]
    pub use_fips_sts_endpoint: bool,
}

impl Integration for SnsConfig {
    const NAME: &'static str = "sns";
}

impl SnsConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        // Alertmanager's own test, kept as written: `(a == "") != (b == "") != (c == "")`, so
        // setting all three passes too.
        let (t, p, a) = (
            self.target_arn.is_empty(),
            self.topic_arn.is_empty(),
            self.phone_number.is_empty(),
        );
        if (t != p) != a {
            ctx.error(
                path,
                "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
            );
        }
        let (key, secret) = (
            !self.sigv4.access_key.is_empty(),
            set(&self.sigv4.secret_key),
        );
        if key != secret {
            ctx.error(
                &format!("{path}.sigv4"),
                "must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config",
            );
        }
        super::inherit_http(&mut self.http_config, &g.http_config, ctx, path);
    }
}
