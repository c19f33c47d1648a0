//! The time-interval stage: outside every one of the route's `active_time_intervals`, or inside
//! any of its `mute_time_intervals`, the whole group is held back (reasons
//! `active_time_interval`, `mute_time_interval`).
//!
//! Pass-through until time intervals land (README "Not yet"): its issue adds the interval names
//! to `FlushCtx`, the resolved intervals to [`TimeIntervalStage`], and the check to
//! [`TimeIntervalStage::apply`].

use std::sync::Arc;

use super::{Filtered, SuppressReason};
use crate::model::Alert;
use crate::notify::pipeline::FlushCtx;

/// Holds the whole group back outside its active intervals or inside its mute intervals.
#[derive(Debug, Default)]
pub struct TimeIntervalStage {}

impl TimeIntervalStage {
    /// The alerts that may be sent at `ctx.now` (today: all of them).
    pub fn apply(&self, _ctx: &FlushCtx, alerts: Vec<Arc<Alert>>) -> Filtered {
        Filtered::all(alerts, SuppressReason::MuteTimeInterval)
    }
}
