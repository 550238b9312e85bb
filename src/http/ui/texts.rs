//! The languages of the pages and their texts (`ui/de.toml`, `ui/en.toml`: one file per
//! language, like the client notices), and how dates and instants are written in each. German is
//! the default; times are shown in German time (CET/CEST), whatever the server's zone.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    De,
    En,
}

const SOURCES: [(Lang, &str); 2] =
    [(Lang::De, include_str!("../../../ui/de.toml")), (Lang::En, include_str!("../../../ui/en.toml"))];

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::De, Lang::En];

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The texts of this language, as the templates read them (`t.<section>.<key>`).
    pub fn texts(self) -> &'static serde_json::Value {
        static TEXTS: OnceLock<Vec<(Lang, serde_json::Value)>> = OnceLock::new();
        let all = TEXTS.get_or_init(|| {
            SOURCES
                .iter()
                .map(|(lang, src)| {
                    let value: toml::Value =
                        toml::from_str(src).unwrap_or_else(|e| panic!("ui/{}.toml: {e}", lang.code()));
                    (*lang, serde_json::to_value(value).expect("TOML texts are JSON"))
                })
                .collect()
        });
        &all.iter().find(|(l, _)| *l == self).expect("every language has texts").1
    }
}

/// The offset of German time from UTC at `at`: CEST (+2) from the last Sunday of March, 01:00
/// UTC, to the last Sunday of October, 01:00 UTC; CET (+1) otherwise.
pub fn berlin_offset_hours(at: DateTime<Utc>) -> i64 {
    fn last_sunday(year: i32, month: u32) -> NaiveDate {
        let mut d = NaiveDate::from_ymd_opt(year, month + 1, 1).expect("a month follows") - chrono::Duration::days(1);
        while d.weekday() != Weekday::Sun {
            d -= chrono::Duration::days(1);
        }
        d
    }
    let year = at.year();
    let start = Utc.from_utc_datetime(&last_sunday(year, 3).and_hms_opt(1, 0, 0).expect("01:00 exists"));
    let end = Utc.from_utc_datetime(&last_sunday(year, 10).and_hms_opt(1, 0, 0).expect("01:00 exists"));
    if start <= at && at < end { 2 } else { 1 }
}

fn date_in(d: NaiveDate, lang: &str) -> String {
    match lang {
        "en" => d.format("%-d %b %Y").to_string(),
        _ => d.format("%d.%m.%Y").to_string(),
    }
}

/// The `date` filter: an ISO date (`2026-11-25`) as the language writes it (`25.11.2026`,
/// `25 Nov 2026`). Anything else is shown as it is.
pub fn format_date(value: String, lang: Option<String>) -> String {
    match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
        Ok(d) => date_in(d, lang.as_deref().unwrap_or("de")),
        Err(_) => value,
    }
}

/// The `instant` filter: an RFC 3339 instant in German time, with date and minute.
pub fn format_instant(value: String, lang: Option<String>) -> String {
    match DateTime::parse_from_rfc3339(&value) {
        Ok(t) => {
            let utc = t.with_timezone(&Utc);
            let local = utc.naive_utc() + chrono::Duration::hours(berlin_offset_hours(utc));
            format!("{}, {}", date_in(local.date(), lang.as_deref().unwrap_or("de")), local.format("%H:%M"))
        }
        Err(_) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let Some(map) = v.as_object() {
            for (k, v) in map {
                keys(&format!("{prefix}.{k}"), v, out);
            }
        } else {
            out.insert(prefix.to_owned());
        }
    }

    #[test]
    fn every_language_has_the_same_texts() {
        let mut de = BTreeSet::new();
        keys("t", Lang::De.texts(), &mut de);
        let mut en = BTreeSet::new();
        keys("t", Lang::En.texts(), &mut en);
        assert_eq!(de.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in en");
        assert_eq!(en.difference(&de).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in de");
    }

    #[test]
    fn every_text_a_template_names_exists() {
        let mut known = BTreeSet::new();
        keys("t", Lang::De.texts(), &mut known);
        let mut sections = BTreeSet::new();
        for k in &known {
            let mut parts = k.split('.');
            parts.next();
            sections.insert(format!("t.{}", parts.next().unwrap_or_default()));
        }
        for (name, source) in super::super::TEMPLATES {
            let bytes = source.as_bytes();
            let mut i = 0;
            while let Some(at) = source[i..].find("t.") {
                let start = i + at;
                i = start + 2;
                let before = if start == 0 { b' ' } else { bytes[start - 1] };
                if before.is_ascii_alphanumeric() || before == b'_' || before == b'.' {
                    continue;
                }
                let end = source[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                    .map_or(source.len(), |e| start + e);
                let key = source[start..end].trim_end_matches('.');
                // `t.section[...]`: a key chosen at run time; the section must exist.
                if source[end..].starts_with('[') {
                    assert!(sections.contains(key) || known.contains(key), "{name}: no text section {key}");
                    continue;
                }
                assert!(known.contains(key), "{name}: no text {key}");
            }
        }
    }

    #[test]
    fn german_time_follows_summer_time() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(berlin_offset_hours(at("2026-03-29T00:59:59Z")), 1);
        assert_eq!(berlin_offset_hours(at("2026-03-29T01:00:00Z")), 2);
        assert_eq!(berlin_offset_hours(at("2026-10-25T00:59:59Z")), 2);
        assert_eq!(berlin_offset_hours(at("2026-10-25T01:00:00Z")), 1);
        assert_eq!(format_instant("2026-11-25T09:30:00.000Z".into(), Some("de".into())), "25.11.2026, 10:30");
        assert_eq!(format_instant("2026-07-01T22:15:00.000Z".into(), Some("en".into())), "2 Jul 2026, 00:15");
        assert_eq!(format_date("2026-03-01".into(), None), "01.03.2026");
        assert_eq!(format_date("not a date".into(), None), "not a date");
    }
}
