//! The mute stages, run in this order on a flushed group's alerts before any integration sees
//! them (Alertmanager's order, reference §4.3):
//!
//! ```text
//! inhibit -> time intervals (active, then mute) -> silence
//! ```
//!
//! Each stage is one small type in its own file with one method,
//! `apply(&self, &FlushCtx, Vec<Arc<Alert>>) -> Filtered`: the alerts that go on, and how many
//! it held back and why. The pipeline counts what each holds back in
//! `alertmanager_notifications_suppressed_total{reason}` and stops when nothing is left (the
//! integrations are not called and the notification log is not touched).
//!
//! Each stage is built in `app.rs` over the state it needs (the inhibitor, the config's time
//! intervals, the silence store); a default stage holds nothing back.

pub mod inhibit;
pub mod silence;
pub mod time_interval;

use std::sync::Arc;

pub use inhibit::InhibitStage;
pub use silence::SilenceStage;
pub use time_interval::TimeIntervalStage;

use jiff::Timestamp;

use super::dedup::Reason;
use super::pipeline::FlushCtx;
use crate::metrics::Metrics;
use crate::model::Alert;

/// Why a stage held alerts back: the `reason` of `alertmanager_notifications_suppressed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressReason {
    /// An inhibition rule's source alert is firing.
    Inhibition,
    /// The route has `active_time_intervals` and none is active now.
    ActiveTimeInterval,
    /// One of the route's `mute_time_intervals` is active now.
    MuteTimeInterval,
    /// An active silence matches.
    Silence,
}

impl SuppressReason {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressReason::Inhibition => "inhibition",
            SuppressReason::ActiveTimeInterval => "active_time_interval",
            SuppressReason::MuteTimeInterval => "mute_time_interval",
            SuppressReason::Silence => "silence",
        }
    }
}

/// What a mute stage let through.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// The alerts that go on to the next stage.
    pub kept: Vec<Arc<Alert>>,
    /// The alerts the stage held back.
    pub held: Vec<Arc<Alert>>,
    /// Why they were held back.
    pub reason: SuppressReason,
}

impl Filtered {
    /// Everything passes.
    pub fn all(alerts: Vec<Arc<Alert>>, reason: SuppressReason) -> Filtered {
        Filtered {
            kept: alerts,
            held: Vec::new(),
            reason,
        }
    }

    /// Keeps the alerts for which `keep` holds; the others are held back for `reason`.
    pub fn retain(
        alerts: Vec<Arc<Alert>>,
        reason: SuppressReason,
        mut keep: impl FnMut(&Alert) -> bool,
    ) -> Filtered {
        let (kept, held) = alerts.into_iter().partition(|a| keep(a));
        Filtered { kept, held, reason }
    }
}

/// What the three stages left: the alerts that go on to the integrations, and those held back
/// (the pipeline may still send the resolve of a held one, see [`MuteStages::apply`]).
#[derive(Debug, Clone, Default)]
pub struct Muted {
    /// The alerts no stage held back.
    pub kept: Vec<Arc<Alert>>,
    /// The alerts some stage held back.
    pub held: Vec<Arc<Alert>>,
    /// Whether the silence stage held any back.
    pub silenced: bool,
    /// The first stage that held any back (the `reason` of a suppressed due notification).
    pub reason: Option<SuppressReason>,
}

/// The three mute stages of a notifier.
#[derive(Debug, Default)]
pub struct MuteStages {
    /// Inhibition rules.
    pub inhibit: InhibitStage,
    /// The route's active and mute time intervals.
    pub time_intervals: TimeIntervalStage,
    /// Silences.
    pub silence: SilenceStage,
}

impl MuteStages {
    /// Runs the stages in order, counting what each held back, and returns what is left and
    /// what was held. Stops as soon as nothing is left.
    pub fn apply(&self, ctx: &FlushCtx, alerts: Vec<Arc<Alert>>, metrics: &Metrics) -> Muted {
        let mut out = Muted::default();
        let alerts = counted(self.inhibit.apply(ctx, alerts), metrics, &mut out);
        if alerts.is_empty() {
            return out;
        }
        let alerts = counted(self.time_intervals.apply(ctx, alerts), metrics, &mut out);
        if alerts.is_empty() {
            return out;
        }
        let before = out.held.len();
        out.kept = counted(self.silence.apply(ctx, alerts), metrics, &mut out);
        out.silenced = out.held.len() > before;
        out
    }

    /// The one "notify at once when it ends" hook, shared by every stage that holds a group
    /// back for a known time: when the earliest such hold ends (the route's current or next
    /// mute window, the silences holding back alerts of `held`). The pipeline returns it in
    /// `FlushOutcome::next_release` and the dispatcher flushes the group then. (Events with no
    /// known time, such as a silence deleted early, wake groups with
    /// `Dispatcher::flush_now_where` instead.)
    pub fn next_release(&self, ctx: &FlushCtx, held: &[Arc<Alert>]) -> Option<Timestamp> {
        let window = self.time_intervals.next_unmute(ctx);
        let silence = self.silence.next_end(ctx, held);
        match (window, silence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The other half of the hook, asked by dedup when nothing else calls for a notification:
    /// was the group held back at some point since `since` (its last notification), so that a
    /// group still firing is notified again now, and with which reason? `firing`: the alerts
    /// about to be sent as firing (a silence that ended counts when it matched one of them).
    pub fn held_back_since(
        &self,
        ctx: &FlushCtx,
        since: Timestamp,
        firing: &[Arc<Alert>],
    ) -> Option<Reason> {
        if self.time_intervals.muted_since(ctx, since) {
            return Some(Reason::MuteWindowEnded);
        }
        self.silence
            .ended_since(ctx, since, firing)
            .then_some(Reason::SilenceEnded)
    }
}

/// Counts what a stage held back and adds it to `out.held`; returns what it kept.
fn counted(f: Filtered, metrics: &Metrics, out: &mut Muted) -> Vec<Arc<Alert>> {
    if !f.held.is_empty() {
        out.reason.get_or_insert(f.reason);
        metrics
            .notifications_suppressed
            .get_or_create(&vec![("reason", f.reason.as_str().to_owned())])
            .inc_by(f.held.len() as u64);
        out.held.extend(f.held);
    }
    f.kept
}
