//! Agents: the people answering chats.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::ids::AgentId;
use crate::domain::model::{Agent, AgentRole, AgentStatus};
use crate::store::convert;
use crate::store::entities::agent;
use crate::store::{Store, StoreResult};

/// What it takes to create an agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub external_id: Option<String>,
    pub email: String,
    pub name: String,
    pub role: AgentRole,
}

impl Store {
    pub async fn create_agent(&self, new: NewAgent) -> StoreResult<Agent> {
        let now = Utc::now();
        let row = agent::ActiveModel {
            id: Set(AgentId::new().0),
            external_id: Set(new.external_id),
            email: Set(new.email),
            name: Set(new.name),
            status: Set(AgentStatus::Offline.as_str().into()),
            role: Set(new.role.as_str().into()),
            enabled: Set(true),
            password_hash: Set(None),
            groups: Set("[]".into()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let w = self.write().await?;
        let model = row.insert(&w.tx).await?;
        w.commit().await?;
        convert::agent(model)
    }

    pub async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        agent::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .map(convert::agent)
            .transpose()
    }

    pub async fn agent_by_external_id(&self, external_id: &str) -> StoreResult<Option<Agent>> {
        agent::Entity::find()
            .filter(agent::Column::ExternalId.eq(external_id))
            .one(self.db())
            .await?
            .map(convert::agent)
            .transpose()
    }

    pub async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
        agent::Entity::find()
            .order_by_asc(agent::Column::CreatedAt)
            .all(self.db())
            .await?
            .into_iter()
            .map(convert::agent)
            .collect()
    }

    pub async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> StoreResult<()> {
        let w = self.write().await?;
        agent::Entity::update_many()
            .col_expr(agent::Column::Status, status.as_str().into())
            .col_expr(agent::Column::UpdatedAt, Utc::now().into())
            .filter(agent::Column::Id.eq(id.0))
            .exec(&w.tx)
            .await?;
        w.commit().await
    }

    /// Gives an agent a role; `None` when there is no such agent.
    pub async fn set_agent_role(&self, id: AgentId, role: AgentRole) -> StoreResult<Option<Agent>> {
        let w = self.write().await?;
        let updated = agent::Entity::update_many()
            .col_expr(agent::Column::Role, role.as_str().into())
            .col_expr(agent::Column::UpdatedAt, Utc::now().into())
            .filter(agent::Column::Id.eq(id.0))
            .exec(&w.tx)
            .await?;
        w.commit().await?;
        if updated.rows_affected == 0 {
            return Ok(None);
        }
        self.agent(id).await
    }

    /// After a restart nobody is connected yet: statuses left from before are stale.
    pub async fn mark_all_agents_offline(&self) -> StoreResult<()> {
        let w = self.write().await?;
        agent::Entity::update_many()
            .col_expr(agent::Column::Status, AgentStatus::Offline.as_str().into())
            .filter(agent::Column::Status.ne(AgentStatus::Offline.as_str()))
            .exec(&w.tx)
            .await?;
        w.commit().await
    }
}
