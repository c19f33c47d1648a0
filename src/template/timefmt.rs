//! Go's time formatting: `Time.Format` reference layouts (`2006-01-02T15:04:05Z07:00`,
//! `Mon Jan 2`, `.000`, `MST`, ...), `Time.String()` and `Duration.String()`, on jiff values.

use std::fmt::Write as _;

use jiff::Zoned;

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's `Month.String()` (`%!Month(n)` outside 1..=12).
pub(crate) fn month_name(m: i64) -> String {
    match usize::try_from(m - 1) {
        Ok(i) if i < 12 => MONTHS[i].to_string(),
        _ => format!("%!Month({m})"),
    }
}

/// Go's `Weekday.String()` (`%!Weekday(n)` outside 0..=6).
pub(crate) fn weekday_name(d: i64) -> String {
    match usize::try_from(d) {
        Ok(i) if i < 7 => DAYS[i].to_string(),
        _ => format!("%!Weekday({d})"),
    }
}

/// The layout of Go's `Time.String()`.
pub(crate) const STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";
/// Go's `time.RFC3339Nano`.
pub(crate) const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// Go's `Time.String()`.
pub(crate) fn time_string(t: &Zoned) -> String {
    go_format(t, STRING_LAYOUT)
}

/// One element of a Go layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TzName,
    /// Numeric zone: (Z for UTC, colon, minutes, seconds).
    Zone {
        iso: bool,
        colon: bool,
        minutes: bool,
        seconds: bool,
    },
    /// Fractional seconds: (digits, trim trailing zeros, separator).
    Frac(usize, bool, char),
}

/// Finds the first layout element in `l`: returns (prefix length, element, element length).
pub(crate) fn next_std(l: &str) -> Option<(usize, Std, usize)> {
    let b = l.as_bytes();
    let at = |i: usize, s: &str| l.get(i..).is_some_and(|r| r.starts_with(s));
    // `Jan` and `Mon` before a lower-case letter are text, as in Go (`Janet`, `Monat`).
    let word = |i: usize, s: &str| at(i, s) && !b.get(i + 3).is_some_and(u8::is_ascii_lowercase);
    for i in 0..b.len() {
        let hit = match b[i] {
            b'J' if at(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if word(i, "Jan") => Some((Std::Month, 3)),
            b'M' if at(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if word(i, "Mon") => Some((Std::WeekDay, 3)),
            b'M' if at(i, "MST") => Some((Std::TzName, 3)),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => Some((
                [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][usize::from(b[i + 1] - b'1')],
                2,
            )),
            b'0' if at(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' if at(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if at(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if at(i, "_2") => {
                if at(i + 1, "2006") {
                    // "_2006" is a literal '_' followed by the year.
                    return Some((i + 1, Std::LongYear, 4));
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if at(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if at(i, "PM") => Some((Std::PM, 2)),
            b'p' if at(i, "pm") => Some((Std::Pm, 2)),
            c @ (b'-' | b'Z') => {
                let iso = c == b'Z';
                let z = |colon, minutes, seconds| Std::Zone {
                    iso,
                    colon,
                    minutes,
                    seconds,
                };
                let at1 = |rest: &str| at(i + 1, rest);
                if at1("070000") {
                    Some((z(false, true, true), 7))
                } else if at1("07:00:00") {
                    Some((z(true, true, true), 9))
                } else if at1("0700") {
                    Some((z(false, true, false), 5))
                } else if at1("07:00") {
                    Some((z(true, true, false), 6))
                } else if at1("07") {
                    Some((z(false, false, false), 3))
                } else {
                    None
                }
            }
            c @ (b'.' | b',') if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    Some((Std::Frac(j - i - 1, ch == b'9', c as char), j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = hit {
            return Some((i, std, len));
        }
    }
    None
}

/// Appends `v` in decimal, zero-padded to at least `width` digits (sign not counted).
fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    let mut u = v.unsigned_abs();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    for _ in (buf.len() - i)..width {
        out.push('0');
    }
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

/// Appends the zone abbreviation as Go prints it for `MST`.
fn tz_name(out: &mut String, t: &Zoned) {
    let tz = t.time_zone();
    if tz.iana_name().is_none() && tz.to_fixed_offset().is_ok() {
        if t.offset().seconds() == 0 {
            out.push_str("UTC");
            return;
        }
        let mins = t.offset().seconds() / 60;
        out.push(if mins < 0 { '-' } else { '+' });
        pad(out, i64::from(mins.abs() / 60), 2);
        pad(out, i64::from(mins.abs() % 60), 2);
        return;
    }
    out.push_str(tz.to_offset_info(t.timestamp()).abbreviation());
}

/// Go's `Time.Format(layout)`.
pub(crate) fn go_format(t: &Zoned, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    go_format_into(&mut out, t, layout);
    out
}

/// Go's `Time.Format(layout)`, appended to `out`.
pub(crate) fn go_format_into(out: &mut String, t: &Zoned, layout: &str) {
    let mut rest = layout;
    let year = i64::from(t.year());
    let month = i64::from(t.month());
    let day = i64::from(t.day());
    let hour = i64::from(t.hour());
    let minute = i64::from(t.minute());
    let second = i64::from(t.second());
    let nanos = i64::from(t.subsec_nanosecond());
    let yday = i64::from(t.day_of_year());
    let wday = t.weekday().to_sunday_zero_offset() as usize;
    while let Some((pre, std, len)) = next_std(rest) {
        out.push_str(&rest[..pre]);
        rest = &rest[pre + len..];
        match std {
            Std::LongMonth => out.push_str(MONTHS[(month - 1) as usize % 12]),
            Std::Month => out.push_str(&MONTHS[(month - 1) as usize % 12][..3]),
            Std::NumMonth => pad(out, month, 0),
            Std::ZeroMonth => pad(out, month, 2),
            Std::LongWeekDay => out.push_str(DAYS[wday % 7]),
            Std::WeekDay => out.push_str(&DAYS[wday % 7][..3]),
            Std::Day => pad(out, day, 0),
            Std::UnderDay => {
                if day < 10 {
                    out.push(' ');
                }
                pad(out, day, 0);
            }
            Std::ZeroDay => pad(out, day, 2),
            Std::UnderYearDay => {
                if yday < 100 {
                    out.push(' ');
                    if yday < 10 {
                        out.push(' ');
                    }
                }
                pad(out, yday, 0);
            }
            Std::ZeroYearDay => pad(out, yday, 3),
            Std::Hour => pad(out, hour, 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let h = if hour % 12 == 0 { 12 } else { hour % 12 };
                pad(out, h, if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => pad(out, minute, 0),
            Std::ZeroMinute => pad(out, minute, 2),
            Std::Second => pad(out, second, 0),
            Std::ZeroSecond => pad(out, second, 2),
            Std::LongYear => pad(out, year, 4),
            Std::Year => pad(out, year.rem_euclid(100), 2),
            Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::TzName => tz_name(out, t),
            Std::Zone {
                iso,
                colon,
                minutes,
                seconds,
            } => {
                let off = i64::from(t.offset().seconds());
                if iso && off == 0 {
                    out.push('Z');
                    continue;
                }
                out.push(if off < 0 { '-' } else { '+' });
                let a = off.abs();
                pad(out, a / 3600, 2);
                if minutes {
                    if colon {
                        out.push(':');
                    }
                    pad(out, (a / 60) % 60, 2);
                }
                if seconds {
                    if colon {
                        out.push(':');
                    }
                    pad(out, a % 60, 2);
                }
            }
            Std::Frac(n, trim, sep) => {
                let mut digits = String::with_capacity(9);
                pad(&mut digits, nanos, 9);
                let mut n = n.min(9);
                let d = digits.as_bytes();
                if trim {
                    while n > 0 && d[n - 1] == b'0' {
                        n -= 1;
                    }
                    if n == 0 {
                        continue;
                    }
                }
                out.push(sep);
                out.push_str(&digits[..n]);
            }
        }
    }
    out.push_str(rest);
}

/// Go's `Duration.String()` for a duration in nanoseconds.
pub(crate) fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let frac = |out: &mut String, whole: u64, rem: u64, prec: u32| {
        let _ = write!(out, "{whole}");
        if rem != 0 {
            let s = format!("{:0w$}", rem, w = prec as usize);
            out.push('.');
            out.push_str(s.trim_end_matches('0'));
        }
    };
    if u < 1_000_000_000 {
        if u < 1_000 {
            let _ = write!(out, "{u}ns");
        } else if u < 1_000_000 {
            frac(&mut out, u / 1_000, u % 1_000, 3);
            out.push_str("µs");
        } else {
            frac(&mut out, u / 1_000_000, u % 1_000_000, 6);
            out.push_str("ms");
        }
        return out;
    }
    let secs = u / 1_000_000_000;
    let ns = u % 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        let _ = write!(out, "{h}h{m}m");
    } else if m > 0 {
        let _ = write!(out, "{m}m");
    }
    frac(&mut out, s, ns, 9);
    out.push('s');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Zoned {
        let ts: jiff::Timestamp = s.parse().unwrap();
        ts.to_zoned(jiff::tz::TimeZone::UTC)
    }

    #[test]
    fn formats_reference_layouts() {
        let z = t("2026-11-22T20:41:09.386046549Z");
        assert_eq!(time_string(&z), "2026-11-22 20:41:09.386046549 +0000 UTC");
        assert_eq!(
            go_format(&z, RFC3339_NANO),
            "2026-11-22T20:41:09.386046549Z"
        );
        assert_eq!(
            go_format(&z, "Mon Jan _2 3:04PM .000 ,99 __2 002"),
            "Sun Nov 22 8:41PM .386 ,38 326 326"
        );
        assert_eq!(go_format(&z, "_2006 06 -07:00 Z0700"), "_2026 26 +00:00 Z");
        let zero = t("0001-01-01T00:00:00Z");
        assert_eq!(time_string(&zero), "0001-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(1_500), "1.5µs");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(duration_string(-60_000_000_000), "-1m0s");
    }
}
