//! Agent presence: online while at least one socket is open, available while online and not away.
//!
//! This node counts its own sockets per agent. With several nodes, each node also writes its agents to
//! the shared presence (`bus::presence`, keys that expire unless heartbeated) and reads the others';
//! an agent is online if any node holds a socket of theirs. What `counts` and `status` answer is the
//! merged view as last synced: on every local change, every heartbeat and every nudge from another
//! node (`cluster`).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::bus::presence::{RedisPresence, merge};
use crate::domain::ids::AgentId;
use crate::domain::model::AgentStatus;

#[derive(Debug, Clone, Copy)]
struct Entry {
    connections: u32,
    status: AgentStatus,
}

/// How many agents can be reached now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PresenceCounts {
    pub online: u32,
    pub available: u32,
}

/// An agent whose status, as the whole team sees it, changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub agent: AgentId,
    pub status: AgentStatus,
}

#[derive(Default)]
pub struct Presence {
    /// Sockets per agent on this node.
    local: Mutex<HashMap<AgentId, Entry>>,
    /// Agents with a socket on other nodes, as last read from the shared presence.
    others: Mutex<HashMap<AgentId, AgentStatus>>,
    /// The merged view in force (online agents only).
    view: Mutex<HashMap<AgentId, AgentStatus>>,
    shared: Option<RedisPresence>,
    /// One sync at a time, so an older read never replaces a newer view.
    syncing: tokio::sync::Mutex<()>,
}

impl Presence {
    /// Presence of this node alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Presence shared with the other nodes through Redis.
    pub fn shared(board: RedisPresence) -> Self {
        Self {
            shared: Some(board),
            ..Self::default()
        }
    }

    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// A socket of `agent` opened. The first one makes the agent available.
    pub async fn connect(&self, agent: AgentId) -> Vec<StatusChange> {
        lock(&self.local)
            .entry(agent)
            .or_insert(Entry {
                connections: 0,
                status: AgentStatus::Available,
            })
            .connections += 1;
        self.sync().await
    }

    /// A socket of `agent` closed. The last one on this node takes the agent off this node.
    pub async fn disconnect(&self, agent: AgentId) -> Vec<StatusChange> {
        {
            let mut local = lock(&self.local);
            if let Some(entry) = local.get_mut(&agent) {
                entry.connections = entry.connections.saturating_sub(1);
                if entry.connections == 0 {
                    local.remove(&agent);
                }
            }
        }
        self.sync().await
    }

    /// A connected agent chose a status (available or away). Ignored for agents with no socket here.
    pub async fn set_status(&self, agent: AgentId, status: AgentStatus) -> Vec<StatusChange> {
        if let Some(entry) = lock(&self.local).get_mut(&agent) {
            entry.status = status;
        }
        self.sync().await
    }

    /// Writes this node's agents again (the heartbeat) and re-reads the other nodes'.
    pub async fn refresh(&self) -> Vec<StatusChange> {
        self.sync().await
    }

    /// Takes this node's agents out of the shared presence (a clean stop).
    pub async fn leave(&self) {
        if let Some(shared) = &self.shared
            && let Err(e) = shared.leave().await
        {
            tracing::warn!(error = %e, "presence: could not remove this node; it expires");
        }
    }

    pub fn status(&self, agent: AgentId) -> AgentStatus {
        lock(&self.view)
            .get(&agent)
            .copied()
            .unwrap_or(AgentStatus::Offline)
    }

    pub fn counts(&self) -> PresenceCounts {
        let view = lock(&self.view);
        let available = view
            .values()
            .filter(|s| **s == AgentStatus::Available)
            .count();
        PresenceCounts {
            online: u32::try_from(view.len()).unwrap_or(u32::MAX),
            available: u32::try_from(available).unwrap_or(u32::MAX),
        }
    }

    /// Publishes this node's agents, reads the others', and answers what changed in the view.
    async fn sync(&self) -> Vec<StatusChange> {
        let _one_at_a_time = self.syncing.lock().await;
        let mine: HashMap<AgentId, AgentStatus> = lock(&self.local)
            .iter()
            .map(|(agent, entry)| (*agent, entry.status))
            .collect();
        if let Some(shared) = &self.shared {
            // While Redis is away this node keeps its own agents current and the others as last
            // seen; the heartbeat after it is back puts everything right.
            if let Err(e) = shared.write(&mine).await {
                tracing::warn!(error = %e, "presence: cannot write this node's agents");
            }
            match shared.others().await {
                Ok(others) => *lock(&self.others) = others,
                Err(e) => tracing::warn!(error = %e, "presence: cannot read the other nodes"),
            }
        }
        let mut merged = lock(&self.others).clone();
        for (agent, status) in mine {
            merge(&mut merged, agent, status);
        }
        let mut view = lock(&self.view);
        let mut changes: Vec<StatusChange> = merged
            .iter()
            .filter(|(agent, status)| view.get(agent) != Some(status))
            .map(|(agent, status)| StatusChange {
                agent: *agent,
                status: *status,
            })
            .collect();
        changes.extend(
            view.keys()
                .filter(|agent| !merged.contains_key(agent))
                .map(|agent| StatusChange {
                    agent: *agent,
                    status: AgentStatus::Offline,
                }),
        );
        *view = merged;
        changes
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn online_until_the_last_socket_closes() {
        let presence = Presence::new();
        let agent = AgentId::new();
        assert_eq!(
            presence.connect(agent).await,
            vec![StatusChange {
                agent,
                status: AgentStatus::Available
            }]
        );
        assert!(
            presence.connect(agent).await.is_empty(),
            "second tab changes nothing"
        );
        assert_eq!(
            presence.counts(),
            PresenceCounts {
                online: 1,
                available: 1
            }
        );
        assert!(presence.disconnect(agent).await.is_empty());
        assert_eq!(presence.counts().online, 1);
        assert_eq!(
            presence.disconnect(agent).await,
            vec![StatusChange {
                agent,
                status: AgentStatus::Offline
            }]
        );
        assert_eq!(presence.counts(), PresenceCounts::default());
    }

    #[tokio::test]
    async fn away_is_online_but_not_available() {
        let presence = Presence::new();
        let agent = AgentId::new();
        presence.connect(agent).await;
        assert_eq!(presence.set_status(agent, AgentStatus::Away).await.len(), 1);
        assert!(
            presence
                .set_status(agent, AgentStatus::Away)
                .await
                .is_empty()
        );
        assert_eq!(
            presence.counts(),
            PresenceCounts {
                online: 1,
                available: 0
            }
        );
        assert_eq!(presence.status(agent), AgentStatus::Away);
    }

    #[tokio::test]
    async fn status_of_a_disconnected_agent_is_offline_and_cannot_be_set() {
        let presence = Presence::new();
        let agent = AgentId::new();
        assert!(
            presence
                .set_status(agent, AgentStatus::Available)
                .await
                .is_empty()
        );
        assert_eq!(presence.status(agent), AgentStatus::Offline);
    }
}
