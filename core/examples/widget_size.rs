//! What a visitor's browser downloads for the widget, measured over HTTP from a real server.
//!
//! `cargo run -p natter-core --example widget_size` (sizes do not depend on the build profile)
//!
//! Method: starts the server with the default configuration (a fresh SQLite file in a temporary folder,
//! the built-in WebChat plugin, its default widget configuration) on a free port, then fetches
//! `/widget.js?site=KEY` three times with a plain HTTP client: asking for `Accept-Encoding: br` (what
//! browsers send over HTTPS, with gzip), for `gzip` alone, and for the identity encoding. The sizes are the response bodies' bytes as
//! they crossed the socket (the client does not decompress), without headers. The widget is the only
//! script a page loads until the visitor opens a chat, so the gzip figure is the page-weight cost of
//! embedding Natter (br where the page is served over HTTPS, gzip otherwise).
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use natter_core::config::Config;
use natter_core::store::Store;
use natter_core::{LoadedConfig, Overrides};

#[tokio::main]
async fn main() {
    let temp = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!(
        "sqlite://{}?mode=rwc",
        temp.path().join("natter.db").display()
    );
    // The default site is created by the first start; create it here to learn its key.
    let store = Store::connect(&config.database.url).await.unwrap();
    store.migrate().await.unwrap();
    let site = store.ensure_default_site().await.unwrap();
    store.close().await.unwrap();

    let loaded = LoadedConfig {
        config,
        base_dir: temp.path().to_path_buf(),
        unknown_env: Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/widget.js?site={}",
        listener.local_addr().unwrap(),
        site.key
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(natter_core::serve(
        loaded,
        listener,
        async {
            let _ = stopped.await;
        },
        Overrides::default(),
    ));

    let client = reqwest::Client::new();
    let fetch = |encoding: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client
                .get(&url)
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap();
            let served_as = response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("identity")
                .to_owned();
            (served_as, response.bytes().await.unwrap().len())
        }
    };
    let (plain_encoding, plain) = fetch("identity").await;
    let (gzip_encoding, gzip) = fetch("gzip").await;
    let (br_encoding, br) = fetch("gzip, deflate, br").await;
    assert_eq!(plain_encoding, "identity");
    assert_eq!(gzip_encoding, "gzip", "the server must compress widget.js");
    assert_eq!(br_encoding, "br", "a browser that takes br gets br");
    assert!(br < gzip, "br is offered because it is the smallest form");

    println!("widget.js as served by the built-in WebChat plugin (default configuration)\n");
    println!("| encoding | bytes transferred | ÷ uncompressed |");
    println!("| --- | ---: | ---: |");
    println!("| identity | {plain} | 1.00 |");
    #[allow(clippy::cast_precision_loss, reason = "sizes are far below 2^52")]
    let ratio = gzip as f64 / plain as f64;
    println!("| gzip | {gzip} | {ratio:.2} |");
    #[allow(clippy::cast_precision_loss, reason = "sizes are far below 2^52")]
    let ratio = br as f64 / plain as f64;
    println!("| br | {br} | {ratio:.2} |");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
