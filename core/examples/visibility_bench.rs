//! Benchmark: re-deciding visibility for 10,000 connected visitors after an agent status change.
//!
//! Method: 10,000 tasks stand in for visitor sockets. Each holds its visitor's facts and listens on
//! the bus topic every visitor socket listens on, exactly as `ws::visitor` does. One presence event
//! is published; the time until every task has re-decided (all five built-in rules enabled) is one
//! round. The baseline is the same fan-out with tasks that only count the event, measured in the same
//! run, so the ratio isolates the cost of deciding. Median of 7 rounds after 2 warm-up rounds.
//!
//! Run: `cargo run --release -p natter-core --example visibility_bench`
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use natter_core::bus::{Bus, MemoryBus};
use natter_core::domain::clock::{Clock, SystemClock};
use natter_core::domain::events::{RealtimeEvent, Topic};
use natter_core::domain::ids::{AgentId, SiteId, VisitorId};
use natter_core::domain::presence::Presence;
use natter_core::domain::visibility::{RuleInput, Visibility, VisitorFacts};
use natter_core::store::Store;
use tokio::sync::Notify;

const VISITORS: usize = 10_000;
const ROUNDS: usize = 7;
const WARMUP: usize = 2;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let presence = Arc::new(Presence::new());
    let visibility = Visibility::load(
        natter_rules::Limits::default(),
        store,
        bus.clone(),
        clock.clone(),
        presence.clone(),
    )
    .await
    .unwrap();
    for builtin in natter_rules::builtin_rules() {
        let params = match builtin.key {
            "opening_hours" => Some(
                serde_json::json!({"spec": "mon-fri 09:00-12:00, 13:00-17:30; sat 10:00-14:00"}),
            ),
            _ => None,
        };
        visibility
            .create_rule(RuleInput {
                name: builtin.name.to_string(),
                script: None,
                builtin: Some(builtin.key.to_string()),
                params,
                position: None,
                enabled: true,
            })
            .await
            .unwrap();
    }

    let baseline = run(&bus, &presence, None, &clock).await;
    let deciding = run(&bus, &presence, Some(visibility), &clock).await;
    let per_visitor = deciding.saturating_sub(baseline).as_secs_f64() / VISITORS as f64 * 1e6;
    println!("visitors: {VISITORS}, rules: 5 built-ins enabled, rounds: {ROUNDS} (median)");
    println!("baseline (fan-out only):       {:>8.1} ms", ms(baseline));
    println!("re-decide all visitors:        {:>8.1} ms", ms(deciding));
    println!(
        "ratio re-decide / baseline:    {:>8.1}x",
        ms(deciding) / ms(baseline)
    );
    println!("decision cost per visitor:     {per_visitor:>8.1} µs");
}

/// Median time for one presence change to reach (and, with `visibility`, be decided by) every visitor.
async fn run(
    bus: &Arc<dyn Bus>,
    presence: &Arc<Presence>,
    visibility: Option<Visibility>,
    clock: &Arc<dyn Clock>,
) -> Duration {
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let site = SiteId::new();
    let mut tasks = Vec::with_capacity(VISITORS);
    for i in 0..VISITORS {
        let mut events = bus.subscribe(Topic::AllVisitors);
        let facts = VisitorFacts {
            visitor_id: VisitorId::new(),
            site_id: site,
            timezone: chrono_tz::Europe::Berlin,
            visits: u32::try_from(i % 4).unwrap() + 1,
            url: format!("https://shop.example/products/{i}"),
            referrer: String::new(),
            language: "de-DE".into(),
            page_since: clock.now(),
            customer: None,
        };
        let visibility = visibility.clone();
        let done = done.clone();
        let all_done = all_done.clone();
        tasks.push(tokio::spawn(async move {
            let mut visible = None;
            while events.recv().await.is_ok() {
                if let Some(v) = &visibility {
                    let decision = v.decide(&facts);
                    visible = Some(decision.visible);
                }
                if done.fetch_add(1, Ordering::AcqRel) + 1 == VISITORS {
                    all_done.notify_one();
                }
            }
            visible
        }));
    }
    let agent = AgentId::new();
    let mut rounds = Vec::new();
    for round in 0..WARMUP + ROUNDS {
        done.store(0, Ordering::Release);
        // Alternate the agent coming and going, as a real status change would.
        if round % 2 == 0 {
            presence.connect(agent).await;
        } else {
            presence.disconnect(agent).await;
        }
        let counts = presence.counts();
        let started = Instant::now();
        bus.publish(
            Topic::AllVisitors,
            RealtimeEvent::Presence {
                online: counts.online,
                available: counts.available,
            },
        );
        all_done.notified().await;
        if round >= WARMUP {
            rounds.push(started.elapsed());
        }
    }
    for task in tasks {
        task.abort();
    }
    rounds.sort();
    rounds[rounds.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
