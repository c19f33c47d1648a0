//! The text forms of the interval fields, as Alertmanager writes them (`09:00`, `monday:friday`,
//! `-3:-1`, `may:august`, `2020:2022`), parsed into the evaluated types. Pure: no time zone
//! lookup here (`config` resolves `location`, which may read the system's zone for `Local`).

use super::{InclusiveRange, TimeRange};

/// Why a field of a time interval does not parse. The messages follow Alertmanager's where it
/// has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not `HH:MM` between `00:00` and `24:00`.
    #[error("couldn't parse timestamp {0:?}, invalid format")]
    Clock(String),
    /// A time range whose start equals its end (empty, or a whole day: ambiguous).
    #[error("start time {0:?} cannot be equal to end time {1:?}")]
    EmptyTimes(String, String),
    /// `24:00` as a start time (write `00:00`).
    #[error("start time \"24:00\" is the end of the day; write \"00:00\"")]
    StartAtEndOfDay,
    /// More than one `:` in a range.
    #[error("couldn't parse range {0:?}, invalid format")]
    Range(String),
    /// A word that is not a weekday name.
    #[error("{0:?} is not a valid weekday")]
    Weekday(String),
    /// A weekday range that runs backwards.
    #[error("start day cannot be after end day in {0:?}")]
    WeekdayOrder(String),
    /// Not a number, or not within -31..=31 without 0.
    #[error("{0} is not a valid day of the month{1}")]
    DayOfMonth(String, &'static str),
    /// A negative start with a positive end (`-3:5`).
    #[error("end day must be negative if start day is negative in {0:?}")]
    DayOfMonthSign(String),
    /// A day-of-month range that is empty in every month.
    #[error("end day {end} is always before start day {begin}")]
    DayOfMonthOrder {
        /// The range's start.
        begin: i32,
        /// The range's end.
        end: i32,
    },
    /// Not a month name or number.
    #[error("{0:?} is not a valid month")]
    Month(String),
    /// A month number outside 1..=12.
    #[error("{0} is not a valid month: out of range")]
    MonthRange(i32),
    /// A month range that runs backwards.
    #[error("end month {end} is before start month {begin}")]
    MonthOrder {
        /// The range's start.
        begin: i32,
        /// The range's end.
        end: i32,
    },
    /// Not a number.
    #[error("{0:?} is not a valid year")]
    Year(String),
    /// Zero or negative.
    #[error("{0:?} is not a valid year: must be positive")]
    YearSign(String),
    /// A year range that runs backwards.
    #[error("end year {end} is before start year {begin}")]
    YearOrder {
        /// The range's start.
        begin: i32,
        /// The range's end.
        end: i32,
    },
}

/// Weekday names, Sunday first (Sunday = 0, as Alertmanager counts).
pub const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// Month names, January first (January = 1).
pub const MONTHS: [&str; 12] = [
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
pub fn parse_clock(s: &str) -> Result<u16, ParseError> {
    if s == "24:00" {
        return Ok(1440);
    }
    let b = s.as_bytes();
    let digits = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u16::from(c - b'0'))
    };
    let (Some(h1), Some(h2), Some(b':'), Some(m1), Some(m2), 5) = (
        digits(0),
        digits(1),
        b.get(2).copied(),
        digits(3),
        digits(4),
        b.len(),
    ) else {
        return Err(ParseError::Clock(s.to_owned()));
    };
    let (h, m) = (h1 * 10 + h2, m1 * 10 + m2);
    if h > 23 || m > 59 {
        return Err(ParseError::Clock(s.to_owned()));
    }
    Ok(h * 60 + m)
}

/// Parses a time range. A start after the end crosses midnight (`22:00` to `06:00`); a start
/// equal to the end is refused.
pub fn parse_time_range(start: &str, end: &str) -> Result<TimeRange, ParseError> {
    let s = parse_clock(start)?;
    let e = parse_clock(end)?;
    if s == 1440 {
        return Err(ParseError::StartAtEndOfDay);
    }
    if s == e {
        return Err(ParseError::EmptyTimes(start.to_owned(), end.to_owned()));
    }
    Ok(TimeRange {
        start_minute: s,
        end_minute: e,
    })
}

/// Splits `a:b` (or `a`) into its two ends, trimmed and lower-cased.
fn split_range(s: &str) -> Result<(String, String), ParseError> {
    let l = s.trim().to_lowercase();
    let mut parts = l.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(one), None, None) => Ok((one.to_owned(), one.to_owned())),
        (Some(a), Some(b), None) => Ok((a.to_owned(), b.to_owned())),
        _ => Err(ParseError::Range(s.to_owned())),
    }
}

fn position(names: &[&str], v: &str) -> Option<i32> {
    names.iter().position(|n| *n == v).map(|i| i as i32)
}

/// Parses a weekday range (`monday`, `monday:friday`, case-insensitive) into 0 = Sunday.
pub fn parse_weekdays(s: &str) -> Result<InclusiveRange, ParseError> {
    let (a, b) = split_range(s)?;
    let day = |v: &str| position(&WEEKDAYS, v).ok_or_else(|| ParseError::Weekday(v.to_owned()));
    let (begin, end) = (day(&a)?, day(&b)?);
    if begin > end {
        return Err(ParseError::WeekdayOrder(s.to_owned()));
    }
    Ok(InclusiveRange { begin, end })
}

/// Parses a day-of-month range (`1`, `1:15`, `-3:-1`, `1:-1`), with Alertmanager's checks.
pub fn parse_days_of_month(s: &str) -> Result<InclusiveRange, ParseError> {
    let (a, b) = split_range(s)?;
    let day = |v: &str| {
        let d: i32 = v
            .parse()
            .map_err(|_| ParseError::DayOfMonth(format!("{v:?}"), ""))?;
        if d == 0 || !(-31..=31).contains(&d) {
            return Err(ParseError::DayOfMonth(d.to_string(), ": out of range"));
        }
        Ok(d)
    };
    let (begin, end) = (day(&a)?, day(&b)?);
    if begin < 0 && end > 0 {
        return Err(ParseError::DayOfMonthSign(s.to_owned()));
    }
    // In a 28-day month; a range empty there may still match longer months.
    let in_short_month = |d: i32| if d < 0 { 28 + d } else { d };
    if in_short_month(begin) > in_short_month(end) {
        return Err(ParseError::DayOfMonthOrder { begin, end });
    }
    Ok(InclusiveRange { begin, end })
}

/// Parses a month range (`may`, `1:3`, `may:august`) into 1 = January.
pub fn parse_months(s: &str) -> Result<InclusiveRange, ParseError> {
    let (a, b) = split_range(s)?;
    let month = |v: &str| {
        let m = match position(&MONTHS, v) {
            Some(i) => i + 1,
            None => v.parse().map_err(|_| ParseError::Month(v.to_owned()))?,
        };
        if !(1..=12).contains(&m) {
            return Err(ParseError::MonthRange(m));
        }
        Ok(m)
    };
    let (begin, end) = (month(&a)?, month(&b)?);
    if begin > end {
        return Err(ParseError::MonthOrder { begin, end });
    }
    Ok(InclusiveRange { begin, end })
}

/// Parses a year range (`2024`, `2020:2022`).
pub fn parse_years(s: &str) -> Result<InclusiveRange, ParseError> {
    let (a, b) = split_range(s)?;
    let year = |v: &str| v.parse::<i32>().map_err(|_| ParseError::Year(v.to_owned()));
    let (begin, end) = (year(&a)?, year(&b)?);
    if begin <= 0 || end <= 0 {
        return Err(ParseError::YearSign(s.to_owned()));
    }
    if begin > end {
        return Err(ParseError::YearOrder { begin, end });
    }
    Ok(InclusiveRange { begin, end })
}
