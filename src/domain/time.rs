//! Dates and instants as Staffel reads and writes them.
//!
//! - "Today" is the calendar date in Germany ([`german_date`]).
//! - Dates are read strictly: exactly `YYYY-MM-DD`, a real calendar day, years 1900 to 9999
//!   ([`parse_date`]); the protocol schema (`common.v1`) pins the same range, so every validator
//!   agrees with Staffel on which dates exist.
//! - Instants are written in one form only: RFC 3339 UTC with exactly three fractional digits,
//!   `2026-11-25T09:30:00.000Z` ([`ts`]). The office clock hands out whole milliseconds, so what
//!   is written is exactly what was held.

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, TimeZone, Timelike, Utc, Weekday};

use super::calendar::add_months;

/// The earliest year a date or instant may have.
pub const MIN_YEAR: i32 = 1900;
/// The latest year a date or instant may have.
pub const MAX_YEAR: i32 = 9999;

/// Today's date in Germany (Europe/Berlin: CET, CEST from the last Sunday of March 01:00 UTC to
/// the last Sunday of October 01:00 UTC). "In the future" is judged against this date.
pub fn german_date(now: DateTime<Utc>) -> NaiveDate {
    let year = now.year();
    let summer_start = last_sunday_0100_utc(year, 3);
    let summer_end = last_sunday_0100_utc(year, 10);
    let offset_hours = if now >= summer_start && now < summer_end { 2 } else { 1 };
    (now + chrono::Duration::hours(offset_hours)).date_naive()
}

/// The instant `date` ends in Germany: midnight at its end, German time.
pub fn german_day_end(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date).and_hms_opt(0, 0, 0).expect("midnight exists");
    let midnight = Utc.from_utc_datetime(&next);
    [2, 1]
        .into_iter()
        .map(|hours| midnight - chrono::Duration::hours(hours))
        .find(|t| german_date(*t) != date && german_date(*t - chrono::Duration::milliseconds(1)) == date)
        .unwrap_or(midnight - chrono::Duration::hours(1))
}

fn last_sunday_0100_utc(year: i32, month: u32) -> DateTime<Utc> {
    let last = add_months(NaiveDate::from_ymd_opt(year, month, 1).expect("valid"), 1).pred_opt().expect("valid");
    let back = last.weekday().num_days_from_sunday();
    let sunday = last - chrono::Duration::days(i64::from(back));
    debug_assert_eq!(sunday.weekday(), Weekday::Sun);
    Utc.from_utc_datetime(&sunday.and_hms_opt(1, 0, 0).expect("valid"))
}

/// An instant cut down to whole milliseconds, the precision Staffel writes.
pub fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// The one written form of an instant: `2026-11-25T09:30:00.000Z`.
pub fn format_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Why a date was refused; names the rule, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("a date is written YYYY-MM-DD")]
    Shape,
    #[error("no such calendar day")]
    NoSuchDay,
    #[error("a date lies in the years 1900 to 9999")]
    OutOfRange,
}

/// Reads a date strictly: exactly `YYYY-MM-DD` (ten ASCII characters, no spaces, no signs), a
/// real calendar day, in the years 1900 to 9999.
pub fn parse_date(s: &str) -> Result<NaiveDate, DateError> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(DateError::Shape);
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().expect("ASCII digits");
    let year = i32::try_from(num(0..4)).expect("four digits");
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(DateError::OutOfRange);
    }
    NaiveDate::from_ymd_opt(year, num(5..7), num(8..10)).ok_or(DateError::NoSuchDay)
}

/// Reads an instant strictly, as the protocol writes them: `YYYY-MM-DDTHH:MM:SS`, optionally `.`
/// and 1 to 9 digits, then `Z`; a real calendar day and time (no leap second `:60`), in the years
/// 1900 to 9999.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, DateError> {
    let b = s.as_bytes();
    let fixed = |i: usize, c: u8| b.get(i) == Some(&c);
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let head = b.len() >= 20
        && digits(0..4)
        && fixed(4, b'-')
        && digits(5..7)
        && fixed(7, b'-')
        && digits(8..10)
        && fixed(10, b'T')
        && digits(11..13)
        && fixed(13, b':')
        && digits(14..16)
        && fixed(16, b':')
        && digits(17..19);
    let tail = &b[19.min(b.len())..];
    let fraction_ok = match tail {
        [b'Z'] => true,
        [b'.', rest @ .., b'Z'] => (1..=9).contains(&rest.len()) && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !(head && fraction_ok) {
        return Err(DateError::Shape);
    }
    parse_date(&s[0..10])?;
    let t = DateTime::parse_from_rfc3339(s).map_err(|_| DateError::NoSuchDay)?.with_timezone(&Utc);
    if t.nanosecond() >= 1_000_000_000 {
        return Err(DateError::NoSuchDay);
    }
    Ok(t)
}

/// Serde for instants: written as [`format_ts`]; read strictly with [`parse_ts`].
pub mod ts {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_ts(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_ts(&s).map_err(serde::de::Error::custom)
    }
}

/// [`ts`] for optional instants.
pub mod ts_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::ts::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::ts")] DateTime<Utc>);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

/// Serde for dates read from outside (API bodies): [`parse_date`]; written as `YYYY-MM-DD`.
pub mod date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        d.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_date(&s).map_err(serde::de::Error::custom)
    }
}

/// [`date`] for optional dates.
pub mod date_opt {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        d.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::date")] NaiveDate);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_german_day_ends_at_local_midnight() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(german_day_end(d("2026-12-24")), t("2026-12-24T23:00:00Z"));
        assert_eq!(german_day_end(d("2026-07-01")), t("2026-07-01T22:00:00Z"));
        // The night clocks go forward (29 March 2026) and back (25 October 2026).
        assert_eq!(german_day_end(d("2026-03-28")), t("2026-03-28T23:00:00Z"));
        assert_eq!(german_day_end(d("2026-03-29")), t("2026-03-29T22:00:00Z"));
        assert_eq!(german_day_end(d("2026-10-25")), t("2026-10-25T23:00:00Z"));
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn german_date_follows_cet_and_cest() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // Winter: UTC+1.
        assert_eq!(german_date(at("2026-01-10T22:59:59Z")), d("2026-01-10"));
        assert_eq!(german_date(at("2026-01-10T23:00:00Z")), d("2026-01-11"));
        // Summer: UTC+2.
        assert_eq!(german_date(at("2026-07-10T21:59:59Z")), d("2026-07-10"));
        assert_eq!(german_date(at("2026-07-10T22:00:00Z")), d("2026-07-11"));
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(german_date(at("2026-03-29T00:59:59Z")), d("2026-03-29"));
        assert_eq!(german_date(at("2026-10-24T22:30:00Z")), d("2026-10-25"));
        assert_eq!(german_date(at("2026-10-25T22:30:00Z")), d("2026-10-25"));
    }

    #[test]
    fn dates_are_read_strictly() {
        assert_eq!(parse_date("2024-02-29"), Ok(d("2024-02-29")));
        assert_eq!(parse_date("1900-01-01"), Ok(d("1900-01-01")));
        assert_eq!(parse_date("9999-12-31"), Ok(d("9999-12-31")));
        for bad in ["2024-2-3", " 2024-02-03", "2024-02-03 ", "+2024-02-3", "2024/02/03", "20240203", "２０２４-02-03"]
        {
            assert_eq!(parse_date(bad), Err(DateError::Shape), "{bad:?}");
        }
        assert_eq!(parse_date("2023-02-29"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("2024-13-01"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("0000-01-01"), Err(DateError::OutOfRange));
        assert_eq!(parse_date("1899-12-31"), Err(DateError::OutOfRange));
    }

    #[test]
    fn instants_are_written_with_milliseconds_and_read_in_range() {
        let t: DateTime<Utc> = "2026-11-25T09:30:00Z".parse().unwrap();
        assert_eq!(format_ts(t), "2026-11-25T09:30:00.000Z");
        let t: DateTime<Utc> = "2026-11-25T09:30:00.123456789Z".parse().unwrap();
        assert_eq!(format_ts(truncate_to_millis(t)), "2026-11-25T09:30:00.123Z");
        #[derive(serde::Deserialize)]
        struct T(#[serde(with = "ts")] DateTime<Utc>);
        let half = serde_json::from_str::<T>("\"2026-11-25T09:30:00.5Z\"").unwrap();
        assert_eq!(format_ts(half.0), "2026-11-25T09:30:00.500Z");
        for bad in [
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "2026-11-25t09:30:00Z",
            "2026-11-25 09:30:00Z",
            "2026-11-25T09:30:00+00:00",
            "2026-11-25T09:30:00.Z",
            "2026-11-25T09:30:00.1234567890Z",
            "2026-11-25T24:00:00Z",
            "2026-02-30T10:00:00Z",
        ] {
            assert!(serde_json::from_str::<T>(&format!("\"{bad}\"")).is_err(), "{bad}");
        }
    }
}
