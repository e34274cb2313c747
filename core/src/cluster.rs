//! A node's part in several nodes acting as one: the presence heartbeat, and acting on what other
//! nodes announce on [`Topic::Nodes`] (an agent's presence changed, rules, overrides or the widget
//! configuration changed, the link between nodes came back, a co-browse call for a session this node
//! may hold, an admin enabled a plugin).
//!
//! Runs only with a shared bus (`[bus] url`); one node alone has nothing to listen to.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::domain::chat::Chat;
use crate::domain::cobrowse::{Call, Cobrowse};
use crate::domain::events::{Cache, RealtimeEvent, Topic};
use crate::domain::visibility::Visibility;
use crate::domain::widget::Widgets;
use crate::plugins::PluginHost;

/// Starts the node's listener. On `shutdown` it takes this node's agents out of the shared presence.
pub fn spawn(
    chat: Chat,
    visibility: Visibility,
    widgets: Widgets,
    cobrowse: Cobrowse,
    plugins: PluginHost,
    heartbeat: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    // Subscribed before anything else runs: a nudge sent while starting is not missed.
    let mut nodes = chat.bus().subscribe(Topic::Nodes);
    // Co-browse calls run the plugin's filter: in order, but apart from the presence heartbeat.
    let (calls, mut queued) = tokio::sync::mpsc::unbounded_channel::<Call>();
    tokio::spawn(async move {
        while let Some(call) = queued.recv().await {
            cobrowse.carry_out(call).await;
        }
    });
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
                        RealtimeEvent::CobrowseCall(call) => Todo::Cobrowse(call.clone()),
                        RealtimeEvent::PluginEnabled(name) => Todo::Enable(name.clone()),
                        _ => continue,
                    },
                    // Missed nudges: read everything again.
                    Err(RecvError::Lagged(_)) => Todo::Everything,
                    Err(RecvError::Closed) => break,
                },
            };
            match todo {
                Todo::Presence => refresh_presence(&chat).await,
                Todo::Reload(Cache::Widget) => widgets.forget_config(),
                Todo::Reload(cache) => reload(&visibility, cache).await,
                Todo::Enable(name) => enable(&plugins, &name).await,
                Todo::Cobrowse(call) => {
                    let _ = calls.send(call);
                }
                Todo::Everything => {
                    refresh_presence(&chat).await;
                    reload(&visibility, Cache::Rules).await;
                    reload(&visibility, Cache::Overrides).await;
                    widgets.forget_config();
                }
            }
        }
        chat.leave_presence().await;
    })
}

enum Todo {
    Presence,
    Reload(Cache),
    Cobrowse(Call),
    Enable(String),
    Everything,
}

async fn refresh_presence(chat: &Chat) {
    if let Err(e) = chat.refresh_presence().await {
        tracing::warn!(error = %e, "cannot record a presence change");
    }
}

/// Takes a plugin back into service that this node disabled, after an admin enabled it elsewhere.
async fn enable(plugins: &PluginHost, name: &str) {
    if !plugins.get(name).is_some_and(|p| p.is_disabled()) {
        return;
    }
    if let Err(e) = plugins.enable(name).await {
        tracing::warn!(plugin = %name, error = %e, "cannot enable what another node enabled");
    }
}

async fn reload(visibility: &Visibility, cache: Cache) {
    if let Err(e) = visibility.reload(cache).await {
        tracing::warn!(?cache, error = %e, "cannot reload what another node changed");
    }
}
