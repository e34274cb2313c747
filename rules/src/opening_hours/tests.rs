#![allow(
    clippy::unwrap_used,
    reason = "tests fail loudly on the first unexpected error"
)]

use chrono::{NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use chrono_tz::{America, Australia, Europe, Pacific};

use super::*;

const EXAMPLE: &str = "mon-fri 09:00-12:00, 13:00-17:30; sat 10:00-14:00; 2026-12-25 closed; \
                       2026-12-24 09:00-12:00";

fn hours(spec: &str) -> OpeningHours {
    OpeningHours::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

/// A local wall-clock reading that exists exactly once in `tz`.
fn local(tz: Tz, text: &str) -> DateTime<Tz> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    tz.from_local_datetime(&naive)
        .single()
        .unwrap_or_else(|| panic!("{text} is not unique"))
}

fn utc(tz: Tz, text: &str) -> DateTime<Tz> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    Utc.from_utc_datetime(&naive).with_timezone(&tz)
}

fn check_open(spec: &str, tz: Tz, cases: &[(&str, bool)], at: fn(Tz, &str) -> DateTime<Tz>) {
    let hours = hours(spec);
    for (time, open) in cases {
        assert_eq!(
            hours.is_open(at(tz, time)),
            *open,
            "{spec} at {time} in {tz}"
        );
    }
}

#[test]
fn refuses_bad_specs_saying_where_and_why() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty"),
        (" ; ", 0, "empty"),
        ("mon-fri", 1, "no hours"),
        ("mon-fri 9-17", 1, "\"9-17\" reads as a date"),
        ("mon-fir 09:00-17:00", 1, "\"fir\" is not a weekday"),
        ("mon 09:00", 1, "needs a start and an end"),
        ("mon 09:00-25:00", 1, "\"25:00\" is not a time"),
        ("mon 09:60-10:00", 1, "\"09:60\" is not a time"),
        ("mon 9:5-10:00", 1, "\"9:5\" is not a time"),
        ("mon 10:00-10:00", 1, "is empty"),
        ("mon 24:00-02:00", 1, "starts at 24:00"),
        ("2026-02-30 closed", 1, "\"2026-02-30\" is not a date"),
        ("2026-12-31..2026-12-01 closed", 1, "ends before it starts"),
        ("2026-12-24..12-31 closed", 1, "mixes"),
        (
            "mon closed 10:00-12:00",
            1,
            "either \"closed\" or has intervals",
        ),
        ("09:00-12:00 mon", 1, "\"mon\" comes after the hours"),
        (
            "mon 2026-12-24 10:00-12:00",
            1,
            "for weekdays or for dates, not both",
        ),
        ("mon-fri 09:00-17:00; sat", 2, "no hours"),
    ];
    for (spec, part, message) in cases {
        let err = OpeningHours::parse(spec).unwrap_err();
        assert_eq!(err.part, *part, "{spec}: {err}");
        assert!(err.to_string().contains(message), "{spec}: {err}");
    }
    let err = OpeningHours::parse("mon-fri 09:00-17:00; sat 10:00").unwrap_err();
    assert_eq!(
        err.to_string(),
        "part 2 (\"sat 10:00\"): \"10:00\" needs a start and an end, like 09:00-17:00"
    );
}

#[test]
fn validate_matches_parse() {
    assert!(validate_opening_hours(EXAMPLE).is_ok());
    assert!(validate_opening_hours("sometimes").is_err());
}

#[test]
fn spacing_case_and_day_spellings_do_not_matter() {
    let canonical = hours("mon-fri 09:00-12:00, 13:00-17:30; sat,sun closed");
    for spec in [
        "Mon - Fri 9:00 - 12:00 , 13:00\u{2013}17:30 ; Sat Sun closed;",
        "monday-friday 09:00-12:00 13:00-17:30; saturday, sunday off",
        "mo-fr 09:00-12:00,13:00-17:30; sa,su closed",
    ] {
        assert_eq!(hours(spec), canonical, "{spec}");
    }
}

#[test]
fn several_intervals_a_day_special_days_and_holidays() {
    check_open(
        EXAMPLE,
        Europe::Paris,
        &[
            ("2026-06-16 08:59", false),
            ("2026-06-16 09:00", true),
            ("2026-06-16 11:59", true),
            ("2026-06-16 12:00", false),
            ("2026-06-16 12:59", false),
            ("2026-06-16 13:00", true),
            ("2026-06-16 17:29", true),
            ("2026-06-16 17:30", false),
            ("2026-06-20 10:00", true),
            ("2026-06-20 14:00", false),
            ("2026-06-21 12:00", false),
            ("2026-12-18 10:00", true),
            ("2026-12-24 10:00", true),
            ("2026-12-24 13:30", false),
            ("2026-12-25 10:00", false),
        ],
        local,
    );
}

#[test]
fn later_parts_win_and_yearly_dates_repeat() {
    check_open(
        "mon-fri 09:00-17:00; fri 09:00-15:00; 12-24..12-26 closed; 12-31 10:00-12:00",
        Europe::Paris,
        &[
            ("2026-06-18 16:00", true),
            ("2026-06-19 16:00", false),
            ("2026-06-19 14:59", true),
            ("2027-12-24 10:00", false),
            ("2026-12-31 11:00", true),
            ("2026-12-31 13:00", false),
        ],
        local,
    );
    check_open(
        "00:00-24:00; 12-31..01-01 closed",
        Europe::Paris,
        &[
            ("2026-12-30 12:00", true),
            ("2026-12-31 12:00", false),
            ("2027-01-01 12:00", false),
            ("2027-01-02 00:00", true),
        ],
        local,
    );
}

#[test]
fn overnight_intervals_belong_to_the_day_they_start() {
    check_open(
        "fri-sat 22:00-02:00; 2026-06-20 closed",
        Europe::Paris,
        &[
            ("2026-06-19 21:59", false),
            ("2026-06-19 23:00", true),
            ("2026-06-20 01:59", true),
            ("2026-06-20 02:00", false),
            ("2026-06-20 23:00", false),
            ("2026-06-21 01:00", false),
            ("2026-06-26 23:30", true),
            ("2026-06-27 23:30", true),
            ("2026-06-28 01:30", true),
        ],
        local,
    );
}

#[test]
fn hours_follow_local_time_across_spring_forward() {
    // Paris moves from UTC+1 to UTC+2 on Sunday 2026-03-29; 09:00 local moves from 08:00 to 07:00 UTC.
    check_open(
        "mon-fri 09:00-17:00",
        Europe::Paris,
        &[
            ("2026-03-27 07:30", false),
            ("2026-03-27 08:30", true),
            ("2026-03-27 15:59", true),
            ("2026-03-27 16:00", false),
            ("2026-03-30 06:59", false),
            ("2026-03-30 07:30", true),
            ("2026-03-30 14:59", true),
            ("2026-03-30 15:00", false),
        ],
        utc,
    );
    let weekdays = hours("mon-fri 09:00-17:00");
    let friday_close = utc(Europe::Paris, "2026-03-27 16:00");
    assert_eq!(
        weekdays.next_change(friday_close),
        Some(utc(Europe::Paris, "2026-03-30 07:00"))
    );
}

#[test]
fn an_interval_starting_in_the_skipped_hour_opens_when_the_clock_jumps() {
    // 02:30 does not exist in Paris on 2026-03-29: the clock goes from 01:59 CET to 03:00 CEST.
    let spec = hours("sun 02:30-04:00");
    let tz = Europe::Paris;
    assert!(!spec.is_open(utc(tz, "2026-03-29 00:30")));
    assert_eq!(
        spec.next_change(utc(tz, "2026-03-29 00:30")),
        Some(utc(tz, "2026-03-29 01:00"))
    );
    assert!(spec.is_open(utc(tz, "2026-03-29 01:00")));
    assert_eq!(
        spec.next_change(utc(tz, "2026-03-29 01:00")),
        Some(utc(tz, "2026-03-29 02:00"))
    );
}

#[test]
fn an_interval_in_the_repeated_hour_is_open_on_both_passes() {
    // 02:00-03:00 happens twice in Paris on 2026-10-25: at 00:00 UTC (CEST) and at 01:00 UTC (CET).
    let spec = hours("sun 02:00-02:30");
    let tz = Europe::Paris;
    let cases = [
        ("2026-10-25 00:00", true, "2026-10-25 00:30"),
        ("2026-10-25 00:30", false, "2026-10-25 01:00"),
        ("2026-10-25 00:45", false, "2026-10-25 01:00"),
        ("2026-10-25 01:00", true, "2026-10-25 01:30"),
        ("2026-10-25 01:30", false, "2026-11-01 01:00"),
    ];
    for (now, open, next) in cases {
        assert_eq!(spec.is_open(utc(tz, now)), open, "{now}");
        assert_eq!(spec.next_change(utc(tz, now)), Some(utc(tz, next)), "{now}");
    }
}

#[test]
fn turning_the_clock_back_can_reopen_without_crossing_a_boundary() {
    // Open until 02:30: closed at 02:30 CEST, open again when 03:00 CEST becomes 02:00 CET.
    let spec = hours("sun 01:00-02:30");
    let tz = Europe::Paris;
    assert!(!spec.is_open(utc(tz, "2026-10-25 00:45")));
    assert_eq!(
        spec.next_change(utc(tz, "2026-10-25 00:45")),
        Some(utc(tz, "2026-10-25 01:00"))
    );
    assert_eq!(
        spec.next_change(utc(tz, "2026-10-25 01:00")),
        Some(utc(tz, "2026-10-25 01:30"))
    );
}

#[test]
fn time_zones_far_from_utc() {
    // Kiritimati is UTC+14: Monday 09:00 there is Sunday 19:00 UTC.
    check_open(
        "mon-fri 09:00-17:00",
        Pacific::Kiritimati,
        &[
            ("2026-06-14 18:59", false),
            ("2026-06-14 19:00", true),
            ("2026-06-19 02:59", true),
            ("2026-06-19 03:00", false),
        ],
        utc,
    );
    let weekdays = hours("mon-fri 09:00-17:00");
    assert_eq!(
        weekdays.next_change(utc(Pacific::Kiritimati, "2026-06-19 03:00")),
        Some(utc(Pacific::Kiritimati, "2026-06-21 19:00"))
    );
    // Auckland leaves daylight time (UTC+13 to UTC+12) on Sunday 2026-04-05.
    assert_eq!(
        weekdays.next_change(utc(Pacific::Auckland, "2026-04-03 04:00")),
        Some(utc(Pacific::Auckland, "2026-04-05 21:00"))
    );
}

#[test]
fn next_change_may_be_far_away_or_never() {
    let tz = Tz::UTC;
    let christmas = hours("00:00-24:00; 12-25 closed");
    assert_eq!(
        christmas.next_change(utc(tz, "2026-01-10 12:00")),
        Some(utc(tz, "2026-12-25 00:00"))
    );
    assert_eq!(
        christmas.next_change(utc(tz, "2026-12-25 08:00")),
        Some(utc(tz, "2026-12-26 00:00"))
    );
    assert!(hours("00:00-24:00").is_open(utc(tz, "2026-01-10 12:00")));
    assert_eq!(
        hours("00:00-24:00").next_change(utc(tz, "2026-01-10 12:00")),
        None
    );
    assert_eq!(
        hours("closed").next_change(utc(tz, "2026-01-10 12:00")),
        None
    );
    assert_eq!(
        hours("2020-01-01 10:00-11:00").next_change(utc(tz, "2026-01-10 12:00")),
        None
    );
}

/// `next_change` must agree with the slow answer: step minute by minute until the state flips.
#[test]
fn next_change_agrees_with_a_minute_by_minute_scan() {
    let specs = [
        EXAMPLE,
        "fri-sat 22:00-02:00; 2026-04-04 closed",
        "sun 02:00-02:30; sun 03:00-03:15",
        "sun 02:30-04:00",
        "sun 01:00-02:30",
        "mon-fri 09:00-17:00; sat 00:00-24:00",
    ];
    let zones = [
        Europe::Paris,
        Pacific::Kiritimati,
        Pacific::Auckland,
        America::New_York,
        Australia::Lord_Howe,
    ];
    let starts = [
        "2026-03-27 23:00",
        "2026-10-23 11:17",
        "2026-04-02 05:00",
        "2026-11-30 00:00",
        "2026-10-25 00:45",
        "2026-04-04 14:45",
        "2026-03-08 06:30",
    ];
    const DAYS: i64 = 8;
    let mut changes = 0;
    for spec in specs {
        let hours = hours(spec);
        for tz in zones {
            for start in starts {
                let at = utc(tz, start);
                let open = hours.is_open(at);
                let scanned = (1..=DAYS * 24 * 60)
                    .map(|m| at + TimeDelta::minutes(m))
                    .find(|t| hours.is_open(*t) != open);
                let found = hours.next_change(at);
                match scanned {
                    Some(expected) => {
                        assert_eq!(found, Some(expected), "{spec} in {tz} from {start}");
                        changes += 1;
                    }
                    None => assert!(
                        found.is_none_or(|f| f > at + TimeDelta::days(DAYS)),
                        "{spec} in {tz} from {start}: {found:?}"
                    ),
                }
            }
        }
    }
    assert_eq!(
        changes,
        specs.len() * zones.len() * starts.len(),
        "every spec changes within a week"
    );
}
