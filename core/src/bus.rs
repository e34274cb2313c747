//! Realtime fan-out: who is subscribed to what, and delivering live events to them.
//!
//! One trait, two implementations: in-process (the default, one node) and Redis (several nodes:
//! every event published on one node reaches the subscribers of all). Gateways never know which one
//! they talk to.

mod memory;
pub mod presence;
pub mod redis;
pub mod throttle;

use std::sync::Arc;

use tokio::sync::broadcast;

pub use crate::bus::redis::{BusError, RedisBus};
pub use memory::MemoryBus;

use crate::domain::events::{RealtimeEvent, Topic};

/// A live event as subscribers receive it (shared: one event goes to many sockets).
pub type SharedEvent = Arc<RealtimeEvent>;

pub trait Bus: Send + Sync {
    /// Sends an event to everyone subscribed to `topic` now, on every node. Never blocks; nobody
    /// listening is fine.
    fn publish(&self, topic: Topic, event: RealtimeEvent);

    /// Sends an event to this node's subscribers only: for what each node works out by itself
    /// (presence counts after re-reading the shared presence, decisions after reloading rules).
    fn publish_local(&self, topic: Topic, event: RealtimeEvent) {
        self.publish(topic, event);
    }

    /// Subscribes to a topic. A subscriber that falls too far behind gets `Lagged` and must resync
    /// from storage (the gateways close the socket; the client resumes by `seq`).
    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<SharedEvent>;

    /// A subscriber of `topic` dropped its receiver: the topic's channel is freed when nobody else
    /// listens (a visitor's own topic would otherwise stay until something is published to it).
    fn unsubscribed(&self, topic: Topic);

    /// How many single visitors' topics this node holds channels for (`GET /api/v1/stats`): one per
    /// connected visitor, none once they left.
    fn visitor_topics(&self) -> usize;

    /// Whether events reach the other nodes now (`/readyz`). In-process: always.
    fn connected(&self) -> bool {
        true
    }
}
