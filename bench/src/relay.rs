//! The baseline: a bare tokio-tungstenite relay speaking just enough of the protocol. A visitor's
//! `hello` gets `welcome`; a visitor's `message` gets `ack` and is forwarded to every agent socket.
//! No storage, no rules, no bus: what any WebSocket server on this machine pays.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Agents = Arc<Mutex<Vec<mpsc::UnboundedSender<Message>>>>;

/// The same transport buffers as Natter's gateways, so the comparison is about everything else.
fn server_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Serves until killed.
pub async fn run(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let agents: Agents = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let agents = agents.clone();
        tokio::spawn(async move {
            // A dropped client is not the relay's problem.
            let _ = connection(stream, agents).await;
        });
    }
}

#[allow(
    clippy::result_large_err,
    reason = "the handshake callback's error type is tungstenite's"
)]
async fn connection(stream: TcpStream, agents: Agents) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut path = String::new();
    let ws = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |request: &Request, response: Response| {
            path = request.uri().path().to_string();
            Ok(response)
        },
        Some(server_config()),
    )
    .await?;
    let (mut sink, mut stream) = ws.split();
    if path == "/ws/agent" {
        let (tx, mut rx) = mpsc::unbounded_channel();
        agents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx.clone());
        tx.send(Message::text(
            json!({"type": "welcome", "v": 1}).to_string(),
        ))?;
        let writer = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        while let Some(Ok(_)) = stream.next().await {}
        writer.abort();
        return Ok(());
    }
    while let Some(message) = stream.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let frame: Value = match serde_json::from_str(&text) {
            Ok(frame) => frame,
            Err(_) => continue,
        };
        match frame["type"].as_str() {
            Some("hello") => {
                let welcome = json!({"type": "welcome", "v": 1, "conversation": null});
                sink.send(Message::text(welcome.to_string())).await?;
            }
            Some("message") => {
                let ack = json!({"type": "ack", "client_id": frame["client_id"]});
                sink.send(Message::text(ack.to_string())).await?;
                let forward = Message::text(
                    json!({"type": "message", "client_id": frame["client_id"], "body": frame["body"]})
                        .to_string(),
                );
                let mut agents = agents.lock().unwrap_or_else(|e| e.into_inner());
                agents.retain(|agent| agent.send(forward.clone()).is_ok());
            }
            _ => {}
        }
    }
    Ok(())
}
