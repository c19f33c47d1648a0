//! The time-interval stage: outside every one of the route's `active_time_intervals`, or inside
//! any of its `mute_time_intervals`, the whole group is held back (reasons
//! `active_time_interval`, `mute_time_interval`), as Alertmanager's TimeActive and TimeMute
//! stages do.
//!
//! Two things Alertmanager does not do, both answered here from the intervals alone (no state):
//! the pipeline asks [`TimeIntervalStage::next_unmute`] when the current or next muted stretch
//! ends, and the dispatcher wakes the group then instead of at its next tick; and dedup asks
//! [`TimeIntervalStage::muted_since`] whether the route was muted since the last notification,
//! so a group still firing when a mute window ends is notified at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::{Filtered, SuppressReason};
use crate::model::Alert;
use crate::notify::pipeline::FlushCtx;
use crate::timeinterval::{LOOKAHEAD, Schedule, TimeIntervalSet};

/// Holds the whole group back outside its active intervals or inside its mute intervals.
#[derive(Debug, Default)]
pub struct TimeIntervalStage {
    /// The config's named time intervals.
    sets: Arc<BTreeMap<String, TimeIntervalSet>>,
}

impl TimeIntervalStage {
    /// A stage over the config's named time intervals.
    pub fn new(sets: Arc<BTreeMap<String, TimeIntervalSet>>) -> Self {
        TimeIntervalStage { sets }
    }

    /// The route's schedule.
    fn schedule<'a>(&'a self, ctx: &'a FlushCtx) -> Schedule<'a> {
        Schedule::new(
            &ctx.active_time_intervals[..],
            &ctx.mute_time_intervals[..],
            |n| self.sets.get(n),
        )
    }

    /// The alerts that may be sent at `ctx.now`: all of them, or none when the route is muted.
    pub fn apply(&self, ctx: &FlushCtx, alerts: Vec<Arc<Alert>>) -> Filtered {
        match self.schedule(ctx).muted_at(ctx.now) {
            None => Filtered::all(alerts, SuppressReason::MuteTimeInterval),
            Some(m) => {
                let reason = if m.inactive {
                    SuppressReason::ActiveTimeInterval
                } else {
                    SuppressReason::MuteTimeInterval
                };
                tracing::debug!(group_key = %ctx.group_key, muted_by = ?m.by, "Group muted.");
                Filtered::retain(alerts, reason, |_| false)
            }
        }
    }

    /// When the route's current muted stretch ends (if muted at `ctx.now`), else when its next
    /// one ends; `None` without intervals or beyond a year.
    pub fn next_unmute(&self, ctx: &FlushCtx) -> Option<Timestamp> {
        let until = ctx.now.checked_add(LOOKAHEAD).unwrap_or(Timestamp::MAX);
        self.schedule(ctx).next_unmute(ctx.now, until)
    }

    /// Whether the route was muted at some instant from `since` up to `ctx.now`.
    pub fn muted_since(&self, ctx: &FlushCtx, since: Timestamp) -> bool {
        self.schedule(ctx).muted_between(since, ctx.now)
    }
}
