//! What the server holds per visitor socket follows the sockets: thousands of visitors come and go,
//! and afterwards the per-visitor tables (`GET /api/v1/stats`) are empty again.
#![allow(clippy::unwrap_used, reason = "tests fail loudly by design")]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use natter_tests::{TestServer, wait_until};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const SOCKETS: u64 = 2000;

/// A visitor socket that said hello and got its welcome (small client buffers: 2,000 of them).
async fn visitor(
    url: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .unwrap();
    let hello = json!({"type": "hello", "v": 1, "visitor_id": null,
        "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("closed before welcome");
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "welcome" {
            return ws;
        }
    }
}

fn counts(stats: &Value) -> [u64; 5] {
    [
        stats["sockets"]["visitors"].as_u64().unwrap(),
        stats["registries"]["live_visitors"].as_u64().unwrap(),
        stats["registries"]["visibility_facts"].as_u64().unwrap(),
        stats["registries"]["visitor_topics"].as_u64().unwrap(),
        stats["registries"]["cobrowse_sessions"].as_u64().unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_visitor_tables_are_empty_after_two_thousand_sockets_closed() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site = server.site_key().await;
    let url = format!("{}/ws/visitor?site={site}", server.ws_base);
    assert_eq!(counts(&api.get("/api/v1/stats").await.unwrap()), [0; 5]);

    let mut sockets: Vec<_> = futures_util::stream::iter(0..SOCKETS)
        .map(|_| visitor(&url))
        .buffer_unordered(64)
        .collect()
        .await;
    let open = api.get("/api/v1/stats").await.unwrap();
    assert_eq!(
        counts(&open),
        [SOCKETS, SOCKETS, SOCKETS, SOCKETS, 0],
        "{open}"
    );

    // Half say goodbye with a close frame, the other half just drop the connection.
    let abrupt = sockets.split_off(sockets.len() / 2);
    futures_util::stream::iter(sockets)
        .for_each_concurrent(64, |mut ws| async move {
            let _ = ws.close(None).await;
        })
        .await;
    drop(abrupt);

    wait_until(
        "every per-visitor table is empty",
        Duration::from_secs(60),
        || async { counts(&api.get("/api/v1/stats").await.unwrap()) == [0; 5] },
    )
    .await;
    server.stop().await;
}
