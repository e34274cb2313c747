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
//! The rest (opening a conversation, answering one from the queue, a resend, a closed or unknown
//! conversation) is rare: those appends are written one at a time by the general path, in arrival
//! order and before the set-wise part, together with every other append to the same conversation,
//! so that a conversation's messages keep their order.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::domain::ids::MessageId;
use crate::domain::model::{AuthorKind, ConversationStatus};
use crate::domain::webhook_events::DomainEvent;
use crate::store::conversations::AppendOutcome;
use crate::store::entities::{conversation, message};
use crate::store::group_commit::{Append, AppendTo, Appended, in_savepoint};
use crate::store::outbox::{self, QueuedWork};
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
    let common_to = found.classify(appends);
    let mut answers: Vec<Option<Appended>> = appends.iter().map(|_| None).collect();
    // The general path does not say what it queued.
    let mut queued = QueuedWork::default();
    for ((append, answer), common) in appends.iter().zip(answers.iter_mut()).zip(&common_to) {
        if common.is_none() {
            *answer = Some(in_savepoint(store, tx, append).await);
            queued = QueuedWork::ALL;
        }
    }
    let common: Vec<(usize, &conversation::Model)> = common_to
        .iter()
        .enumerate()
        .filter_map(|(i, row)| Some((i, (*row)?)))
        .collect();
    let Some((outcomes, common_queued)) = write_common(store, tx, appends, &common, check).await?
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
    /// is new. Every append to a conversation that has a rare one, or a client id twice in this
    /// batch, goes the general way. Per append: its conversation if it is common.
    fn classify<'a>(&'a self, appends: &'a [Append]) -> Vec<Option<&'a conversation::Model>> {
        let mut target = Vec::with_capacity(appends.len());
        let mut general: HashSet<Uuid> = HashSet::new();
        let mut seen: HashSet<(Uuid, &str)> = HashSet::new();
        for append in appends {
            let client_id = append.new.client_id.as_deref();
            let (key, row) = match append.to {
                AppendTo::Visitor { visitor, .. } => {
                    let row = self.open_of_visitor.get(&visitor.0);
                    let resent = client_id
                        .is_some_and(|c| self.visitor_sent.contains(&(visitor.0, c.to_string())));
                    match row {
                        Some(row) if !resent => (row.id, Some(row)),
                        Some(row) => (row.id, None),
                        None => (visitor.0, None),
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
                    (id.0, row)
                }
            };
            if row.is_none() || client_id.is_some_and(|c| !seen.insert((key, c))) {
                general.insert(key);
            }
            target.push((key, row));
        }
        target
            .into_iter()
            .map(|(key, row)| row.filter(|_| !general.contains(&key)))
            .collect()
    }
}

/// Writes the common appends (`(index, conversation)`, in arrival order): their messages numbered
/// after each conversation's last, each conversation moved in the change feed, and a
/// `message.created` event each. `None` if, checking by index, a client id was already stored.
async fn write_common(
    store: &Store,
    tx: &DatabaseTransaction,
    appends: &[Append],
    common: &[(usize, &conversation::Model)],
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
    let taken = bulk::move_conversations(tx, &moves, count, count, now).await?;
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
            opened: false,
            duplicate: false,
            assigned: false,
        });
        rows.push(row);
    }
    let events: Vec<DomainEvent> = outcomes
        .iter()
        .map(|o| DomainEvent::MessageCreated {
            conversation: o.conversation.clone(),
            message: o.message.clone(),
        })
        .collect();
    let dated: Vec<(&DomainEvent, DateTime<Utc>)> = events
        .iter()
        .zip(common)
        .map(|(event, (i, _))| (event, appends[*i].now))
        .collect();
    let event_rows = outbox::event_rows(&dated, last_event - count + 1)?;
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
