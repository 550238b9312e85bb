//! Two integration managers at two real offices carry one client from the first session
//! through consent, handover, approval by a second person, acceptance and the next session at
//! the new office, in a real headless Chromium, only by the keyboard (Tab, typing, Enter). On
//! every page: axe-core finds no serious or critical violation, and every control is reached by
//! Tab with a visible focus. A screenshot of each page is kept in `target/tmp/screenshots/`
//! (the README shows three of them). An administrator keeps the office's accounts the same way.

use serde_json::json;
use staffel::demo::Caseworker;

use crate::harness::*;
use crate::ui::{PASSWORD, Visitor, account};
use crate::webdriver::Browser;

const STUTTGART: &str = "08111000";
const HEIDELBERG: &str = "08221000";

/// Checks a page as every page is checked: accessibility, keyboard, and a screenshot.
async fn check(browser: &Browser, name: &str) {
    browser.screenshot(&format!("ui-{name}")).await;
    browser.axe(name).await;
    browser.check_keyboard(name).await;
}

/// Waits for the page a successful form leads to (its message named in the address).
async fn done(browser: &Browser, what: &str) {
    let wanted = format!("done={what}");
    eventually(&wanted, || async { browser.path().await.contains(&wanted).then_some(()) }).await;
    browser.wait_for(".kern-alert--success").await;
}

async fn sign_in(browser: &Browser, base: &str, account: &str) {
    browser.go(&format!("{base}/login")).await;
    browser.wait_for("#login-account").await;
    browser.type_by_keyboard("#login-account", account).await;
    browser.type_by_keyboard("#login-password", PASSWORD).await;
    browser.keys("\u{E007}").await;
    browser.wait_for("form[action='/logout']").await;
}

async fn sign_out(browser: &Browser) {
    browser.enter_on("form[action='/logout'] button").await;
    browser.wait_for("#login-account").await;
}

/// Types a date into a date field as the keyboard does: day, month and year in the order of
/// the browser's locale (the order the field shows).
async fn type_date(browser: &Browser, css: &str, iso: &str) {
    let (y, rest) = iso.split_once('-').unwrap();
    let (m, d) = rest.split_once('-').unwrap();
    let order = browser
        .execute(
            "return new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2001, 1, 3)) \
             .map(p => p.type).filter(t => ['day', 'month', 'year'].includes(t));",
            json!([]),
        )
        .await;
    let typed: String = order
        .as_array()
        .unwrap()
        .iter()
        .map(|part| match part.as_str().unwrap() {
            "day" => d,
            "month" => m,
            _ => y,
        })
        .collect();
    browser.tab_to(css).await;
    browser.keys(&typed).await;
    let value = browser.execute("return document.activeElement.value;", json!([])).await;
    assert_eq!(value.as_str(), Some(iso), "{css}: typed {typed} ({order})");
}

#[tokio::test]
async fn two_integration_managers_hand_a_client_over_by_keyboard_in_a_real_browser() {
    let Some(browser) = Browser::start().await else { return };
    browser.window(1280, 1400).await;
    let fed = offices(&[STUTTGART, HEIDELBERG]).four_eyes().start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    account(&cw, a, "anna", "integration-manager", PASSWORD).await;
    account(&cw, a, "lea", "team-lead", PASSWORD).await;
    account(&cw, b, "ben", "integration-manager", PASSWORD).await;
    // The receiving office by its other loopback name, so each office keeps its own cookies.
    let b_base = b.api.replacen("127.0.0.1", "localhost", 1);

    // Stuttgart, Anna: the first session.
    browser.go(&format!("{}/login", a.api)).await;
    browser.wait_for("#login-account").await;
    check(&browser, "login").await;
    sign_in(&browser, &a.api, "anna").await;
    check(&browser, "start-empty").await;
    browser.enter_on("a[href='/clients/new']").await;
    browser.wait_for("#new-given_name").await;
    check(&browser, "client-new").await;
    browser.type_by_keyboard("#new-given_name", "Oksana").await;
    browser.type_by_keyboard("#new-family_name", "Beispielowa").await;
    type_date(&browser, "#new-date_of_birth", "1990-04-02").await;
    type_date(&browser, "#new-first_session", "2026-11-02").await;
    browser.choose("#new-target_group", "displaced-from-ukraine").await;
    browser.choose("#new-benefits", "sgb-ii").await;
    browser.enter_on("form[action='/clients'] button[type=submit]").await;
    done(&browser, "client-created").await;
    assert_eq!(browser.text("#client-name").await, "Beispielowa, Oksana");
    assert_eq!(browser.text("#last-day").await, "02.11.2029");
    let client_path = browser.path().await;
    let client_path = client_path.split('?').next().unwrap().to_owned();

    browser.type_by_keyboard("#session-note", "Erstgespräch: Sprachkurs und Arztsuche besprochen").await;
    browser.enter_on("form[action$='/sessions'] button[type=submit]").await;
    done(&browser, "session-recorded").await;
    browser.choose("#goal-area", "language").await;
    browser.type_by_keyboard("#goal-description", "Deutschkurs B1 abschließen").await;
    browser.type_by_keyboard("#goal-steps", "Beim Kursträger anmelden").await;
    browser.choose("#goal-responsible", "client").await;
    browser.enter_on("form[action$='/goals'] button[type=submit]").await;
    done(&browser, "goal-added").await;
    browser.choose("#goal-area", "health").await;
    browser.type_by_keyboard("#goal-description", "Hausarztpraxis finden").await;
    browser.choose("#goal-responsible", "integration-manager").await;
    browser.enter_on("form[action$='/goals'] button[type=submit]").await;
    done(&browser, "goal-added").await;
    check(&browser, "client-stuttgart").await;

    // The client consents on the office's screen to Heidelberg (no health data).
    browser.choose("#consent-recipient", HEIDELBERG).await;
    browser.enter_on("form[action$='/consent-pages'] button[type=submit]").await;
    browser.wait_for("#consent-link").await;
    check(&browser, "consent-link").await;
    browser.enter_on("#consent-link").await;
    browser.wait_for("#agree").await;
    browser.tab_to("#agree").await;
    browser.keys("\u{E00D}").await;
    assert!(browser.selected("#agree").await);
    browser.enter_on("#submit").await;
    browser.wait_for(".code").await;
    browser.go(&format!("{}{client_path}", a.api)).await;
    browser.wait_for("#consent-list").await;
    assert!(browser.text("#consent-list").await.contains("gültig"));

    // Anna drafts the handover and sees exactly what goes and what stays.
    browser.enter_on("form[action$='/handovers'] button[type=submit]").await;
    done(&browser, "handover-drafted").await;
    assert!(browser.text("#goals-sent").await.contains("Deutschkurs B1 abschließen"));
    assert!(!browser.text("#goals-sent").await.contains("Hausarztpraxis"));
    assert!(browser.text("#withheld-list").await.contains("Hausarztpraxis finden"));
    assert!(browser.exists("#four-eyes-hint").await, "her own draft needs a second person");
    assert!(!browser.exists("form[action$='/approve']").await);
    check(&browser, "handover-draft").await;
    let handover_path = browser.path().await.split('?').next().unwrap().to_owned();
    sign_out(&browser).await;

    // Lea, team lead, approves from her start page.
    sign_in(&browser, &a.api, "lea").await;
    assert!(browser.text("#w-outgoing").await.contains('1'));
    browser.enter_on(&format!("a[href='{handover_path}']")).await;
    browser.wait_for("form[action$='/approve']").await;
    check(&browser, "handover-approval").await;
    browser.enter_on("form[action$='/approve'] button").await;
    done(&browser, "handover-approved").await;
    eventually("the handover is delivered", || async {
        browser.go(&format!("{}{handover_path}", a.api)).await;
        browser.wait_for("#handover-state").await;
        browser.text("#handover-state").await.contains("zugestellt").then_some(())
    })
    .await;
    sign_out(&browser).await;

    // Heidelberg, Ben: the handover waits on his start page; he takes it over.
    sign_in(&browser, &b_base, "ben").await;
    assert!(browser.text("section[aria-labelledby=w-incoming]").await.contains("Beispielowa"));
    check(&browser, "start").await;
    browser.enter_on("a[href^='/incoming/']").await;
    browser.wait_for("form[action$='/accept']").await;
    assert!(browser.text("main").await.contains("Deutschkurs B1 abschließen"));
    assert!(!browser.text("main").await.contains("Hausarztpraxis"));
    check(&browser, "incoming").await;
    browser.enter_on("form[action$='/accept'] button").await;
    done(&browser, "incoming-accepted").await;
    assert_eq!(browser.text("#last-day").await, "02.11.2029", "the clock kept running, not reset");
    assert!(browser.text("#timeline-events").await.contains("Umzug"));
    type_date(&browser, "#session-date", "2026-11-24").await;
    browser.type_by_keyboard("#session-note", "Erstes Gespräch in Heidelberg").await;
    browser.enter_on("form[action$='/sessions'] button[type=submit]").await;
    done(&browser, "session-recorded").await;
    assert!(browser.text("section[aria-labelledby=sessions]").await.contains("Erstes Gespräch in Heidelberg"));
    check(&browser, "client").await;
    // The page from its top, as it opens (for the README).
    let here = browser.path().await.split('?').next().unwrap().to_owned();
    browser.go(&format!("{b_base}{here}")).await;
    browser.wait_for("#client-name").await;
    browser.execute("window.scrollTo(0, 0);", json!([])).await;
    browser.screenshot("ui-client-overview").await;

    // The statement and the client list, in English too.
    browser.go(&format!("{b_base}/barrierefreiheit")).await;
    browser.wait_for("#feedback-contact").await;
    check(&browser, "statement").await;
    browser.go(&format!("{b_base}/language/en")).await;
    browser.go(&format!("{b_base}/clients?q=beisp")).await;
    browser.wait_for("#client-list").await;
    assert_eq!(browser.execute("return document.documentElement.lang;", json!([])).await, "en");
    check(&browser, "clients-en").await;

    browser.quit().await;
    fed.stop().await;
}

/// The state column of an account's row on the Accounts page.
async fn account_state(browser: &Browser, name: &str) -> String {
    browser.text(&format!("#account-{name} td:nth-child(4)")).await
}

#[tokio::test]
async fn an_administrator_keeps_the_accounts_by_keyboard_in_a_real_browser() {
    let Some(browser) = Browser::start().await else { return };
    browser.window(1280, 1000).await;
    let fed = offices(&[STUTTGART]).start().await;
    let a = &fed.offices[0];
    let cw = Caseworker::new();
    account(&cw, a, "root", "administrator", PASSWORD).await;
    account(&cw, a, "anna", "integration-manager", PASSWORD).await;

    sign_in(&browser, &a.api, "root").await;
    browser.enter_on("a[href='/accounts']").await;
    browser.wait_for("#account-list").await;
    // Every control of a row names its account for a screen reader, not only "Sperren".
    for name in ["anna", "root"] {
        let named = |what: &str| format!("{what} (Konto {name})");
        let control = |css: &str| format!("#account-{name} {css}");
        assert_eq!(browser.accessible_name(&control("form[action$='/disable'] button")).await, named("Sperren"));
        assert_eq!(browser.accessible_name(&control("form[action$='/delete'] button")).await, named("Löschen"));
        assert_eq!(browser.accessible_name(&format!("#password-{name}")).await, named("Neues Passwort"));
        assert_eq!(
            browser.accessible_name(&control("form[action$='/password'] button")).await,
            named("Passwort setzen")
        );
    }
    check(&browser, "accounts").await;

    // A new account, by the keyboard.
    browser.type_by_keyboard("#account-name", "tara").await;
    browser.choose("#account-role", "team-lead").await;
    browser.type_by_keyboard("#account-password", PASSWORD).await;
    browser.enter_on("form[action='/accounts'] button[type=submit]").await;
    done(&browser, "account-created").await;
    assert_eq!(browser.text(".kern-alert--success").await, "Das Konto ist angelegt.");
    assert_eq!(account_state(&browser, "tara").await, "aktiv");
    assert_eq!(browser.text("#account-tara td:nth-child(2)").await, "Teamleitung");

    // Disabled, and enabled again.
    browser.enter_on("form[action='/accounts/tara/disable'] button").await;
    done(&browser, "account-disabled").await;
    assert_eq!(browser.text(".kern-alert--success").await, "Das Konto ist gesperrt; seine Sitzungen sind beendet.");
    assert_eq!(account_state(&browser, "tara").await, "gesperrt");
    assert_eq!(browser.accessible_name("form[action='/accounts/tara/enable'] button").await, "Entsperren (Konto tara)");
    assert_eq!(Visitor::new(&a.api).sign_in("tara", PASSWORD).await.status, reqwest::StatusCode::UNAUTHORIZED);
    check(&browser, "accounts-disabled").await;
    browser.enter_on("form[action='/accounts/tara/enable'] button").await;
    done(&browser, "account-enabled").await;
    assert_eq!(browser.text(".kern-alert--success").await, "Das Konto ist wieder aktiv.");
    assert_eq!(account_state(&browser, "tara").await, "aktiv");

    // A new password: the old one no longer signs in, the new one does.
    browser.type_by_keyboard("#password-tara", "staple battery horse").await;
    browser.enter_on("form[action='/accounts/tara/password'] button").await;
    done(&browser, "account-password").await;
    assert_eq!(
        browser.text(".kern-alert--success").await,
        "Das Konto hat ein neues Passwort; seine Sitzungen sind beendet."
    );
    assert_eq!(Visitor::new(&a.api).sign_in("tara", PASSWORD).await.status, reqwest::StatusCode::UNAUTHORIZED);
    let tara = Visitor::new(&a.api).sign_in("tara", "staple battery horse").await;
    assert_eq!(tara.status, reqwest::StatusCode::SEE_OTHER);

    // Deleting asks first, on its own page; sent without the box checked, nothing goes.
    browser.enter_on("form[action='/accounts/tara/delete'] button").await;
    browser.wait_for("#delete-heading").await;
    assert_eq!(browser.text("#delete-heading").await, "Konto löschen: tara");
    check(&browser, "account-delete").await;
    browser.enter_on("form[action='/accounts/tara/delete'] button[type=submit]").await;
    browser.wait_for("#delete-refused").await;
    assert!(browser.text("#delete-refused").await.contains("Nichts ist gelöscht"));
    check(&browser, "account-delete-refused").await;
    browser.enter_on("#delete-cancel").await;
    browser.wait_for("#account-list").await;
    assert_eq!(account_state(&browser, "tara").await, "aktiv", "still there");
    // Confirmed: gone.
    browser.enter_on("form[action='/accounts/tara/delete'] button").await;
    browser.wait_for("#delete-heading").await;
    browser.tab_to("#delete-confirm-1").await;
    browser.keys("\u{E00D}").await;
    assert!(browser.selected("#delete-confirm-1").await);
    assert_eq!(browser.accessible_name("#delete-confirm-1").await, "Ich will endgültig löschen: das Konto tara");
    browser.enter_on("form[action='/accounts/tara/delete'] button[type=submit]").await;
    done(&browser, "account-deleted").await;
    assert_eq!(browser.text(".kern-alert--success").await, "Das Konto ist gelöscht.");
    assert!(!browser.exists("#account-tara").await);
    assert!(browser.exists("#account-anna").await && browser.exists("#account-root").await);
    assert_eq!(
        Visitor::new(&a.api).sign_in("tara", "staple battery horse").await.status,
        reqwest::StatusCode::UNAUTHORIZED
    );

    browser.quit().await;
    fed.stop().await;
}
