//! The widget's offline form in a real browser (headless Chromium) on a host page of another
//! origin: nobody is available, the visitor leaves a message, it arrives in the inbox of a real SMTP
//! server with `Reply-To` set to the visitor.
//!
//! Without Chromium this test prints why and passes, except in CI (`CI=true`), where it fails.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_tests::browser::{Artifacts, Chromedriver, HostPage, tools_or_skip};
use natter_tests::smtp::SmtpSink;
use natter_tests::{DataDir, TestServer};
use serde_json::json;

const IN_WIDGET: &str = "const h = document.querySelector('natter-widget'); return h && h.shadowRoot ? h.shadowRoot.querySelector(arguments[0]) : null;";
const VISIBLE_IN_WIDGET: &str = "const h = document.querySelector('natter-widget'); const e = h && h.shadowRoot && h.shadowRoot.querySelector(arguments[0]); return !!e && e.getClientRects().length > 0;";

#[tokio::test]
async fn a_visitor_leaves_an_offline_message_that_reaches_the_inbox() {
    let Some(tools) = tools_or_skip("offline_form") else {
        return;
    };
    let artifacts = Artifacts::for_test("offline_form").unwrap();
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let server = TestServer::start_with(&DataDir::new(), |c| {
        c.mail.smtp_url = url;
        c.mail.from = "Natter <chat@natter.test>".into();
        c.mail.offline_inbox = "inbox@natter.test".into();
    })
    .await;
    let site = server.site_key().await;
    let host = HostPage::serve(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body style="font-family: sans-serif; margin: 3rem"><h1>The shop</h1><p>Closed for the night.</p>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    ))
    .await
    .unwrap();

    let driver = Chromedriver::start(&tools).await.unwrap();
    let visitor = driver.browser("visitor", &artifacts).await.unwrap();
    visitor.goto(&host.url).await.unwrap();
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
    // Nobody is connected: the window offers the form.
    visitor
        .wait_js(
            "the offline form is offered",
            VISIBLE_IN_WIDGET,
            vec![json!("[data-testid=natter-offline-open]")],
        )
        .await;
    visitor.screenshot("offered").await.unwrap();
    visitor
        .element_from(
            "the offer",
            IN_WIDGET,
            vec![json!("[data-testid=natter-offline-open]")],
        )
        .await
        .click()
        .await
        .unwrap();
    for (field, value) in [
        ("name", "Grace Hopper"),
        ("email", "grace@example.org"),
        ("message", "Please call me back about <b>bulk</b> orders."),
    ] {
        let css = format!("[data-testid=natter-offline-{field}]");
        visitor
            .wait_js(
                &format!("the {field} field shows"),
                VISIBLE_IN_WIDGET,
                vec![json!(css)],
            )
            .await;
        visitor
            .element_from(&format!("the {field} field"), IN_WIDGET, vec![json!(css)])
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    visitor.screenshot("filled").await.unwrap();
    visitor
        .element_from(
            "the send button",
            IN_WIDGET,
            vec![json!("[data-testid=natter-offline-send]")],
        )
        .await
        .click()
        .await
        .unwrap();
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
