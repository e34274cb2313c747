//! Leases between nodes, kept in the `counters` table: the row `lease:{name}` holds the time (Unix
//! milliseconds) until which one node runs that job. Taking or renewing it is one conditional UPDATE,
//! atomic on PostgreSQL and SQLite alike, so two nodes never both win; a node that dies loses the
//! lease when it runs out.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Set};

use crate::store::entities::counter;
use crate::store::{Store, StoreResult};

impl Store {
    /// Takes the lease `name` until `until` if it ran out by `now`, or renews it if it still says
    /// `held` (the value this node wrote last). Answers whether this node holds it now.
    pub async fn take_lease(
        &self,
        name: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        held: Option<i64>,
    ) -> StoreResult<bool> {
        let key = format!("lease:{name}");
        let w = self.write().await?;
        counter::Entity::insert(counter::ActiveModel {
            name: Set(key.clone()),
            value: Set(0),
        })
        .on_conflict(
            OnConflict::column(counter::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&w.tx)
        .await?;
        let mut free = Condition::any().add(counter::Column::Value.lt(now.timestamp_millis()));
        if let Some(held) = held {
            free = free.add(counter::Column::Value.eq(held));
        }
        let taken = counter::Entity::update_many()
            .col_expr(counter::Column::Value, until.timestamp_millis().into())
            .filter(counter::Column::Name.eq(key))
            .filter(free)
            .exec(&w.tx)
            .await?
            .rows_affected
            == 1;
        w.commit().await?;
        Ok(taken)
    }
}
