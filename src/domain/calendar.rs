//! Calendar arithmetic for the counselling window.

use chrono::{Months, NaiveDate};

/// `date` moved by `months` whole months: the same day number, or that month's last day where
/// the month is shorter (BGB §§ 187(1), 188(2),(3) as DOMAIN.md reads them).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    // chrono clamps to the last day of the target month, which is exactly the rule.
    date.checked_add_months(Months::new(months)).expect("dates in the counselling domain are far from chrono's limits")
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
}
