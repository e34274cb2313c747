//! Integration plugins and the event stream through the real server: `on-event` gets each registered
//! event in order, a failing event is retried and then skipped, and the built-in `webhooks` plugin shapes
//! what endpoints receive according to its configuration (`/api/v1/plugins/webhooks/config`).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use natter_tests::receiver::Receiver;
use natter_tests::{Api, DataDir, TestServer, repo_root, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A server with the `event-log` fixture in its plugin folder, granted its key-value store.
async fn server_with_event_log() -> TestServer {
    let data = DataDir::new();
    let dir = data.path.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        repo_root().join("plugins/dist/fixtures/event-log.wasm"),
        dir.join("event-log.wasm"),
    )
    .unwrap();
    TestServer::start_with(&data, move |c| {
        c.plugins.dir = dir.display().to_string();
        c.plugins
            .grants
            .insert("fixture-event-log".into(), vec!["kv".into()]);
        c.delivery.poll_interval_ms = 20;
        c.delivery.backoff_base_ms = 20;
        c.delivery.backoff_cap_ms = 100;
        c.delivery.allow_private_targets = true;
    })
    .await
}

async fn event_log(api: &Api) -> Vec<Value> {
    api.get("/api/v1/fixture/event-log")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn message_bodies(log: &[Value]) -> Vec<String> {
    log.iter()
        .filter(|e| e["type"] == "message.created")
        .map(|e| e["data"]["message"]["body"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_plugin_gets_its_events_in_order_with_retries_and_skips_a_poisoned_one() {
    let server = server_with_event_log().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    for body in ["first", "fail-once", "fail-always", "last"] {
        visitor
            .send(json!({"type": "message", "client_id": body, "body": body}))
            .await;
        visitor.expect("ack").await;
    }
    // A customer event too: the fixture registered for it.
    api.send(
        "PUT",
        "/api/v1/customers/c-9",
        Some(json!({"labels": ["vip"]})),
    )
    .await
    .unwrap();

    wait_until("the last event reaches the plugin", WAIT, || {
        let api = api.clone();
        async move {
            event_log(&api)
                .await
                .iter()
                .any(|e| e["type"] == "customer.updated")
        }
    })
    .await;
    let log = event_log(&api).await;
    let types: Vec<&str> = log.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "conversation.started", "{types:?}");
    // `fail-once` came through on its second attempt, in its place; `fail-always` was skipped after
    // its attempts, and what followed it still arrived.
    assert_eq!(message_bodies(&log), ["first", "fail-once", "last"]);
    assert_eq!(*types.last().unwrap(), "customer.updated");
    let ids: std::collections::HashSet<&str> =
        log.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), log.len(), "each event once");
    server.stop().await;
}

#[tokio::test]
async fn the_webhooks_plugin_shapes_what_endpoints_receive() {
    let server = TestServer::start_with(&DataDir::new(), |c| {
        c.delivery.allow_private_targets = true;
        c.delivery.poll_interval_ms = 20;
    })
    .await;
    let api = server.admin().await;

    // Its configuration: defaults from its schema; a bad value is 422 naming the field.
    let config = api.get("/api/v1/plugins/webhooks/config").await.unwrap();
    assert_eq!(config["version"], 0);
    assert_eq!(config["config"]["message_body"], "full");
    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/plugins/webhooks/config",
            Some(json!({"message_body": "sometimes"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "message_body");
    let (status, _) = api
        .send("GET", "/api/v1/plugins/webchat/config", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "not an integration plugin");

    let receiver = Receiver::start().await;
    receiver.subscribe(&api, &["message.created"]).await;
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;

    // Default: the envelope, body and all.
    visitor
        .send(json!({"type": "message", "client_id": "a", "body": "my card is 4242"}))
        .await;
    visitor.expect("ack").await;
    let got = receiver
        .wait_for("the first message", WAIT, |d| !d.is_empty())
        .await;
    assert!(got[0].verified);
    assert_eq!(got[0].body["data"]["message"]["body"], "my card is 4242");
    assert!(got[0].body["data"].get("account").is_none());

    let (status, stored) = api
        .send(
            "PUT",
            "/api/v1/plugins/webhooks/config",
            Some(json!({"message_body": "omit", "extra": {"account": "acme"}})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["version"], 1);
    visitor
        .send(json!({"type": "message", "client_id": "b", "body": "and my pin is 1234"}))
        .await;
    visitor.expect("ack").await;
    let got = receiver
        .wait_for("the second message", WAIT, |d| d.len() >= 2)
        .await;
    let shaped = &got[1];
    assert!(shaped.verified, "signed over the shaped bytes");
    assert_eq!(shaped.body["type"], "message.created");
    assert_eq!(shaped.body["data"]["account"], "acme");
    assert_eq!(shaped.body["data"]["message"]["seq"], 2);
    assert!(
        shaped.body["data"]["message"].get("body").is_none(),
        "{}",
        shaped.raw
    );
    // The words, not the digits alone: ids and timestamps in the envelope may hold "1234".
    assert!(!shaped.raw.contains("my pin is"), "{}", shaped.raw);
    server.stop().await;
}
