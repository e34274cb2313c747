//! Visitors (browsers) and the customers they are linked to.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::domain::ids::{CustomerId, SiteId, VisitorId};
use crate::domain::model::{Customer, Visitor};
use crate::store::convert;
use crate::store::customers::new_customer;
use crate::store::entities::{customer, visitor};
use crate::store::{Store, StoreError, StoreResult};

/// A page load after this much quiet starts a new visit (the usual analytics session length).
const VISIT_GAP: Duration = Duration::minutes(30);

impl Store {
    /// Records that a visitor is on a page now, counting a new visit after a long enough gap.
    pub async fn touch_visitor(
        &self,
        site_id: SiteId,
        id: VisitorId,
        now: DateTime<Utc>,
    ) -> StoreResult<Visitor> {
        let w = self.write().await?;
        let model = match visitor::Entity::find_by_id(id.0).one(&w.tx).await? {
            Some(existing) => {
                let new_visit = now - existing.last_seen > VISIT_GAP;
                let visit_count = existing.visit_count + i32::from(new_visit);
                let mut active: visitor::ActiveModel = existing.into();
                active.visit_count = Set(visit_count);
                active.last_seen = Set(now);
                active.update(&w.tx).await?
            }
            None => {
                visitor::ActiveModel {
                    id: Set(id.0),
                    site_id: Set(site_id.0),
                    customer_id: Set(None),
                    visit_count: Set(1),
                    first_seen: Set(now),
                    last_seen: Set(now),
                }
                .insert(&w.tx)
                .await?
            }
        };
        w.commit().await?;
        Ok(convert::visitor(model))
    }

    pub async fn visitor(&self, id: VisitorId) -> StoreResult<Option<Visitor>> {
        Ok(visitor::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .map(convert::visitor))
    }

    pub async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>> {
        customer::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .map(convert::customer)
            .transpose()
    }
}

/// The visitor's customer, creating an anonymous one and linking it when the visitor has none.
pub(crate) async fn customer_for_visitor(
    tx: &impl ConnectionTrait,
    visitor_id: VisitorId,
    now: DateTime<Utc>,
) -> StoreResult<CustomerId> {
    let visitor = visitor::Entity::find_by_id(visitor_id.0)
        .one(tx)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("visitor {visitor_id} vanished")))?;
    if let Some(customer_id) = visitor.customer_id {
        return Ok(CustomerId(customer_id));
    }
    let customer = new_customer(None, now).insert(tx).await?;
    let mut active: visitor::ActiveModel = visitor.into();
    active.customer_id = Set(Some(customer.id));
    active.update(tx).await?;
    Ok(CustomerId(customer.id))
}
