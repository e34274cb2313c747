//! `natter-bench`: the load generator and start-up timer behind BENCHMARKS.md. Every figure there is
//! one command of this tool against a release `natter serve` it starts itself.

mod clients;
mod limits;
mod load;
mod relay;
mod startup;
mod stats;
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::clients::Sources;
use crate::load::{LoadOptions, Report};
use crate::target::{NatterCommand, Target};

#[derive(Parser)]
#[command(
    name = "natter-bench",
    about = "Load generator and start-up timer for Natter"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Idle visitor sockets (server RSS per socket), then messages from talking visitors to agents
    /// (ack and delivery latency, throughput), against Natter and the bare relay in the same run.
    Load {
        /// Idle visitor sockets held open for the memory figure.
        #[arg(long, default_value_t = 1000)]
        visitors: usize,
        /// Agent sockets; every one receives every message.
        #[arg(long, default_value_t = 2)]
        agents: usize,
        /// Visitors that write, each in its own conversation.
        #[arg(long, default_value_t = 200)]
        talkers: usize,
        /// Messages per second over all talkers (0: memory only).
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        /// Seconds of sending.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Sockets being opened at once.
        #[arg(long, default_value_t = 128)]
        concurrency: usize,
        /// Which servers to run against.
        #[arg(long, value_enum, default_value_t = Which::Both)]
        target: Which,
        #[command(flatten)]
        natter: NatterArgs,
    },
    /// Time from `natter serve` to a 200 from `/readyz` on an existing database.
    Startup {
        /// Restarts measured after the first start.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        #[command(flatten)]
        natter: NatterArgs,
    },
    /// The bare relay alone (the load command starts it as a child process).
    Relay {
        #[arg(long)]
        listen: SocketAddr,
    },
}

#[derive(clap::Args)]
struct NatterArgs {
    /// The `natter` binary; default: the one next to this tool (`target/release/natter`).
    #[arg(long)]
    natter: Option<PathBuf>,
    /// A setting for the server, `NATTER_…=value` (repeatable), e.g. a PostgreSQL database URL.
    #[arg(long = "env", value_parser = parse_env)]
    env: Vec<(String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Both,
    Natter,
    Relay,
}

fn parse_env(value: &str) -> Result<(String, String), String> {
    value
        .split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=value, got {value}"))
}

impl NatterArgs {
    fn command(self) -> anyhow::Result<NatterCommand> {
        let binary = match self.natter {
            Some(path) => path,
            None => std::env::current_exe()?
                .parent()
                .context("the tool has no folder")?
                .join("natter"),
        };
        Ok(NatterCommand {
            binary,
            env: self.env,
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Relay { listen } => relay::run(listen).await,
        Command::Startup { runs, natter } => startup::run(&natter.command()?, runs).await,
        Command::Load {
            visitors,
            agents,
            talkers,
            rate,
            seconds,
            concurrency,
            target,
            natter,
        } => {
            let options = LoadOptions {
                visitors,
                agents,
                talkers,
                rate,
                seconds,
                concurrency,
            };
            // Besides the idle visitors: talkers, agents, and 200 for the warm-up's 100 and reconnects.
            let others = talkers + agents + 200;
            let sockets = visitors + others;
            // The tool's sockets and, in the children that inherit the limit, the server's.
            let limit = limits::files_for(sockets as u64, others as u64)?;
            // Closed sockets of the first run wait out TIME_WAIT and keep their source ports, so
            // the second run needs ports of its own.
            let runs = if target == Which::Both { 2 } else { 1 };
            let sources = Arc::new(Sources::for_sockets(runs * sockets));
            eprintln!(
                "open-file limit {limit}; {} source addresses",
                sources.count()
            );
            let command = natter.command()?;
            let mut reports = Vec::new();
            if target != Which::Natter {
                let relay = Target::relay(agents).await?;
                reports.push(load::run(&relay, &options, sources.clone()).await?);
                relay.stop().await?;
            }
            if target != Which::Relay {
                let server = Target::natter(&command, agents).await?;
                reports.push(load::run(&server, &options, sources.clone()).await?);
                server.stop().await?;
            }
            print_reports(&options, &mut reports);
            Ok(())
        }
    }
}

fn print_reports(options: &LoadOptions, reports: &mut [Report]) {
    println!(
        "\n{} idle visitors, {} talkers, {} agents, {} msg/s for {} s\n",
        options.visitors, options.talkers, options.agents, options.rate, options.seconds
    );
    println!(
        "| server | idle sockets | RSS before | RSS open | RSS per idle socket | RSS after close | opened per s |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in reports.iter() {
        println!(
            "| {} | {} | {:.1} MiB | {:.1} MiB | {:.1} KiB | {:.1} MiB | {:.0} |",
            r.name,
            r.opened,
            mib(r.rss_before),
            mib(r.rss_open),
            r.kib_per_socket(),
            mib(r.rss_closed),
            r.opened as f64 / r.open_seconds.max(1e-9),
        );
    }
    if options.talkers == 0 || options.rate <= 0.0 {
        return;
    }
    println!(
        "\n| server | ack p50 | ack p99 | ack max | delivery p50 | delivery p99 | delivery max | acked msg/s | sent | acked | delivered | errors | closes | failed connects |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in reports.iter_mut() {
        let ack = r.ack.summary().unwrap_or_default();
        let delivery = r.delivery.summary().unwrap_or_default();
        println!(
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} | {} | {} | {} | {} | {} | {} |",
            r.name,
            ack.0,
            ack.1,
            ack.2,
            delivery.0,
            delivery.1,
            delivery.2,
            r.acked as f64 / r.traffic_seconds.max(1e-9),
            r.sent,
            r.acked,
            r.delivered,
            r.errors,
            r.closes,
            r.connect_failures,
        );
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
