//! Console sign-in: agents' password hashes, and ending sessions.

use chrono::Utc;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::ids::AgentId;
use crate::domain::model::Agent;
use crate::store::entities::{agent, agent_session};
use crate::store::{Store, StoreResult, convert};

impl Store {
    /// Stores an agent's password hash. `false` when there is no such agent.
    pub async fn set_agent_password_hash(&self, id: AgentId, hash: String) -> StoreResult<bool> {
        let w = self.write().await?;
        let result = agent::Entity::update_many()
            .col_expr(agent::Column::PasswordHash, Some(hash).into())
            .col_expr(agent::Column::UpdatedAt, Utc::now().into())
            .filter(agent::Column::Id.eq(id.0))
            .exec(&w.tx)
            .await?;
        w.commit().await?;
        Ok(result.rows_affected == 1)
    }

    /// The agents with this email (compared without case) that have a password, oldest first,
    /// each with its hash.
    pub async fn agents_with_password(&self, email: &str) -> StoreResult<Vec<(Agent, String)>> {
        let rows = agent::Entity::find()
            .filter(
                Expr::expr(Func::lower(Expr::col(agent::Column::Email))).eq(email.to_lowercase()),
            )
            .filter(agent::Column::PasswordHash.is_not_null())
            .order_by_asc(agent::Column::CreatedAt)
            .all(self.db())
            .await?;
        rows.into_iter()
            .filter_map(|row| {
                let hash = row.password_hash.clone()?;
                Some(convert::agent(row).map(|agent| (agent, hash)))
            })
            .collect()
    }

    /// Every agent with this email, compared without case, oldest first.
    pub async fn agents_by_email(&self, email: &str) -> StoreResult<Vec<Agent>> {
        agent::Entity::find()
            .filter(
                Expr::expr(Func::lower(Expr::col(agent::Column::Email))).eq(email.to_lowercase()),
            )
            .order_by_asc(agent::Column::CreatedAt)
            .all(self.db())
            .await?
            .into_iter()
            .map(convert::agent)
            .collect()
    }

    /// Ends a session (sign-out). Unknown sessions are fine: signing out twice is not an error.
    pub async fn delete_agent_session(&self, hash: &str) -> StoreResult<()> {
        let w = self.write().await?;
        agent_session::Entity::delete_many()
            .filter(agent_session::Column::Hash.eq(hash))
            .exec(&w.tx)
            .await?;
        w.commit().await
    }
}
