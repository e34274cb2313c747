//! Webhooks end to end: a real receiver on localhost that verifies every signature, fed by the
//! outbox as visitors, agents and integrators change conversations.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::HashMap;
use std::time::Duration;

use natter_core::config::Config;
use natter_core::domain::scope::Scope;
use natter_tests::receiver::{Received, Receiver};
use natter_tests::{DataDir, TestServer, open_link, wait_until};
use reqwest::StatusCode;
use serde_json::json;

/// Retries within a test run: back-off in tens of milliseconds, the worker polling often.
const DELIVERY_WAIT: Duration = Duration::from_secs(20);

async fn server_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with(&DataDir::new(), |c| {
        c.delivery.allow_private_targets = true;
        c.delivery.backoff_base_ms = 20;
        c.delivery.backoff_cap_ms = 200;
        c.delivery.poll_interval_ms = 20;
        c.delivery.request_timeout_seconds = 5;
        tweak(c);
    })
    .await
}

/// A visitor who opens a conversation with `body`; returns the socket and the conversation id.
async fn visitor_writes(server: &TestServer, site: &str, body: &str) -> (natter_tests::Ws, String) {
    let (mut visitor, _) = server.visitor(site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": body, "body": body}))
        .await;
    let ack = visitor.expect("ack").await;
    let conversation = ack["conversation_id"].as_str().unwrap().to_string();
    (visitor, conversation)
}

fn of_type<'a>(received: &'a [Received], kind: &str) -> Vec<&'a Received> {
    received.iter().filter(|r| r.event_type() == kind).collect()
}

fn bodies(received: &[Received]) -> Vec<String> {
    of_type(received, "message.created")
        .iter()
        .map(|r| {
            r.body["data"]["message"]["body"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn seed_flow_delivers_signed_events_an_integrator_routes_and_joins_on() {
    let server = server_with(|_| {}).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    receiver
        .subscribe(
            &api,
            &[
                "conversation.started",
                "message.created",
                "conversation.assigned",
            ],
        )
        .await;

    // A visitor starts a chat: conversation.started arrives, with the customerId to join on.
    let (mut visitor, conversation) = visitor_writes(&server, &site, "Hello, anyone there?").await;
    let got = receiver
        .wait_for("conversation.started", DELIVERY_WAIT, |r| {
            !of_type(r, "conversation.started").is_empty()
        })
        .await;
    let started = of_type(&got, "conversation.started")[0];
    assert!(started.verified, "signature verifies: {started:?}");
    assert_eq!(
        started.body["id"],
        started.id.as_str(),
        "envelope id is webhook-id"
    );
    let data = &started.body["data"];
    assert_eq!(data["conversationId"], conversation.as_str());
    assert_eq!(data["status"], "open");
    assert_eq!(data["message"]["body"], "Hello, anyone there?");
    let customer = data["customerId"].as_str().unwrap().to_string();
    let stored = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .unwrap();
    assert_eq!(stored["conversation"]["customer_id"], customer.as_str());

    // The integrator routes it and asks for an agent chat URL with the customerId as it came.
    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "ada@example.com", "name": "Ada", "external_id": "crm-42"}),
        )
        .await
        .unwrap();
    let agent_id = agent["id"].as_str().unwrap();
    api.post(
        &format!("/api/v1/conversations/{conversation}/assign"),
        json!({"agent_id": agent_id}),
    )
    .await
    .unwrap();
    let link = api
        .post(
            &format!("/api/v1/agents/{agent_id}/chat-links"),
            json!({"customerId": customer}),
        )
        .await
        .unwrap();
    assert_eq!(link["conversation_id"], conversation.as_str());

    // The agent opens it and replies.
    let cookie = open_link(link["url"].as_str().unwrap()).await.unwrap();
    let (mut agent_ws, _) = server.agent(&cookie, json!([])).await;
    agent_ws
        .send(json!({"type": "message", "conversation_id": conversation,
            "client_id": "reply-1", "body": "Hi, Ada here."}))
        .await;
    agent_ws.expect("ack").await;
    visitor.expect_message("Hi, Ada here.").await;

    let got = receiver
        .wait_for("both message.created", DELIVERY_WAIT, |r| {
            of_type(r, "message.created").len() == 2
        })
        .await;
    assert!(got.iter().all(|r| r.verified), "every signature verifies");
    assert_eq!(bodies(&got), ["Hello, anyone there?", "Hi, Ada here."]);
    let reply = of_type(&got, "message.created")[1];
    assert_eq!(reply.body["data"]["message"]["author"]["kind"], "agent");
    assert_eq!(reply.body["data"]["message"]["author"]["id"], agent_id);
    assert_eq!(reply.body["data"]["message"]["seq"], 2);
    assert_eq!(reply.body["data"]["customerId"], customer.as_str());
    assert_eq!(reply.body["data"]["assigneeId"], agent_id);
    let assigned = of_type(&got, "conversation.assigned");
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].body["data"]["assignee"]["externalId"], "crm-42");

    // Per conversation, in the order things happened.
    let kinds: Vec<&str> = got.iter().map(Received::event_type).collect();
    assert_eq!(
        kinds,
        [
            "conversation.started",
            "message.created",
            "conversation.assigned",
            "message.created"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_gets_everything_in_order_once_it_answers_again() {
    let server = server_with(|_| {}).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    let endpoint = receiver.subscribe(&api, &["message.created"]).await;
    receiver.answer_always(Some(500));

    let (mut a, first) = visitor_writes(&server, &site, "a1").await;
    let (mut b, _) = visitor_writes(&server, &site, "b1").await;
    for body in ["a2", "b2", "a3"] {
        let socket = if body.starts_with('a') {
            &mut a
        } else {
            &mut b
        };
        socket
            .send(json!({"type": "message", "client_id": body, "body": body}))
            .await;
        socket.expect("ack").await;
    }
    wait_until("several failed attempts", DELIVERY_WAIT, || {
        let failed = receiver.received().iter().filter(|r| !r.accepted()).count();
        async move { failed >= 4 }
    })
    .await;
    receiver.answer_always(None);

    let got = receiver
        .wait_for("all five messages", DELIVERY_WAIT, |r| r.len() == 5)
        .await;
    assert!(receiver.received().iter().all(|r| r.verified));
    let of = |prefix: &str| -> Vec<String> {
        bodies(&got)
            .into_iter()
            .filter(|b| b.starts_with(prefix))
            .collect()
    };
    assert_eq!(of("a"), ["a1", "a2", "a3"]);
    assert_eq!(of("b"), ["b1", "b2"]);

    // A later event of a conversation is never sent before an earlier one was accepted.
    let mut accepted_bodies = Vec::new();
    for request in receiver.received() {
        let body = request.body["data"]["message"]["body"]
            .as_str()
            .unwrap()
            .to_string();
        let (conversation, n) = body.split_at(1);
        let n: u32 = n.parse().unwrap();
        if n > 1 {
            let before = format!("{conversation}{}", n - 1);
            assert!(
                accepted_bodies.contains(&before),
                "{body} was sent before {before} was accepted"
            );
        }
        if request.accepted() {
            accepted_bodies.push(body);
        }
    }

    // Retries carry the same id and the same bytes.
    let mut by_id: HashMap<String, Vec<&Received>> = HashMap::new();
    let all = receiver.received();
    for r in &all {
        by_id.entry(r.id.clone()).or_default().push(r);
    }
    for tries in by_id.values() {
        assert!(tries.iter().all(|t| t.raw == tries[0].raw));
    }

    // The log shows every attempt: status, error, duration.
    let id = endpoint["id"].as_str().unwrap();
    let log = api
        .get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await
        .unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 5);
    let a1 = log
        .iter()
        .find(|d| d["payload"]["data"]["message"]["body"] == "a1")
        .unwrap();
    assert_eq!(a1["state"], "delivered");
    assert_eq!(a1["conversation_id"], first.as_str());
    let attempts = a1["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{a1}");
    assert_eq!(a1["attempt_count"], attempts.len());
    assert_eq!(attempts[0]["number"], 1);
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[0]["error"], "HTTP 500 Internal Server Error");
    let last = attempts.last().unwrap();
    assert_eq!(last["status_code"], 200);
    assert!(last["error"].is_null());
    assert!(last["duration_ms"].is_u64());
    assert!(a1["next_attempt_at"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn a_receiver_that_answers_too_late_is_retried() {
    let server = server_with(|c| c.delivery.request_timeout_seconds = 1).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    let endpoint = receiver.subscribe(&api, &["conversation.started"]).await;
    let id = endpoint["id"].as_str().unwrap();
    receiver.answer_late(200, Duration::from_secs(3));
    visitor_writes(&server, &site, "slow").await;

    wait_until(
        "the delivery is retried and accepted",
        DELIVERY_WAIT,
        || {
            let api = api.clone();
            let path = format!("/api/v1/webhooks/{id}/deliveries");
            async move { api.get(&path).await.unwrap()[0]["state"] == "delivered" }
        },
    )
    .await;
    let log = api
        .get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await
        .unwrap();
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{log}");
    assert!(attempts[0]["status_code"].is_null());
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert_eq!(attempts[1]["status_code"], 200);
    let all = receiver.received();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, all[1].id, "the retry keeps the webhook-id");
    server.stop().await;
}

#[tokio::test]
async fn a_delivery_can_be_redelivered_by_hand_with_the_same_id() {
    let server = server_with(|_| {}).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    let endpoint = receiver.subscribe(&api, &["conversation.started"]).await;
    let id = endpoint["id"].as_str().unwrap();
    visitor_writes(&server, &site, "once").await;
    let got = receiver
        .wait_for("conversation.started", DELIVERY_WAIT, |r| r.len() == 1)
        .await;
    let log = receiver.delivered_log(&api, id, DELIVERY_WAIT).await;
    let delivery = log[0]["id"].as_str().unwrap();
    assert_eq!(log[0]["event_id"], got[0].id.as_str());

    let queued = api
        .post(
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(queued["state"], "pending");
    wait_until("the redelivery arrives", DELIVERY_WAIT, || {
        let n = receiver.received().len();
        async move { n == 2 }
    })
    .await;
    let all = receiver.received();
    assert_eq!(all[1].id, all[0].id, "same webhook-id");
    assert_eq!(all[1].raw, all[0].raw, "same payload");
    assert!(all[1].verified);
    wait_until("the log shows two attempts", DELIVERY_WAIT, || {
        let api = api.clone();
        let path = format!("/api/v1/webhooks/{id}/deliveries");
        async move {
            let log = api.get(&path).await.unwrap();
            log[0]["state"] == "delivered" && log[0]["attempts"].as_array().unwrap().len() == 2
        }
    })
    .await;

    let (status, body) = api
        .send(
            "POST",
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
                uuid::Uuid::new_v4()
            ),
            Some(json!({})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_disabled_with_a_reason_until_enabled_again() {
    // Every delivery is given up at its first failure; two in a row disable the endpoint.
    let server = server_with(|c| {
        c.delivery.max_age_seconds = 0;
        c.delivery.failures_before_disable = 2;
    })
    .await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    let endpoint = receiver.subscribe(&api, &["message.created"]).await;
    let id = endpoint["id"].as_str().unwrap().to_string();
    receiver.answer_always(Some(503));

    let (mut visitor, _) = visitor_writes(&server, &site, "one").await;
    visitor
        .send(json!({"type": "message", "client_id": "two", "body": "two"}))
        .await;
    visitor.expect("ack").await;
    wait_until("the endpoint is disabled", DELIVERY_WAIT, || {
        let api = api.clone();
        let path = format!("/api/v1/webhooks/{id}");
        async move { api.get(&path).await.unwrap()["enabled"] == false }
    })
    .await;
    let shown = api.get(&format!("/api/v1/webhooks/{id}")).await.unwrap();
    let reason = shown["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("2 deliveries in a row"), "{reason}");
    assert!(reason.contains("HTTP 503"), "{reason}");
    let dead = api
        .get(&format!("/api/v1/webhooks/{id}/deliveries?state=dead"))
        .await
        .unwrap();
    assert_eq!(dead.as_array().unwrap().len(), 2);

    // Disabled: nothing more is queued for it, and redelivery asks to enable it first.
    visitor
        .send(json!({"type": "message", "client_id": "three", "body": "three"}))
        .await;
    visitor.expect("ack").await;
    let log = api
        .get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 2);
    let first = dead[1]["id"].as_str().unwrap().to_string();
    let (status, _) = api
        .send(
            "POST",
            &format!("/api/v1/webhooks/{id}/deliveries/{first}/redeliver"),
            Some(json!({})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT);

    // Enabled again: the reason is gone, and a dead delivery can be sent by hand.
    receiver.answer_always(None);
    let (status, enabled) = api
        .send(
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"enabled": true})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["enabled"], true);
    assert!(enabled["disabled_reason"].is_null());
    api.post(
        &format!("/api/v1/webhooks/{id}/deliveries/{first}/redeliver"),
        json!({}),
    )
    .await
    .unwrap();
    let got = receiver
        .wait_for("the redelivered first message", DELIVERY_WAIT, |r| {
            r.len() == 1
        })
        .await;
    assert_eq!(bodies(&got), ["one"]);
    server.stop().await;
}

#[tokio::test]
async fn bad_urls_and_unknown_events_are_refused_naming_the_field() {
    // Default configuration: private targets are not allowed.
    let server = TestServer::start().await;
    let api = server.admin().await;
    for (url, why) in [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost:9/hook", "loopback by name"),
        ("http://10.0.0.8/hook", "private"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://[::1]/hook", "IPv6 loopback"),
        ("https://user:secret@hooks.example.com/", "credentials"),
        ("ftp://hooks.example.com/", "scheme"),
        ("hooks.example.com/natter", "not a URL"),
    ] {
        let (status, body) = api
            .send(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": url, "events": ["message.created"]})),
            )
            .await
            .unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {body}");
        assert_eq!(body["error"]["field"], "url", "{why}: {body}");
        assert!(
            !body.to_string().contains("secret@"),
            "the URL's credentials are not echoed: {body}"
        );
    }
    let (status, body) = api
        .send(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/", "events": ["message.created", "conversation_created"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "events[1]");
    let (status, body) = api
        .send(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/", "events": []})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "events");
    let created = api
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/natter", "events": ["message.created"]}),
        )
        .await
        .unwrap();
    let (status, body) = api
        .send(
            "PATCH",
            &format!("/api/v1/webhooks/{}", created["id"].as_str().unwrap()),
            Some(json!({"url": "http://192.168.1.1/"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "url");
    assert!(
        api.get("/api/v1/webhooks")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len()
            == 1
    );
    server.stop().await;
}

#[tokio::test]
async fn the_secret_is_shown_once_rotated_on_request_and_needs_the_webhook_scopes() {
    let server = server_with(|_| {}).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    let created = receiver.subscribe(&api, &["message.created"]).await;
    let id = created["id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["enabled"], true);

    let list = api.get("/api/v1/webhooks").await.unwrap();
    let one = api.get(&format!("/api/v1/webhooks/{id}")).await.unwrap();
    for shown in [&list, &one] {
        let text = shown.to_string();
        assert!(!text.contains(&secret), "secret never listed: {text}");
        assert!(!text.contains("whsec_"), "{text}");
    }
    assert_eq!(list[0]["events"], json!(["message.created"]));

    // A reader may look, not change; without the scopes, neither.
    let reader = api.with_token(&server.token(&[Scope::WebhooksRead]).await);
    reader.get("/api/v1/webhooks").await.unwrap();
    let (status, _) = reader
        .send(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": receiver.url, "events": ["message.created"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN);
    let chat_only = api.with_token(&server.token(&[Scope::ConversationsRead]).await);
    let (status, _) = chat_only
        .send("GET", "/api/v1/webhooks", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN);

    // After rotation, deliveries are signed with the new secret only.
    let rotated = api
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await
        .unwrap();
    let fresh = rotated["secret"].as_str().unwrap();
    assert_ne!(fresh, secret);
    receiver.set_secret(fresh);
    visitor_writes(&server, &site, "signed anew").await;
    let got = receiver
        .wait_for("message.created", DELIVERY_WAIT, |r| r.len() == 1)
        .await;
    assert!(got[0].verified, "verifies with the new secret");
    assert!(
        !natter_tests::receiver::verify(
            &secret,
            &got[0].id,
            got[0].timestamp,
            &got[0].raw,
            &got[0].signature
        ),
        "the old secret no longer verifies"
    );

    let (status, _) = api
        .send("DELETE", &format!("/api/v1/webhooks/{id}"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .send("GET", &format!("/api/v1/webhooks/{id}/deliveries"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

/// Answering takes a queued conversation; two agents answering at the same moment must not both take
/// it: exactly one `conversation.assigned`, naming the agent REST shows as the assignee, before both
/// replies.
#[tokio::test]
async fn two_agents_answering_a_queued_conversation_at_once_assign_it_once() {
    let server = server_with(|_| {}).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    receiver
        .subscribe(&api, &["message.created", "conversation.assigned"])
        .await;
    let (_visitor, conversation) = visitor_writes(&server, &site, "Who takes this?").await;
    let ann = api.create_agent("ann").await;
    let bo = api.create_agent("bo").await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let (first, second) = tokio::join!(
        api.post(&path, json!({"agent_id": ann, "body": "Ann here."})),
        api.post(&path, json!({"agent_id": bo, "body": "Bo here."})),
    );
    first.unwrap();
    second.unwrap();

    let got = receiver
        .wait_for(
            "the visitor's message and both replies",
            DELIVERY_WAIT,
            |r| of_type(r, "message.created").len() == 3,
        )
        .await;
    let assigned = of_type(&got, "conversation.assigned");
    assert_eq!(assigned.len(), 1, "taken once");
    let winner = assigned[0].body["data"]["assigneeId"].clone();
    assert!(winner == json!(ann) || winner == json!(bo), "{winner}");
    let stored = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .unwrap();
    assert_eq!(stored["conversation"]["assignee_id"], winner);
    let kinds: Vec<&str> = got.iter().map(Received::event_type).collect();
    assert_eq!(
        kinds,
        [
            "message.created",
            "conversation.assigned",
            "message.created",
            "message.created"
        ]
    );
    server.stop().await;
}
