//! Public agent chat URLs: one-time, expiring, tamper-proof, landing in the conversation.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::Duration;
use natter_tests::{Api, TestServer, open_link};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn setup(server: &TestServer) -> (Api, Value, Value) {
    let site = server.site_key().await;
    let api = server.admin().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "l1", "body": "need help"}))
        .await;
    let conversation_id = visitor.expect("ack").await["conversation_id"].clone();
    let conversation = api
        .get(&format!(
            "/api/v1/conversations/{}",
            conversation_id.as_str().unwrap()
        ))
        .await
        .unwrap()["conversation"]
        .clone();
    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "l@example.com", "name": "lin"}),
        )
        .await
        .unwrap();
    (api, conversation, agent)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_link_for_a_customer_logs_the_agent_in_once_and_lands_in_the_conversation() {
    let server = TestServer::start().await;
    let (api, conversation, agent) = setup(&server).await;
    let link = api
        .post(
            &format!(
                "/api/v1/agents/{}/chat-links",
                agent["id"].as_str().unwrap()
            ),
            json!({"customerId": conversation["customer_id"]}),
        )
        .await
        .unwrap();
    assert_eq!(link["conversation_id"], conversation["id"]);
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&server.base), "{url}");

    let response = no_redirects().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        location,
        format!(
            "/agent/#conversation={}",
            conversation["id"].as_str().unwrap()
        )
    );
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();

    // The session works on the agent socket, and the console page is served.
    let (mut agent_ws, welcome) = server.agent(&session, json!([])).await;
    assert_eq!(welcome["agent"]["id"], agent["id"]);
    agent_ws
        .send(json!({"type": "sync", "conversation_id": conversation["id"], "after_seq": 0}))
        .await;
    assert_eq!(agent_ws.expect("message").await["body"], "need help");
    let page = reqwest::get(server.url("/agent/")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/agent/console.js"));

    // Second use: a clear page, no session.
    let again = no_redirects().get(url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(again.headers().get("set-cookie").is_none());
    assert!(again.text().await.unwrap().contains("no longer valid"));
    server.stop().await;
}

#[tokio::test]
async fn expired_and_tampered_links_open_nothing() {
    let server = TestServer::start().await;
    let (api, conversation, agent) = setup(&server).await;
    let path = format!(
        "/api/v1/agents/{}/chat-links",
        agent["id"].as_str().unwrap()
    );
    let short = api
        .post(
            &path,
            json!({"conversationId": conversation["id"], "expires_in": 60}),
        )
        .await
        .unwrap();
    let url = short["url"].as_str().unwrap().to_string();

    let tampered = format!("{}x", url);
    let response = no_redirects().get(&tampered).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.headers().get("set-cookie").is_none());

    server.clock.advance(Duration::seconds(61));
    assert!(
        open_link(&url).await.is_err(),
        "an expired link opens nothing"
    );
    let response = no_redirects().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);

    // The lifetime asked for never exceeds the configured one.
    let long = api
        .post(
            &path,
            json!({"conversationId": conversation["id"], "expires_in": 999_999}),
        )
        .await
        .unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(long["expires_at"].as_str().unwrap()).unwrap();
    assert!(expires <= server.clock_now() + Duration::seconds(15 * 60));
    server.stop().await;
}

#[tokio::test]
async fn link_requests_are_validated() {
    let server = TestServer::start().await;
    let (api, conversation, agent) = setup(&server).await;
    let path = format!(
        "/api/v1/agents/{}/chat-links",
        agent["id"].as_str().unwrap()
    );
    let (status, body) = api.send("POST", &path, Some(json!({}))).await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "customerId");
    let (status, _) = api
        .send(
            "POST",
            &path,
            Some(json!({"customerId": uuid::Uuid::new_v4()})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .send(
            "POST",
            &format!("/api/v1/agents/{}/chat-links", uuid::Uuid::new_v4()),
            Some(json!({"conversationId": conversation["id"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}
