//! The in-process bus: one broadcast channel per topic, created on first subscription.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::bus::{Bus, SharedEvent};
use crate::domain::events::{RealtimeEvent, Topic};

/// How many events a slow subscriber of a shared topic (agents, all visitors, nodes) may fall
/// behind before it must resync.
const CAPACITY: usize = 1024;

/// The same for one visitor's own topic: their conversation's messages, typing, read marks and
/// co-browse frames. A channel allocates all its slots when created (40 bytes each), and every
/// connected visitor has one, so it is kept small: a visitor socket 16 events behind refills its
/// messages and state from storage, as any lagging subscriber does (64 slots were 2.5 KiB of every
/// idle visitor).
const VISITOR_CAPACITY: usize = 16;

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
        let capacity = match topic {
            Topic::Visitor(_) => VISITOR_CAPACITY,
            Topic::Agents | Topic::AllVisitors | Topic::Nodes => CAPACITY,
        };
        topics
            .entry(topic)
            .or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe()
    }

    fn unsubscribed(&self, topic: Topic) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if topics
            .get(&topic)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            topics.remove(&topic);
            // Give back the table's memory after a crowd left (it never shrinks by itself).
            if topics.capacity() > 64 && topics.len() < topics.capacity() / 4 {
                topics.shrink_to_fit();
            }
        }
    }

    fn visitor_topics(&self) -> usize {
        let topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics
            .keys()
            .filter(|topic| matches!(topic, Topic::Visitor(_)))
            .count()
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
    async fn a_topic_is_freed_when_its_last_subscriber_leaves() {
        let bus = MemoryBus::new();
        let topic = Topic::Visitor(VisitorId::new());
        let first = bus.subscribe(topic);
        let second = bus.subscribe(topic);
        assert_eq!(bus.visitor_topics(), 1);
        drop(first);
        bus.unsubscribed(topic);
        assert_eq!(bus.visitor_topics(), 1, "one subscriber is still there");
        drop(second);
        bus.unsubscribed(topic);
        assert_eq!(bus.visitor_topics(), 0);
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
