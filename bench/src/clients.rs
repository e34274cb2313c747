//! Client sockets: a TCP connection from one of several loopback source addresses (one address has
//! about 28,000 ephemeral ports), upgraded to a WebSocket, and the protocol's first frames.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = WebSocketStream<TcpStream>;

/// Sockets per source address; below the kernel's ~28,000 ephemeral ports so none runs out.
const SOCKETS_PER_SOURCE: usize = 20_000;

/// How long a server may take to answer a hello.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(60);

/// Loopback source addresses handed out round-robin: 127.0.0.2, 127.0.0.3, …
pub struct Sources {
    addresses: Vec<Ipv4Addr>,
    next: AtomicUsize,
}

impl Sources {
    /// Enough addresses for `sockets` connections.
    pub fn for_sockets(sockets: usize) -> Self {
        let count = sockets.div_ceil(SOCKETS_PER_SOURCE).clamp(1, 200);
        let addresses = (0..count)
            .map(|i| Ipv4Addr::new(127, 0, 0, 2 + u8::try_from(i).unwrap_or(200)))
            .collect();
        Self {
            addresses,
            next: AtomicUsize::new(0),
        }
    }

    pub fn count(&self) -> usize {
        self.addresses.len()
    }

    fn take(&self) -> Ipv4Addr {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.addresses[i % self.addresses.len()]
    }
}

/// The client side keeps small buffers too, so tens of thousands of idle clients fit beside the server.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens a WebSocket to `server` at `path` (with a `Cookie` header when given).
pub async fn connect(
    sources: &Sources,
    server: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(sources.take().into(), 0))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{server}{path}").into_client_request()?;
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse()?);
    }
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(client_config())).await?;
    Ok(ws)
}

pub async fn send(ws: &mut Ws, frame: &Value) -> anyhow::Result<()> {
    ws.send(Message::text(frame.to_string())).await?;
    Ok(())
}

/// The next JSON frame; `None` when the socket closed.
pub async fn next(ws: &mut Ws) -> anyhow::Result<Option<Value>> {
    loop {
        match ws.next().await {
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Text(text))) => return Ok(Some(serde_json::from_str(&text)?)),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Reads frames until one of `kind` comes; fails on an error frame or a close.
pub async fn expect(ws: &mut Ws, kind: &str) -> anyhow::Result<Value> {
    tokio::time::timeout(WELCOME_TIMEOUT, async {
        loop {
            let Some(frame) = next(ws).await? else {
                bail!("closed while waiting for {kind}");
            };
            match frame["type"].as_str() {
                Some(t) if t == kind => return Ok(frame),
                Some("error") => bail!("error frame while waiting for {kind}: {frame}"),
                _ => {}
            }
        }
    })
    .await
    .with_context(|| format!("no {kind} within {WELCOME_TIMEOUT:?}"))?
}

/// A visitor socket that has said hello and got its welcome.
pub async fn visitor(sources: &Sources, server: SocketAddr, site: &str) -> anyhow::Result<Ws> {
    let mut ws = connect(sources, server, &format!("/ws/visitor?site={site}"), None).await?;
    let hello = json!({
        "type": "hello", "v": 1, "visitor_id": null,
        "page": {"url": "http://bench.test/", "title": "Bench", "referrer": ""},
    });
    send(&mut ws, &hello).await?;
    expect(&mut ws, "welcome").await?;
    Ok(ws)
}

/// An agent socket (session cookie) that has said hello and got its welcome.
pub async fn agent(sources: &Sources, server: SocketAddr, cookie: &str) -> anyhow::Result<Ws> {
    let mut ws = connect(sources, server, "/ws/agent", Some(cookie)).await?;
    send(&mut ws, &json!({"type": "hello", "v": 1, "resume": []})).await?;
    expect(&mut ws, "welcome").await?;
    Ok(ws)
}
