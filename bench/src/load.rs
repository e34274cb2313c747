//! One load run against one target: idle visitors for memory, then talking visitors and agents for
//! latency and throughput, then everything closed to see the memory come back.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::clients::{self, Sources, Ws};
use crate::stats::{Latencies, settled_rss};
use crate::target::Target;

/// How long the RSS may take to settle after sockets open or close.
const SETTLE: Duration = Duration::from_secs(20);

/// How long the server gets to give memory back after the sockets closed (jemalloc's decay is 10 s).
const GIVE_BACK: Duration = Duration::from_secs(15);

/// How long a talker waits for its last acks after it stopped sending.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct LoadOptions {
    /// Idle visitor sockets held open for the memory figure.
    pub visitors: usize,
    /// Agent sockets; each receives every message.
    pub agents: usize,
    /// Visitors that write, each in its own conversation.
    pub talkers: usize,
    /// Messages per second over all talkers.
    pub rate: f64,
    /// How long the talkers send.
    pub seconds: f64,
    /// Sockets being opened at once.
    pub concurrency: usize,
}

/// What one run measured.
pub struct Report {
    pub name: &'static str,
    pub rss_before: u64,
    pub rss_open: u64,
    pub rss_closed: u64,
    pub opened: usize,
    pub open_seconds: f64,
    pub ack: Latencies,
    pub delivery: Latencies,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub traffic_seconds: f64,
    pub errors: u64,
    pub closes: u64,
    pub connect_failures: u64,
}

impl Report {
    /// Resident memory added per idle visitor socket, in KiB.
    pub fn kib_per_socket(&self) -> f64 {
        if self.opened == 0 {
            return 0.0;
        }
        self.rss_open.saturating_sub(self.rss_before) as f64 / self.opened as f64 / 1024.0
    }
}

/// The instant message bodies count from: a body is the nanoseconds since it, so an agent of this
/// process knows when the message left.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

pub async fn run(
    target: &Target,
    options: &LoadOptions,
    sources: Arc<Sources>,
) -> anyhow::Result<Report> {
    epoch();
    let (stop_agents, stopped) = watch::channel(false);
    let mut agents = Vec::new();
    for cookie in &target.cookies {
        let ws = clients::agent(&sources, target.addr, cookie).await?;
        agents.push(tokio::spawn(agent(ws, stopped.clone())));
    }

    // A few sockets first, so lazily built server state (pools, caches) is not counted per socket.
    let warm = open_visitors(target, &sources, 100, options.concurrency).await;
    drop(warm);
    let rss_before = settled_rss(target.pid, SETTLE).await?;

    let started = Instant::now();
    let (idle, connect_failures) =
        open_visitors(target, &sources, options.visitors, options.concurrency).await;
    let open_seconds = started.elapsed().as_secs_f64();
    let rss_open = settled_rss(target.pid, SETTLE).await?;
    let opened = idle.len();
    eprintln!(
        "{}: {opened} idle visitors open in {open_seconds:.1} s, RSS {} -> {} MiB",
        target.name,
        rss_before >> 20,
        rss_open >> 20
    );

    let mut report = Report {
        name: target.name,
        rss_before,
        rss_open,
        rss_closed: 0,
        opened,
        open_seconds,
        ack: Latencies::default(),
        delivery: Latencies::default(),
        sent: 0,
        acked: 0,
        delivered: 0,
        traffic_seconds: 0.0,
        errors: 0,
        closes: 0,
        connect_failures,
    };

    if options.talkers > 0 && options.rate > 0.0 {
        traffic(target, options, &sources, &mut report).await?;
    }
    // Late deliveries still count; then the agents stop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_agents.send_replace(true);
    for handle in agents {
        let result = handle.await?;
        report.delivery.extend(result.latencies);
        report.delivered += result.delivered;
        report.errors += result.errors;
        report.closes += result.closes;
    }

    drop(idle);
    tokio::time::sleep(GIVE_BACK).await;
    report.rss_closed = settled_rss(target.pid, SETTLE).await?;
    Ok(report)
}

/// Opens `count` visitor sockets, `concurrency` at a time; the sockets and how many failed.
async fn open_visitors(
    target: &Target,
    sources: &Sources,
    count: usize,
    concurrency: usize,
) -> (Vec<Ws>, u64) {
    let mut open = Vec::with_capacity(count);
    let mut failed = 0;
    let mut attempts = futures_util::stream::iter(0..count)
        .map(|_| clients::visitor(sources, target.addr, &target.site))
        .buffer_unordered(concurrency.max(1));
    while let Some(result) = attempts.next().await {
        match result {
            Ok(ws) => open.push(ws),
            Err(e) => {
                if failed == 0 {
                    eprintln!("{}: a visitor socket failed: {e:#}", target.name);
                }
                failed += 1;
            }
        }
    }
    (open, failed)
}

async fn traffic(
    target: &Target,
    options: &LoadOptions,
    sources: &Arc<Sources>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (talkers, failed) =
        open_visitors(target, sources, options.talkers, options.concurrency).await;
    report.connect_failures += failed;
    let count = talkers.len().max(1);
    let period = Duration::from_secs_f64(count as f64 / options.rate);
    let sending = Duration::from_secs_f64(options.seconds);
    let started = Instant::now();
    let handles: Vec<_> = talkers
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            // Spread the talkers over one period so the load is even, not in waves.
            let offset = period.mul_f64(i as f64 / count as f64);
            tokio::spawn(talker(ws, offset, period, sending))
        })
        .collect();
    for handle in handles {
        let result = handle.await?;
        report.ack.extend(result.latencies);
        report.sent += result.sent;
        report.acked += result.acked;
        report.errors += result.errors;
        report.closes += result.closes;
    }
    report.traffic_seconds = started.elapsed().as_secs_f64();
    Ok(())
}

#[derive(Default)]
struct SocketResult {
    latencies: Latencies,
    sent: u64,
    acked: u64,
    delivered: u64,
    errors: u64,
    closes: u64,
}

/// A visitor who writes one message every `period` for `sending`, then waits for its last acks.
async fn talker(mut ws: Ws, offset: Duration, period: Duration, sending: Duration) -> SocketResult {
    let mut result = SocketResult::default();
    let mut pending: HashMap<String, Instant> = HashMap::new();
    let start = tokio::time::Instant::now() + offset;
    let stop_sending = start + sending;
    let mut ticks = tokio::time::interval_at(start, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let now = tokio::time::Instant::now();
        let sending = now < stop_sending;
        if !sending && (pending.is_empty() || now > stop_sending + DRAIN) {
            break;
        }
        tokio::select! {
            _ = ticks.tick(), if sending => {
                let client_id = uuid::Uuid::new_v4().to_string();
                let body = epoch().elapsed().as_nanos().to_string();
                let frame = json!({"type": "message", "client_id": client_id, "body": body});
                pending.insert(client_id, Instant::now());
                result.sent += 1;
                if clients::send(&mut ws, &frame).await.is_err() {
                    result.closes += 1;
                    break;
                }
            }
            frame = clients::next(&mut ws) => match frame {
                Ok(Some(frame)) => match frame["type"].as_str() {
                    Some("ack") => {
                        if let Some(sent) = frame["client_id"].as_str().and_then(|id| pending.remove(id)) {
                            result.latencies.push(sent.elapsed());
                            result.acked += 1;
                        }
                    }
                    Some("error") => {
                        if let Some(id) = frame["client_id"].as_str() {
                            pending.remove(id);
                        }
                        result.errors += 1;
                    }
                    _ => {}
                },
                Ok(None) | Err(_) => {
                    result.closes += 1;
                    break;
                }
            },
            () = tokio::time::sleep_until(stop_sending + DRAIN), if !sending => break,
        }
    }
    result
}

/// An agent socket: every `message` it receives is a delivery, timed from the body's send instant.
async fn agent(mut ws: Ws, mut stop: watch::Receiver<bool>) -> SocketResult {
    let mut result = SocketResult::default();
    loop {
        tokio::select! {
            frame = clients::next(&mut ws) => match frame {
                Ok(Some(frame)) => match frame["type"].as_str() {
                    Some("message") => {
                        let sent = frame["body"].as_str().and_then(|b| b.parse::<u64>().ok());
                        if let Some(nanos) = sent {
                            let sent = Duration::from_nanos(nanos);
                            result.latencies.push(epoch().elapsed().saturating_sub(sent));
                            result.delivered += 1;
                        }
                    }
                    Some("error") => result.errors += 1,
                    _ => {}
                },
                Ok(None) | Err(_) => {
                    result.closes += 1;
                    break;
                }
            },
            _ = stop.changed() => break,
        }
    }
    result
}
