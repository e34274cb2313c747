//! REST visibility overrides, one per target (a site, a customer or a visitor).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, SiteId, VisitorId};
use crate::domain::model::{OverrideTarget, VisibilityOverride};
use crate::store::entities::visibility_override;
use crate::store::{Store, StoreError, StoreResult};

fn target_key(target: OverrideTarget) -> String {
    let level = match target {
        OverrideTarget::Site(_) => "site",
        OverrideTarget::Customer(_) => "customer",
        OverrideTarget::Visitor(_) => "visitor",
    };
    format!("{level}:{}", target.id())
}

fn to_override(row: visibility_override::Model) -> StoreResult<VisibilityOverride> {
    let corrupt = || StoreError::Corrupt(format!("override {}", row.target_key));
    let id: Uuid = row.target.parse().map_err(|_| corrupt())?;
    let target = match row.level.as_str() {
        "site" => OverrideTarget::Site(SiteId(id)),
        "customer" => OverrideTarget::Customer(CustomerId(id)),
        "visitor" => OverrideTarget::Visitor(VisitorId(id)),
        _ => return Err(corrupt()),
    };
    let action = match row.action.as_str() {
        "show" => natter_rules::Action::Show,
        "hide" => natter_rules::Action::Hide,
        _ => return Err(corrupt()),
    };
    Ok(VisibilityOverride {
        target,
        action,
        until: row.until,
        created_at: row.created_at,
    })
}

impl Store {
    pub async fn list_overrides(&self) -> StoreResult<Vec<VisibilityOverride>> {
        visibility_override::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(to_override)
            .collect()
    }

    /// Sets the override for its target, replacing any earlier one.
    pub async fn put_override(&self, o: &VisibilityOverride) -> StoreResult<()> {
        let key = target_key(o.target);
        let level = match o.target {
            OverrideTarget::Site(_) => "site",
            OverrideTarget::Customer(_) => "customer",
            OverrideTarget::Visitor(_) => "visitor",
        };
        let action = match o.action {
            natter_rules::Action::Show => "show",
            natter_rules::Action::Hide => "hide",
        };
        let w = self.write().await?;
        visibility_override::Entity::delete_many()
            .filter(visibility_override::Column::TargetKey.eq(key.as_str()))
            .exec(&w.tx)
            .await?;
        visibility_override::ActiveModel {
            id: Set(Uuid::now_v7()),
            target_key: Set(key),
            level: Set(level.into()),
            target: Set(o.target.id().to_string()),
            action: Set(action.into()),
            until: Set(o.until),
            created_at: Set(o.created_at),
        }
        .insert(&w.tx)
        .await?;
        w.commit().await
    }

    /// `false` if the target had no override.
    pub async fn delete_override(&self, target: OverrideTarget) -> StoreResult<bool> {
        let w = self.write().await?;
        let result = visibility_override::Entity::delete_many()
            .filter(visibility_override::Column::TargetKey.eq(target_key(target)))
            .exec(&w.tx)
            .await?;
        w.commit().await?;
        Ok(result.rows_affected > 0)
    }
}
