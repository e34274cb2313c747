//! Writing a batch of message appends set-wise.
//!
//! The common append (a message into a conversation that is open, with a client id not seen before)
//! is written with the others of its batch in a handful of statements: one read of the conversations,
//! one update of the conversations that takes the batch's change and event positions, and the
//! inserts of the messages, the events and their deliveries (on PostgreSQL, three statements in
//! all). Every statement is a round trip to the database
//! (to SQLite's worker thread, or over the network), and one writer runs batches one after another,
//! so the count per batch, not per message, is what sets throughput, and the time per batch is most
//! of what a message waits for its ack.
//!
//! Whether a client id was sent before (a resend after a reconnect) is not read up front where the
//! unique (conversation, client id) index can tell: the messages are inserted skipping what the index
//! already holds, and a batch that skipped any is rolled back and written again with every earlier
//! client id read first ([`ResendCheck`]). Resends are rare, so most batches save that read. Only a
//! visitor's earlier conversations, which the index of the open one does not cover, are read.
//!
//! A visitor's message when they have no open conversation opens one. Openings come in bursts (a
//! campaign, a page many visitors are on), so they are written set-wise too: the batch opens all of
//! its visitors' conversations in a few statements ([`open_conversations`]: the visitors read,
//! anonymous customers made and linked for those who have none, a block of change positions, the
//! conversations inserted), and their messages then go with the common appends, each opening's
//! `conversation.started` right before its `message.created`.
//!
//! The rest (answering a conversation from the queue, a resend, a closed or unknown conversation)
//! is rare: those appends are written one at a time by the general path, in arrival order and
//! before the set-wise part, together with every other append to the same conversation (or from
//! the same opening visitor), so that a conversation's messages keep their order.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::domain::ids::{ConversationId, MessageId, SiteId, VisitorId};
use crate::domain::model::{AuthorKind, ConversationStatus};
use crate::domain::webhook_events::DomainEvent;
use crate::store::conversations::AppendOutcome;
use crate::store::counters::{self, Counter};
use crate::store::entities::{conversation, message};
use crate::store::group_commit::{Append, AppendTo, Appended, in_savepoint};
use crate::store::outbox::{self, QueuedWork};
use crate::store::visitors::customers_for_visitors;
use crate::store::{Store, StoreError, StoreResult, bulk, convert};

/// How a batch learns which client ids were stored before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResendCheck {
    /// Read only what the unique (conversation, client id) index cannot tell; a batch whose insert
    /// meets a stored client id comes to [`Batch::Resent`].
    ByIndex,
    /// Read every earlier client id first: a resend takes the general path, which answers it with
    /// the stored message.
    Read,
}

/// What writing a batch came to.
pub(crate) enum Batch {
    /// Every append's answer, in order, and the work the batch queued for the workers.
    Written(Vec<Appended>, QueuedWork),
    /// A client id was stored before: roll back and write the batch again with [`ResendCheck::Read`].
    Resent,
}

/// Writes `appends` in `tx`, answering each in order. An error is the batch's (the caller rolls
/// it back); an append's own failure (a closed conversation, say) is in its answer.
pub(crate) async fn write(
    store: &Store,
    tx: &DatabaseTransaction,
    appends: &[Append],
    check: ResendCheck,
) -> StoreResult<Batch> {
    let found = Found::read(tx, appends, check).await?;
    let targets = found.classify(appends);
    let mut answers: Vec<Option<Appended>> = appends.iter().map(|_| None).collect();
    // The general path does not say what it queued.
    let mut queued = QueuedWork::default();
    let mut openings = Vec::new();
    for ((append, answer), target) in appends.iter().zip(answers.iter_mut()).zip(&targets) {
        match target {
            Target::General => {
                *answer = Some(in_savepoint(store, tx, append).await);
                queued = QueuedWork::ALL;
            }
            Target::Opens { site, visitor } => {
                if !openings.iter().any(|(_, v, _)| v == visitor) {
                    openings.push((*site, *visitor, append.now));
                }
            }
            Target::Common(_) => {}
        }
    }
    let opened = if openings.is_empty() {
        HashMap::new()
    } else {
        open_conversations(tx, &openings).await?
    };
    let common: Vec<(usize, &conversation::Model)> = targets
        .iter()
        .enumerate()
        .filter_map(|(i, target)| match target {
            Target::Common(row) => Some((i, *row)),
            Target::Opens { visitor, .. } => opened.get(&visitor.0).map(|row| (i, row)),
            Target::General => None,
        })
        .collect();
    let Some((outcomes, common_queued)) =
        write_common(store, tx, appends, &common, &opened, check).await?
    else {
        return Ok(Batch::Resent);
    };
    queued |= common_queued;
    for ((i, _), outcome) in common.iter().zip(outcomes) {
        answers[*i] = Some(Ok(Some(outcome)));
    }
    let answers = answers
        .into_iter()
        .map(|a| a.ok_or_else(|| StoreError::Corrupt("an append was not answered".into())))
        .collect::<StoreResult<_>>()?;
    Ok(Batch::Written(answers, queued))
}

/// The rows the classification needs, read with one statement each.
struct Found {
    /// Each visitor's open conversation.
    open_of_visitor: HashMap<Uuid, conversation::Model>,
    /// Conversations named by id.
    by_id: HashMap<Uuid, conversation::Model>,
    /// (visitor, client id) of visitor messages already stored (with [`ResendCheck::ByIndex`], only
    /// those outside the visitor's open conversation).
    visitor_sent: HashSet<(Uuid, String)>,
    /// (conversation, client id) of messages already stored (with [`ResendCheck::Read`] only).
    conversation_has: HashSet<(Uuid, String)>,
}

impl Found {
    async fn read(
        tx: &DatabaseTransaction,
        appends: &[Append],
        check: ResendCheck,
    ) -> StoreResult<Self> {
        let mut visitors = Vec::new();
        let mut ids = Vec::new();
        let mut visitor_client_ids = Vec::new();
        let mut conversation_client_ids = Vec::new();
        for append in appends {
            match append.to {
                AppendTo::Visitor { visitor, .. } => {
                    visitors.push(visitor.0);
                    visitor_client_ids.extend(append.new.client_id.clone());
                }
                AppendTo::Conversation { id, .. } => {
                    ids.push(id.0);
                    conversation_client_ids.extend(append.new.client_id.clone());
                }
            }
        }
        // Every conversation of these visitors, newest first: the first open one per visitor is the
        // one the general path would pick, and all of them are where a resent client id may be.
        let mut open_of_visitor = HashMap::new();
        let mut visitor_of_conversation = HashMap::new();
        if !visitors.is_empty() {
            let rows =
                bulk::conversations_where(tx, conversation::Column::VisitorId, &visitors).await?;
            for row in rows {
                visitor_of_conversation.insert(row.id, row.visitor_id);
                if row.status == ConversationStatus::Open.as_str() {
                    open_of_visitor.entry(row.visitor_id).or_insert(row);
                }
            }
        }
        let mut by_id = HashMap::new();
        if !ids.is_empty() {
            let rows = bulk::conversations_where(tx, conversation::Column::Id, &ids).await?;
            by_id.extend(rows.into_iter().map(|row| (row.id, row)));
        }
        if check == ResendCheck::ByIndex {
            // The open conversation's own client ids are the index's to tell.
            for open in open_of_visitor.values() {
                visitor_of_conversation.remove(&open.id);
            }
        }
        let mut visitor_sent = HashSet::new();
        if !visitor_client_ids.is_empty() && !visitor_of_conversation.is_empty() {
            // By conversation id, not through a join on the visitor: the lookup then follows the
            // (conversation, client id) index whatever the planner knows of the table, where a join
            // was planned on PostgreSQL as a scan of every message.
            let conversations: Vec<Uuid> = visitor_of_conversation.keys().copied().collect();
            let rows = bulk::stored_client_ids(
                tx,
                &conversations,
                &visitor_client_ids,
                Some(AuthorKind::Visitor),
            )
            .await?;
            visitor_sent.extend(rows.into_iter().filter_map(|(conversation, client_id)| {
                Some((*visitor_of_conversation.get(&conversation)?, client_id))
            }));
        }
        let mut conversation_has = HashSet::new();
        if check == ResendCheck::Read && !conversation_client_ids.is_empty() {
            let rows = bulk::stored_client_ids(tx, &ids, &conversation_client_ids, None).await?;
            conversation_has.extend(rows);
        }
        Ok(Self {
            open_of_visitor,
            by_id,
            visitor_sent,
            conversation_has,
        })
    }

    /// An append is common when its conversation is open and takes it as it is, and its client id
    /// is new; it opens a conversation when its visitor has none open and its client id was not
    /// sent before. Every append to a conversation (or opening visitor) that has a rare one, or a
    /// client id twice in this batch, goes the general way.
    fn classify<'a>(&'a self, appends: &'a [Append]) -> Vec<Target<'a>> {
        let mut target = Vec::with_capacity(appends.len());
        let mut general: HashSet<Uuid> = HashSet::new();
        let mut seen: HashSet<(Uuid, &str)> = HashSet::new();
        for append in appends {
            let client_id = append.new.client_id.as_deref();
            let (key, to) = match append.to {
                AppendTo::Visitor { site, visitor } => {
                    let row = self.open_of_visitor.get(&visitor.0);
                    let resent = client_id
                        .is_some_and(|c| self.visitor_sent.contains(&(visitor.0, c.to_string())));
                    match row {
                        Some(row) if !resent => (row.id, Target::Common(row)),
                        Some(row) => (row.id, Target::General),
                        // Keyed by the visitor: their appends all go to the one conversation
                        // the first of them opens.
                        None if !resent => (visitor.0, Target::Opens { site, visitor }),
                        None => (visitor.0, Target::General),
                    }
                }
                AppendTo::Conversation { id, answering } => {
                    let resent = client_id
                        .is_some_and(|c| self.conversation_has.contains(&(id.0, c.to_string())));
                    let row = self.by_id.get(&id.0).filter(|row| {
                        !resent
                            && row.status == ConversationStatus::Open.as_str()
                            && !(answering.is_some() && row.assignee_id.is_none())
                    });
                    (id.0, row.map_or(Target::General, Target::Common))
                }
            };
            if matches!(to, Target::General) || client_id.is_some_and(|c| !seen.insert((key, c))) {
                general.insert(key);
            }
            target.push((key, to));
        }
        target
            .into_iter()
            .map(|(key, to)| {
                if general.contains(&key) {
                    Target::General
                } else {
                    to
                }
            })
            .collect()
    }
}

/// Where [`Found::classify`] sends an append.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// Into this open conversation, set-wise.
    Common(&'a conversation::Model),
    /// Into the conversation this batch opens for the visitor, set-wise ([`open_conversations`]).
    Opens { site: SiteId, visitor: VisitorId },
    /// One at a time, on the general path.
    General,
}

/// Opens a conversation for each of `openings` (visitor and site, in arrival order, each visitor
/// once), as the general path opens one: open, unassigned, with the visitor's customer (an
/// anonymous one made and linked for a visitor who has none), at a position of its own in the
/// change feed. A handful of statements for all of them, where the general path takes about a
/// dozen round trips per opening. The rows as inserted, by visitor.
async fn open_conversations(
    tx: &DatabaseTransaction,
    openings: &[(SiteId, VisitorId, DateTime<Utc>)],
) -> StoreResult<HashMap<Uuid, conversation::Model>> {
    let visitors: Vec<VisitorId> = openings.iter().map(|(_, visitor, _)| *visitor).collect();
    let now = openings
        .iter()
        .map(|(_, _, now)| *now)
        .max()
        .unwrap_or_else(Utc::now);
    let customers = customers_for_visitors(tx, &visitors, now).await?;
    let Ok(count) = i64::try_from(openings.len()) else {
        return Err(StoreError::Corrupt("too many openings at once".into()));
    };
    let last_change = counters::take(tx, Counter::Changes, count).await?;
    let rows: Vec<conversation::Model> = openings
        .iter()
        .zip(last_change - count + 1..)
        .map(|((site, visitor, now), change_seq)| {
            let customer = customers
                .get(&visitor.0)
                .ok_or_else(|| StoreError::Corrupt(format!("visitor {visitor} has no customer")))?;
            Ok(conversation::Model {
                id: ConversationId::new().0,
                site_id: site.0,
                visitor_id: visitor.0,
                customer_id: customer.0,
                status: ConversationStatus::Open.as_str().into(),
                assignee_id: None,
                last_seq: 0,
                change_seq,
                created_at: *now,
                updated_at: *now,
            })
        })
        .collect::<StoreResult<_>>()?;
    bulk::insert_conversations(tx, &rows).await?;
    Ok(rows.into_iter().map(|row| (row.visitor_id, row)).collect())
}

/// Writes the common appends (`(index, conversation)`, in arrival order): their messages numbered
/// after each conversation's last, each conversation moved in the change feed, and a
/// `message.created` event each, after a `conversation.started` for the first message of a
/// conversation this batch `opened` (by visitor). `None` if, checking by index, a client id was
/// already stored.
async fn write_common(
    store: &Store,
    tx: &DatabaseTransaction,
    appends: &[Append],
    common: &[(usize, &conversation::Model)],
    opened: &HashMap<Uuid, conversation::Model>,
    check: ResendCheck,
) -> StoreResult<Option<(Vec<AppendOutcome>, QueuedWork)>> {
    let Ok(count) = i64::try_from(common.len()) else {
        return Err(StoreError::Corrupt("too many appends at once".into()));
    };
    if count == 0 {
        return Ok(Some((Vec::new(), QueuedWork::default())));
    }
    // Each message moves its conversation in the change feed, as one written alone would, and
    // has a `message.created` event. Changes are counted from 1 here, and placed in the change
    // feed by the update, which takes their positions.
    let mut moves: Vec<bulk::Move> = Vec::new();
    for ((_, row), change) in common.iter().zip(1..) {
        match moves.iter_mut().find(|m| m.id == row.id) {
            Some(m) => {
                m.added += 1;
                m.last_change = change;
            }
            None => moves.push(bulk::Move {
                id: row.id,
                added: 1,
                last_change: change,
            }),
        }
    }
    let now = common
        .iter()
        .map(|(i, _)| appends[*i].now)
        .max()
        .unwrap_or_else(Utc::now);
    // The rows come back with the update (and the row locks are held until commit on PostgreSQL),
    // so the numbers are right even when another node appends at the same time.
    let Ok(started) = i64::try_from(opened.len()) else {
        return Err(StoreError::Corrupt("too many openings at once".into()));
    };
    let events_count = count + started;
    let taken = bulk::move_conversations(tx, &moves, count, events_count, now).await?;
    let (last_change, last_event) = (taken.last_change, taken.last_event);
    let moved: HashMap<Uuid, conversation::Model> =
        taken.rows.into_iter().map(|row| (row.id, row)).collect();
    let changes = last_change - count + 1..;

    let mut next_seq: HashMap<Uuid, i64> = HashMap::new();
    for m in &moves {
        let row = moved
            .get(&m.id)
            .ok_or_else(|| StoreError::Corrupt(format!("conversation {} vanished", m.id)))?;
        next_seq.insert(m.id, row.last_seq - m.added + 1);
    }
    let mut rows = Vec::with_capacity(common.len());
    let mut outcomes = Vec::with_capacity(common.len());
    for ((i, before), change) in common.iter().zip(changes) {
        let append = &appends[*i];
        let seq = next_seq
            .get_mut(&before.id)
            .ok_or_else(|| StoreError::Corrupt("a message without its conversation".into()))?;
        let row = message_row(before.id, *seq, append);
        *seq += 1;
        // The conversation as it was right after this message, as if written alone.
        let mut after = moved
            .get(&before.id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("a message without its conversation".into()))?;
        after.last_seq = row.seq;
        after.change_seq = change;
        after.updated_at = append.now;
        outcomes.push(AppendOutcome {
            message: convert::message(row.clone())?,
            conversation: convert::conversation(after)?,
            // The first message of a conversation this batch opened is its opening.
            opened: row.seq == 1
                && opened
                    .get(&before.visitor_id)
                    .is_some_and(|o| o.id == before.id),
            duplicate: false,
            assigned: false,
        });
        rows.push(row);
    }
    // An opening's `conversation.started` comes right before its `message.created`, as on the
    // general path.
    let mut dated: Vec<(DomainEvent, DateTime<Utc>)> = Vec::with_capacity(common.len());
    for (outcome, (i, _)) in outcomes.iter().zip(common) {
        let now = appends[*i].now;
        if outcome.opened {
            let started = DomainEvent::ConversationStarted {
                conversation: outcome.conversation.clone(),
                message: outcome.message.clone(),
            };
            dated.push((started, now));
        }
        let created = DomainEvent::MessageCreated {
            conversation: outcome.conversation.clone(),
            message: outcome.message.clone(),
        };
        dated.push((created, now));
    }
    let dated: Vec<(&DomainEvent, DateTime<Utc>)> =
        dated.iter().map(|(event, now)| (event, *now)).collect();
    let event_rows = outbox::event_rows(&dated, last_event - events_count + 1)?;
    let skip_stored = check == ResendCheck::ByIndex;
    let inserted = outbox::insert_with_events(tx, &rows, skip_stored, &event_rows).await?;
    if skip_stored && inserted.messages != count.unsigned_abs() {
        return Ok(None);
    }
    let queued = QueuedWork {
        deliveries: inserted.deliveries_queued,
        mails: store.write_mails(tx, &dated).await?,
    };
    Ok(Some((outcomes, queued)))
}

fn message_row(conversation: Uuid, seq: i64, append: &Append) -> message::Model {
    let new = &append.new;
    message::Model {
        id: MessageId::new().0,
        conversation_id: conversation,
        seq,
        author_kind: new.author_kind.as_str().into(),
        author_id: new.author_id,
        author_name: new.author_name.clone(),
        body: new.body.clone(),
        client_id: new.client_id.clone(),
        created_at: append.now,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use chrono::Utc;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};

    use super::{Batch, ResendCheck, write};
    use crate::domain::ids::VisitorId;
    use crate::domain::model::AuthorKind;
    use crate::domain::webhook_events::EventType;
    use crate::store::NewMessage;
    use crate::store::entities::{outbox_event, webhook_delivery};
    use crate::store::group_commit::{Append, AppendTo};
    use crate::store::test_stores::{a_webhook, test_stores};

    fn from_visitor(
        site: crate::domain::ids::SiteId,
        visitor: VisitorId,
        client_id: &str,
    ) -> Append {
        Append {
            to: AppendTo::Visitor { site, visitor },
            new: NewMessage {
                author_kind: AuthorKind::Visitor,
                author_id: Some(visitor.0),
                author_name: None,
                body: format!("body of {client_id}"),
                client_id: Some(client_id.to_string()),
            },
            now: Utc::now(),
        }
    }

    /// Visitors without an open conversation, in one batch with a message into an open one: each
    /// gets one conversation (with the customer they had, or a new one linked to them), opened by
    /// their first message, with `conversation.started` right before its `message.created`, all
    /// numbered in arrival order with a delivery each, and without the general path.
    #[tokio::test]
    async fn openings_in_one_batch_are_written_set_wise_as_one_at_a_time() {
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
            let (new, returning, talking) = (VisitorId::new(), VisitorId::new(), VisitorId::new());
            for visitor in [new, returning, talking] {
                store.touch_visitor(site.id, visitor, now).await.unwrap();
            }
            // One at a time, in batches of their own: a closed conversation (and so a customer)
            // for `returning`, an open one for `talking`.
            let earlier = store
                .append_visitor_message(
                    site.id,
                    returning,
                    from_visitor(site.id, returning, "r0").new,
                    now,
                )
                .await
                .unwrap();
            store
                .close_conversation(earlier.conversation.id, now)
                .await
                .unwrap();
            let open = store
                .append_visitor_message(
                    site.id,
                    talking,
                    from_visitor(site.id, talking, "t0").new,
                    now,
                )
                .await
                .unwrap();
            let last_event_before = outbox_event::Entity::find()
                .order_by_desc(outbox_event::Column::Seq)
                .one(store.db())
                .await
                .unwrap()
                .unwrap()
                .seq;

            let appends = [
                from_visitor(site.id, new, "n1"),
                from_visitor(site.id, talking, "t1"),
                from_visitor(site.id, returning, "r1"),
                from_visitor(site.id, new, "n2"),
            ];
            let tx = store.batch_db.begin().await.unwrap();
            let Batch::Written(answers, queued) =
                write(&store, &tx, &appends, ResendCheck::ByIndex)
                    .await
                    .unwrap()
            else {
                panic!("no resend in this batch");
            };
            tx.commit().await.unwrap();
            assert!(
                !queued.mails,
                "written set-wise: the general path reports work for every worker"
            );
            let answers: Vec<_> = answers
                .into_iter()
                .map(|a| a.unwrap().expect("a conversation"))
                .collect();
            let (n1, t1, r1, n2) = (&answers[0], &answers[1], &answers[2], &answers[3]);
            assert!(n1.opened && r1.opened, "each first message opened");
            assert!(!n2.opened && !t1.opened);
            assert!(answers.iter().all(|a| !a.duplicate && !a.assigned));
            assert_eq!(
                n2.conversation.id, n1.conversation.id,
                "one conversation each"
            );
            assert_eq!((n1.message.seq, n2.message.seq), (1, 2));
            assert_eq!(
                (t1.conversation.id, t1.message.seq),
                (open.conversation.id, 2)
            );
            assert_ne!(r1.conversation.id, earlier.conversation.id);
            assert_eq!(r1.message.seq, 1);
            assert_eq!(
                r1.conversation.customer_id, earlier.conversation.customer_id,
                "the returning visitor keeps their customer"
            );
            let linked = store.visitor(new).await.unwrap().unwrap().customer_id;
            assert_eq!(
                linked,
                Some(n1.conversation.customer_id),
                "a new customer, linked"
            );
            assert_ne!(n1.conversation.customer_id, r1.conversation.customer_id);
            assert!(
                store
                    .customer(n1.conversation.customer_id)
                    .await
                    .unwrap()
                    .is_some()
            );

            for (visitor, answer) in [(new, n2), (returning, r1), (talking, t1)] {
                let stored = store
                    .open_conversation_of_visitor(visitor)
                    .await
                    .unwrap()
                    .expect("an open conversation");
                assert_eq!(stored.id, answer.conversation.id);
                assert_eq!(stored.last_seq, answer.message.seq);
                assert_eq!(stored.change_seq, answer.conversation.change_seq);
                assert_eq!(stored.customer_id, answer.conversation.customer_id);
                assert!(stored.assignee_id.is_none());
            }
            let changes: Vec<i64> = answers.iter().map(|a| a.conversation.change_seq).collect();
            assert!(
                changes.windows(2).all(|w| w[0] < w[1])
                    && changes[0] > open.conversation.change_seq,
                "changes in arrival order, after the earlier ones: {changes:?}"
            );

            let events = outbox_event::Entity::find()
                .filter(outbox_event::Column::Seq.gt(last_event_before))
                .order_by_asc(outbox_event::Column::Seq)
                .all(store.db())
                .await
                .unwrap();
            let written: Vec<(&str, Option<uuid::Uuid>)> = events
                .iter()
                .map(|e| (e.event_type.as_str(), e.conversation_id))
                .collect();
            let (n, t, r) = (
                Some(n1.conversation.id.0),
                Some(t1.conversation.id.0),
                Some(r1.conversation.id.0),
            );
            assert_eq!(
                written,
                [
                    ("conversation.started", n),
                    ("message.created", n),
                    ("message.created", t),
                    ("conversation.started", r),
                    ("message.created", r),
                    ("message.created", n),
                ]
            );
            let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
            assert_eq!(
                seqs,
                (last_event_before + 1..=last_event_before + 6).collect::<Vec<_>>()
            );
            let message_of = |event: &outbox_event::Model| {
                let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
                payload["data"]["message"]["id"].clone()
            };
            for (event, answer) in events.iter().zip([n1, n1, t1, r1, r1, n2]) {
                assert_eq!(message_of(event), serde_json::json!(answer.message.id.0));
            }
            let deliveries = webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::EventSeq.gt(last_event_before))
                .order_by_asc(webhook_delivery::Column::EventSeq)
                .all(store.db())
                .await
                .unwrap();
            let delivered: Vec<i64> = deliveries.iter().map(|d| d.event_seq).collect();
            assert_eq!(delivered, seqs, "one delivery per event");
        }
    }
}
