//! The co-browse audit trail of conversations.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::cobrowse::{AuditAction, AuditEntry};
use crate::domain::ids::{CobrowseSessionId, ConversationId};
use crate::domain::model::AuthorKind;
use crate::store::entities::cobrowse_audit;
use crate::store::{Store, StoreError, StoreResult};

impl Store {
    pub async fn add_cobrowse_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let row = cobrowse_audit::ActiveModel {
            id: Set(entry.id),
            conversation_id: Set(entry.conversation_id.0),
            session_id: Set(entry.session_id.0),
            action: Set(entry.action.as_str().to_owned()),
            actor_kind: Set(entry.actor_kind.as_str().to_owned()),
            actor_id: Set(entry.actor_id),
            detail: Set(entry.detail.clone()),
            created_at: Set(entry.created_at),
        };
        let w = self.write().await?;
        cobrowse_audit::Entity::insert(row)
            .exec_without_returning(&w.tx)
            .await?;
        w.commit().await
    }

    pub async fn cobrowse_audit(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Vec<AuditEntry>> {
        cobrowse_audit::Entity::find()
            .filter(cobrowse_audit::Column::ConversationId.eq(conversation.0))
            .order_by_asc(cobrowse_audit::Column::CreatedAt)
            .order_by_asc(cobrowse_audit::Column::Id)
            .all(self.db())
            .await?
            .into_iter()
            .map(|row| {
                Ok(AuditEntry {
                    action: AuditAction::parse(&row.action).ok_or_else(|| {
                        StoreError::Corrupt(format!("audit action `{}`", row.action))
                    })?,
                    actor_kind: AuthorKind::parse(&row.actor_kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("audit actor `{}`", row.actor_kind))
                    })?,
                    id: row.id,
                    conversation_id: ConversationId(row.conversation_id),
                    session_id: CobrowseSessionId(row.session_id),
                    actor_id: row.actor_id,
                    detail: row.detail,
                    created_at: row.created_at,
                })
            })
            .collect()
    }
}
