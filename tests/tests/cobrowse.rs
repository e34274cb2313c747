//! Co-browsing end to end: two headless Chromium sessions (a visitor on a host page with a form, an
//! agent in the console) against the real server. What the visitor's browser sent is checked at the
//! server (`TestServer::cobrowse_received`), not only on screen. Screenshots go to
//! `test-artifacts/cobrowse/`.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use fantoccini::key::Key;
use natter_tests::browser::{Artifacts, Browser, Chromedriver, HostPage, tools_or_skip};
use natter_tests::{Api, TestServer, WAIT, Ws, wait_until};
use serde_json::{Value, json};

const PASSWORD: &str = "hunter2-Secret!";
const CARD: &str = "4111111111111111";

/// A checkout page: a normal field the page reacts to, a password, a card number, a button that counts
/// clicks, and an inline `<style>` the replay must keep.
fn host_page(server: &TestServer, site: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout</title>
<style>h1 {{ color: rgb(190, 18, 60); letter-spacing: 4px; }}</style></head>
<body style="font-family: sans-serif; margin: 2rem">
<h1>Checkout</h1>
<form onsubmit="return false">
  <p><label>Name <input id="name" name="fullname" autocomplete="name"></label></p>
  <p id="greeting">Who is buying?</p>
  <p><label>Password <input id="pw" type="password" name="pw"></label></p>
  <p><label>Card <input id="card" name="cardnumber" autocomplete="cc-number"></label></p>
  <p><button id="order" type="button">Order</button> <span id="clicks">0</span></p>
</form>
<script>
  document.getElementById('name').addEventListener('input', function (e) {{
    document.getElementById('greeting').textContent = 'Hello, ' + e.target.value;
  }});
  document.getElementById('order').addEventListener('click', function () {{
    var n = document.getElementById('clicks'); n.textContent = String(Number(n.textContent) + 1);
  }});
</script>
<script src="{}/widget.js?site={site}" async></script></body></html>"#,
        server.base
    )
}

const IN_WIDGET: &str = "const h = document.querySelector('natter-widget'); return h && h.shadowRoot ? h.shadowRoot.querySelector(arguments[0]) : null;";
const IN_BAR: &str = "const h = document.querySelector('[data-natter-cobrowse-ui]'); return h && h.shadowRoot ? h.shadowRoot.querySelector(arguments[0]) : null;";

async fn panel(agent: &Browser, what: &str, status: &str, control: bool) {
    agent
        .wait_js(
            what,
            "const p = document.querySelector('[data-testid=cobrowse-panel]'); return p && !p.hidden && p.dataset.status === arguments[0] && p.dataset.control === arguments[1];",
            vec![json!(status), json!(control.to_string())],
        )
        .await;
}

/// Sends a control frame from the console as a tampered console would (no UI check), then a pointer
/// move, and waits for the pointer on the visitor's page: frames to one visitor arrive in order, so
/// whatever the first did has happened by then.
async fn click_then_point(agent: &Browser, visitor: &Browser, conversation: &str, x: i32) {
    agent
        .js(
            "const v = window.NatterConsoleCobrowse.viewer(); const id = v.idOf(v.document().querySelector('#order'));
             window.NatterConsole.send({type: 'cobrowse_control', conversation_id: arguments[0], control: {action: 'click', id: id}});
             window.NatterConsole.send({type: 'cobrowse_control', conversation_id: arguments[0], control: {action: 'pointer', x: arguments[1], y: 40}});
             return true;",
            vec![json!(conversation), json!(x)],
        )
        .await
        .unwrap();
    visitor
        .wait_js(
            "the agent's pointer moved on the visitor's page",
            "const h = document.querySelector('[data-natter-cobrowse-ui]'); const p = h && h.shadowRoot.querySelector('[data-testid=natter-cobrowse-pointer]'); return p && p.style.left === arguments[0] + 'px';",
            vec![json!(x)],
        )
        .await;
}

async fn clicks(visitor: &Browser) -> String {
    visitor
        .js(
            "return document.getElementById('clicks').textContent;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

async fn audit(server: &TestServer, conversation: &str) -> Vec<(String, Option<String>)> {
    let api = server.admin().await;
    let trail = api
        .get(&format!("/api/v1/conversations/{conversation}/cobrowse"))
        .await
        .unwrap();
    trail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["detail"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_agent_co_browses_a_visitors_form_with_consent_masking_and_granted_control() {
    let Some(tools) = tools_or_skip("cobrowse") else {
        return;
    };
    let artifacts = Artifacts::for_test("cobrowse").unwrap();
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let host = HostPage::serve(host_page(&server, &site)).await.unwrap();

    // The visitor opens the chat on the checkout page and writes.
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
            "const i = document.querySelector('natter-widget').shadowRoot.querySelector('[data-testid=natter-input]'); return i.getClientRects().length > 0 && !i.disabled;",
            vec![],
        )
        .await;
    input.send_keys("I cannot pay").await.unwrap();
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    let mut conversation = Value::Null;
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
    conversation.clone_from(&open["items"][0]);
    let conversation_id = conversation["id"].as_str().unwrap().to_string();

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

    // Declining starts nothing: no recorder is loaded, nothing is sent.
    agent
        .click("the Co-browse button", "[data-testid=cobrowse-start]")
        .await;
    panel(&agent, "the console waits for consent", "requested", false).await;
    visitor
        .element_from(
            "the consent question",
            IN_WIDGET,
            vec![json!("[data-testid=natter-cobrowse-consent]")],
        )
        .await;
    // Allow is the filled button in the widget's colour, Decline the plain one.
    let buttons = visitor
        .js(
            "const r = document.querySelector('natter-widget').shadowRoot; const s = (t) => getComputedStyle(r.querySelector('[data-testid=natter-cobrowse-' + t + ']')); const a = s('allow'), d = s('decline'); return { allow: [a.backgroundColor, a.color, a.fontWeight], decline: [d.backgroundColor, d.fontWeight] };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        buttons,
        json!({"allow": ["rgb(37, 99, 235)", "rgb(255, 255, 255)", "600"], "decline": ["rgb(255, 255, 255)", "400"]})
    );
    visitor.screenshot("consent-asked").await.unwrap();
    visitor
        .element_from(
            "the decline button",
            IN_WIDGET,
            vec![json!("[data-testid=natter-cobrowse-decline]")],
        )
        .await
        .click()
        .await
        .unwrap();
    panel(&agent, "the console shows the decline", "declined", false).await;
    let loaded = visitor
        .js(
            "return { recorder: typeof window.NatterCobrowse, scripts: Array.from(document.scripts).filter(s => s.src.includes('/cobrowse/')).length };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, json!({"recorder": "undefined", "scripts": 0}));
    assert!(server.cobrowse_received.lock().unwrap().is_empty());

    // Asked again, the visitor agrees: the agent sees the live page.
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
    panel(&agent, "the session is active", "active", false).await;
    agent
        .wait_js(
            "the replay shows the checkout page",
            "const v = window.NatterConsoleCobrowse.viewer(); const d = v && v.document(); const h = d && d.querySelector('h1'); return h && h.textContent === 'Checkout';",
            vec![],
        )
        .await;
    // The page's inline <style> reaches the replay (its frame's policy allows inline styles).
    let styled = agent
        .wait_js(
            "the replay applies the page's inline style",
            "const d = window.NatterConsoleCobrowse.viewer().document(); const s = d.defaultView.getComputedStyle(d.querySelector('h1')); return s.color === 'rgb(190, 18, 60)' ? [s.color, s.letterSpacing] : null;",
            vec![],
        )
        .await;
    assert_eq!(styled, json!(["rgb(190, 18, 60)", "4px"]));
    // With the replay open the messages keep a usable height and the reply box stays on screen (in this
    // window the list used to shrink to about 30 px, the reply box below the fold).
    let layout = agent
        .js(
            "const m = document.querySelector('[data-testid=messages]').getBoundingClientRect(); const r = document.querySelector('[data-testid=reply-form]').getBoundingClientRect(); const f = document.querySelector('[data-testid=cobrowse-frame]').getBoundingClientRect(); return { messages: m.height, replay: f.height, reply_bottom: r.bottom, viewport: innerHeight };",
            vec![],
        )
        .await
        .unwrap();
    assert!(layout["messages"].as_f64().unwrap() >= 120.0, "{layout}");
    assert!(layout["replay"].as_f64().unwrap() >= 200.0, "{layout}");
    assert!(
        layout["reply_bottom"].as_f64().unwrap() <= layout["viewport"].as_f64().unwrap(),
        "{layout}"
    );
    // Control needs the visitor's grant, and the console says so.
    let hint = agent
        .js(
            "const h = document.querySelector('[data-testid=cobrowse-hint]'); return { shown: !h.hidden && h.getClientRects().length > 0, text: h.textContent, mode_disabled: document.querySelector('[data-testid=cobrowse-mode]').disabled };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hint["shown"], true, "{hint}");
    assert_eq!(hint["mode_disabled"], true, "{hint}");
    assert!(
        hint["text"]
            .as_str()
            .unwrap()
            .contains("the visitor must allow it"),
        "{hint}"
    );
    agent.screenshot("replay-open").await.unwrap();

    // The visitor types; the page reacts; the agent sees the text and the change, never the secrets.
    visitor.click("the name field", "#name").await;
    let name = visitor.wait_for("the name field", "#name").await;
    name.send_keys("Ada Lovelace").await.unwrap();
    let pw = visitor.wait_for("the password field", "#pw").await;
    pw.send_keys(PASSWORD).await.unwrap();
    let card = visitor.wait_for("the card field", "#card").await;
    card.send_keys(CARD).await.unwrap();
    agent
        .wait_js(
            "the replay shows the typed name and the page's greeting",
            "const v = window.NatterConsoleCobrowse.viewer(); const d = v.document(); return d.querySelector('#name').value === 'Ada Lovelace' && d.querySelector('#greeting').textContent === 'Hello, Ada Lovelace';",
            vec![],
        )
        .await;
    let masked = agent
        .wait_js(
            "the replay shows the password and card masked",
            "const v = window.NatterConsoleCobrowse.viewer(); const d = v.document(); const pw = d.querySelector('#pw').value, card = d.querySelector('#card').value; return pw.length === arguments[0] && card.length === arguments[1] ? { pw: pw, card: card } : null;",
            vec![json!(PASSWORD.len()), json!(CARD.len())],
        )
        .await;
    assert_eq!(masked["pw"], "*".repeat(PASSWORD.len()));
    assert_eq!(masked["card"], "*".repeat(CARD.len()));
    agent.screenshot("agent-sees-the-form").await.unwrap();
    visitor.screenshot("visitor-typed").await.unwrap();
    {
        let received = server.cobrowse_received.lock().unwrap();
        assert!(!received.is_empty(), "the server received recorder events");
        assert!(
            received.iter().any(|raw| raw.contains("Ada Lovelace")),
            "the normal field's text was sent"
        );
        for raw in received.iter() {
            assert!(
                !raw.contains(PASSWORD),
                "the password left the browser: {raw}"
            );
            assert!(
                !raw.contains(CARD),
                "the card number left the browser: {raw}"
            );
        }
    }

    // A click before the visitor grants control does nothing (the server refuses to forward it).
    click_then_point(&agent, &visitor, &conversation_id, 101).await;
    assert_eq!(clicks(&visitor).await, "0");

    // Granted, the agent's click in the replay clicks the visitor's button.
    visitor
        .element_from(
            "the grant-control button",
            IN_BAR,
            vec![json!("[data-testid=natter-cobrowse-control]")],
        )
        .await
        .click()
        .await
        .unwrap();
    panel(&agent, "the console shows control granted", "active", true).await;
    agent
        .wait_js(
            "the hint is gone once control is granted",
            "return document.querySelector('[data-testid=cobrowse-hint]').hidden;",
            vec![],
        )
        .await;
    agent
        .click("the control mode", "[data-testid=cobrowse-mode]")
        .await;
    agent
        .js(
            "const stage = document.querySelector('[data-testid=cobrowse-frame]').contentDocument.querySelector('[data-testid=cobrowse-stage]'); const iframe = stage.querySelector('iframe');
             const b = iframe.contentDocument.querySelector('#order').getBoundingClientRect(); const f = iframe.getBoundingClientRect();
             const scale = f.width / (iframe.offsetWidth || f.width);
             stage.querySelector('[data-testid=cobrowse-glass]').dispatchEvent(new MouseEvent('click', { bubbles: true,
               clientX: f.left + (b.left + b.width / 2) * scale, clientY: f.top + (b.top + b.height / 2) * scale }));
             return true;",
            vec![],
        )
        .await
        .unwrap();
    visitor
        .wait_js(
            "the agent's click reached the visitor's button",
            "return document.getElementById('clicks').textContent === '1';",
            vec![],
        )
        .await;
    agent
        .wait_js(
            "the replay shows the result of the click",
            "const v = window.NatterConsoleCobrowse.viewer(); return v.document().querySelector('#clicks').textContent === '1';",
            vec![],
        )
        .await;
    agent.screenshot("agent-clicked").await.unwrap();

    // Revoked, clicks stop.
    visitor
        .element_from(
            "the revoke-control button",
            IN_BAR,
            vec![json!("[data-testid=natter-cobrowse-control]")],
        )
        .await
        .click()
        .await
        .unwrap();
    panel(&agent, "the console shows control revoked", "active", false).await;
    click_then_point(&agent, &visitor, &conversation_id, 202).await;
    assert_eq!(clicks(&visitor).await, "1");
    visitor.screenshot("control-revoked").await.unwrap();

    // Closing the chat ends the session on both sides.
    agent.click("the Close button", "[data-testid=close]").await;
    panel(
        &agent,
        "the console shows the session ended",
        "ended",
        false,
    )
    .await;
    visitor
        .wait_js(
            "the visitor's co-browse bar is gone",
            "return document.querySelector('[data-natter-cobrowse-ui]') === null;",
            vec![],
        )
        .await;
    agent.screenshot("ended").await.unwrap();
    visitor.screenshot("ended").await.unwrap();

    let actions = audit(&server, &conversation_id).await;
    assert_eq!(
        actions,
        [
            ("requested".to_string(), None),
            ("consent_declined".to_string(), None),
            ("requested".to_string(), None),
            ("consent_granted".to_string(), None),
            ("control_granted".to_string(), None),
            ("control_revoked".to_string(), None),
            ("ended".to_string(), Some("chat_closed".to_string())),
        ]
    );

    agent.close().await.unwrap();
    visitor.close().await.unwrap();
    server.stop().await;
}

/// Over bare sockets: a visitor who wrote, an agent with a chat link, and a co-browse session the visitor
/// agreed to and the agent sees active. Answers both sockets, the conversation id and the
/// `cobrowse_request` frame the visitor got.
async fn active_session(server: &TestServer, api: &Api, site: &str) -> (Ws, Ws, String, Value) {
    let (mut visitor, _) = server.visitor(site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "v-1", "body": "help"}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cookie) = server.agent_session(api, "ola", &conversation_id).await;
    let (mut agent, _) = server.agent(&cookie, json!([])).await;
    agent
        .send(json!({"type": "cobrowse_request", "conversation_id": conversation_id}))
        .await;
    let request = visitor.expect("cobrowse_request").await;
    visitor
        .send(json!({"type": "cobrowse_consent", "session_id": request["session_id"], "granted": true}))
        .await;
    loop {
        if agent.expect("cobrowse_state").await["status"] == "active" {
            break;
        }
    }
    (visitor, agent, conversation_id, request)
}

/// The server-side filter with real sockets: a recorder that sends a password value and a script (a
/// tampered or buggy one) reaches the agent masked; control frames need the visitor's grant; the
/// configuration is validated by the plugin; the trail is on the conversation.
#[tokio::test]
async fn the_server_filters_what_a_recorder_sends_and_guards_control() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/cobrowse/config",
            Some(json!({"session_time_limit_seconds": 5})),
        )
        .await
        .unwrap();
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    let (mut visitor, mut agent, conversation_id, request) =
        active_session(&server, &api, &site).await;
    assert!(request["consent_text"].as_str().unwrap().contains("Allow?"));
    let session = request["session_id"].as_str().unwrap().to_string();

    let snapshot = json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0},
        "node": {"type": 0, "id": 1, "childNodes": [
            {"type": 2, "id": 2, "tagName": "input", "attributes": {"type": "password", "value": PASSWORD}, "childNodes": []},
            {"type": 2, "id": 3, "tagName": "script", "attributes": {}, "childNodes": [
                {"type": 3, "id": 4, "textContent": "steal(document.cookie)"}]}]}}});
    let typed = json!({"type": 3, "timestamp": 2, "data": {"source": 5, "id": 2, "text": PASSWORD, "isChecked": false}});
    let oversized = json!({"type": 3, "timestamp": 3, "data": {"source": 0, "adds": [], "removes": [],
        "attributes": [], "texts": [{"id": 9, "value": "x".repeat(220_000)}]}});
    visitor
        .send(json!({"type": "cobrowse_events", "session_id": session, "events": [snapshot, typed, oversized]}))
        .await;
    let events = agent.expect("cobrowse_events").await;
    let text = events.to_string();
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!text.contains("steal"), "{text}");
    assert_eq!(
        events["events"].as_array().unwrap().len(),
        2,
        "the oversized event is dropped"
    );
    assert_eq!(
        events["events"][1]["data"]["text"],
        "*".repeat(PASSWORD.len())
    );

    // Pointing needs no grant; clicking does.
    agent
        .send(
            json!({"type": "cobrowse_control", "conversation_id": conversation_id,
            "control": {"action": "click", "id": 2}}),
        )
        .await;
    assert_eq!(agent.expect("error").await["code"], "conflict");
    agent
        .send(
            json!({"type": "cobrowse_control", "conversation_id": conversation_id,
            "control": {"action": "pointer", "x": 5, "y": 6}}),
        )
        .await;
    let control = visitor.expect("cobrowse_control").await;
    assert_eq!(
        (control["action"].as_str(), control["x"].as_i64()),
        (Some("pointer"), Some(5))
    );

    // An agent who connects late learns of the live session and gets a fresh snapshot asked for.
    let (_, late_cookie) = server.agent_session(&api, "kim", &conversation_id).await;
    let (mut late, _) = server.agent(&late_cookie, json!([])).await;
    let state = late.expect("cobrowse_state").await;
    assert_eq!(
        (state["status"].as_str(), state["session_id"].as_str()),
        (Some("active"), Some(session.as_str()))
    );
    // The console's hint reads whether the visitor can grant control at all.
    assert_eq!(
        state["control_allowed"], request["allow_control"],
        "{state}"
    );
    late.send(json!({"type": "cobrowse_snapshot", "conversation_id": conversation_id}))
        .await;
    assert_eq!(
        visitor.expect("cobrowse_snapshot").await["session_id"],
        session.as_str()
    );

    // The agent ends it; the trail has every step.
    agent
        .send(json!({"type": "cobrowse_end", "conversation_id": conversation_id}))
        .await;
    loop {
        let state = visitor.expect("cobrowse_state").await;
        if state["status"] == "ended" {
            assert_eq!(state["reason"], "ended_by_agent");
            break;
        }
    }
    let actions = audit(&server, &conversation_id).await;
    assert_eq!(
        actions,
        [
            ("requested".to_string(), None),
            ("consent_granted".to_string(), None),
            ("ended".to_string(), Some("ended_by_agent".to_string())),
        ]
    );
    let doc = api.get("/api/v1/openapi.json").await.unwrap();
    for path in [
        "/api/v1/cobrowse/config",
        "/api/v1/conversations/{id}/cobrowse",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    server.stop().await;
}

/// A session ends by itself at the configured time limit (real time: the shortest limit allowed is a
/// minute), on both sides and in the trail.
#[tokio::test]
async fn a_session_ends_at_its_time_limit() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/cobrowse/config",
            Some(json!({"session_time_limit_seconds": 60})),
        )
        .await
        .unwrap();
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (mut visitor, mut agent, conversation_id, _) = active_session(&server, &api, &site).await;

    // Nothing is read meanwhile: the frames wait in the sockets.
    tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    for socket in [&mut visitor, &mut agent] {
        loop {
            let state = socket.expect("cobrowse_state").await;
            if state["status"] == "ended" {
                assert_eq!(state["reason"], "time_limit", "{state}");
                break;
            }
        }
    }
    let actions = audit(&server, &conversation_id).await;
    assert_eq!(
        actions.last(),
        Some(&("ended".to_string(), Some("time_limit".to_string())))
    );
    server.stop().await;
}
