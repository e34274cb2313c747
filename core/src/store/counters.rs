//! The `counters` table: positions in the change feed and in event order, taken in blocks.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, Statement,
};

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

/// The PostgreSQL `WITH` clauses that take `$1` positions of `changes` and `$2` of `events`: `taken`
/// answers each counter's name and new value. [`take_changes_and_events`] selects from it, and
/// `bulk::move_conversations` updates the batch's conversations with it in the same statement.
///
/// The rows are locked changes first, then events, the order in which every other writer takes
/// them one at a time: a plain `UPDATE … WHERE name IN (…)` locks in whatever order it finds the
/// rows, and two nodes taking the two rows crosswise would deadlock. `ORDER BY … FOR UPDATE` locks
/// in sorted order ("changes" < "events").
macro_rules! take_changes_and_events_cte {
    () => {
        "locked AS (SELECT name FROM counters WHERE name IN ('changes', 'events') \
         ORDER BY name FOR UPDATE), \
         taken AS (UPDATE counters SET value = counters.value + \
         CASE counters.name WHEN 'changes' THEN $1 ELSE $2 END \
         FROM locked WHERE counters.name = locked.name \
         RETURNING counters.name, counters.value)"
    };
}
pub(crate) use take_changes_and_events_cte;

/// [`take`] of `changes` positions in the change feed and `events` in event order, in one
/// statement (one round trip), the rows locked in one order on PostgreSQL
/// ([`take_changes_and_events_cte`]; SQLite has one writer at a time). Answers the last position
/// of each block.
pub(crate) async fn take_changes_and_events(
    db: &impl ConnectionTrait,
    changes: i64,
    events: i64,
) -> StoreResult<(i64, i64)> {
    let (c, e) = (Counter::Changes.name(), Counter::Events.name());
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => concat!(
            "WITH ",
            take_changes_and_events_cte!(),
            " SELECT name, value FROM taken"
        )
        .to_string(),
        _ => format!(
            "UPDATE counters SET value = value + CASE name WHEN '{c}' THEN ? ELSE ? END \
             WHERE name IN ('{c}', '{e}') RETURNING name, value"
        ),
    };
    let statement = Statement::from_sql_and_values(backend, sql, [changes.into(), events.into()]);
    let (mut last_change, mut last_event) = (None, None);
    for row in db.query_all(statement).await? {
        let name: String = row.try_get("", "name")?;
        let value: i64 = row.try_get("", "value")?;
        if name == c {
            last_change = Some(value);
        } else if name == e {
            last_event = Some(value);
        }
    }
    match (last_change, last_event) {
        (Some(change), Some(event)) => Ok((change, event)),
        _ => Err(StoreError::Corrupt(format!("counter {c} or {e} missing"))),
    }
}
