//! Local times as Windows logs write them (ServiceControl.log, MSI verbose logs): a date in
//! the machine's short format at the top of a run, then times of day only.
//!
//! The short format's order is not written anywhere in the log: a date whose parts are both
//! at most 12 reads either way. [`DateOrder::settle`] decides the order for a whole file from
//! the dates that do tell (a part above 12), and says when it had to assume.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// The order of day and month in a numeric date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// 11/21/2022 (en-US), also the invariant culture PowerShell interpolates with.
    MonthFirst,
    /// 21/11/2022, 21.11.2022.
    DayFirst,
}

impl DateOrder {
    /// Decides the order from the numeric dates of one file: the first date that can only be
    /// read one way decides. Returns the order and whether it was assumed (month first)
    /// because no date told.
    pub fn settle<'a>(dates: impl IntoIterator<Item = &'a str>) -> (DateOrder, bool) {
        for d in dates {
            if let Some([a, b, _]) = numeric_parts(d) {
                if a > 12 && b <= 12 {
                    return (DateOrder::DayFirst, false);
                }
                if b > 12 && a <= 12 {
                    return (DateOrder::MonthFirst, false);
                }
            }
        }
        (DateOrder::MonthFirst, true)
    }
}

/// The three numbers of a date written with any separators ("21.11.2022", "11/21/2022",
/// "2022-11-21"), in written order.
fn numeric_parts(date: &str) -> Option<[u32; 3]> {
    let mut parts = date
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    let mut out = [0u32; 3];
    for slot in &mut out {
        let p = parts.next()?;
        if p.len() > 4 {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Reads a numeric date in `order`; a four-digit first part means year first (ISO).
pub fn parse_date(date: &str, order: DateOrder) -> Option<NaiveDate> {
    let [a, b, c] = numeric_parts(date.trim())?;
    let (y, m, d) = if a > 999 {
        (a, b, c)
    } else {
        let y = if c < 100 { c + 2000 } else { c };
        match order {
            DateOrder::MonthFirst => (y, a, b),
            DateOrder::DayFirst => (y, b, a),
        }
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// Reads a time of day: `HH:mm:ss`, optional fraction after `.` or `:` (MSI writes
/// `10:01:02:123`), optional `AM`/`PM`.
pub fn parse_time(time: &str) -> Option<NaiveTime> {
    let t = time.trim();
    let (t, pm) = match t.get(t.len().saturating_sub(2)..) {
        Some(s) if s.eq_ignore_ascii_case("PM") => (t[..t.len() - 2].trim_end(), Some(true)),
        Some(s) if s.eq_ignore_ascii_case("AM") => (t[..t.len() - 2].trim_end(), Some(false)),
        _ => (t, None),
    };
    let mut parts = t.split([':', '.']);
    let mut num = |max: u32| -> Option<u32> {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok().filter(|v| *v <= max)
    };
    let mut h = num(23)?;
    let m = num(59)?;
    let s = num(60)?.min(59);
    let ms = num(999).unwrap_or(0);
    if let Some(pm) = pm {
        if !(1..=12).contains(&h) {
            return None;
        }
        h = match (h, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    NaiveTime::from_hms_milli_opt(h, m, s, ms)
}

/// Long dates with month names, as PowerShell's `Get-Date` prints them in English locales.
const LONG_FORMATS: [&str; 4] = [
    "%A, %B %d, %Y %I:%M:%S %p",
    "%A, %B %d, %Y %H:%M:%S",
    "%A, %d %B %Y %H:%M:%S",
    "%d %B %Y %H:%M:%S",
];

/// Reads `"<date> <time>"` (the rest of the text after the time is ignored, as MSI headers
/// go on with the build type); a long English date with month and day names is read too.
pub fn parse_date_time(text: &str, order: DateOrder) -> Option<NaiveDateTime> {
    let text = text.trim();
    if text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return LONG_FORMATS
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok());
    }
    let (date, rest) = text.split_once(char::is_whitespace)?;
    let date = parse_date(date, order)?;
    let rest = rest.trim_start();
    // The time, with an AM/PM marker if one follows.
    let mut words = rest.split_whitespace();
    let time = words.next()?;
    let time = match words.next() {
        Some(ampm) if ampm.eq_ignore_ascii_case("AM") || ampm.eq_ignore_ascii_case("PM") => {
            format!("{time} {ampm}")
        }
        _ => time.to_string(),
    };
    Some(NaiveDateTime::new(date, parse_time(&time)?))
}

/// The date part of `"<date> <time>"`, for [`DateOrder::settle`].
pub fn date_word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or("")
}

/// Local time to UTC ms, with Windows' bias (UTC = local + bias minutes).
pub fn to_utc_ms(local: NaiveDateTime, bias_minutes: i32) -> i64 {
    local.and_utc().timestamp_millis() + i64::from(bias_minutes) * 60_000
}

/// Follows the times of day of a run from its start date: a time earlier than the one before
/// it by more than twelve hours crossed midnight.
#[derive(Debug, Clone)]
pub struct Clock {
    current: NaiveDateTime,
    bias_minutes: i32,
}

impl Clock {
    /// A clock that starts at `start` (local) in a zone with `bias_minutes`.
    pub fn new(start: NaiveDateTime, bias_minutes: i32) -> Self {
        Clock {
            current: start,
            bias_minutes,
        }
    }

    /// UTC ms of the next time of day.
    pub fn at(&mut self, time: NaiveTime) -> i64 {
        let mut next = NaiveDateTime::new(self.current.date(), time);
        if next < self.current - chrono::Duration::hours(12) {
            next += chrono::Duration::days(1);
        }
        self.current = next;
        to_utc_ms(next, self.bias_minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn order_is_settled_by_the_first_unambiguous_date() {
        assert_eq!(
            DateOrder::settle(["01/02/2022", "21/11/2022"]),
            (DateOrder::DayFirst, false)
        );
        assert_eq!(
            DateOrder::settle(["11.21.2022"]),
            (DateOrder::MonthFirst, false)
        );
        assert_eq!(
            DateOrder::settle(["01-02-2022"]),
            (DateOrder::MonthFirst, true)
        );
    }

    #[test]
    fn dates_and_times_in_several_formats() {
        let d = parse_date_time("21.11.2022 10:05:30", DateOrder::DayFirst).unwrap();
        assert_eq!(d.to_string(), "2022-11-21 10:05:30");
        let d = parse_date_time("11/21/2022 1:05:30 PM", DateOrder::MonthFirst).unwrap();
        assert_eq!(d.to_string(), "2022-11-21 13:05:30");
        let d = parse_date_time("2022-11-21  10:05:30  Build type", DateOrder::DayFirst).unwrap();
        assert_eq!(d.to_string(), "2022-11-21 10:05:30");
        assert_eq!(
            parse_time("10:01:02:123").unwrap().to_string(),
            "10:01:02.123"
        );
        assert_eq!(parse_time("12:00:00 AM").unwrap().to_string(), "00:00:00");
        assert!(parse_time("25:00:00").is_none());
        assert!(parse_date("13/13/2022", DateOrder::DayFirst).is_none());
    }

    #[test]
    fn bias_converts_local_to_utc_and_the_clock_crosses_midnight() {
        let start = parse_date_time("11/21/2022 23:59:00", DateOrder::MonthFirst).unwrap();
        // UTC-06:00 has a bias of +360 minutes.
        let mut clock = Clock::new(start, 360);
        let before = clock.at(parse_time("23:59:30").unwrap());
        let after = clock.at(parse_time("00:00:10").unwrap());
        assert_eq!(after - before, 40_000);
        let utc = chrono::DateTime::from_timestamp_millis(after).unwrap();
        assert_eq!(utc.to_rfc3339(), "2022-11-22T06:00:10+00:00");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_date_time(&s, DateOrder::DayFirst);
            let _ = parse_time(&s);
            let _ = DateOrder::settle([s.as_str()]);
        }
    }
}
