//! The plugin host through the real server: failing plugins fail their calls while the chat keeps flowing,
//! capabilities are denied by default, repeated failures disable a plugin, the folder is hot-reloaded,
//! and the widget configuration and `widget.js` (with its cache) work over HTTP.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;

use natter_core::domain::scope::Scope;
use natter_tests::{Api, DataDir, TestServer, WAIT, repo_root, wait_until};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

fn fixture(name: &str) -> std::path::PathBuf {
    repo_root().join(format!("plugins/dist/fixtures/{name}.wasm"))
}

/// A server whose plugin folder holds copies of the named fixtures and whose widget is `widget`.
async fn server_with_plugins(fixtures: &[&str], widget: &str) -> (TestServer, std::path::PathBuf) {
    let data = DataDir::new();
    let dir = data.path.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    for name in fixtures {
        std::fs::copy(fixture(name), dir.join(format!("{name}.wasm"))).unwrap();
    }
    let widget = widget.to_string();
    let plugin_dir = dir.clone();
    let server = TestServer::start_with(&data, move |config| {
        config.plugins.dir = plugin_dir.display().to_string();
        config.plugins.widget = widget;
        config.plugins.call_deadline_ms = 100;
        config.plugins.memory_limit_bytes = 16 * 1024 * 1024;
        config.plugins.failures_before_disable = 3;
    })
    .await;
    (server, dir)
}

async fn widget_js(server: &TestServer, site: &str) -> reqwest::Response {
    reqwest::get(server.url(&format!("/widget.js?site={site}")))
        .await
        .unwrap()
}

async fn plugin(api: &Api, name: &str) -> Option<Value> {
    let plugins = api.get("/api/v1/plugins").await.unwrap();
    plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
}

/// Visitor and agent exchange one message each way over the real sockets.
async fn chat_round(
    visitor: &mut natter_tests::Ws,
    agent: &mut natter_tests::Ws,
    conversation_id: &str,
    n: usize,
) {
    let from_visitor = format!("visitor says {n}");
    visitor
        .send(json!({"type": "message", "client_id": format!("v-{n}"), "body": from_visitor}))
        .await;
    visitor.expect("ack").await;
    agent.expect_message(&from_visitor).await;
    let from_agent = format!("agent answers {n}");
    agent
        .send(
            json!({"type": "message", "conversation_id": conversation_id,
            "client_id": format!("a-{n}"), "body": from_agent}),
        )
        .await;
    agent.expect("ack").await;
    visitor.expect_message(&from_agent).await;
}

/// Renders `widget.js` with a failing widget plugin several times at once while a visitor and an agent
/// chat; every render fails with `kind`, the chat never stalls, and the plugin ends up disabled.
async fn failing_widget_keeps_chat_flowing(fixture_name: &str, plugin_name: &str, kind: &str) {
    let (server, _dir) = server_with_plugins(&[fixture_name], plugin_name).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "v-0", "body": "hello"}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cookie) = server.agent_session(&api, "ada", &conversation_id).await;
    let (mut agent, _) = server.agent(&cookie, json!([])).await;
    agent
        .send(json!({"type": "sync", "conversation_id": conversation_id, "after_seq": 0}))
        .await;
    agent.expect_message("hello").await;

    let renders: Vec<_> = (0..3)
        .map(|_| {
            let url = server.url(&format!("/widget.js?site={site}"));
            tokio::spawn(async move { reqwest::get(url).await.unwrap() })
        })
        .collect();
    // While the calls run (or after they failed), messages go both ways.
    for n in 1..=3 {
        chat_round(&mut visitor, &mut agent, &conversation_id, n).await;
    }
    for render in renders {
        let response = render.await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = response.text().await.unwrap();
        assert!(
            body.starts_with("/* natter:"),
            "an error is a script comment: {body}"
        );
    }
    let state = plugin(&api, plugin_name).await.unwrap();
    assert_eq!(state["failures"], 3, "{state}");
    assert!(
        state["last_failure"]
            .as_str()
            .unwrap()
            .contains(&format!("({kind})")),
        "classified as {kind}: {state}"
    );
    // The chat's hook calls succeed (only render fails) and may have interrupted the run of failures:
    // failing renders in a row disable the plugin.
    for _ in 0..6 {
        if plugin(&api, plugin_name).await.unwrap()["status"] == "disabled" {
            break;
        }
        assert_eq!(
            widget_js(&server, &site).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    let state = plugin(&api, plugin_name).await.unwrap();
    assert_eq!(state["status"], "disabled", "{state}");
    // Disabled: refused at once without a call, and the chat still flows.
    assert_eq!(
        widget_js(&server, &site).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        plugin(&api, plugin_name).await.unwrap()["calls"],
        state["calls"]
    );
    chat_round(&mut visitor, &mut agent, &conversation_id, 4).await;
    server.stop().await;
}

#[tokio::test]
async fn a_plugin_looping_forever_fails_at_the_deadline_while_chat_flows() {
    failing_widget_keeps_chat_flowing("loop", "fixture-loop", "deadline").await;
}

#[tokio::test]
async fn a_plugin_allocating_without_end_fails_at_the_memory_cap_while_chat_flows() {
    failing_widget_keeps_chat_flowing("alloc", "fixture-alloc", "memory").await;
}

#[tokio::test]
async fn a_trapping_plugin_fails_its_call_while_chat_flows() {
    failing_widget_keeps_chat_flowing("trap", "fixture-trap", "trap").await;
}

#[tokio::test]
async fn an_ungranted_capability_is_refused_even_if_configured() {
    let data = DataDir::new();
    let dir = data.path.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("ungranted-capability"), dir.join("u.wasm")).unwrap();
    let server = TestServer::start_with(&data, |config| {
        config.plugins.dir = dir.display().to_string();
        config.plugins.widget = "fixture-ungranted-capability".into();
        // Granted here, but the manifest never asked: still denied.
        config
            .plugins
            .grants
            .insert("fixture-ungranted-capability".into(), vec!["kv".into()]);
    })
    .await;
    let site = server.site_key().await;
    let api = server.admin().await;
    assert_eq!(
        widget_js(&server, &site).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let state = plugin(&api, "fixture-ungranted-capability").await.unwrap();
    assert_eq!(state["capabilities_granted"], json!([]));
    let last = state["last_failure"].as_str().unwrap();
    assert!(last.contains("(denied)") && last.contains("`kv`"), "{last}");
    server.stop().await;
}

#[tokio::test]
async fn a_plugin_of_an_unknown_api_version_is_not_loaded_and_the_server_runs_on() {
    let (server, _dir) = server_with_plugins(&["wrong-api-version"], "webchat").await;
    let site = server.site_key().await;
    let api = server.admin().await;
    assert!(plugin(&api, "fixture-wrong-api-version").await.is_none());
    assert!(plugin(&api, "webchat").await.is_some());
    assert_eq!(widget_js(&server, &site).await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn replacing_a_file_in_the_plugin_folder_takes_effect_without_restart() {
    let (server, dir) = server_with_plugins(&[], "webchat").await;
    let api = server.admin().await;
    assert_eq!(plugin(&api, "webchat").await.unwrap()["source"], "built-in");

    // Written aside and renamed into place, as a deploy should, so the host never reads half a file.
    let place = |from: &Path, name: &str| {
        let staging = dir.join(format!("{name}.partial"));
        std::fs::copy(from, &staging).unwrap();
        std::fs::rename(&staging, dir.join(name)).unwrap();
    };
    place(
        &repo_root().join("plugins/dist/webchat.wasm"),
        "vendor.wasm",
    );
    wait_until("the folder copy replaces the built-in", WAIT, || async {
        plugin(&api, "webchat")
            .await
            .is_some_and(|p| p["replaces_builtin"] == true)
    })
    .await;
    place(&fixture("trap"), "vendor.wasm");
    wait_until("the replaced file is loaded", WAIT, || async {
        plugin(&api, "fixture-trap").await.is_some()
    })
    .await;
    assert_eq!(
        plugin(&api, "webchat").await.unwrap()["source"],
        "built-in",
        "the built-in is back once the file no longer provides webchat"
    );
    std::fs::remove_file(dir.join("vendor.wasm")).unwrap();
    wait_until("the removed file is unloaded", WAIT, || async {
        plugin(&api, "fixture-trap").await.is_none()
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn widget_config_is_validated_by_the_plugin_and_versioned() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let config = admin.get("/api/v1/widget/config").await.unwrap();
    assert_eq!(config["plugin"], "webchat");
    assert_eq!(config["version"], 0);
    assert_eq!(
        config["config"]["color"], "#2563eb",
        "defaults from the schema"
    );
    assert_eq!(config["stored"], json!({}));

    let writer = admin.with_token(&server.token(&[Scope::WidgetWrite]).await);
    let (status, body) = writer
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"color": "red", "position": "middle"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["field"], "color");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("position"),
        "every bad field is named: {body}"
    );

    let (status, stored) = writer
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"color": "#0f766e", "title": "Talk to us"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["config"]["title"], "Talk to us");
    assert_eq!(
        stored["config"]["position"], "right",
        "defaults stay filled in"
    );
    let reader = admin.with_token(&server.token(&[Scope::WidgetRead]).await);
    assert_eq!(
        reader.get("/api/v1/widget/config").await.unwrap()["version"],
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn widget_js_is_rendered_once_per_version_and_answers_304() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let admin = server.admin().await;

    let first = widget_js(&server, &site).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        first.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
    assert!(
        first.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let etag = first.headers()[ETAG].to_str().unwrap().to_string();
    assert!(first.text().await.unwrap().contains("#2563eb"));
    let calls = plugin(&admin, "webchat").await.unwrap()["calls"].clone();

    // The same version again: from the cache, the plugin is not called.
    let again = widget_js(&server, &site).await;
    assert_eq!(again.headers()[ETAG].to_str().unwrap(), etag);
    assert_eq!(plugin(&admin, "webchat").await.unwrap()["calls"], calls);
    let client = reqwest::Client::new();
    let conditional = client
        .get(server.url(&format!("/widget.js?site={site}")))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(conditional.status(), StatusCode::NOT_MODIFIED);

    // A configuration change is a new version: a new tag and a new script.
    let (status, _) = admin
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({"color": "#0f766e"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let changed = client
        .get(server.url(&format!("/widget.js?site={site}")))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[ETAG].to_str().unwrap(), etag);
    assert!(changed.text().await.unwrap().contains("#0f766e"));

    let unknown = widget_js(&server, "site_nope").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().starts_with("/* natter:"));
    let missing = reqwest::get(server.url("/widget.js")).await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn widget_js_is_brotli_for_clients_that_take_it_and_gzip_for_the_rest() {
    use std::io::Read;

    let server = TestServer::start().await;
    let site = server.site_key().await;
    // No automatic decompression: the bytes as they crossed the socket.
    let client = reqwest::Client::new();
    let fetch = |accept: &'static str| {
        let client = client.clone();
        let url = server.url(&format!("/widget.js?site={site}"));
        async move {
            let response = client
                .get(url)
                .header("accept-encoding", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_string())
            };
            let (encoding, vary, etag) =
                (header("content-encoding"), header("vary"), header("etag"));
            (
                encoding,
                vary,
                etag,
                response.bytes().await.unwrap().to_vec(),
            )
        }
    };
    let (plain_encoding, _, plain_etag, plain) = fetch("identity").await;
    assert_eq!(plain_encoding, None);
    let (br_encoding, br_vary, br_etag, br) = fetch("gzip, deflate, br").await;
    assert_eq!(br_encoding.as_deref(), Some("br"));
    assert_eq!(br_vary.as_deref(), Some("accept-encoding"));
    assert_eq!(br_etag, plain_etag, "one version, whatever the encoding");
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain, "br decodes to the script itself");
    let (gzip_encoding, _, _, gzip) = fetch("br;q=0, gzip").await;
    assert_eq!(
        gzip_encoding.as_deref(),
        Some("gzip"),
        "br refused by weight 0"
    );
    assert!(br.len() < gzip.len(), "br is served because it is smaller");
    server.stop().await;
}

/// How many calls the widget plugin has answered so far.
async fn webchat_calls(api: &Api) -> u64 {
    plugin(api, "webchat").await.unwrap()["calls"]
        .as_u64()
        .unwrap()
}

/// The server calls the widget's `on-visitor-event` hook on real chat events and carries out what it
/// answers: WebChat posts its offline text into a conversation started while no agent is available, and
/// nothing while one is. WebChat's schema takes only `conversation-started`, so hellos and messages make
/// no hook call at all.
#[tokio::test]
async fn the_widget_hook_posts_the_offline_text_when_nobody_is_available() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let admin = server.admin().await;
    let offline = "Nobody is here right now; we answer within a day.";
    let (status, _) = admin
        .send(
            "PUT",
            "/api/v1/widget/config",
            Some(json!({ "offline_text": offline, "offline_reply": true })),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);

    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "q-1", "body": "Where is my order?"}))
        .await;
    let ack = visitor.expect("ack").await;
    let conversation_id = ack["conversation_id"].as_str().unwrap().to_string();
    let notice = visitor.expect_message(offline).await;
    assert_eq!(notice["author"]["kind"], "system", "{notice}");
    assert_eq!(notice["conversation_id"], conversation_id.as_str());
    let stored = admin
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap();
    assert_eq!(
        stored["conversation"]["last_seq"], 2,
        "the notice is stored: {stored}"
    );

    // An agent is available now: a new conversation gets no notice. The hook calls are counted, so the
    // check waits until the conversation start's hook ran.
    let (_, cookie) = server.agent_session(&admin, "ada", &conversation_id).await;
    let (_agent, _) = server.agent(&cookie, json!([])).await;
    let before = webchat_calls(&admin).await;
    let (mut second, _) = server.visitor(&site, None, None).await;
    second
        .send(json!({"type": "message", "client_id": "q-2", "body": "Hello?"}))
        .await;
    let ack = second.expect("ack").await;
    let second_id = ack["conversation_id"].as_str().unwrap().to_string();
    wait_until("the conversation start's hook ran", WAIT, || {
        let admin = admin.clone();
        async move { webchat_calls(&admin).await > before }
    })
    .await;
    let stored = admin
        .get(&format!("/api/v1/conversations/{second_id}"))
        .await
        .unwrap();
    assert_eq!(
        stored["conversation"]["last_seq"], 1,
        "no notice while an agent is available: {stored}"
    );

    // More messages, then a third conversation: its start is the one more call. Every message and hello
    // before it would have been a call each (their hooks start earlier than the third start's).
    for n in 3..=5 {
        second
            .send(json!({"type": "message", "client_id": format!("q-{n}"), "body": "Still there?"}))
            .await;
        second.expect("ack").await;
    }
    let (mut third, _) = server.visitor(&site, None, None).await;
    third
        .send(json!({"type": "message", "client_id": "q-6", "body": "Hi"}))
        .await;
    third.expect("ack").await;
    wait_until("the third start's hook ran", WAIT, || {
        let admin = admin.clone();
        async move { webchat_calls(&admin).await > before + 1 }
    })
    .await;
    assert_eq!(
        webchat_calls(&admin).await,
        before + 2,
        "one call per conversation start, none per hello or message"
    );
}
