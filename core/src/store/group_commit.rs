//! Group commit: message appends queued by many sockets at once are written in one transaction and
//! committed together (one sync to disk for the lot). Every caller gets its answer only after that
//! commit, so "stored before acknowledged" holds for each.
//!
//! A batch is written set-wise ([`super::append_batch`]): a few statements for the whole batch rather
//! than a dozen per message, which is what bounds throughput when every statement is a round trip
//! to the database. If that fails, the batch is rolled back and written again one append at a time,
//! each in a savepoint, so one bad append cannot spoil the others.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::domain::ids::{AgentId, ConversationId, SiteId, VisitorId};
use crate::store::append_batch::{Batch, ResendCheck};
use crate::store::conversations::{AppendOutcome, NewMessage};
use crate::store::outbox::QueuedWork;
use crate::store::{Store, StoreError, StoreResult, append_batch};

/// The most appends one transaction takes: enough to share one sync among many sockets, few enough
/// that the first of them does not wait long for the last.
const MAX_BATCH: usize = 256;

/// Where an append goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AppendTo {
    /// The visitor's open conversation, opened (with a customer) if there is none.
    Visitor { site: SiteId, visitor: VisitorId },
    /// An existing open conversation; `answering` takes it from the queue if nobody has it.
    Conversation {
        id: ConversationId,
        answering: Option<AgentId>,
    },
}

/// One message to append.
pub(crate) struct Append {
    pub to: AppendTo,
    pub new: NewMessage,
    pub now: DateTime<Utc>,
}

/// What an append comes to: `None` when the conversation does not exist.
pub(crate) type Appended = StoreResult<Option<AppendOutcome>>;

struct Queued {
    append: Append,
    answer: oneshot::Sender<Appended>,
}

/// The queue into the writer task. The task starts with the first append and ends when every
/// `Store` handle is gone.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: std::sync::OnceLock<mpsc::UnboundedSender<Queued>>,
}

impl Store {
    /// Queues `append` for the next batch and answers once that batch committed.
    pub(crate) async fn append_batched(&self, append: Append) -> Appended {
        let (answer, answered) = oneshot::channel();
        let not_committed = || StoreError::Db(DbErr::Custom("the write was not committed".into()));
        let queue = self.group.queue.get_or_init(|| {
            let (sender, queued) = mpsc::unbounded_channel();
            // The writer's own handle has a queue of its own (never used), so that it does not keep
            // this queue open: the task ends with the last `Store` the callers hold.
            let writer_store = Store {
                group: std::sync::Arc::default(),
                ..self.clone()
            };
            tokio::spawn(writer(writer_store, queued));
            sender
        });
        queue
            .send(Queued { append, answer })
            .map_err(|_| not_committed())?;
        answered.await.map_err(|_| not_committed())?
    }
}

/// Takes what is queued (up to [`MAX_BATCH`]), writes it in one transaction under the write lock,
/// commits, then answers every caller.
async fn writer(store: Store, mut queued: mpsc::UnboundedReceiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queued.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (appends, answers): (Vec<Append>, Vec<_>) =
            batch.drain(..).map(|q| (q.append, q.answer)).unzip();
        let (results, queued) = {
            let _guard = store.write_lock.lock().await;
            write_batch(&store, &appends).await
        };
        store.committed();
        if results
            .iter()
            .any(|r| matches!(r, Ok(Some(o)) if !o.duplicate))
        {
            store.events_committed_queuing(queued);
        }
        for (answer, result) in answers.into_iter().zip(results) {
            let _ = answer.send(result);
        }
    }
}

/// Every append's result, all committed or (on a failed commit) all failed, and the work they
/// queued for the workers.
async fn write_batch(store: &Store, appends: &[Append]) -> (Vec<Appended>, QueuedWork) {
    let set_wise = async |check| {
        let tx = store.batch_db.begin().await?;
        match append_batch::write(store, &tx, appends, check).await? {
            Batch::Written(results, queued) => {
                tx.commit().await?;
                Ok::<_, StoreError>(Some((results, queued)))
            }
            Batch::Resent => {
                tx.rollback().await?;
                Ok(None)
            }
        }
    };
    let written = match set_wise(ResendCheck::ByIndex).await {
        Ok(None) => {
            tracing::debug!(
                appends = appends.len(),
                "a batch holds a resent message; writing it again with every client id read first"
            );
            set_wise(ResendCheck::Read).await
        }
        other => other,
    };
    match written {
        Ok(Some(written)) => return written,
        Ok(None) => tracing::error!("a batch met a resend after reading every client id"),
        Err(e) => tracing::warn!(
            error = %e,
            appends = appends.len(),
            "a batch of messages failed; writing them one at a time"
        ),
    }
    // On the shared pool, whose connections are checked before use: a batch that failed on a
    // connection that broke while idle is written here.
    let one_by_one = async {
        let tx = store.db.begin().await?;
        let mut results = Vec::with_capacity(appends.len());
        for append in appends {
            results.push(in_savepoint(store, &tx, append).await);
        }
        tx.commit().await?;
        Ok::<_, StoreError>(results)
    };
    let results = match one_by_one.await {
        Ok(results) => results,
        Err(e) => {
            tracing::error!(error = %e, "a batch of messages did not commit");
            appends
                .iter()
                .map(|_| Err(StoreError::Db(DbErr::Custom(format!("not committed: {e}")))))
                .collect()
        }
    };
    (results, QueuedWork::ALL)
}

/// One append on its own, in a savepoint: a failing one leaves the others of its batch untouched.
pub(crate) async fn in_savepoint(
    store: &Store,
    tx: &DatabaseTransaction,
    append: &Append,
) -> Appended {
    let savepoint = tx.begin().await?;
    match store.write_append(&savepoint, append).await {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(value)
        }
        Err(e) => {
            // Rolling back to the savepoint undoes this append only; the batch goes on.
            if let Err(rollback) = savepoint.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a failed append's savepoint failed");
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use chrono::Utc;

    use crate::domain::ids::VisitorId;
    use crate::domain::model::AuthorKind;
    use crate::store::test_stores::{a_webhook, test_stores};
    use crate::store::{NewMessage, Store, StoreError};

    fn visitor_message(visitor: VisitorId, client_id: &str) -> NewMessage {
        NewMessage {
            author_kind: AuthorKind::Visitor,
            author_id: Some(visitor.0),
            author_name: None,
            body: format!("body of {client_id}"),
            client_id: Some(client_id.to_string()),
        }
    }

    async fn an_agent(store: &Store) -> crate::domain::model::Agent {
        store
            .create_agent(crate::store::agents::NewAgent {
                external_id: None,
                email: "a@example.com".into(),
                name: "A".into(),
                role: crate::domain::model::AgentRole::Agent,
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_appends_are_each_stored_once_in_seq_order_and_a_failing_one_spoils_nothing()
    {
        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap();
            let now = Utc::now();
            let visitors: Vec<VisitorId> = (0..8).map(|_| VisitorId::new()).collect();
            for visitor in &visitors {
                store.touch_visitor(site.id, *visitor, now).await.unwrap();
            }
            // A conversation that is closed: appending to it fails inside whatever batch it lands in.
            let first = store
                .append_visitor_message(
                    site.id,
                    visitors[0],
                    visitor_message(visitors[0], "x"),
                    now,
                )
                .await
                .unwrap();
            store
                .close_conversation(first.conversation.id, now)
                .await
                .unwrap();

            let mut tasks = Vec::new();
            for (v, visitor) in visitors.iter().enumerate().skip(1) {
                for n in 0..25 {
                    let store = store.clone();
                    let visitor = *visitor;
                    // Every message twice: the resend must be answered with the first one.
                    for _ in 0..2 {
                        let store = store.clone();
                        let message = visitor_message(visitor, &format!("{v}-{n}"));
                        tasks.push(tokio::spawn(async move {
                            store
                                .append_visitor_message(site.id, visitor, message, now)
                                .await
                        }));
                    }
                }
                let store = store.clone();
                let closed = first.conversation.id;
                let message = visitor_message(visitors[0], &format!("late-{v}"));
                tasks.push(tokio::spawn(async move {
                    store
                        .append_message(closed, message, None, now)
                        .await
                        .map(|o| o.expect("the conversation exists"))
                }));
            }
            let mut stored = 0;
            let mut refused = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(outcome) if !outcome.duplicate => stored += 1,
                    Ok(_) => {}
                    Err(StoreError::Closed) => refused += 1,
                    Err(e) => panic!("unexpected failure: {e}"),
                }
            }
            assert_eq!(stored, 7 * 25, "each message stored once");
            assert_eq!(
                refused, 7,
                "the appends to the closed conversation failed alone"
            );
            for visitor in &visitors[1..] {
                let open = store
                    .open_conversation_of_visitor(*visitor)
                    .await
                    .unwrap()
                    .expect("an open conversation");
                let messages = store.messages_after(open.id, 0, 100).await.unwrap();
                let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
                assert_eq!(seqs, (1..=25).collect::<Vec<_>>(), "no gaps, no repeats");
                assert_eq!(open.last_seq, 25);
            }
            let closed = store.messages_after(first.conversation.id, 0, 100).await;
            assert_eq!(
                closed.unwrap().len(),
                1,
                "nothing was added to the closed one"
            );
        }
    }

    #[tokio::test]
    async fn replies_and_visitor_messages_at_once_are_numbered_in_order_and_assign_once() {
        use sea_orm::{EntityTrait, QueryOrder};

        use crate::store::entities::outbox_event;

        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap();
            let now = Utc::now();
            let agent = an_agent(&store).await;
            let visitor = VisitorId::new();
            store.touch_visitor(site.id, visitor, now).await.unwrap();
            let opened = store
                .append_visitor_message(site.id, visitor, visitor_message(visitor, "v-0"), now)
                .await
                .unwrap();
            let conversation = opened.conversation.id;

            // Visitor messages and agent replies to the one conversation, all queued at once: the first
            // reply takes the conversation from the queue, the rest are plain appends.
            let mut tasks = Vec::new();
            for n in 1..=40 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    if n % 2 == 0 {
                        let reply = NewMessage {
                            author_kind: AuthorKind::Agent,
                            author_id: Some(agent.id.0),
                            author_name: Some("A".into()),
                            body: format!("reply {n}"),
                            client_id: Some(format!("a-{n}")),
                        };
                        store
                            .append_message(conversation, reply, Some(agent.id), now)
                            .await
                            .map(|o| o.expect("the conversation exists"))
                    } else {
                        let message = visitor_message(visitor, &format!("v-{n}"));
                        store
                            .append_visitor_message(site.id, visitor, message, now)
                            .await
                    }
                }));
            }
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap().unwrap());
            }
            assert_eq!(
                outcomes.iter().filter(|o| o.assigned).count(),
                1,
                "one reply took the conversation"
            );
            assert!(outcomes.iter().all(|o| !o.duplicate && !o.opened));
            // Each answer's conversation is the conversation right after that message.
            for outcome in &outcomes {
                assert_eq!(outcome.conversation.last_seq, outcome.message.seq);
            }
            let mut changes: Vec<i64> =
                outcomes.iter().map(|o| o.conversation.change_seq).collect();
            changes.sort_unstable();
            changes.dedup();
            assert_eq!(
                changes.len(),
                40,
                "every message moved the change feed once"
            );

            let stored = store.messages_after(conversation, 0, 100).await.unwrap();
            let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, (1..=41).collect::<Vec<_>>(), "no gaps, no repeats");
            let after = store.conversation(conversation).await.unwrap().unwrap();
            assert_eq!(after.last_seq, 41);
            assert_eq!(after.assignee_id, Some(agent.id));
            assert_eq!(after.change_seq, *changes.last().unwrap());

            // One message.created per message, numbered in the order of the messages' seqs.
            let events = outbox_event::Entity::find()
                .order_by_asc(outbox_event::Column::Seq)
                .all(store.db())
                .await
                .unwrap();
            let created: Vec<i64> = events
                .iter()
                .filter(|e| e.event_type == "message.created")
                .map(|e| {
                    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
                    payload["data"]["message"]["seq"].as_i64().unwrap()
                })
                .collect();
            assert_eq!(created.len(), 41);
            let mut sorted = created.clone();
            sorted.sort_unstable();
            assert_eq!(created, sorted, "events follow the messages' order");
            assert_eq!(
                events
                    .iter()
                    .filter(|e| e.event_type == "conversation.assigned")
                    .count(),
                1
            );
        }
    }

    #[tokio::test]
    async fn resends_in_a_later_batch_are_answered_with_the_stored_message() {
        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap();
            let now = Utc::now();
            let agent = an_agent(&store).await;
            let reply = |client_id: &str| NewMessage {
                author_kind: AuthorKind::Agent,
                author_id: Some(agent.id.0),
                author_name: Some("A".into()),
                body: format!("reply {client_id}"),
                client_id: Some(client_id.to_string()),
            };
            let [a, b, c] = [VisitorId::new(), VisitorId::new(), VisitorId::new()];
            for visitor in [a, b, c] {
                store.touch_visitor(site.id, visitor, now).await.unwrap();
            }
            let a1 = store
                .append_visitor_message(site.id, a, visitor_message(a, "a-1"), now)
                .await
                .unwrap();
            let r1 = store
                .append_message(a1.conversation.id, reply("r-1"), Some(agent.id), now)
                .await
                .unwrap()
                .unwrap();
            let b1 = store
                .append_visitor_message(site.id, b, visitor_message(b, "b-1"), now)
                .await
                .unwrap();
            // c's first message is in a conversation that was closed since; c has a new one now, so
            // the open conversation's index alone cannot tell that "c-1" is a resend.
            let c1 = store
                .append_visitor_message(site.id, c, visitor_message(c, "c-1"), now)
                .await
                .unwrap();
            store
                .close_conversation(c1.conversation.id, now)
                .await
                .unwrap();
            let c2 = store
                .append_visitor_message(site.id, c, visitor_message(c, "c-2"), now)
                .await
                .unwrap();
            assert!(c2.opened);

            // Resends and new messages queued at once, so that they share batches.
            let mut tasks = Vec::new();
            for (visitor, client_id) in [(a, "a-1"), (b, "b-2"), (c, "c-1"), (a, "a-2"), (b, "b-1")]
            {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    store
                        .append_visitor_message(
                            site.id,
                            visitor,
                            visitor_message(visitor, client_id),
                            now,
                        )
                        .await
                        .unwrap()
                }));
            }
            for client_id in ["r-1", "r-2"] {
                let store = store.clone();
                let message = reply(client_id);
                let conversation = a1.conversation.id;
                tasks.push(tokio::spawn(async move {
                    store
                        .append_message(conversation, message, Some(agent.id), now)
                        .await
                        .unwrap()
                        .unwrap()
                }));
            }
            let mut outcomes = std::collections::HashMap::new();
            for task in tasks {
                let outcome = task.await.unwrap();
                outcomes.insert(outcome.message.client_id.clone().unwrap(), outcome);
            }
            for (client_id, first) in [("a-1", &a1), ("b-1", &b1), ("c-1", &c1), ("r-1", &r1)] {
                let again = &outcomes[client_id];
                assert!(again.duplicate, "{client_id} is a resend");
                assert_eq!(
                    again.message.id, first.message.id,
                    "{client_id}: the stored one"
                );
            }
            for client_id in ["a-2", "b-2", "r-2"] {
                assert!(!outcomes[client_id].duplicate, "{client_id} is new");
            }
            let bodies = |conversation| {
                let store = store.clone();
                async move {
                    store
                        .messages_after(conversation, 0, 100)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|m| (m.seq, m.client_id.unwrap()))
                        .collect::<Vec<_>>()
                }
            };
            let mut in_a: Vec<String> = bodies(a1.conversation.id)
                .await
                .into_iter()
                .map(|(_, c)| c)
                .collect();
            in_a.sort();
            assert_eq!(in_a, ["a-1", "a-2", "r-1", "r-2"], "each stored once");
            let in_b = bodies(b1.conversation.id).await;
            assert_eq!(in_b, [(1, "b-1".to_string()), (2, "b-2".to_string())]);
            assert_eq!(bodies(c1.conversation.id).await, [(1, "c-1".to_string())]);
            assert_eq!(
                bodies(c2.conversation.id).await,
                [(1, "c-2".to_string())],
                "the resend was not stored again in the new conversation"
            );
        }
    }

    #[tokio::test]
    async fn the_delivery_worker_is_woken_only_by_a_batch_that_queued_deliveries() {
        use futures_util::FutureExt;

        use crate::domain::webhook_events::EventType;

        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap();
            let now = Utc::now();
            let visitor = VisitorId::new();
            store.touch_visitor(site.id, visitor, now).await.unwrap();
            store
                .append_visitor_message(site.id, visitor, visitor_message(visitor, "1"), now)
                .await
                .unwrap();
            let outbox = store.outbox_signal();
            let plugins = store.plugin_event_signal();
            // Whatever earlier commits left.
            let _ = outbox.notified().now_or_never();
            let _ = plugins.notified().now_or_never();

            store
                .append_visitor_message(site.id, visitor, visitor_message(visitor, "2"), now)
                .await
                .unwrap();
            assert!(
                outbox.notified().now_or_never().is_none(),
                "no endpoint, nothing to deliver"
            );
            assert!(
                plugins.notified().now_or_never().is_some(),
                "integration plugins read every event"
            );

            a_webhook(&store, &[EventType::MessageCreated]).await;
            let _ = outbox.notified().now_or_never();
            store
                .append_visitor_message(site.id, visitor, visitor_message(visitor, "3"), now)
                .await
                .unwrap();
            assert!(
                outbox.notified().now_or_never().is_some(),
                "a delivery was queued"
            );
        }
    }

    #[tokio::test]
    async fn an_opening_writes_started_then_created_with_a_delivery_each() {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

        use crate::domain::webhook_events::EventType;
        use crate::store::entities::{outbox_event, webhook_delivery};

        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap();
            let now = Utc::now();
            a_webhook(
                &store,
                &[EventType::ConversationStarted, EventType::MessageCreated],
            )
            .await;
            let visitor = VisitorId::new();
            store.touch_visitor(site.id, visitor, now).await.unwrap();
            let opening = store
                .append_visitor_message(site.id, visitor, visitor_message(visitor, "1"), now)
                .await
                .unwrap();
            assert!(opening.opened);

            let events = outbox_event::Entity::find()
                .filter(outbox_event::Column::ConversationId.eq(opening.conversation.id.0))
                .order_by_asc(outbox_event::Column::Seq)
                .all(store.db())
                .await
                .unwrap();
            let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
            assert_eq!(types, ["conversation.started", "message.created"]);
            assert_eq!(events[1].seq, events[0].seq + 1, "numbered in this order");
            for event in &events {
                let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
                assert_eq!(
                    payload["data"]["message"]["id"],
                    serde_json::json!(opening.message.id.0),
                    "{}: the opening message",
                    event.event_type
                );
            }
            let deliveries = webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::ConversationId.eq(opening.conversation.id.0))
                .order_by_asc(webhook_delivery::Column::EventSeq)
                .all(store.db())
                .await
                .unwrap();
            let delivered: Vec<(uuid::Uuid, i64)> = deliveries
                .iter()
                .map(|d| (d.event_id, d.event_seq))
                .collect();
            let written: Vec<(uuid::Uuid, i64)> = events.iter().map(|e| (e.id, e.seq)).collect();
            assert_eq!(delivered, written, "one delivery per event");
        }
    }

    /// The batch connections are not checked before use: one the server cut while it was idle
    /// (a restart) fails its batch, which must then be written on the shared pool, not lost.
    #[tokio::test]
    async fn a_batch_on_a_connection_the_server_cut_is_stored_and_answered() {
        for on in test_stores().await {
            if on.backend != "PostgreSQL" {
                // SQLite's connections are in the process: nothing cuts them.
                continue;
            }
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap();
            let visitor = VisitorId::new();
            let now = Utc::now();
            store.touch_visitor(site.id, visitor, now).await.unwrap();
            let send = |client_id: &'static str| {
                let store = store.clone();
                async move {
                    store
                        .append_visitor_message(
                            site.id,
                            visitor,
                            visitor_message(visitor, client_id),
                            now,
                        )
                        .await
                }
            };
            // Two batches, so both batch connections have been opened and are idle.
            let (a, b) = tokio::join!(send("before-1"), send("before-2"));
            a.unwrap();
            b.unwrap();
            send("before-3").await.unwrap();
            store
                .execute_raw(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .await
                .unwrap();

            for client_id in ["after-1", "after-2", "after-3"] {
                let outcome = send(client_id).await.unwrap();
                assert!(!outcome.duplicate);
            }
            let open = store
                .open_conversation_of_visitor(visitor)
                .await
                .unwrap()
                .expect("an open conversation");
            let stored: Vec<Option<String>> = store
                .messages_after(open.id, 0, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.client_id)
                .collect();
            let sent = [
                "before-1", "before-2", "before-3", "after-1", "after-2", "after-3",
            ];
            assert_eq!(stored.len(), sent.len(), "each stored once: {stored:?}");
            for client_id in sent {
                assert!(stored.contains(&Some(client_id.to_string())), "{client_id}");
            }
        }
    }
}
