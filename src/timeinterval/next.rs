//! When does the answer of [`TimeInterval::contains`] next change?
//!
//! An interval's answer depends only on the wall-clock minute and date, so it can change only
//! when the wall clock reaches a minute named by one of its ranges (or midnight), or when the
//! zone's offset changes (a DST transition makes the wall clock jump). The search walks those
//! events in instant order: from the current instant, the next event is the earlier of the next
//! zone transition and the instant the wall clock reaches the next interesting minute at the
//! current offset. Days that cannot match at all are skipped in one step, so a search across a
//! year of non-matching days costs one step per zone transition and per matching day.

use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, Timestamp};

use super::{TimeInterval, TimeIntervalSet};

impl TimeInterval {
    /// The first instant after `t`, up to `until`, at which [`TimeInterval::contains`] gives a
    /// different answer than at `t`; `None` when there is none in `(t, until]`.
    pub fn next_change(&self, t: Timestamp, until: Timestamp) -> Option<Timestamp> {
        let v0 = self.contains(t);
        let mut cur = t;
        let mut transitions = self.location.following(t).map(|tr| tr.timestamp());
        let mut next_transition = transitions.next();
        // Past this date every event is beyond `until` (offsets differ by less than two days).
        let limit = self
            .location
            .to_datetime(until)
            .date()
            .checked_add(jiff::Span::new().days(2))
            .unwrap_or(Date::MAX);
        loop {
            if cur >= until {
                return None;
            }
            while next_transition.is_some_and(|tr| tr <= cur) {
                next_transition = transitions.next();
            }
            let civil = self.location.to_datetime(cur);
            let target = self.next_event(civil, v0, limit)?;
            let mut event = cur.checked_add(target.duration_since(civil)).ok()?;
            if let Some(tr) = next_transition.filter(|tr| *tr < event) {
                event = tr;
            }
            if event > until {
                return None;
            }
            if self.contains(event) != v0 {
                return Some(event);
            }
            cur = event;
        }
    }

    /// The next wall-clock time after `civil` at which the answer may change, given that it is
    /// `now` at `civil`; no later than `limit`'s midnight.
    fn next_event(&self, civil: DateTime, now: bool, limit: Date) -> Option<DateTime> {
        let date = civil.date();
        if !now && !self.may_match_rest_of_day(civil) {
            // Nothing can match before the next matching day (whose midnight may start a
            // crossing range's tail only if that day's eve matched, which it did not).
            let day = self.next_matching_day(date, limit).unwrap_or(limit);
            return Some(day.max(date.tomorrow().ok()?).to_datetime(Time::midnight()));
        }
        let minute = civil.hour() as u16 * 60 + civil.minute() as u16;
        let after = self
            .times
            .iter()
            .flat_map(|r| [r.start_minute, r.end_minute])
            .filter(|m| *m > minute && *m < 1440)
            .min();
        match after {
            Some(m) => {
                Some(date.to_datetime(Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).ok()?))
            }
            None => Some(date.tomorrow().ok()?.to_datetime(Time::midnight())),
        }
    }

    /// Whether the interval may hold at some time from `civil` to the end of its day.
    fn may_match_rest_of_day(&self, civil: DateTime) -> bool {
        let date = civil.date();
        if self.day_matches(date) {
            return true;
        }
        let minute = civil.hour() as u16 * 60 + civil.minute() as u16;
        self.times
            .iter()
            .any(|r| r.crosses_midnight() && minute < r.end_minute)
            && date.yesterday().is_ok_and(|y| self.day_matches(y))
    }

    /// The first day after `date`, before `limit`, whose day fields match.
    fn next_matching_day(&self, date: Date, limit: Date) -> Option<Date> {
        let mut d = date.tomorrow().ok()?;
        loop {
            if d >= limit {
                return None;
            }
            if self.day_matches(d) {
                return Some(d);
            }
            // Skip whole years and months that cannot match.
            let year_ok = super::any_or_empty(&self.years, i32::from(d.year()));
            d = if !year_ok {
                Date::new(d.year().checked_add(1)?, 1, 1).ok()?
            } else if !super::any_or_empty(&self.months, i32::from(d.month())) {
                d.last_of_month().tomorrow().ok()?
            } else {
                d.tomorrow().ok()?
            };
        }
    }
}

impl TimeIntervalSet {
    /// The first instant after `t`, up to `until`, at which [`TimeIntervalSet::contains`] gives
    /// a different answer than at `t`; `None` when there is none in `(t, until]`.
    pub fn next_change(&self, t: Timestamp, until: Timestamp) -> Option<Timestamp> {
        let v0 = self.contains(t);
        let mut cur = t;
        loop {
            let event = self
                .intervals
                .iter()
                .filter_map(|i| i.next_change(cur, until))
                .min()?;
            if self.contains(event) != v0 {
                return Some(event);
            }
            cur = event;
        }
    }
}

/// How far ahead callers usually look for the next change: a little over a year, so a yearly
/// boundary is always found; beyond it a caller re-asks later.
pub const LOOKAHEAD: SignedDuration = SignedDuration::from_hours(24 * 400);
