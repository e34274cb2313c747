//! The admin console's widget and plugins pages: the widget's draft previewed by the real WebChat
//! render, saved through the plugin's validation and reaching a visitor page that is already open;
//! plugin settings as forms generated from each plugin's JSON Schema, the plugin's 422 at its field.
//! Over HTTP: the preview routes, the per-field 422 body and the `widget_config` frame.
//!
//! Browser tests print why and pass without Chromium, except in CI (`CI=true`).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_tests::TestServer;
use natter_tests::browser::{Artifacts, Browser, Chromedriver, HostPage, tools_or_skip};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// The launcher's background colour and the greeting's text on a page with the widget, or null until
/// the widget is there.
const VISITOR_WIDGET: &str = "const h = document.querySelector('natter-widget'); const r = h && h.shadowRoot; const b = r && r.querySelector('[data-testid=natter-launcher]'); const g = r && r.querySelector('[data-greeting]'); return b && b.getClientRects().length ? { color: getComputedStyle(b).backgroundColor, greeting: g ? g.textContent : '', count: document.querySelectorAll('natter-widget').length } : null;";

/// The same, inside the console's preview frame.
const PREVIEW_WIDGET: &str = "const f = document.querySelector('[data-testid=widget-preview]'); const d = f && f.contentDocument; const h = d && d.querySelector('natter-widget'); const r = h && h.shadowRoot; const b = r && r.querySelector('[data-testid=natter-launcher]'); const g = r && r.querySelector('[data-greeting]'); return b && b.getClientRects().length ? { color: getComputedStyle(b).backgroundColor, greeting: g ? g.textContent : '', open: !r.querySelector('[data-testid=natter-window]').hidden, src: f.getAttribute('src') } : null;";

/// Whether the page can be used at its width: nothing wider than the window.
const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth;";

/// Signs `browser` in as the admin and opens the admin page `section`.
async fn admin_page(server: &TestServer, browser: &Browser, email: &str, section: &str) {
    browser.goto(&server.url("/agent/login")).await.unwrap();
    retype(
        browser,
        "the email field",
        "[data-testid=login-email]",
        email,
    )
    .await;
    retype(
        browser,
        "the password field",
        "[data-testid=login-password]",
        PASSWORD,
    )
    .await;
    browser
        .click("the sign-in button", "[data-testid=login-submit]")
        .await;
    browser
        .wait_js(
            "the console opened after signing in",
            "return location.pathname.startsWith('/agent') && !location.pathname.startsWith('/agent/login');",
            vec![],
        )
        .await;
    browser
        .goto(&server.url(&format!("/agent/admin#/{section}")))
        .await
        .unwrap();
}

/// An agent `name@example.com` who signs in with [`PASSWORD`] and holds the admin role.
async fn make_admin(api: &natter_tests::Api, name: &str) {
    let id = api.create_agent_with_password(name, PASSWORD).await;
    let (status, body) = api
        .send(
            "PUT",
            &format!("/api/v1/agents/{id}/role"),
            Some(json!({"role": "admin"})),
        )
        .await
        .unwrap();
    assert!(status.is_success(), "{status} {body}");
}

/// Replaces the text of the control `css` by typing, as a person would.
async fn retype(browser: &Browser, what: &str, css: &str, text: &str) {
    let field = browser.wait_for(what, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test]
async fn an_admin_restyles_the_widget_and_the_open_visitor_page_follows() {
    let Some(tools) = tools_or_skip("admin_widget_restyle") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_widget_restyle").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    make_admin(&api, "root").await;
    let site = server.site_key().await;
    let host = HostPage::serve(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tea shop</title></head>
<body><h1>The tea shop</h1><p>Green, black and white tea.</p>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    ))
    .await
    .unwrap();

    // A visitor has the page open, with the widget in its default colour and greeting.
    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.goto(&host.url).await.unwrap();
    let before = visitor
        .wait_js("the widget shows", VISITOR_WIDGET, vec![])
        .await;
    assert_eq!(before["color"], "rgb(37, 99, 235)", "the default #2563eb");
    assert_eq!(before["greeting"], "Hi! How can we help?");
    // A mark on the page: it survives only if the page is never reloaded.
    visitor
        .js("window.__stillTheSamePage = true; return true;", vec![])
        .await
        .unwrap();
    visitor
        .element_from(
            "the launcher",
            "return document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-launcher]');",
            vec![],
        )
        .await
        .click()
        .await
        .unwrap();
    visitor.screenshot("widget-before").await.unwrap();

    // The admin opens the widget page: the form comes from the plugin's schema, the preview from its render.
    let admin = driver.browser("admin", &artifacts).await.unwrap();
    admin_page(&server, &admin, "root@example.com", "widget").await;
    admin
        .wait_for("the widget form", "[data-testid=widget-form]")
        .await;
    let shown = admin
        .wait_js(
            "the preview shows the widget in force, open",
            &("const p = (function () { ".to_owned()
                + PREVIEW_WIDGET
                + " })(); return p && p.open ? p : null;"),
            vec![],
        )
        .await;
    assert_eq!(shown["color"], "rgb(37, 99, 235)");
    let labelled = admin
        .js(
            "return Array.from(document.querySelectorAll('[data-testid=widget-form] input, [data-testid=widget-form] select, [data-testid=widget-form] textarea')).every(c => (c.id && document.querySelector('label[for=\"' + c.id + '\"]')) || c.getAttribute('aria-label'));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(labelled, true, "every control has a label");

    // A new colour and greeting show in the preview before anything is saved.
    retype(
        &admin,
        "the colour field",
        "[data-testid=field-color]",
        "#be123c",
    )
    .await;
    retype(
        &admin,
        "the greeting field",
        "[data-testid=field-greeting]",
        "Welcome to the tea shop! <b>Ask us</b>",
    )
    .await;
    admin
        .wait_js(
            "the preview shows the draft",
            &("const p = (function () { ".to_owned()
                + PREVIEW_WIDGET
                + " })(); return p && p.color === 'rgb(190, 18, 60)' && p.greeting === arguments[0];"),
            vec![json!("Welcome to the tea shop! <b>Ask us</b>")],
        )
        .await;
    admin.screenshot("preview-before-saving").await.unwrap();
    let stored = api.get("/api/v1/widget/config").await.unwrap();
    assert_eq!(stored["version"], 0, "the preview stores nothing: {stored}");
    let unchanged = visitor.js(VISITOR_WIDGET, vec![]).await.unwrap();
    assert_eq!(
        unchanged["color"], "rgb(37, 99, 235)",
        "visitors still see the saved widget"
    );

    // Saved: the visitor's open page follows without a reload, the conversation window still open.
    admin
        .click("the save button", "[data-testid=widget-save]")
        .await;
    admin
        .wait_js(
            "the page says it saved",
            "const s = document.querySelector('[data-testid=widget-status]'); return s && s.dataset.state === 'saved';",
            vec![],
        )
        .await;
    let after = visitor
        .wait_js(
            "the open page shows the new colour and greeting",
            &("const w = (function () { ".to_owned()
                + VISITOR_WIDGET
                + " })(); return w && w.color === 'rgb(190, 18, 60)' && w.greeting === arguments[0] && w.count === 1 ? w : null;"),
            vec![json!("Welcome to the tea shop! <b>Ask us</b>")],
        )
        .await;
    assert_eq!(after["count"], 1, "one widget on the page");
    let same_page = visitor
        .js(
            "const r = document.querySelector('natter-widget').shadowRoot; return { mark: window.__stillTheSamePage === true, open: !r.querySelector('[data-testid=natter-window]').hidden, bold: r.querySelectorAll('[data-greeting] b').length };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        same_page,
        json!({"mark": true, "open": true, "bold": 0}),
        "no reload; the greeting is text"
    );
    visitor.screenshot("widget-after-save").await.unwrap();
    admin.screenshot("saved").await.unwrap();
    let stored = api.get("/api/v1/widget/config").await.unwrap();
    assert_eq!(stored["stored"]["color"], "#be123c");
    assert_eq!(stored["version"], 1);

    // A wrong value: the plugin's message sits next to the field, and nothing is stored.
    retype(
        &admin,
        "the colour field",
        "[data-testid=field-color]",
        "blue",
    )
    .await;
    admin
        .click("the save button", "[data-testid=widget-save]")
        .await;
    let error = admin
        .wait_js(
            "the colour's error shows at the field",
            "const e = document.querySelector('[data-testid=field-error-color]'); const i = document.querySelector('[data-testid=field-color]'); const s = document.querySelector('[data-testid=widget-status]'); return e && !e.hidden && i.getAttribute('aria-invalid') === 'true' && s.dataset.state === 'error' && i.getAttribute('aria-describedby').includes(e.id) ? e.textContent : null;",
            vec![],
        )
        .await;
    assert!(
        error.as_str().unwrap().contains("#2563eb"),
        "the plugin's message: {error}"
    );
    admin.screenshot("wrong-colour").await.unwrap();
    assert_eq!(
        api.get("/api/v1/widget/config").await.unwrap()["version"],
        1
    );

    // At a tablet's width the page is one column and still fits.
    admin.resize(768, 1024).await.unwrap();
    admin.wait_js("the page fits 768 px", FITS, vec![]).await;
    admin.screenshot("widget-768").await.unwrap();

    admin.close().await.unwrap();
    visitor.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn plugin_settings_are_a_form_from_the_schema_with_the_plugins_errors_at_the_field() {
    let Some(tools) = tools_or_skip("admin_plugin_settings") else {
        return;
    };
    let artifacts = Artifacts::for_test("admin_plugin_settings").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    make_admin(&api, "root").await;
    let driver = Chromedriver::start(&tools).await.unwrap();
    let admin = driver.browser("admin", &artifacts).await.unwrap();
    admin_page(&server, &admin, "root@example.com", "plugins").await;

    // Every loaded plugin is listed with its kind, version and health.
    let listed = admin
        .wait_js(
            "the plugins are listed",
            "const cards = Array.from(document.querySelectorAll('[data-testid=plugin]')); return cards.length >= 3 ? cards.map(c => c.dataset.plugin) : null;",
            vec![],
        )
        .await;
    for name in ["webchat", "cobrowse", "webhooks"] {
        assert!(
            listed.as_array().unwrap().iter().any(|n| n == name),
            "{name} in {listed}"
        );
    }

    // The webhooks plugin's schema makes a select (enum), a number (integer), a checkbox (boolean) and
    // a JSON field (free-form object), each labelled with the schema's description as help.
    const FORM: &str = "[data-plugin=webhooks] form";
    admin.wait_for("the webhooks settings form", FORM).await;
    let controls = admin
        .js(
            "const f = document.querySelector(arguments[0]); const kind = t => { const c = f.querySelector('[data-testid=field-' + t + ']'); return c ? c.tagName.toLowerCase() + (c.type ? ':' + c.type : '') : null; };
             return { body: kind('message_body'), at: kind('truncate_at'), flat: kind('flat'), extra: kind('extra'),
                      options: Array.from(f.querySelectorAll('[data-testid=field-message_body] option')).map(o => o.value),
                      labelled: Array.from(f.querySelectorAll('input, select, textarea')).every(c => f.querySelector('label[for=\"' + c.id + '\"]')),
                      help: f.querySelector('[data-field=message_body] .field-help').textContent };",
            vec![json!(FORM)],
        )
        .await
        .unwrap();
    assert_eq!(controls["body"], "select:select-one", "{controls}");
    assert_eq!(controls["at"], "input:number", "{controls}");
    assert_eq!(controls["flat"], "input:checkbox", "{controls}");
    assert_eq!(controls["extra"], "textarea:textarea", "{controls}");
    assert_eq!(controls["options"], json!(["full", "omit", "truncate"]));
    assert_eq!(controls["labelled"], true);
    assert!(controls["help"].as_str().unwrap().contains("truncate"));
    // The co-browse plugin's list of selectors is a field of its own.
    admin
        .wait_for(
            "the co-browse selectors field",
            "[data-plugin=cobrowse] [data-testid=field-mask_selectors]",
        )
        .await;
    admin.screenshot("plugins").await.unwrap();

    // Out of range: the plugin refuses it, and says so at the field.
    let webhooks = |css: &str| format!("{FORM} {css}");
    admin
        .js(
            "const s = document.querySelector(arguments[0]); s.value = 'truncate'; s.dispatchEvent(new Event('input', { bubbles: true })); return true;",
            vec![json!(webhooks("[data-testid=field-message_body]"))],
        )
        .await
        .unwrap();
    retype(
        &admin,
        "the truncate field",
        &webhooks("[data-testid=field-truncate_at]"),
        "0",
    )
    .await;
    admin
        .click(
            "the save button",
            &webhooks("[data-testid=plugin-config-save]"),
        )
        .await;
    let error = admin
        .wait_js(
            "the plugin's error shows at truncate_at",
            "const e = document.querySelector(arguments[0]); return e && !e.hidden ? e.textContent : null;",
            vec![json!(webhooks("[data-testid=field-error-truncate_at]"))],
        )
        .await;
    assert!(error.as_str().unwrap().contains("1 to"), "{error}");
    admin.screenshot("plugin-error-at-field").await.unwrap();
    let config = api.get("/api/v1/plugins/webhooks/config").await.unwrap();
    assert_eq!(config["version"], 0, "nothing stored: {config}");

    // Fixed, it saves; only what the admin set is stored.
    retype(
        &admin,
        "the truncate field",
        &webhooks("[data-testid=field-truncate_at]"),
        "50",
    )
    .await;
    admin
        .click(
            "the save button",
            &webhooks("[data-testid=plugin-config-save]"),
        )
        .await;
    admin
        .wait_js(
            "the settings are saved",
            "const s = document.querySelector(arguments[0]); return s && s.dataset.state === 'saved';",
            vec![json!(webhooks("[data-testid=plugin-config-status]"))],
        )
        .await;
    let config = api.get("/api/v1/plugins/webhooks/config").await.unwrap();
    assert_eq!(
        config["stored"],
        json!({"message_body": "truncate", "truncate_at": 50})
    );

    admin.resize(768, 1024).await.unwrap();
    admin.wait_js("the page fits 768 px", FITS, vec![]).await;
    admin.screenshot("plugins-768").await.unwrap();
    admin.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn the_preview_renders_a_draft_without_storing_it_and_names_bad_fields() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let draft = json!({"color": "#be123c", "greeting": "</script><b>hi</b>"}).to_string();
    let encoded: String = url::form_urlencoded::byte_serialize(draft.as_bytes()).collect();

    let (status, script) = api
        .send(
            "GET",
            &format!("/api/v1/widget/preview?config={encoded}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let script = script.as_str().unwrap();
    assert!(script.contains("#be123c"));
    assert!(!script.contains("</script>"), "text stays text");
    assert!(script.contains(r#""site_key":"""#), "rendered for no site");
    assert_eq!(
        api.get("/api/v1/widget/config").await.unwrap()["version"],
        0
    );

    // Every bad field is named, each with its message.
    let bad = json!({"color": "blue", "position": "top"}).to_string();
    let encoded: String = url::form_urlencoded::byte_serialize(bad.as_bytes()).collect();
    let (status, body) = api
        .send(
            "GET",
            &format!("/api/v1/widget/preview?config={encoded}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["field"], "color");
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["color", "position"], "{body}");
    let (status, body) = api
        .send("GET", "/api/v1/widget/preview?config=%5B1%5D", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "config");

    // The same body from the saving route, and from an integration plugin's.
    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"color": "blue", "title": ""})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"][1]["field"], "title", "{body}");
    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/plugins/webhooks/config",
            Some(json!({"truncate_at": 0})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["fields"],
        json!([{"field": "truncate_at", "message": body["error"]["fields"][0]["message"]}])
    );

    // Without a token the preview script is refused; the sample page has its own policy.
    let anonymous = reqwest::get(server.url("/api/v1/widget/preview"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let page = reqwest::get(server.url(&format!(
        "/agent/admin/preview?config={}",
        "%7B%22color%22%3A%22%23be123c%22%7D%22%3E%3Cscript%3E"
    )))
    .await
    .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("\"><script>"),
        "the draft cannot leave the attribute"
    );
    assert!(html.contains(r#"<script src="/api/v1/widget/preview?config=%7B%22color%22"#));
    server.stop().await;
}

#[tokio::test]
async fn a_saved_configuration_tells_every_open_widget() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let (mut first, _) = server.visitor(&site, None, None).await;
    let (mut second, _) = server.visitor(&site, None, None).await;
    let saved = api
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"color": "#0f766e"})),
        )
        .await
        .unwrap();
    assert_eq!(saved.0, StatusCode::OK);
    for ws in [&mut first, &mut second] {
        let frame: Value = ws.expect("widget_config").await;
        assert_eq!(frame, json!({"type": "widget_config", "version": 1}));
    }
    // The script those widgets load next is the new one.
    let script = reqwest::get(server.url(&format!("/widget.js?site={site}&v=1")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(script.contains("#0f766e"));
    first.close().await;
    second.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_stored_change_restyles_an_open_widget_in_place() {
    let Some(tools) = tools_or_skip("widget_restyled_in_place") else {
        return;
    };
    let artifacts = Artifacts::for_test("widget_restyled_in_place").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let host = HostPage::serve(format!(
        r#"<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Teeladen</title></head>
<body><h1>Der Teeladen</h1>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    ))
    .await
    .unwrap();
    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.goto(&host.url).await.unwrap();
    visitor
        .wait_js("the widget shows", VISITOR_WIDGET, vec![])
        .await;
    visitor
        .js("window.__stillTheSamePage = true; return true;", vec![])
        .await
        .unwrap();
    // The visitor opened the window and started typing.
    visitor
        .element_from(
            "the launcher",
            "return document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-launcher]');",
            vec![],
        )
        .await
        .click()
        .await
        .unwrap();
    visitor
        .element_from(
            "the input",
            "return document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-input]');",
            vec![],
        )
        .await
        .send_keys("Half a sentence")
        .await
        .unwrap();

    // Texts for German visitors and a new colour, stored over REST while the page is open.
    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"color": "#be123c", "greeting": "Hello!",
                "translations": {"de": {"greeting": "Servus!"}}})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = visitor
        .wait_js(
            "the open page shows the new colour",
            &("const w = (function () { ".to_owned()
                + VISITOR_WIDGET
                + " })(); return w && w.color === 'rgb(190, 18, 60)' && w.count === 1 ? w : null;"),
            vec![],
        )
        .await;
    // Chromium's language here is English: the main texts.
    assert_eq!(after["greeting"], "Hello!");
    let state = visitor
        .js(
            "const r = document.querySelector('natter-widget').shadowRoot; return { mark: window.__stillTheSamePage === true, open: !r.querySelector('[data-testid=natter-window]').hidden, draft: r.querySelector('[data-testid=natter-input]').value };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        state,
        json!({"mark": true, "open": true, "draft": "Half a sentence"}),
        "same page, window still open, the typing kept"
    );
    visitor.screenshot("restyled-in-place").await.unwrap();

    // `&lang=de` on the script chooses the German texts.
    let german = HostPage::serve(format!(
        r#"<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Teeladen</title></head>
<body><script src="{}/widget.js?site={site}&lang=de" async></script></body></html>"#,
        server.base
    ))
    .await
    .unwrap();
    visitor.goto(&german.url).await.unwrap();
    visitor
        .wait_js(
            "the German greeting shows",
            &("const w = (function () { ".to_owned()
                + VISITOR_WIDGET
                + " })(); return w && w.greeting === 'Servus!';"),
            vec![],
        )
        .await;
    visitor.close().await.unwrap();
    server.stop().await;
}
