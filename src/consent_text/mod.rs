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
//! Every page is a self-contained HTML5 document: inline styles, no scripts, no external
//! resources; every inserted value is HTML-escaped. Arabic is laid out right to left (`dir`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};

use crate::domain::consent::ConsentText;
use crate::domain::{DataCategory, GoalArea};
use crate::notice::{escape, fill};

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

    fn rtl(&self) -> bool {
        self.text("dir").trim() == "rtl"
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

    /// The start of a page: document head, the translation banner where this is a translation.
    fn open(&self, title: &str) -> String {
        let dir = if self.rtl() { "rtl" } else { "ltr" };
        let mut page = format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
             <style>\n{CSS}</style>\n</head>\n<body>\n<main>\n",
            lang = escape(self.code),
            title = escape(title),
        );
        if self.is_translation() {
            page.push_str(&format!(
                "<p class=\"banner\" role=\"note\">{}</p>\n",
                escape(self.text("status_note").trim())
            ));
        }
        page
    }

    fn statement_html(&self, statement: &Statement, boxes: Boxes) -> String {
        let mut html = String::new();
        let mut in_list = false;
        for (kind, line) in &statement.lines {
            if in_list && *kind != LineKind::Item {
                html.push_str("</ul>\n");
                in_list = false;
            }
            let line = escape(line);
            match kind {
                LineKind::Title => html.push_str(&format!("<h1>{line}</h1>\n")),
                LineKind::Paragraph => html.push_str(&format!("<p>{line}</p>\n")),
                LineKind::Heading => html.push_str(&format!("<h2>{line}</h2>\n")),
                LineKind::Item => {
                    if !in_list {
                        html.push_str("<ul>\n");
                        in_list = true;
                    }
                    html.push_str(&format!("<li>{line}</li>\n"));
                }
                LineKind::Consent | LineKind::HealthConsent => {
                    let name = if *kind == LineKind::Consent { "agree" } else { "health" };
                    match boxes {
                        Boxes::Form => html.push_str(&format!(
                            "<p class=\"confirm\"><label><input type=\"checkbox\" id=\"{name}\" name=\"{name}\" \
                             value=\"yes\"> <span>{line}</span></label></p>\n"
                        )),
                        Boxes::Paper => html.push_str(&format!(
                            "<p class=\"confirm\"><span class=\"box\" aria-hidden=\"true\"></span> <span>{line}</span></p>\n"
                        )),
                    }
                }
            }
        }
        if in_list {
            html.push_str("</ul>\n");
        }
        html
    }

    /// The consent page: the statement with a checkbox for the consent (and one for health data
    /// where asked), posted to `action`. `must_agree`: the client submitted without ticking.
    pub fn consent_page(&self, statement: &Statement, action: &str, must_agree: bool) -> String {
        let mut page = self.open(&statement.lines[0].1);
        if must_agree {
            page.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(self.text("must_agree"))));
        }
        page.push_str(&format!("<form method=\"post\" action=\"{}\">\n", escape(action)));
        page.push_str(&self.statement_html(statement, Boxes::Form));
        page.push_str(&format!(
            "<p><button type=\"submit\" id=\"submit\">{}</button></p>\n</form>\n<p class=\"hint\">{}</p>\n",
            escape(self.text("submit")),
            escape(self.text("decline_hint")),
        ));
        page.push_str(&text_footer(&statement.text));
        page.push_str(CLOSE);
        page
    }

    /// The receipt the client keeps.
    pub fn receipt_page(&self, r: &ReceiptView<'_>) -> String {
        let parties = Parties { office: r.office, recipient: r.recipient };
        let title = self.text("receipt_title");
        let mut page = self.open(title);
        page.push_str(&format!("<h1>{}</h1>\n", escape(title)));
        let date = self.date(r.given_on);
        let p = |key: &str, extra: &[(&str, &str)]| format!("<p>{}</p>\n", escape(&self.says(key, parties, extra)));
        page.push_str(&p("receipt_given", &[("date", &date)]));
        page.push_str(&p("receipt_to", &[]));
        page.push_str(&p("receipt_categories", &[]));
        page.push_str("<ul>\n");
        for line in self.category_lines(r.categories, parties) {
            page.push_str(&format!("<li>{}</li>\n", escape(&line)));
        }
        page.push_str("</ul>\n");
        if !r.categories.contains(&DataCategory::Health) {
            page.push_str(&p("receipt_health_no", &[]));
        }
        let (seq, version) = (r.ledger_seq.to_string(), r.text.version.as_str());
        page.push_str(&p(
            "receipt_text",
            &[("text_id", &r.text.id), ("version", version), ("language", &r.text.language)],
        ));
        page.push_str(&p("receipt_entry", &[("seq", &seq), ("hash", r.ledger_hash)]));
        page.push_str(&format!(
            "<p class=\"code\">{}</p>\n",
            escape(&self.says("receipt_code", parties, &[("code", r.withdrawal_code)]))
        ));
        page.push_str(&p("receipt_withdraw", &[("url", r.withdraw_url)]));
        page.push_str(&p("receipt_keep", &[]));
        page.push_str(&format!(
            "<p class=\"file\"><a download=\"consent-receipt.jws\" href=\"data:application/jose;base64,{}\">{}</a></p>\n",
            base64_std(r.signed_receipt.as_bytes()),
            escape(&self.says("receipt_file", parties, &[])),
        ));
        page.push_str(CLOSE);
        page
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

    /// The withdrawal page: a field for the code of the receipt. `message`: what happened to a
    /// code just entered.
    pub fn withdraw_page(&self, action: &str, message: Option<WithdrawMessage<'_>>) -> String {
        let title = self.text("withdraw_title");
        let mut page = self.open(title);
        page.push_str(&format!("<h1>{}</h1>\n", escape(title)));
        match message {
            Some(WithdrawMessage::Done { office, recipient }) => {
                let parties = Parties { office, recipient };
                page.push_str(&format!(
                    "<p class=\"done\" role=\"status\">{}</p>\n",
                    escape(&self.says("withdraw_done", parties, &[]))
                ));
                page.push_str(CLOSE);
                return page;
            }
            Some(WithdrawMessage::Already) => page.push_str(&format!(
                "<p class=\"done\" role=\"status\">{}</p>\n",
                escape(self.text("withdraw_already"))
            )),
            Some(WithdrawMessage::Unknown) => page.push_str(&format!(
                "<p class=\"error\" role=\"alert\">{}</p>\n",
                escape(self.text("withdraw_unknown"))
            )),
            None => {}
        }
        page.push_str(&format!(
            "<p>{intro}</p>\n<form method=\"post\" action=\"{action}\">\n<p><label for=\"code\">{label}</label><br>\
             <input id=\"code\" name=\"code\" type=\"text\" autocomplete=\"off\" autocapitalize=\"characters\" \
             spellcheck=\"false\" dir=\"ltr\" maxlength=\"64\" required></p>\n\
             <input type=\"hidden\" name=\"lang\" value=\"{lang}\">\n\
             <p><button type=\"submit\" id=\"submit\">{submit}</button></p>\n</form>\n",
            intro = escape(self.text("withdraw_intro")),
            action = escape(action),
            label = escape(self.text("withdraw_code_label")),
            lang = escape(self.code),
            submit = escape(self.text("withdraw_submit")),
        ));
        page.push_str(CLOSE);
        page
    }

    /// The printed form: the same statement, with boxes to tick and a line to sign; the text's
    /// id, version, language and hash at the foot, so the form recorded is the form printed.
    pub fn paper_form(&self, statement: &Statement, parties: Parties<'_>) -> String {
        let mut page = self.open(self.text("paper_title"));
        page.push_str(&format!("<p class=\"paper-title\">{}</p>\n", escape(self.text("paper_title"))));
        page.push_str(&self.statement_html(statement, Boxes::Paper));
        if statement.lines.iter().any(|(k, _)| *k == LineKind::HealthConsent) {
            page.push_str(&format!(
                "<p class=\"confirm\"><span class=\"box\" aria-hidden=\"true\"></span> <span>{}</span></p>\n",
                escape(&self.says("paper_health_no", parties, &[]))
            ));
        }
        page.push_str(&format!(
            "<div class=\"signature\"><span>{}</span></div>\n",
            escape(self.text("paper_signature"))
        ));
        page.push_str(&text_footer(&statement.text));
        page.push_str(CLOSE);
        page
    }
}

/// The page an unknown, used or expired consent link shows: in every language (who opened it is
/// not known), each part in its own direction.
pub fn link_invalid_page() -> String {
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <style>\n{CSS}</style>\n</head>\n<body>\n<main>\n",
        DEFAULT_LANGUAGE,
        escape(language(DEFAULT_LANGUAGE).map_or("", |l| l.text("link_invalid_title"))),
    );
    for l in LANGUAGES.iter() {
        let dir = if l.rtl() { "rtl" } else { "ltr" };
        page.push_str(&format!(
            "<section lang=\"{}\" dir=\"{dir}\">\n<h1>{}</h1>\n<p>{}</p>\n</section>\n",
            escape(l.code),
            escape(l.text("link_invalid_title")),
            escape(l.text("link_invalid")),
        ));
    }
    page.push_str(CLOSE);
    page
}

/// What the withdrawal page reports.
#[derive(Clone, Copy)]
pub enum WithdrawMessage<'a> {
    Done { office: &'a str, recipient: &'a str },
    Already,
    Unknown,
}

/// What a receipt shows.
pub struct ReceiptView<'a> {
    pub office: &'a str,
    pub recipient: &'a str,
    pub given_on: NaiveDate,
    pub categories: &'a BTreeSet<DataCategory>,
    pub text: &'a ConsentText,
    pub ledger_seq: u64,
    pub ledger_hash: &'a str,
    pub withdrawal_code: &'a str,
    pub withdraw_url: &'a str,
    /// The signed JSON consent receipt (compact JWS), offered as a file to keep.
    pub signed_receipt: &'a str,
}

#[derive(Clone, Copy)]
enum Boxes {
    Form,
    Paper,
}

/// The text's identity at the foot of a page, for the record (not part of the statement).
fn text_footer(text: &ConsentText) -> String {
    format!(
        "<footer dir=\"ltr\"><small>{} v{} {} · SHA-256 {}</small></footer>\n",
        escape(&text.id),
        escape(&text.version),
        escape(&text.language),
        escape(&text.sha256)
    )
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const CLOSE: &str = "</main>\n</body>\n</html>\n";

const CSS: &str = "\
@page { size: A4; margin: 14mm 16mm; }
* { box-sizing: border-box; }
html { background: #fff; color: #111; }
body { margin: 0 auto; max-width: 46rem; padding: 1.5rem 1rem; font-family: \"Noto Sans\", \"Noto Sans Arabic\", \
\"DejaVu Sans\", Arial, sans-serif; font-size: 1.2rem; line-height: 1.5; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.25rem 0 0.5rem; }
p, ul { margin: 0 0 0.75rem; }
ul { padding-inline-start: 1.5rem; }
.banner { border: 2px solid #8a5a00; background: #fff4dc; padding: 0.5rem 0.75rem; }
.error { border: 2px solid #a00; background: #fde8e8; padding: 0.5rem 0.75rem; }
.done { border: 2px solid #1a6b2a; background: #e6f4e9; padding: 0.5rem 0.75rem; }
.confirm { margin: 1rem 0; padding: 0.75rem; border: 2px solid #333; }
.confirm label { display: flex; gap: 0.75rem; align-items: flex-start; cursor: pointer; }
.confirm input { width: 1.6rem; height: 1.6rem; flex: none; margin: 0.15rem 0 0; }
.box { display: inline-block; width: 1.2rem; height: 1.2rem; border: 2px solid #000; vertical-align: middle; }
button { font: inherit; padding: 0.6rem 1.4rem; border: 2px solid #0b3d91; background: #0b3d91; color: #fff; \
border-radius: 0.3rem; cursor: pointer; }
input[type=text] { font: inherit; padding: 0.4rem; width: 100%; max-width: 24rem; letter-spacing: 0.08em; }
.code { font-size: 1.4rem; font-weight: bold; padding: 0.5rem; border: 2px dashed #000; }
.hint { color: #333; }
.signature { margin-top: 3rem; border-top: 1px solid #000; padding-top: 0.25rem; max-width: 24rem; }
footer { margin-top: 2rem; color: #444; word-break: break-all; }
@media print { body { max-width: none; padding: 0; font-size: 11pt; } button, .file { display: none; } }
";

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
        let ar = language("ar").unwrap().consent_page(
            &language("ar").unwrap().statement(parties(), &asked(true), None),
            "/x",
            false,
        );
        assert!(ar.contains("dir=\"rtl\""));
        assert!(ar.contains("class=\"banner\""));
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
        // Every line appears on the page, escaped, and nothing of the form is hashed.
        let page = de.consent_page(&s, "/consent/t", false);
        for (_, line) in &s.lines {
            assert!(page.contains(&escape(line)), "{line}");
        }
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
    fn inserted_names_are_escaped() {
        let de = language("de").unwrap();
        let evil = Parties { office: "<script>x</script>", recipient: "A & B" };
        let page = de.consent_page(&de.statement(evil, &asked(false), None), "/consent/t", true);
        assert!(!page.contains("<script>"));
        assert!(page.contains("A &amp; B"));
        assert!(page.contains("class=\"error\""));
    }
}
