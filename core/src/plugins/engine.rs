//! The one wasmtime `Engine` of the process and the thread that advances its epoch.
//!
//! Deadlines use epoch interruption: a store traps with `Trap::Interrupt` once the engine's epoch has moved a
//! set number of ticks past the store's start. It costs a load and a compare per loop iteration, unlike fuel.

use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::plugins::limits::Limits;

/// How often the epoch advances. A deadline is honoured to within one tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How many plugin calls may run at once; each holds one slot of the pooling allocator while it runs.
/// Calls beyond it wait for a slot instead of failing.
pub const CONCURRENT_CALLS: u32 = 32;

/// Bytes of a slot's linear memory (and table) reset in place when its instance is dropped, rather than
/// handed back to the kernel. A widget hook runs after every message: giving its pages back costs an
/// `madvise` per call, with a TLB shoot-down on every core and page faults on the next call: about a
/// third of the samples in the message-path benchmark (BENCHMARKS.md). With `PAGEMAP_SCAN` (Linux 6.7+)
/// only the pages the call wrote are reset; elsewhere the low addresses are. Beyond this many bytes,
/// pages go back as before. Either way the next call starts from the module's initial image.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;
/// Slots kept warm for reuse, each keeping at most [`KEEP_RESIDENT_BYTES`] of linear memory resident:
/// enough for the calls that run at once on a small server, and at most 16 MiB in all.
const WARM_SLOTS: u32 = 8;

/// Builds the engine: component model, epoch interruption, the pooling allocator sized for
/// [`CONCURRENT_CALLS`] instances whose memories may reach the configured cap.
pub fn build(limits: &Limits) -> wasmtime::Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    // A component instance is made of a few core instances, memories and tables; leave room for them.
    pool.total_component_instances(CONCURRENT_CALLS)
        .total_core_instances(CONCURRENT_CALLS * 4)
        .total_memories(CONCURRENT_CALLS * 2)
        .total_tables(CONCURRENT_CALLS * 4)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        // One page more than the cap, so the limiter, not the pool, is what refuses growth past it, and
        // the failure is reported as a memory failure.
        .max_memory_size(limits.memory_bytes.saturating_add(64 * 1024))
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        .pagemap_scan(Enabled::Auto)
        .max_unused_warm_slots(WARM_SLOTS);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Ticks for a deadline: rounded up, plus one because the current tick may be nearly over.
pub fn deadline_ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_micros().max(1);
    u64::try_from(deadline.as_micros().div_ceil(tick)).unwrap_or(u64::MAX) + 1
}

/// A background thread advancing the engine's epoch every [`EPOCH_TICK`]; it ends on `stop` or drop.
pub struct EpochTicker {
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<()>();
        let engine = engine.clone();
        let thread = std::thread::Builder::new()
            .name("natter-plugin-epoch".into())
            .spawn(move || {
                // Ends when `stop` drops the sender (or sends), whichever comes first.
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(EPOCH_TICK) {
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Stops the thread and waits for it (at most one tick).
    pub fn stop(&self) {
        if let Ok(mut stop) = self.stop.lock() {
            stop.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            // A panicked ticker has stopped ticking all the same; nothing is left to clean up.
            let _ = thread.join();
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_rounds_up_to_whole_ticks_plus_one() {
        assert_eq!(deadline_ticks(Duration::from_millis(200)), 41);
        assert_eq!(deadline_ticks(Duration::from_millis(1)), 2);
    }

    #[test]
    fn ticker_advances_and_stops() {
        let engine = build(&Limits::default()).expect("engine");
        let ticker = EpochTicker::start(&engine).expect("ticker");
        ticker.stop();
        ticker.stop();
    }
}
