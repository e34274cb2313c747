//! Integration plugins reading conversations (`conversation-get`, `messages-list`, capability
//! `conversations.read`) and queueing deliveries of their own (`delivery-enqueue`, `deliveries.write`)
//! through the real server, with the `conversation-export` fixture and a signature-checking receiver.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use natter_tests::receiver::Receiver;
use natter_tests::{Api, DataDir, TestServer, repo_root};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A server with the `conversation-export` fixture in its plugin folder, granted `grants`.
async fn server_with_export(grants: &[&str]) -> TestServer {
    let data = DataDir::new();
    let dir = data.path.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        repo_root().join("plugins/dist/fixtures/conversation-export.wasm"),
        dir.join("conversation-export.wasm"),
    )
    .unwrap();
    let grants: Vec<String> = grants.iter().map(|g| (*g).to_string()).collect();
    TestServer::start_with(&data, move |c| {
        c.plugins.dir = dir.display().to_string();
        c.plugins
            .grants
            .insert("fixture-conversation-export".into(), grants);
        c.delivery.poll_interval_ms = 20;
        c.delivery.allow_private_targets = true;
    })
    .await
}

/// A conversation with a visitor's two messages and an agent's reply; answers its id.
async fn conversation(server: &TestServer, api: &Api) -> String {
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    let mut conversation = String::new();
    for body in ["Hello?", "<b>Order 42</b> is late"] {
        visitor
            .send(json!({"type": "message", "client_id": body, "body": body}))
            .await;
        conversation = visitor.expect("ack").await["conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let (_, cookie) = server.agent_session(api, "ada", &conversation).await;
    let (mut agent, _) = server.agent(&cookie, json!([])).await;
    agent
        .send(
            json!({"type": "message", "conversation_id": conversation, "client_id": "a-1",
            "body": "Looking into it"}),
        )
        .await;
    agent.expect("ack").await;
    conversation
}

#[tokio::test]
async fn a_plugin_reads_a_conversation_and_queues_a_signed_delivery_of_it() {
    let server = server_with_export(&["conversations.read", "deliveries.write"]).await;
    let api = server.admin().await;
    let id = conversation(&server, &api).await;

    // Read through the host: the conversation and every message, in order, with their authors.
    let read = api
        .get(&format!("/api/v1/fixture/conversations/{id}"))
        .await
        .unwrap();
    let stored = api
        .get(&format!("/api/v1/conversations/{id}"))
        .await
        .unwrap();
    assert_eq!(read["conversation"]["id"], id.as_str());
    assert_eq!(
        read["conversation"]["customerId"],
        stored["conversation"]["customer_id"]
    );
    assert_eq!(read["conversation"]["status"], "open");
    assert_eq!(read["conversation"]["lastSeq"], 3);
    let messages: Vec<(&str, &str)> = read["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["author"].as_str().unwrap(), m["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        messages,
        [
            ("visitor", "Hello?"),
            ("visitor", "<b>Order 42</b> is late"),
            ("agent", "Looking into it")
        ]
    );
    assert_eq!(read["messages"][2]["authorName"], "ada");
    let (status, body) = api
        .send(
            "GET",
            &format!("/api/v1/fixture/conversations/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Queue it to an endpoint that subscribed to nothing of the kind: the plugin names the endpoint.
    let receiver = Receiver::start().await;
    let endpoint = receiver.subscribe(&api, &["conversation.closed"]).await;
    let webhook = endpoint["id"].as_str().unwrap();
    let queued = api
        .post(
            &format!("/api/v1/fixture/conversations/{id}/forward"),
            json!({"webhook": webhook}),
        )
        .await
        .unwrap();
    let event_id = queued["eventId"].as_str().unwrap().to_string();
    let got = receiver
        .wait_for("the plugin's delivery", WAIT, |d| !d.is_empty())
        .await;
    assert_eq!(got.len(), 1, "only the plugin's delivery: {got:?}");
    let delivery = &got[0];
    assert!(delivery.verified, "signed with the endpoint's secret");
    assert_eq!(delivery.id, event_id, "webhook-id is the answered event id");
    assert_eq!(delivery.event_type(), "fixture.transcript");
    assert_eq!(
        delivery.body["data"], read,
        "data exactly as the plugin gave it"
    );

    // It is in the endpoint's delivery log like the platform's events.
    let log = receiver.delivered_log(&api, webhook, WAIT).await;
    let entry = log
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event_id"] == event_id.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(entry["event_type"], "fixture.transcript", "{log}");
    assert_eq!(entry["state"], "delivered");
    assert_eq!(entry["conversation_id"], id.as_str());

    // An unknown endpoint is refused with the host's reason, and nothing is queued.
    let (status, body) = api
        .send(
            "POST",
            &format!("/api/v1/fixture/conversations/{id}/forward"),
            Some(json!({"webhook": uuid::Uuid::new_v4().to_string()})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "webhook");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no enabled webhook endpoint"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn without_the_grants_the_plugin_reads_and_queues_nothing() {
    let server = server_with_export(&[]).await;
    let api = server.admin().await;
    let id = conversation(&server, &api).await;
    let (status, body) = api
        .send("GET", &format!("/api/v1/fixture/conversations/{id}"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("conversations.read") && message.contains("not granted"),
        "{message}"
    );
    server.stop().await;

    // Reading granted, queueing not: the forward is refused before anything reaches the outbox.
    let server = server_with_export(&["conversations.read"]).await;
    let api = server.admin().await;
    let id = conversation(&server, &api).await;
    let receiver = Receiver::start().await;
    let endpoint = receiver.subscribe(&api, &["conversation.closed"]).await;
    let webhook = endpoint["id"].as_str().unwrap();
    let (status, body) = api
        .send(
            "POST",
            &format!("/api/v1/fixture/conversations/{id}/forward"),
            Some(json!({"webhook": webhook})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deliveries.write"),
        "{body}"
    );
    let log = api
        .get(&format!("/api/v1/webhooks/{webhook}/deliveries"))
        .await
        .unwrap();
    assert_eq!(log, json!([]), "nothing queued");
    server.stop().await;
}
