//! Realtime fan-out: who is subscribed to what, and delivering live events to them.
//!
//! One trait with an in-process implementation (the default). A multi-node implementation plugs in
//! behind the same trait, so gateways never know which one they talk to.

mod memory;

use std::sync::Arc;

use tokio::sync::broadcast;

pub use memory::MemoryBus;

use crate::domain::events::{RealtimeEvent, Topic};

/// A live event as subscribers receive it (shared: one event goes to many sockets).
pub type SharedEvent = Arc<RealtimeEvent>;

pub trait Bus: Send + Sync {
    /// Sends an event to everyone subscribed to `topic` now. Never blocks; nobody listening is fine.
    fn publish(&self, topic: Topic, event: RealtimeEvent);

    /// Subscribes to a topic. A subscriber that falls too far behind gets `Lagged` and must resync
    /// from storage (the gateways close the socket; the client resumes by `seq`).
    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<SharedEvent>;
}
