//! The in-process bus: one broadcast channel per topic, created on first subscription.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::bus::{Bus, SharedEvent};
use crate::domain::events::{RealtimeEvent, Topic};

/// How many events a slow subscriber may fall behind before it must resync.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub struct MemoryBus {
    topics: Mutex<HashMap<Topic, broadcast::Sender<SharedEvent>>>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends an event to every subscriber of every topic (a [`RealtimeEvent::Resync`]).
    pub fn publish_everywhere(&self, event: RealtimeEvent) {
        let event = Arc::new(event);
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.retain(|_, sender| sender.send(event.clone()).is_ok());
    }
}

impl Bus for MemoryBus {
    fn publish(&self, topic: Topic, event: RealtimeEvent) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = topics.get(&topic) else {
            return;
        };
        if sender.send(Arc::new(event)).is_err() {
            // Everyone left: forget the channel so idle visitors do not accumulate.
            topics.remove(&topic);
        }
    }

    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<SharedEvent> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics
            .entry(topic)
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::VisitorId;

    fn presence(online: u32) -> RealtimeEvent {
        RealtimeEvent::Presence {
            online,
            available: 0,
        }
    }

    #[tokio::test]
    async fn events_reach_only_subscribers_of_their_topic() {
        let bus = MemoryBus::new();
        let alice = VisitorId::new();
        let mut agents = bus.subscribe(Topic::Agents);
        let mut visitor = bus.subscribe(Topic::Visitor(alice));
        bus.publish(Topic::Visitor(alice), presence(1));
        bus.publish(Topic::Agents, presence(2));
        assert_eq!(*visitor.recv().await.expect("visitor event"), presence(1));
        assert_eq!(*agents.recv().await.expect("agent event"), presence(2));
        assert!(visitor.try_recv().is_err(), "visitor saw an agents' event");
    }

    #[tokio::test]
    async fn topics_without_subscribers_are_dropped() {
        let bus = MemoryBus::new();
        let topic = Topic::Visitor(VisitorId::new());
        drop(bus.subscribe(topic));
        bus.publish(topic, presence(1));
        assert!(bus.topics.lock().expect("lock").is_empty());
    }
}
