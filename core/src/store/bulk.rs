//! Statements over many rows whose text does not depend on how many rows they take.
//!
//! PostgreSQL parses a statement's text the first time a connection runs it, one round trip of its
//! own, and the connection keeps the last 100 it prepared, closing the oldest in another round trip.
//! An `IN (…)` list or a multi-row `VALUES` has a text per row count, so on the message path, whose
//! batches change size all the time, most statements were prepared anew and pushed others out:
//! three round trips where one does. Here those statements take their rows as one array per column
//! on PostgreSQL (`= ANY($1)`, `UNNEST`), so each text is prepared once per connection. Arrays
//! travel in binary, so the server parses no text for them. A nullable column is two arrays, its
//! values and whether each is there ([`Nullable`]): the driver binds arrays without nulls only.
//! SQLite prepares in-process, without a round trip, and keeps sea-query's statements.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, OnConflict, SimpleExpr};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, IdenStatic, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Statement, Value,
};
use uuid::Uuid;

use crate::domain::model::AuthorKind;
use crate::store::StoreResult;
use crate::store::entities::{conversation, message, outbox_event, webhook_delivery};

/// The conversations whose `column` (their id, or their visitor's) is one of `ids`, newest first.
pub(crate) async fn conversations_where(
    db: &impl ConnectionTrait,
    column: conversation::Column,
    ids: &[Uuid],
) -> StoreResult<Vec<conversation::Model>> {
    let find = conversation::Entity::find();
    let rows = match db.get_database_backend() {
        DbBackend::Postgres => {
            let sql = format!(
                "SELECT * FROM conversations WHERE {} = ANY($1) ORDER BY created_at DESC",
                column.as_str()
            );
            find.from_raw_sql(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [uuids(ids)],
            ))
            .all(db)
            .await?
        }
        _ => {
            find.filter(column.is_in(ids.iter().copied()))
                .order_by_desc(conversation::Column::CreatedAt)
                .all(db)
                .await?
        }
    };
    Ok(rows)
}

/// (conversation, client id) of the messages in `conversations` that carry one of `client_ids`,
/// only those written by `author` if given.
pub(crate) async fn stored_client_ids(
    db: &impl ConnectionTrait,
    conversations: &[Uuid],
    client_ids: &[String],
    author: Option<AuthorKind>,
) -> StoreResult<Vec<(Uuid, String)>> {
    let rows = match db.get_database_backend() {
        DbBackend::Postgres => {
            // `$3` null stands for any author.
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT conversation_id, client_id FROM messages \
                 WHERE conversation_id = ANY($1) AND client_id = ANY($2) \
                 AND ($3::text IS NULL OR author_kind = $3)",
                [
                    uuids(conversations),
                    client_ids.to_vec().into(),
                    author.map(|a| a.as_str().to_string()).into(),
                ],
            );
            db.query_all(statement)
                .await?
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get("", "conversation_id")?,
                        row.try_get("", "client_id")?,
                    ))
                })
                .collect::<Result<_, DbErr>>()?
        }
        _ => {
            let mut select = message::Entity::find()
                .select_only()
                .column(message::Column::ConversationId)
                .column(message::Column::ClientId)
                .filter(message::Column::ConversationId.is_in(conversations.iter().copied()))
                .filter(message::Column::ClientId.is_in(client_ids.iter().cloned()));
            if let Some(author) = author {
                select = select.filter(message::Column::AuthorKind.eq(author.as_str()));
            }
            select.into_tuple().all(db).await?
        }
    };
    Ok(rows)
}

/// How one conversation moves with a batch: its id, how many messages it gains and its last
/// position in the change feed.
pub(crate) struct Move {
    pub id: Uuid,
    pub added: i64,
    pub last_change: i64,
}

/// One update for every conversation of `moves`: `last_seq` up by its count of new messages,
/// `change_seq` to its last change. Answers the rows as updated.
pub(crate) async fn move_conversations(
    db: &impl ConnectionTrait,
    moves: &[Move],
    now: DateTime<Utc>,
) -> StoreResult<Vec<conversation::Model>> {
    let find = conversation::Entity::find();
    let statement = match db.get_database_backend() {
        DbBackend::Postgres => Statement::from_sql_and_values(
            DbBackend::Postgres,
            // `id = ANY($1)` rather than a join on `UNNEST`: the plan PostgreSQL keeps for a
            // join scans the whole table, the one for `ANY` follows the primary key.
            "UPDATE conversations \
             SET last_seq = last_seq + ($2::int8[])[array_position($1::uuid[], id)], \
             change_seq = ($3::int8[])[array_position($1::uuid[], id)], updated_at = $4 \
             WHERE id = ANY($1) RETURNING *",
            [
                column(moves, |m| m.id),
                column(moves, |m| m.added),
                column(moves, |m| m.last_change),
                now.into(),
            ],
        ),
        backend => {
            let by_id = |value: fn(&Move) -> i64, otherwise: SimpleExpr| -> SimpleExpr {
                moves
                    .iter()
                    .fold(CaseStatement::new(), |case, m| {
                        case.case(conversation::Column::Id.eq(m.id), value(m))
                    })
                    .finally(otherwise)
                    .into()
            };
            let mut update = conversation::Entity::update_many()
                .col_expr(
                    conversation::Column::LastSeq,
                    Expr::col(conversation::Column::LastSeq).add(by_id(|m| m.added, 0.into())),
                )
                .col_expr(
                    conversation::Column::ChangeSeq,
                    by_id(
                        |m| m.last_change,
                        Expr::col(conversation::Column::ChangeSeq).into(),
                    ),
                )
                .col_expr(conversation::Column::UpdatedAt, now.into())
                .filter(conversation::Column::Id.is_in(moves.iter().map(|m| m.id)))
                .into_query();
            update.returning_all();
            backend.build(&update)
        }
    };
    Ok(find.from_raw_sql(statement).all(db).await?)
}

/// Inserts `rows`; with `skip_stored`, a row whose (conversation, client id) is stored already is
/// skipped. Answers how many were inserted.
pub(crate) async fn insert_messages(
    db: &impl ConnectionTrait,
    rows: &[message::Model],
    skip_stored: bool,
) -> StoreResult<u64> {
    let result = match db.get_database_backend() {
        DbBackend::Postgres => {
            let sql = if skip_stored {
                INSERT_MESSAGES_SKIPPING_STORED
            } else {
                INSERT_MESSAGES
            };
            let author_id = Nullable::of(rows, |m| m.author_id, Uuid::nil());
            let author_name = Nullable::of(rows, |m| m.author_name.clone(), String::new());
            let client_id = Nullable::of(rows, |m| m.client_id.clone(), String::new());
            let values = [
                column(rows, |m| m.id),
                column(rows, |m| m.conversation_id),
                column(rows, |m| m.seq),
                column(rows, |m| m.author_kind.clone()),
                author_id.values,
                author_id.present,
                author_name.values,
                author_name.present,
                column(rows, |m| m.body.clone()),
                client_id.values,
                client_id.present,
                column(rows, |m| m.created_at),
            ];
            db.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?
            .rows_affected()
        }
        _ if skip_stored => {
            message::Entity::insert_many(
                rows.iter()
                    .map(|row| row.clone().into_active_model().reset_all()),
            )
            .on_conflict(
                OnConflict::columns([message::Column::ConversationId, message::Column::ClientId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?
        }
        _ => insert_many::<message::Entity>(db, rows).await?,
    };
    Ok(result)
}

/// The messages insert, as a macro so that [`INSERT_MESSAGES_SKIPPING_STORED`] can extend it with
/// `concat!`.
macro_rules! insert_messages_sql {
    () => {
        "INSERT INTO messages \
         (id, conversation_id, seq, author_kind, author_id, author_name, body, client_id, \
         created_at) \
         SELECT id, conversation_id, seq, author_kind, CASE WHEN has_author_id THEN author_id END, \
         CASE WHEN has_author_name THEN author_name END, body, \
         CASE WHEN has_client_id THEN client_id END, created_at \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::uuid[], $6::bool[], \
         $7::text[], $8::bool[], $9::text[], $10::text[], $11::bool[], $12::timestamptz[]) \
         AS r(id, conversation_id, seq, author_kind, author_id, has_author_id, author_name, \
         has_author_name, body, client_id, has_client_id, created_at)"
    };
}

const INSERT_MESSAGES: &str = insert_messages_sql!();

/// [`INSERT_MESSAGES`], skipping a row whose (conversation, client id) is stored already.
const INSERT_MESSAGES_SKIPPING_STORED: &str = concat!(
    insert_messages_sql!(),
    " ON CONFLICT (conversation_id, client_id) DO NOTHING"
);

/// Inserts outbox events.
pub(crate) async fn insert_events(
    db: &impl ConnectionTrait,
    rows: &[outbox_event::Model],
) -> StoreResult<()> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let conversation_id = Nullable::of(rows, |e| e.conversation_id, Uuid::nil());
            let webhook_body = Nullable::of(rows, |e| e.webhook_body.clone(), String::new());
            let values = [
                column(rows, |e| e.id),
                column(rows, |e| e.seq),
                column(rows, |e| e.event_type.clone()),
                conversation_id.values,
                conversation_id.present,
                column(rows, |e| e.payload.clone()),
                webhook_body.values,
                webhook_body.present,
                column(rows, |e| e.created_at),
            ];
            db.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO outbox \
                 (id, seq, event_type, conversation_id, payload, webhook_body, created_at) \
                 SELECT id, seq, event_type, CASE WHEN has_conversation_id THEN conversation_id END, \
                 payload, CASE WHEN has_webhook_body THEN webhook_body END, created_at \
                 FROM UNNEST($1::uuid[], $2::int8[], $3::text[], $4::uuid[], $5::bool[], \
                 $6::text[], $7::text[], $8::bool[], $9::timestamptz[]) \
                 AS r(id, seq, event_type, conversation_id, has_conversation_id, payload, \
                 webhook_body, has_webhook_body, created_at)",
                values,
            ))
            .await?;
        }
        _ => {
            insert_many::<outbox_event::Entity>(db, rows).await?;
        }
    }
    Ok(())
}

/// Inserts webhook deliveries not yet attempted (their attempt columns are null).
pub(crate) async fn insert_new_deliveries(
    db: &impl ConnectionTrait,
    rows: &[webhook_delivery::Model],
) -> StoreResult<()> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let conversation_id = Nullable::of(rows, |d| d.conversation_id, Uuid::nil());
            let values = [
                column(rows, |d| d.id),
                column(rows, |d| d.endpoint_id),
                column(rows, |d| d.event_id),
                column(rows, |d| d.event_seq),
                column(rows, |d| d.event_type.clone()),
                conversation_id.values,
                conversation_id.present,
                column(rows, |d| d.state.clone()),
                column(rows, |d| d.attempts),
                column(rows, |d| d.next_attempt_at),
                column(rows, |d| d.created_at),
            ];
            db.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO webhook_deliveries \
                 (id, endpoint_id, event_id, event_seq, event_type, conversation_id, state, \
                 attempts, next_attempt_at, created_at) \
                 SELECT id, endpoint_id, event_id, event_seq, event_type, \
                 CASE WHEN has_conversation_id THEN conversation_id END, state, attempts, \
                 next_attempt_at, created_at \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::text[], \
                 $6::uuid[], $7::bool[], $8::text[], $9::int4[], $10::timestamptz[], \
                 $11::timestamptz[]) \
                 AS r(id, endpoint_id, event_id, event_seq, event_type, conversation_id, \
                 has_conversation_id, state, attempts, next_attempt_at, created_at)",
                values,
            ))
            .await?;
        }
        _ => {
            insert_many::<webhook_delivery::Entity>(db, rows).await?;
        }
    }
    Ok(())
}

/// sea-query's multi-row insert of `rows` (a text per row count), for SQLite. Answers how many
/// were inserted.
async fn insert_many<E: EntityTrait>(
    db: &impl ConnectionTrait,
    rows: &[E::Model],
) -> StoreResult<u64>
where
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelBehavior + Send,
{
    let rows = rows
        .iter()
        .map(|row| row.clone().into_active_model().reset_all());
    Ok(E::insert_many(rows).exec_without_returning(db).await?)
}

fn uuids(ids: &[Uuid]) -> Value {
    ids.to_vec().into()
}

/// One column of `rows` as an array parameter.
fn column<R, T>(rows: &[R], value: impl Fn(&R) -> T) -> Value
where
    Vec<T>: Into<Value>,
{
    rows.iter().map(value).collect::<Vec<T>>().into()
}

/// A nullable column as two array parameters: its values, `placeholder` where there is none, and
/// whether each row has one. The statement reads `CASE WHEN present THEN value END`.
struct Nullable {
    values: Value,
    present: Value,
}

impl Nullable {
    fn of<R, T: Clone>(rows: &[R], value: impl Fn(&R) -> Option<T>, placeholder: T) -> Self
    where
        Vec<T>: Into<Value>,
    {
        let values: Vec<Option<T>> = rows.iter().map(value).collect();
        Self {
            present: values
                .iter()
                .map(Option::is_some)
                .collect::<Vec<_>>()
                .into(),
            values: values
                .into_iter()
                .map(|v| v.unwrap_or_else(|| placeholder.clone()))
                .collect::<Vec<T>>()
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use chrono::TimeZone;
    use sea_orm::{EntityTrait, QueryOrder};

    use super::*;
    use crate::domain::ids::VisitorId;
    use crate::store::NewMessage;
    use crate::store::test_stores::{a_webhook, test_stores};

    /// A timestamp with nanoseconds, which PostgreSQL cuts to microseconds.
    fn odd_time() -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000, 123_456_789).unwrap()
    }

    #[tokio::test]
    async fn rows_written_in_bulk_read_back_as_rows_written_one_by_one() {
        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = &on.store;
            let db = store.db();
            let site = store.ensure_default_site().await.unwrap();
            let visitor = VisitorId::new();
            store
                .touch_visitor(site.id, visitor, odd_time())
                .await
                .unwrap();
            let opened = store
                .append_visitor_message(
                    site.id,
                    visitor,
                    NewMessage {
                        author_kind: AuthorKind::Visitor,
                        author_id: None,
                        author_name: None,
                        body: "first".into(),
                        client_id: None,
                    },
                    odd_time(),
                )
                .await
                .unwrap();
            let conversation = opened.conversation.id.0;

            // The same rows written one by one (sea-orm) and in bulk, their nulls, quotes,
            // newlines and nanoseconds included.
            let message = |seq: i64, client_id: Option<&str>| message::Model {
                id: Uuid::new_v4(),
                conversation_id: conversation,
                seq,
                author_kind: "visitor".into(),
                author_id: None,
                author_name: Some("Zoë \"the\" visitor".into()),
                body: "line one\nline two, \\ and 'quotes' and <b>".into(),
                client_id: client_id.map(str::to_string),
                created_at: odd_time(),
            };
            let alone = message(2, Some("c-2"));
            alone.clone().into_active_model().insert(db).await.unwrap();
            let with_author = message::Model {
                author_id: Some(Uuid::new_v4()),
                author_name: None,
                ..message(3, Some("c-3"))
            };
            let bulk = [with_author, message(4, None)];
            assert_eq!(insert_messages(db, &bulk, false).await.unwrap(), 2);
            // Skipping what is stored: "c-2" is, the new one is not.
            let again = [message(5, Some("c-2")), message(5, Some("c-5"))];
            assert_eq!(insert_messages(db, &again, true).await.unwrap(), 1);

            let rows = message::Entity::find()
                .filter(message::Column::ConversationId.eq(conversation))
                .order_by_asc(message::Column::Seq)
                .all(db)
                .await
                .unwrap();
            assert_eq!(rows.len(), 5);
            let written = [&alone, &bulk[0], &bulk[1], &again[1]];
            for (read, written) in rows[1..].iter().zip(written) {
                // The timestamp as the row written one by one keeps it.
                assert_eq!(read.created_at, rows[1].created_at);
                let as_written = message::Model {
                    created_at: written.created_at,
                    ..read.clone()
                };
                assert_eq!(&as_written, written);
            }

            let found = stored_client_ids(
                db,
                &[conversation, Uuid::new_v4()],
                &["c-3".into(), "c-9".into()],
                Some(AuthorKind::Visitor),
            )
            .await
            .unwrap();
            assert_eq!(found, [(conversation, "c-3".to_string())]);
            let by_agents = stored_client_ids(
                db,
                &[conversation],
                &["c-3".into()],
                Some(AuthorKind::Agent),
            )
            .await
            .unwrap();
            assert!(by_agents.is_empty());

            let moved = move_conversations(
                db,
                &[Move {
                    id: conversation,
                    added: 4,
                    last_change: 99,
                }],
                odd_time(),
            )
            .await
            .unwrap();
            assert_eq!(moved.len(), 1);
            assert_eq!((moved[0].last_seq, moved[0].change_seq), (5, 99));
            let of_visitor = conversations_where(db, conversation::Column::VisitorId, &[visitor.0])
                .await
                .unwrap();
            assert_eq!(of_visitor, moved);
            let by_id = conversations_where(db, conversation::Column::Id, &[conversation])
                .await
                .unwrap();
            assert_eq!(by_id, moved);
        }
    }

    #[tokio::test]
    async fn events_and_deliveries_written_in_bulk_read_back_whole() {
        use crate::domain::webhook_events::EventType;

        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = &on.store;
            let db = store.db();
            let endpoint = a_webhook(store, &[EventType::MessageCreated]).await;
            let events = [
                outbox_event::Model {
                    id: Uuid::new_v4(),
                    seq: 1,
                    event_type: "message.created".into(),
                    conversation_id: None,
                    payload: r#"{"a":"\"quoted\"\n"}"#.into(),
                    webhook_body: Some("as sent".into()),
                    created_at: odd_time(),
                },
                outbox_event::Model {
                    id: Uuid::new_v4(),
                    seq: 2,
                    event_type: "message.created".into(),
                    conversation_id: Some(Uuid::new_v4()),
                    payload: "{}".into(),
                    webhook_body: None,
                    created_at: odd_time(),
                },
            ];
            insert_events(db, &events).await.unwrap();
            let mut read = outbox_event::Entity::find()
                .order_by_asc(outbox_event::Column::Seq)
                .all(db)
                .await
                .unwrap();
            // As a row written one by one reads back.
            let reference = outbox_event::Model {
                id: Uuid::new_v4(),
                seq: 3,
                ..events[0].clone()
            };
            reference
                .clone()
                .into_active_model()
                .insert(db)
                .await
                .unwrap();
            let reference_read = outbox_event::Entity::find_by_id(reference.id)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(read.len(), 2);
            assert_eq!(read[0].created_at, reference_read.created_at);
            read[0].created_at = events[0].created_at;
            read[1].created_at = events[1].created_at;
            assert_eq!(read, events);

            let delivery = webhook_delivery::Model {
                id: Uuid::new_v4(),
                endpoint_id: endpoint.id.0,
                event_id: events[0].id,
                event_seq: 1,
                event_type: "message.created".into(),
                conversation_id: None,
                state: "pending".into(),
                attempts: 0,
                next_attempt_at: odd_time(),
                first_attempt_at: None,
                last_attempt_at: None,
                last_status: None,
                last_error: None,
                delivered_at: None,
                created_at: odd_time(),
            };
            insert_new_deliveries(db, std::slice::from_ref(&delivery))
                .await
                .unwrap();
            let mut read = webhook_delivery::Entity::find_by_id(delivery.id)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(read.created_at, reference_read.created_at);
            read.created_at = delivery.created_at;
            read.next_attempt_at = delivery.next_attempt_at;
            assert_eq!(read, delivery);
        }
    }
}
