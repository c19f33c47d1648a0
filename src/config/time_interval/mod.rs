//! `time_intervals:` (and the deprecated top-level `mute_time_intervals:`): named sets of
//! times of day, weekdays, days of month, months and years, in a time zone. Parsed and checked
//! here; evaluating them against a time is `timeinterval`'s job.
//! Imports: std, serde, jiff, sibling modules.

use serde::{Deserialize, Serialize};

use super::validate::Ctx;

/// A named set as written in YAML.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeIntervalSet {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) time_intervals: Vec<RawTimeInterval>,
}

/// One interval as written in YAML (every field a list of strings, as Alertmanager reads them).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeInterval {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    times: Vec<RawTimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    weekdays: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    days_of_month: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    months: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    years: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    end_time: String,
}

/// A validated named set: the time matches if any interval matches.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeIntervalSet {
    /// The intervals (OR).
    pub intervals: Vec<TimeInterval>,
}

/// One interval: every given field must match (AND); an absent (empty) field matches anything.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInterval {
    /// Times of day, `[start, end)` in minutes since midnight.
    pub times: Vec<TimeRange>,
    /// Weekdays, 0 = Sunday ... 6 = Saturday, inclusive ranges.
    pub weekdays: Vec<InclusiveRange>,
    /// Days of month, 1..=31 or -31..=-1 (from the month's end), inclusive ranges.
    pub days_of_month: Vec<InclusiveRange>,
    /// Months, 1 = January ... 12, inclusive ranges.
    pub months: Vec<InclusiveRange>,
    /// Years, inclusive ranges.
    pub years: Vec<InclusiveRange>,
    /// The zone the fields are read in (None = UTC).
    pub location: Option<jiff::tz::TimeZone>,
}

/// `[start_minute, end_minute)` of a day; `end_minute` may be 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First minute in the range.
    pub start_minute: u16,
    /// First minute after the range.
    pub end_minute: u16,
}

/// An inclusive range `begin..=end` (a single value has `begin == end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusiveRange {
    /// First value.
    pub begin: i32,
    /// Last value.
    pub end: i32,
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Parses `HH:MM` (00:00 to 23:59, or 24:00) into minutes since midnight.
pub fn parse_clock(s: &str) -> Result<u16, String> {
    let bad = || format!("couldn't parse timestamp {s:?}, invalid format");
    if s == "24:00" {
        return Ok(1440);
    }
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err(bad());
    }
    let h = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
    let m = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Parses a time range.
pub fn parse_time_range(start: &str, end: &str) -> Result<TimeRange, String> {
    let s = parse_clock(start)?;
    let e = parse_clock(end)?;
    if s >= e {
        return Err(format!(
            "start time {start:?} cannot be equal or greater than end time {end:?}"
        ));
    }
    Ok(TimeRange {
        start_minute: s,
        end_minute: e,
    })
}

/// Splits `a:b` (or `a`) into its two ends, lower-cased.
fn split_range(s: &str) -> Result<(String, String), String> {
    let l = s.trim().to_lowercase();
    let parts: Vec<&str> = l.split(':').collect();
    match parts.as_slice() {
        [one] => Ok((one.to_string(), one.to_string())),
        [a, b] => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("couldn't parse range {s:?}, invalid format")),
    }
}

fn named_or_number(v: &str, names: &[&str], first: i32, what: &str) -> Result<i32, String> {
    if let Some(i) = names.iter().position(|n| *n == v) {
        return Ok(i as i32 + first);
    }
    if what == "weekday" {
        return Err(format!("{v:?} is not a valid weekday"));
    }
    v.parse::<i32>()
        .map_err(|_| format!("{v:?} is not a valid {what}"))
}

/// Parses a weekday range (`monday`, `monday:friday`, case-insensitive).
pub fn parse_weekdays(s: &str) -> Result<InclusiveRange, String> {
    let (a, b) = split_range(s)?;
    let begin = named_or_number(&a, &WEEKDAYS, 0, "weekday")?;
    let end = named_or_number(&b, &WEEKDAYS, 0, "weekday")?;
    if begin > end {
        return Err(format!("start day cannot be after end day in {s:?}"));
    }
    Ok(InclusiveRange { begin, end })
}

/// Parses a day-of-month range (`1`, `1:15`, `-3:-1`), with Alertmanager's checks.
pub fn parse_days_of_month(s: &str) -> Result<InclusiveRange, String> {
    let (a, b) = split_range(s)?;
    let begin: i32 = a
        .parse()
        .map_err(|_| format!("{a:?} is not a valid day of the month"))?;
    let end: i32 = b
        .parse()
        .map_err(|_| format!("{b:?} is not a valid day of the month"))?;
    for d in [begin, end] {
        if d == 0 || !(-31..=31).contains(&d) {
            return Err(format!("{d} is not a valid day of the month: out of range"));
        }
    }
    if begin < 0 && end > 0 {
        return Err(format!(
            "end day must be negative if start day is negative in {s:?}"
        ));
    }
    let check = |d: i32| if d < 0 { 28 + d } else { d };
    if check(begin) > check(end) {
        return Err(format!("end day {end} is always before start day {begin}"));
    }
    Ok(InclusiveRange { begin, end })
}

/// Parses a month range (`may`, `1:3`, `may:august`).
pub fn parse_months(s: &str) -> Result<InclusiveRange, String> {
    let (a, b) = split_range(s)?;
    let begin = named_or_number(&a, &MONTHS, 1, "month")?;
    let end = named_or_number(&b, &MONTHS, 1, "month")?;
    for m in [begin, end] {
        if !(1..=12).contains(&m) {
            return Err(format!("{m} is not a valid month: out of range"));
        }
    }
    if begin > end {
        return Err(format!("end month {end} is before start month {begin}"));
    }
    Ok(InclusiveRange { begin, end })
}

/// Parses a year range (`2024`, `2020:2022`).
pub fn parse_years(s: &str) -> Result<InclusiveRange, String> {
    let (a, b) = split_range(s)?;
    let begin: i32 = a
        .parse()
        .map_err(|_| format!("{a:?} is not a valid year"))?;
    let end: i32 = b
        .parse()
        .map_err(|_| format!("{b:?} is not a valid year"))?;
    if begin <= 0 || end <= 0 {
        return Err(format!("{s:?} is not a valid year: must be positive"));
    }
    if begin > end {
        return Err(format!("end year {end} is before start year {begin}"));
    }
    Ok(InclusiveRange { begin, end })
}

/// Loads a location: `UTC`, `Local`, or an IANA zone name.
pub fn parse_location(s: &str) -> Result<jiff::tz::TimeZone, String> {
    match s {
        "" | "UTC" => Ok(jiff::tz::TimeZone::UTC),
        "Local" => Ok(jiff::tz::TimeZone::system()),
        _ => jiff::tz::TimeZone::get(s).map_err(|_| format!("unknown time zone {s:?}")),
    }
}

impl RawTimeIntervalSet {
    pub(crate) fn validate(&self, ctx: &mut Ctx<'_>, path: &str) -> TimeIntervalSet {
        if self.name.is_empty() {
            ctx.error(path, "missing name in time interval");
        }
        let mut intervals = Vec::new();
        for (i, ti) in self.time_intervals.iter().enumerate() {
            let p = format!("{path}.time_intervals[{i}]");
            let mut out = TimeInterval {
                times: Vec::new(),
                weekdays: Vec::new(),
                days_of_month: Vec::new(),
                months: Vec::new(),
                years: Vec::new(),
                location: None,
            };
            for (j, t) in ti.times.iter().enumerate() {
                match parse_time_range(&t.start_time, &t.end_time) {
                    Ok(r) => out.times.push(r),
                    Err(e) => ctx.error(&format!("{p}.times[{j}]"), e),
                }
            }
            type Parser = fn(&str) -> Result<InclusiveRange, String>;
            let lists: [(&str, &Vec<String>, Parser, &mut Vec<InclusiveRange>); 4] = [
                ("weekdays", &ti.weekdays, parse_weekdays, &mut out.weekdays),
                (
                    "days_of_month",
                    &ti.days_of_month,
                    parse_days_of_month,
                    &mut out.days_of_month,
                ),
                ("months", &ti.months, parse_months, &mut out.months),
                ("years", &ti.years, parse_years, &mut out.years),
            ];
            for (key, items, parse, dest) in lists {
                for (j, s) in items.iter().enumerate() {
                    match parse(s) {
                        Ok(r) => dest.push(r),
                        Err(e) => ctx.error(&format!("{p}.{key}[{j}]"), e),
                    }
                }
            }
            if let Some(l) = &ti.location {
                match parse_location(l) {
                    Ok(z) => out.location = Some(z),
                    Err(e) => ctx.error(&format!("{p}.location"), e),
                }
            }
            intervals.push(out);
        }
        TimeIntervalSet { intervals }
    }
}

#[cfg(test)]
mod tests;
