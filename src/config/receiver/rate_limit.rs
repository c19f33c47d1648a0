//! `rate_limit:` (tocsin extension) on `webhook_configs`, `pagerduty_configs` and `slack_configs`
//! entries: overrides the integration's default send rate.
//!
//! ```yaml
//! pagerduty_configs:
//!   - routing_key: ...
//!     rate_limit: {events: 600, per: 1m}   # default 120 per minute per routing key
//! slack_configs:
//!   - api_url: ...
//!     rate_limit: {events: 0}              # 0: no limit
//! ```
//!
//! Defaults: PagerDuty 120 events per minute per routing key (burst 120), Slack 1 message per
//! second per channel (burst 3), webhooks none. Sends over the rate wait in a bounded queue.
//! Imports: serde, `crate::model`, the parent config modules.

use serde::{Deserialize, Serialize};

use crate::config::validate::Ctx;
use crate::model::Duration;

fn one_second() -> Duration {
    "1s".parse().unwrap_or_default()
}

/// A send rate: `events` per `per`, in bursts of at most `burst`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// How many sends per `per`; 0 turns the limit off.
    pub events: u32,
    /// The period (default 1s).
    #[serde(default = "one_second")]
    pub per: Duration,
    /// The most sends let through at once (default `events`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl RateLimitConfig {
    pub(crate) fn validate(&self, ctx: &mut Ctx<'_>, path: &str) {
        if self.events > 0 && self.per.is_zero() {
            ctx.error(
                &format!("{path}.per"),
                "rate_limit.per must be greater than 0",
            );
        }
        if self.burst == Some(0) {
            ctx.error(
                &format!("{path}.burst"),
                "rate_limit.burst must be greater than 0",
            );
        }
    }
}
