//! Parsers, evaluation (midnight-crossing ranges, Europe/London's DST changes, days counted
//! from the month's end) and a property test of `contains` and `next_change` against a
//! brute-force minute-by-minute reference over a year.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("bundled zone")
}

/// An interval from its text fields, as the config would build it.
fn interval(times: &[(&str, &str)], weekdays: &[&str], days: &[&str], tz: &str) -> TimeInterval {
    TimeInterval {
        times: times
            .iter()
            .map(|(a, b)| parse_time_range(a, b).expect("test times"))
            .collect(),
        weekdays: weekdays
            .iter()
            .map(|w| parse_weekdays(w).expect("test weekdays"))
            .collect(),
        days_of_month: days
            .iter()
            .map(|d| parse_days_of_month(d).expect("test days"))
            .collect(),
        location: zone(tz),
        ..TimeInterval::default()
    }
}

fn set(i: TimeInterval) -> TimeIntervalSet {
    TimeIntervalSet { intervals: vec![i] }
}

/// The changes of `s` from `from` on, up to `until`, by repeated `next_change`.
fn changes(s: &TimeIntervalSet, from: &str, until: &str) -> Vec<(Timestamp, bool)> {
    let (mut t, until) = (ts(from), ts(until));
    let mut out = Vec::new();
    while let Some(c) = s.next_change(t, until) {
        out.push((c, s.contains(c)));
        t = c;
    }
    out
}

#[test]
fn office_hours_in_london_follow_the_wall_clock_across_both_dst_changes() {
    let office = set(interval(
        &[("09:00", "17:00")],
        &["monday:friday"],
        &[],
        "Europe/London",
    ));
    // Winter (GMT): 09:00 local is 09:00 UTC.
    assert!(!office.contains(ts("2025-03-28T08:59:59Z")));
    assert!(office.contains(ts("2025-03-28T09:00:00Z")));
    assert!(!office.contains(ts("2025-03-28T17:00:00Z")));
    // Saturday and Sunday, 30 March (the clocks go forward at 01:00 UTC): never.
    assert!(!office.contains(ts("2025-03-29T12:00:00Z")));
    // Summer (BST): 09:00 local is 08:00 UTC.
    assert!(office.contains(ts("2025-03-31T08:00:00Z")));
    assert!(!office.contains(ts("2025-03-31T16:00:00Z")));
    assert_eq!(
        changes(&office, "2025-03-28T12:00:00Z", "2025-04-01T00:00:00Z"),
        vec![
            (ts("2025-03-28T17:00:00Z"), false),
            (ts("2025-03-31T08:00:00Z"), true),
            (ts("2025-03-31T16:00:00Z"), false),
        ]
    );
    // Back to GMT on Sunday 26 October at 01:00 UTC: Monday starts at 09:00 UTC again.
    assert_eq!(
        changes(&office, "2025-10-24T12:00:00Z", "2025-10-28T00:00:00Z"),
        vec![
            (ts("2025-10-24T16:00:00Z"), false),
            (ts("2025-10-27T09:00:00Z"), true),
            (ts("2025-10-27T17:00:00Z"), false),
        ]
    );
}

#[test]
fn the_skipped_and_the_repeated_hour_in_london() {
    // 01:00 to 03:00 local on the last Sunday of March: 01:00-02:00 does not exist, so the
    // range holds for one hour, from the jump (01:00 UTC, 02:00 BST) to 03:00 BST.
    let night = set(interval(
        &[("01:00", "03:00")],
        &["sunday"],
        &[],
        "Europe/London",
    ));
    assert_eq!(
        changes(&night, "2025-03-29T12:00:00Z", "2025-03-31T00:00:00Z"),
        vec![
            (ts("2025-03-30T01:00:00Z"), true),
            (ts("2025-03-30T02:00:00Z"), false),
        ]
    );
    // On the last Sunday of October, 01:00-02:00 happens twice: the range holds for three
    // hours (00:00 to 03:00 UTC), and the repeated hour changes nothing.
    assert_eq!(
        changes(&night, "2025-10-25T12:00:00Z", "2025-10-27T00:00:00Z"),
        vec![
            (ts("2025-10-26T00:00:00Z"), true),
            (ts("2025-10-26T03:00:00Z"), false),
        ]
    );
    // A range that only covers the repeated hour holds twice as long.
    let repeated = set(interval(&[("01:00", "02:00")], &[], &[], "Europe/London"));
    assert_eq!(
        changes(&repeated, "2025-10-25T23:30:00Z", "2025-10-26T12:00:00Z"),
        vec![
            (ts("2025-10-26T00:00:00Z"), true),
            (ts("2025-10-26T02:00:00Z"), false),
        ]
    );
    // And one that only covers the skipped hour never holds that day.
    let skipped = set(interval(
        &[("01:00", "02:00")],
        &[],
        &["30"],
        "Europe/London",
    ));
    assert_eq!(
        changes(&skipped, "2025-03-29T12:00:00Z", "2025-03-31T00:00:00Z"),
        vec![]
    );
}

#[test]
fn a_range_crossing_midnight_belongs_to_the_day_it_starts() {
    // Friday nights, 22:00 to 06:00, Friday 2025-06-06.
    let friday_night = set(interval(&[("22:00", "06:00")], &["friday"], &[], "UTC"));
    for (t, want) in [
        ("2025-06-06T03:00:00Z", false), // Friday morning: the tail of Thursday night
        ("2025-06-06T21:59:59Z", false),
        ("2025-06-06T22:00:00Z", true),
        ("2025-06-06T23:59:59Z", true),
        ("2025-06-07T00:00:00Z", true), // Saturday, but the night started on Friday
        ("2025-06-07T05:59:59Z", true),
        ("2025-06-07T06:00:00Z", false),
        ("2025-06-07T22:00:00Z", false),
    ] {
        assert_eq!(friday_night.contains(ts(t)), want, "{t}");
    }
    assert_eq!(
        changes(
            &friday_night,
            "2025-06-05T12:00:00Z",
            "2025-06-14T00:00:00Z"
        ),
        vec![
            (ts("2025-06-06T22:00:00Z"), true),
            (ts("2025-06-07T06:00:00Z"), false),
            (ts("2025-06-13T22:00:00Z"), true),
        ]
    );
    // Every night: no change at midnight.
    let nights = set(interval(&[("22:00", "06:00")], &[], &[], "Europe/London"));
    assert_eq!(
        changes(&nights, "2025-03-29T12:00:00Z", "2025-03-31T00:00:00Z"),
        vec![
            (ts("2025-03-29T22:00:00Z"), true),
            (ts("2025-03-30T05:00:00Z"), false), // 06:00 BST
            (ts("2025-03-30T21:00:00Z"), true),  // 22:00 BST
        ]
    );
    // The last night of a month that ends on the 31st, asked as day -1.
    let last_night = set(interval(&[("23:00", "01:00")], &[], &["-1"], "UTC"));
    assert!(last_night.contains(ts("2025-01-31T23:30:00Z")));
    assert!(last_night.contains(ts("2025-02-01T00:30:00Z")));
    assert!(!last_night.contains(ts("2025-02-01T23:30:00Z")));
}

#[test]
fn negative_days_count_from_the_real_end_of_the_month() {
    let last_day = set(interval(&[], &[], &["-1"], "Europe/London"));
    // March has 31 days even in a zone that skips an hour in it (Alertmanager 0.25: the 30th).
    assert!(!last_day.contains(ts("2025-03-30T12:00:00Z")));
    assert!(last_day.contains(ts("2025-03-31T12:00:00Z")));
    assert!(last_day.contains(ts("2024-02-29T12:00:00Z")));
    assert!(!last_day.contains(ts("2024-02-28T12:00:00Z")));
    // A range past the end of a short month is clamped to it.
    let late = set(interval(&[], &[], &["29:31"], "UTC"));
    assert!(!late.contains(ts("2025-02-28T12:00:00Z")));
    assert!(late.contains(ts("2025-03-29T12:00:00Z")));
    let from_25th = set(interval(&[], &[], &["25:31"], "UTC"));
    assert!(from_25th.contains(ts("2025-02-28T12:00:00Z")));
    // -31 in February starts before the month: the whole month up to the end day.
    let first_week_from_end = set(interval(&[], &[], &["-31:-22"], "UTC"));
    assert!(first_week_from_end.contains(ts("2025-02-01T00:00:00Z")));
    assert!(first_week_from_end.contains(ts("2025-02-07T00:00:00Z")));
    assert!(!first_week_from_end.contains(ts("2025-02-08T00:00:00Z")));
}

#[test]
fn empty_sets_and_empty_intervals() {
    let t = ts("2025-06-01T00:00:00Z");
    let never = TimeIntervalSet::default();
    assert!(!never.contains(t));
    assert_eq!(never.next_change(t, t + LOOKAHEAD), None);
    let always = set(TimeInterval::default());
    assert!(always.contains(t));
    assert_eq!(always.next_change(t, t + LOOKAHEAD), None);
}

#[test]
fn next_change_finds_a_boundary_years_ahead_and_stops_at_until() {
    let mut y = interval(&[], &[], &[], "Europe/London");
    y.years = vec![parse_years("2030").unwrap()];
    let y = set(y);
    let from = ts("2025-06-01T00:00:00Z");
    assert_eq!(y.next_change(from, from + LOOKAHEAD), None);
    assert_eq!(
        y.next_change(from, ts("2031-01-01T00:00:00Z")),
        Some(ts("2030-01-01T00:00:00Z"))
    );
    assert_eq!(
        y.next_change(ts("2030-06-01T00:00:00Z"), ts("2035-01-01T00:00:00Z")),
        Some(ts("2031-01-01T00:00:00Z"))
    );
    // A day that never comes (31 February) ends the search at `until`, quickly.
    let mut never = interval(&[], &[], &["31"], "UTC");
    never.months = vec![parse_months("february").unwrap()];
    let never = set(never);
    assert_eq!(never.next_change(from, ts("9000-01-01T00:00:00Z")), None);
}

#[test]
fn clocks() {
    assert_eq!(parse_clock("00:00"), Ok(0));
    assert_eq!(parse_clock("09:30"), Ok(570));
    assert_eq!(parse_clock("23:59"), Ok(1439));
    assert_eq!(parse_clock("24:00"), Ok(1440));
    for bad in [
        "24:01", "9:30", "09:60", "0930", "", "ab:cd", "09:3a", "-1:00",
    ] {
        assert!(parse_clock(bad).is_err(), "{bad}");
    }
    assert!(parse_time_range("10:00", "10:00").is_err());
    assert!(parse_time_range("24:00", "09:00").is_err());
    // Unlike Alertmanager, a range may cross midnight.
    assert_eq!(
        parse_time_range("18:00", "09:00"),
        Ok(TimeRange {
            start_minute: 1080,
            end_minute: 540
        })
    );
}

#[test]
fn ranges() {
    assert_eq!(
        parse_weekdays("Monday:FRIDAY"),
        Ok(InclusiveRange { begin: 1, end: 5 })
    );
    assert_eq!(
        parse_weekdays("sunday"),
        Ok(InclusiveRange { begin: 0, end: 0 })
    );
    assert!(parse_weekdays("friday:monday").is_err());
    assert!(parse_weekdays("funday").is_err());
    assert!(parse_weekdays("monday:tuesday:friday").is_err());
    assert_eq!(
        parse_days_of_month("-3:-1"),
        Ok(InclusiveRange { begin: -3, end: -1 })
    );
    assert_eq!(
        parse_days_of_month("1:-1"),
        Ok(InclusiveRange { begin: 1, end: -1 })
    );
    assert!(parse_days_of_month("-1:5").is_err());
    assert!(parse_days_of_month("0").is_err());
    assert!(parse_days_of_month("32").is_err());
    assert!(parse_days_of_month("20:-20").is_err());
    assert_eq!(
        parse_months("may:August"),
        Ok(InclusiveRange { begin: 5, end: 8 })
    );
    assert_eq!(
        parse_months("12"),
        Ok(InclusiveRange { begin: 12, end: 12 })
    );
    assert!(parse_months("13").is_err());
    assert!(parse_months("december:january").is_err());
    assert_eq!(
        parse_years("2020:2022"),
        Ok(InclusiveRange {
            begin: 2020,
            end: 2022
        })
    );
    assert!(parse_years("2022:2020").is_err());
}

proptest! {
    #[test]
    fn any_valid_clock_round_trips(h in 0u16..24, m in 0u16..60) {
        let s = format!("{h:02}:{m:02}");
        prop_assert_eq!(parse_clock(&s), Ok(h * 60 + m));
    }

    #[test]
    fn time_ranges_are_non_empty(a in 0u16..=1440, b in 0u16..=1440) {
        let f = |x: u16| format!("{:02}:{:02}", x / 60, x % 60);
        let r = parse_time_range(&f(a), &f(b));
        prop_assert_eq!(r.is_ok(), a != b && a != 1440);
        if let Ok(r) = r {
            prop_assert!(r.start_minute < 1440 && r.end_minute <= 1440);
            prop_assert_eq!(r.crosses_midnight(), a > b);
        }
    }

    #[test]
    fn weekday_ranges(a in 0usize..7, b in 0usize..7) {
        let r = parse_weekdays(&format!("{}:{}", WEEKDAYS[a].to_uppercase(), WEEKDAYS[b]));
        prop_assert_eq!(r.is_ok(), a <= b);
    }

    #[test]
    fn day_of_month_ranges_never_always_empty(a in -40i32..40, b in -40i32..40) {
        if let Ok(r) = parse_days_of_month(&format!("{a}:{b}")) {
            prop_assert!(r.begin != 0 && r.end != 0 && (-31..=31).contains(&r.begin) && (-31..=31).contains(&r.end));
            let c = |d: i32| if d < 0 { 28 + d } else { d };
            prop_assert!(c(r.begin) <= c(r.end));
        }
    }

    #[test]
    fn month_and_year_ranges(a in -2i32..15, b in -2i32..15) {
        let r = parse_months(&format!("{a}:{b}"));
        prop_assert_eq!(r.is_ok(), (1..=12).contains(&a) && (1..=12).contains(&b) && a <= b);
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,12}") {
        let _ = parse_clock(&s);
        let _ = parse_weekdays(&s);
        let _ = parse_days_of_month(&s);
        let _ = parse_months(&s);
        let _ = parse_years(&s);
    }
}

/// The brute-force reference: Alertmanager's field tests written out plainly, with the day of a
/// midnight-crossing range's tail taken as the day before, and the month's length counted. Day
/// verdicts are remembered per date (the minute loop asks the same day 1440 times).
struct Reference<'a> {
    /// The interval under test.
    i: &'a TimeInterval,
    /// Day verdicts by date.
    days: std::collections::HashMap<Date, bool>,
}

impl Reference<'_> {
    fn day_ok(&mut self, d: Date) -> bool {
        let i = self.i;
        *self.days.entry(d).or_insert_with(|| {
            let mut len = 28;
            while d
                .first_of_month()
                .checked_add(jiff::Span::new().days(len))
                .is_ok_and(|n| n.month() == d.month())
            {
                len += 1;
            }
            let in_list = |list: &[InclusiveRange], v: i32| {
                list.is_empty() || list.iter().any(|r| r.begin <= v && v <= r.end)
            };
            let dom_ok = i.days_of_month.is_empty()
                || i.days_of_month.iter().any(|r| {
                    let begin = if r.begin < 0 {
                        len + r.begin + 1
                    } else {
                        r.begin
                    };
                    let end = if r.end < 0 { len + r.end + 1 } else { r.end };
                    if begin > len {
                        return false;
                    }
                    let end = if end > len { len } else { end };
                    i32::from(d.day()) >= begin && i32::from(d.day()) <= end
                });
            in_list(&i.years, i32::from(d.year()))
                && in_list(&i.months, i32::from(d.month()))
                && in_list(&i.weekdays, i32::from(d.weekday().to_sunday_zero_offset()))
                && dom_ok
        })
    }

    fn contains(&mut self, t: Timestamp) -> bool {
        let local = t.to_zoned(self.i.location.clone());
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        let today = local.date();
        if self.i.times.is_empty() {
            return self.day_ok(today);
        }
        let ranges = self.i.times.clone();
        ranges.iter().any(|r| {
            let (s, e) = (i32::from(r.start_minute), i32::from(r.end_minute));
            if s < e {
                s <= minute && minute < e && self.day_ok(today)
            } else {
                (minute >= s && self.day_ok(today))
                    || (minute < e && self.day_ok(today.yesterday().unwrap()))
            }
        })
    }
}

/// Zones with DST at 01:00 UTC, at local midnight (Santiago, Havana), by 30 minutes
/// (Lord Howe), with a 45-minute offset (Chatham), south of the equator, and none.
const ZONES: [&str; 8] = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
];

prop_compose! {
    fn arb_interval()(
        times in proptest::collection::vec((0u16..96, 0u16..97, 0u16..15, any::<bool>()), 0..3),
        weekdays in proptest::collection::vec((0usize..7, 0usize..7), 0..3),
        days in proptest::collection::vec((-31i32..=31, -31i32..=31), 0..3),
        months in proptest::collection::vec((1i32..=12, 1i32..=12), 0..2),
        years in proptest::collection::vec((2023i32..2029, 0i32..2), 0..2),
        zone_index in 0..ZONES.len(),
    ) -> TimeInterval {
        let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        TimeInterval {
            // Quarter hours plus a few minutes, so boundaries meet DST changes and each other;
            // some ranges a minute or two long.
            times: times
                .into_iter()
                .filter_map(|(s, e, jitter, short)| {
                    let s = (s * 15 + jitter % 3).min(1439);
                    let e = if short { (s + 1 + jitter % 2) % 1440 } else { (e * 15 + jitter / 5).min(1440) };
                    parse_time_range(&clock(s), &clock(e)).ok()
                })
                .collect(),
            weekdays: weekdays
                .into_iter()
                .filter_map(|(a, b)| parse_weekdays(&format!("{}:{}", WEEKDAYS[a], WEEKDAYS[b])).ok())
                .collect(),
            days_of_month: days
                .into_iter()
                .filter_map(|(a, b)| parse_days_of_month(&format!("{a}:{b}")).ok())
                .collect(),
            months: months
                .into_iter()
                .filter_map(|(a, b)| parse_months(&format!("{a}:{b}")).ok())
                .collect(),
            years: years
                .into_iter()
                .map(|(y, len)| InclusiveRange { begin: y, end: y + len })
                .collect(),
            location: zone(ZONES[zone_index]),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Minute by minute over a year: `contains` agrees with the reference, and `next_change`
    /// from the start and from every change finds exactly the next change.
    #[test]
    fn evaluation_matches_a_minute_by_minute_reference_over_a_year(
        intervals in proptest::collection::vec(arb_interval(), 1..3),
        start_day in 0i64..(365 * 4),
    ) {
        let s = TimeIntervalSet { intervals };
        let start = ts("2024-01-01T00:00:00Z") + SignedDuration::from_hours(24 * start_day);
        let minutes = 366 * 24 * 60;
        let end = start + SignedDuration::from_mins(minutes);
        let mut refs: Vec<Reference<'_>> = s
            .intervals
            .iter()
            .map(|i| Reference { i, days: Default::default() })
            .collect();
        let mut prev = None;
        let mut from = start;
        for m in 0..=minutes {
            let t = start + SignedDuration::from_mins(m);
            let want = refs.iter_mut().any(|r| r.contains(t));
            prop_assert_eq!(s.contains(t), want, "at {}", t);
            if prev.is_some_and(|p| p != want) {
                // `next_change` from the previous change must land here.
                prop_assert_eq!(s.next_change(from, end), Some(t), "next change after {}", from);
                from = t;
            }
            prev = Some(want);
        }
        prop_assert_eq!(s.next_change(from, end), None, "no change after {}", from);
    }
}

#[test]
fn a_route_schedule_combines_active_and_mute_intervals_as_alertmanager() {
    let office = set(interval(
        &[("09:00", "17:00")],
        &["monday:friday"],
        &[],
        "UTC",
    ));
    let lunch = set(interval(&[("12:00", "13:00")], &[], &[], "UTC"));
    let fridays = set(interval(&[], &["friday"], &[], "UTC"));
    let sets = std::collections::BTreeMap::from([
        ("office".to_owned(), office),
        ("lunch".to_owned(), lunch),
        ("fridays".to_owned(), fridays),
    ]);
    let active = ["office".to_owned()];
    let mute = [
        "lunch".to_owned(),
        "fridays".to_owned(),
        "unknown".to_owned(),
    ];
    let s = Schedule::new(&active[..], &mute[..], |n| sets.get(n));
    // Thursday 5 June 2025.
    assert_eq!(s.muted_at(ts("2025-06-05T10:00:00Z")), None);
    assert_eq!(
        s.muted_at(ts("2025-06-05T08:00:00Z")),
        Some(Muted {
            inactive: true,
            by: vec!["office"]
        })
    );
    assert_eq!(
        s.muted_at(ts("2025-06-05T12:30:00Z")),
        Some(Muted {
            inactive: false,
            by: vec!["lunch"]
        })
    );
    assert_eq!(
        s.muted_at(ts("2025-06-06T12:30:00Z")),
        Some(Muted {
            inactive: false,
            by: vec!["lunch", "fridays"]
        })
    );
    let until = ts("2025-07-01T00:00:00Z");
    // Muted at lunch: unmuted at 13:00; before lunch: the end of lunch too.
    assert_eq!(
        s.next_unmute(ts("2025-06-05T12:30:00Z"), until),
        Some(ts("2025-06-05T13:00:00Z"))
    );
    assert_eq!(
        s.next_unmute(ts("2025-06-05T10:00:00Z"), until),
        Some(ts("2025-06-05T13:00:00Z"))
    );
    // Thursday afternoon: closed from 17:00, Friday muted all day, weekend closed: Monday 09:00.
    assert_eq!(
        s.next_unmute(ts("2025-06-05T16:00:00Z"), until),
        Some(ts("2025-06-09T09:00:00Z"))
    );
    assert!(s.muted_between(ts("2025-06-05T10:00:00Z"), ts("2025-06-05T14:00:00Z")));
    assert!(!s.muted_between(ts("2025-06-05T10:00:00Z"), ts("2025-06-05T12:00:00Z")));
    assert!(s.muted_between(ts("2025-06-05T12:59:00Z"), ts("2025-06-05T13:30:00Z")));
    let none: [String; 0] = [];
    let empty = Schedule::new(&none[..], &none[..], |n| sets.get(n));
    assert!(empty.is_empty());
    assert_eq!(empty.next_unmute(ts("2025-06-05T10:00:00Z"), until), None);
    assert!(!empty.muted_between(ts("2025-06-05T10:00:00Z"), until));
}
