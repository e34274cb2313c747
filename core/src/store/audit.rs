//! The audit log's rows.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::audit::{ActorKind, AuditActor, AuditEntry, NewAuditEntry};
use crate::store::entities::audit_entry;
use crate::store::{Store, StoreError, StoreResult};

impl Store {
    pub async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry> {
        let row = audit_entry::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            at: Set(Utc::now()),
            actor_kind: Set(entry.actor.kind.as_str().into()),
            actor_id: Set(entry.actor.id),
            actor_label: Set(entry.actor.label),
            action: Set(entry.action),
            target: Set(entry.target),
            status: Set(i32::from(entry.status)),
        };
        let w = self.write().await?;
        let model = row.insert(&w.tx).await?;
        w.commit().await?;
        entry_of(model)
    }

    /// Newest first, at most `limit`, older than `before` when given.
    pub async fn list_audit(
        &self,
        limit: u64,
        before: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut query = audit_entry::Entity::find();
        if let Some(before) = before {
            query = query.filter(audit_entry::Column::At.lt(before));
        }
        query
            .order_by_desc(audit_entry::Column::At)
            .order_by_desc(audit_entry::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(entry_of)
            .collect()
    }
}

fn entry_of(row: audit_entry::Model) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.id,
        at: row.at,
        actor: AuditActor {
            kind: ActorKind::parse(&row.actor_kind).ok_or_else(|| {
                StoreError::Corrupt(format!("audit actor kind `{}`", row.actor_kind))
            })?,
            id: row.actor_id,
            label: row.actor_label,
        },
        action: row.action,
        target: row.target,
        status: u16::try_from(row.status)
            .map_err(|_| StoreError::Corrupt(format!("audit status {}", row.status)))?,
    })
}
