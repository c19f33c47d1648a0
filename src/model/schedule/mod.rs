//! Cron schedules of heartbeat checks: when a ping is expected.
//!
//! Two spellings, so a schedule can be copied from where the job is defined:
//! - five-field cron (`minute hour day-of-month month day-of-week`, Vixie semantics: when both
//!   day fields are restricted a day matching either one matches; day of week 0–7, 0 and 7 are
//!   Sunday), and the `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
//!   `@hourly` names;
//! - AWS EventBridge's `cron(minute hour day-of-month month day-of-week year)`: day of week 1–7
//!   with 1 = Sunday, exactly one of the day fields is `?`, and a year field (1970–2199).
//!
//! Both take names (`JAN`, `MON`), lists, ranges and steps, and the day specials `L` (last day of
//! the month; alone in day of week: Saturday), `LW` (last weekday of the month), `15W` (weekday
//! nearest the 15th, within the month), `dL` (the last weekday d of the month: `5L` is the last
//! Friday in cron, the last Thursday in EventBridge), `d#k` (the k-th weekday d: `2#3` is the
//! third Tuesday in cron, the third Monday in EventBridge). `?` in a five-field cron is `*`.
//!
//! Times are wall-clock times in the schedule's time zone (jiff's bundled database). Across a DST
//! change: a wall time that does not exist (the spring-forward gap) is not expected at all, and a
//! wall time that happens twice (the fall-back overlap) is expected once, at its first occurrence.
//! So a job at 01:30 Europe/London is expected once on both change days, and a check never goes
//! down because of a clock change.
//!
//! The search ([`Schedule::next_after`]) walks days, skipping whole years and months that cannot
//! match, then the hours and minutes of a matching day in order. Layer L0: std and jiff.

#[cfg(test)]
mod tests;

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// Which spelling a schedule was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Five-field cron or an `@` name.
    Cron,
    /// AWS EventBridge `cron(...)` with six fields.
    EventBridge,
}

/// Why a schedule was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule {text:?}: {reason}")]
pub struct ScheduleError {
    /// The schedule as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The first and last year an EventBridge schedule may name.
const EB_YEARS: (i16, i16) = (1970, 2199);
/// How far a five-field cron schedule is searched (a full Gregorian cycle).
const CRON_SEARCH_YEARS: i16 = 400;

/// The day-of-month and day-of-week fields.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Days {
    /// Days of the month, bits 1..=31.
    dom: u32,
    /// `L`: the last day of the month.
    dom_last: bool,
    /// `LW`: the last weekday (Monday–Friday) of the month.
    dom_last_weekday: bool,
    /// `nW`: the weekday nearest day n, bits 1..=31.
    dom_nearest: u32,
    /// Days of the week, bits 0..=6 with Sunday = 0.
    dow: u8,
    /// `dL`: the last such weekday of the month, bits 0..=6.
    dow_last: u8,
    /// `d#k`: the k-th such weekday of the month, bits 1..=5 per weekday.
    dow_nth: [u8; 7],
    /// Vixie cron: both day fields restricted, so a day matching either matches.
    either: bool,
}

/// A parsed schedule with its time zone.
#[derive(Clone)]
pub struct Schedule {
    /// The schedule as written.
    text: String,
    /// How it was written.
    flavor: Flavor,
    /// Minutes, bits 0..=59.
    minutes: u64,
    /// Hours, bits 0..=23.
    hours: u32,
    /// Months, bits 1..=12.
    months: u16,
    /// The day fields.
    days: Days,
    /// EventBridge years, bit i = year 1970 + i; `None` means every year.
    years: Option<[u64; 4]>,
    /// The time zone of the wall-clock times.
    tz: TimeZone,
}

impl PartialEq for Schedule {
    fn eq(&self, o: &Self) -> bool {
        self.text == o.text && self.tz.iana_name() == o.tz.iana_name()
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Schedule({:?} in {})",
            self.text,
            self.tz.iana_name().unwrap_or("UTC")
        )
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One numeric field's bounds and names.
struct FieldSpec {
    /// The field's name in error messages.
    what: &'static str,
    /// Smallest value.
    min: u32,
    /// Largest value.
    max: u32,
    /// Names and the value each stands for.
    names: &'static [&'static str],
    /// The value of the first name.
    name_base: u32,
}

impl FieldSpec {
    fn value(&self, s: &str) -> Result<u32, String> {
        let v = if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
            s.parse::<u32>()
                .map_err(|_| format!("{} value {s:?} is out of range", self.what))?
        } else if let Some(i) = self.names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            i as u32 + self.name_base
        } else {
            return Err(format!("invalid {} value {s:?}", self.what));
        };
        if v < self.min || v > self.max {
            return Err(format!(
                "{} value {v} is out of range {}-{}",
                self.what, self.min, self.max
            ));
        }
        Ok(v)
    }

    /// Parses a comma list of `*`, `v`, `a-b`, with optional `/step`, into (raw) values.
    /// `special` gets each item first and may claim it.
    fn parse(
        &self,
        field: &str,
        mut special: impl FnMut(&str) -> Result<bool, String>,
    ) -> Result<Vec<u32>, String> {
        let mut out = Vec::new();
        if field.is_empty() {
            return Err(format!("empty {} field", self.what));
        }
        for item in field.split(',') {
            if special(item)? {
                continue;
            }
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s
                        .parse()
                        .map_err(|_| format!("invalid step {s:?} in {} field", self.what))?;
                    if step == 0 || step > self.max {
                        return Err(format!("step {step} out of range in {} field", self.what));
                    }
                    (r, Some(step))
                }
                None => (item, None),
            };
            let (lo, hi) = if range == "*" || range == "?" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!(
                        "range {range:?} in {} field runs backwards",
                        self.what
                    ));
                }
                (a, b)
            } else {
                let v = self.value(range)?;
                (v, if step.is_some() { self.max } else { v })
            };
            let mut v = lo;
            while v <= hi {
                out.push(v);
                v += step.unwrap_or(1);
            }
        }
        Ok(out)
    }
}

fn bits<T: From<u8> + std::ops::BitOr<Output = T> + std::ops::Shl<u32, Output = T>>(
    values: &[u32],
) -> T {
    values
        .iter()
        .fold(T::from(0), |acc, &v| acc | (T::from(1) << v))
}

impl Schedule {
    /// Parses a five-field cron, an `@` name, or EventBridge's `cron(...)`, in time zone `tz`.
    pub fn parse(text: &str, tz: TimeZone) -> Result<Self, ScheduleError> {
        let err = |reason: String| ScheduleError {
            text: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let (flavor, body) = if let Some(inner) = trimmed
            .strip_prefix("cron(")
            .and_then(|r| r.strip_suffix(')'))
        {
            (Flavor::EventBridge, inner.trim())
        } else {
            (Flavor::Cron, trimmed)
        };
        let expanded = match body {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => {
                return Err(err(format!(
                    "unknown name {s:?} (one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"
                )));
            }
            s => s,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let want = if flavor == Flavor::EventBridge { 6 } else { 5 };
        if fields.len() != want {
            return Err(err(match flavor {
                Flavor::Cron if fields.len() == 6 => "has 6 fields: write an EventBridge schedule as cron(minute hour day-of-month month day-of-week year)".to_owned(),
                Flavor::Cron => format!("has {} fields, want 5 (minute hour day-of-month month day-of-week)", fields.len()),
                Flavor::EventBridge => format!("has {} fields, want 6 (minute hour day-of-month month day-of-week year)", fields.len()),
            }));
        }
        Self::from_fields(text, flavor, &fields, tz).map_err(err)
    }

    fn from_fields(text: &str, flavor: Flavor, f: &[&str], tz: TimeZone) -> Result<Self, String> {
        let plain = |what, min, max| FieldSpec {
            what,
            min,
            max,
            names: &[],
            name_base: 0,
        };
        let no_special = |_: &str| Ok(false);
        let minutes: u64 = bits(&plain("minute", 0, 59).parse(f[0], no_special)?);
        let hours: u32 = bits(&plain("hour", 0, 23).parse(f[1], no_special)?);
        let month_spec = FieldSpec {
            what: "month",
            min: 1,
            max: 12,
            names: &MONTHS,
            name_base: 1,
        };
        let months: u16 = bits(&month_spec.parse(f[3], no_special)?);
        let eb = flavor == Flavor::EventBridge;
        // Day of week: raw values 0-7 (cron) or 1-7 (EventBridge), mapped to Sunday = 0.
        let dow_spec = FieldSpec {
            what: "day-of-week",
            min: if eb { 1 } else { 0 },
            max: 7,
            names: &WEEKDAYS,
            name_base: if eb { 1 } else { 0 },
        };
        let to_weekday = |raw: u32| if eb { raw - 1 } else { raw % 7 };
        let (dom_text, dow_text) = (f[2], f[4]);
        if eb {
            match (dom_text == "?", dow_text == "?") {
                (true, true) => return Err("only one of day-of-month and day-of-week may be ?".into()),
                (false, false) => return Err("one of day-of-month and day-of-week must be ? (EventBridge does not combine them)".into()),
                _ => {}
            }
        }
        let mut days = Days {
            dom: 0,
            dom_last: false,
            dom_last_weekday: false,
            dom_nearest: 0,
            dow: 0,
            dow_last: 0,
            dow_nth: [0; 7],
            either: {
                let star = |t: &str| t.starts_with('*') || t == "?";
                !eb && !star(dom_text) && !star(dow_text)
            },
        };
        let dom_spec = plain("day-of-month", 1, 31);
        let dom_values = dom_spec.parse(dom_text, |item| {
            if item == "L" {
                days.dom_last = true;
            } else if item == "LW" {
                days.dom_last_weekday = true;
            } else if let Some(n) = item.strip_suffix('W') {
                days.dom_nearest |= 1 << dom_spec.value(n)?;
            } else {
                return Ok(false);
            }
            Ok(true)
        })?;
        days.dom = bits(&dom_values);
        let dow_values = dow_spec.parse(dow_text, |item| {
            if item == "L" {
                days.dow |= 1 << 6;
            } else if let Some((d, k)) = item.split_once('#') {
                let wd = to_weekday(dow_spec.value(d)?);
                let k: u8 = k
                    .parse()
                    .ok()
                    .filter(|k| (1..=5).contains(k))
                    .ok_or_else(|| format!("{item:?}: the week after # must be 1-5"))?;
                days.dow_nth[wd as usize] |= 1 << k;
            } else if let Some(d) = item.strip_suffix('L') {
                days.dow_last |= 1 << to_weekday(dow_spec.value(d)?);
            } else {
                return Ok(false);
            }
            Ok(true)
        })?;
        for v in dow_values {
            days.dow |= 1 << to_weekday(v);
        }
        let years = if eb {
            let spec = plain("year", EB_YEARS.0 as u32, EB_YEARS.1 as u32);
            let mut set = [0u64; 4];
            for y in spec.parse(f[5], no_special)? {
                let i = (y - EB_YEARS.0 as u32) as usize;
                set[i / 64] |= 1 << (i % 64);
            }
            Some(set)
        } else {
            None
        };
        Ok(Schedule {
            text: text.to_owned(),
            flavor,
            minutes,
            hours,
            months,
            days,
            years,
            tz,
        })
    }

    /// How the schedule was written.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    fn year_ok(&self, y: i16) -> bool {
        match &self.years {
            None => true,
            Some(set) => {
                let i = i32::from(y) - i32::from(EB_YEARS.0);
                (0..256).contains(&i) && set[i as usize / 64] >> (i % 64) & 1 == 1
            }
        }
    }

    /// Whether the day fields accept `date` (year and month are checked apart).
    fn day_ok(&self, date: Date) -> bool {
        let s = &self.days;
        let d = date.day() as u32;
        let dim = date.days_in_month() as u32;
        let wd = date.weekday().to_sunday_zero_offset() as u32;
        let weekday_of = |day: u32| (wd + 35 + day - d) % 7;
        let dom = s.dom >> d & 1 == 1
            || (s.dom_last && d == dim)
            || (s.dom_last_weekday && {
                let last = match weekday_of(dim) {
                    6 => dim - 1,
                    0 => dim - 2,
                    _ => dim,
                };
                d == last
            })
            || (s.dom_nearest != 0
                && (1..=dim).any(|n| {
                    s.dom_nearest >> n & 1 == 1 && {
                        let target = match weekday_of(n) {
                            6 if n == 1 => n + 2,
                            6 => n - 1,
                            0 if n == dim => n - 2,
                            0 => n + 1,
                            _ => n,
                        };
                        target == d
                    }
                }));
        let dow = s.dow >> wd & 1 == 1
            || (s.dow_last >> wd & 1 == 1 && d + 7 > dim)
            || s.dow_nth[wd as usize] >> d.div_ceil(7) & 1 == 1;
        if s.either { dom || dow } else { dom && dow }
    }

    /// The instant of a wall time by this schedule's DST rule: none in a gap, the earlier one in
    /// an overlap.
    fn instant(&self, dt: DateTime) -> Option<Timestamp> {
        let offset = match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            AmbiguousOffset::Fold { before, .. } => before,
            AmbiguousOffset::Gap { .. } => return None,
        };
        offset.to_timestamp(dt).ok()
    }

    /// The first expected time strictly after `t`; `None` when the schedule never fires again
    /// (an EventBridge year list in the past, or a day that never comes such as 30 February).
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let start = self.tz.to_datetime(t);
        let max_year = match self.flavor {
            Flavor::EventBridge => EB_YEARS.1,
            Flavor::Cron => start.year().saturating_add(CRON_SEARCH_YEARS),
        };
        let mut date = start.date();
        let (mut h0, mut m0) = (start.hour() as u32, start.minute() as u32);
        loop {
            let y = date.year();
            if y > max_year {
                return None;
            }
            if !self.year_ok(y) {
                date = Date::new(y.checked_add(1)?, 1, 1).ok()?;
                (h0, m0) = (0, 0);
                continue;
            }
            if self.months >> date.month() & 1 == 0 {
                date = date
                    .first_of_month()
                    .checked_add(jiff::Span::new().months(1))
                    .ok()?;
                (h0, m0) = (0, 0);
                continue;
            }
            if self.day_ok(date) {
                for h in (h0..24).filter(|h| self.hours >> h & 1 == 1) {
                    let from = if h == h0 { m0 } else { 0 };
                    for m in (from..60).filter(|m| self.minutes >> m & 1 == 1) {
                        let dt = date.at(h as i8, m as i8, 0, 0);
                        if let Some(ts) = self.instant(dt).filter(|ts| *ts > t) {
                            return Some(ts);
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
            (h0, m0) = (0, 0);
        }
    }

    /// Whether `t` is an expected time (the definition [`Schedule::next_after`] searches for):
    /// a whole minute whose wall time matches every field and had not already occurred.
    pub fn matches(&self, t: Timestamp) -> bool {
        let dt = self.tz.to_datetime(t);
        dt.second() == 0
            && dt.subsec_nanosecond() == 0
            && self.year_ok(dt.year())
            && self.months >> dt.month() & 1 == 1
            && self.day_ok(dt.date())
            && self.hours >> dt.hour() & 1 == 1
            && self.minutes >> dt.minute() & 1 == 1
            && self.instant(dt) == Some(t)
    }
}
