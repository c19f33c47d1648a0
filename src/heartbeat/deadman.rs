//! The dead man's switch verdict: whether tocsin may ping a target now, or why not.
//!
//! tocsin pings only while it is itself healthy: its config loaded (the last reload succeeded),
//! its state store takes writes, no notification flush overdue, and, when the target has `require_alerts`, a matching alert
//! active and received within `max_age` (so the ping proves Prometheus -> tocsin works, not only
//! that the process is alive). Pure: the caller gathers the facts and sends the ping.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::config::DeadMansSwitchConfig;
use crate::model::{Alert, all_match};

/// Facts about tocsin's own health, gathered by the caller.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// The last config (re)load failed (the old config is still running).
    pub config_failed: bool,
    /// A notification flush is overdue (what, for the reason text).
    pub overdue_flush: Option<String>,
    /// Why the state store takes no writes (`storage: disk full ...`), if so: what tocsin
    /// acknowledges would not survive a restart.
    pub storage: Option<String>,
}

/// `Ok` when the target may be pinged; otherwise the reason (sent to `fail_url`).
pub fn verdict(
    target: &DeadMansSwitchConfig,
    health: &Health,
    alerts: &[Arc<Alert>],
    now: Timestamp,
) -> Result<(), String> {
    if health.config_failed {
        return Err("the last configuration reload failed".to_owned());
    }
    if let Some(why) = &health.storage {
        return Err(format!("the state store takes no writes: {why}"));
    }
    if let Some(o) = &health.overdue_flush {
        return Err(format!("a notification flush is overdue: {o}"));
    }
    if target.matchers.is_empty() {
        return Ok(());
    }
    let max_age = SignedDuration::try_from(target.max_age.std()).unwrap_or(SignedDuration::MAX);
    let oldest = now.checked_sub(max_age).unwrap_or(Timestamp::MIN);
    let matching = alerts
        .iter()
        .filter(|a| !a.resolved_at(now) && all_match(&target.matchers, &a.labels));
    match matching.map(|a| a.updated_at).max() {
        Some(t) if t >= oldest => Ok(()),
        Some(t) => Err(format!(
            "the required alert {} was last received at {t}, more than max_age {} ago",
            crate::model::matchers_to_string(&target.matchers),
            target.max_age
        )),
        None => Err(format!(
            "no active alert matches require_alerts {}",
            crate::model::matchers_to_string(&target.matchers)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn target() -> DeadMansSwitchConfig {
        let yaml = "route: {receiver: r}\nreceivers: [{name: r}]\ndead_mans_switch:\n  url: http://127.0.0.1:9/ping\n";
        let cfg = Config::from_yaml(yaml, std::path::Path::new("."), "t.yml")
            .unwrap_or_else(|e| panic!("{e}"));
        cfg.dead_mans_switch.into_iter().next().expect("a target")
    }

    #[test]
    fn a_store_that_takes_no_writes_stops_the_pings_with_its_reason() {
        let t = target();
        let now = crate::clock::now();
        assert_eq!(verdict(&t, &Health::default(), &[], now), Ok(()));
        let full = Health {
            storage: Some("storage: disk full (data/tocsin.redb: No space left on device)".into()),
            ..Health::default()
        };
        let why = verdict(&t, &full, &[], now).unwrap_err();
        assert!(
            why.contains("state store") && why.contains("disk full"),
            "{why}"
        );
    }
}
