//! The client's pages in a real headless browser (Debian's `chromium`, driven through
//! `chromedriver` over the W3C WebDriver protocol with a small client of our own): the consent
//! page in German and in Arabic (right to left), ticked and submitted as a client would, the
//! receipt, and withdrawing with its code. On the consent page and the receipt, axe-core finds no
//! serious or critical violation and every control is reached by Tab with a visible focus. A
//! screenshot of each page is kept in `target/tmp/screenshots/`.
//!
//! Without chromedriver the tests are skipped, except in CI (`CI` set), where they must run
//! (`.ci/run` installs `chromium` and `chromium-driver`).

use reqwest::Method;
use serde_json::json;
use staffel::demo::Caseworker;

use crate::consent::{consents, open_page};
use crate::harness::*;
use crate::webdriver::Browser;

/// Clicks `css` as a finger would: the page scrolled to it first. (KERN scrolls smoothly, and a
/// click WebDriver aims while the page still moves lands elsewhere.)
async fn tap(browser: &Browser, css: &str) {
    browser
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center', behavior: 'instant'});",
            json!([css]),
        )
        .await;
    browser.click(css).await;
}

#[tokio::test]
async fn a_client_consents_and_withdraws_in_german_in_a_real_browser() {
    let Some(browser) = Browser::start().await else { return };
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "plan:language", "health"]), "de").await;

    browser.go(&format!("{}{url}", a.api)).await;
    assert_eq!(browser.text("h1").await, "Einwilligung in die Weitergabe Ihrer Daten bei einem Umzug");
    assert_eq!(browser.css("html", "direction").await, "ltr");
    assert!(!browser.exists(".banner").await, "German is authoritative: no translation banner");
    browser.screenshot("consent-de").await;
    browser.axe("consent-de").await;
    browser.check_keyboard("consent-de").await;

    // Submitted without the tick: the page asks again; nothing is given.
    tap(&browser, "#submit").await;
    browser.wait_for(".error").await;
    assert!(browser.text(".error").await.contains("Häkchen"));
    assert!(consents(&cw, a, cid).await.is_empty());

    // Ticked (the label is the target, as a finger would hit it), health left out.
    tap(&browser, ".confirm label").await;
    assert!(browser.selected("#agree").await);
    assert!(!browser.selected("#health").await);
    browser.screenshot("consent-de-ticked").await;
    tap(&browser, "#submit").await;
    browser.wait_for(".code").await;
    assert_eq!(browser.text("h1").await, "Ihre Quittung über Ihre Einwilligung");
    let code_line = browser.text(".code").await;
    let code = code_line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(code.len(), 19, "{code_line}");
    browser.screenshot("receipt-de").await;
    browser.axe("receipt-de").await;
    browser.check_keyboard("receipt-de").await;
    let given = &consents(&cw, a, cid).await[0];
    assert_eq!(given["categories"], json!(["identity", "window", "plan:language"]));

    // The link is used up: its page says so in every language, each in its direction.
    browser.go(&format!("{}{url}", a.api)).await;
    assert_eq!(browser.text("h1").await, "Dieser Link gilt nicht mehr");
    assert_eq!(browser.css("section[lang=ar]", "direction").await, "rtl");
    browser.screenshot("link-invalid").await;
    browser.axe("link-invalid").await;

    // The withdrawal page, with the code as the client types it.
    browser.go(&format!("{}/consent/withdraw?lang=de", a.api)).await;
    browser.screenshot("withdraw-de").await;
    browser.axe("withdraw-de").await;
    browser.check_keyboard("withdraw-de").await;
    browser.type_into("#code", &code.to_lowercase()).await;
    tap(&browser, "#submit").await;
    browser.wait_for(".done").await;
    assert!(browser.text(".done").await.contains("widerrufen"));
    browser.screenshot("withdrawn-de").await;
    browser.axe("withdrawn-de").await;
    let ended = &consents(&cw, a, cid).await[0];
    assert_eq!(ended["ended"], json!({"kind": "withdrawn", "via": "withdrawal-code"}));

    browser.quit().await;
    fed.stop().await;
}

#[tokio::test]
async fn a_client_consents_in_arabic_laid_out_right_to_left_in_a_real_browser() {
    let Some(browser) = Browser::start().await else { return };
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "plan:language", "health"]), "ar").await;

    browser.go(&format!("{}{url}", a.api)).await;
    assert_eq!(browser.css("html", "direction").await, "rtl");
    assert_eq!(browser.css("h1", "direction").await, "rtl");
    // A translation awaiting review says so, in Arabic, and that the German text is binding.
    assert!(browser.text(".banner").await.contains("الألماني"));
    browser.screenshot("consent-ar").await;
    browser.axe("consent-ar").await;
    browser.check_keyboard("consent-ar").await;

    tap(&browser, "#agree").await;
    tap(&browser, "#health").await;
    assert!(browser.selected("#agree").await && browser.selected("#health").await);
    browser.screenshot("consent-ar-ticked").await;
    tap(&browser, "#submit").await;
    browser.wait_for(".code").await;
    assert_eq!(browser.css("html", "direction").await, "rtl");
    browser.screenshot("receipt-ar").await;
    browser.axe("receipt-ar").await;
    browser.check_keyboard("receipt-ar").await;
    let given = &consents(&cw, a, cid).await[0];
    assert_eq!(given["text"]["language"], "ar");
    assert!(given["categories"].as_array().unwrap().contains(&json!("health")));
    assert!(given["legal_bases"].as_array().unwrap().contains(&json!("gdpr-art-9-2-a")));
    let _ = cw.expect(a, Method::GET, &format!("/api/v1/clients/{cid}/export"), None, 200).await.unwrap();

    browser.quit().await;
    fed.stop().await;
}
