//! The `counters` table: positions in the change feed and in event order, taken in blocks.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait};

use crate::store::entities::counter;
use crate::store::{StoreError, StoreResult};

/// A counter the store keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counter {
    /// Positions in the change feed (conversation polling).
    Changes,
    /// Positions in event order (the outbox).
    Events,
}

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Self::Changes => "changes",
            Self::Events => "events",
        }
    }
}

/// Takes the next `n` positions of `counter` and answers the last of them (the block is
/// `last - n + 1 ..= last`). Taking them updates one row, so writers queue on that row and commit
/// in the order of their positions: a reader never sees position 7 before 6 is visible.
pub(crate) async fn take(db: &impl ConnectionTrait, counter: Counter, n: i64) -> StoreResult<i64> {
    let mut update = counter::Entity::update_many()
        .col_expr(
            counter::Column::Value,
            Expr::col(counter::Column::Value).add(n),
        )
        .filter(counter::Column::Name.eq(counter.name()))
        .into_query();
    // One round trip: the new value comes back with the update.
    update.returning_col(counter::Column::Value);
    let statement = db.get_database_backend().build(&update);
    let row = db
        .query_one(statement)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("counter {} missing", counter.name())))?;
    Ok(row.try_get::<i64>("", "value")?)
}
