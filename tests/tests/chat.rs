//! Visitors and agents chatting over the real WebSocket gateways, with the delivery guarantees.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_tests::{DataDir, TestServer};
use serde_json::json;

#[tokio::test]
async fn visitor_and_agent_chat_in_real_time() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;

    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    assert_eq!(welcome["v"], 1);
    assert!(welcome["conversation"].is_null());
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();

    visitor
        .send(json!({"type": "message", "client_id": "c-1", "body": "Hello, is anyone there?"}))
        .await;
    let ack = visitor.expect("ack").await;
    assert_eq!(ack["client_id"], "c-1");
    assert_eq!(ack["seq"], 1);
    assert_eq!(ack["duplicate"], false);
    let conversation_id = ack["conversation_id"].as_str().unwrap().to_string();

    let (_, cookie) = server.agent_session(&api, "ada", &conversation_id).await;
    let (mut agent, welcome) = server.agent(&cookie, json!([])).await;
    assert_eq!(welcome["agent"]["name"], "ada");
    assert!(
        welcome["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == conversation_id.as_str() && c["visitor_id"] == visitor_id.as_str()),
        "the open conversation is listed: {welcome}"
    );

    agent
        .send(json!({"type": "sync", "conversation_id": conversation_id, "after_seq": 0}))
        .await;
    let first = agent.expect_message("Hello, is anyone there?").await;
    assert_eq!(first["author"]["kind"], "visitor");

    agent
        .send(json!({"type": "typing", "conversation_id": conversation_id, "active": true}))
        .await;
    let typing = visitor.expect("typing").await;
    assert_eq!(typing["author"]["kind"], "agent");
    assert_eq!(typing["active"], true);

    agent
        .send(json!({"type": "message", "conversation_id": conversation_id, "client_id": "a-1", "body": "Hi! How can I help?"}))
        .await;
    assert_eq!(agent.expect("ack").await["seq"], 2);
    let reply = visitor.expect_message("Hi! How can I help?").await;
    assert_eq!(reply["author"]["kind"], "agent");
    assert_eq!(reply["author"]["name"], "ada");
    assert_eq!(reply["seq"], 2);

    visitor
        .send(json!({"type": "message", "client_id": "c-2", "body": "My order is late"}))
        .await;
    let live = agent.expect_message("My order is late").await;
    assert_eq!(live["seq"], 3);

    // The REST view agrees with what the sockets saw.
    let stored = api
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap();
    let bodies: Vec<&str> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Hello, is anyone there?",
            "Hi! How can I help?",
            "My order is late"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn agent_reconnects_and_receives_exactly_what_it_missed() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "m1", "body": "one"}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cookie) = server.agent_session(&api, "bob", &conversation_id).await;
    let (mut agent, _) = server.agent(&cookie, json!([])).await;
    agent
        .send(json!({"type": "sync", "conversation_id": conversation_id, "after_seq": 0}))
        .await;
    assert_eq!(agent.expect_message("one").await["seq"], 1);
    agent.close().await;

    for (i, body) in ["two", "three", "four"].iter().enumerate() {
        visitor
            .send(json!({"type": "message", "client_id": format!("m{}", i + 2), "body": body}))
            .await;
        visitor.expect("ack").await;
    }

    let (mut agent, _) = server
        .agent(
            &cookie,
            json!([{"conversation_id": conversation_id, "last_seq": 1}]),
        )
        .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let message = agent.expect("message").await;
        seen.push((
            message["seq"].as_i64().unwrap(),
            message["body"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(
        seen,
        [
            (2, "two".to_string()),
            (3, "three".to_string()),
            (4, "four".to_string())
        ]
    );

    // Live traffic continues after the catch-up, without repeating anything.
    visitor
        .send(json!({"type": "message", "client_id": "m5", "body": "five"}))
        .await;
    let next = agent.expect("message").await;
    assert_eq!(
        (next["seq"].as_i64(), next["body"].as_str()),
        (Some(5), Some("five"))
    );
    server.stop().await;
}

#[tokio::test]
async fn visitor_resumes_from_its_last_seq() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();
    visitor
        .send(json!({"type": "message", "client_id": "v1", "body": "hi"}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    visitor.close().await;

    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "c@example.com", "name": "cy"}),
        )
        .await
        .unwrap();
    for body in ["answer one", "answer two"] {
        api.post(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            json!({"agent_id": agent["id"], "body": body}),
        )
        .await
        .unwrap();
    }

    let (mut visitor, welcome) = server.visitor(&site, Some(&visitor_id), Some(1)).await;
    assert_eq!(welcome["visitor_id"], visitor_id.as_str());
    assert_eq!(welcome["conversation"]["id"], conversation_id.as_str());
    assert_eq!(visitor.expect("message").await["body"], "answer one");
    assert_eq!(visitor.expect("message").await["body"], "answer two");
    server.stop().await;
}

#[tokio::test]
async fn a_resent_message_is_stored_once() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();
    let frame = json!({"type": "message", "client_id": "same-id", "body": "only once please"});
    visitor.send(frame.clone()).await;
    let first = visitor.expect("ack").await;
    assert_eq!(first["duplicate"], false);

    // The same socket resends, and so does a new connection after a drop.
    visitor.send(frame.clone()).await;
    let second = visitor.expect("ack").await;
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["id"], first["id"]);
    visitor.close().await;
    let (mut again, _) = server.visitor(&site, Some(&visitor_id), Some(1)).await;
    again.send(frame).await;
    let third = again.expect("ack").await;
    assert_eq!(third["duplicate"], true);
    assert_eq!(third["seq"], 1);

    let conversation_id = first["conversation_id"].as_str().unwrap();
    let stored = api
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap();
    assert_eq!(stored["messages"].as_array().unwrap().len(), 1);
    assert_eq!(stored["conversation"]["last_seq"], 1);
    server.stop().await;
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart_on_the_same_file() {
    let data = DataDir::new();
    let server = TestServer::start_with(&data, |_| {}).await;
    let site = server.site_key().await;
    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();
    let mut conversation_id = String::new();
    for i in 1..=20 {
        visitor
            .send(json!({"type": "message", "client_id": format!("k{i}"), "body": format!("message {i}")}))
            .await;
        let ack = visitor.expect("ack").await;
        assert_eq!(ack["seq"], i);
        conversation_id = ack["conversation_id"].as_str().unwrap().to_string();
    }
    server.stop().await;

    let server = TestServer::start_with(&data, |_| {}).await;
    let api = server.admin().await;
    let stored = api
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .unwrap();
    let bodies: Vec<String> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=20).map(|i| format!("message {i}")).collect();
    assert_eq!(bodies, expected);

    // The visitor comes back to the same conversation and continues the sequence.
    let (mut visitor, welcome) = server.visitor(&site, Some(&visitor_id), Some(20)).await;
    assert_eq!(welcome["conversation"]["id"], conversation_id.as_str());
    visitor
        .send(json!({"type": "message", "client_id": "k21", "body": "after restart"}))
        .await;
    assert_eq!(visitor.expect("ack").await["seq"], 21);
    server.stop().await;
}

#[tokio::test]
async fn agent_presence_is_tracked_from_connections_and_status() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    assert_eq!(welcome["presence"], json!({"online": 0, "available": 0}));
    visitor
        .send(json!({"type": "message", "client_id": "p1", "body": "hello"}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (agent_id, cookie) = server.agent_session(&api, "dee", &conversation_id).await;

    let (mut agent, _) = server.agent(&cookie, json!([])).await;
    assert_eq!(
        visitor.expect("presence").await,
        json!({"type": "presence", "online": 1, "available": 1})
    );
    let listed = api
        .get(&format!("/api/v1/agents/{agent_id}"))
        .await
        .unwrap();
    assert_eq!(listed["status"], "available");

    agent
        .send(json!({"type": "status", "status": "away"}))
        .await;
    assert_eq!(
        visitor.expect("presence").await,
        json!({"type": "presence", "online": 1, "available": 0})
    );
    let listed = api
        .get(&format!("/api/v1/agents/{agent_id}"))
        .await
        .unwrap();
    assert_eq!(listed["status"], "away");

    agent.close().await;
    assert_eq!(
        visitor.expect("presence").await,
        json!({"type": "presence", "online": 0, "available": 0})
    );
    let listed = api
        .get(&format!("/api/v1/agents/{agent_id}"))
        .await
        .unwrap();
    assert_eq!(listed["status"], "offline");
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_get_errors_and_oversized_frames_close_the_socket() {
    let server = TestServer::start_with(&DataDir::new(), |c| c.server.max_frame_bytes = 1024).await;
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;

    visitor.send_raw("{not json".into()).await;
    assert_eq!(visitor.expect("error").await["code"], "bad_frame");
    visitor.send(json!({"type": "shout", "body": "x"})).await;
    assert_eq!(visitor.expect("error").await["code"], "bad_frame");
    visitor
        .send(json!({"type": "message", "client_id": "e1", "body": "   "}))
        .await;
    let empty = visitor.expect("error").await;
    assert_eq!(empty["code"], "validation_failed");
    assert_eq!(empty["client_id"], "e1");

    // Still usable after the errors.
    visitor
        .send(json!({"type": "message", "client_id": "e2", "body": "fine"}))
        .await;
    assert_eq!(visitor.expect("ack").await["seq"], 1);

    visitor
        .send(json!({"type": "message", "client_id": "e3", "body": "x".repeat(2000)}))
        .await;
    assert_eq!(visitor.close_code().await, Some(1009));
    server.stop().await;
}

#[tokio::test]
async fn unknown_protocol_version_is_refused_naming_both() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let mut ws =
        natter_tests::Ws::connect(&format!("{}/ws/visitor?site={site}", server.ws_base), None)
            .await
            .unwrap();
    ws.send(json!({"type": "hello", "v": 7})).await;
    let error = ws.expect("error").await;
    assert_eq!(error["code"], "unsupported_version");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains('1') && message.contains('7'), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn sockets_without_a_valid_site_or_session_are_refused() {
    let server = TestServer::start().await;
    let unknown_site =
        natter_tests::Ws::connect(&format!("{}/ws/visitor?site=nope", server.ws_base), None).await;
    assert!(unknown_site.is_err());
    let no_session = natter_tests::Ws::connect(&format!("{}/ws/agent", server.ws_base), None).await;
    assert!(no_session.is_err());
    let bad_session = natter_tests::Ws::connect(
        &format!("{}/ws/agent", server.ws_base),
        Some("natter_session=nas_forged"),
    )
    .await;
    assert!(bad_session.is_err());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_cleanly_and_keeps_what_was_acknowledged() {
    let data = DataDir::new();
    let server = TestServer::start_with(&data, |_| {}).await;
    let site = server.site_key().await;
    let (mut visitor, welcome) = server.visitor(&site, None, None).await;
    let visitor_id = welcome["visitor_id"].as_str().unwrap().to_string();
    visitor
        .send(json!({"type": "message", "client_id": "s1", "body": "before shutdown"}))
        .await;
    visitor.expect("ack").await;

    let stopping = tokio::spawn(server.stop());
    assert_eq!(visitor.close_code().await, Some(1001), "going away");
    stopping.await.unwrap();

    let server = TestServer::start_with(&data, |_| {}).await;
    let (mut visitor, welcome) = server.visitor(&site, Some(&visitor_id), Some(0)).await;
    assert!(welcome["conversation"].is_object());
    assert_eq!(visitor.expect("message").await["body"], "before shutdown");
    server.stop().await;
}
