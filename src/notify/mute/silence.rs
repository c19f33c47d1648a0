//! The silence stage: drops alerts an active silence matches, resolved ones included. Reason
//! `silence`.
//!
//! Pass-through until silences land (README "Not yet"): its issue adds the silence store handle
//! to [`SilenceStage`] and the matching to [`SilenceStage::apply`].

use std::sync::Arc;

use super::{Filtered, SuppressReason};
use crate::model::Alert;
use crate::notify::pipeline::FlushCtx;

/// Drops silenced alerts.
#[derive(Debug, Default)]
pub struct SilenceStage {}

impl SilenceStage {
    /// The alerts no active silence matches (today: all of them).
    pub fn apply(&self, _ctx: &FlushCtx, alerts: Vec<Arc<Alert>>) -> Filtered {
        Filtered::all(alerts, SuppressReason::Silence)
    }
}
