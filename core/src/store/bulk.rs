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
//!
//! On PostgreSQL, statements that follow one another on the message path are also joined into one
//! with data-modifying `WITH` clauses: taking the batch's positions with the update of its
//! conversations ([`move_conversations`]), and the inserts of its messages, events and deliveries
//! with the read of the endpoints ([`insert_messages_events_and_deliveries`]). A batch then makes
//! three statements between its `BEGIN` and `COMMIT` where it made seven.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, OnConflict, SimpleExpr};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, FromQueryResult, IdenStatic, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement, Value,
};
use uuid::Uuid;

use crate::domain::model::AuthorKind;
use crate::domain::webhooks::DeliveryState;
use crate::store::entities::{conversation, message, outbox_event, webhook_delivery};
use crate::store::{StoreError, StoreResult, counters};

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

/// How one conversation moves with a batch: its id, how many messages it gains, and its last change
/// among the batch's changes (the first is 1).
pub(crate) struct Move {
    pub id: Uuid,
    pub added: i64,
    pub last_change: i64,
}

/// What [`move_conversations`] answers.
pub(crate) struct Moved {
    /// The conversations as updated.
    pub rows: Vec<conversation::Model>,
    /// The last position of the block taken in the change feed.
    pub last_change: i64,
    /// The last position of the block taken in event order.
    pub last_event: i64,
}

/// Takes the next `changes` positions in the change feed and `events` in event order
/// ([`counters::take_changes_and_events`], whose lock order this keeps), and updates every
/// conversation of `moves` at once: `last_seq` up by its count of new messages, `change_seq` to the
/// position of its last change in the block taken. One statement on PostgreSQL.
pub(crate) async fn move_conversations(
    db: &impl ConnectionTrait,
    moves: &[Move],
    changes: i64,
    events: i64,
    now: DateTime<Utc>,
) -> StoreResult<Moved> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            MOVE_CONVERSATIONS,
            [
                changes.into(),
                events.into(),
                column(moves, |m| m.id),
                column(moves, |m| m.added),
                column(moves, |m| m.last_change),
                now.into(),
            ],
        );
        let rows = db.query_all(statement).await?;
        let first = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("no conversation of the batch was found".into()))?;
        let (last_change, last_event) = (
            first.try_get::<i64>("", "taken_last_change")?,
            first.try_get::<i64>("", "taken_last_event")?,
        );
        return Ok(Moved {
            rows: rows
                .iter()
                .map(|row| conversation::Model::from_query_result(row, ""))
                .collect::<Result<_, DbErr>>()?,
            last_change,
            last_event,
        });
    }
    let (last_change, last_event) = counters::take_changes_and_events(db, changes, events).await?;
    let before_first = last_change - changes;
    let by_id = |value: &dyn Fn(&Move) -> i64, otherwise: SimpleExpr| -> SimpleExpr {
        case_by_id(
            conversation::Column::Id,
            moves.iter().map(|m| (m.id, value(m))),
        )
        .finally(otherwise)
        .into()
    };
    let mut update = conversation::Entity::update_many()
        .col_expr(
            conversation::Column::LastSeq,
            Expr::col(conversation::Column::LastSeq).add(by_id(&|m| m.added, 0.into())),
        )
        .col_expr(
            conversation::Column::ChangeSeq,
            by_id(
                &|m| before_first + m.last_change,
                Expr::col(conversation::Column::ChangeSeq).into(),
            ),
        )
        .col_expr(conversation::Column::UpdatedAt, now.into())
        .filter(conversation::Column::Id.is_in(moves.iter().map(|m| m.id)))
        .into_query();
    update.returning_all();
    let rows = conversation::Entity::find()
        .from_raw_sql(backend.build(&update))
        .all(db)
        .await?;
    Ok(Moved {
        rows,
        last_change,
        last_event,
    })
}

/// [`move_conversations`] on PostgreSQL. The counters are taken as
/// [`counters::take_changes_and_events`] takes them, and `taken` is aggregated before any
/// conversation is joined to it, so both counters are locked before any conversation row, the
/// order every other writer keeps. The conversations are found by `id = ANY($3)`, not by a join on
/// `UNNEST`: the plan PostgreSQL keeps for a join scans the whole table, the one for `ANY` follows
/// the primary key.
const MOVE_CONVERSATIONS: &str = concat!(
    "WITH ",
    counters::take_changes_and_events_cte!(),
    ", block AS (SELECT max(value) FILTER (WHERE name = 'changes') AS last_change, \
     max(value) FILTER (WHERE name = 'events') AS last_event FROM taken) \
     UPDATE conversations \
     SET last_seq = last_seq + ($4::int8[])[array_position($3::uuid[], id)], \
     change_seq = block.last_change - $1 + ($5::int8[])[array_position($3::uuid[], id)], \
     updated_at = $6 \
     FROM block WHERE id = ANY($3) \
     RETURNING conversations.*, block.last_change AS taken_last_change, \
     block.last_event AS taken_last_event"
);

/// Inserts `rows`; with `skip_stored`, a row whose (conversation, client id) is stored already is
/// skipped. Answers how many were inserted. PostgreSQL writes messages with their events instead
/// ([`insert_messages_events_and_deliveries`]).
pub(crate) async fn insert_messages(
    db: &impl ConnectionTrait,
    rows: &[message::Model],
    skip_stored: bool,
) -> StoreResult<u64> {
    if !skip_stored {
        return insert_many::<message::Entity>(db, rows).await;
    }
    Ok(message::Entity::insert_many(
        rows.iter()
            .map(|row| row.clone().into_active_model().reset_all()),
    )
    .on_conflict(
        OnConflict::columns([message::Column::ConversationId, message::Column::ClientId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?)
}

/// Inserts conversations (the ones a batch opens).
pub(crate) async fn insert_conversations(
    db: &impl ConnectionTrait,
    rows: &[conversation::Model],
) -> StoreResult<()> {
    insert_many::<conversation::Entity>(db, rows).await?;
    Ok(())
}

/// Inserts outbox events (SQLite's way; see [`insert_messages`]).
pub(crate) async fn insert_events(
    db: &impl ConnectionTrait,
    rows: &[outbox_event::Model],
) -> StoreResult<()> {
    insert_many::<outbox_event::Entity>(db, rows).await?;
    Ok(())
}

/// Inserts webhook deliveries (SQLite's way; see [`insert_messages`]).
pub(crate) async fn insert_new_deliveries(
    db: &impl ConnectionTrait,
    rows: &[webhook_delivery::Model],
) -> StoreResult<()> {
    insert_many::<webhook_delivery::Entity>(db, rows).await?;
    Ok(())
}

/// On PostgreSQL, in one statement: inserts `messages` (with `skip_stored`, skipping one whose
/// (conversation, client id) is stored already), inserts `events`, and queues each event for every
/// enabled endpoint subscribed to its type, in `state`, due at the event's time. Answers how many
/// messages and deliveries were inserted.
///
/// A delivery's id is made in the statement, time-ordered as [`crate::domain::ids::DeliveryId`]'s
/// are (UUID version 7: the event's time in milliseconds, then random bits), since which endpoints
/// take an event is read there too.
pub(crate) async fn insert_messages_events_and_deliveries(
    db: &impl ConnectionTrait,
    messages: &[message::Model],
    skip_stored: bool,
    events: &[outbox_event::Model],
    state: DeliveryState,
) -> StoreResult<(u64, u64)> {
    let author_id = Nullable::of(messages, |m| m.author_id, Uuid::nil());
    let author_name = Nullable::of(messages, |m| m.author_name.clone(), String::new());
    let client_id = Nullable::of(messages, |m| m.client_id.clone(), String::new());
    let conversation_id = Nullable::of(events, |e| e.conversation_id, Uuid::nil());
    let webhook_body = Nullable::of(events, |e| e.webhook_body.clone(), String::new());
    let values = [
        column(messages, |m| m.id),
        column(messages, |m| m.conversation_id),
        column(messages, |m| m.seq),
        column(messages, |m| m.author_kind.clone()),
        author_id.values,
        author_id.present,
        author_name.values,
        author_name.present,
        column(messages, |m| m.body.clone()),
        client_id.values,
        client_id.present,
        column(messages, |m| m.created_at),
        column(events, |e| e.id),
        column(events, |e| e.seq),
        column(events, |e| e.event_type.clone()),
        conversation_id.values,
        conversation_id.present,
        column(events, |e| e.payload.clone()),
        webhook_body.values,
        webhook_body.present,
        column(events, |e| e.created_at),
        state.as_str().into(),
    ];
    let sql = if skip_stored {
        INSERT_MESSAGES_SKIPPING_STORED_EVENTS_AND_DELIVERIES
    } else {
        INSERT_MESSAGES_EVENTS_AND_DELIVERIES
    };
    let row = db
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("the insert answered no counts".into()))?;
    let count = |name: &str| -> StoreResult<u64> {
        let n: i64 = row.try_get("", name)?;
        Ok(n.unsigned_abs())
    };
    Ok((count("messages")?, count("deliveries")?))
}

/// The statement of [`insert_messages_events_and_deliveries`], with `$on_conflict` after the
/// messages insert: a macro, so that both texts are constants.
macro_rules! insert_messages_events_and_deliveries_sql {
    ($on_conflict:literal) => {
        concat!(
            "WITH m AS (INSERT INTO messages \
             (id, conversation_id, seq, author_kind, author_id, author_name, body, client_id, \
             created_at) \
             SELECT id, conversation_id, seq, author_kind, \
             CASE WHEN has_author_id THEN author_id END, \
             CASE WHEN has_author_name THEN author_name END, body, \
             CASE WHEN has_client_id THEN client_id END, created_at \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::uuid[], $6::bool[], \
             $7::text[], $8::bool[], $9::text[], $10::text[], $11::bool[], $12::timestamptz[]) \
             AS r(id, conversation_id, seq, author_kind, author_id, has_author_id, author_name, \
             has_author_name, body, client_id, has_client_id, created_at)",
            $on_conflict,
            " RETURNING 1), \
             e AS (INSERT INTO outbox \
             (id, seq, event_type, conversation_id, payload, webhook_body, created_at) \
             SELECT id, seq, event_type, CASE WHEN has_conversation_id THEN conversation_id END, \
             payload, CASE WHEN has_webhook_body THEN webhook_body END, created_at \
             FROM UNNEST($13::uuid[], $14::int8[], $15::text[], $16::uuid[], $17::bool[], \
             $18::text[], $19::text[], $20::bool[], $21::timestamptz[]) \
             AS r(id, seq, event_type, conversation_id, has_conversation_id, payload, \
             webhook_body, has_webhook_body, created_at) \
             RETURNING id, seq, event_type, conversation_id, created_at), \
             d AS (INSERT INTO webhook_deliveries \
             (id, endpoint_id, event_id, event_seq, event_type, conversation_id, state, \
             attempts, next_attempt_at, created_at) \
             SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) \
             PLACING substring(int8send(floor(extract(epoch FROM e.created_at) * 1000)::int8) \
             FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid, \
             w.id, e.id, e.seq, e.event_type, e.conversation_id, $22, 0, e.created_at, \
             e.created_at \
             FROM e JOIN webhook_endpoints w ON w.enabled \
             AND e.event_type IN (SELECT jsonb_array_elements_text(w.events::jsonb)) \
             RETURNING 1) \
             SELECT (SELECT count(*) FROM m) AS messages, (SELECT count(*) FROM d) AS deliveries"
        )
    };
}

const INSERT_MESSAGES_EVENTS_AND_DELIVERIES: &str = insert_messages_events_and_deliveries_sql!("");

const INSERT_MESSAGES_SKIPPING_STORED_EVENTS_AND_DELIVERIES: &str = insert_messages_events_and_deliveries_sql!(
    " ON CONFLICT (conversation_id, client_id) DO NOTHING"
);

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

/// `CASE id WHEN … THEN … END`: one value per row in one `UPDATE` of many rows (SQLite's statement;
/// add `.finally(…)` for the rows not listed).
pub(crate) fn case_by_id<V: Into<SimpleExpr>>(
    id: impl ColumnTrait,
    rows: impl IntoIterator<Item = (Uuid, V)>,
) -> CaseStatement {
    rows.into_iter()
        .fold(CaseStatement::new(), |case, (row, value)| {
            case.case(id.eq(row), value)
        })
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
    use crate::store::entities::webhook_endpoint;
    use crate::store::outbox::insert_with_events;
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
            let inserted = insert_with_events(db, &bulk, false, &[]).await.unwrap();
            assert_eq!(inserted.messages, 2);
            // Skipping what is stored: "c-2" is, the new one is not.
            let again = [message(5, Some("c-2")), message(5, Some("c-5"))];
            let inserted = insert_with_events(db, &again, true, &[]).await.unwrap();
            assert_eq!(inserted.messages, 1);
            assert!(!inserted.deliveries_queued);

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

            // Taking no positions reads where the counters are.
            let (changes_before, events_before) =
                counters::take_changes_and_events(db, 0, 0).await.unwrap();
            let moved = move_conversations(
                db,
                &[Move {
                    id: conversation,
                    added: 4,
                    last_change: 2,
                }],
                3,
                5,
                odd_time(),
            )
            .await
            .unwrap();
            assert_eq!(
                (moved.last_change, moved.last_event),
                (changes_before + 3, events_before + 5)
            );
            assert_eq!(
                counters::take_changes_and_events(db, 0, 0).await.unwrap(),
                (moved.last_change, moved.last_event),
                "the counters as the update left them"
            );
            assert_eq!(moved.rows.len(), 1);
            assert_eq!(
                (moved.rows[0].last_seq, moved.rows[0].change_seq),
                (5, changes_before + 2),
                "the second of the three changes taken"
            );
            let moved = moved.rows;
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
    async fn events_written_in_bulk_read_back_whole_with_a_delivery_per_subscribed_endpoint() {
        use crate::domain::webhook_events::EventType;

        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = &on.store;
            let db = store.db();
            let endpoint = a_webhook(store, &[EventType::MessageCreated]).await;
            // Neither of these takes a `message.created`.
            a_webhook(store, &[EventType::ConversationStarted]).await;
            let disabled = a_webhook(store, &[EventType::MessageCreated]).await;
            webhook_endpoint::Entity::update_many()
                .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
                .filter(webhook_endpoint::Column::Id.eq(disabled.id.0))
                .exec(db)
                .await
                .unwrap();
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
                    created_at: odd_time() + chrono::Duration::seconds(1),
                },
            ];
            let inserted = insert_with_events(db, &[], false, &events).await.unwrap();
            assert_eq!(inserted.messages, 0);
            assert!(inserted.deliveries_queued);
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

            // One delivery per event, to the one enabled endpoint that takes it, due at the
            // event's time, with a time-ordered id (UUID version 7).
            let deliveries = webhook_delivery::Entity::find()
                .order_by_asc(webhook_delivery::Column::EventSeq)
                .all(db)
                .await
                .unwrap();
            assert_eq!(deliveries.len(), 2);
            for (delivery, event) in deliveries.iter().zip(&read) {
                assert_eq!(delivery.id.get_version_num(), 7);
                let expected = webhook_delivery::Model {
                    id: delivery.id,
                    endpoint_id: endpoint.id.0,
                    event_id: event.id,
                    event_seq: event.seq,
                    event_type: "message.created".into(),
                    conversation_id: event.conversation_id,
                    state: DeliveryState::Pending.as_str().into(),
                    attempts: 0,
                    next_attempt_at: delivery.created_at,
                    first_attempt_at: None,
                    last_attempt_at: None,
                    last_status: None,
                    last_error: None,
                    delivered_at: None,
                    created_at: delivery.created_at,
                };
                assert_eq!(delivery, &expected);
                assert_eq!(
                    (delivery.created_at - event.created_at).num_milliseconds(),
                    0,
                    "due at the event's time"
                );
            }
        }
    }
}
