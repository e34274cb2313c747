//! Visitors (browsers) and the customers they are linked to.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, VisitorId};
use crate::domain::model::{Customer, Visitor};
use crate::store::bulk::case_by_id;
use crate::store::convert;
use crate::store::customers::new_customer;
use crate::store::entities::{customer, visitor};
use crate::store::{Store, StoreError, StoreResult};

impl Store {
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
    customers_for_visitors(tx, &[visitor_id], now)
        .await?
        .remove(&visitor_id.0)
        .ok_or_else(|| StoreError::Corrupt(format!("visitor {visitor_id} has no customer")))
}

/// [`customer_for_visitor`] for many visitors at once, in three statements whatever their number:
/// each visitor's customer, by visitor.
pub(crate) async fn customers_for_visitors(
    tx: &impl ConnectionTrait,
    visitors: &[VisitorId],
    now: DateTime<Utc>,
) -> StoreResult<HashMap<Uuid, CustomerId>> {
    let rows = visitor::Entity::find()
        .filter(visitor::Column::Id.is_in(visitors.iter().map(|v| v.0)))
        .all(tx)
        .await?;
    if let Some(missing) = visitors
        .iter()
        .find(|v| !rows.iter().any(|row| row.id == v.0))
    {
        return Err(StoreError::Corrupt(format!("visitor {missing} vanished")));
    }
    let mut customers = HashMap::with_capacity(rows.len());
    let mut new_customers = Vec::new();
    for row in rows {
        let customer = match row.customer_id {
            Some(customer) => CustomerId(customer),
            None => {
                let customer = CustomerId::new();
                let mut active = new_customer(None, now);
                active.id = Set(customer.0);
                new_customers.push((row.id, active));
                customer
            }
        };
        customers.insert(row.id, customer);
    }
    if new_customers.is_empty() {
        return Ok(customers);
    }
    let link = case_by_id(
        visitor::Column::Id,
        new_customers
            .iter()
            .map(|(visitor, _)| (*visitor, Expr::val(customers.get(visitor).map(|c| c.0)))),
    );
    let linked: Vec<Uuid> = new_customers.iter().map(|(visitor, _)| *visitor).collect();
    customer::Entity::insert_many(new_customers.into_iter().map(|(_, active)| active))
        .exec_without_returning(tx)
        .await?;
    visitor::Entity::update_many()
        .col_expr(visitor::Column::CustomerId, link.into())
        .filter(visitor::Column::Id.is_in(linked))
        .exec(tx)
        .await?;
    Ok(customers)
}
