//! `time_intervals:` (and the deprecated top-level `mute_time_intervals:`): named sets of
//! times of day, weekdays, days of month, months and years, in a time zone. Read from YAML and
//! checked here into `crate::timeinterval`'s types, which also evaluate them.
//! Imports: std, serde, jiff, `crate::timeinterval`, sibling modules.

use serde::{Deserialize, Serialize};

use super::de::{zero, zero_items};
use super::validate::Ctx;
use crate::timeinterval::{
    InclusiveRange, ParseError, TimeInterval, TimeIntervalSet, parse_days_of_month, parse_months,
    parse_time_range, parse_weekdays, parse_years,
};

/// A named set as written in YAML.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeIntervalSet {
    #[serde(default, deserialize_with = "zero")]
    pub(crate) name: String,
    #[serde(default, deserialize_with = "zero_items")]
    pub(crate) time_intervals: Vec<RawTimeInterval>,
}

/// One interval as written in YAML (every field a list of strings, as Alertmanager reads them).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeInterval {
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    times: Vec<RawTimeRange>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    weekdays: Vec<String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    days_of_month: Vec<String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    months: Vec<String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    years: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    #[serde(default, deserialize_with = "zero")]
    start_time: String,
    #[serde(default, deserialize_with = "zero")]
    end_time: String,
}

/// Loads a location: `UTC`, `Local` (the system's zone), or an IANA zone name from jiff's
/// bundled database.
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
            let mut out = TimeInterval::default();
            for (j, t) in ti.times.iter().enumerate() {
                match parse_time_range(&t.start_time, &t.end_time) {
                    Ok(r) => out.times.push(r),
                    Err(e) => ctx.error(&format!("{p}.times[{j}]"), e.to_string()),
                }
            }
            type Parser = fn(&str) -> Result<InclusiveRange, ParseError>;
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
                        Err(e) => ctx.error(&format!("{p}.{key}[{j}]"), e.to_string()),
                    }
                }
            }
            if let Some(l) = &ti.location {
                match parse_location(l) {
                    Ok(z) => out.location = z,
                    Err(e) => ctx.error(&format!("{p}.location"), e),
                }
            }
            intervals.push(out);
        }
        TimeIntervalSet { intervals }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_location;

    #[test]
    fn locations() {
        assert!(parse_location("Europe/London").is_ok());
        assert!(parse_location("UTC").is_ok());
        assert!(parse_location("Mars/Olympus").is_err());
    }
}
