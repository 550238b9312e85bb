//! The client's consent pages: the statement a client reads before consenting to a handover, in
//! their language, and the pages around it (the receipt, the withdrawal page, the printed form).
//!
//! Pure: no I/O at run time. The texts are compiled in, one `consents/<code>.toml` per language,
//! found by `build.rs`; a new language is one more file with exactly the keys of
//! `consents/de.toml` (a test checks every file). Each file names the text's `id` and `version`
//! and whether it is authoritative or a translation awaiting review.
//!
//! **The statement** is what the client consents to: a list of lines, each exactly as shown
//! (placeholders filled in, plain text). The page shows these lines and nothing else as the
//! statement; the SHA-256 of the lines joined by line feeds (UTF-8, no trailing line feed) is
//! the `sha256` of the consent text the ledger records (`schemas/README.md` section 14). The
//! same office, recipient, categories and language always give the same lines, so the printed
//! form and the screen give the same hash.
//!
//! The pages themselves are laid out by the templates in `templates/consent/` (`pages.rs`): on
//! KERN for the screen, a self-contained document for the printed form. Laying them out never
//! changes a line of the statement. Arabic is laid out right to left (`dir`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};

use crate::domain::consent::ConsentText;
use crate::domain::{DataCategory, GoalArea};
use crate::notice::fill;

mod pages;

pub use pages::{ReceiptView, STYLE, STYLE_PATH, WithdrawMessage, link_invalid_page, unavailable_page};

mod generated {
    // `SOURCES: &[(code, file content)]`, sorted by code.
    include!(concat!(env!("OUT_DIR"), "/consent_sources.rs"));
}
use generated::SOURCES;

/// Every key of a language file.
pub const KEYS: &[&str] = &[
    "id",
    "version",
    "status",
    "status_note",
    "language_name",
    "dir",
    "date_format",
    "title",
    "intro",
    "from_to",
    "sent_heading",
    "category_identity",
    "category_window",
    "category_plan",
    "area_language",
    "area_school",
    "area_vocational_training",
    "area_work",
    "area_housing",
    "area_health",
    "area_children_and_family",
    "area_social_participation",
    "area_residence_status",
    "area_livelihood",
    "health_heading",
    "category_health",
    "health_explain",
    "not_sent_heading",
    "not_sent_always",
    "voluntary",
    "valid_until",
    "withdraw_how",
    "consent_label",
    "health_label",
    "translation_banner",
    "submit",
    "decline_hint",
    "must_agree",
    "receipt_title",
    "receipt_given",
    "receipt_to",
    "receipt_categories",
    "receipt_health_no",
    "receipt_text",
    "receipt_entry",
    "receipt_code",
    "receipt_withdraw",
    "receipt_keep",
    "receipt_file",
    "withdraw_title",
    "withdraw_intro",
    "withdraw_code_label",
    "withdraw_submit",
    "withdraw_done",
    "withdraw_unknown",
    "withdraw_already",
    "link_invalid_title",
    "link_invalid",
    "unavailable_title",
    "unavailable",
    "paper_title",
    "paper_health_yes",
    "paper_health_no",
    "paper_signature",
];

/// The status of an authoritative text; any other status marks a translation.
pub const AUTHORITATIVE: &str = "authoritative";

/// The language consent pages fall back to where none is asked for.
pub const DEFAULT_LANGUAGE: &str = "de";

/// One language's texts.
pub struct Language {
    code: &'static str,
    texts: BTreeMap<String, String>,
}

/// The languages whose file parses and has every key; a file that does not is left out (and
/// fails the tests), so a half-translated consent page is never offered.
static LANGUAGES: LazyLock<Vec<Language>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .filter_map(|&(code, source)| {
            let texts: BTreeMap<String, String> = toml::from_str(source).ok()?;
            KEYS.iter().all(|k| texts.contains_key(*k)).then_some(Language { code, texts })
        })
        .collect()
});

/// The codes of the languages consent pages exist in (file names in `consents/`), sorted.
pub fn languages() -> impl Iterator<Item = &'static str> {
    LANGUAGES.iter().map(|l| l.code)
}

/// The texts of a language (exact code, as stored with a consent request).
pub fn language(code: &str) -> Option<&'static Language> {
    LANGUAGES.iter().find(|l| l.code == code)
}

/// Who gives and who receives: the names shown to the client.
#[derive(Clone, Copy)]
pub struct Parties<'a> {
    /// This office (the one asking).
    pub office: &'a str,
    /// The office that would receive the data.
    pub recipient: &'a str,
}

/// How a statement line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Title,
    Paragraph,
    Heading,
    Item,
    /// The words the client confirms with (a checkbox on screen, a box on paper).
    Consent,
    /// The separate confirmation for data concerning health.
    HealthConsent,
}

/// The statement the client consents to, line by line, and what the ledger records of it.
#[derive(Debug, Clone)]
pub struct Statement {
    pub lines: Vec<(LineKind, String)>,
    pub text: ConsentText,
}

impl Statement {
    /// The text that is hashed: the lines joined by line feeds.
    pub fn plain(&self) -> String {
        self.lines.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
    }
}

fn area_key(area: &GoalArea) -> String {
    format!("area_{}", area.as_str().replace('-', "_"))
}

impl Language {
    /// The language's name in itself (`language_name`), for choosing it.
    pub fn name(&self) -> &str {
        self.text("language_name")
    }

    fn text(&self, key: &str) -> &str {
        debug_assert!(KEYS.contains(&key), "unknown consent text key {key}");
        self.texts.get(key).map_or("", String::as_str)
    }

    /// Whether this text is a translation awaiting review rather than authoritative.
    pub fn is_translation(&self) -> bool {
        self.text("status") != AUTHORITATIVE
    }

    /// The writing direction, `ltr` or `rtl`, for the `dir` attribute.
    fn dir(&self) -> &'static str {
        if self.text("dir").trim() == "rtl" { "rtl" } else { "ltr" }
    }

    pub fn date(&self, date: NaiveDate) -> String {
        let (day, month) = (date.day(), date.month());
        let vars = [
            ("day", day.to_string()),
            ("day_2", format!("{day:02}")),
            ("month_num", month.to_string()),
            ("month_num_2", format!("{month:02}")),
            ("year", date.year().to_string()),
        ];
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fill(self.text("date_format"), &vars, false)
    }

    /// A text with the parties filled in, plain.
    fn says(&self, key: &str, parties: Parties<'_>, extra: &[(&str, &str)]) -> String {
        let mut vars = vec![("office", parties.office.trim()), ("recipient", parties.recipient.trim())];
        vars.extend_from_slice(extra);
        fill(self.text(key), &vars, false)
    }

    fn plan_line(&self, area: &GoalArea, parties: Parties<'_>) -> String {
        let name = self.text(&area_key(area)).to_owned();
        self.says("category_plan", parties, &[("area", &name)])
    }

    /// The statement for a consent to sending `categories` (the categories asked for; data
    /// concerning health asked separately when among them) from `parties.office` to
    /// `parties.recipient`.
    /// `valid_until`: the last day the consent holds, if it does not hold until withdrawn.
    pub fn statement(
        &self,
        parties: Parties<'_>,
        categories: &BTreeSet<DataCategory>,
        valid_until: Option<NaiveDate>,
    ) -> Statement {
        use LineKind as K;
        let health = categories.contains(&DataCategory::Health);
        let mut lines = vec![
            (K::Title, self.says("title", parties, &[])),
            (K::Paragraph, self.says("intro", parties, &[])),
            (K::Paragraph, self.says("from_to", parties, &[])),
            (K::Heading, self.says("sent_heading", parties, &[])),
        ];
        if categories.contains(&DataCategory::Identity) {
            lines.push((K::Item, self.says("category_identity", parties, &[])));
        }
        if categories.contains(&DataCategory::Window) {
            lines.push((K::Item, self.says("category_window", parties, &[])));
        }
        let asked = |area: &GoalArea| categories.contains(&DataCategory::Plan(area.clone()));
        for area in GoalArea::ALL.iter().filter(|a| asked(a) && **a != GoalArea::Health) {
            lines.push((K::Item, self.plan_line(area, parties)));
        }
        if health {
            lines.push((K::Heading, self.says("health_heading", parties, &[])));
            lines.push((K::Paragraph, self.says("category_health", parties, &[])));
            lines.push((K::Paragraph, self.says("health_explain", parties, &[])));
        }
        lines.push((K::Heading, self.says("not_sent_heading", parties, &[])));
        lines.push((K::Item, self.says("not_sent_always", parties, &[])));
        for area in GoalArea::ALL.iter().filter(|a| !asked(a) && (**a != GoalArea::Health || !health)) {
            lines.push((K::Item, self.plan_line(area, parties)));
        }
        if !health {
            lines.push((K::Item, self.says("category_health", parties, &[])));
        }
        lines.push((K::Paragraph, self.says("voluntary", parties, &[])));
        if let Some(day) = valid_until {
            lines.push((K::Paragraph, self.says("valid_until", parties, &[("date", &self.date(day))])));
        }
        lines.push((K::Paragraph, self.says("withdraw_how", parties, &[])));
        lines.push((K::Consent, self.says("consent_label", parties, &[])));
        if health {
            lines.push((K::HealthConsent, self.says("health_label", parties, &[])));
        }
        let mut statement = Statement {
            lines,
            text: ConsentText {
                id: self.text("id").to_owned(),
                version: self.text("version").to_owned(),
                language: self.code.to_owned(),
                sha256: String::new(),
            },
        };
        statement.text.sha256 = crate::digest::sha256_hex(statement.plain().as_bytes());
        statement
    }

    /// The categories of a consent as the client reads them.
    fn category_lines(&self, categories: &BTreeSet<DataCategory>, parties: Parties<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        for c in categories {
            match c {
                DataCategory::Identity => lines.push(self.says("category_identity", parties, &[])),
                DataCategory::Window => lines.push(self.says("category_window", parties, &[])),
                DataCategory::Plan(area) if *area != GoalArea::Health => lines.push(self.plan_line(area, parties)),
                DataCategory::Plan(_) => {}
                DataCategory::Health => lines.push(self.says("category_health", parties, &[])),
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parties() -> Parties<'static> {
        Parties { office: "Beratungsstelle Mannheim", recipient: "Beratungsstelle Heidelberg" }
    }

    fn asked(health: bool) -> BTreeSet<DataCategory> {
        let mut c: BTreeSet<_> =
            [DataCategory::Identity, DataCategory::Window, DataCategory::Plan(GoalArea::Work)].into();
        if health {
            c.insert(DataCategory::Health);
            c.insert(DataCategory::Plan(GoalArea::Health));
        }
        c
    }

    #[test]
    fn every_language_file_has_exactly_the_keys() {
        assert!(SOURCES.len() >= 4, "de, en, uk and ar at least");
        for (code, source) in SOURCES {
            let texts: BTreeMap<String, String> =
                toml::from_str(source).unwrap_or_else(|e| panic!("consents/{code}.toml: {e}"));
            for key in KEYS {
                assert!(texts.contains_key(*key), "consents/{code}.toml lacks {key}");
            }
            for key in texts.keys() {
                assert!(KEYS.contains(&key.as_str()), "consents/{code}.toml has the unknown key {key}");
            }
        }
        assert_eq!(languages().collect::<Vec<_>>(), ["ar", "de", "en", "uk"]);
    }

    #[test]
    fn german_and_english_are_authoritative_and_the_others_await_review() {
        assert!(!language("de").unwrap().is_translation());
        assert!(!language("en").unwrap().is_translation());
        assert!(language("uk").unwrap().is_translation());
        assert!(language("ar").unwrap().is_translation());
        assert_eq!(language("ar").unwrap().dir(), "rtl");
        assert_eq!(language("de").unwrap().dir(), "ltr");
    }

    #[test]
    fn the_hash_covers_exactly_the_statement_shown() {
        let de = language("de").unwrap();
        let s = de.statement(parties(), &asked(false), None);
        assert_eq!(s.text.sha256, crate::digest::sha256_hex(s.plain().as_bytes()));
        assert_eq!(
            (s.text.id.as_str(), s.text.version.as_str(), s.text.language.as_str()),
            ("staffel-handover-consent", "1", "de")
        );
        // Nothing of the form around it is hashed (that every line is shown: `pages`).
        assert!(!s.plain().contains(de.text("submit")));
        // Not asked: health is listed as not sent; asked: it is asked separately.
        assert!(s.lines.iter().all(|(k, _)| *k != LineKind::HealthConsent));
        let with = de.statement(parties(), &asked(true), None);
        assert!(with.lines.iter().any(|(k, _)| *k == LineKind::HealthConsent));
        assert_ne!(with.text.sha256, s.text.sha256);
        // The same inputs give the same hash (screen and paper agree); another recipient another.
        assert_eq!(de.statement(parties(), &asked(false), None).text.sha256, s.text.sha256);
        let other = Parties { office: "Beratungsstelle Mannheim", recipient: "Beratungsstelle Ulm" };
        assert_ne!(de.statement(other, &asked(false), None).text.sha256, s.text.sha256);
        assert!(de.paper_form(&s, parties()).contains(&s.text.sha256));
        // An expiry is part of what the client reads.
        let until = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap();
        let expiring = de.statement(parties(), &asked(false), Some(until));
        assert!(expiring.plain().contains("31.03.2027"));
        assert_ne!(expiring.text.sha256, s.text.sha256);
    }

    #[test]
    fn the_hashed_text_is_pinned() {
        // The statement's text is what the ledger's hash covers: a change of a hashed text or of
        // how the lines are made needs a new `version` in consents/, and a new pin here.
        let de = language("de").unwrap();
        let s = de.statement(parties(), &asked(true), Some(NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()));
        assert_eq!(s.lines.len(), 25, "{:#?}", s.lines);
        assert_eq!(s.text.sha256, "8900dbb7cf2b053730cbb072751aca5c5d52156b409d577f2dcd5da93e4837e7");
    }
}
