//! Start-up time: from starting `natter serve` on an existing database until `/readyz` answers 200.

use std::time::{Duration, Instant};

use crate::target::{NatterCommand, free_address, stop, wait_ready};

/// Starts the server `runs + 1` times on one data folder; the first start creates the database (and
/// fills the plugin cache), the others are what an operator's restart costs.
pub async fn run(command: &NatterCommand, runs: usize) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    let mut times = Vec::new();
    for run in 0..=runs {
        let addr = free_address()?;
        let since = Instant::now();
        let mut child = command.spawn(data.path(), addr)?;
        let ready = wait_ready(&http, addr, since, &mut child).await?;
        stop(&mut child).await?;
        if run == 0 {
            println!("first start (new database): {:.0} ms", ms(ready));
        } else {
            println!("start {run} (existing database): {:.0} ms", ms(ready));
            times.push(ready);
        }
    }
    times.sort();
    if let (Some(min), Some(max)) = (times.first(), times.last()) {
        let median = times[times.len() / 2];
        println!(
            "| start on an existing database, until /readyz | {:.0} ms | {:.0} ms | {:.0} ms |",
            ms(median),
            ms(*min),
            ms(*max)
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
