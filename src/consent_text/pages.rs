//! The client's consent pages as documents: the consent page, the receipt, the withdrawal page,
//! the pages for someone whose language is not known (a link that no longer works, a page that
//! cannot be shown), and the printed form, each rendered from a minijinja template in
//! `templates/consent/` (parsed once, HTML-escaped).
//!
//! The screen pages are built on KERN (its stylesheets and fonts served by the office at
//! [`crate::kern::ASSETS`]) and `templates/consent/client.css` (served at
//! [`STYLE_PATH`]): no scripts, no inline styles, so they are sent under the strict
//! Content-Security-Policy of the office's pages. The printed form is a self-contained document
//! with inline print styles (see `templates/consent/paper.html`).
//!
//! What the client consents to is the [`Statement`]: every line of it in an element of its own,
//! nothing added inside it; the layout never changes the text that is hashed.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::NaiveDate;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::{DEFAULT_LANGUAGE, LANGUAGES, Language, LineKind, Parties, Statement};
use crate::domain::DataCategory;
use crate::domain::consent::ConsentText;

/// Where the client pages' own stylesheet (`templates/consent/client.css`) is served.
pub const STYLE_PATH: &str = "/consent/client.css";

/// The client pages' own stylesheet.
pub const STYLE: &str = include_str!("../../templates/consent/client.css");

/// Every template of the consent pages, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/consent/base.html")),
    ("macros.html", include_str!("../../templates/consent/macros.html")),
    ("consent.html", include_str!("../../templates/consent/consent.html")),
    ("receipt.html", include_str!("../../templates/consent/receipt.html")),
    ("withdraw.html", include_str!("../../templates/consent/withdraw.html")),
    ("everyone.html", include_str!("../../templates/consent/everyone.html")),
    ("paper.html", include_str!("../../templates/consent/paper.html")),
];

/// The templates, parsed once. Auto-escaping is on (every name ends in `.html`); a value the
/// page does not have is an error, not an empty string.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("templates/consent/{name}: {e}"));
        }
        env
    })
}

/// What every client page gets beside its own part (`page`).
#[derive(Serialize)]
struct Frame<'a, P: Serialize> {
    lang: &'a str,
    dir: &'a str,
    /// The office the page is served by, named in the page's header.
    office: &'a str,
    /// The note that the text is a translation awaiting review; empty for an authoritative one.
    banner: &'a str,
    assets: &'static str,
    style: &'static str,
    page: P,
}

fn render<P: Serialize>(template: &str, frame: &Frame<'_, P>) -> Result<String, minijinja::Error> {
    environment().get_template(template)?.render(minijinja::Value::from(minijinja::value::Serde(frame)))
}

/// One part of the statement as it is laid out: its lines, in order, consecutive items as one
/// list.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Block<'a> {
    Title { text: &'a str },
    Paragraph { text: &'a str },
    Heading { text: &'a str },
    List { items: Vec<&'a str> },
    Consent { text: &'a str },
    Health { text: &'a str },
}

fn blocks(statement: &Statement) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    for (kind, line) in &statement.lines {
        let text = line.as_str();
        let block = match kind {
            LineKind::Item => {
                if let Some(Block::List { items }) = blocks.last_mut() {
                    items.push(text);
                    continue;
                }
                Block::List { items: vec![text] }
            }
            LineKind::Title => Block::Title { text },
            LineKind::Paragraph => Block::Paragraph { text },
            LineKind::Heading => Block::Heading { text },
            LineKind::Consent => Block::Consent { text },
            LineKind::HealthConsent => Block::Health { text },
        };
        blocks.push(block);
    }
    blocks
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

impl Language {
    fn frame<'a, P: Serialize>(&'a self, office: &'a str, page: P) -> Frame<'a, P> {
        Frame {
            lang: self.code,
            dir: self.dir(),
            office,
            banner: if self.is_translation() { self.text("status_note").trim() } else { "" },
            assets: crate::kern::ASSETS,
            style: STYLE_PATH,
            page,
        }
    }

    /// The consent page of `office`: the statement with a checkbox for the consent (and one for
    /// health data where asked), posted to `action`. `must_agree`: the client submitted without
    /// ticking.
    pub fn consent_page(
        &self,
        office: &str,
        statement: &Statement,
        action: &str,
        must_agree: bool,
    ) -> Result<String, minijinja::Error> {
        #[derive(Serialize)]
        struct Page<'a> {
            title: &'a str,
            blocks: Vec<Block<'a>>,
            action: &'a str,
            /// The message when the tick was missing; empty otherwise.
            must_agree: &'a str,
            submit: &'a str,
            decline_hint: &'a str,
            text: &'a ConsentText,
        }
        let page = Page {
            title: &statement.lines[0].1,
            blocks: blocks(statement),
            action,
            must_agree: if must_agree { self.text("must_agree") } else { "" },
            submit: self.text("submit"),
            decline_hint: self.text("decline_hint"),
            text: &statement.text,
        };
        render("consent.html", &self.frame(office, page))
    }

    /// The receipt the client keeps, shown by `office` (the office the consent was given to).
    pub fn receipt_page(&self, r: &ReceiptView<'_>) -> Result<String, minijinja::Error> {
        #[derive(Serialize)]
        struct Page {
            title: String,
            given: String,
            to: String,
            categories_intro: String,
            categories: Vec<String>,
            health_no: Option<String>,
            text: String,
            entry: String,
            code: String,
            withdraw: String,
            keep: String,
            /// The signed receipt, standard base64: shown unescaped (`receipt.html`).
            file_base64: String,
            file_label: String,
        }
        let parties = Parties { office: r.office, recipient: r.recipient };
        let says = |key: &str, extra: &[(&str, &str)]| self.says(key, parties, extra);
        let (seq, version) = (r.ledger_seq.to_string(), r.text.version.as_str());
        let page = Page {
            title: self.text("receipt_title").to_owned(),
            given: says("receipt_given", &[("date", &self.date(r.given_on))]),
            to: says("receipt_to", &[]),
            categories_intro: says("receipt_categories", &[]),
            categories: self.category_lines(r.categories, parties),
            health_no: (!r.categories.contains(&DataCategory::Health)).then(|| says("receipt_health_no", &[])),
            text: says(
                "receipt_text",
                &[("text_id", &r.text.id), ("version", version), ("language", &r.text.language)],
            ),
            entry: says("receipt_entry", &[("seq", &seq), ("hash", r.ledger_hash)]),
            code: says("receipt_code", &[("code", r.withdrawal_code)]),
            withdraw: says("receipt_withdraw", &[("url", r.withdraw_url)]),
            keep: says("receipt_keep", &[]),
            file_base64: base64_std(r.signed_receipt.as_bytes()),
            file_label: says("receipt_file", &[]),
        };
        render("receipt.html", &self.frame(r.office, page))
    }

    /// The withdrawal page of `office`: a field for the code of the receipt, posted to `action`.
    /// `message`: what happened to a code just entered.
    pub fn withdraw_page(
        &self,
        office: &str,
        action: &str,
        message: Option<WithdrawMessage<'_>>,
    ) -> Result<String, minijinja::Error> {
        #[derive(Serialize)]
        struct Page<'a> {
            title: &'a str,
            message: Option<Message>,
            form: Option<Form<'a>>,
        }
        #[derive(Serialize)]
        struct Message {
            kind: &'static str,
            text: String,
        }
        #[derive(Serialize)]
        struct Form<'a> {
            intro: &'a str,
            action: &'a str,
            label: &'a str,
            submit: &'a str,
        }
        let message = message.map(|m| match m {
            WithdrawMessage::Done { office, recipient } => {
                Message { kind: "done", text: self.says("withdraw_done", Parties { office, recipient }, &[]) }
            }
            WithdrawMessage::Already => Message { kind: "already", text: self.text("withdraw_already").to_owned() },
            WithdrawMessage::Unknown => Message { kind: "unknown", text: self.text("withdraw_unknown").to_owned() },
        });
        // Withdrawn: nothing more to enter.
        let done = message.as_ref().is_some_and(|m| m.kind == "done");
        let form = (!done).then(|| Form {
            intro: self.text("withdraw_intro"),
            action,
            label: self.text("withdraw_code_label"),
            submit: self.text("withdraw_submit"),
        });
        let page = Page { title: self.text("withdraw_title"), message, form };
        render("withdraw.html", &self.frame(office, page))
    }

    /// The printed form: the same statement, with boxes to tick and a line to sign; the text's
    /// id, version, language and hash at the foot, so the form recorded is the form printed.
    pub fn paper_form(&self, statement: &Statement, parties: Parties<'_>) -> String {
        #[derive(Serialize)]
        struct Page<'a> {
            title: &'a str,
            blocks: Vec<Block<'a>>,
            health_no: Option<String>,
            signature: &'a str,
            text: &'a ConsentText,
        }
        let asks_health = statement.lines.iter().any(|(k, _)| *k == LineKind::HealthConsent);
        let page = Page {
            title: self.text("paper_title"),
            blocks: blocks(statement),
            health_no: asks_health.then(|| self.says("paper_health_no", parties, &[])),
            signature: self.text("paper_signature"),
            text: &statement.text,
        };
        render("paper.html", &self.frame(parties.office, page)).unwrap_or_else(|e| {
            // Only a mistake in a template can get here (the tests render every language).
            tracing::error!(error = %e, "the printed consent form could not be rendered");
            String::from("<!DOCTYPE html>\n<title>Error</title>\n<p>Das Formular kann nicht erstellt werden. / The form cannot be made.</p>\n")
        })
    }
}

/// The page an unknown, used or expired consent link shows: in every language (who opened it is
/// not known).
pub fn link_invalid_page(office: &str) -> Result<String, minijinja::Error> {
    everyone(office, "link_invalid_title", "link_invalid")
}

/// The page shown when a client page cannot be shown (a failure, a malformed form): in every
/// language.
pub fn unavailable_page(office: &str) -> Result<String, minijinja::Error> {
    everyone(office, "unavailable_title", "unavailable")
}

fn everyone(office: &str, title: &str, text: &str) -> Result<String, minijinja::Error> {
    #[derive(Serialize)]
    struct Page<'a> {
        title: &'a str,
        sections: Vec<Section<'a>>,
    }
    #[derive(Serialize)]
    struct Section<'a> {
        lang: &'a str,
        dir: &'a str,
        title: &'a str,
        text: &'a str,
    }
    let default = super::language(DEFAULT_LANGUAGE).expect("the default language has texts");
    let mut sections: Vec<Section<'_>> = LANGUAGES
        .iter()
        .map(|l| Section { lang: l.code, dir: l.dir(), title: l.text(title), text: l.text(text) })
        .collect();
    // The default language first: its heading is the page's.
    sections.sort_by_key(|s| s.lang != DEFAULT_LANGUAGE);
    let page = Page { title: default.text(title), sections };
    // The page as a whole is in the default language, and not a translation.
    let frame = Frame {
        lang: default.code,
        dir: default.dir(),
        office,
        banner: "",
        assets: crate::kern::ASSETS,
        style: STYLE_PATH,
        page,
    };
    render("everyone.html", &frame)
}

/// Standard base64, which the receipt page shows unescaped: nothing but A–Z, a–z, 0–9, `+`, `/`
/// and `=`.
fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    debug_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
    encoded
}

#[cfg(test)]
mod tests {
    use super::super::{language, languages};
    use super::*;
    use crate::domain::GoalArea;

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

    fn escaped(s: &str) -> String {
        minijinja::HtmlEscape(s).to_string()
    }

    fn receipt(l: &Language, categories: &BTreeSet<DataCategory>, text: &ConsentText) -> String {
        l.receipt_page(&ReceiptView {
            office: "Beratungsstelle Mannheim",
            recipient: "Beratungsstelle Heidelberg",
            given_on: NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
            categories,
            text,
            ledger_seq: 7,
            ledger_hash: "ab12",
            withdrawal_code: "ABCD-EFGH-JKLM-NPQR",
            withdraw_url: "https://office.example/consent/withdraw",
            signed_receipt: "eyJ.x.y\"<>&'??",
        })
        .unwrap()
    }

    /// Every screen page of every language, for the checks every page must pass.
    fn screen_pages() -> Vec<(String, String)> {
        let mut pages = Vec::new();
        for code in languages() {
            let l = language(code).unwrap();
            let s = l.statement(parties(), &asked(true), None);
            pages.push((format!("{code} consent"), l.consent_page("Mannheim", &s, "/consent/t", false).unwrap()));
            pages.push((format!("{code} consent again"), l.consent_page("Mannheim", &s, "/consent/t", true).unwrap()));
            pages.push((format!("{code} receipt"), receipt(l, &asked(false), &s.text)));
            pages.push((format!("{code} withdraw"), l.withdraw_page("Mannheim", "/consent/withdraw", None).unwrap()));
            for m in [
                WithdrawMessage::Done { office: "Mannheim", recipient: "Heidelberg" },
                WithdrawMessage::Already,
                WithdrawMessage::Unknown,
            ] {
                pages.push((format!("{code} withdraw message"), l.withdraw_page("M", "/w", Some(m)).unwrap()));
            }
        }
        pages.push(("link invalid".into(), link_invalid_page("Mannheim").unwrap()));
        pages.push(("unavailable".into(), unavailable_page("Mannheim").unwrap()));
        pages
    }

    #[test]
    fn screen_pages_are_on_kern_without_scripts_or_inline_styles() {
        for (name, page) in screen_pages() {
            assert!(page.starts_with("<!doctype html>\n<html lang=\""), "{name}");
            let kern = format!("<link rel=\"stylesheet\" href=\"{}/kern.min.css\">", escaped(crate::kern::ASSETS));
            assert!(page.contains(&kern), "{name}");
            assert!(page.contains(&escaped(STYLE_PATH)), "{name}");
            assert!(page.contains("<body class=\"kern-body\">"), "{name}");
            let lower = page.to_ascii_lowercase();
            for bad in ["<script", "<style", "style=", "javascript:", "http:", "https://fonts", "{{", "{%"] {
                assert!(!lower.contains(bad), "{name}: {bad}");
            }
            assert!(!page.contains('{'), "{name}: a placeholder left unfilled");
        }
    }

    #[test]
    fn pages_carry_language_and_direction() {
        let ar = language("ar").unwrap();
        let s = ar.statement(parties(), &asked(true), None);
        let page = ar.consent_page("M", &s, "/x", false).unwrap();
        assert!(page.contains("<html lang=\"ar\" dir=\"rtl\">"));
        assert!(page.contains("class=\"banner\""), "a translation says so");
        let de = language("de").unwrap();
        let page = de.consent_page("M", &de.statement(parties(), &asked(true), None), "/x", false).unwrap();
        assert!(page.contains("<html lang=\"de\" dir=\"ltr\">"));
        assert!(!page.contains("class=\"banner\""), "German is authoritative");
        // Someone whose language is not known reads every language, each in its direction.
        let invalid = link_invalid_page("M").unwrap();
        assert!(invalid.contains("<html lang=\"de\" dir=\"ltr\">"));
        for code in languages() {
            let l = language(code).unwrap();
            assert!(invalid.contains(&format!("<section lang=\"{code}\" dir=\"{}\"", l.dir())), "{code}");
            assert!(invalid.contains(&escaped(l.text("link_invalid"))), "{code}");
        }
        assert!(invalid.contains("dir=\"rtl\""));
        assert!(invalid.find("lang=\"de\" dir").unwrap() < invalid.find("lang=\"ar\" dir").unwrap());
    }

    #[test]
    fn the_page_shows_exactly_the_statement_and_the_form_around_it() {
        let de = language("de").unwrap();
        for health in [false, true] {
            let s = de.statement(parties(), &asked(health), None);
            let page = de.consent_page("M", &s, "/consent/t", false).unwrap();
            // Every line in an element of its own, nothing added inside it.
            for (kind, line) in &s.lines {
                let e = escaped(line);
                let shown = match kind {
                    LineKind::Title => format!("<h1 class=\"kern-heading-large\">{e}</h1>"),
                    LineKind::Paragraph => format!("<p class=\"kern-body\">{e}</p>"),
                    LineKind::Heading => format!("<h2 class=\"kern-heading-medium\">{e}</h2>"),
                    LineKind::Item => format!("<li>{e}</li>"),
                    LineKind::Consent => format!("<label class=\"kern-label\" for=\"agree\">{e}</label>"),
                    LineKind::HealthConsent => format!("<label class=\"kern-label\" for=\"health\">{e}</label>"),
                };
                assert!(page.contains(&shown), "{shown}");
            }
            assert!(page.contains("id=\"agree\" name=\"agree\" value=\"yes\""));
            assert_eq!(page.contains("id=\"health\" name=\"health\""), health);
            assert!(page.contains("id=\"submit\""));
            assert!(page.contains(&s.text.sha256), "the text's identity at the foot");
            assert!(!page.contains("class=\"error\""));
        }
        // Sent without the tick: the message, tied to the checkbox.
        let s = de.statement(parties(), &asked(false), None);
        let again = de.consent_page("M", &s, "/consent/t", true).unwrap();
        assert!(again.contains("<div class=\"error\" role=\"alert\" id=\"must-agree\">"));
        assert!(again.contains("aria-invalid=\"true\" aria-describedby=\"must-agree\""));
        assert!(again.contains(&escaped(de.text("must_agree"))));
    }

    #[test]
    fn inserted_names_are_escaped() {
        let de = language("de").unwrap();
        let evil = Parties { office: "<script>x</script>", recipient: "A & B" };
        let s = de.statement(evil, &asked(false), None);
        let page = de.consent_page("<b>office</b>", &s, "/consent/\"t", true).unwrap();
        assert!(!page.contains("<script>") && !page.contains("<b>"));
        assert!(page.contains("A &amp; B"));
        assert!(!page.contains("/consent/\"t"));
        assert!(de.paper_form(&s, evil).contains("&lt;script&gt;"));
        assert!(!de.paper_form(&s, evil).contains("<script>"));
    }

    #[test]
    fn the_receipt_names_what_whom_when_and_the_code() {
        for code in languages() {
            let l = language(code).unwrap();
            let s = l.statement(parties(), &asked(false), None);
            let page = receipt(l, &asked(false), &s.text);
            assert!(page.contains("class=\"code\""), "{code}");
            assert!(page.contains("ABCD-EFGH-JKLM-NPQR"), "{code}");
            assert!(page.contains("Beratungsstelle Heidelberg"), "{code}");
            assert!(page.contains(&escaped(&l.date(NaiveDate::from_ymd_opt(2026, 5, 4).unwrap()))), "{code}");
            assert!(page.contains(&escaped(l.text("receipt_health_no"))), "{code}");
            // The signed receipt as a file, its base64 as it is (nothing in it to escape).
            let file = format!("href=\"data:application/jose;base64,{}\"", base64_std(b"eyJ.x.y\"<>&'??"));
            assert!(page.contains(&file) && file.contains('/'), "{code}");
        }
        let de = language("de").unwrap();
        let with = de.statement(parties(), &asked(true), None);
        assert!(!receipt(de, &asked(true), &with.text).contains(&escaped(de.text("receipt_health_no"))));
    }

    #[test]
    fn the_withdrawal_page_reports_what_happened() {
        let de = language("de").unwrap();
        let empty = de.withdraw_page("M", "/consent/withdraw", None).unwrap();
        assert!(
            empty.contains("id=\"code\"") && !empty.contains("class=\"done\"") && !empty.contains("class=\"error\"")
        );
        assert!(empty.contains("<input type=\"hidden\" name=\"lang\" value=\"de\">"));
        let done = de
            .withdraw_page("M", "/consent/withdraw", Some(WithdrawMessage::Done { office: "M", recipient: "H" }))
            .unwrap();
        assert!(done.contains("class=\"done\" role=\"status\"") && !done.contains("id=\"code\""));
        let already = de.withdraw_page("M", "/consent/withdraw", Some(WithdrawMessage::Already)).unwrap();
        assert!(already.contains("class=\"done\"") && already.contains("id=\"code\""));
        let unknown = de.withdraw_page("M", "/consent/withdraw", Some(WithdrawMessage::Unknown)).unwrap();
        assert!(unknown.contains("class=\"error\" role=\"alert\""));
        assert!(unknown.contains("aria-invalid=\"true\" aria-describedby=\"withdraw-message\""));
    }

    #[test]
    fn the_printed_form_is_the_same_statement_self_contained() {
        for code in languages() {
            let l = language(code).unwrap();
            for health in [false, true] {
                let s = l.statement(parties(), &asked(health), None);
                let paper = l.paper_form(&s, parties());
                assert!(paper.starts_with("<!DOCTYPE html>\n<html lang=\""), "{code}");
                assert!(paper.contains(&format!("dir=\"{}\"", l.dir())), "{code}");
                assert!(paper.contains(&s.text.sha256), "{code}");
                for (_, line) in &s.lines {
                    assert!(paper.contains(&escaped(line)), "{code}: {line}");
                }
                assert_eq!(paper.contains(&escaped(&l.says("paper_health_no", parties(), &[]))), health, "{code}");
                assert!(paper.contains("@page { size: A4;"), "{code}");
                let lower = paper.to_ascii_lowercase();
                for bad in ["<script", "<link", "<img", "src=", "href=", "url(", "@import", "<input"] {
                    assert!(!lower.contains(bad), "{code}: {bad}");
                }
            }
        }
    }
}
