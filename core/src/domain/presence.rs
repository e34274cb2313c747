//! Agent presence: online while at least one socket is open, available while online and not away.

use std::collections::HashMap;
use std::sync::Mutex;

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

/// What a presence change did to one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub status: AgentStatus,
    /// The agent's visible status changed (worth storing and announcing).
    pub changed: bool,
}

/// Connections per agent in this process.
#[derive(Default)]
pub struct Presence {
    agents: Mutex<HashMap<AgentId, Entry>>,
}

impl Presence {
    pub fn new() -> Self {
        Self::default()
    }

    /// A socket of `agent` opened. The first one makes the agent available.
    pub fn connect(&self, agent: AgentId) -> StatusChange {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let entry = agents.entry(agent).or_insert(Entry {
            connections: 0,
            status: AgentStatus::Available,
        });
        entry.connections += 1;
        StatusChange {
            status: entry.status,
            changed: entry.connections == 1,
        }
    }

    /// A socket of `agent` closed. The last one makes the agent offline.
    pub fn disconnect(&self, agent: AgentId) -> StatusChange {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = agents.get_mut(&agent) else {
            return StatusChange {
                status: AgentStatus::Offline,
                changed: false,
            };
        };
        entry.connections = entry.connections.saturating_sub(1);
        if entry.connections > 0 {
            return StatusChange {
                status: entry.status,
                changed: false,
            };
        }
        agents.remove(&agent);
        StatusChange {
            status: AgentStatus::Offline,
            changed: true,
        }
    }

    /// A connected agent chose a status (available or away). Ignored for agents with no socket.
    pub fn set_status(&self, agent: AgentId, status: AgentStatus) -> StatusChange {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        match agents.get_mut(&agent) {
            Some(entry) => {
                let changed = entry.status != status;
                entry.status = status;
                StatusChange { status, changed }
            }
            None => StatusChange {
                status: AgentStatus::Offline,
                changed: false,
            },
        }
    }

    pub fn status(&self, agent: AgentId) -> AgentStatus {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .get(&agent)
            .map_or(AgentStatus::Offline, |entry| entry.status)
    }

    pub fn counts(&self) -> PresenceCounts {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        PresenceCounts {
            online: u32::try_from(agents.len()).unwrap_or(u32::MAX),
            available: u32::try_from(
                agents
                    .values()
                    .filter(|e| e.status == AgentStatus::Available)
                    .count(),
            )
            .unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_until_the_last_socket_closes() {
        let presence = Presence::new();
        let agent = AgentId::new();
        assert!(presence.connect(agent).changed);
        assert!(
            !presence.connect(agent).changed,
            "second tab changes nothing"
        );
        assert_eq!(
            presence.counts(),
            PresenceCounts {
                online: 1,
                available: 1
            }
        );
        assert!(!presence.disconnect(agent).changed);
        assert_eq!(presence.counts().online, 1);
        let last = presence.disconnect(agent);
        assert!(last.changed);
        assert_eq!(last.status, AgentStatus::Offline);
        assert_eq!(presence.counts(), PresenceCounts::default());
    }

    #[test]
    fn away_is_online_but_not_available() {
        let presence = Presence::new();
        let agent = AgentId::new();
        presence.connect(agent);
        assert!(presence.set_status(agent, AgentStatus::Away).changed);
        assert!(!presence.set_status(agent, AgentStatus::Away).changed);
        assert_eq!(
            presence.counts(),
            PresenceCounts {
                online: 1,
                available: 0
            }
        );
        assert_eq!(presence.status(agent), AgentStatus::Away);
    }

    #[test]
    fn status_of_a_disconnected_agent_is_offline_and_cannot_be_set() {
        let presence = Presence::new();
        let agent = AgentId::new();
        assert!(!presence.set_status(agent, AgentStatus::Available).changed);
        assert_eq!(presence.status(agent), AgentStatus::Offline);
    }
}
