//! Time intervals: named sets of times of day, weekdays, days of month, months and years in a
//! time zone, and whether an instant falls in them. Used by `config` (which parses and
//! validates them) and by `notify` (mute and active intervals of a route).
//!
//! Semantics follow Alertmanager's `timeinterval` package (reference §3.5): a set matches when
//! any of its intervals does; an interval matches when every field it gives does (an absent
//! field matches anything); fields are read on the local wall clock of `location` (UTC when
//! absent), so DST changes move the instants, not the wall-clock times. Two differences:
//! - a time range may cross midnight (`22:00` to `06:00`); its part after midnight belongs to the
//!   day it started on, so `weekdays: [friday]` with `22:00`-`06:00` holds from Friday 22:00 to
//!   Saturday 06:00, and the day fields are tested on Friday;
//! - a negative day of month counts from the real end of the month (Alertmanager 0.25 derives
//!   the month's length from its hours, so in a month with a DST change that adds an hour it is
//!   a day short, and `-1` means the 30th of March in Europe/London).
//!
//! [`TimeIntervalSet::next_change`] says when the answer next changes, so a caller can wake up
//! exactly at a boundary instead of at its next regular tick. [`Schedule`] combines a route's
//! active and mute intervals the way Alertmanager's pipeline stages do.
//!
//! Layer L0: imports std, jiff and thiserror; pure (no clock, no I/O).

mod next;
mod parse;
mod schedule;

pub use next::LOOKAHEAD;
pub use schedule::{Muted, Schedule};

pub use parse::{
    MONTHS, ParseError, WEEKDAYS, parse_clock, parse_days_of_month, parse_months, parse_time_range,
    parse_weekdays, parse_years,
};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// A named set as the config holds it: the time matches if any interval matches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeIntervalSet {
    /// The intervals (OR). An empty list matches nothing.
    pub intervals: Vec<TimeInterval>,
}

/// One interval: every given field must match (AND); an absent (empty) field matches anything.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInterval {
    /// Times of day (OR). A range whose start is after its end crosses midnight.
    pub times: Vec<TimeRange>,
    /// Weekdays, 0 = Sunday ... 6 = Saturday, inclusive ranges (OR).
    pub weekdays: Vec<InclusiveRange>,
    /// Days of month, 1..=31 or -31..=-1 (from the month's end), inclusive ranges (OR).
    pub days_of_month: Vec<InclusiveRange>,
    /// Months, 1 = January ... 12, inclusive ranges (OR).
    pub months: Vec<InclusiveRange>,
    /// Years, inclusive ranges (OR).
    pub years: Vec<InclusiveRange>,
    /// The zone whose wall clock the fields are read on.
    pub location: TimeZone,
}

impl Default for TimeInterval {
    fn default() -> Self {
        TimeInterval {
            times: Vec::new(),
            weekdays: Vec::new(),
            days_of_month: Vec::new(),
            months: Vec::new(),
            years: Vec::new(),
            location: TimeZone::UTC,
        }
    }
}

/// Minutes of a day from `start_minute` up to, not including, `end_minute`. When
/// `start_minute > end_minute` the range crosses midnight: from the start to the end of the day,
/// then from midnight to `end_minute` of the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First minute in the range (0..1440).
    pub start_minute: u16,
    /// First minute after the range (0..=1440; 1440 is `24:00`).
    pub end_minute: u16,
}

impl TimeRange {
    /// Whether the range runs past midnight into the next day.
    pub fn crosses_midnight(self) -> bool {
        self.start_minute > self.end_minute
    }
}

/// An inclusive range `begin..=end` (a single value has `begin == end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusiveRange {
    /// First value.
    pub begin: i32,
    /// Last value.
    pub end: i32,
}

impl InclusiveRange {
    fn contains(self, v: i32) -> bool {
        self.begin <= v && v <= self.end
    }
}

/// True when `list` is empty (the field is absent) or one of its ranges holds `v`.
fn any_or_empty(list: &[InclusiveRange], v: i32) -> bool {
    list.is_empty() || list.iter().any(|r| r.contains(v))
}

/// Whether a day-of-month range holds `day` in a month of `len` days, as Alertmanager reads
/// negative days (from the end) and ranges past the month's end (clamped to it).
fn day_of_month_matches(r: InclusiveRange, day: i32, len: i32) -> bool {
    let from_end = |d: i32| if d < 0 { len + d + 1 } else { d };
    let (begin, end) = (from_end(r.begin), from_end(r.end));
    begin <= len && begin <= day && day <= end.min(len)
}

impl TimeInterval {
    /// Whether `t` falls in this interval.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.contains_civil(self.location.to_datetime(t))
    }

    /// Whether the wall-clock time `dt` (in [`TimeInterval::location`]) falls in this interval.
    pub fn contains_civil(&self, dt: DateTime) -> bool {
        let date = dt.date();
        if self.times.is_empty() {
            return self.day_matches(date);
        }
        let minute = u16::from(dt.hour() as u8) * 60 + u16::from(dt.minute() as u8);
        // Each day test at most once.
        let mut today = None;
        let mut yesterday = None;
        let day = |cache: &mut Option<bool>, d: Option<Date>| {
            *cache.get_or_insert_with(|| d.is_some_and(|d| self.day_matches(d)))
        };
        self.times.iter().any(|r| {
            if r.crosses_midnight() {
                (minute >= r.start_minute && day(&mut today, Some(date)))
                    || (minute < r.end_minute && day(&mut yesterday, date.yesterday().ok()))
            } else {
                r.start_minute <= minute && minute < r.end_minute && day(&mut today, Some(date))
            }
        })
    }

    /// Whether the day fields (weekdays, days of month, months, years) hold on `d`.
    pub fn day_matches(&self, d: Date) -> bool {
        any_or_empty(&self.years, i32::from(d.year()))
            && any_or_empty(&self.months, i32::from(d.month()))
            && any_or_empty(
                &self.weekdays,
                i32::from(d.weekday().to_sunday_zero_offset()),
            )
            && (self.days_of_month.is_empty()
                || self.days_of_month.iter().any(|r| {
                    day_of_month_matches(*r, i32::from(d.day()), i32::from(d.days_in_month()))
                }))
    }
}

impl TimeIntervalSet {
    /// Whether `t` falls in any interval of the set.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.intervals.iter().any(|i| i.contains(t))
    }
}

#[cfg(test)]
mod tests;
