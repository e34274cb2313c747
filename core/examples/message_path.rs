//! Benchmark: the message path (visitor → store → ack, and → agent), next to a bare relay.
//!
//! `cargo run --release -p natter-core --example message_path` (SQLite in a temporary folder), or
//! with `-- postgres` for PostgreSQL (`NATTER_BENCH_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`; a fresh database of the run's own).
//!
//! Method, all in this process over loopback:
//! - **Throughput**: `CONVERSATIONS` visitor sockets, each with its own conversation, send
//!   `PER_SOCKET` messages each with at most `WINDOW` unacknowledged at a time. Figures: persisted
//!   messages per second (acks received / wall time) and the ack latency p50/p99.
//! - **Latency at a fixed rate**: `RATE` messages per second spread over `CONVERSATIONS` visitor
//!   sockets (each sends on its own timer) for `SECONDS`, one agent socket receiving every message.
//!   Figures: ack p50/p99 (send → `ack` at the visitor) and visitor→agent p50/p99 (send → `message`
//!   at the agent). Before the timed part every socket sends one message at once, which opens its
//!   conversation; those acks are reported apart (conversation opening, `CONVERSATIONS` at once), so
//!   the timed part is the steady path of messages to open conversations. The same clients run
//!   against a bare tokio-tungstenite relay built in here (hello → welcome, message → ack + forward
//!   to the agent) in the same run.
//!
//! Every socket has Nagle's algorithm off: the clients' (as browsers do), the relay's and Natter's.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a benchmark binary"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use natter_core::config::Config;
use natter_core::domain::clock::SystemClock;
use natter_core::domain::scope::Scope;
use natter_core::domain::tokens::Tokens;
use natter_core::store::Store;
use natter_core::{LoadedConfig, Overrides};
use natter_tests::Api;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, oneshot};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The allocator the `natter` binary uses, so the server in this process allocates as it does in
/// production (glibc's malloc showed up as an eighth of the samples here).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const CONVERSATIONS: usize = 100;
const PER_SOCKET: usize = 100;
const WINDOW: usize = 8;
const RATE: usize = 2_000;
const SECONDS: u64 = 5;
const PASSWORD: &str = "correct horse battery staple";

/// Where the clients connect: Natter (with a site key and an agent cookie) or the relay.
#[derive(Clone)]
struct Target {
    visitor_url: String,
    agent_url: String,
    cookie: Option<String>,
}

#[derive(Default)]
struct Samples {
    /// Acks of the first message of every socket, sent all at once: each opens a conversation.
    opened: Vec<Duration>,
    ack: Vec<Duration>,
    delivered: Vec<Duration>,
}

/// Client ids of the opening messages, which the agent's count leaves out.
const OPENING: &str = "open";

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Messages carry their send time (nanoseconds since `epoch`) in the client id, so every answer
/// can be timed without shared state.
fn stamp(epoch: Instant, socket: usize, n: usize) -> String {
    format!("{socket}-{n}-{}", epoch.elapsed().as_nanos())
}

fn age(epoch: Instant, client_id: &str) -> Option<Duration> {
    let nanos: u128 = client_id.rsplit('-').next()?.parse().ok()?;
    let sent = Duration::from_nanos(nanos as u64);
    Some(epoch.elapsed().saturating_sub(sent))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Clients (and the relay) read into 4 KiB buffers, as Natter's gateways do: tungstenite zero-fills its
/// read buffer before every read, 128 KiB by default, which would make the clients the cost measured.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

async fn open_visitor(target: &Target) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
        target.visitor_url.as_str(),
        Some(client_config()),
        true,
    )
    .await
    .unwrap();
    let hello = json!({"type": "hello", "v": 1, "visitor_id": null,
        "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}});
    ws.send(WsMessage::Text(hello.to_string().into()))
        .await
        .unwrap();
    while let Some(Ok(message)) = ws.next().await {
        if let WsMessage::Text(text) = message
            && text.contains("\"welcome\"")
        {
            break;
        }
    }
    ws
}

fn frame(message: &WsMessage) -> Option<Value> {
    match message {
        WsMessage::Text(text) => serde_json::from_str(text.as_str()).ok(),
        _ => None,
    }
}

/// Closed loop with a window: answers (acks, wall time).
async fn throughput(target: &Target) -> (Vec<Duration>, Duration) {
    let epoch = Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..CONVERSATIONS {
        sockets.push(open_visitor(target).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (socket, ws) in sockets.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let window = Arc::new(Semaphore::new(WINDOW));
            let permits = window.clone();
            let writer = tokio::spawn(async move {
                for n in 0..PER_SOCKET {
                    permits.acquire().await.unwrap().forget();
                    let id = stamp(epoch, socket, n);
                    let message = json!({"type": "message", "client_id": id, "body": id});
                    sink.send(WsMessage::Text(message.to_string().into()))
                        .await
                        .unwrap();
                }
                sink
            });
            let mut acks = Vec::with_capacity(PER_SOCKET);
            while acks.len() < PER_SOCKET {
                let Some(Ok(message)) = stream.next().await else {
                    break;
                };
                let Some(frame) = frame(&message) else {
                    continue;
                };
                if frame["type"] == "ack" || frame["type"] == "error" {
                    if let Some(elapsed) = frame["client_id"].as_str().and_then(|id| age(epoch, id))
                    {
                        acks.push(elapsed);
                    }
                    window.add_permits(1);
                }
            }
            let _ = writer.await;
            acks
        }));
    }
    let mut acks = Vec::new();
    for task in tasks {
        acks.extend(task.await.unwrap());
    }
    (acks, started.elapsed())
}

/// Open loop at `RATE` messages per second over many conversations, one agent receiving.
async fn latency(target: &Target) -> Samples {
    let epoch = Instant::now();
    let samples = Arc::new(Mutex::new(Samples::default()));
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            target.agent_url.as_str(),
        )
        .unwrap();
    if let Some(cookie) = &target.cookie {
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
    }
    let (mut agent, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(client_config()), true)
            .await
            .unwrap();
    let hello = json!({"type": "hello", "v": 1, "resume": []});
    agent
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .unwrap();
    let mut sockets = Vec::new();
    for _ in 0..CONVERSATIONS {
        sockets.push(open_visitor(target).await);
    }
    let opened = open_conversations(epoch, &mut sockets).await;
    samples.lock().unwrap().opened = opened;
    let per_socket = RATE / CONVERSATIONS;
    let total = per_socket * CONVERSATIONS * SECONDS as usize;
    let agent_samples = samples.clone();
    let agent_task = tokio::spawn(async move {
        let mut got = 0;
        while got < total {
            let Ok(Some(Ok(message))) =
                tokio::time::timeout(Duration::from_secs(10), agent.next()).await
            else {
                break;
            };
            let Some(frame) = frame(&message) else {
                continue;
            };
            let client_id = frame["client_id"].as_str().unwrap_or_default();
            if frame["type"] == "message"
                && !client_id.starts_with(OPENING)
                && let Some(elapsed) = age(epoch, client_id)
            {
                got += 1;
                agent_samples.lock().unwrap().delivered.push(elapsed);
            }
        }
    });
    let mut tasks = Vec::new();
    for (socket, ws) in sockets.into_iter().enumerate() {
        let samples = samples.clone();
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let writer = tokio::spawn(async move {
                let period = Duration::from_secs(1) / per_socket as u32;
                // Spread the sockets' timers over one period so the rate is even.
                tokio::time::sleep(period * socket as u32 / CONVERSATIONS as u32).await;
                let mut tick = tokio::time::interval(period);
                for n in 0..per_socket * SECONDS as usize {
                    tick.tick().await;
                    let id = stamp(epoch, socket, n);
                    let message = json!({"type": "message", "client_id": id, "body": id});
                    sink.send(WsMessage::Text(message.to_string().into()))
                        .await
                        .unwrap();
                }
                sink
            });
            let mut acks = 0;
            while acks < per_socket * SECONDS as usize {
                let Some(Ok(message)) = stream.next().await else {
                    break;
                };
                let Some(frame) = frame(&message) else {
                    continue;
                };
                if frame["type"] == "ack" {
                    acks += 1;
                    if let Some(elapsed) = frame["client_id"].as_str().and_then(|id| age(epoch, id))
                    {
                        samples.lock().unwrap().ack.push(elapsed);
                    }
                }
            }
            let _ = writer.await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    agent_task.await.unwrap();
    Arc::try_unwrap(samples)
        .ok()
        .map(|m| m.into_inner().unwrap())
        .unwrap_or_default()
}

/// Every socket sends one message at once and waits for its ack: answers those acks' latencies.
async fn open_conversations(epoch: Instant, sockets: &mut [Socket]) -> Vec<Duration> {
    for (socket, ws) in sockets.iter_mut().enumerate() {
        let id = format!("{OPENING}-{}", stamp(epoch, socket, 0));
        let message = json!({"type": "message", "client_id": id, "body": id});
        ws.send(WsMessage::Text(message.to_string().into()))
            .await
            .unwrap();
    }
    let mut opened = Vec::with_capacity(sockets.len());
    for ws in sockets.iter_mut() {
        while let Some(Ok(message)) = ws.next().await {
            if let Some(frame) = frame(&message)
                && frame["type"] == "ack"
            {
                opened.extend(frame["client_id"].as_str().and_then(|id| age(epoch, id)));
                break;
            }
        }
    }
    opened
}

/// The baseline: hello → welcome, message → ack to the sender + message to every agent.
async fn relay() -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (stop, mut stopped) = oneshot::channel::<()>();
    let agents: Arc<Mutex<Vec<tokio::sync::mpsc::UnboundedSender<String>>>> = Arc::default();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => accepted.unwrap(),
                _ = &mut stopped => return,
            };
            // As Natter does: every frame goes out as it is written.
            tcp.set_nodelay(true).unwrap();
            let agents = agents.clone();
            tokio::spawn(async move {
                let Ok(ws) =
                    tokio_tungstenite::accept_async_with_config(tcp, Some(client_config())).await
                else {
                    return;
                };
                let (mut sink, mut stream) = ws.split();
                let (out, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<String>();
                let writer = tokio::spawn(async move {
                    while let Some(text) = outgoing.recv().await {
                        if sink.send(WsMessage::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                });
                while let Some(Ok(message)) = stream.next().await {
                    let Some(frame) = frame(&message) else {
                        continue;
                    };
                    match frame["type"].as_str() {
                        Some("hello") if frame.get("resume").is_some() => {
                            agents.lock().unwrap().push(out.clone());
                            let _ = out.send(json!({"type": "welcome", "v": 1}).to_string());
                        }
                        Some("hello") => {
                            let _ = out.send(json!({"type": "welcome", "v": 1}).to_string());
                        }
                        Some("message") => {
                            let ack =
                                json!({"type": "ack", "client_id": frame["client_id"], "seq": 1});
                            let _ = out.send(ack.to_string());
                            let forward = json!({"type": "message", "client_id": frame["client_id"],
                                "body": frame["body"], "seq": 1});
                            let forward = forward.to_string();
                            for agent in agents.lock().unwrap().iter() {
                                let _ = agent.send(forward.clone());
                            }
                        }
                        _ => {}
                    }
                }
                drop(out);
                let _ = writer.await;
            });
        }
    });
    (address, stop)
}

async fn agent_cookie(api: &Api, base: &str) -> String {
    let id = api.create_agent("bench").await;
    api.send(
        "PUT",
        &format!("/api/v1/agents/{id}/password"),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{base}/agent/login"))
        .json(&json!({"email": "bench@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// A database of the run's own: a SQLite file in a temporary folder, or a fresh PostgreSQL database.
async fn database(postgres: bool, temp: &std::path::Path) -> (String, Option<(String, String)>) {
    if !postgres {
        return (
            format!("sqlite://{}?mode=rwc", temp.join("bench.db").display()),
            None,
        );
    }
    let server = std::env::var("NATTER_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("natter_bench_{}", uuid::Uuid::new_v4().simple());
    let url = Store::create_postgres_database(&server, &name)
        .await
        .unwrap();
    (url, Some((server, name)))
}

#[tokio::main]
async fn main() {
    let postgres = std::env::args().any(|a| a == "postgres");
    let temp = tempfile::tempdir().unwrap();
    let (database_url, cleanup) = database(postgres, temp.path()).await;
    let store = Store::connect(&database_url).await.unwrap();
    store.migrate().await.unwrap();
    let site = store.ensure_default_site().await.unwrap().key;
    let token = Tokens::new(store.clone(), Arc::new(SystemClock))
        .create("bench", vec![Scope::Admin], None)
        .await
        .unwrap()
        .secret;
    store.close().await.unwrap();

    let mut config = Config::default();
    config.database.url = database_url;
    config.chat.messages_per_minute = 1_000_000;
    let loaded = LoadedConfig {
        config,
        base_dir: temp.path().to_path_buf(),
        unknown_env: Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        natter_core::serve(loaded, listener, stopped, Overrides::default())
            .await
            .unwrap();
    });
    for _ in 0..200 {
        if reqwest::get(format!("http://{base}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let api = Api {
        base: format!("http://{base}"),
        token,
        client: reqwest::Client::new(),
    };
    let natter = Target {
        visitor_url: format!("ws://{base}/ws/visitor?site={site}"),
        agent_url: format!("ws://{base}/ws/agent"),
        cookie: Some(agent_cookie(&api, &base).await),
    };
    let (relay_address, relay_stop) = relay().await;
    let bare = Target {
        visitor_url: format!("ws://{relay_address}/"),
        agent_url: format!("ws://{relay_address}/"),
        cookie: None,
    };

    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    let (mut acks, wall) = throughput(&natter).await;
    println!(
        "throughput, {backend}: {CONVERSATIONS} conversations x {PER_SOCKET} messages, window {WINDOW}\n"
    );
    println!("| | persisted msg/s | ack p50 | ack p99 |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| natter | {:.0} | {} | {} |",
        acks.len() as f64 / wall.as_secs_f64(),
        ms(percentile(&mut acks, 0.5)),
        ms(percentile(&mut acks, 0.99))
    );
    let (mut relay_acks, relay_wall) = throughput(&bare).await;
    println!(
        "| bare relay (stores nothing) | {:.0} | {} | {} |\n",
        relay_acks.len() as f64 / relay_wall.as_secs_f64(),
        ms(percentile(&mut relay_acks, 0.5)),
        ms(percentile(&mut relay_acks, 0.99))
    );

    let mut natter_latency = latency(&natter).await;
    let mut relay_latency = latency(&bare).await;
    println!(
        "latency, {backend}: {RATE} msg/s over {CONVERSATIONS} conversations for {SECONDS} s, one agent\n"
    );
    println!("| | ack p50 | ack p99 | visitor→agent p50 | visitor→agent p99 | delivered |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, samples) in [
        ("natter", &mut natter_latency),
        ("bare relay", &mut relay_latency),
    ] {
        let delivered = samples.delivered.len();
        println!(
            "| {name} | {} | {} | {} | {} | {delivered} |",
            ms(percentile(&mut samples.ack, 0.5)),
            ms(percentile(&mut samples.ack, 0.99)),
            ms(percentile(&mut samples.delivered, 0.5)),
            ms(percentile(&mut samples.delivered, 0.99)),
        );
    }
    let ratio = percentile(&mut natter_latency.delivered, 0.99).as_secs_f64()
        / percentile(&mut relay_latency.delivered, 0.99)
            .as_secs_f64()
            .max(f64::EPSILON);
    println!("\nvisitor→agent p99 natter / relay: {ratio:.2}x");
    println!(
        "\nconversation opening: the first message of {CONVERSATIONS} sockets at once, before the above\n"
    );
    println!("| | ack p50 | ack p99 | acked |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, samples) in [
        ("natter", &mut natter_latency),
        ("bare relay", &mut relay_latency),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            ms(percentile(&mut samples.opened, 0.5)),
            ms(percentile(&mut samples.opened, 0.99)),
            samples.opened.len()
        );
    }

    let _ = relay_stop.send(());
    let _ = stop.send(());
    let _ = server.await;
    if let Some((server, name)) = cleanup {
        Store::drop_postgres_database(&server, &name).await.unwrap();
    }
}
