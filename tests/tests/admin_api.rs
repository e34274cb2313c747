//! Roles and the admin's console session on the REST API: an admin signed in to the console may use
//! every `/api/v1` route with the session cookie (changes marked with `X-Natter-Console: 1`), a plain
//! agent may use none, and every configuration change lands in the audit log with who made it.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_core::domain::scope::Scope;
use natter_tests::{Api, TestServer, sign_in};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// A request with the console's session cookie, marked as the console's own when `console` is set.
async fn with_session(
    server: &TestServer,
    cookie: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    console: bool,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), server.url(path))
        .header("cookie", cookie);
    if console {
        request = request.header("x-natter-console", "1");
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `PUT /api/v1/agents/{id}/role` with the caller's token: the status and the answer.
async fn set_role(api: &Api, agent: &str, role: &str) -> (StatusCode, Value) {
    api.send(
        "PUT",
        &format!("/api/v1/agents/{agent}/role"),
        Some(json!({"role": role})),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_admin_session_uses_the_api_and_a_plain_agent_gets_403() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    api.create_admin_with_password("ada", PASSWORD).await;
    api.create_agent_with_password("bob", PASSWORD).await;
    let ada = sign_in(&server, "ada@example.com", PASSWORD).await.unwrap();
    let bob = sign_in(&server, "bob@example.com", PASSWORD).await.unwrap();

    let me: Value = reqwest::Client::new()
        .get(server.url("/agent/api/me"))
        .header("cookie", &ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");

    // Reads need no marker; an admin's session holds every scope.
    let (status, tokens) =
        with_session(&server, &ada, "GET", "/api/v1/auth/tokens", None, false).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens.as_array().is_some());

    // A change without the console's header could come from another site's page: refused, not done.
    let create = json!({"name": "from a form", "scopes": ["webhooks:read"]});
    let (status, body) = with_session(
        &server,
        &ada,
        "POST",
        "/api/v1/auth/token",
        Some(create.clone()),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "csrf");
    let (status, body) = with_session(
        &server,
        &ada,
        "POST",
        "/api/v1/auth/token",
        Some(create),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["token"].as_str().unwrap();
    // The token made from the console works against the API.
    let scoped = api.with_token(secret);
    assert!(scoped.get("/api/v1/webhooks").await.is_ok());

    // A plain agent's session gets 403 from every admin route, reading or changing.
    for (method, path, body) in [
        ("GET", "/api/v1/auth/tokens", None),
        ("GET", "/api/v1/webhooks", None),
        ("GET", "/api/v1/audit", None),
        ("PUT", "/api/v1/widget/config", Some(json!({}))),
    ] {
        let (status, answer) = with_session(&server, &bob, method, path, body, true).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }

    // A bad bearer token is reported as such, even next to a good session.
    let response = reqwest::Client::new()
        .get(server.url("/api/v1/auth/tokens"))
        .header("cookie", &ada)
        .bearer_auth("ntr_not_a_token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // No credentials at all: 401, as before.
    let response = reqwest::get(server.url("/api/v1/auth/tokens"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn roles_change_over_rest_and_only_admins_make_admins() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let ada = api.create_admin_with_password("ada", PASSWORD).await;
    let bob = api.create_agent_with_password("bob", PASSWORD).await;

    // `agents:write` makes agents, not admins.
    let writer = api.with_token(&server.token(&[Scope::AgentsWrite]).await);
    let (status, body) = writer
        .send(
            "POST",
            "/api/v1/agents",
            Some(json!({"email": "eve@example.com", "name": "Eve", "role": "admin"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = set_role(&writer, &bob, "admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = set_role(&api, &bob, "admin").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "admin");
    let bob_session = sign_in(&server, "bob@example.com", PASSWORD).await.unwrap();
    let (status, _) = with_session(
        &server,
        &bob_session,
        "GET",
        "/api/v1/webhooks",
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "Bob is an admin now");

    // Back to agent: the session loses the API at once.
    let (status, _) = set_role(&api, &bob, "agent").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = with_session(
        &server,
        &bob_session,
        "GET",
        "/api/v1/webhooks",
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The last admin keeps the role.
    let (status, body) = set_role(&api, &ada, "agent").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = set_role(&api, &ada, "owner").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = api
        .send(
            "PUT",
            "/api/v1/agents/00000000-0000-4000-8000-000000000000/role",
            Some(json!({"role": "admin"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_configuration_change_is_audited_with_who_made_it() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let ada_id = api.create_admin_with_password("ada", PASSWORD).await;
    let ada = sign_in(&server, "ada@example.com", PASSWORD).await.unwrap();

    // A change with the console session…
    let (status, hook) = with_session(
        &server,
        &ada,
        "POST",
        "/api/v1/webhooks",
        Some(
            json!({"url": "https://hooks.example.com/natter", "events": ["conversation.started"]}),
        ),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    // …a refused one (not a change, not recorded)…
    let (status, _) = with_session(
        &server,
        &ada,
        "POST",
        "/api/v1/webhooks",
        Some(json!({"url": "not a url", "events": ["conversation.started"]})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // …and conversation traffic, which is not configuration.
    let site = server.site_key().await;
    let (mut visitor, _) = server.visitor(&site, None, None).await;
    visitor
        .send(json!({"type": "message", "body": "hello", "client_id": "c1"}))
        .await;
    visitor.expect("ack").await;

    let audit = api.get("/api/v1/audit").await.unwrap();
    let entries = audit.as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first: the webhook Ada made, after the admin made Ada (with its token) and set her password.
    assert_eq!(
        actions,
        [
            "POST /api/v1/webhooks",
            "PUT /api/v1/agents/{id}/password",
            "POST /api/v1/agents",
        ],
        "{audit}"
    );
    let made_by_ada = &entries[0];
    assert_eq!(made_by_ada["actor"]["kind"], "agent");
    assert_eq!(made_by_ada["actor"]["id"], ada_id.as_str());
    assert_eq!(made_by_ada["actor"]["label"], "ada@example.com");
    assert_eq!(made_by_ada["target"], "/api/v1/webhooks");
    assert_eq!(made_by_ada["status"], 201);
    assert_eq!(entries[1]["actor"]["kind"], "token");
    assert_eq!(
        entries[1]["target"],
        format!("/api/v1/agents/{ada_id}/password")
    );

    // Paging: older than the newest entry.
    let before = entries[0]["at"].as_str().unwrap();
    let older = api
        .get(&format!(
            "/api/v1/audit?limit=1&before={}",
            url::form_urlencoded::byte_serialize(before.as_bytes()).collect::<String>()
        ))
        .await
        .unwrap();
    assert_eq!(older.as_array().unwrap().len(), 1);
    assert_eq!(older[0]["action"], "PUT /api/v1/agents/{id}/password");
    let (status, _) = api
        .send("GET", "/api/v1/audit?limit=0", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_admin_pages_are_served_under_the_console_policy() {
    let server = TestServer::start().await;
    let page = reqwest::get(server.url("/agent/admin")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"src="/agent/admin/admin.js""#), "{html}");

    let script = reqwest::get(server.url("/agent/admin/admin.js"))
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let missing = reqwest::get(server.url("/agent/admin/nope.js"))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
