//! Who may open the two sockets, as a WebSocket client sees it: a widget socket names a known site
//! and, for a site that lists its origins, one of them; an agent socket needs a live session and,
//! from a browser, the console's own page. A
//! refused upgrade is an HTTP answer in the API's error shape, before any socket exists.
#![allow(clippy::unwrap_used, reason = "tests fail loudly by design")]

use natter_tests::{TestServer, Ws};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;

/// The status and JSON body of a refused upgrade (panics if the upgrade went through).
async fn refused(url: &str, headers: &[(&'static str, &str)]) -> (u16, Value) {
    let error = match Ws::connect_with(url, headers).await {
        Ok(_) => panic!("{url} with {headers:?} opened a socket"),
        Err(error) => error,
    };
    let Some(tungstenite::Error::Http(response)) = error.downcast_ref::<tungstenite::Error>()
    else {
        panic!("{url}: not an HTTP answer: {error:#}");
    };
    let body = response.body().as_deref().unwrap_or_default();
    let body: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{url}: the body is JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    (response.status().as_u16(), body)
}

/// Opens a widget socket with these headers and says hello: the welcome's type.
async fn welcomed(url: &str, headers: &[(&'static str, &str)]) -> String {
    let mut ws = Ws::connect_with(url, headers).await.unwrap();
    ws.send(json!({"type": "hello", "v": 1, "visitor_id": null,
        "page": {"url": "https://shop.example/", "title": "Shop", "referrer": ""}}))
        .await;
    let frame = ws.expect("welcome").await;
    ws.close().await;
    frame["type"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_site_that_lists_its_origins_takes_widget_sockets_from_those_origins_only() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = api
        .post(
            "/api/v1/sites",
            json!({"name": "Shop", "allowed_origins": ["https://shop.example"], "timezone": "UTC"}),
        )
        .await
        .unwrap();
    let url = format!(
        "{}/ws/visitor?site={}",
        server.ws_base,
        site["key"].as_str().unwrap()
    );

    let (status, body) = refused(&url, &[("origin", "https://evil.example")]).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "origin_not_allowed");
    // A look-alike that is not the origin itself.
    let (status, _) = refused(&url, &[("origin", "https://shop.example.evil.example")]).await;
    assert_eq!(status, 403);
    // A client that names no origin (not a browser on the site's pages) is refused too.
    let (status, body) = refused(&url, &[]).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "origin_not_allowed");

    assert_eq!(
        welcomed(&url, &[("origin", "https://shop.example")]).await,
        "welcome"
    );

    // An origin is kept as browsers send it, whatever its case or an explicit default port.
    let written = api
        .post(
            "/api/v1/sites",
            json!({"name": "Books", "allowed_origins": ["https://Books.Example:443"]}),
        )
        .await
        .unwrap();
    assert_eq!(written["allowed_origins"], json!(["https://books.example"]));
    let books = format!(
        "{}/ws/visitor?site={}",
        server.ws_base,
        written["key"].as_str().unwrap()
    );
    assert_eq!(
        welcomed(&books, &[("origin", "https://books.example")]).await,
        "welcome"
    );

    // The default site lists no origins: any page may embed it.
    let open = format!(
        "{}/ws/visitor?site={}",
        server.ws_base,
        server.site_key().await
    );
    assert_eq!(
        welcomed(&open, &[("origin", "https://anywhere.example")]).await,
        "welcome"
    );
    assert_eq!(welcomed(&open, &[]).await, "welcome");
    server.stop().await;
}

#[tokio::test]
async fn a_widget_socket_names_a_known_site() {
    let server = TestServer::start().await;
    for key in ["no-such-site", ""] {
        let url = format!("{}/ws/visitor?site={key}", server.ws_base);
        let (status, body) = refused(&url, &[]).await;
        assert_eq!(status, 404, "site {key:?}");
        assert_eq!(body["error"]["code"], "not_found", "site {key:?}");
    }
    let (status, body) = refused(&format!("{}/ws/visitor", server.ws_base), &[]).await;
    assert_eq!(status, 400, "no site named");
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("site"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_agent_socket_needs_a_live_session_and_the_consoles_own_page() {
    let server = TestServer::start().await;
    let url = format!("{}/ws/agent", server.ws_base);
    for headers in [
        vec![],
        vec![("cookie", "natter_session=forged")],
        vec![("cookie", "other=1")],
    ] {
        let (status, body) = refused(&url, &headers).await;
        assert_eq!(status, 401, "{headers:?}");
        assert_eq!(body["error"]["code"], "unauthorized", "{headers:?}");
    }

    // A signed-in agent's session opens it; signing out ends it.
    let api = server.admin().await;
    api.create_agent_with_password("ada", "a long enough password")
        .await;
    let cookie = natter_tests::sign_in(&server, "ada@example.com", "a long enough password")
        .await
        .unwrap();
    let (ws, welcome) = server.agent(&cookie, json!([])).await;
    assert_eq!(welcome["type"], "welcome");
    ws.close().await;

    // From the console's own pages only: a page of another origin, even one of the same site that
    // the cookie would go to, is refused; the console's page is welcomed.
    for page in ["http://localhost.evil.example", "null"] {
        let (status, body) = refused(&url, &[("cookie", &cookie), ("origin", page)]).await;
        assert_eq!(status, 403, "{page}");
        assert_eq!(body["error"]["code"], "cross_site", "{page}");
    }
    let mut ws = Ws::connect_with(&url, &[("cookie", &cookie), ("origin", &server.base)])
        .await
        .unwrap();
    ws.send(json!({"type": "hello", "v": 1, "resume": []}))
        .await;
    assert_eq!(ws.expect("welcome").await["type"], "welcome");
    ws.close().await;
    let signed_out = reqwest::Client::new()
        .post(server.url("/agent/logout"))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 204);
    let (status, _) = refused(&url, &[("cookie", &cookie)]).await;
    assert_eq!(status, 401);
    server.stop().await;
}
