//! The inhibit stage: drops alerts that an inhibition rule mutes (a matching source alert is
//! firing with equal `equal` labels). Reason `inhibition`.
//!
//! Pass-through until inhibition lands (README "Not yet"): its issue adds the inhibitor handle to
//! [`InhibitStage`] and the check to [`InhibitStage::apply`].

use std::sync::Arc;

use super::{Filtered, SuppressReason};
use crate::model::Alert;
use crate::notify::pipeline::FlushCtx;

/// Drops inhibited alerts.
#[derive(Debug, Default)]
pub struct InhibitStage {}

impl InhibitStage {
    /// The alerts no inhibition rule mutes (today: all of them).
    pub fn apply(&self, _ctx: &FlushCtx, alerts: Vec<Arc<Alert>>) -> Filtered {
        Filtered::all(alerts, SuppressReason::Inhibition)
    }
}
