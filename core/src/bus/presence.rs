//! Agent presence shared through Redis, for several nodes.
//!
//! Each node keeps one key, `{prefix}:presence:node:{node}`, holding the status of every agent with a
//! socket on it; it is rewritten on every change and every heartbeat and expires `ttl` after the last
//! one, so a node that dies takes its agents with it. The set `{prefix}:presence:nodes` lists the
//! nodes to look at; a member whose key expired is removed by the next reader.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use uuid::Uuid;

use crate::bus::BusError;
use crate::domain::ids::AgentId;
use crate::domain::model::AgentStatus;

/// How long one round trip may take before presence keeps what it knew.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisPresence {
    connection: ConnectionManager,
    node: Uuid,
    key: String,
    nodes: String,
    prefix: String,
    ttl: Duration,
}

impl RedisPresence {
    pub fn new(connection: ConnectionManager, prefix: &str, node: Uuid, ttl: Duration) -> Self {
        Self {
            connection,
            node,
            key: node_key(prefix, node),
            nodes: format!("{prefix}:presence:nodes"),
            prefix: prefix.to_string(),
            ttl,
        }
    }

    /// Writes this node's agents, renewing the key's expiry (a heartbeat).
    pub async fn write(&self, agents: &HashMap<AgentId, AgentStatus>) -> Result<(), BusError> {
        let value = serde_json::to_string(agents)?;
        let ttl_ms = u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&self.key)
            .arg(value)
            .arg("PX")
            .arg(ttl_ms)
            .ignore()
            .cmd("SADD")
            .arg(&self.nodes)
            .arg(self.node.to_string())
            .ignore()
            // Renewed by every live node's heartbeat: the list goes when the last node does.
            .cmd("PEXPIRE")
            .arg(&self.nodes)
            .arg(ttl_ms)
            .ignore();
        let mut connection = self.connection.clone();
        timed(pipe.query_async::<()>(&mut connection)).await
    }

    /// The agents with a socket on any other live node, each with their best status there.
    pub async fn others(&self) -> Result<HashMap<AgentId, AgentStatus>, BusError> {
        let mut connection = self.connection.clone();
        let nodes: Vec<String> = timed(
            redis::cmd("SMEMBERS")
                .arg(&self.nodes)
                .query_async(&mut connection),
        )
        .await?;
        let nodes: Vec<String> = nodes
            .into_iter()
            .filter(|n| *n != self.node.to_string())
            .collect();
        if nodes.is_empty() {
            return Ok(HashMap::new());
        }
        let keys: Vec<String> = nodes
            .iter()
            .map(|n| format!("{}:presence:node:{n}", self.prefix))
            .collect();
        let values: Vec<Option<String>> =
            timed(redis::cmd("MGET").arg(&keys).query_async(&mut connection)).await?;
        let mut merged = HashMap::new();
        let mut gone = Vec::new();
        for (node, value) in nodes.iter().zip(values) {
            let Some(value) = value else {
                gone.push(node.clone());
                continue;
            };
            let agents: HashMap<AgentId, AgentStatus> = serde_json::from_str(&value)?;
            for (agent, status) in agents {
                merge(&mut merged, agent, status);
            }
        }
        if !gone.is_empty() {
            timed(
                redis::cmd("SREM")
                    .arg(&self.nodes)
                    .arg(&gone)
                    .query_async::<i64>(&mut connection),
            )
            .await?;
        }
        Ok(merged)
    }

    /// Removes this node's entry (a clean stop): its agents go offline at once elsewhere.
    pub async fn leave(&self) -> Result<(), BusError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(&self.key)
            .ignore()
            .cmd("SREM")
            .arg(&self.nodes)
            .arg(self.node.to_string())
            .ignore();
        let mut connection = self.connection.clone();
        timed(pipe.query_async::<()>(&mut connection)).await
    }
}

fn node_key(prefix: &str, node: Uuid) -> String {
    format!("{prefix}:presence:node:{node}")
}

/// An agent online on several nodes is available if they are available on any of them.
pub fn merge(agents: &mut HashMap<AgentId, AgentStatus>, agent: AgentId, status: AgentStatus) {
    let entry = agents.entry(agent).or_insert(status);
    if status == AgentStatus::Available {
        *entry = AgentStatus::Available;
    }
}

async fn timed<T>(call: impl Future<Output = Result<T, redis::RedisError>>) -> Result<T, BusError> {
    Ok(tokio::time::timeout(IO_TIMEOUT, call)
        .await
        .map_err(|_| BusError::Timeout)??)
}
