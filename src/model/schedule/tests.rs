//! Schedule parsing and search: worked examples (DST in Europe/London, EventBridge specials),
//! errors, and a property test of the search against a minute-by-minute walk over a year.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::*;

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn sched(text: &str, zone: &str) -> Schedule {
    Schedule::parse(text, tz(zone)).unwrap_or_else(|e| panic!("{e}"))
}

/// The next `n` expected times after `from`, as RFC 3339 strings.
fn next_n(s: &Schedule, from: &str, n: usize) -> Vec<String> {
    let mut t = ts(from);
    let mut out = Vec::new();
    for _ in 0..n {
        t = s.next_after(t).expect("fires");
        out.push(t.to_string());
    }
    out
}

#[test]
fn five_fields_and_names() {
    let s = sched("0 5 * * *", "UTC");
    assert_eq!(
        next_n(&s, "2024-01-01T05:00:00Z", 2),
        ["2024-01-02T05:00:00Z", "2024-01-03T05:00:00Z"]
    );
    let s = sched("*/20 9-10 * * mon-fri", "UTC");
    // 2024-01-05 is a Friday.
    assert_eq!(
        next_n(&s, "2024-01-05T10:30:00Z", 3),
        [
            "2024-01-05T10:40:00Z",
            "2024-01-08T09:00:00Z",
            "2024-01-08T09:20:00Z"
        ]
    );
    assert_eq!(
        next_n(&sched("@daily", "UTC"), "2024-02-28T12:00:00Z", 2),
        ["2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"]
    );
    assert_eq!(
        next_n(&sched("@weekly", "UTC"), "2024-01-01T00:00:00Z", 1),
        ["2024-01-07T00:00:00Z"]
    );
    assert_eq!(
        next_n(&sched("@yearly", "UTC"), "2024-06-01T00:00:00Z", 1),
        ["2025-01-01T00:00:00Z"]
    );
    // Sunday is 0 and 7.
    assert_eq!(
        next_n(&sched("0 0 * * 7", "UTC"), "2024-01-01T00:00:00Z", 1),
        ["2024-01-07T00:00:00Z"]
    );
}

#[test]
fn vixie_day_fields_either_when_both_restricted() {
    // The 13th or any Friday.
    let s = sched("0 0 13 * 5", "UTC");
    assert_eq!(
        next_n(&s, "2024-01-01T00:00:00Z", 3),
        [
            "2024-01-05T00:00:00Z",
            "2024-01-12T00:00:00Z",
            "2024-01-13T00:00:00Z"
        ]
    );
    // A star-step day of month still combines with "and".
    let s = sched("0 0 */2 * 1", "UTC");
    // Mondays on odd days: 2024-01-01 is a Monday (day 1).
    assert_eq!(
        next_n(&s, "2023-12-31T00:00:00Z", 2),
        ["2024-01-01T00:00:00Z", "2024-01-15T00:00:00Z"]
    );
}

#[test]
fn eventbridge_form() {
    // The job: 07:05 UTC every day.
    let s = sched("cron(05 7 * * ? *)", "UTC");
    assert_eq!(s.flavor(), Flavor::EventBridge);
    assert_eq!(
        next_n(&s, "2024-03-10T07:05:00Z", 2),
        ["2024-03-11T07:05:00Z", "2024-03-12T07:05:00Z"]
    );
    // 1 = Sunday in EventBridge; MON-FRI by name.
    assert_eq!(
        next_n(
            &sched("cron(0 12 ? * 1 *)", "UTC"),
            "2024-01-01T00:00:00Z",
            1
        ),
        ["2024-01-07T12:00:00Z"]
    );
    assert_eq!(
        next_n(
            &sched("cron(0 18 ? * MON-FRI *)", "UTC"),
            "2024-01-05T19:00:00Z",
            1
        ),
        ["2024-01-08T18:00:00Z"]
    );
    // L: last day of the month; 6L: last Friday; 2#1: first Monday; 15W; LW.
    assert_eq!(
        next_n(
            &sched("cron(0 0 L * ? *)", "UTC"),
            "2024-01-31T00:00:00Z",
            2
        ),
        ["2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z"]
    );
    assert_eq!(
        next_n(
            &sched("cron(0 10 ? * 6L *)", "UTC"),
            "2024-01-01T00:00:00Z",
            2
        ),
        ["2024-01-26T10:00:00Z", "2024-02-23T10:00:00Z"]
    );
    assert_eq!(
        next_n(
            &sched("cron(0 10 ? * 2#1 *)", "UTC"),
            "2024-01-02T00:00:00Z",
            2
        ),
        ["2024-02-05T10:00:00Z", "2024-03-04T10:00:00Z"]
    );
    // 2024-06-15 is a Saturday: the nearest weekday is Friday the 14th; 2024-09-15 is a
    // Sunday: Monday the 16th; 2024-06-01 is a Saturday and 1W stays in June: Monday the 3rd.
    assert_eq!(
        next_n(
            &sched("cron(0 0 15W * ? *)", "UTC"),
            "2024-06-01T00:00:00Z",
            1
        ),
        ["2024-06-14T00:00:00Z"]
    );
    assert_eq!(
        next_n(
            &sched("cron(0 0 15W * ? *)", "UTC"),
            "2024-09-01T00:00:00Z",
            1
        ),
        ["2024-09-16T00:00:00Z"]
    );
    assert_eq!(
        next_n(
            &sched("cron(0 0 1W * ? *)", "UTC"),
            "2024-05-31T00:00:00Z",
            1
        ),
        ["2024-06-03T00:00:00Z"]
    );
    // 2024-08-31 is a Saturday: the last weekday is Friday the 30th.
    assert_eq!(
        next_n(
            &sched("cron(0 0 LW * ? *)", "UTC"),
            "2024-08-01T00:00:00Z",
            1
        ),
        ["2024-08-30T00:00:00Z"]
    );
    // A year list: nothing after it.
    let s = sched("cron(0 0 1 1 ? 2025-2026)", "UTC");
    assert_eq!(
        next_n(&s, "2020-05-05T00:00:00Z", 2),
        ["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]
    );
    assert_eq!(s.next_after(ts("2026-01-01T00:00:00Z")), None);
}

#[test]
fn cron_specials_too() {
    // Five-field cron takes the same specials; 5 = Friday there.
    assert_eq!(
        next_n(&sched("0 10 * * 5L", "UTC"), "2024-01-01T00:00:00Z", 1),
        ["2024-01-26T10:00:00Z"]
    );
    assert_eq!(
        next_n(&sched("0 10 * * 2#3", "UTC"), "2024-01-01T00:00:00Z", 1),
        ["2024-01-16T10:00:00Z"]
    );
}

#[test]
fn london_dst_gap_and_overlap() {
    // 2024-03-31 01:00 GMT the clocks go to 02:00 BST: 01:30 does not exist that day.
    let s = sched("30 1 * * *", "Europe/London");
    assert_eq!(
        next_n(&s, "2024-03-30T01:30:00Z", 2),
        ["2024-04-01T00:30:00Z", "2024-04-02T00:30:00Z"],
        "the gap day is skipped, then 01:30 BST"
    );
    // 2024-10-27 02:00 BST the clocks go back to 01:00 GMT: 01:30 happens twice; expected once,
    // the first time (00:30 UTC).
    assert_eq!(
        next_n(&s, "2024-10-26T00:30:00Z", 2),
        ["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"]
    );
    // From inside the second pass, the repeated wall times are not expected again.
    let every_15 = sched("*/15 * * * *", "Europe/London");
    assert_eq!(
        next_n(&every_15, "2024-10-27T01:10:00Z", 1),
        ["2024-10-27T02:00:00Z"]
    );
    // Midnight jobs are untouched; the UTC time moves by an hour.
    assert_eq!(
        next_n(
            &sched("0 0 * * *", "Europe/London"),
            "2024-03-30T12:00:00Z",
            2
        ),
        ["2024-03-31T00:00:00Z", "2024-03-31T23:00:00Z"]
    );
}

#[test]
fn errors_say_what_is_wrong() {
    let bad = [
        ("* * * *", "has 4 fields, want 5"),
        ("0 7 * * ? *", "write an EventBridge schedule as cron("),
        ("cron(0 7 * * *)", "has 5 fields, want 6"),
        ("cron(0 7 * * 1 *)", "must be ?"),
        ("cron(0 7 ? * ? *)", "only one of"),
        ("60 * * * *", "minute value 60 is out of range 0-59"),
        ("0 24 * * *", "hour value 24"),
        ("0 0 0 * *", "day-of-month value 0"),
        ("0 0 * 13 *", "month value 13"),
        ("0 0 * * 8", "day-of-week value 8"),
        (
            "cron(0 0 ? * 0 *)",
            "day-of-week value 0 is out of range 1-7",
        ),
        ("cron(0 0 1 * ? 1969)", "year value 1969"),
        ("*/0 * * * *", "step 0"),
        ("5-1 * * * *", "runs backwards"),
        ("0 0 * * MON#6", "must be 1-5"),
        ("0 0 * * FOO", "invalid day-of-week value \"FOO\""),
        ("@reboot", "unknown name"),
        ("0 0 ,1 * *", "invalid day-of-month value \"\""),
    ];
    for (text, want) in bad {
        let e = Schedule::parse(text, TimeZone::UTC).expect_err(text);
        assert!(e.to_string().contains(want), "{text}: {e}");
        assert!(e.to_string().contains(text), "{text}: {e}");
    }
    // Never fires: 30 February.
    let s = sched("0 0 30 2 *", "UTC");
    assert_eq!(s.next_after(ts("2024-01-01T00:00:00Z")), None);
}

/// Every expected time in `[from, from + days)`, by testing each whole minute.
fn brute_force(s: &Schedule, from: Timestamp, days: i64) -> Vec<Timestamp> {
    let start = from.as_second().div_euclid(60) * 60;
    (0..days * 24 * 60)
        .map(|i| Timestamp::from_second(start + i * 60).unwrap())
        .filter(|t| s.matches(*t))
        .collect()
}

const ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe", // a 30-minute DST shift
    "Asia/Kolkata",
    "America/Santiago",
];

fn field(min: u32, max: u32, names: &'static [&'static str]) -> impl Strategy<Value = String> {
    let value = (min..=max).prop_map(|v| v.to_string());
    let item = prop_oneof![
        Just("*".to_owned()),
        value.clone(),
        (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (1..=max.max(1)).prop_map(|s| format!("*/{s}")),
        (min..=max, 1..=max.max(1)).prop_map(|(a, s)| format!("{a}/{s}")),
        proptest::sample::select(names).prop_map(|n| n.to_owned()),
    ];
    proptest::collection::vec(item, 1..3).prop_map(|v| v.join(","))
}

fn cron_text() -> impl Strategy<Value = String> {
    let dom = prop_oneof![
        field(1, 31, &["*"]),
        Just("L".to_owned()),
        Just("LW".to_owned()),
        (1u32..=31).prop_map(|n| format!("{n}W")),
    ];
    let dow = prop_oneof![
        field(0, 7, &["MON", "sat", "*"]),
        (0u32..=6).prop_map(|d| format!("{d}L")),
        (0u32..=6, 1u32..=5).prop_map(|(d, k)| format!("{d}#{k}")),
    ];
    (
        field(0, 59, &["*"]),
        field(0, 23, &["*"]),
        dom,
        field(1, 12, &["FEB", "oct", "*"]),
        dow,
        any::<bool>(),
    )
        .prop_map(|(m, h, dom, mon, dow, eb)| {
            if eb {
                // EventBridge: shift day of week to 1-7 by using names, one day field is ?.
                let dow = dow.replace(['0', '7'], "1");
                if dom.len() % 2 == 0 {
                    format!("cron({m} {h} {dom} {mon} ? 2023-2026)")
                } else {
                    format!("cron({m} {h} ? {mon} {dow} *)")
                }
            } else {
                format!("{m} {h} {dom} {mon} {dow}")
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Chained `next_after` from a random start finds exactly the minutes that match, over a
    /// year, in zones with DST gaps and overlaps.
    #[test]
    fn search_agrees_with_minute_by_minute(
        text in cron_text(),
        zone in proptest::sample::select(ZONES),
        start in 1_704_067_200i64..1_735_689_600, // during 2024
    ) {
        let Ok(s) = Schedule::parse(&text, tz(zone)) else {
            return Ok(()); // a generated text can be invalid (a backwards EventBridge day)
        };
        let from = Timestamp::from_second(start).unwrap();
        let want = brute_force(&s, from, 367);
        let end = from.checked_add(jiff::SignedDuration::from_hours(366 * 24)).unwrap();
        let mut got = Vec::new();
        let mut t = from.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
        while let Some(n) = s.next_after(t) {
            if n >= end { break; }
            got.push(n);
            t = n;
        }
        // The brute force starts at the minute containing `from` and runs a day longer.
        let first = from.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
        let want: Vec<_> = want.into_iter().filter(|w| *w > first && *w < end).collect();
        prop_assert_eq!(got, want, "{} in {}", text, zone);
    }
}

#[test]
fn dst_cases_in_the_property_domain() {
    // The property test draws these by chance; run the DST-sensitive ones every time.
    for (text, zone) in [
        ("*/30 1-2 * * *", "Europe/London"),
        ("30 2 * * *", "America/New_York"),
        ("0,30 1-2 * * *", "Australia/Lord_Howe"),
        ("0 0 * * *", "America/Santiago"),
    ] {
        let s = sched(text, zone);
        let from = ts("2024-01-01T00:00:00Z");
        let want = brute_force(&s, from, 366);
        let mut got = Vec::new();
        let mut t = from;
        while let Some(n) = s.next_after(t) {
            if n >= ts("2025-01-01T00:00:00Z") {
                break;
            }
            got.push(n);
            t = n;
        }
        assert_eq!(got, want, "{text} in {zone}");
    }
}
