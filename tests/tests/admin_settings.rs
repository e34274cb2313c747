//! The admin console's settings pages in a real browser, as an admin uses them: WebHooks (add an
//! endpoint pointing at a real receiver, see a conversation's delivery, redeliver it), API tokens
//! (shown once, working, revoked), agents and roles (a plain agent sees no admin page and gets 403),
//! the mail log with a test mail through a real SMTP server, and the audit log of all of it.
//! Screenshots of each step go to `test-artifacts/<test>/`.
//!
//! Without Chromium these tests print why and pass, except in CI (`CI=true`), where they fail.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use fantoccini::Locator;
use natter_tests::browser::{Artifacts, Browser, Chromedriver, tools_or_skip};
use natter_tests::receiver::Receiver;
use natter_tests::smtp::SmtpSink;
use natter_tests::{Api, DataDir, TestServer, WAIT, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const DELIVERY_WAIT: Duration = Duration::from_secs(20);
/// A name an admin might type that would run if it were ever parsed as HTML.
const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\">CRM";

async fn server() -> TestServer {
    TestServer::start_with(&DataDir::new(), |c| {
        c.delivery.allow_private_targets = true;
        c.delivery.backoff_base_ms = 20;
        c.delivery.backoff_cap_ms = 200;
        c.delivery.poll_interval_ms = 20;
        c.delivery.request_timeout_seconds = 5;
    })
    .await
}

/// An admin `ada@example.com` signed in to the console in a new browser, on `section`.
async fn admin_on(
    server: &TestServer,
    driver: &Chromedriver,
    artifacts: &Artifacts,
    section: &str,
) -> Browser {
    let browser = driver.browser("admin", artifacts).await.unwrap();
    sign_in_to(server, &browser, "ada@example.com").await;
    open_section(server, &browser, section).await;
    browser
}

async fn sign_in_to(server: &TestServer, browser: &Browser, email: &str) {
    browser.goto(&server.url("/agent/login")).await.unwrap();
    browser.sign_in(email, PASSWORD).await;
    browser
        .wait_for("the console after signing in", "[data-testid=connection]")
        .await;
}

/// Opens `/agent/admin#/<section>` and waits until the section's module rendered its heading.
async fn open_section(server: &TestServer, browser: &Browser, section: &str) {
    browser
        .goto(&server.url(&format!("/agent/admin#/{section}")))
        .await
        .unwrap();
    browser
        .wait_js(
            &format!("the {section} section is shown"),
            "const m = document.querySelector('[data-testid=admin-main]'); return m && m.dataset.section === arguments[0] && m.querySelector('#section-title') !== null;",
            vec![json!(section)],
        )
        .await;
}

/// Loads the page again (a fresh document, as after closing and reopening the tab) on `section`.
async fn reload(browser: &Browser, section: &str) {
    browser.client.refresh().await.unwrap();
    browser
        .wait_js(
            &format!("the {section} section is shown again"),
            "const m = document.querySelector('[data-testid=admin-main]'); return m && m.dataset.section === arguments[0] && m.querySelector('#section-title') !== null;",
            vec![json!(section)],
        )
        .await;
}

/// Types into the field matching `css` (emptied first).
async fn type_into(browser: &Browser, what: &str, css: &str, text: &str) {
    let field = browser.wait_for(what, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks "yes" in the confirm dialog.
async fn confirm(browser: &Browser) {
    browser
        .wait_for("the confirm dialog", "dialog[open][data-testid=confirm]")
        .await;
    browser
        .click(
            "the confirm button",
            "dialog[open] [data-testid=confirm-yes]",
        )
        .await;
}

/// The value of the secret shown once in the box `testid`.
async fn shown_secret(browser: &Browser, testid: &str) -> String {
    let value = browser
        .wait_js(
            "the secret is shown once",
            "const i = document.querySelector('[data-testid=' + arguments[0] + '-value]'); return i && i.value;",
            vec![json!(testid)],
        )
        .await;
    value.as_str().unwrap().to_string()
}

/// The page fits a window `width` pixels wide: nothing but tables scrolls sideways.
async fn fits(browser: &Browser, width: u32) {
    browser.resize(width, 900).await.unwrap();
    browser
        .wait_js(
            &format!("the page fits {width} px"),
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await;
}

/// No script from an admin-typed text ran, and no element was made from one.
async fn nothing_ran(browser: &Browser) {
    let checks = browser
        .js(
            "return { pwned: typeof window.__pwned, imgs: document.querySelectorAll('main img').length };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(checks["pwned"], "undefined", "{checks}");
    assert_eq!(checks["imgs"], 0, "{checks}");
}

#[tokio::test]
async fn an_admin_adds_a_webhook_sees_a_conversations_delivery_and_redelivers_it() {
    let Some(tools) = tools_or_skip("admin_webhooks") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_webhooks").unwrap();
    let server = server().await;
    let api = server.admin().await;
    api.create_admin_with_password("ada", PASSWORD).await;
    let receiver = Receiver::start().await;
    let driver = Chromedriver::start(&tools).await.unwrap();
    let admin = admin_on(&server, &driver, &artifacts, "webhooks").await;
    admin
        .wait_for("the empty endpoint list", "[data-testid=webhook-empty]")
        .await;
    admin.screenshot("no-endpoints").await.unwrap();

    // Add an endpoint for the receiver, for two events, with the keyboard-reachable form.
    type_into(
        &admin,
        "the URL field",
        "[data-testid=webhook-url]",
        &receiver.url,
    )
    .await;
    for event in ["conversation.started", "message.created"] {
        admin
            .click(
                &format!("the {event} box"),
                &format!("[data-testid=webhook-form] [data-testid='webhook-events-{event}']"),
            )
            .await;
    }
    admin.screenshot("endpoint-filled-in").await.unwrap();
    admin
        .click("add endpoint", "[data-testid=webhook-add]")
        .await;
    let secret = shown_secret(&admin, "webhook-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.set_secret(&secret);
    admin
        .click("the copy button", "[data-testid=webhook-secret-copy]")
        .await;
    admin
        .wait_js(
            "the copy button says what happened",
            "return document.querySelector('[data-testid=webhook-secret-copied]').textContent !== '';",
            vec![],
        )
        .await;
    admin
        .wait_js(
            "the endpoint is listed",
            "return Array.from(document.querySelectorAll('[data-testid=webhook-row-url]')).some(n => n.textContent === arguments[0]);",
            vec![json!(receiver.url)],
        )
        .await;
    admin
        .screenshot("endpoint-added-secret-once")
        .await
        .unwrap();
    let listed = api.get("/api/v1/webhooks").await.unwrap();
    assert_eq!(listed[0]["url"], receiver.url.as_str());
    assert_eq!(
        listed[0]["events"],
        json!(["conversation.started", "message.created"])
    );
    let endpoint = listed[0]["id"].as_str().unwrap().to_string();

    // The secret is shown once: after a reload it is nowhere on the page.
    reload(&admin, "webhooks").await;
    admin
        .wait_for("the endpoint row", "[data-testid=webhook-row]")
        .await;
    let page_has_secret = admin
        .js(
            "return document.documentElement.outerHTML.includes(arguments[0]) || Array.from(document.querySelectorAll('input')).some(i => i.value === arguments[0]);",
            vec![json!(secret)],
        )
        .await
        .unwrap();
    assert_eq!(page_has_secret, false);

    // A visitor starts a conversation: the receiver gets both events, signed with that secret.
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "v-1", "body": "Is my order on its way?"}))
        .await;
    visitor.expect("ack").await;
    let got = receiver
        .wait_for("both events arrive", DELIVERY_WAIT, |r| r.len() == 2)
        .await;
    assert!(
        got.iter().all(|r| r.verified),
        "signed with the shown secret"
    );
    let message = got
        .iter()
        .find(|r| r.event_type() == "message.created")
        .unwrap()
        .clone();

    // The delivery log shows the delivery and its attempt.
    admin
        .click("manage the endpoint", "[data-testid=webhook-manage]")
        .await;
    let delivered = format!(
        "[data-testid=delivery][data-event-id='{}'][data-state=delivered]",
        message.id
    );
    admin
        .wait_js(
            "the delivery is in the log, delivered with one 200 attempt",
            "const d = document.querySelector(arguments[0]);
             if (!d) { const r = document.querySelector('[data-testid=delivery-refresh]'); if (r) r.click(); return false; }
             const s = Array.from(d.querySelectorAll('[data-testid=attempt-status]')).map(n => n.textContent);
             return s.length === 1 && s[0] === '200';",
            vec![json!(delivered)],
        )
        .await;
    admin.screenshot("delivery-log").await.unwrap();

    // Redeliver: the receiver gets the same event again, with the same webhook-id.
    admin
        .click(
            "redeliver",
            &format!("{delivered} [data-testid=delivery-redeliver]"),
        )
        .await;
    let id = message.id.clone();
    wait_until("the receiver gets the event twice", DELIVERY_WAIT, || {
        let twice = receiver.received().iter().filter(|r| r.id == id).count() == 2;
        async move { twice }
    })
    .await;
    let copies: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.id == message.id)
        .collect();
    assert_eq!(
        copies[1].raw, copies[0].raw,
        "the same event, byte for byte"
    );
    assert!(copies[1].verified);
    admin
        .wait_js(
            "the log shows the second attempt",
            "const d = document.querySelector(arguments[0]); return d && d.querySelectorAll('[data-testid=delivery-attempt]').length === 2;",
            vec![json!(delivered)],
        )
        .await;
    admin.screenshot("redelivered").await.unwrap();
    let log = api
        .get(&format!("/api/v1/webhooks/{endpoint}/deliveries"))
        .await
        .unwrap();
    let entry = log
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event_id"] == message.id.as_str())
        .unwrap();
    assert_eq!(entry["attempts"].as_array().unwrap().len(), 2);

    // Edit: only conversation.started from now on, then disable.
    admin
        .click(
            "untick message.created",
            "[data-testid=webhook-edit-events] [data-testid='webhook-edit-events-message.created']",
        )
        .await;
    admin
        .click("untick enabled", "[data-testid=webhook-edit-enabled]")
        .await;
    admin.click("save", "[data-testid=webhook-save]").await;
    let path = format!("/api/v1/webhooks/{endpoint}");
    wait_until("the change is saved", WAIT, || {
        let api = api.clone();
        let path = path.clone();
        async move {
            api.get(&path).await.is_ok_and(|e| {
                e["events"] == json!(["conversation.started"]) && e["enabled"] == false
            })
        }
    })
    .await;

    // Rotate the secret (asked first, then shown once); the new one differs.
    admin
        .click("rotate secret", "[data-testid=webhook-rotate]")
        .await;
    confirm(&admin).await;
    let rotated = admin
        .wait_js(
            "the new secret is shown",
            "const i = document.querySelector('[data-testid=webhook-secret-value]'); return i && i.value !== arguments[0] && i.value;",
            vec![json!(secret)],
        )
        .await;
    assert!(rotated.as_str().unwrap().starts_with("whsec_"));
    admin.screenshot("secret-rotated").await.unwrap();

    // Usable at a tablet's width.
    fits(&admin, 768).await;
    admin.screenshot("at-768px").await.unwrap();
    fits(&admin, 1280).await;

    // Delete, after confirming.
    admin
        .click("delete the endpoint", "[data-testid=webhook-delete]")
        .await;
    confirm(&admin).await;
    admin
        .wait_for("the list is empty again", "[data-testid=webhook-empty]")
        .await;
    assert_eq!(api.get("/api/v1/webhooks").await.unwrap(), json!([]));
    admin.screenshot("deleted").await.unwrap();

    admin.close().await.unwrap();
    visitor.close().await;
    server.stop().await;
}

#[tokio::test]
async fn an_admin_creates_a_token_that_works_revokes_it_and_the_audit_log_shows_who() {
    let Some(tools) = tools_or_skip("admin_tokens_audit") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_tokens_audit").unwrap();
    let server = server().await;
    let api = server.admin().await;
    api.create_admin_with_password("ada", PASSWORD).await;
    let driver = Chromedriver::start(&tools).await.unwrap();
    let admin = admin_on(&server, &driver, &artifacts, "tokens").await;

    // Create a token with two scopes; a name that looks like markup stays text.
    type_into(
        &admin,
        "the name field",
        "[data-testid=token-name]",
        HOSTILE,
    )
    .await;
    for scope in ["webhooks:read", "webhooks:write"] {
        admin
            .click(
                &format!("the {scope} box"),
                &format!("[data-testid='token-scopes-{scope}']"),
            )
            .await;
    }
    admin.screenshot("token-filled-in").await.unwrap();
    admin
        .click("create token", "[data-testid=token-create]")
        .await;
    let token = shown_secret(&admin, "token-secret").await;
    assert!(token.starts_with("ntr_"), "{token}");
    admin
        .wait_js(
            "the token is listed by its name, as text",
            "return Array.from(document.querySelectorAll('[data-testid=token-row-name]')).some(n => n.textContent === arguments[0]);",
            vec![json!(HOSTILE)],
        )
        .await;
    nothing_ran(&admin).await;
    admin.screenshot("token-shown-once").await.unwrap();

    // It works against the API, within its scopes, and its change is recorded as the token's.
    let scoped = api.with_token(&token);
    scoped
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://crm.example.com/hook", "events": ["message.created"]}),
        )
        .await
        .unwrap();
    let (status, _) = scoped
        .send("GET", "/api/v1/auth/tokens", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "only its scopes");

    // After a reload the secret is gone from the page.
    reload(&admin, "tokens").await;
    admin
        .wait_for("the token rows", "[data-testid=token-row]")
        .await;
    let page_has_secret = admin
        .js(
            "return document.documentElement.outerHTML.includes(arguments[0]) || Array.from(document.querySelectorAll('input')).some(i => i.value === arguments[0]);",
            vec![json!(token)],
        )
        .await
        .unwrap();
    assert_eq!(page_has_secret, false);

    // Revoke, after confirming: the API answers 401 from then on.
    let created = api.get("/api/v1/auth/tokens").await.unwrap();
    let id = created
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == HOSTILE)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let row = format!("[data-testid=token-row][data-id='{id}']");
    admin
        .click("revoke", &format!("{row} [data-testid=token-revoke]"))
        .await;
    confirm(&admin).await;
    admin
        .wait_for(
            "the token shows revoked",
            &format!("{row}[data-state=revoked]"),
        )
        .await;
    admin.screenshot("token-revoked").await.unwrap();
    let (status, body) = scoped.send("GET", "/api/v1/webhooks", None).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    fits(&admin, 768).await;
    admin.screenshot("tokens-at-768px").await.unwrap();
    fits(&admin, 1280).await;

    // The audit log lists the three changes, newest first, with who made each.
    open_section(&server, &admin, "audit").await;
    let rows = admin
        .wait_js(
            "the audit log lists the changes",
            "const rows = Array.from(document.querySelectorAll('[data-testid=audit-row]'));
             return rows.length >= 3 && rows.map(r => [r.querySelector('[data-testid=audit-action]').textContent, r.dataset.actorKind, r.querySelector('[data-testid=audit-who-label]').textContent]);",
            vec![],
        )
        .await;
    let rows: Vec<(String, String, String)> = serde_json::from_value(rows).unwrap();
    let position = |action: &str, kind: &str, who: &str| {
        rows.iter()
            .position(|(a, k, w)| a == action && k == kind && w == who)
            .unwrap_or_else(|| panic!("{action} by {kind} {who} in {rows:?}"))
    };
    let revoked = position(
        "DELETE /api/v1/auth/tokens/{id}",
        "agent",
        "ada@example.com",
    );
    let by_token = position("POST /api/v1/webhooks", "token", HOSTILE);
    let made = position("POST /api/v1/auth/token", "agent", "ada@example.com");
    assert!(
        revoked < by_token && by_token < made,
        "newest first: {rows:?}"
    );
    nothing_ran(&admin).await;
    admin.screenshot("audit-log").await.unwrap();

    admin.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn the_audit_log_pages_back_with_the_older_button() {
    let Some(tools) = tools_or_skip("admin_audit_pages") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_audit_pages").unwrap();
    let server = server().await;
    let api = server.admin().await;
    api.create_admin_with_password("ada", PASSWORD).await;
    // 60 changes: more than one page of 50.
    for n in 0..60 {
        api.post(
            "/api/v1/webhooks",
            json!({"url": format!("https://crm.example.com/hook/{n}"), "events": ["message.created"]}),
        )
        .await
        .unwrap();
    }
    let driver = Chromedriver::start(&tools).await.unwrap();
    let admin = admin_on(&server, &driver, &artifacts, "audit").await;
    let count = "return document.querySelectorAll('[data-testid=audit-row]').length;";
    admin
        .wait_js(
            "the first page of 50",
            "return document.querySelectorAll('[data-testid=audit-row]').length === 50;",
            vec![],
        )
        .await;
    admin.click("older", "[data-testid=audit-older]").await;
    admin
        .wait_js(
            "the older entries follow",
            "return document.querySelectorAll('[data-testid=audit-row]').length > 50;",
            vec![],
        )
        .await;
    let total = admin.js(count, vec![]).await.unwrap();
    let all = api.get("/api/v1/audit?limit=200").await.unwrap();
    assert_eq!(
        total,
        json!(all.as_array().unwrap().len()),
        "every entry once"
    );
    let ids = admin
        .js(
            "return Array.from(document.querySelectorAll('[data-testid=audit-row]')).map(r => r.dataset.id);",
            vec![],
        )
        .await
        .unwrap();
    let expected: Vec<Value> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, json!(expected), "newest first, in the server's order");
    admin.screenshot("older-page").await.unwrap();
    admin.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_admin_adds_an_agent_who_sees_no_admin_pages_until_made_admin() {
    let Some(tools) = tools_or_skip("admin_agents_roles") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_agents_roles").unwrap();
    let server = server().await;
    let api = server.admin().await;
    api.create_admin_with_password("ada", PASSWORD).await;
    let driver = Chromedriver::start(&tools).await.unwrap();
    let admin = admin_on(&server, &driver, &artifacts, "agents").await;

    // Add Bob as a plain agent with a password, from the form.
    type_into(
        &admin,
        "the name field",
        "[data-testid=agent-form-name]",
        "Bob",
    )
    .await;
    type_into(
        &admin,
        "the email field",
        "[data-testid=agent-email]",
        "bob@example.com",
    )
    .await;
    type_into(
        &admin,
        "the password field",
        "[data-testid=agent-password]",
        PASSWORD,
    )
    .await;
    admin.screenshot("agent-filled-in").await.unwrap();
    admin.click("add agent", "[data-testid=agent-create]").await;
    admin
        .wait_js(
            "Bob is listed as an agent",
            "return Array.from(document.querySelectorAll('[data-testid=agent-row]')).some(r => r.querySelector('[data-testid=agent-row-name]').textContent === 'Bob' && r.dataset.role === 'agent');",
            vec![],
        )
        .await;
    admin.screenshot("agent-added").await.unwrap();
    let agents = api.get("/api/v1/agents").await.unwrap();
    let bob = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "bob@example.com")
        .unwrap()
        .clone();
    assert_eq!(bob["role"], "agent");
    let bob_id = bob["id"].as_str().unwrap().to_string();

    // Bob signs in: no admin link; /agent/admin shows no sections; an admin route answers 403.
    let plain = driver.browser("bob", &artifacts).await.unwrap();
    sign_in_to(&server, &plain, "bob@example.com").await;
    plain
        .wait_js(
            "the console knows Bob",
            "return document.querySelector('[data-testid=agent-name]').textContent === 'Bob';",
            vec![],
        )
        .await;
    let link_shown = plain
        .js(
            "const a = document.querySelector('[data-testid=admin-link]'); return a !== null && !a.hidden && a.offsetParent !== null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(link_shown, false, "no admin link for a plain agent");
    plain.screenshot("plain-agent-console").await.unwrap();
    plain
        .goto(&server.url("/agent/admin#/webhooks"))
        .await
        .unwrap();
    plain
        .wait_for("the admin-role notice", "[data-testid=not-admin]")
        .await;
    let sections = plain
        .js(
            "const n = document.querySelector('[data-testid=admin-nav]'); return { navShown: n !== null && !n.hidden, settings: document.querySelectorAll('#section-title').length };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(sections, json!({"navShown": false, "settings": 0}));
    let answers = plain
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/v1/webhooks', {credentials: 'same-origin'}).then(g => g.json().then(b =>
               fetch('/api/v1/auth/token', {method: 'POST', credentials: 'same-origin',
                 headers: {'content-type': 'application/json', 'x-natter-console': '1'},
                 body: JSON.stringify({name: 'mine', scopes: ['admin']})})
               .then(p => done([g.status, b.error.code, p.status]))));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(answers, json!([403, "forbidden", 403]));
    assert_eq!(
        api.get("/api/v1/auth/tokens")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1,
        "Bob made no token"
    );
    plain.screenshot("plain-agent-admin-page").await.unwrap();

    // Ada makes Bob an admin (asked first); Bob's console then shows the link and the pages.
    admin
        .click(
            "make Bob an admin",
            &format!("[data-testid=agent-row][data-id='{bob_id}'] [data-testid=agent-role-change]"),
        )
        .await;
    confirm(&admin).await;
    admin
        .wait_for(
            "Bob is an admin",
            &format!("[data-testid=agent-row][data-id='{bob_id}'][data-role=admin]"),
        )
        .await;
    assert_eq!(
        api.get(&format!("/api/v1/agents/{bob_id}")).await.unwrap()["role"],
        "admin"
    );
    fits(&admin, 768).await;
    admin.screenshot("agents-at-768px").await.unwrap();
    plain.goto(&server.url("/agent/")).await.unwrap();
    plain
        .wait_js(
            "Bob's console shows the admin link",
            "const a = document.querySelector('[data-testid=admin-link]'); return a !== null && !a.hidden;",
            vec![],
        )
        .await;
    open_section(&server, &plain, "agents").await;
    plain.screenshot("bob-as-admin").await.unwrap();

    plain.close().await.unwrap();
    admin.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_admin_sends_a_test_mail_and_sees_it_in_the_mail_log() {
    let Some(tools) = tools_or_skip("admin_mail") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_mail").unwrap();
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let server = TestServer::start_with(&DataDir::new(), |c| {
        c.mail.smtp_url = url;
        c.mail.from = "Natter <chat@natter.test>".into();
        c.mail.offline_inbox = "inbox@natter.test".into();
        c.delivery.backoff_base_ms = 20;
        c.delivery.backoff_cap_ms = 200;
        c.delivery.poll_interval_ms = 20;
    })
    .await;
    let api: Api = server.admin().await;
    api.create_admin_with_password("ada", PASSWORD).await;
    let driver = Chromedriver::start(&tools).await.unwrap();
    let admin = admin_on(&server, &driver, &artifacts, "mail").await;
    admin
        .wait_for("the empty mail log", "[data-testid=mail-empty]")
        .await;

    // A bad address is named at its field; nothing is queued.
    type_into(
        &admin,
        "the address",
        "[data-testid=mail-test-to]",
        "ops@example.org, x@example.org",
    )
    .await;
    admin.click("send", "[data-testid=mail-test-send]").await;
    admin
        .wait_for(
            "the error at the field",
            "[data-testid=mail-test-to-error]:not([hidden])",
        )
        .await;
    admin.screenshot("bad-address").await.unwrap();

    type_into(
        &admin,
        "the address",
        "[data-testid=mail-test-to]",
        "ops@example.org",
    )
    .await;
    admin.click("send", "[data-testid=mail-test-send]").await;
    let mails = sink.wait_for("the test mail arrives", 1).await;
    assert_eq!(mails[0].rcpt_tos, ["ops@example.org"]);
    admin
        .wait_for(
            "the log shows the test mail sent",
            "[data-testid=mail-row][data-kind=test][data-state=sent]",
        )
        .await;
    admin
        .click(
            "show its attempts",
            "[data-testid=mail-row][data-kind=test] [data-testid=mail-attempts-toggle]",
        )
        .await;
    admin
        .wait_js(
            "the attempt with the SMTP code",
            "const c = document.querySelector('[data-testid=mail-attempt-code]'); return c && c.textContent === '250' && document.querySelector('[data-testid=mail-attempt-outcome]').textContent === 'sent';",
            vec![],
        )
        .await;
    admin.screenshot("test-mail-logged").await.unwrap();
    fits(&admin, 768).await;
    admin.screenshot("mail-at-768px").await.unwrap();
    let focusable = admin
        .client
        .find(Locator::Css("[data-testid=mail-attempts-toggle]"))
        .await
        .unwrap();
    assert_eq!(
        focusable.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    admin.close().await.unwrap();
    server.stop().await;
}
