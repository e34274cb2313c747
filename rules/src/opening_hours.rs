//! Opening hours: a small human-writable grammar, parsed once and queried in the site's time zone.
//!
//! The grammar is documented in `rules/README.md`. In short: parts separated by `;`, each part is
//! an optional selector (weekdays, or dates) followed by intervals or `closed`, e.g.
//! `mon-fri 09:00-12:00, 13:00-17:30; sat 10:00-14:00; 12-25 closed; 2026-12-24 09:00-12:00`.
//!
//! Hours are wall-clock times in the site's time zone. Being open is decided from the local clock
//! reading, so DST needs no special case: an interval that falls in the hour skipped at
//! spring-forward is shortened by it, one that falls in the hour repeated at fall-back is open
//! during both passes.

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike,
};
use chrono_tz::Tz;

const MINUTES_PER_DAY: u32 = 24 * 60;
/// How far ahead `next_change` looks: a year and a bit, so a yearly holiday is always seen.
const HORIZON_DAYS: u64 = 400;
/// Days scanned per step of `next_change`; the last day of a window is scanned again by the next
/// window because its overnight intervals end on the day after.
const WINDOW_DAYS: u64 = 7;

/// A parsed opening-hours spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    applies: Applies,
    /// Empty means closed all day.
    hours: Vec<Interval>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Applies {
    /// One bit per weekday, Monday is bit 0.
    Weekdays(u8),
    Dates(Vec<DateRange>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DateRange {
    Fixed {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// `(month, day)` pairs; `from` after `to` wraps over the new year.
    Yearly {
        from: (u32, u32),
        to: (u32, u32),
    },
}

/// Minutes since local midnight of the day the interval starts; `end` past 24:00 is overnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interval {
    start: u32,
    end: u32,
}

/// Why a spec was refused: which `;`-separated part (1-based, 0 for the spec as a whole) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub part: usize,
    pub text: String,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.part == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(
                f,
                "part {} (\"{}\"): {}",
                self.part, self.text, self.message
            )
        }
    }
}

impl std::error::Error for SpecError {}

/// Checks a spec without keeping it, for validating a rule's parameters when they are saved.
pub fn validate_opening_hours(spec: &str) -> Result<(), SpecError> {
    OpeningHours::parse(spec).map(|_| ())
}

impl OpeningHours {
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let spec = spec.replace(['\u{2013}', '\u{2014}'], "-");
        let mut parts = Vec::new();
        for (index, text) in spec.split(';').enumerate() {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let part = parse_part(text).map_err(|message| SpecError {
                part: index + 1,
                text: text.to_owned(),
                message,
            })?;
            parts.push(part);
        }
        if parts.is_empty() {
            return Err(SpecError {
                part: 0,
                text: String::new(),
                message: "the opening hours are empty; write e.g. \"mon-fri 09:00-17:00\"".into(),
            });
        }
        Ok(Self { parts })
    }

    /// Whether the hours say open at this local wall-clock reading.
    pub fn is_open_local(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        let minute = local.hour() * 60 + local.minute();
        let today = self
            .hours_on(date)
            .iter()
            .any(|i| i.start <= minute && minute < i.end);
        let spill = date.pred_opt().is_some_and(|yesterday| {
            self.hours_on(yesterday)
                .iter()
                .any(|i| i.end > MINUTES_PER_DAY && minute < i.end - MINUTES_PER_DAY)
        });
        today || spill
    }

    pub fn is_open(&self, at: DateTime<Tz>) -> bool {
        self.is_open_local(at.naive_local())
    }

    /// The first instant after `at` where open/closed flips, if one comes within about a year.
    pub fn next_change(&self, at: DateTime<Tz>) -> Option<DateTime<Tz>> {
        let tz = at.timezone();
        let open_now = self.is_open(at);
        let first_day = at.naive_local().date().pred_opt()?;
        let mut offset = 0;
        while offset < HORIZON_DAYS {
            let start = first_day.checked_add_days(Days::new(offset))?;
            let end = start.checked_add_days(Days::new(WINDOW_DAYS))?;
            let mut candidates = Vec::new();
            let mut day = start;
            while day < end {
                self.boundaries_on(tz, day, &mut candidates);
                candidates.extend(transition_near(tz, day));
                day = day.succ_opt()?;
            }
            candidates.retain(|c| *c > at && c.naive_local().date() < end);
            candidates.sort();
            if let Some(change) = candidates
                .into_iter()
                .find(|c| self.is_open(*c) != open_now)
            {
                return Some(change);
            }
            offset += WINDOW_DAYS - 1;
        }
        None
    }

    /// The intervals for a date: a date part beats a weekday part, and among parts of the same
    /// kind the later one wins, so "mon-fri 9-17; fri 9-15" shortens Friday as people expect.
    fn hours_on(&self, date: NaiveDate) -> &[Interval] {
        let weekday_bit = 1u8 << date.weekday().num_days_from_monday();
        let mut by_weekday = None;
        let mut by_date = None;
        for part in &self.parts {
            match &part.applies {
                Applies::Weekdays(mask) if mask & weekday_bit != 0 => {
                    by_weekday = Some(&part.hours)
                }
                Applies::Dates(ranges) if ranges.iter().any(|r| r.contains(date)) => {
                    by_date = Some(&part.hours);
                }
                _ => {}
            }
        }
        by_date.or(by_weekday).map_or(&[], Vec::as_slice)
    }

    fn boundaries_on(&self, tz: Tz, date: NaiveDate, out: &mut Vec<DateTime<Tz>>) {
        for interval in self.hours_on(date) {
            for minute in [interval.start, interval.end] {
                let (day, minute) = if minute >= MINUTES_PER_DAY {
                    (date.succ_opt(), minute - MINUTES_PER_DAY)
                } else {
                    (Some(date), minute)
                };
                if let Some(day) = day {
                    instants_at(tz, day, minute, out);
                }
            }
        }
    }
}

impl DateRange {
    fn contains(&self, date: NaiveDate) -> bool {
        match *self {
            Self::Fixed { from, to } => from <= date && date <= to,
            Self::Yearly { from, to } => {
                let md = (date.month(), date.day());
                if from <= to {
                    from <= md && md <= to
                } else {
                    md >= from || md <= to
                }
            }
        }
    }
}

/// Every instant whose local reading is `minute` on `date`: two at fall-back, and at spring-forward
/// (the reading does not exist) the instant the clock jumps, which is when the reading is passed.
fn instants_at(tz: Tz, date: NaiveDate, minute: u32, out: &mut Vec<DateTime<Tz>>) {
    let Some(local) = date.and_hms_opt(minute / 60, minute % 60, 0) else {
        return;
    };
    for step in 0..=i64::from(MINUTES_PER_DAY) {
        let probe = local + TimeDelta::minutes(step);
        match tz.from_local_datetime(&probe) {
            chrono::LocalResult::Single(t) => return out.push(t),
            chrono::LocalResult::Ambiguous(a, b) => return out.extend([a, b]),
            chrono::LocalResult::None => {}
        }
    }
}

/// The UTC-offset change, if any, in the 24 hours around `date`. It matters on its own: at
/// fall-back the clock reading goes back, which can reopen an interval without crossing a boundary.
fn transition_near(tz: Tz, date: NaiveDate) -> Option<DateTime<Tz>> {
    let offset_at = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| tz.offset_from_utc_datetime(&t.naive_utc()).fix())
    };
    // Whole seconds, so the instant found is exact: offsets change on the second.
    let mut low = (date.and_hms_opt(0, 0, 0)? - TimeDelta::hours(12))
        .and_utc()
        .timestamp();
    let mut high = low + 24 * 3600;
    let after = offset_at(high)?;
    if offset_at(low)? == after {
        return None;
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if offset_at(mid)? == after {
            high = mid
        } else {
            low = mid
        }
    }
    Some(DateTime::from_timestamp(high, 0)?.with_timezone(&tz))
}

fn parse_part(text: &str) -> Result<Part, String> {
    let mut weekdays = 0u8;
    let mut dates = Vec::new();
    let mut date_tokens = Vec::new();
    let mut hours = Vec::new();
    let mut closed = false;
    for token in tokens(text) {
        let lower = token.to_ascii_lowercase();
        if lower == "closed" || lower == "off" {
            closed = true;
        } else if token.contains(':') {
            hours.push(parse_interval(&token)?);
        } else if !hours.is_empty() || closed {
            return Err(format!(
                "\"{token}\" comes after the hours; days and dates go first"
            ));
        } else if lower.starts_with(|c: char| c.is_ascii_alphabetic()) {
            weekdays |= parse_weekdays(&lower)?;
        } else {
            dates.push(parse_dates(&token)?);
            date_tokens.push(token);
        }
    }
    if weekdays != 0 && !dates.is_empty() {
        let date = date_tokens.first().map_or("", String::as_str);
        return Err(format!(
            "\"{date}\" reads as a date, and a part is for weekdays or for dates, not both; \
             times need a colon, like 09:00-17:00"
        ));
    }
    if closed && !hours.is_empty() {
        return Err("a part is either \"closed\" or has intervals, not both".into());
    }
    if !closed && hours.is_empty() {
        return Err("no hours: add intervals like 09:00-17:00, or \"closed\"".into());
    }
    let applies = match (weekdays, dates.is_empty()) {
        (0, true) => Applies::Weekdays(0b111_1111),
        (mask, true) => Applies::Weekdays(mask),
        (_, false) => Applies::Dates(dates),
    };
    Ok(Part { applies, hours })
}

/// Splits on spaces and commas after gluing `-` and `..` to their neighbours, so
/// "mon - fri 9:00 - 12:00" reads like "mon-fri 9:00-12:00".
fn tokens(text: &str) -> Vec<String> {
    let mut glued = String::with_capacity(text.len());
    let mut skip_space = false;
    for c in text.chars() {
        if c == '-' || c == '.' {
            glued.truncate(glued.trim_end().len());
            glued.push(c);
            skip_space = true;
        } else if c.is_whitespace() && skip_space {
        } else {
            glued.push(c);
            skip_space = false;
        }
    }
    glued
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_interval(token: &str) -> Result<Interval, String> {
    let Some((start, end)) = token.split_once('-') else {
        return Err(format!(
            "\"{token}\" needs a start and an end, like 09:00-17:00"
        ));
    };
    let start = parse_time(start)?;
    let end = parse_time(end)?;
    if start == MINUTES_PER_DAY {
        return Err(format!(
            "\"{token}\" starts at 24:00; start at 00:00 of the next day"
        ));
    }
    match end.cmp(&start) {
        std::cmp::Ordering::Equal => Err(format!("\"{token}\" is empty: it ends when it starts")),
        std::cmp::Ordering::Greater => Ok(Interval { start, end }),
        std::cmp::Ordering::Less => Ok(Interval {
            start,
            end: end + MINUTES_PER_DAY,
        }),
    }
}

fn parse_time(text: &str) -> Result<u32, String> {
    let invalid = || format!("\"{text}\" is not a time; write HH:MM from 00:00 to 24:00");
    let (hours, minutes) = text.split_once(':').ok_or_else(invalid)?;
    let digits = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let hours = digits(hours, 2).ok_or_else(invalid)?;
    let minutes = digits(minutes, 2)
        .filter(|_| minutes.len() == 2)
        .ok_or_else(invalid)?;
    if minutes > 59 || hours > 24 || (hours == 24 && minutes != 0) {
        return Err(invalid());
    }
    Ok(hours * 60 + minutes)
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn parse_weekday(text: &str) -> Result<u32, String> {
    let index = WEEKDAYS.iter().position(|full| {
        text.len() >= 2 && (*full == text || (text.len() <= 3 && full.starts_with(text)))
    });
    match index.and_then(|i| u32::try_from(i).ok()) {
        Some(i) => Ok(i),
        None => Err(format!(
            "\"{text}\" is not a weekday; write mon, tue, wed, thu, fri, sat or sun (or a date)"
        )),
    }
}

fn parse_weekdays(text: &str) -> Result<u8, String> {
    let Some((first, last)) = text.split_once('-') else {
        return Ok(1 << parse_weekday(text)?);
    };
    let first = parse_weekday(first)?;
    let last = parse_weekday(last)?;
    let mut mask = 0u8;
    let mut day = first;
    loop {
        mask |= 1 << day;
        if day == last {
            return Ok(mask);
        }
        day = (day + 1) % 7;
    }
}

fn parse_dates(token: &str) -> Result<DateRange, String> {
    let (from, to) = token.split_once("..").unwrap_or((token, token));
    match (parse_date(from)?, parse_date(to)?) {
        (DateItem::Fixed(from), DateItem::Fixed(to)) if from <= to => {
            Ok(DateRange::Fixed { from, to })
        }
        (DateItem::Fixed(_), DateItem::Fixed(_)) => {
            Err(format!("\"{token}\" ends before it starts"))
        }
        (DateItem::Yearly(from), DateItem::Yearly(to)) => Ok(DateRange::Yearly { from, to }),
        _ => Err(format!(
            "\"{token}\" mixes a dated day (YYYY-MM-DD) with a yearly one (MM-DD)"
        )),
    }
}

enum DateItem {
    Fixed(NaiveDate),
    Yearly((u32, u32)),
}

fn parse_date(text: &str) -> Result<DateItem, String> {
    let invalid = || format!("\"{text}\" is not a date; write YYYY-MM-DD, or MM-DD for every year");
    let numbers: Vec<u32> = text
        .split('-')
        .map(|n| {
            n.parse::<u32>()
                .ok()
                .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect::<Option<_>>()
        .ok_or_else(invalid)?;
    match numbers.as_slice() {
        [year, month, day] => i32::try_from(*year)
            .ok()
            .and_then(|year| NaiveDate::from_ymd_opt(year, *month, *day))
            .map(DateItem::Fixed)
            .ok_or_else(invalid),
        // 2000 is a leap year, so 02-29 is accepted and simply skipped in other years.
        [month, day] => NaiveDate::from_ymd_opt(2000, *month, *day)
            .map(|_| DateItem::Yearly((*month, *day)))
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests;
