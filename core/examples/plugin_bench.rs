//! What a plugin call costs, measured against a baseline in the same run.
//!
//! `cargo run --release -p natter-core --example plugin_bench [-- ITERATIONS]`
//!
//! Method: the built-in WebChat component is loaded by the real `PluginHost` (pooling allocator, epoch
//! deadline, memory limiter). Each case runs ITERATIONS times (default 2000) after 200 warm-up runs,
//! one call at a time, timed per call; the table gives the median and the 99th percentile and the median
//! as a multiple of the baseline. The baseline is the host's dispatch alone: a round trip to the blocking
//! thread pool that every call makes, with no WebAssembly in it.
//!
//! - `validate-config({})`: a fresh store, instantiation, and the smallest real export call.
//! - `render({})`: a fresh store, instantiation, and the full widget render (what a cache miss costs).
//! - `widget.js, cached`: `Widgets::script` for a site whose render is cached: the SQLite lookup of the
//!   site and the configuration version kept in memory make the entity tag, then the cache hit. This is
//!   what a page view costs; it never runs the plugin.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use natter_core::bus::MemoryBus;
use natter_core::domain::widget::Widgets;
use natter_core::plugins::capabilities::Grants;
use natter_core::plugins::{BUILTINS, HostOptions, Limits, PluginHost, RenderContext};
use natter_core::store::Store;

const WARM_UP: usize = 200;

struct Row {
    case: &'static str,
    median: Duration,
    p99: Duration,
}

async fn measure<F, Fut>(case: &'static str, iterations: usize, mut run: F) -> Row
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..WARM_UP {
        run().await;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        run().await;
        samples.push(start.elapsed());
    }
    samples.sort();
    Row {
        case,
        median: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let temp = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        temp.path().join("bench.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let site = store.ensure_default_site().await.unwrap();
    let host = PluginHost::start(HostOptions {
        limits: Limits::default(),
        grants: Grants::default(),
        dir: None,
        builtins: BUILTINS.to_vec(),
        data: Arc::new(store.clone()),
        platform: None,
        compile_cache: None,
    })
    .await
    .unwrap();
    let widgets = Widgets::new(
        store.clone(),
        Arc::new(host.clone()),
        Arc::new(MemoryBus::new()),
        "webchat",
        "http://127.0.0.1:8080",
    );
    let ctx = RenderContext {
        site_key: site.key.clone(),
        base_url: "http://127.0.0.1:8080".into(),
        ws_url: "ws://127.0.0.1:8080/ws/visitor".into(),
    };

    let mut rows = Vec::new();
    rows.push(
        measure(
            "baseline: dispatch to the blocking pool",
            iterations,
            || async {
                tokio::task::spawn_blocking(|| std::hint::black_box(1))
                    .await
                    .unwrap();
            },
        )
        .await,
    );
    rows.push(
        measure(
            "validate-config({}): fresh store + instantiate + call",
            iterations,
            || async {
                host.validate_config("webchat", "{}")
                    .await
                    .unwrap()
                    .unwrap();
            },
        )
        .await,
    );
    rows.push(
        measure(
            "render({}): fresh store + instantiate + render",
            iterations,
            || async {
                std::hint::black_box(host.render("webchat", "{}", &ctx).await.unwrap());
            },
        )
        .await,
    );
    widgets.script(&site.key).await.unwrap();
    let calls_before: u64 = host.list().iter().map(|p| p.calls).sum();
    rows.push(
        measure(
            "widget.js, cached: entity tag + cache hit",
            iterations,
            || async {
                std::hint::black_box(widgets.script(&site.key).await.unwrap());
            },
        )
        .await,
    );
    let calls_after: u64 = host.list().iter().map(|p| p.calls).sum();
    assert_eq!(
        calls_before, calls_after,
        "a cached page view must not call the plugin"
    );

    let baseline = rows[0].median.as_secs_f64();
    println!(
        "plugin call cost, {iterations} iterations per case ({} CPUs)\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| case | median | p99 | median ÷ baseline |");
    println!("| --- | ---: | ---: | ---: |");
    for row in &rows {
        println!(
            "| {} | {:.1} µs | {:.1} µs | {:.1}× |",
            row.case,
            row.median.as_secs_f64() * 1e6,
            row.p99.as_secs_f64() * 1e6,
            row.median.as_secs_f64() / baseline
        );
    }
    host.stop();
    store.close().await.unwrap();
}
