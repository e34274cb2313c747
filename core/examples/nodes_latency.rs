//! Benchmark: visitor→agent message latency across two nodes, next to the same on one node.
//!
//! `cargo run --release -p natter-core --example nodes_latency` (needs PostgreSQL and Redis: the URLs
//! are `NATTER_BENCH_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`, and
//! `NATTER_BENCH_REDIS`, default `redis://127.0.0.1:6379`)
//!
//! Method: one fresh PostgreSQL database and three servers in this process: a single node with the
//! in-process bus (a visitor socket and an agent socket on it), and two nodes A and B sharing a Redis bus
//! (a key prefix of the run's own; each has its own Redis connections, so events really cross Redis),
//! with the visitor on A and the agent on B. A sample is the time from the visitor's `message` frame
//! leaving the client until the agent's socket receives it: storing, publishing and the fan-out, over
//! loopback. Samples are taken one at a time (the next message leaves when the previous one arrived),
//! alternating between the setups in blocks of 50 so that a busy moment of the machine hits both; 20
//! warm-up messages each, then 500 measured each. Figures are p50 and p99 per setup and their ratio.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary"
)]

use std::time::{Duration, Instant};

use natter_core::config::Config;
use natter_core::domain::clock::SystemClock;
use natter_core::domain::scope::Scope;
use natter_core::domain::tokens::Tokens;
use natter_core::store::Store;
use natter_core::{LoadedConfig, Overrides};
use natter_tests::{Api, Ws};
use serde_json::json;
use tokio::sync::oneshot;

const WARMUP: usize = 20;
const SAMPLES: usize = 500;
const BLOCK: usize = 50;
const PASSWORD: &str = "correct horse battery staple";

struct Node {
    base: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(database_url: &str, bus: Option<(&str, &str)>) -> Node {
    let mut config = Config::default();
    config.database.url = database_url.to_string();
    config.chat.messages_per_minute = 100_000;
    if let Some((url, prefix)) = bus {
        config.bus.url = url.to_string();
        config.bus.prefix = prefix.to_string();
    }
    let temp = std::env::temp_dir();
    let loaded = LoadedConfig {
        config,
        base_dir: temp,
        unknown_env: Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        natter_core::serve(
            loaded,
            listener,
            async {
                let _ = stopped.await;
            },
            Overrides::default(),
        )
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
    Node { base, stop, task }
}

impl Node {
    async fn halt(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Signs an agent in (password set over the API) and answers the session cookie.
async fn agent_cookie(api: &Api, base: &str, name: &str) -> String {
    let id = api.create_agent(name).await;
    api.send(
        "PUT",
        &format!("/api/v1/agents/{id}/password"),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{base}/agent/login"))
        .json(&json!({"email": format!("{name}@example.com"), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// A visitor socket and an agent socket, each on its node.
struct Pair {
    visitor: Ws,
    agent: Ws,
    name: &'static str,
    sent: usize,
}

impl Pair {
    async fn open(
        api: &Api,
        site: &str,
        visitor_node: &str,
        agent_node: &str,
        name: &'static str,
    ) -> Self {
        let cookie = agent_cookie(api, agent_node, &format!("agent-{name}")).await;
        let mut agent = Ws::connect(&format!("ws://{agent_node}/ws/agent"), Some(&cookie))
            .await
            .unwrap();
        agent
            .send(json!({"type": "hello", "v": 1, "resume": []}))
            .await;
        agent.expect("welcome").await;
        let url = format!("ws://{visitor_node}/ws/visitor?site={site}");
        let mut visitor = Ws::connect(&url, None).await.unwrap();
        visitor
            .send(json!({"type": "hello", "v": 1, "visitor_id": null,
                "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}}))
            .await;
        visitor.expect("welcome").await;
        Self {
            visitor,
            agent,
            name,
            sent: 0,
        }
    }

    /// Sends `count` messages one at a time; answers their latencies.
    async fn sample(&mut self, count: usize) -> Vec<Duration> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            self.sent += 1;
            let body = format!("{}-{}", self.name, self.sent);
            let started = Instant::now();
            self.visitor
                .send(json!({"type": "message", "client_id": body, "body": body}))
                .await;
            self.agent.expect_message(&body).await;
            out.push(started.elapsed());
        }
        out
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let postgres = std::env::var("NATTER_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let redis =
        std::env::var("NATTER_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let run = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("natter_bench_{run}");
    let database = Store::create_postgres_database(&postgres, &name)
        .await
        .unwrap();

    let store = Store::connect(&database).await.unwrap();
    store.migrate().await.unwrap();
    let site = store.ensure_default_site().await.unwrap().key;
    let token = Tokens::new(store.clone(), std::sync::Arc::new(SystemClock))
        .create("bench", vec![Scope::Admin], None)
        .await
        .unwrap()
        .secret;
    store.close().await.unwrap();

    let single = start(&database, None).await;
    let prefix = format!("natter-bench-{run}");
    let a = start(&database, Some((&redis, &prefix))).await;
    let b = start(&database, Some((&redis, &prefix))).await;
    let api = Api {
        base: format!("http://{}", a.base),
        token,
        client: reqwest::Client::new(),
    };
    let mut one_node = Pair::open(&api, &site, &single.base, &single.base, "one").await;
    let mut two_nodes = Pair::open(&api, &site, &a.base, &b.base, "two").await;
    one_node.sample(WARMUP).await;
    two_nodes.sample(WARMUP).await;
    let (mut one, mut two) = (Vec::new(), Vec::new());
    while one.len() < SAMPLES {
        one.extend(one_node.sample(BLOCK).await);
        two.extend(two_nodes.sample(BLOCK).await);
    }
    one.sort();
    two.sort();
    for node in [single, a, b] {
        node.halt().await;
    }

    Store::drop_postgres_database(&postgres, &name)
        .await
        .unwrap();

    println!("visitor→agent message latency, {SAMPLES} messages one at a time, PostgreSQL\n");
    println!("| setup | p50 | p99 |");
    println!("| --- | ---: | ---: |");
    println!(
        "| one node (in-process bus) | {} | {} |",
        ms(percentile(&one, 0.5)),
        ms(percentile(&one, 0.99))
    );
    println!(
        "| two nodes (visitor on A, agent on B, Redis bus) | {} | {} |",
        ms(percentile(&two, 0.5)),
        ms(percentile(&two, 0.99))
    );
    println!(
        "| ratio two / one | {:.2}x | {:.2}x |",
        percentile(&two, 0.5).as_secs_f64() / percentile(&one, 0.5).as_secs_f64(),
        percentile(&two, 0.99).as_secs_f64() / percentile(&one, 0.99).as_secs_f64()
    );
}
