//! The REST API as an integrator uses it: polling, routing, tokens, and bad input.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::HashMap;

use natter_core::domain::scope::Scope;
use natter_tests::{Api, DataDir, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn open_conversation(server: &TestServer, site: &str, body: &str) -> String {
    let (mut visitor, _) = server.visitor(site, None, None).await;
    visitor
        .send(json!({"type": "message", "client_id": "first", "body": body}))
        .await;
    let id = visitor.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    visitor.close().await;
    id
}

/// Polls from `cursor` until no more changes; returns (conversation id, last_seq) per item and the cursor.
async fn poll(api: &Api, cursor: &str) -> (Vec<(String, i64)>, String) {
    let mut cursor = cursor.to_string();
    let mut seen = Vec::new();
    loop {
        let page = api
            .get(&format!("/api/v1/conversations?limit=2&cursor={cursor}"))
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        for item in items {
            seen.push((
                item["id"].as_str().unwrap().to_string(),
                item["last_seq"].as_i64().unwrap(),
            ));
        }
        let next = page["next_cursor"].as_str().unwrap().to_string();
        if items.is_empty() {
            assert_eq!(next, cursor, "an empty page keeps the cursor");
            return (seen, cursor);
        }
        cursor = next;
    }
}

#[tokio::test]
async fn polling_by_cursor_sees_each_change_exactly_once() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let a = open_conversation(&server, &site, "a").await;
    let b = open_conversation(&server, &site, "b").await;
    let c = open_conversation(&server, &site, "c").await;

    let (first, cursor) = poll(&api, "").await;
    let ids: Vec<&str> = first.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, [a.as_str(), b.as_str(), c.as_str()]);

    // Nothing changed: nothing new.
    let (none, same) = poll(&api, &cursor).await;
    assert!(none.is_empty());
    assert_eq!(same, cursor);

    // Two changes: b gets a reply, a is closed. Each appears once, in change order, with its new state.
    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "p@example.com", "name": "poll"}),
        )
        .await
        .unwrap();
    api.post(
        &format!("/api/v1/conversations/{b}/messages"),
        json!({"agent_id": agent["id"], "body": "reply"}),
    )
    .await
    .unwrap();
    let closed = api
        .post(&format!("/api/v1/conversations/{a}/close"), json!({}))
        .await
        .unwrap();
    assert_eq!(closed["status"], "closed");
    let (changes, cursor) = poll(&api, &cursor).await;
    assert_eq!(changes, [(b.clone(), 2), (a.clone(), 1)]);
    let (none, _) = poll(&api, &cursor).await;
    assert!(none.is_empty());

    // Filters narrow the feed.
    let open = api.get("/api/v1/conversations?status=open").await.unwrap();
    let open_ids: Vec<&str> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(open_ids, [c.as_str(), b.as_str()]);
    server.stop().await;
}

#[tokio::test]
async fn assign_routes_a_conversation_and_filters_by_assignee() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let conversation = open_conversation(&server, &site, "route me").await;
    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "r@example.com", "name": "router", "external_id": "ext-7"}),
        )
        .await
        .unwrap();
    let assigned = api
        .post(
            &format!("/api/v1/conversations/{conversation}/assign"),
            json!({"agent_id": agent["id"]}),
        )
        .await
        .unwrap();
    assert_eq!(assigned["assignee_id"], agent["id"]);
    let mine = api
        .get(&format!(
            "/api/v1/conversations?assignee={}",
            agent["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let customer = assigned["customer_id"].as_str().unwrap();
    let theirs = api
        .get(&format!("/api/v1/conversations?customer={customer}"))
        .await
        .unwrap();
    assert_eq!(theirs["items"][0]["id"], conversation.as_str());

    let (status, body) = api
        .send(
            "POST",
            &format!("/api/v1/conversations/{conversation}/assign"),
            Some(json!({"agent_id": uuid::Uuid::new_v4()})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    let (status, _) = api
        .send(
            "POST",
            "/api/v1/agents",
            Some(json!({"email": "dup@example.com", "name": "dup", "external_id": "ext-7"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT);
    server.stop().await;
}

#[tokio::test]
async fn posting_to_a_closed_conversation_is_a_conflict_and_stores_nothing() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let conversation = open_conversation(&server, &site, "bye").await;
    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "z@example.com", "name": "zed"}),
        )
        .await
        .unwrap();
    api.post(
        &format!("/api/v1/conversations/{conversation}/close"),
        json!({}),
    )
    .await
    .unwrap();
    let (status, body) = api
        .send(
            "POST",
            &format!("/api/v1/conversations/{conversation}/messages"),
            Some(json!({"agent_id": agent["id"], "body": "too late"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let stored = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .unwrap();
    assert_eq!(stored["messages"].as_array().unwrap().len(), 1);
    server.stop().await;
}

/// Every operation in the served OpenAPI document, with the scopes it declares.
fn operations(doc: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // Public routes (the widget's, with a site key) declare an empty requirement.
            if op["security"] == serde_json::json!([{}]) {
                continue;
            }
            let scopes: Vec<String> = op["security"]
                .as_array()
                .map(|reqs| {
                    reqs.iter()
                        .flat_map(|r| r["bearer"].as_array().cloned().unwrap_or_default())
                        .map(|s| s.as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            out.push((method.to_uppercase(), path.clone(), scopes));
        }
    }
    out
}

fn concrete(path: &str) -> String {
    // Ids that exist nowhere: authorization must be decided before the lookup.
    path.replace("{id}", "0191d5a2-0000-7000-8000-000000000000")
}

#[tokio::test]
async fn every_route_refuses_missing_bad_and_under_scoped_tokens() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let doc = admin.get("/api/v1/openapi.json").await.unwrap();
    let ops = operations(&doc);
    assert!(ops.len() >= 14, "the document lists the API: {ops:?}");
    let mut tokens: HashMap<Scope, String> = HashMap::new();
    for scope in Scope::ALL {
        tokens.insert(scope, server.token(&[scope]).await);
    }
    let anonymous = admin.with_token("");
    let forged = admin.with_token("ntr_forged-token-value");
    for (method, path, scopes) in ops {
        assert!(!scopes.is_empty(), "{method} {path} declares its scope");
        let path = concrete(&path);
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let (status, answer) = anonymous.send(&method, &path, body.clone()).await.unwrap();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without token: {answer}"
        );
        assert_eq!(answer["error"]["code"], "unauthorized");
        let (status, _) = forged.send(&method, &path, body.clone()).await.unwrap();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a forged token"
        );
        for (scope, token) in &tokens {
            if *scope == Scope::Admin || scopes.iter().any(|s| s == scope.as_str()) {
                continue;
            }
            let (status, answer) = admin
                .with_token(token)
                .send(&method, &path, body.clone())
                .await
                .unwrap();
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} with {scope}: {answer}"
            );
            assert_eq!(answer["error"]["code"], "forbidden");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn tokens_are_shown_once_listed_without_secret_and_revocable() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let created = admin
        .post(
            "/api/v1/auth/token",
            json!({"name": "crm", "scopes": ["conversations:read"]}),
        )
        .await
        .unwrap();
    let secret = created["token"].as_str().unwrap();
    assert!(secret.starts_with("ntr_"));
    let crm = admin.with_token(secret);
    crm.get("/api/v1/conversations").await.unwrap();
    let listed = admin.get("/api/v1/auth/tokens").await.unwrap();
    let text = listed.to_string();
    assert!(!text.contains(secret), "list never shows a secret");
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == created["id"])
        .unwrap();
    assert!(
        entry["last_used_at"].is_string(),
        "use is recorded: {entry}"
    );
    let (status, _) = admin
        .send(
            "DELETE",
            &format!("/api/v1/auth/tokens/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = crm
        .send("GET", "/api/v1/conversations", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    let (status, body) = admin
        .send(
            "POST",
            "/api/v1/auth/token",
            Some(json!({"name": "x", "scopes": ["root"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "scopes[0]");
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let server = TestServer::start_with(&DataDir::new(), |c| c.server.max_body_bytes = 4096).await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let conversation = open_conversation(&server, &site, "keep me").await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "b@example.com", "name": "bad"}),
        )
        .await
        .unwrap();
    let url = server.url(&path);

    let raw = |body: String| {
        let api = api.clone();
        let url = url.clone();
        async move {
            let response = api
                .client
                .post(&url)
                .bearer_auth(&api.token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = raw("{\"agent_id\": ".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");

    let (status, body) =
        raw(json!({"agent_id": agent["id"], "body": "x", "sneaky": 1}).to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "sneaky");

    let (status, body) = raw(json!({"agent_id": agent["id"]}).to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "body");

    let (status, body) =
        raw(json!({"agent_id": agent["id"], "body": "y".repeat(10_000)}).to_string()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");

    let (status, body) =
        raw(json!({"agent_id": agent["id"], "body": "z".repeat(4001)}).to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("4000"),
        "{body}"
    );

    let (status, body) = api
        .send(
            "POST",
            &path,
            Some(json!({"agent_id": agent["id"], "body": "  "})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "body");

    let (status, body) = api
        .send("GET", "/api/v1/conversations/not-a-uuid", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, _) = api
        .send(
            "GET",
            &format!("/api/v1/conversations/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api
        .send("GET", "/api/v1/conversations?status=maybe", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = api
        .send("GET", "/api/v1/conversations?cursor=abc", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = api.send("GET", "/api/v1/nothing-here", None).await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    let stored = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .unwrap();
    let messages = stored["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "nothing half-written");
    assert_eq!(messages[0]["body"], "keep me");
    server.stop().await;
}

#[tokio::test]
async fn health_and_request_ids() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
    server.stop().await;
}

/// Answering takes a conversation from the queue: a reply posted as an agent assigns an unassigned
/// conversation to that agent; an assigned one keeps its assignee, whoever answers.
#[tokio::test]
async fn a_reply_as_an_agent_assigns_a_queued_conversation_and_keeps_an_assigned_one() {
    let server = TestServer::start().await;
    let site = server.site_key().await;
    let api = server.admin().await;
    let queued = open_conversation(&server, &site, "anyone?").await;
    let routed = open_conversation(&server, &site, "for Bo").await;
    let ann = api.create_agent("ann").await;
    let bo = api.create_agent("bo").await;
    api.post(
        &format!("/api/v1/conversations/{routed}/assign"),
        json!({"agent_id": bo}),
    )
    .await
    .unwrap();

    for conversation in [&queued, &routed] {
        let (status, posted) = api
            .send(
                "POST",
                &format!("/api/v1/conversations/{conversation}/messages"),
                Some(json!({"agent_id": ann, "body": "Ann here."})),
            )
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED, "{posted}");
    }
    let assignee = |conversation: Value| conversation["conversation"]["assignee_id"].clone();
    assert_eq!(
        assignee(
            api.get(&format!("/api/v1/conversations/{queued}"))
                .await
                .unwrap()
        ),
        json!(ann),
        "answering from the queue assigns"
    );
    assert_eq!(
        assignee(
            api.get(&format!("/api/v1/conversations/{routed}"))
                .await
                .unwrap()
        ),
        json!(bo),
        "an assigned conversation keeps its assignee"
    );
    let mine = api
        .get(&format!("/api/v1/conversations?assignee={ann}"))
        .await
        .unwrap();
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [queued.as_str()]);
    server.stop().await;
}
