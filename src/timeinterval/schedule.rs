//! A route's schedule: its `active_time_intervals` and `mute_time_intervals`, resolved by name,
//! and the questions the pipeline and the API ask of it (muted now, and by which names? when does
//! that change? was it muted at some point since the last notification?).
//!
//! Alertmanager's stages, in its order (reference §4.3): outside every active interval the route
//! is muted by all its active interval names; else inside any mute interval it is muted by the
//! names of those that hold.

use jiff::Timestamp;

use super::TimeIntervalSet;

/// Why a route is muted now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Muted<'a> {
    /// True when no active interval holds; false when a mute interval holds.
    pub inactive: bool,
    /// The intervals that mute it (Alertmanager's `mutedBy`): every active interval's name when
    /// `inactive`, else the mute intervals that hold now.
    pub by: Vec<&'a str>,
}

/// The time intervals a route names, looked up in the config's sets. Unknown names (the config
/// rejects them) are skipped.
#[derive(Debug, Clone, Default)]
pub struct Schedule<'a> {
    /// `active_time_intervals`: the route notifies only inside one of them (none: always).
    active: Vec<(&'a str, &'a TimeIntervalSet)>,
    /// `mute_time_intervals`: the route is muted inside any of them.
    mute: Vec<(&'a str, &'a TimeIntervalSet)>,
}

impl<'a> Schedule<'a> {
    /// Resolves the route's interval names with `lookup`.
    pub fn new<S: AsRef<str>>(
        active: &'a [S],
        mute: &'a [S],
        lookup: impl Fn(&str) -> Option<&'a TimeIntervalSet>,
    ) -> Self {
        let resolve = |names: &'a [S]| {
            names
                .iter()
                .filter_map(|n| Some((n.as_ref(), lookup(n.as_ref())?)))
                .collect()
        };
        Schedule {
            active: resolve(active),
            mute: resolve(mute),
        }
    }

    /// True when the route names no interval: it is never muted.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty() && self.mute.is_empty()
    }

    /// Why the route is muted at `t`, or `None` when it may notify.
    pub fn muted_at(&self, t: Timestamp) -> Option<Muted<'a>> {
        if !self.active.is_empty() && !self.active.iter().any(|(_, s)| s.contains(t)) {
            return Some(Muted {
                inactive: true,
                by: self.active.iter().map(|(n, _)| *n).collect(),
            });
        }
        let by: Vec<&str> = self
            .mute
            .iter()
            .filter(|(_, s)| s.contains(t))
            .map(|(n, _)| *n)
            .collect();
        (!by.is_empty()).then_some(Muted {
            inactive: false,
            by,
        })
    }

    /// Whether the route is muted at `t`.
    pub fn is_muted(&self, t: Timestamp) -> bool {
        let active_ok = self.active.is_empty() || self.active.iter().any(|(_, s)| s.contains(t));
        !active_ok || self.mute.iter().any(|(_, s)| s.contains(t))
    }

    /// The first instant after `t`, up to `until`, at which [`Schedule::is_muted`] changes.
    pub fn next_change(&self, t: Timestamp, until: Timestamp) -> Option<Timestamp> {
        let v0 = self.is_muted(t);
        let mut cur = t;
        loop {
            let event = self
                .active
                .iter()
                .chain(&self.mute)
                .filter_map(|(_, s)| s.next_change(cur, until))
                .min()?;
            if self.is_muted(event) != v0 {
                return Some(event);
            }
            cur = event;
        }
    }

    /// The next instant after `t`, up to `until`, at which a muted stretch ends: the end of the
    /// current one when muted at `t`, else the end of the next one.
    pub fn next_unmute(&self, t: Timestamp, until: Timestamp) -> Option<Timestamp> {
        if self.is_empty() {
            return None;
        }
        if self.is_muted(t) {
            return self.next_change(t, until);
        }
        let starts = self.next_change(t, until)?;
        self.next_change(starts, until)
    }

    /// Whether the route was muted at some instant in `[from, to)`.
    pub fn muted_between(&self, from: Timestamp, to: Timestamp) -> bool {
        if self.is_empty() || from >= to {
            return false;
        }
        self.is_muted(from) || self.next_change(from, to).is_some_and(|c| c < to)
    }
}
