//! A node's part in several nodes acting as one: the presence heartbeat, and acting on what other
//! nodes announce on [`Topic::Nodes`] (an agent's presence changed, rules or overrides changed, the
//! link between nodes came back).
//!
//! Runs only with a shared bus (`[bus] url`); one node alone has nothing to listen to.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::domain::chat::Chat;
use crate::domain::events::{Cache, RealtimeEvent, Topic};
use crate::domain::visibility::Visibility;

/// Starts the node's listener. On `shutdown` it takes this node's agents out of the shared presence.
pub fn spawn(
    chat: Chat,
    visibility: Visibility,
    heartbeat: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    // Subscribed before anything else runs: a nudge sent while starting is not missed.
    let mut nodes = chat.bus().subscribe(Topic::Nodes);
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let todo = tokio::select! {
                () = shutdown.cancelled() => break,
                _ = beat.tick() => Todo::Presence,
                event = nodes.recv() => match event {
                    Ok(event) => match &*event {
                        RealtimeEvent::PresenceChanged => Todo::Presence,
                        RealtimeEvent::CacheChanged(cache) => Todo::Reload(*cache),
                        RealtimeEvent::Resync => Todo::Everything,
                        _ => continue,
                    },
                    // Missed nudges: read everything again.
                    Err(RecvError::Lagged(_)) => Todo::Everything,
                    Err(RecvError::Closed) => break,
                },
            };
            match todo {
                Todo::Presence => refresh_presence(&chat).await,
                Todo::Reload(cache) => reload(&visibility, cache).await,
                Todo::Everything => {
                    refresh_presence(&chat).await;
                    reload(&visibility, Cache::Rules).await;
                    reload(&visibility, Cache::Overrides).await;
                }
            }
        }
        chat.leave_presence().await;
    })
}

enum Todo {
    Presence,
    Reload(Cache),
    Everything,
}

async fn refresh_presence(chat: &Chat) {
    if let Err(e) = chat.refresh_presence().await {
        tracing::warn!(error = %e, "cannot record a presence change");
    }
}

async fn reload(visibility: &Visibility, cache: Cache) {
    if let Err(e) = visibility.reload(cache).await {
        tracing::warn!(?cache, error = %e, "cannot reload what another node changed");
    }
}
