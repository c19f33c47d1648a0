//! The inhibit stage: drops alerts that an inhibition rule mutes (a matching source alert is
//! firing with equal `equal` labels), resolved ones included. Reason `inhibition`.

use std::sync::Arc;

use super::{Filtered, SuppressReason};
use crate::inhibit::Inhibitor;
use crate::model::Alert;
use crate::notify::pipeline::FlushCtx;

/// Drops inhibited alerts.
#[derive(Default)]
pub struct InhibitStage {
    /// The rules and their source alerts (none: nothing is inhibited).
    inhibitor: Option<Arc<Inhibitor>>,
}

impl std::fmt::Debug for InhibitStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InhibitStage").finish_non_exhaustive()
    }
}

impl InhibitStage {
    /// A stage over the inhibitor.
    pub fn new(inhibitor: Arc<Inhibitor>) -> Self {
        InhibitStage {
            inhibitor: Some(inhibitor),
        }
    }

    /// The alerts no inhibition rule mutes at `ctx.now`.
    pub fn apply(&self, ctx: &FlushCtx, alerts: Vec<Arc<Alert>>) -> Filtered {
        match &self.inhibitor {
            Some(ih) if !ih.is_empty() => {
                Filtered::retain(alerts, SuppressReason::Inhibition, |a| {
                    !ih.mutes(&a.labels, ctx.now)
                })
            }
            _ => Filtered::all(alerts, SuppressReason::Inhibition),
        }
    }
}
