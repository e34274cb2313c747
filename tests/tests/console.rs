//! Console sign-in over HTTP: passwords set by an admin, email + password sign-in (JSON and form),
//! throttling, sign-out, and the cookie-authenticated console routes.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_core::domain::agent_links::AgentLinks;
use natter_core::domain::agent_logins::{AgentLogins, FAILURES_PER_EMAIL};
use natter_core::domain::scope::Scope;
use natter_core::store::Store;
use natter_tests::{Api, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn agent_with_password(api: &Api, name: &str) -> String {
    api.create_agent_with_password(name, PASSWORD).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in_json(server: &TestServer, email: &str, password: &str) -> reqwest::Response {
    client()
        .post(server.url("/agent/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn session_of(response: &reqwest::Response) -> String {
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

async fn me(server: &TestServer, cookie: &str) -> StatusCode {
    client()
        .get(server.url("/agent/api/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_admin_sets_a_password_and_the_agent_signs_in_and_out() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let id = agent_with_password(&api, "ada").await;

    // The password is never shown back.
    let agent = api.get(&format!("/api/v1/agents/{id}")).await.unwrap();
    assert!(!agent.to_string().contains(PASSWORD));
    assert!(agent.get("password").is_none() && agent.get("password_hash").is_none());

    // Email compared without case; the answer names the agent and sets the session cookie.
    let response = sign_in_json(&server, "ADA@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = session_of(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["agent"]["id"], id.as_str());

    // The session opens the console routes and the agent socket.
    assert_eq!(me(&server, &cookie).await, StatusCode::OK);
    let agents: Value = client()
        .get(server.url("/agent/api/agents"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        agents
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str())
    );
    let (ws, welcome) = server.agent(&cookie, json!([])).await;
    assert_eq!(welcome["agent"]["id"], id.as_str());
    ws.close().await;

    // Signing out ends the session everywhere.
    let out = client()
        .post(server.url("/agent/logout"))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(me(&server, &cookie).await, StatusCode::UNAUTHORIZED);
    assert!(
        Ws::connect(&format!("{}/ws/agent", server.ws_base), Some(&cookie))
            .await
            .is_err(),
        "the socket refuses an ended session"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_failed_sign_in_looks_the_same() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    agent_with_password(&api, "ada").await;
    api.post(
        "/api/v1/agents",
        json!({"email": "nopass@example.com", "name": "nopass"}),
    )
    .await
    .unwrap();

    let mut answers = Vec::new();
    for (email, password) in [
        ("ada@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("nopass@example.com", PASSWORD),
        ("ada@example.com", ""),
    ] {
        let response = sign_in_json(&server, email, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{email}");
        assert!(response.headers().get("set-cookie").is_none());
        answers.push(response.json::<Value>().await.unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0]["error"]["code"], "unauthorized");
    server.stop().await;
}

#[tokio::test]
async fn guessing_is_throttled_per_email() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    agent_with_password(&api, "ada").await;
    agent_with_password(&api, "bob").await;
    for _ in 0..FAILURES_PER_EMAIL {
        let response = sign_in_json(&server, "ada@example.com", "wrong password!").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password is refused without being checked, until the window passes.
    let response = sign_in_json(&server, "ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );
    // Another agent from the same address is not locked out.
    let response = sign_in_json(&server, "bob@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);

    server.clock.advance(chrono::Duration::minutes(15));
    let response = sign_in_json(&server, "ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn the_sign_in_form_redirects_into_the_console_or_shows_why_not() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    agent_with_password(&api, "ada").await;

    let page = client()
        .get(server.url("/agent/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("data-testid=\"login-form\"")
    );

    let form = |password: &str, next: &str| {
        client()
            .post(server.url("/agent/login"))
            .form(&[
                ("email", "ada@example.com"),
                ("password", password),
                ("next", next),
            ])
            .send()
    };
    let ok = form(PASSWORD, "/agent/#conversation=x").await.unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()["location"], "/agent/#conversation=x");
    let cookie = session_of(&ok);
    assert_eq!(me(&server, &cookie).await, StatusCode::OK);

    // `next` never leads off the console.
    let off_site = form(PASSWORD, "//evil.example/agent/").await.unwrap();
    assert_eq!(off_site.headers()["location"], "/agent/");

    let failed = form("wrong password!", "/agent/").await.unwrap();
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert!(failed.headers().get("set-cookie").is_none());
    let html = failed.text().await.unwrap();
    assert!(html.contains("That email and password do not match an agent."));

    // Another site's page cannot sign anyone in.
    let cross = client()
        .post(server.url("/agent/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(cross.headers().get("set-cookie").is_none());
    // Nor can a page of the same site on another origin (the browser marks it same-site), and it
    // cannot sign the agent out either; the console's own page can do both.
    let sibling = "http://shop.127.0.0.1.example";
    for path in ["/agent/login", "/agent/logout"] {
        let foreign = client()
            .post(server.url(path))
            .header("sec-fetch-site", "same-site")
            .header("origin", sibling)
            .header("cookie", &cookie)
            .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(foreign.headers().get("set-cookie").is_none(), "{path}");
        let body: serde_json::Value = foreign.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_site", "{path}");
    }
    assert_eq!(
        me(&server, &cookie).await,
        StatusCode::OK,
        "still signed in"
    );
    let own = client()
        .post(server.url("/agent/login"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", &server.base)
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
    assert!(own.headers().get("set-cookie").is_some());

    // Without JavaScript, signing out is a form too.
    let out = client()
        .post(server.url("/agent/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()["location"], "/agent/login");
    assert_eq!(me(&server, &cookie).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn passwords_are_validated_and_need_agents_write() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let agent = api
        .post(
            "/api/v1/agents",
            json!({"email": "ada@example.com", "name": "ada"}),
        )
        .await
        .unwrap();
    let path = format!("/api/v1/agents/{}/password", agent["id"].as_str().unwrap());

    let (status, body) = api
        .send("PUT", &path, Some(json!({"password": "too short"})))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "password");
    assert!(
        !body.to_string().contains("too short"),
        "the password is not echoed"
    );

    let (status, _) = api
        .send(
            "PUT",
            &format!("/api/v1/agents/{}/password", uuid::Uuid::new_v4()),
            Some(json!({"password": PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);

    let reader = api.with_token(&server.token(&[Scope::AgentsRead]).await);
    let (status, _) = reader
        .send("PUT", &path, Some(json!({"password": PASSWORD})))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Sign-in is by email: a second agent with the same email cannot also get a password.
    api.send("PUT", &path, Some(json!({"password": PASSWORD})))
        .await
        .unwrap();
    let twin = api
        .post(
            "/api/v1/agents",
            json!({"email": "Ada@example.com", "name": "ada two"}),
        )
        .await
        .unwrap();
    let (status, _) = api
        .send(
            "PUT",
            &format!("/api/v1/agents/{}/password", twin["id"].as_str().unwrap()),
            Some(json!({"password": PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT);

    let document = api.get("/api/v1/openapi.json").await.unwrap();
    assert!(document["paths"]["/api/v1/agents/{id}/password"]["put"].is_object());
    server.stop().await;
}

/// What `natter agent password --email E` does, against the server's database.
#[tokio::test]
async fn the_password_command_sets_a_password_by_email() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    api.post(
        "/api/v1/agents",
        json!({"email": "cli@example.com", "name": "cli"}),
    )
    .await
    .unwrap();
    let store = Store::connect(&server.database_url).await.unwrap();
    let clock = server.clock.clone();
    let links = AgentLinks::new(store.clone(), clock.clone(), 900, 3600);
    let logins = AgentLogins::new(store.clone(), clock, links);
    assert!(
        logins
            .set_password_by_email("cli@example.com", "short")
            .await
            .is_err()
    );
    assert!(
        logins
            .set_password_by_email("nobody@example.com", PASSWORD)
            .await
            .is_err()
    );
    let agent = logins
        .set_password_by_email("CLI@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(agent.email, "cli@example.com");
    store.close().await.unwrap();

    let response = sign_in_json(&server, "cli@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn console_routes_need_a_session() {
    let server = TestServer::start().await;
    let visitor = format!("/agent/api/visitors/{}", uuid::Uuid::now_v7());
    for path in ["/agent/api/me", "/agent/api/agents", visitor.as_str()] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let forged = client()
            .get(server.url(path))
            .header("cookie", "natter_session=nas_forged")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let page = client().get(server.url("/agent")).send().await.unwrap();
    assert_eq!(page.headers()["location"], "/agent/");
    server.stop().await;
}

/// The console keeps its strict policy; only the co-browse replay frame allows inline styles (the
/// visitor's page needs them), and still runs scripts from this server only.
#[tokio::test]
async fn only_the_replay_frame_allows_inline_styles() {
    let server = TestServer::start().await;
    let policy = |path: &'static str| {
        let url = server.url(path);
        async move {
            let page = client().get(url).send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK, "{path}");
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    let console = policy("/agent/").await;
    assert!(console.contains("style-src 'self';"), "{console}");
    assert!(!console.contains("unsafe-inline"), "{console}");
    let replay = policy("/agent/replay").await;
    assert!(
        replay.contains("style-src 'self' 'unsafe-inline';"),
        "{replay}"
    );
    assert!(replay.contains("script-src 'self';"), "{replay}");
    assert!(replay.contains("frame-ancestors 'self'"), "{replay}");
    server.stop().await;
}

/// The details pane's source: where a connected visitor is, which browser and language; nothing once
/// they left.
#[tokio::test]
async fn the_console_reads_where_a_visitor_is_now() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    agent_with_password(&api, "ada").await;
    let cookie = session_of(&sign_in_json(&server, "ada@example.com", PASSWORD).await);
    let site = server.site_key().await;
    let mut socket = Ws::connect_with(
        &format!("{}/ws/visitor?site={site}", server.ws_base),
        &[
            ("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
            ("accept-language", "de-DE,de;q=0.9"),
        ],
    )
    .await
    .unwrap();
    socket
        .send(json!({"type": "hello", "v": 1,
            "page": {"url": "https://shop.test/cart", "title": "Cart", "referrer": ""}}))
        .await;
    let welcome = socket.expect("welcome").await;
    assert_eq!(welcome["mail"], false, "no mail on this server");
    let visitor = welcome["visitor_id"].as_str().unwrap().to_string();
    let read = || {
        let url = server.url(&format!("/agent/api/visitors/{visitor}"));
        let cookie = cookie.clone();
        async move {
            let response = client()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let now = read().await;
    assert_eq!(now["online"], true, "{now}");
    assert_eq!(now["page_url"], "https://shop.test/cart");
    assert_eq!(now["page_title"], "Cart");
    assert_eq!(now["browser"], "Chrome 131 on Windows");
    assert_eq!(
        now["language"], "de-DE",
        "from Accept-Language when hello has none"
    );

    socket.close().await;
    natter_tests::wait_until("the visitor is gone", natter_tests::WAIT, || {
        let read = read();
        async move { read.await["online"] == false }
    })
    .await;
    let gone = read().await;
    assert!(
        gone["page_url"].is_null() && gone["browser"].is_null(),
        "{gone}"
    );
    server.stop().await;
}
