//! What co-browsing costs the visitor, measured with two headless Chromium sessions against the real
//! server.
//!
//! `cargo run -p natter-tests --example cobrowse_bench [-- SECONDS]` (needs `scripts/browser-deps.sh`)
//!
//! Method: a server on a free port (system clock), a checkout form page served on localhost with the
//! widget snippet, a visitor browser and an agent console browser. The visitor writes in the chat, the agent
//! opens it through a chat link, starts co-browsing, the visitor agrees. Then:
//!
//! 1. **Bytes at start**: `/cobrowse/recorder.js` fetched as the widget loads it, with and without
//!    `Accept-Encoding: gzip`; body bytes as they crossed the socket.
//! 2. **Bandwidth**: the bytes of the co-browse frames the server received from the visitor (the server's
//!    own tap on the visitor socket, so what actually left the browser) during SECONDS (default 60) of the
//!    visitor typing into a form field with real key events, one key every 250 ms, against a baseline of
//!    the same SECONDS with the page left alone.
//! 3. **Delay**: 30 times, the visitor's page changes a paragraph's text and notes `Date.now()`; the agent's
//!    console polls its replay every millisecond and notes when the text appears (both browsers read the
//!    same system clock). Baseline: 30 chat messages sent from the widget, timed the same way until they
//!    show in the console, through the same sockets.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::time::Duration;

use fantoccini::key::Key;
use natter_tests::browser::{Artifacts, Browser, Chromedriver, HostPage, tools_or_skip};
use natter_tests::{TestServer, WAIT, wait_until};
use serde_json::{Value, json};

const IN_WIDGET: &str = "const h = document.querySelector('natter-widget'); return h && h.shadowRoot ? h.shadowRoot.querySelector(arguments[0]) : null;";
const SAMPLES: usize = 30;

fn host_page(server: &TestServer, site: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head>
<body style="font-family: sans-serif; margin: 2rem">
<h1>Checkout</h1>
<form onsubmit="return false">
  <p><label>Name <input id="name" name="fullname" autocomplete="name"></label></p>
  <p id="greeting">Who is buying?</p>
  <p><label>Street <input id="street" name="street" autocomplete="street-address"></label></p>
  <p><label>City <input id="city" name="city"></label></p>
  <p><label>Password <input id="pw" type="password" name="pw"></label></p>
  <p><label>Card <input id="card" name="cardnumber" autocomplete="cc-number"></label></p>
  <p><button id="order" type="button">Order</button></p>
</form>
<p id="marker">-</p>
<script>
  document.getElementById('name').addEventListener('input', function (e) {{
    document.getElementById('greeting').textContent = 'Hello, ' + e.target.value;
  }});
</script>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    )
}

/// Bytes the server has received from the visitor's recorder so far.
fn received_bytes(server: &TestServer) -> usize {
    server
        .cobrowse_received
        .lock()
        .unwrap()
        .iter()
        .map(String::len)
        .sum()
}

async fn fetch_size(url: &str, encoding: &str) -> usize {
    let response = reqwest::Client::new()
        .get(url)
        .header("accept-encoding", encoding)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    response.bytes().await.unwrap().len()
}

/// Median and 95th percentile, in milliseconds.
fn summary(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (
        samples[samples.len() / 2],
        samples[samples.len() * 95 / 100],
    )
}

/// Sets up the agent console to note when a text first shows: in the replay's `#marker`, or as a message.
const AGENT_WATCH: &str = "window.__seen = {}; setInterval(function () {
    const v = window.NatterConsoleCobrowse.viewer(); const d = v && v.document();
    const m = d && d.querySelector('#marker'); const now = Date.now();
    if (m && !(m.textContent in window.__seen)) window.__seen[m.textContent] = now;
    document.querySelectorAll('[data-testid=message-body]').forEach(function (n) {
      if (!(n.textContent in window.__seen)) window.__seen[n.textContent] = now;
    });
  }, 1); return true;";

async fn seen_at(agent: &Browser, text: &str) -> f64 {
    agent
        .wait_js(
            "the agent sees the marker",
            "return window.__seen[arguments[0]] || null;",
            vec![json!(text)],
        )
        .await
        .as_f64()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    let tools = tools_or_skip("cobrowse_bench")
        .expect("chromium and chromedriver are needed: run scripts/browser-deps.sh");
    let artifacts = Artifacts::for_test("cobrowse_bench").unwrap();
    let server = TestServer::start_with_system_clock().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let host = HostPage::serve(host_page(&server, &site)).await.unwrap();
    let driver = Chromedriver::start(&tools).await.unwrap();

    // The visitor writes in the chat; the agent opens it and starts co-browsing; the visitor agrees.
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
    visitor
        .wait_js(
            "the widget's input can be typed in",
            "const i = document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-input]'); return i.getClientRects().length > 0 && !i.disabled;",
            vec![],
        )
        .await;
    let input = visitor
        .element_from(
            "the widget's input",
            IN_WIDGET,
            vec![json!("[data-testid=natter-input]")],
        )
        .await;
    input.send_keys("Can you help me order?").await.unwrap();
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_until("the conversation opened", WAIT, || {
        let api = api.clone();
        async move {
            api.get("/api/v1/conversations?status=open")
                .await
                .is_ok_and(|open| open["items"].as_array().is_some_and(|i| !i.is_empty()))
        }
    })
    .await;
    let open = api.get("/api/v1/conversations?status=open").await.unwrap();
    let conversation: Value = open["items"][0].clone();
    let agent_id = api.create_agent("grace").await;
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
            "the console is connected with the conversation open",
            "return document.querySelector('[data-testid=connection]').dataset.state === 'connected' && !document.querySelector('[data-testid=cobrowse-start]').disabled;",
            vec![],
        )
        .await;
    agent
        .click("the Co-browse button", "[data-testid=cobrowse-start]")
        .await;
    visitor
        .element_from(
            "the allow button",
            IN_WIDGET,
            vec![json!("[data-testid=natter-cobrowse-allow]")],
        )
        .await
        .click()
        .await
        .unwrap();
    agent
        .wait_js(
            "the replay shows the checkout page",
            "const v = window.NatterConsoleCobrowse.viewer(); const d = v && v.document(); const h = d && d.querySelector('h1'); return h && h.textContent === 'Checkout';",
            vec![],
        )
        .await;
    let snapshot = received_bytes(&server);

    // 1. What the visitor loads when the session starts.
    let recorder = server.url("/cobrowse/recorder.js");
    let recorder_plain = fetch_size(&recorder, "identity").await;
    let recorder_gzip = fetch_size(&recorder, "gzip").await;

    // 2. Bandwidth: the page left alone, then the visitor typing.
    let before = received_bytes(&server);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let idle = received_bytes(&server) - before;
    visitor.click("the street field", "#street").await;
    let field = visitor.wait_for("the street field", "#street").await;
    let typing = "Baker Street 221b, London NW1 6XE. ".repeat(20);
    let keys: Vec<char> = typing.chars().collect();
    let before = received_bytes(&server);
    let start = tokio::time::Instant::now();
    let mut typed = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        field
            .send_keys(&keys[typed % keys.len()].to_string())
            .await
            .unwrap();
        typed += 1;
        tokio::time::sleep_until(start + Duration::from_millis(250 * typed as u64)).await;
    }
    let active = received_bytes(&server) - before;

    // 3. Delay, co-browse and chat, timed by the same poller in the console.
    agent.js(AGENT_WATCH, vec![]).await.unwrap();
    let mut cobrowse = Vec::with_capacity(SAMPLES);
    let mut chat = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let marker = format!("change-{i}");
        let sent = visitor
            .js(
                "document.getElementById('marker').textContent = arguments[0]; return Date.now();",
                vec![json!(marker)],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap();
        cobrowse.push(seen_at(&agent, &marker).await - sent);

        let message = format!("message-{i}");
        let sent = visitor
            .js(
                "const r = document.querySelector('natter-widget').shadowRoot;
                 r.querySelector('[data-testid=natter-input]').value = arguments[0];
                 r.querySelector('[data-testid=natter-send]').click(); return Date.now();",
                vec![json!(message)],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap();
        chat.push(seen_at(&agent, &message).await - sent);
    }
    let (cobrowse_median, cobrowse_p95) = summary(cobrowse);
    let (chat_median, chat_p95) = summary(chat);
    visitor.screenshot("visitor-end").await.unwrap();
    agent.screenshot("agent-end").await.unwrap();

    #[allow(clippy::cast_precision_loss, reason = "byte counts are far below 2^52")]
    let per_minute = |bytes: usize| bytes as f64 * 60.0 / seconds as f64 / 1024.0;
    println!("co-browsing cost ({seconds} s windows, {SAMPLES} delay samples)\n");
    println!("| measure | value | baseline |");
    println!("| --- | ---: | ---: |");
    println!(
        "| recorder.js loaded at session start (gzip / identity) | {recorder_gzip} B | {recorder_plain} B |"
    );
    println!("| first full snapshot sent by the visitor | {snapshot} B | |");
    println!(
        "| visitor upload per minute, typing 4 keys/s (baseline: page left alone) | {:.1} KiB | {:.1} KiB |",
        per_minute(active),
        per_minute(idle)
    );
    println!(
        "| visitor change → agent view, median (baseline: chat message) | {cobrowse_median:.0} ms | {chat_median:.0} ms |"
    );
    println!(
        "| visitor change → agent view, p95 (baseline: chat message) | {cobrowse_p95:.0} ms | {chat_p95:.0} ms |"
    );
    println!("\nkeys typed: {typed}");

    agent.close().await.unwrap();
    visitor.close().await.unwrap();
    server.stop().await;
}
