//! One-time agent chat links and the agent sessions they open.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::domain::ids::{AgentId, ConversationId};
use crate::store::entities::{agent_link, agent_session};
use crate::store::{Store, StoreResult};

impl Store {
    pub async fn insert_agent_link(
        &self,
        agent_id: AgentId,
        conversation_id: ConversationId,
        hash: String,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let w = self.write().await?;
        agent_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            agent_id: Set(agent_id.0),
            conversation_id: Set(conversation_id.0),
            hash: Set(hash),
            created_at: Set(now),
            expires_at: Set(expires_at),
            used_at: Set(None),
        }
        .insert(&w.tx)
        .await?;
        w.commit().await
    }

    /// Uses a link once: marks it used and returns its agent and conversation, or `None` when the link
    /// is unknown, expired or already used. The used mark and the check are one statement, so two
    /// clicks racing cannot both win.
    pub async fn consume_agent_link(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(AgentId, ConversationId)>> {
        let w = self.write().await?;
        let result = agent_link::Entity::update_many()
            .col_expr(agent_link::Column::UsedAt, Some(now).into())
            .filter(agent_link::Column::Hash.eq(hash))
            .filter(agent_link::Column::UsedAt.is_null())
            .filter(agent_link::Column::ExpiresAt.gt(now))
            .exec(&w.tx)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        let link = agent_link::Entity::find()
            .filter(agent_link::Column::Hash.eq(hash))
            .one(&w.tx)
            .await?;
        w.commit().await?;
        Ok(link.map(|l| (AgentId(l.agent_id), ConversationId(l.conversation_id))))
    }

    pub async fn insert_agent_session(
        &self,
        agent_id: AgentId,
        hash: String,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let w = self.write().await?;
        agent_session::ActiveModel {
            id: Set(Uuid::now_v7()),
            agent_id: Set(agent_id.0),
            hash: Set(hash),
            created_at: Set(now),
            expires_at: Set(expires_at),
        }
        .insert(&w.tx)
        .await?;
        w.commit().await
    }

    /// The agent a live session belongs to.
    pub async fn session_agent(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AgentId>> {
        Ok(agent_session::Entity::find()
            .filter(agent_session::Column::Hash.eq(hash))
            .filter(agent_session::Column::ExpiresAt.gt(now))
            .one(self.db())
            .await?
            .map(|s| AgentId(s.agent_id)))
    }
}
