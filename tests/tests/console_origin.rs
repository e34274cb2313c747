//! The agent's session in a real browser (headless Chromium) against a page of another origin on the
//! same site: a page served from another port of 127.0.0.1 is same-site with the server, so the
//! browser sends it the SameSite=Lax session cookie, and WebSockets have no CORS. Such a page must
//! not read the agent's conversations through `/ws/agent`, while the console itself, on the server's
//! origin, works as before.
//!
//! Without Chromium this test prints why and passes, except in CI (`CI=true`), where it fails.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_tests::TestServer;
use natter_tests::browser::{Artifacts, Chromedriver, HostPage, tools_or_skip};
use serde_json::json;

const SECRET: &str = "My order number is 4711";

/// A page that opens the agent socket of the server at `ws` as soon as it loads, says hello as the
/// console does, and writes what happened into `window.outcome`: the first frame it got, or that the
/// socket never opened.
fn prying_page(ws: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>The shop</h1><script>
  const socket = new WebSocket("{ws}/ws/agent");
  socket.onopen = () => socket.send(JSON.stringify({{ type: "hello", v: 1, resume: [] }}));
  socket.onmessage = (event) => {{ window.outcome = window.outcome || "read: " + event.data; }};
  socket.onclose = (event) => {{ window.outcome = window.outcome || "closed " + event.code; }};
</script></body></html>"#
    )
}

#[tokio::test]
async fn a_page_of_another_origin_on_the_same_site_cannot_open_the_agents_socket() {
    let Some(tools) = tools_or_skip("console_origin") else {
        return;
    };
    let artifacts = Artifacts::for_test("console_origin").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    api.create_agent_with_password("grace", "a long enough secret")
        .await;
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "v-1", "body": SECRET}))
        .await;
    visitor.expect("ack").await;

    let driver = Chromedriver::start(&tools).await.unwrap();
    let browser = driver.browser("agent", &artifacts).await.unwrap();
    browser.goto(&server.url("/agent/")).await.unwrap();
    browser
        .sign_in("grace@example.com", "a long enough secret")
        .await;
    // The console, on the server's origin, has its socket: the waiting conversation is listed.
    browser
        .wait_js(
            "the console lists the waiting conversation",
            "return document.querySelector('[data-testid=list-queue] [data-testid=conversation-item]') !== null;",
            vec![],
        )
        .await;

    let host = HostPage::serve(prying_page(&server.ws_base)).await.unwrap();
    assert_ne!(
        url::Url::parse(&host.url).unwrap().origin(),
        url::Url::parse(&server.base).unwrap().origin(),
        "the page is of another origin"
    );
    browser.goto(&host.url).await.unwrap();
    let outcome = browser
        .wait_js(
            "the page's socket opened or was refused",
            "return window.outcome || null;",
            vec![],
        )
        .await;
    browser.screenshot("prying-page").await.unwrap();
    let outcome = outcome.as_str().unwrap();
    assert!(
        outcome.starts_with("closed"),
        "the page read from the agent's socket: {outcome}"
    );
    assert!(!outcome.contains(SECRET));

    // The session itself still works on the console.
    browser.goto(&server.url("/agent/")).await.unwrap();
    browser
        .wait_js(
            "the console lists the waiting conversation again",
            "return document.querySelector('[data-testid=list-queue] [data-testid=conversation-item]') !== null;",
            vec![],
        )
        .await;

    browser.close().await.unwrap();
    visitor.close().await;
    server.stop().await;
}
