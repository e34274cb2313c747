//! The widget's mail in a real browser (headless Chromium) on a host page of another origin, with a
//! real SMTP server: the offline form, instead of chat, when nobody is available and when the rules say
//! the team is away (even with an agent available), and a visitor having the transcript mailed to them.
//!
//! Without Chromium this test prints why and passes, except in CI (`CI=true`), where it fails.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_tests::browser::{Artifacts, Browser, Chromedriver, HostPage, tools_or_skip};
use natter_tests::smtp::SmtpSink;
use natter_tests::{DataDir, TestServer};
use serde_json::json;

const IN_WIDGET: &str = "const h = document.querySelector('natter-widget'); return h && h.shadowRoot ? h.shadowRoot.querySelector(arguments[0]) : null;";
/// What the widget offers while nobody can chat: `offer` (`form` or `later`), whether the chat input
/// shows, and the status line.
const OFFER: &str = "const r = document.querySelector('natter-widget').shadowRoot; const s = r.querySelector('[data-testid=natter-status]'); return { offer: s.dataset.offer, chat: r.querySelector('[data-testid=natter-input]').getClientRects().length > 0, status: s.textContent };";
const VISIBLE_IN_WIDGET: &str = "const h = document.querySelector('natter-widget'); const e = h && h.shadowRoot && h.shadowRoot.querySelector(arguments[0]); return !!e && e.getClientRects().length > 0;";

#[tokio::test]
async fn a_visitor_leaves_an_offline_message_that_reaches_the_inbox() {
    let Some(tools) = tools_or_skip("offline_form") else {
        return;
    };
    let artifacts = Artifacts::for_test("offline_form").unwrap();
    let sink = SmtpSink::start().await;
    let server = mail_server(&sink).await;
    let site = server.site_key().await;
    let host = HostPage::serve(host_html(&server, &site)).await.unwrap();

    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.goto(&host.url).await.unwrap();
    click_in_widget(&visitor, "the launcher", "[data-testid=natter-launcher]").await;
    // Nobody is connected and the server mails: the form replaces the chat input, one offer only.
    visitor
        .wait_js(
            "the offline form is offered",
            VISIBLE_IN_WIDGET,
            vec![json!("[data-testid=natter-offline]")],
        )
        .await;
    let offer = visitor.js(OFFER, vec![]).await.unwrap();
    assert_eq!(
        offer,
        json!({"offer": "form", "chat": false, "status": "We're offline right now. Leave a message and we'll get back to you."})
    );
    visitor.screenshot("offered").await.unwrap();
    for (field, value) in [
        ("name", "Grace Hopper"),
        ("email", "grace@example.org"),
        ("message", "Please call me back about <b>bulk</b> orders."),
    ] {
        let css = format!("[data-testid=natter-offline-{field}]");
        type_in_widget(&visitor, &format!("the {field} field"), &css, value).await;
    }
    visitor.screenshot("filled").await.unwrap();
    click_in_widget(
        &visitor,
        "the send button",
        "[data-testid=natter-offline-send]",
    )
    .await;
    visitor
        .wait_js(
            "the widget confirms",
            VISIBLE_IN_WIDGET,
            vec![json!("[data-testid=natter-offline-sent]")],
        )
        .await;
    // Sent: the conversation goes on as chat, which says it is answered later.
    let after = visitor
        .wait_js(
            "the chat input is back",
            "const r = document.querySelector('natter-widget').shadowRoot; return r.querySelector('[data-testid=natter-input]').getClientRects().length > 0 ? true : null;",
            vec![],
        )
        .await;
    assert_eq!(after, json!(true));
    assert_eq!(visitor.js(OFFER, vec![]).await.unwrap()["offer"], "later");
    visitor.screenshot("sent").await.unwrap();

    let mails = sink
        .wait_for("the offline message reaches the inbox", 1)
        .await;
    let mail = &mails[0];
    assert_eq!(mail.rcpt_tos, vec!["inbox@natter.test".to_string()]);
    assert_eq!(mail.header("Reply-To"), Some("grace@example.org"));
    let text = mail.text.as_deref().unwrap();
    assert!(
        text.contains("Please call me back about <b>bulk</b> orders."),
        "{text}"
    );
    assert!(text.contains(&host.url), "the page it came from: {text}");
    let html = mail.html.as_deref().unwrap();
    assert!(html.contains("&lt;b&gt;bulk&lt;/b&gt;"), "{html}");
    visitor.close().await.unwrap();
    server.stop().await;
}

fn host_html(server: &TestServer, site: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body style="font-family: sans-serif; margin: 3rem"><h1>The shop</h1>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    )
}

async fn mail_server(sink: &SmtpSink) -> TestServer {
    let url = sink.url();
    TestServer::start_with(&DataDir::new(), |c| {
        c.mail.smtp_url = url;
        c.mail.from = "Natter <chat@natter.test>".into();
        c.mail.offline_inbox = "inbox@natter.test".into();
        c.delivery.poll_interval_ms = 20;
    })
    .await
}

async fn click_in_widget(visitor: &Browser, what: &str, css: &str) {
    visitor
        .wait_js(
            &format!("{what} shows"),
            VISIBLE_IN_WIDGET,
            vec![json!(css)],
        )
        .await;
    visitor
        .element_from(what, IN_WIDGET, vec![json!(css)])
        .await
        .click()
        .await
        .unwrap();
}

async fn type_in_widget(visitor: &Browser, what: &str, css: &str, value: &str) {
    visitor
        .wait_js(
            &format!("{what} shows"),
            VISIBLE_IN_WIDGET,
            vec![json!(css)],
        )
        .await;
    visitor
        .element_from(what, IN_WIDGET, vec![json!(css)])
        .await
        .send_keys(value)
        .await
        .unwrap();
}

#[tokio::test]
async fn outside_opening_hours_with_when_closed_away_the_form_replaces_the_chat() {
    let Some(tools) = tools_or_skip("offline_form_away") else {
        return;
    };
    let artifacts = Artifacts::for_test("offline_form_away").unwrap();
    let sink = SmtpSink::start().await;
    let server = mail_server(&sink).await;
    let api = server.admin().await;
    let site = server.site_key().await;
    api.post(
        "/api/v1/rules",
        json!({"name": "Opening hours", "builtin": "opening_hours",
            "params": {"spec": "closed", "when_closed": "away"}}),
    )
    .await
    .unwrap();
    // An agent is connected and available: away still wins.
    let (mut other, _) = server.visitor(&site, None, None).await;
    other
        .send(json!({"type": "message", "body": "hi", "client_id": "o-1"}))
        .await;
    let conversation = other.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cookie) = server.agent_session(&api, "ines", &conversation).await;
    let (_agent, _) = server.agent(&cookie, json!([])).await;

    let host = HostPage::serve(host_html(&server, &site)).await.unwrap();
    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.goto(&host.url).await.unwrap();
    click_in_widget(&visitor, "the launcher", "[data-testid=natter-launcher]").await;
    visitor
        .wait_js(
            "the status says the team is away",
            "const h = document.querySelector('natter-widget'); const e = h && h.shadowRoot && h.shadowRoot.querySelector('[data-testid=natter-status]'); return !!e && e.dataset.state === 'away' && !e.hidden;",
            vec![],
        )
        .await;
    let chat_input = visitor
        .js(VISIBLE_IN_WIDGET, vec![json!("[data-testid=natter-input]")])
        .await
        .unwrap();
    assert_eq!(chat_input, json!(false), "no chat is offered while away");
    assert_eq!(visitor.js(OFFER, vec![]).await.unwrap()["offer"], "form");
    visitor.screenshot("away").await.unwrap();
    for (field, value) in [
        ("name", "Night Owl"),
        ("email", "owl@example.org"),
        ("message", "Are you open tomorrow?"),
    ] {
        let css = format!("[data-testid=natter-offline-{field}]");
        type_in_widget(&visitor, &format!("the {field} field"), &css, value).await;
    }
    click_in_widget(
        &visitor,
        "the send button",
        "[data-testid=natter-offline-send]",
    )
    .await;
    visitor
        .wait_js(
            "the widget confirms",
            VISIBLE_IN_WIDGET,
            vec![json!("[data-testid=natter-offline-sent]")],
        )
        .await;
    visitor.screenshot("sent").await.unwrap();
    let mails = sink
        .wait_for("the offline message reaches the inbox", 1)
        .await;
    assert_eq!(mails[0].rcpt_tos, vec!["inbox@natter.test".to_string()]);
    assert_eq!(mails[0].header("Reply-To"), Some("owl@example.org"));
    assert!(
        mails[0]
            .text
            .as_deref()
            .unwrap()
            .contains("Are you open tomorrow?")
    );
    visitor.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_visitor_has_the_transcript_mailed_to_the_address_they_give() {
    let Some(tools) = tools_or_skip("transcript_request") else {
        return;
    };
    let artifacts = Artifacts::for_test("transcript_request").unwrap();
    let sink = SmtpSink::start().await;
    let server = mail_server(&sink).await;
    let api = server.admin().await;
    let site = server.site_key().await;
    // An agent is available, so the widget offers chat (nobody available would offer the form).
    let (mut other, _) = server.visitor(&site, None, None).await;
    other
        .send(json!({"type": "message", "body": "hi", "client_id": "o-1"}))
        .await;
    let conversation = other.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cookie) = server.agent_session(&api, "ines", &conversation).await;
    let (_agent, _) = server.agent(&cookie, json!([])).await;
    let host = HostPage::serve(host_html(&server, &site)).await.unwrap();
    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.goto(&host.url).await.unwrap();
    click_in_widget(&visitor, "the launcher", "[data-testid=natter-launcher]").await;
    // No conversation yet: nothing to mail.
    let control = visitor
        .js(
            VISIBLE_IN_WIDGET,
            vec![json!("[data-testid=natter-transcript-open]")],
        )
        .await
        .unwrap();
    assert_eq!(control, json!(false));
    type_in_widget(
        &visitor,
        "the message field",
        "[data-testid=natter-input]",
        "Do you ship <b>parcels</b> abroad?",
    )
    .await;
    click_in_widget(&visitor, "the send button", "[data-testid=natter-send]").await;
    // The conversation has no address: the widget asks for one.
    click_in_widget(
        &visitor,
        "the transcript control",
        "[data-testid=natter-transcript-open]",
    )
    .await;
    type_in_widget(
        &visitor,
        "the transcript address",
        "[data-testid=natter-transcript-email]",
        "kim@example.org",
    )
    .await;
    visitor.screenshot("asked").await.unwrap();
    click_in_widget(
        &visitor,
        "the transcript send button",
        "[data-testid=natter-transcript-send]",
    )
    .await;
    visitor
        .wait_js(
            "the widget says the transcript is on its way",
            "const h = document.querySelector('natter-widget'); const e = h && h.shadowRoot && h.shadowRoot.querySelector('[data-testid=natter-transcript-note]'); return !!e && e.dataset.state === 'sent' && e.textContent.length > 0;",
            vec![],
        )
        .await;
    visitor.screenshot("sent").await.unwrap();

    let mails = sink.wait_for("the transcript arrives", 1).await;
    let mail = &mails[0];
    assert_eq!(mail.rcpt_tos, vec!["kim@example.org".to_string()]);
    let text = mail.text.as_deref().unwrap();
    assert!(
        text.contains("You: Do you ship <b>parcels</b> abroad?"),
        "{text}"
    );
    let html = mail.html.as_deref().unwrap();
    assert!(html.contains("&lt;b&gt;parcels&lt;/b&gt;"), "{html}");
    visitor.close().await.unwrap();
    server.stop().await;
}
