use super::*;
use proptest::prelude::*;

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
    assert!(parse_time_range("18:00", "09:00").is_err());
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
    assert!(parse_location("Europe/London").is_ok());
    assert!(parse_location("Mars/Olympus").is_err());
}

proptest! {
    #[test]
    fn any_valid_clock_round_trips(h in 0u16..24, m in 0u16..60) {
        let s = format!("{h:02}:{m:02}");
        prop_assert_eq!(parse_clock(&s), Ok(h * 60 + m));
    }

    #[test]
    fn time_ranges_are_ordered(a in 0u16..=1440, b in 0u16..=1440) {
        let f = |x: u16| format!("{:02}:{:02}", x / 60, x % 60);
        let r = parse_time_range(&f(a), &f(b));
        prop_assert_eq!(r.is_ok(), a < b);
        if let Ok(r) = r {
            prop_assert!(r.start_minute < r.end_minute && r.end_minute <= 1440);
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
