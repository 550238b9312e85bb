//! The client notice: one printable page that tells a client, in a language they understand, what
//! Integrationsmanagement is for and until when their counselling window runs (DOMAIN.md:
//! "Clients should be told early ...").
//!
//! Pure: no I/O at run time. The texts are compiled in, one `notices/<code>.toml` per language,
//! found by `build.rs`. A new language is one more text file with exactly the keys of
//! `notices/de.toml` (a test checks every file); no Rust change.
//!
//! The page is laid out by the minijinja template `templates/notice/notice.html` (parsed once,
//! HTML-escaped): a self-contained HTML5 document with inline print styles for A4, no scripts,
//! no external resources. Every inserted value and every text is HTML-escaped.

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use chrono::{Datelike, NaiveDate};
use minijinja::{Environment, UndefinedBehavior};

mod generated {
    // `SOURCES: &[(code, file content)]`, sorted by code.
    include!(concat!(env!("OUT_DIR"), "/notice_sources.rs"));
}
use generated::SOURCES;

/// What the notice says about one client. The caller computes `last_day` from the window
/// (first session, regular months and all granted extension months together). No `Debug`: it
/// holds personal data, which stays out of debug output and logs.
#[derive(Clone, Copy)]
pub struct NoticeData<'a> {
    pub office_name: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub first_session: NaiveDate,
    pub last_day: NaiveDate,
    /// All granted extension months together; 0 when none was granted.
    pub extension_months: u32,
    pub issued_on: NaiveDate,
}

/// The codes of the languages a notice can be printed in (file names in `notices/`), sorted.
pub fn languages() -> impl Iterator<Item = &'static str> {
    LANGUAGES.iter().map(|l| l.code)
}

/// The notice as a complete printable HTML document in language `lang` (a code from
/// [`languages`], compared ignoring ASCII case), or `None` for a language we have no texts for.
pub fn render(lang: &str, data: &NoticeData) -> Option<String> {
    let language = LANGUAGES.iter().find(|l| l.code.eq_ignore_ascii_case(lang))?;
    Some(language.render(data))
}

/// Every key of a language file. All but `language_name` (the language's own name, for a
/// language picker) are printed or used for printing.
const KEYS: &[&str] = &[
    "language_name",
    "dir",
    "date_format",
    "month_1",
    "month_2",
    "month_3",
    "month_4",
    "month_5",
    "month_6",
    "month_7",
    "month_8",
    "month_9",
    "month_10",
    "month_11",
    "month_12",
    "title",
    "for_name",
    "from_office",
    "intro",
    "what_heading",
    "what_intro",
    "what_areas_intro",
    "area_language",
    "area_education",
    "area_work",
    "area_participation",
    "what_aim",
    "what_not",
    "what_plan",
    "window_heading",
    "first_session_label",
    "last_day_label",
    "window_max",
    "window_extension_possible",
    "window_extended_one",
    "window_extended_other",
    "window_no_restart",
    "window_return",
    "move_heading",
    "move_plan",
    "move_consent",
    "move_window",
    "move_tell",
    "issued",
];

struct Language {
    code: &'static str,
    texts: BTreeMap<String, String>,
}

/// The languages whose file parses and has every key. A file that does not is left out here
/// (and fails the tests), so a half-translated notice is never offered.
static LANGUAGES: LazyLock<Vec<Language>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .filter_map(|&(code, source)| {
            let texts = parse(source).ok()?;
            KEYS.iter().all(|k| texts.contains_key(*k)).then_some(Language { code, texts })
        })
        .collect()
});

fn parse(source: &str) -> Result<BTreeMap<String, String>, toml::de::Error> {
    toml::from_str(source)
}

/// The template, parsed once; auto-escaping is on (its name ends in `.html`), and a text the
/// page does not have is an error, not an empty string.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.add_template("notice.html", include_str!("../../templates/notice/notice.html"))
            .unwrap_or_else(|e| panic!("templates/notice/notice.html: {e}"));
        env
    })
}

impl Language {
    fn text(&self, key: &str) -> &str {
        debug_assert!(KEYS.contains(&key), "unknown notice key {key}");
        self.texts.get(key).map_or("", String::as_str)
    }

    fn date(&self, date: NaiveDate) -> String {
        let (day, month) = (date.day(), date.month());
        let month_name = self.text(&format!("month_{month}"));
        let (day_s, day_2, month_s, month_2, year) =
            (day.to_string(), format!("{day:02}"), month.to_string(), format!("{month:02}"), date.year().to_string());
        let vars = [
            ("day", day_s.as_str()),
            ("day_2", &day_2),
            ("month_num", &month_s),
            ("month_num_2", &month_2),
            ("month_name", month_name),
            ("year", &year),
        ];
        fill(self.text("date_format"), &vars, false)
    }

    fn render(&self, data: &NoticeData) -> String {
        let name = format!("{} {}", data.given_name.trim(), data.family_name.trim());
        let (first_session, last_day, issued_on, extension_months) = (
            self.date(data.first_session),
            self.date(data.last_day),
            self.date(data.issued_on),
            data.extension_months.to_string(),
        );
        let vars = [
            ("name", name.trim()),
            ("given_name", data.given_name.trim()),
            ("family_name", data.family_name.trim()),
            ("office", data.office_name.trim()),
            ("first_session", &first_session),
            ("last_day", &last_day),
            ("issued_on", &issued_on),
            ("extension_months", &extension_months),
        ];
        // Every text with the placeholders filled in, plain: the template escapes it.
        let t: BTreeMap<&str, String> = self.texts.iter().map(|(k, v)| (k.as_str(), fill(v, &vars, false))).collect();
        let extension = match data.extension_months {
            0 => "window_extension_possible",
            1 => "window_extended_one",
            _ => "window_extended_other",
        };
        let dir = if self.text("dir").trim() == "rtl" { "rtl" } else { "ltr" };
        let ctx = minijinja::context! {
            lang => self.code,
            dir => dir,
            t => t,
            extension => extension,
            first_session => first_session,
            last_day => last_day,
        };
        environment().get_template("notice.html").and_then(|tpl| tpl.render(ctx)).unwrap_or_else(|e| {
            // Only a mistake in the template can get here (the tests render every language).
            tracing::error!(error = %e, "the client notice could not be rendered");
            String::from("<!DOCTYPE html>\n<title>Error</title>\n<p>Das Merkblatt kann nicht erstellt werden. / The notice cannot be made.</p>\n")
        })
    }
}

/// `template` with every `{placeholder}` named in `vars` replaced by its value; other braces
/// stay as they are. With `html`, the text and the values are HTML-escaped.
pub(crate) fn fill(template: &str, vars: &[(&str, &str)], html: bool) -> String {
    let push = |out: &mut String, s: &str| if html { escape_into(out, s) } else { out.push_str(s) };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        push(&mut out, &rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            vars.iter().find(|(k, _)| *k == name).map(|&(_, v)| (v, close))
        });
        match value {
            Some((v, close)) => {
                push(&mut out, v);
                rest = &after[close + 1..];
            }
            None => {
                push(&mut out, "{");
                rest = after;
            }
        }
    }
    push(&mut out, rest);
    out
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// HTML escaping for text content and quoted attribute values.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The placeholders a date format may use.
    const DATE_PLACEHOLDERS: &[&str] = &["day", "day_2", "month_num", "month_num_2", "month_name", "year"];

    /// The placeholders the texts may use.
    const TEXT_PLACEHOLDERS: &[&str] =
        &["name", "given_name", "family_name", "office", "first_session", "last_day", "issued_on", "extension_months"];

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn data(extension_months: u32) -> NoticeData<'static> {
        NoticeData {
            office_name: "Integrationsmanagement Musterstadt",
            given_name: "Testa",
            family_name: "Beispiel",
            first_session: d("2024-03-15"),
            last_day: d("2027-03-15"),
            extension_months,
            issued_on: d("2024-04-02"),
        }
    }

    fn de_source() -> &'static str {
        SOURCES.iter().find(|(code, _)| *code == "de").expect("notices/de.toml exists").1
    }

    /// The `{name}`s a template uses.
    fn placeholders(template: &str) -> BTreeSet<&str> {
        template
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
            .collect()
    }

    #[test]
    fn german_and_english_are_available() {
        let codes: Vec<_> = languages().collect();
        assert!(codes.contains(&"de") && codes.contains(&"en"), "{codes:?}");
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "sorted and unique: {codes:?}");
        // Every file in notices/ is complete, so every one is offered.
        assert_eq!(codes.len(), SOURCES.len());
    }

    #[test]
    fn both_languages_render_the_name_and_the_last_day() {
        let de = render("de", &data(0)).unwrap();
        assert!(de.contains("<html lang=\"de\" dir=\"ltr\">"));
        assert!(de.contains("Testa Beispiel"));
        assert!(de.contains("15.03.2027"));
        assert!(de.contains("15.03.2024"), "first session");
        assert!(de.contains("Ausgestellt am 02.04.2024."));
        assert!(de.contains("bis zum 15.03.2027 wieder zur Beratung kommen"));

        let en = render("en", &data(0)).unwrap();
        assert!(en.contains("<html lang=\"en\" dir=\"ltr\">"));
        assert!(en.contains("Testa Beispiel"));
        assert!(en.contains("15 March 2027"));
        assert!(en.contains("15 March 2024"), "first session");
        assert!(en.contains("Issued on 2 April 2024."));
    }

    #[test]
    fn every_language_renders_the_name_and_dates() {
        for code in languages() {
            let html = render(code, &data(0)).unwrap();
            assert!(html.contains("Testa Beispiel"), "{code}");
            assert!(html.contains("Integrationsmanagement Musterstadt"), "{code}");
            let last_day = LANGUAGES.iter().find(|l| l.code == code).unwrap().date(d("2027-03-15"));
            assert!(html.contains(&minijinja::HtmlEscape(&last_day).to_string()), "{code}");
        }
    }

    #[test]
    fn dates_follow_the_language() {
        let de = LANGUAGES.iter().find(|l| l.code == "de").unwrap();
        let en = LANGUAGES.iter().find(|l| l.code == "en").unwrap();
        assert_eq!(de.date(d("2027-03-15")), "15.03.2027");
        assert_eq!(de.date(d("2027-02-05")), "05.02.2027");
        assert_eq!(de.date(d("2027-12-31")), "31.12.2027");
        assert_eq!(en.date(d("2027-03-15")), "15 March 2027");
        assert_eq!(en.date(d("2027-02-05")), "5 February 2027");
        assert_eq!(en.date(d("2027-12-31")), "31 December 2027");
    }

    #[test]
    fn inserted_values_are_escaped() {
        let data = NoticeData {
            office_name: "Amt <b>A</b> & \"B\"",
            given_name: "<script>alert('x')</script>",
            family_name: "O'Beispiel & Söhne",
            ..data(0)
        };
        for code in languages() {
            let html = render(code, &data).unwrap();
            assert!(!html.contains("<script"), "{code}");
            assert!(!html.contains("<b>"), "{code}");
            assert!(
                html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; O&#x27;Beispiel &amp; Söhne"),
                "{code}"
            );
            assert!(html.contains("Amt &lt;b&gt;A&lt;&#x2f;b&gt; &amp; &quot;B&quot;"), "{code}");
        }
    }

    #[test]
    fn the_page_is_self_contained_and_printable() {
        for code in languages() {
            let html = render(code, &data(0)).unwrap();
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\""), "{code}");
            assert!(html.trim_end().ends_with("</html>"), "{code}");
            assert!(html.contains("<meta charset=\"utf-8\">"), "{code}");
            assert!(html.contains("@page { size: A4;"), "{code}");
            for bad in ["<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "http:", "https:"] {
                assert!(!html.to_ascii_lowercase().contains(bad), "{code}: {bad}");
            }
            // No placeholder is left unfilled.
            assert!(placeholders(&html).is_empty(), "{code}: {:?}", placeholders(&html));
        }
    }

    #[test]
    fn extension_months_are_shown_only_when_granted() {
        let de = render("de", &data(0)).unwrap();
        assert!(!de.contains("verlängert. Das ist im Datum oben"));
        assert!(de.contains("kann die Beratung um bis zu ein Jahr verlängert werden"));
        let de = render("de", &data(1)).unwrap();
        assert!(de.contains("um 1 Monat verlängert"));
        assert!(!de.contains("kann die Beratung um bis zu ein Jahr verlängert werden"));
        let de = render("de", &data(6)).unwrap();
        assert!(de.contains("um 6 Monate verlängert"));

        let en = render("en", &data(0)).unwrap();
        assert!(!en.contains("has been extended"));
        let en = render("en", &data(1)).unwrap();
        assert!(en.contains("extended by 1 month."));
        let en = render("en", &data(12)).unwrap();
        assert!(en.contains("extended by 12 months."));
    }

    #[test]
    fn unknown_language_is_none() {
        assert!(render("xx", &data(0)).is_none());
        assert!(render("", &data(0)).is_none());
        assert!(render("de-XX", &data(0)).is_none());
        assert!(render("DE", &data(0)).is_some(), "codes compare ignoring ASCII case");
    }

    #[test]
    fn german_has_exactly_the_keys_the_renderer_reads() {
        let de = parse(de_source()).expect("de.toml parses");
        let keys: BTreeSet<&str> = de.keys().map(String::as_str).collect();
        assert_eq!(keys, KEYS.iter().copied().collect::<BTreeSet<_>>());
        for (key, text) in &de {
            let allowed = if key == "date_format" { DATE_PLACEHOLDERS } else { TEXT_PLACEHOLDERS };
            for p in placeholders(text) {
                assert!(allowed.contains(&p), "de.toml {key}: unknown placeholder {{{p}}}");
            }
        }
    }

    #[test]
    fn every_language_file_has_the_keys_and_placeholders_of_german() {
        let de = parse(de_source()).expect("de.toml parses");
        for (code, source) in SOURCES {
            let texts = parse(source).unwrap_or_else(|e| panic!("notices/{code}.toml: {e}"));
            let keys: BTreeSet<&String> = texts.keys().collect();
            assert_eq!(keys, de.keys().collect(), "notices/{code}.toml must have exactly the keys of de.toml");
            for (key, text) in &texts {
                assert!(!text.trim().is_empty(), "notices/{code}.toml {key} is empty");
                if key == "date_format" {
                    for p in placeholders(text) {
                        assert!(DATE_PLACEHOLDERS.contains(&p), "notices/{code}.toml date_format: unknown {{{p}}}");
                    }
                } else {
                    assert_eq!(
                        placeholders(text),
                        placeholders(&de[key]),
                        "notices/{code}.toml {key}: use the placeholders of de.toml"
                    );
                }
            }
            assert!(matches!(texts["dir"].as_str(), "ltr" | "rtl"), "notices/{code}.toml dir");
        }
    }

    #[test]
    fn fill_leaves_unknown_braces_alone() {
        let vars = [("a", "1"), ("b", "<2>")];
        assert_eq!(fill("{a}-{b}-{c}-{-}", &vars, false), "1-<2>-{c}-{-}");
        assert_eq!(fill("{a} & {b} {", &vars, true), "1 &amp; &lt;2&gt; {");
        assert_eq!(fill("", &vars, true), "");
    }
}
