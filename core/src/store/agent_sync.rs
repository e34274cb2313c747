//! Agents kept by an integration (agent sync): written by the integrator's external id, never deleted.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::domain::ids::AgentId;
use crate::domain::model::{Agent, AgentRole, AgentStatus};
use crate::store::convert;
use crate::store::entities::{agent, agent_session};
use crate::store::{Store, StoreResult};

/// An agent as an integrator's directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedAgent {
    pub external_id: String,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    pub enabled: bool,
}

impl Store {
    /// Creates the agent with this external id or updates it. Disabling also ends the agent's console
    /// sessions in the same transaction, so a disabled agent holds none.
    pub async fn save_synced_agent(&self, synced: SyncedAgent) -> StoreResult<Agent> {
        let now = Utc::now();
        let w = self.write().await?;
        let existing = agent::Entity::find()
            .filter(agent::Column::ExternalId.eq(synced.external_id.as_str()))
            .one(&w.tx)
            .await?;
        let groups = convert::to_json_list(&synced.groups);
        let model = match existing {
            Some(row) => {
                let id = row.id;
                let mut row: agent::ActiveModel = row.into();
                row.email = Set(synced.email);
                row.name = Set(synced.name);
                row.groups = Set(groups);
                row.enabled = Set(synced.enabled);
                row.updated_at = Set(now);
                let model = row.update(&w.tx).await?;
                if !synced.enabled {
                    agent_session::Entity::delete_many()
                        .filter(agent_session::Column::AgentId.eq(id))
                        .exec(&w.tx)
                        .await?;
                }
                model
            }
            None => {
                agent::ActiveModel {
                    id: Set(AgentId::new().0),
                    external_id: Set(Some(synced.external_id)),
                    email: Set(synced.email),
                    name: Set(synced.name),
                    status: Set(AgentStatus::Offline.as_str().into()),
                    // A directory's agents answer chats; making one an admin is a decision made here.
                    role: Set(AgentRole::Agent.as_str().into()),
                    enabled: Set(synced.enabled),
                    password_hash: Set(None),
                    groups: Set(groups),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&w.tx)
                .await?
            }
        };
        w.commit().await?;
        convert::agent(model)
    }
}
