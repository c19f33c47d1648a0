//! The silence stage: drops alerts an active silence matches, resolved ones included. Reason
//! `silence`. It also tells the pipeline when the silences holding alerts back end, so the group
//! is flushed then (and notified if it still fires), and whether a silence that held one of
//! them ended since the last notification.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Filtered, SuppressReason};
use crate::model::Alert;
use crate::notify::pipeline::FlushCtx;
use crate::silence::{SilenceState, Silences};

/// Drops silenced alerts.
#[derive(Default)]
pub struct SilenceStage {
    /// The silence store (none: nothing is silenced).
    silences: Option<Arc<Silences>>,
}

impl std::fmt::Debug for SilenceStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SilenceStage").finish_non_exhaustive()
    }
}

impl SilenceStage {
    /// A stage over the silence store.
    pub fn new(silences: Arc<Silences>) -> Self {
        SilenceStage {
            silences: Some(silences),
        }
    }

    /// The alerts no active silence matches at `ctx.now`.
    pub fn apply(&self, ctx: &FlushCtx, alerts: Vec<Arc<Alert>>) -> Filtered {
        match &self.silences {
            Some(s) if !s.is_empty() => Filtered::retain(alerts, SuppressReason::Silence, |a| {
                !s.is_silenced(&a.labels, ctx.now)
            }),
            _ => Filtered::all(alerts, SuppressReason::Silence),
        }
    }

    /// Just after the earliest end of the active silences matching `held`: when the group should
    /// be looked at again (a silence is in force up to and including its end).
    pub fn next_end(&self, ctx: &FlushCtx, held: &[Arc<Alert>]) -> Option<Timestamp> {
        let s = self.silences.as_ref()?;
        let ids: Vec<Arc<str>> = held
            .iter()
            .flat_map(|a| s.silenced_by(&a.labels, ctx.now))
            .collect();
        ids.iter()
            .filter_map(|id| s.get(id))
            .map(|sil| sil.ends_at)
            .min()
            .and_then(|t| t.checked_add(SignedDuration::from_millis(1)).ok())
    }

    /// Whether a silence that matches one of `firing` ended (expired, deleted or replaced)
    /// after `since` and by `ctx.now`: the alert was held back and no longer is.
    pub fn ended_since(&self, ctx: &FlushCtx, since: Timestamp, firing: &[Arc<Alert>]) -> bool {
        let Some(s) = &self.silences else {
            return false;
        };
        if firing.is_empty() {
            return false;
        }
        s.ended_between(since, ctx.now)
            .iter()
            .filter(|sil| sil.state(ctx.now) == SilenceState::Expired)
            .any(|sil| firing.iter().any(|a| sil.matches(&a.labels)))
    }
}
