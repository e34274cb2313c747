//! The bus across nodes, through Redis pub/sub.
//!
//! Every event goes to this node's subscribers at once (so a node keeps serving its own sockets
//! whatever Redis does) and onto one channel, `{prefix}:bus`; each node hands what the others
//! published to its own subscribers. The link is repaired in the background with back-off. Events
//! are not stored by Redis, so whatever may have been lost while the link was down is announced as
//! [`RealtimeEvent::Resync`]: by a node when it is subscribed again (to its own sockets), and by a node
//! whose publishing failed once it can publish again (to everyone). Sockets then fill from storage
//! what they missed; messages are stored before they are published, so nothing is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bus::presence::RedisPresence;
use crate::bus::throttle::RedisThrottle;
use crate::bus::{Bus, MemoryBus, SharedEvent};
use crate::config::{BusConfig, redact_url_password};
use crate::domain::events::{RealtimeEvent, Topic};

/// Events waiting to be published; past this (Redis slow or away) they are dropped and a resync
/// is announced instead.
const OUTGOING_CAPACITY: usize = 10_000;
/// How long one connection attempt or command may take.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("[bus] url is not a Redis URL ({url}): {reason}")]
    Url { url: String, reason: String },
    #[error(
        "cannot reach Redis at {url} (tried for {seconds} s, [bus] connect_timeout_seconds): {reason}"
    )]
    Unreachable {
        url: String,
        seconds: u64,
        reason: String,
    },
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis: no answer within {} s", IO_TIMEOUT.as_secs())]
    Timeout,
    #[error("redis: unreadable presence entry: {0}")]
    Decode(#[from] serde_json::Error),
}

/// What crosses between nodes: an event and the node it came from (so it is not delivered twice).
#[derive(Serialize)]
struct Outgoing<'a> {
    node: Uuid,
    topic: Topic,
    event: &'a RealtimeEvent,
}

#[derive(Deserialize)]
struct Incoming {
    node: Uuid,
    topic: Topic,
    event: RealtimeEvent,
}

pub struct RedisBus {
    local: Arc<MemoryBus>,
    node: Uuid,
    outgoing: mpsc::Sender<String>,
    /// Set when an event could not even be queued: the publisher announces a resync.
    dropped: Arc<AtomicBool>,
    publishing: Arc<AtomicBool>,
    subscribed: Arc<AtomicBool>,
    connection: ConnectionManager,
    prefix: String,
}

impl RedisBus {
    /// Connects to Redis, waiting at most `connect_timeout_seconds`, then keeps the link up in the
    /// background until `shutdown`.
    pub async fn connect(
        config: &BusConfig,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, BusError> {
        let shown = redact_url_password(&config.url);
        let client = redis::Client::open(config.url.as_str()).map_err(|e| BusError::Url {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        let channel = format!("{}:bus", config.prefix);
        let patience = Duration::from_secs(config.connect_timeout_seconds.max(1));
        let (connection, pubsub) = tokio::time::timeout(patience, first_link(&client, &channel))
            .await
            .map_err(|_| BusError::Unreachable {
                url: shown.clone(),
                seconds: patience.as_secs(),
                reason: "no answer".into(),
            })?
            .map_err(|e| BusError::Unreachable {
                url: shown,
                seconds: patience.as_secs(),
                reason: e.to_string(),
            })?;
        let node = Uuid::new_v4();
        let (outgoing, queued) = mpsc::channel(OUTGOING_CAPACITY);
        let bus = Arc::new(Self {
            local: Arc::new(MemoryBus::new()),
            node,
            outgoing,
            dropped: Arc::new(AtomicBool::new(false)),
            publishing: Arc::new(AtomicBool::new(true)),
            subscribed: Arc::new(AtomicBool::new(true)),
            connection: connection.clone(),
            prefix: config.prefix.clone(),
        });
        let publisher = Publisher {
            connection,
            channel: channel.clone(),
            queued,
            resync: envelope(node, Topic::Nodes, &RealtimeEvent::Resync).unwrap_or_default(),
            dropped: bus.dropped.clone(),
            up: bus.publishing.clone(),
        };
        tokio::spawn(publisher.run(shutdown.clone()));
        let subscriber = Subscriber {
            client,
            channel,
            node,
            local: bus.local.clone(),
            up: bus.subscribed.clone(),
        };
        tokio::spawn(subscriber.run(pubsub, shutdown));
        tracing::info!(%node, "bus: connected to Redis; live events cross nodes");
        Ok(bus)
    }

    /// This node's id on the bus and in the shared presence.
    pub fn node(&self) -> Uuid {
        self.node
    }

    /// The sign-in throttle shared by the nodes, on this bus's Redis.
    pub fn throttle(&self, window: Duration) -> RedisThrottle {
        RedisThrottle::new(self.connection.clone(), &self.prefix, window)
    }

    /// The shared agent presence, on this bus's Redis.
    pub fn presence(&self, ttl: Duration) -> RedisPresence {
        RedisPresence::new(self.connection.clone(), &self.prefix, self.node, ttl)
    }
}

impl Bus for RedisBus {
    fn publish(&self, topic: Topic, event: RealtimeEvent) {
        match envelope(self.node, topic, &event) {
            Ok(payload) => {
                if self.outgoing.try_send(payload).is_err() {
                    self.dropped.store(true, Ordering::Release);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "bus: cannot encode an event; not sent to other nodes")
            }
        }
        self.local.publish(topic, event);
    }

    fn publish_local(&self, topic: Topic, event: RealtimeEvent) {
        self.local.publish(topic, event);
    }

    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<SharedEvent> {
        self.local.subscribe(topic)
    }

    fn unsubscribed(&self, topic: Topic) {
        self.local.unsubscribed(topic);
    }

    fn visitor_topics(&self) -> usize {
        self.local.visitor_topics()
    }

    fn connected(&self) -> bool {
        self.publishing.load(Ordering::Acquire) && self.subscribed.load(Ordering::Acquire)
    }
}

fn envelope(node: Uuid, topic: Topic, event: &RealtimeEvent) -> serde_json::Result<String> {
    serde_json::to_string(&Outgoing { node, topic, event })
}

/// Retries until both connections are up (the caller bounds the wait).
async fn first_link(
    client: &redis::Client,
    channel: &str,
) -> Result<(ConnectionManager, PubSub), BusError> {
    let mut wait = FIRST_RETRY;
    loop {
        let attempt = async {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(IO_TIMEOUT))
                .set_response_timeout(Some(IO_TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(LONGEST_RETRY);
            let connection = client.get_connection_manager_with_config(config).await?;
            let pubsub = subscribe(client, channel).await?;
            Ok::<_, BusError>((connection, pubsub))
        };
        match attempt.await {
            Ok(link) => return Ok(link),
            Err(e) => {
                tracing::warn!(error = %e, "bus: Redis not reachable yet; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_RETRY);
            }
        }
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> Result<PubSub, BusError> {
    let link = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, BusError>(pubsub)
    };
    tokio::time::timeout(IO_TIMEOUT, link)
        .await
        .map_err(|_| BusError::Timeout)?
}

/// Sends queued events to Redis in order. After a failure it drops what queued (storage has it)
/// and tries, with back-off, to announce a resync; once that goes out, it publishes again.
struct Publisher {
    connection: ConnectionManager,
    channel: String,
    queued: mpsc::Receiver<String>,
    resync: String,
    dropped: Arc<AtomicBool>,
    up: Arc<AtomicBool>,
}

impl Publisher {
    async fn run(mut self, shutdown: CancellationToken) {
        let mut wait = FIRST_RETRY;
        loop {
            if !self.up.load(Ordering::Acquire) {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                while self.queued.try_recv().is_ok() {}
                self.dropped.store(false, Ordering::Release);
                let resync = self.resync.clone();
                match self.send(&resync).await {
                    Ok(()) => {
                        tracing::info!("bus: publishing to Redis again; other nodes resync");
                        self.up.store(true, Ordering::Release);
                        wait = FIRST_RETRY;
                    }
                    Err(_) => wait = (wait * 2).min(LONGEST_RETRY),
                }
                continue;
            }
            let payload = tokio::select! {
                () = shutdown.cancelled() => return,
                next = self.queued.recv() => match next {
                    Some(payload) => payload,
                    None => return,
                },
            };
            if let Err(e) = self.send(&payload).await {
                tracing::warn!(error = %e, "bus: cannot publish to Redis; other nodes resync once it is back");
                self.up.store(false, Ordering::Release);
                continue;
            }
            if self.dropped.swap(false, Ordering::AcqRel) {
                let resync = self.resync.clone();
                if self.send(&resync).await.is_err() {
                    self.up.store(false, Ordering::Release);
                }
            }
        }
    }

    async fn send(&mut self, payload: &str) -> Result<(), BusError> {
        let mut command = redis::cmd("PUBLISH");
        command.arg(&self.channel).arg(payload);
        let publish = command.query_async::<i64>(&mut self.connection);
        tokio::time::timeout(IO_TIMEOUT, publish)
            .await
            .map_err(|_| BusError::Timeout)??;
        Ok(())
    }
}

/// Hands what other nodes publish to this node's subscribers; subscribes again when the link
/// breaks, and then tells every local subscriber to resync.
struct Subscriber {
    client: redis::Client,
    channel: String,
    node: Uuid,
    local: Arc<MemoryBus>,
    up: Arc<AtomicBool>,
}

impl Subscriber {
    async fn run(self, first: PubSub, shutdown: CancellationToken) {
        let mut pubsub = Some(first);
        let mut wait = FIRST_RETRY;
        loop {
            let link = match pubsub.take() {
                Some(link) => link,
                None => match subscribe(&self.client, &self.channel).await {
                    Ok(link) => {
                        tracing::info!("bus: subscribed to Redis again; sockets resync");
                        // Subscribed first, then resync: nothing published from now on is missed.
                        self.local.publish_everywhere(RealtimeEvent::Resync);
                        link
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "bus: Redis still away");
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(wait) => {}
                        }
                        wait = (wait * 2).min(LONGEST_RETRY);
                        continue;
                    }
                },
            };
            self.up.store(true, Ordering::Release);
            wait = FIRST_RETRY;
            let mut messages = link.into_on_message();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    message = messages.next() => match message {
                        Some(message) => self.deliver(message.get_payload_bytes()),
                        None => break,
                    },
                }
            }
            self.up.store(false, Ordering::Release);
            tracing::warn!(
                "bus: lost the link to Redis; serving this node's sockets, reconnecting"
            );
        }
    }

    fn deliver(&self, payload: &[u8]) {
        let incoming: Incoming = match serde_json::from_slice(payload) {
            Ok(incoming) => incoming,
            Err(e) => {
                // A node of another version, or something else on the channel: never fatal.
                tracing::warn!(error = %e, "bus: ignored an event this node cannot read");
                return;
            }
        };
        if incoming.node == self.node {
            return;
        }
        match incoming.event {
            RealtimeEvent::Resync => self.local.publish_everywhere(RealtimeEvent::Resync),
            event => self.local.publish(incoming.topic, event),
        }
    }
}
