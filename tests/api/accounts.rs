//! Accounts with roles, argon2 passwords and session tokens; the four-eyes rule.

use std::time::Duration;

use crate::harness::*;
use reqwest::Method;
use serde_json::json;
use staffel::demo::Caseworker;
use staffel::dev_pki as dev;

const P: &str = "urn:staffel:problem:";

#[tokio::test]
async fn administrators_manage_accounts_and_sessions_work_by_password() {
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let cw = Caseworker::new();
    let im = &offices[0];
    let admin = im.as_user(&dev::dev_admin_token(STUTTGART));

    let body = json!({"name": "tara.lead", "role": "team-lead", "password": "correct horse battery"});
    let refused = cw.call(im, Method::POST, "/api/v1/accounts", Some(body.clone())).await.unwrap();
    assert_eq!((refused.0, refused.1["type"].as_str().unwrap()), (403, &*format!("{P}forbidden")));
    let short = cw
        .call(
            &admin,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"name": "x", "role": "team-lead", "password": "short"})),
        )
        .await
        .unwrap();
    assert_eq!(short.0, 422);
    // A name that is not one path segment of its own on the Accounts page (`/accounts/../delete`).
    for name in [".", "..", ".hidden"] {
        let new = json!({"name": name, "role": "team-lead", "password": "correct horse battery"});
        let refused = cw.call(&admin, Method::POST, "/api/v1/accounts", Some(new)).await.unwrap();
        assert_eq!(refused.0, 422, "{name}: {}", refused.1);
        assert!(refused.1["detail"].as_str().unwrap().contains("not starting with '.'"), "{}", refused.1);
    }
    let created = cw.expect(&admin, Method::POST, "/api/v1/accounts", Some(body.clone()), 201).await.unwrap();
    assert_eq!(created["role"], "team-lead");
    assert!(created.get("password_hash").is_none());
    let twice = cw.call(&admin, Method::POST, "/api/v1/accounts", Some(body)).await.unwrap();
    assert_eq!(twice.0, 409);

    // Administrators see accounts, not clients.
    let clients = cw.call(&admin, Method::GET, "/api/v1/clients", None).await.unwrap();
    assert_eq!((clients.0, clients.1["type"].as_str().unwrap()), (403, &*format!("{P}forbidden")));
    let listed = cw.expect(&admin, Method::GET, "/api/v1/accounts", None, 200).await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let wrong = cw
        .call(
            im,
            Method::POST,
            "/api/v1/login",
            Some(json!({"account": "tara.lead", "password": "wrong horse battery"})),
        )
        .await
        .unwrap();
    assert_eq!((wrong.0, wrong.1["type"].as_str().unwrap()), (401, &*format!("{P}login-failed")));
    let unknown = cw
        .call(
            im,
            Method::POST,
            "/api/v1/login",
            Some(json!({"account": "nobody", "password": "correct horse battery"})),
        )
        .await
        .unwrap();
    assert_eq!(unknown.1["type"], wrong.1["type"]);
    let session = cw
        .expect(
            im,
            Method::POST,
            "/api/v1/login",
            Some(json!({"account": "tara.lead", "password": "correct horse battery"})),
            200,
        )
        .await
        .unwrap();
    let lead = im.as_user(session["token"].as_str().unwrap());
    let me = cw.expect(&lead, Method::GET, "/api/v1/office", None, 200).await.unwrap();
    assert_eq!(me["you"], json!({"account": "tara.lead", "role": "team-lead"}));
    cw.expect(&lead, Method::GET, "/api/v1/clients", None, 200).await.unwrap();
    let (status, _) = cw.call(&lead, Method::POST, "/api/v1/logout", None).await.unwrap();
    assert_eq!(status, 204);
    let after = cw.call(&lead, Method::GET, "/api/v1/clients", None).await.unwrap();
    assert_eq!(after.0, 401);
    stop_all(offices).await;
}

#[tokio::test]
async fn four_eyes_handovers_and_extensions_need_another_team_lead() {
    let federation = offices(&[STUTTGART, HEIDELBERG])
        .configure(|c| c.office.four_eyes = c.office.id.as_str() == STUTTGART)
        .start()
        .await;
    let offices = federation.offices;
    let cw = Caseworker::new();
    let im = &offices[0];
    let lead = im.as_user(&dev::dev_lead_token(STUTTGART));
    let client = cw
        .expect(im, Method::POST, "/api/v1/clients", Some(json!({"given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1990-01-01", "first_session": today() - chrono::Duration::days(100), "target_group": "follow-up-accommodation", "benefits": "sgb-ii"})), 201)
        .await
        .unwrap();
    let id = client["id"].as_str().unwrap();

    // An extension asked for by an integration manager waits for a team lead.
    let asked = cw
        .expect(
            im,
            Method::POST,
            &format!("/api/v1/clients/{id}/extensions"),
            Some(json!({"months": 6, "reasons": ["disability"], "justification": "documented"})),
            202,
        )
        .await
        .unwrap();
    assert_eq!(asked["window"]["last_day"], client["window"]["last_day"]);
    let request = asked["pending_extensions"][0]["id"].as_str().unwrap();
    let approve = format!("/api/v1/clients/{id}/extension-requests/{request}/approve");
    let refused = cw.call(im, Method::POST, &approve, None).await.unwrap();
    assert_eq!((refused.0, refused.1["type"].as_str().unwrap()), (403, &*format!("{P}four-eyes-required")));
    let granted = cw.expect(&lead, Method::POST, &approve, None, 200).await.unwrap();
    assert_eq!(granted["window"]["extension_months"], 6);
    assert_eq!(granted["window"]["extensions"][0]["decided_by"], format!("lead-{STUTTGART}"));
    assert!(granted["pending_extensions"].as_array().unwrap().is_empty());

    // A team lead cannot approve their own request.
    let own = cw
        .expect(
            &lead,
            Method::POST,
            &format!("/api/v1/clients/{id}/extensions"),
            Some(json!({"months": 1, "reasons": ["disability"], "justification": "x"})),
            202,
        )
        .await
        .unwrap();
    let own_request = own["pending_extensions"][0]["id"].as_str().unwrap();
    let refused = cw
        .call(&lead, Method::POST, &format!("/api/v1/clients/{id}/extension-requests/{own_request}/approve"), None)
        .await
        .unwrap();
    assert_eq!(refused.1["type"], format!("{P}four-eyes-required"));

    // A handover drafted by the integration manager is approved by the team lead, not by them.
    let consent = cw
        .expect(
            im,
            Method::POST,
            &format!("/api/v1/clients/{id}/consents"),
            Some(json!({"recipient": HEIDELBERG, "categories": ["identity", "window", "health"], "language": "de", "signed_on": crate::harness::today(), "health_granted": true})),
            201,
        )
        .await
        .unwrap();
    let draft = cw
        .expect(
            im,
            Method::POST,
            "/api/v1/handovers",
            Some(json!({"client_id": id, "receiver": HEIDELBERG, "consent_id": consent["id"]})),
            201,
        )
        .await
        .unwrap();
    let path = format!("/api/v1/handovers/{}", draft["id"].as_str().unwrap());
    let refused = cw.call(im, Method::POST, &format!("{path}/approve"), None).await.unwrap();
    assert_eq!(refused.1["type"], format!("{P}four-eyes-required"));
    cw.expect(&lead, Method::POST, &format!("{path}/approve"), None, 202).await.unwrap();
    cw.wait_for(im, &path, "state", "delivered", Duration::from_secs(20)).await.unwrap();

    // Audit logs are for team leads and administrators.
    let log = cw.call(im, Method::GET, &format!("/api/v1/clients/{id}/audit"), None).await.unwrap();
    assert_eq!(log.0, 403);
    let log = cw.expect(&lead, Method::GET, &format!("/api/v1/clients/{id}/audit"), None, 200).await.unwrap();
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "write:extension-approval" && e["account"] == format!("lead-{STUTTGART}"))
    );
    stop_all(offices).await;
}

#[tokio::test]
async fn administrators_disable_enable_and_delete_accounts_and_the_last_one_stays() {
    // An office whose config has no administrator: its administrators have passwords.
    let federation = offices(&[STUTTGART])
        .configure(|c| c.api.managers.retain(|m| m.role != staffel::domain::staff::Role::Administrator))
        .start()
        .await;
    let office = &federation.offices[0];
    let cw = Caseworker::new();
    let setup =
        staffel::service::Caller { account: "(test)".into(), role: staffel::domain::staff::Role::Administrator };
    let password = "correct horse battery".to_owned();
    for name in ["root", "ada"] {
        office
            .office
            .create_account(&setup, name, staffel::domain::staff::Role::Administrator, password.clone())
            .await
            .unwrap();
    }
    let login = |name: &str| {
        let body = json!({"account": name, "password": "correct horse battery"});
        let cw = &cw;
        async move { cw.expect(office, Method::POST, "/api/v1/login", Some(body), 200).await.unwrap() }
    };
    let root = office.as_user(login("root").await["token"].as_str().unwrap());
    let ada = office.as_user(login("ada").await["token"].as_str().unwrap());

    // A name of the config is taken, for the API too (one namespace).
    let clash = json!({"name": format!("im-{STUTTGART}"), "role": "team-lead", "password": "correct horse battery"});
    let refused = cw.call(&root, Method::POST, "/api/v1/accounts", Some(clash)).await.unwrap();
    assert_eq!(refused.1["type"], format!("{P}account-exists"), "{refused:?}");
    assert!(refused.1["detail"].as_str().unwrap().contains("one namespace"), "{refused:?}");

    // Ada is disabled by root: her session ends at once.
    let disabled = cw.expect(&root, Method::POST, "/api/v1/accounts/ada/disable", None, 200).await.unwrap();
    assert!(disabled["disabled_at"].is_string(), "{disabled}");
    assert_eq!(cw.call(&ada, Method::GET, "/api/v1/accounts", None).await.unwrap().0, 401);
    // Root is now the last enabled administrator: neither disabled nor deleted, not even by root.
    for (method, path) in [(Method::POST, "/api/v1/accounts/root/disable"), (Method::DELETE, "/api/v1/accounts/root")] {
        let last = cw.call(&root, method, path, None).await.unwrap();
        assert_eq!((last.0, last.1["type"].as_str().unwrap()), (409, &*format!("{P}last-administrator")), "{path}");
    }
    // Ada, disabled, may go; then root has a new password and logs in with it.
    cw.expect(&root, Method::POST, "/api/v1/accounts/ada/enable", None, 200).await.unwrap();
    let (status, _) = cw.call(&root, Method::DELETE, "/api/v1/accounts/ada", None).await.unwrap();
    assert_eq!(status, 204);
    let gone = cw.call(&root, Method::DELETE, "/api/v1/accounts/ada", None).await.unwrap();
    assert_eq!((gone.0, gone.1["type"].as_str().unwrap()), (404, &*format!("{P}not-found")));
    let listed = cw.expect(&root, Method::GET, "/api/v1/accounts", None, 200).await.unwrap();
    assert_eq!(listed.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect::<Vec<_>>(), ["root"]);
    let body = json!({"password": "staple battery horse"});
    let (status, _) = cw.call(&root, Method::POST, "/api/v1/accounts/root/password", Some(body)).await.unwrap();
    assert_eq!(status, 204);
    assert_eq!(cw.call(&root, Method::GET, "/api/v1/accounts", None).await.unwrap().0, 401, "its sessions ended");
    let old = json!({"account": "root", "password": "correct horse battery"});
    assert_eq!(cw.call(office, Method::POST, "/api/v1/login", Some(old)).await.unwrap().0, 401);
    let new = json!({"account": "root", "password": "staple battery horse"});
    cw.expect(office, Method::POST, "/api/v1/login", Some(new), 200).await.unwrap();
    federation.stop().await;
}
