//! Calendar arithmetic for the counselling window.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc, Weekday};

/// `date` moved by `months` whole months: the same day number, or that month's last day where
/// the month is shorter (BGB §§ 187(1), 188(2),(3) as DOMAIN.md reads them).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    // chrono clamps to the last day of the target month, which is exactly the rule.
    date.checked_add_months(Months::new(months)).expect("dates in the counselling domain are far from chrono's limits")
}

/// Today's date in Germany (Europe/Berlin: CET, CEST from the last Sunday of March 01:00 UTC to
/// the last Sunday of October 01:00 UTC). "In the future" is judged against this date.
pub fn german_date(now: DateTime<Utc>) -> NaiveDate {
    let year = now.year();
    let summer_start = last_sunday_0100_utc(year, 3);
    let summer_end = last_sunday_0100_utc(year, 10);
    let offset_hours = if now >= summer_start && now < summer_end { 2 } else { 1 };
    (now + chrono::Duration::hours(offset_hours)).date_naive()
}

fn last_sunday_0100_utc(year: i32, month: u32) -> DateTime<Utc> {
    let last = add_months(NaiveDate::from_ymd_opt(year, month, 1).expect("valid"), 1).pred_opt().expect("valid");
    let back = last.weekday().num_days_from_sunday();
    let sunday = last - chrono::Duration::days(i64::from(back));
    debug_assert_eq!(sunday.weekday(), Weekday::Sun);
    Utc.from_utc_datetime(&sunday.and_hms_opt(1, 0, 0).expect("valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn same_day_number_or_month_end() {
        assert_eq!(add_months(d("2024-03-15"), 36), d("2027-03-15"));
        assert_eq!(add_months(d("2024-02-29"), 36), d("2027-02-28"));
        assert_eq!(add_months(d("2024-02-29"), 37), d("2027-03-29"));
        assert_eq!(add_months(d("2023-01-31"), 37), d("2026-02-28"));
        assert_eq!(add_months(d("2021-02-28"), 36), d("2024-02-28"));
        assert_eq!(add_months(d("2024-02-29"), 48), d("2028-02-29"));
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
}
