//! Browser end-to-end tests: Debian's headless Chromium (through chromedriver) against the real
//! server on a free port. Screenshots of each step go to `test-artifacts/<test>/`.
//!
//! Without Chromium these tests print why and pass, except in CI (`CI=true`), where they fail.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use fantoccini::key::Key;
use natter_tests::browser::{Artifacts, Chromedriver, HostPage, tools_or_skip};
use natter_tests::{Api, TestServer, WAIT, Ws, wait_until};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>window.__pwned=1</script><b>bold</b>";

/// A visitor who has written `first`, and the conversation that opened.
async fn visitor_writes(server: &TestServer, first: &str) -> (Ws, String, Value) {
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "v-1", "body": first}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let api = server.admin().await;
    let conversation = api
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap()["conversation"]
        .clone();
    (visitor, conversation_id, conversation)
}

/// Whether the console shows a message whose text is exactly `arguments[0]`.
const CONSOLE_HAS_MESSAGE: &str = "return Array.from(document.querySelectorAll('[data-testid=message-body]')).some(n => n.textContent === arguments[0]);";

/// The text of the message bodies in the console, in order.
const MESSAGE_TEXTS: &str = "return Array.from(document.querySelectorAll('[data-testid=message-body]')).map(n => n.textContent);";

#[tokio::test]
async fn the_console_opened_through_an_agent_chat_url_shows_the_visitor_and_replies() {
    let Some(tools) = tools_or_skip("console_through_agent_chat_url") else {
        return;
    };
    let artifacts = Artifacts::for_test("console_through_agent_chat_url").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let (mut visitor, conversation_id, conversation) =
        visitor_writes(&server, "Hello, my parcel has not arrived").await;
    let agent_id = api.create_agent("ada").await;
    let link = api
        .post(
            &format!("/api/v1/agents/{agent_id}/chat-links"),
            json!({"customerId": conversation["customer_id"]}),
        )
        .await
        .unwrap();

    let driver = Chromedriver::start(&tools).await.unwrap();
    let agent = driver.browser("agent", &artifacts).await.unwrap();
    agent.goto(link["url"].as_str().unwrap()).await.unwrap();
    agent
        .wait_js(
            "the console shows the visitor's first message",
            CONSOLE_HAS_MESSAGE,
            vec![json!("Hello, my parcel has not arrived")],
        )
        .await;
    let url = agent.current_url().await.unwrap();
    assert!(
        url.ends_with(&format!("/agent/#conversation={conversation_id}")),
        "landed in the conversation: {url}"
    );
    // Opening the link took the conversation from the queue: it is the agent's now, on screen and
    // over REST.
    agent
        .wait_js(
            "the conversation is listed as assigned to the agent and selected",
            "const b = document.querySelector('[data-testid=list-mine] [data-testid=conversation-item][data-conversation-id=\"' + arguments[0] + '\"]'); return b && b.getAttribute('aria-current') === 'true' && document.querySelector('[data-testid=conversation-assignee]').textContent === 'Assigned to you';",
            vec![json!(conversation_id)],
        )
        .await;
    let rest = api
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap();
    assert_eq!(
        rest["conversation"]["assignee_id"].as_str(),
        Some(agent_id.as_str())
    );
    agent
        .wait_js(
            "the socket is connected",
            "return document.querySelector('[data-testid=connection]').dataset.state === 'connected';",
            vec![],
        )
        .await;
    agent.screenshot("arrived-through-link").await.unwrap();

    // A hostile message is text, not markup: no script ran, no element was made from it.
    visitor
        .send(json!({"type": "message", "client_id": "v-2", "body": HOSTILE}))
        .await;
    visitor.expect("ack").await;
    agent
        .wait_js(
            "the hostile message shows",
            CONSOLE_HAS_MESSAGE,
            vec![json!(HOSTILE)],
        )
        .await;
    let checks = agent
        .js(
            "const log = document.querySelector('[data-testid=messages]');
             const body = Array.from(log.querySelectorAll('[data-testid=message-body]')).find(n => n.textContent.includes('<script>'));
             return { pwned: typeof window.__pwned, text: body.textContent,
                      bold: log.querySelectorAll('b').length, scripts: log.querySelectorAll('script').length };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(checks["pwned"], "undefined", "{checks}");
    assert!(
        checks["text"].as_str().unwrap().contains("<script>"),
        "{checks}"
    );
    assert_eq!(checks["bold"], 0, "{checks}");
    assert_eq!(checks["scripts"], 0, "{checks}");
    agent.screenshot("hostile-message-as-text").await.unwrap();

    // The agent replies with Enter; the visitor's socket gets it; the console marks it stored.
    let input = agent
        .wait_for("the reply box", "[data-testid=reply-input]")
        .await;
    input.send_keys("We are on it, one moment").await.unwrap();
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    let reply = visitor.expect_message("We are on it, one moment").await;
    assert_eq!(reply["author"]["kind"], "agent");
    assert_eq!(reply["author"]["name"], "ada");
    agent
        .wait_js(
            "the reply is shown as stored",
            "const n = Array.from(document.querySelectorAll('[data-testid=message]')).find(n => n.textContent.includes(arguments[0])); return n && n.dataset.status === 'sent' && n.dataset.seq === arguments[1];",
            vec![json!("We are on it, one moment"), json!(reply["seq"].to_string())],
        )
        .await;
    let texts = agent.js(MESSAGE_TEXTS, vec![]).await.unwrap();
    assert_eq!(
        texts,
        json!([
            "Hello, my parcel has not arrived",
            HOSTILE,
            "We are on it, one moment"
        ])
    );

    // Shift+Enter makes a new line instead of sending; Enter then sends both lines.
    input.send_keys("Line one").await.unwrap();
    input
        .send_keys(&format!("{}{}{}", Key::Shift, Key::Enter, Key::Shift))
        .await
        .unwrap();
    let value = agent
        .js(
            "return document.querySelector('[data-testid=reply-input]').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(value, "Line one\n", "Shift+Enter does not send");
    input.send_keys("line two").await.unwrap();
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    visitor.expect_message("Line one\nline two").await;

    // The visitor typing shows in the console.
    visitor
        .send(json!({"type": "typing", "active": true}))
        .await;
    agent
        .wait_js(
            "the typing indicator shows",
            "return !document.querySelector('[data-testid=typing]').hidden;",
            vec![],
        )
        .await;
    agent.screenshot("replied").await.unwrap();

    agent.close().await.unwrap();
    visitor.close().await;
    server.stop().await;
}

#[tokio::test]
async fn an_agent_signs_in_sets_presence_assigns_and_closes_from_the_console() {
    let Some(tools) = tools_or_skip("console_sign_in_presence_assign_close") else {
        return;
    };
    let artifacts = Artifacts::for_test("console_sign_in_presence_assign_close").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let agent_id = api
        .create_agent_with_password("grace", "a long enough secret")
        .await;
    let (_visitor, conversation_id, _) = visitor_writes(&server, "Can someone help me?").await;

    let driver = Chromedriver::start(&tools).await.unwrap();
    let browser = driver.browser("agent", &artifacts).await.unwrap();
    browser.goto(&server.url("/agent/")).await.unwrap();
    browser
        .wait_for(
            "the sign-in form (no session yet)",
            "[data-testid=login-form]",
        )
        .await;
    browser.screenshot("sign-in").await.unwrap();

    // A wrong password: the page says so, nothing more.
    browser
        .sign_in("grace@example.com", "not the password")
        .await;
    let error = browser
        .wait_for(
            "the sign-in error",
            "[data-testid=login-error]:not([hidden])",
        )
        .await;
    assert_eq!(
        error.text().await.unwrap(),
        "That email and password do not match an agent."
    );
    browser.screenshot("sign-in-failed").await.unwrap();

    browser
        .sign_in("grace@example.com", "a long enough secret")
        .await;
    browser
        .wait_js(
            "the console lists the waiting conversation in the queue",
            "return document.querySelector('[data-testid=list-queue] [data-testid=conversation-item][data-conversation-id=\"' + arguments[0] + '\"]') !== null;",
            vec![json!(conversation_id)],
        )
        .await;
    browser
        .wait_js(
            "the console shows who is signed in",
            "return document.querySelector('[data-testid=agent-name]').textContent === 'grace';",
            vec![],
        )
        .await;
    wait_for_status(&api, &agent_id, "available").await;
    browser.screenshot("signed-in").await.unwrap();

    // Presence: away, then available again, as the REST API sees it.
    let toggle = browser
        .wait_for("the presence toggle", "[data-testid=presence-toggle]")
        .await;
    toggle.click().await.unwrap();
    wait_for_status(&api, &agent_id, "away").await;
    assert_eq!(
        toggle.attr("aria-checked").await.unwrap().as_deref(),
        Some("false")
    );
    browser.screenshot("away").await.unwrap();
    toggle.click().await.unwrap();
    wait_for_status(&api, &agent_id, "available").await;

    // Open the conversation from the list, assign it to me, close it.
    browser
        .click(
            "the conversation in the list",
            &format!("[data-testid=conversation-item][data-conversation-id=\"{conversation_id}\"]"),
        )
        .await;
    browser
        .wait_js(
            "the conversation opens",
            "return Array.from(document.querySelectorAll('[data-testid=message-body]')).some(n => n.textContent === 'Can someone help me?');",
            vec![],
        )
        .await;
    browser
        .click(
            "the assign button",
            "[data-testid=assign-me]:not([disabled])",
        )
        .await;
    let path = format!("/api/v1/conversations/{conversation_id}");
    wait_until("the conversation is assigned over REST", WAIT, || {
        let api = api.clone();
        let path = path.clone();
        let agent_id = agent_id.clone();
        async move {
            api.get(&path)
                .await
                .is_ok_and(|c| c["conversation"]["assignee_id"].as_str() == Some(agent_id.as_str()))
        }
    })
    .await;
    browser
        .wait_js(
            "the conversation moves to 'Assigned to you'",
            "return document.querySelector('[data-testid=list-mine] [data-testid=conversation-item][data-conversation-id=\"' + arguments[0] + '\"]') !== null;",
            vec![json!(conversation_id)],
        )
        .await;
    browser.screenshot("assigned-to-me").await.unwrap();

    browser
        .click("the close button", "[data-testid=close]:not([disabled])")
        .await;
    wait_until("the conversation is closed over REST", WAIT, || {
        let api = api.clone();
        let path = path.clone();
        async move {
            api.get(&path)
                .await
                .is_ok_and(|c| c["conversation"]["status"] == "closed")
        }
    })
    .await;
    browser
        .wait_js(
            "the console shows it closed",
            "return document.querySelector('[data-testid=conversation-status]').textContent === 'Closed';",
            vec![],
        )
        .await;
    browser.screenshot("closed").await.unwrap();

    // Signing out ends the session: the agent goes offline and lands on the sign-in page.
    browser
        .click("the sign-out button", "[data-testid=logout]")
        .await;
    browser
        .wait_for(
            "the sign-in page after signing out",
            "[data-testid=login-form]",
        )
        .await;
    wait_for_status(&api, &agent_id, "offline").await;

    browser.close().await.unwrap();
    server.stop().await;
}

async fn wait_for_status(api: &Api, agent_id: &str, status: &str) {
    let path = format!("/api/v1/agents/{agent_id}");
    wait_until(
        &format!("GET /api/v1/agents/{{id}} says {status}"),
        WAIT,
        || {
            let api = api.clone();
            let path = path.clone();
            async move { api.get(&path).await.is_ok_and(|a| a["status"] == status) }
        },
    )
    .await;
}

/// The console's details pane, once its page is `arguments[0]`: title, browser, language.
const DETAILS: &str = "const url = document.querySelector('[data-testid=detail-page-url]'); if (!url || url.textContent !== arguments[0]) return null; const title = document.querySelector('[data-testid=detail-page-title]'); return { title: title ? title.textContent : null, browser: document.querySelector('[data-testid=detail-browser]').textContent, language: document.querySelector('[data-testid=detail-language]').textContent };";

/// `document.querySelector('natter-widget').shadowRoot.querySelector(css)`, or null.
const IN_WIDGET: &str = "const h = document.querySelector('natter-widget'); return h && h.shadowRoot ? h.shadowRoot.querySelector(arguments[0]) : null;";

#[tokio::test]
async fn a_visitor_on_a_host_page_chats_through_the_widget_with_the_console() {
    let Some(tools) = tools_or_skip("widget_and_console") else {
        return;
    };
    let artifacts = Artifacts::for_test("widget_and_console").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"color": "#0f766e", "title": "Talk to the shop"})),
        )
        .await
        .unwrap();
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let host = HostPage::serve(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body style="font-family: sans-serif; margin: 3rem"><h1>The shop</h1><p>Tea, coffee and cups.</p>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    ))
    .await
    .unwrap();

    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.goto(&host.url).await.unwrap();

    // The bubble shows, in the configured colour.
    let color = visitor
        .wait_js(
            "the launcher shows",
            "const h = document.querySelector('natter-widget'); const b = h && h.shadowRoot && h.shadowRoot.querySelector('[data-testid=natter-launcher]'); return b && b.getClientRects().length ? getComputedStyle(b).backgroundColor : null;",
            vec![],
        )
        .await;
    assert_eq!(color, "rgb(15, 118, 110)", "the configured #0f766e");
    visitor.screenshot("bubble").await.unwrap();

    // The visitor opens the window and writes.
    visitor
        .element_from(
            "the launcher",
            IN_WIDGET,
            vec![json!("[data-testid=natter-launcher]")],
        )
        .await
        .click()
        .await
        .unwrap();
    let input = visitor
        .element_from(
            "the widget's input",
            IN_WIDGET,
            vec![json!("[data-testid=natter-input]")],
        )
        .await;
    visitor
        .wait_js(
            "the widget's input can be typed in",
            "const h = document.querySelector('natter-widget'); const i = h.shadowRoot.querySelector('[data-testid=natter-input]'); return i.getClientRects().length > 0 && !i.disabled;",
            vec![],
        )
        .await;
    // Nobody is online and this server has no mail, so no offline form: the widget offers chat and
    // says it will be answered later, and nothing else.
    let offline = visitor
        .wait_js(
            "the status says the chat is answered later",
            "const r = document.querySelector('natter-widget').shadowRoot; const s = r.querySelector('[data-testid=natter-status]'); return !s.hidden && s.dataset.offer === 'later' ? { text: s.textContent, form: !!r.querySelector('[data-testid=natter-offline]:not([hidden])') } : null;",
            vec![],
        )
        .await;
    assert_eq!(
        offline,
        json!({"text": "Nobody is online right now. Write to us anyway: we'll answer here as soon as someone is back.", "form": false})
    );
    visitor
        .screenshot("nobody-online-answer-later")
        .await
        .unwrap();
    input.send_keys("Hi, where is my order?").await.unwrap();
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    visitor
        .wait_js(
            "the visitor's message is stored",
            "const h = document.querySelector('natter-widget'); return Array.from(h.shadowRoot.querySelectorAll('[data-testid=natter-messages] li[data-author=visitor]')).some(li => li.textContent.includes('Hi, where is my order?') && li.dataset.status === 'sent');",
            vec![],
        )
        .await;
    // Without mail there is no transcript to offer either, conversation or not.
    let transcript = visitor
        .js(
            "return document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-transcript]').getClientRects().length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(transcript, 0, "no transcript control without mail");
    visitor.screenshot("visitor-wrote").await.unwrap();

    // An agent chat URL for that visitor's customer, opened in a second browser.
    let open = api.get("/api/v1/conversations?status=open").await.unwrap();
    let conversation = open["items"][0].clone();
    let agent_id = api.create_agent("lin").await;
    let link = api
        .post(
            &format!("/api/v1/agents/{agent_id}/chat-links"),
            json!({"customerId": conversation["customer_id"]}),
        )
        .await
        .unwrap();
    let agent = driver.browser("agent", &artifacts).await.unwrap();
    agent.goto(link["url"].as_str().unwrap()).await.unwrap();
    agent
        .wait_js(
            "the console shows the visitor's message",
            CONSOLE_HAS_MESSAGE,
            vec![json!("Hi, where is my order?")],
        )
        .await;
    // An agent is available now: the widget's status line goes away.
    visitor
        .wait_js(
            "the widget no longer says nobody is online",
            "const s = document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-status]'); return s.hidden && s.dataset.state === 'online';",
            vec![],
        )
        .await;

    // The details pane: the page the visitor is on, their browser and language.
    let language = visitor
        .js("return navigator.language;", vec![])
        .await
        .unwrap();
    let details = agent
        .wait_js(
            "the details pane shows the visitor's page, browser and language",
            DETAILS,
            vec![json!(host.url)],
        )
        .await;
    assert_eq!(details["title"], "Shop", "{details}");
    assert_eq!(details["language"], language, "{details}");
    let browser_name = details["browser"].as_str().unwrap();
    assert!(
        browser_name.starts_with("Chrome ") && browser_name.ends_with(" on Linux"),
        "{details}"
    );
    agent.screenshot("details-pane").await.unwrap();

    // A hostile message from the widget is text on both sides.
    input.send_keys(HOSTILE).await.unwrap();
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    agent
        .wait_js(
            "the console shows the hostile message",
            CONSOLE_HAS_MESSAGE,
            vec![json!(HOSTILE)],
        )
        .await;
    let in_console = agent
        .js(
            "const log = document.querySelector('[data-testid=messages]'); return { pwned: typeof window.__pwned, bold: log.querySelectorAll('b').length, scripts: log.querySelectorAll('script').length };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        in_console,
        json!({"pwned": "undefined", "bold": 0, "scripts": 0})
    );
    let in_widget = visitor
        .wait_js(
            "the widget shows the hostile message as text",
            "const log = document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-messages]'); const li = Array.from(log.querySelectorAll('li[data-author=visitor]')).find(li => li.textContent.includes('<script>')); return li ? { pwned: typeof window.__pwned, bold: log.querySelectorAll('b').length, scripts: log.querySelectorAll('script').length } : null;",
            vec![],
        )
        .await;
    assert_eq!(
        in_widget,
        json!({"pwned": "undefined", "bold": 0, "scripts": 0})
    );

    // The agent replies; the visitor sees it in the widget.
    let reply = agent
        .wait_for("the reply box", "[data-testid=reply-input]")
        .await;
    reply
        .send_keys("It ships today, tracking follows by email.")
        .await
        .unwrap();
    reply.send_keys(&Key::Enter.to_string()).await.unwrap();
    visitor
        .wait_js(
            "the widget shows the agent's reply",
            "const h = document.querySelector('natter-widget'); return Array.from(h.shadowRoot.querySelectorAll('[data-testid=natter-messages] li[data-author=agent]')).some(li => li.textContent.includes('It ships today'));",
            vec![],
        )
        .await;
    agent.screenshot("console-replied").await.unwrap();
    visitor.screenshot("widget-got-reply").await.unwrap();

    // The visitor goes to another page: the details pane follows, live.
    let next_page = format!("{}?page=checkout", host.url);
    visitor.goto(&next_page).await.unwrap();
    agent
        .wait_js(
            "the details pane shows the visitor's new page",
            DETAILS,
            vec![json!(next_page)],
        )
        .await;

    agent.close().await.unwrap();
    visitor.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn answering_from_the_queue_assigns_the_conversation_to_the_agent() {
    let Some(tools) = tools_or_skip("reply_assigns") else {
        return;
    };
    let artifacts = Artifacts::for_test("reply_assigns").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let agent_id = api
        .create_agent_with_password("mae", "a long enough secret")
        .await;
    let (mut visitor, conversation_id, _) = visitor_writes(&server, "Is anyone there?").await;

    let driver = Chromedriver::start(&tools).await.unwrap();
    let browser = driver.browser("agent", &artifacts).await.unwrap();
    browser.goto(&server.url("/agent/")).await.unwrap();
    browser
        .sign_in("mae@example.com", "a long enough secret")
        .await;
    let item =
        format!("[data-testid=conversation-item][data-conversation-id=\"{conversation_id}\"]");
    browser
        .click(
            "the conversation in the queue",
            &format!("[data-testid=list-queue] {item}"),
        )
        .await;
    browser
        .wait_js(
            "the conversation opens, waiting in the queue",
            "return document.querySelector('[data-testid=conversation-assignee]').textContent === 'Waiting in the queue';",
            vec![],
        )
        .await;
    browser.screenshot("waiting-in-the-queue").await.unwrap();

    let input = browser
        .wait_for("the reply box", "[data-testid=reply-input]")
        .await;
    input.send_keys("Yes, I am here.").await.unwrap();
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    visitor.expect_message("Yes, I am here.").await;
    browser
        .wait_js(
            "the console shows the conversation assigned to the agent",
            "return document.querySelector('[data-testid=list-mine] ' + arguments[0]) !== null && document.querySelector('[data-testid=conversation-assignee]').textContent === 'Assigned to you';",
            vec![json!(item)],
        )
        .await;
    let rest = api
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap();
    assert_eq!(
        rest["conversation"]["assignee_id"].as_str(),
        Some(agent_id.as_str()),
        "REST agrees"
    );
    browser.screenshot("assigned-by-answering").await.unwrap();

    browser.close().await.unwrap();
    visitor.close().await;
    server.stop().await;
}

#[tokio::test]
async fn on_a_phone_the_open_chat_fills_the_screen() {
    let Some(tools) = tools_or_skip("widget_phone") else {
        return;
    };
    let artifacts = Artifacts::for_test("widget_phone").unwrap();
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let host = HostPage::serve(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head>
<body style="font-family: sans-serif; margin: 1rem"><h1>The shop</h1><p>Tea, coffee and cups.</p>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    ))
    .await
    .unwrap();
    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.resize(375, 812).await.unwrap();
    visitor.goto(&host.url).await.unwrap();

    // Closed: the launcher keeps the same distance from the right and the bottom edge.
    let margins = visitor
        .wait_js(
            "the launcher shows",
            "const h = document.querySelector('natter-widget'); const b = h && h.shadowRoot && h.shadowRoot.querySelector('[data-testid=natter-launcher]'); if (!b || !b.getClientRects().length) return null; const r = b.getBoundingClientRect(); return { right: innerWidth - r.right, bottom: innerHeight - r.bottom, width: innerWidth };",
            vec![],
        )
        .await;
    assert_eq!(margins["width"], 375, "a phone's viewport: {margins}");
    assert_eq!(margins["right"], margins["bottom"], "{margins}");
    visitor.screenshot("phone-closed").await.unwrap();

    visitor
        .element_from(
            "the launcher",
            IN_WIDGET,
            vec![json!("[data-testid=natter-launcher]")],
        )
        .await
        .click()
        .await
        .unwrap();
    // Open: the window is the whole viewport, edge to edge, and the input is on screen.
    let geometry = visitor
        .wait_js(
            "the chat window is open",
            "const r = document.querySelector('natter-widget').shadowRoot; const w = r.querySelector('[data-testid=natter-window]'); if (w.hidden) return null; const b = w.getBoundingClientRect(); const i = r.querySelector('[data-testid=natter-input]').getBoundingClientRect(); return { window: [b.left, b.top, b.width, b.height], viewport: [0, 0, innerWidth, innerHeight], input_bottom: i.bottom, radius: getComputedStyle(w).borderTopLeftRadius, launcher: r.querySelector('[data-testid=natter-launcher]').getClientRects().length };",
            vec![],
        )
        .await;
    assert_eq!(geometry["window"], geometry["viewport"], "{geometry}");
    assert_eq!(geometry["radius"], "0px", "no floating card: {geometry}");
    assert_eq!(
        geometry["launcher"], 0,
        "the header's close button replaces it"
    );
    assert!(
        geometry["input_bottom"].as_f64().unwrap() <= geometry["viewport"][3].as_f64().unwrap(),
        "{geometry}"
    );
    visitor.screenshot("phone-open").await.unwrap();

    // The header's close button closes it again; the launcher comes back.
    visitor
        .element_from(
            "the close button",
            IN_WIDGET,
            vec![json!("[data-testid=natter-close]")],
        )
        .await
        .click()
        .await
        .unwrap();
    visitor
        .wait_js(
            "the launcher is back",
            "const r = document.querySelector('natter-widget').shadowRoot; return r.querySelector('[data-testid=natter-window]').hidden && r.querySelector('[data-testid=natter-launcher]').getClientRects().length > 0;",
            vec![],
        )
        .await;

    visitor.close().await.unwrap();
    server.stop().await;
}
