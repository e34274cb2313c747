//! Action Rules, in admin order.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

use crate::domain::ids::RuleId;
use crate::domain::model::Rule;
use crate::store::entities::rule;
use crate::store::{Store, StoreError, StoreResult};

/// What an admin writes: everything but the bookkeeping.
#[derive(Debug, Clone)]
pub struct RuleDraft {
    pub name: String,
    pub script: String,
    pub params: serde_json::Value,
    pub position: i32,
    pub enabled: bool,
    pub builtin: Option<String>,
}

fn to_rule(row: rule::Model) -> StoreResult<Rule> {
    let params = serde_json::from_str(&row.params)
        .map_err(|_| StoreError::Corrupt(format!("rule {} parameters", row.id)))?;
    Ok(Rule {
        id: RuleId(row.id),
        name: row.name,
        script: row.script,
        params,
        position: row.position,
        enabled: row.enabled,
        builtin: row.builtin,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

impl Store {
    /// Every rule in admin order (position, then age).
    pub async fn list_rules(&self) -> StoreResult<Vec<Rule>> {
        rule::Entity::find()
            .order_by_asc(rule::Column::Position)
            .order_by_asc(rule::Column::CreatedAt)
            .all(self.db())
            .await?
            .into_iter()
            .map(to_rule)
            .collect()
    }

    pub async fn rule(&self, id: RuleId) -> StoreResult<Option<Rule>> {
        rule::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .map(to_rule)
            .transpose()
    }

    pub async fn insert_rule(&self, draft: RuleDraft, now: DateTime<Utc>) -> StoreResult<Rule> {
        let row = rule::ActiveModel {
            id: Set(RuleId::new().0),
            name: Set(draft.name),
            script: Set(draft.script),
            params: Set(draft.params.to_string()),
            position: Set(draft.position),
            enabled: Set(draft.enabled),
            builtin: Set(draft.builtin),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let w = self.write().await?;
        let model = row.insert(&w.tx).await?;
        w.commit().await?;
        to_rule(model)
    }

    /// Replaces a rule's content and bumps its version. `None` if there is no such rule.
    pub async fn update_rule(
        &self,
        id: RuleId,
        draft: RuleDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Rule>> {
        let w = self.write().await?;
        let Some(existing) = rule::Entity::find_by_id(id.0).one(&w.tx).await? else {
            return Ok(None);
        };
        let version = existing.version + 1;
        let mut active: rule::ActiveModel = existing.into();
        active.name = Set(draft.name);
        active.script = Set(draft.script);
        active.params = Set(draft.params.to_string());
        active.position = Set(draft.position);
        active.enabled = Set(draft.enabled);
        active.builtin = Set(draft.builtin);
        active.version = Set(version);
        active.updated_at = Set(now);
        let model = active.update(&w.tx).await?;
        w.commit().await?;
        to_rule(model).map(Some)
    }

    /// Gives each rule its index in `ids` as position, bumping the version of those that moved,
    /// in one transaction; returns every rule in the new order.
    pub async fn reorder_rules(
        &self,
        ids: &[RuleId],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Rule>> {
        let w = self.write().await?;
        for (index, id) in ids.iter().enumerate() {
            let position = i32::try_from(index)
                .map_err(|_| StoreError::Corrupt("more rules than positions".into()))?;
            let Some(existing) = rule::Entity::find_by_id(id.0).one(&w.tx).await? else {
                continue;
            };
            if existing.position == position {
                continue;
            }
            let version = existing.version + 1;
            let mut active: rule::ActiveModel = existing.into();
            active.position = Set(position);
            active.version = Set(version);
            active.updated_at = Set(now);
            active.update(&w.tx).await?;
        }
        w.commit().await?;
        self.list_rules().await
    }

    /// `false` if there was no such rule.
    pub async fn delete_rule(&self, id: RuleId) -> StoreResult<bool> {
        let w = self.write().await?;
        let result = rule::Entity::delete_by_id(id.0).exec(&w.tx).await?;
        w.commit().await?;
        Ok(result.rows_affected > 0)
    }
}
