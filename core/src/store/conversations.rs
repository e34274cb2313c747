//! Conversations and their messages, and the change feed that polling reads. Every change that
//! integrators hear about writes its event to the outbox in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, UpdateStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};

use crate::domain::ids::{AgentId, ConversationId, MessageId, SiteId, VisitorId};
use crate::domain::model::{
    AuthorKind, Conversation, ConversationFilter, ConversationStatus, Message,
};
use crate::domain::webhook_events::DomainEvent;
use crate::store::counters::{self, Counter};
use crate::store::entities::{agent, conversation, message};
use crate::store::group_commit::{Append, AppendTo};
use crate::store::visitors::customer_for_visitor;
use crate::store::{Store, StoreError, StoreResult, bulk, convert, outbox};

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub author_kind: AuthorKind,
    pub author_id: Option<uuid::Uuid>,
    pub author_name: Option<String>,
    pub body: String,
    pub client_id: Option<String>,
}

/// What storing a message did.
#[derive(Debug, Clone)]
pub struct AppendOutcome {
    pub message: Message,
    /// The conversation after the message (its `last_seq` and `change_seq` moved).
    pub conversation: Conversation,
    /// The message opened this conversation.
    pub opened: bool,
    /// The client id was seen before: nothing new was stored, `message` is the earlier one.
    pub duplicate: bool,
    /// The message assigned the conversation to its author (an agent answering from the queue).
    pub assigned: bool,
}

impl Store {
    pub async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        conversation::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .map(convert::conversation)
            .transpose()
    }

    /// The visitor's open conversation, if any (a visitor has at most one).
    pub async fn open_conversation_of_visitor(
        &self,
        visitor_id: VisitorId,
    ) -> StoreResult<Option<Conversation>> {
        open_of_visitor(self.db(), visitor_id)
            .await?
            .map(convert::conversation)
            .transpose()
    }

    /// Conversations matching `filter`, in change-feed order (oldest change first).
    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<Conversation>> {
        let mut query = conversation::Entity::find();
        if let Some(status) = filter.status {
            query = query.filter(conversation::Column::Status.eq(status.as_str()));
        }
        if let Some(assignee) = filter.assignee {
            query = query.filter(conversation::Column::AssigneeId.eq(assignee.0));
        }
        if let Some(customer) = filter.customer {
            query = query.filter(conversation::Column::CustomerId.eq(customer.0));
        }
        if let Some(after) = filter.after_change {
            query = query.filter(conversation::Column::ChangeSeq.gt(after));
        }
        if let Some(since) = filter.updated_since {
            query = query.filter(conversation::Column::UpdatedAt.gte(since));
        }
        query
            .order_by_asc(conversation::Column::ChangeSeq)
            .limit(filter.limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(convert::conversation)
            .collect()
    }

    /// Messages of a conversation with `seq` greater than `after_seq`, in order.
    pub async fn messages_after(
        &self,
        conversation_id: ConversationId,
        after_seq: i64,
        limit: u64,
    ) -> StoreResult<Vec<Message>> {
        message::Entity::find()
            .filter(message::Column::ConversationId.eq(conversation_id.0))
            .filter(message::Column::Seq.gt(after_seq))
            .order_by_asc(message::Column::Seq)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(convert::message)
            .collect()
    }

    /// Stores a visitor's message in their open conversation, opening one (and a customer) if needed.
    /// Committed with the other messages queued at the same time ([`Store::append_batched`]).
    pub async fn append_visitor_message(
        &self,
        site_id: SiteId,
        visitor_id: VisitorId,
        new: NewMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<AppendOutcome> {
        let to = AppendTo::Visitor {
            site: site_id,
            visitor: visitor_id,
        };
        self.append_batched(Append { to, new, now })
            .await?
            .ok_or_else(|| StoreError::Corrupt("a visitor's append found no conversation".into()))
    }

    /// One append written on its own (the rare cases of a batch, and its fallback).
    pub(crate) async fn write_append(
        &self,
        tx: &DatabaseTransaction,
        append: &Append,
    ) -> StoreResult<Option<AppendOutcome>> {
        let new = append.new.clone();
        match append.to {
            AppendTo::Visitor { site, visitor } => self
                .write_visitor_message(tx, site, visitor, new, append.now)
                .await
                .map(Some),
            AppendTo::Conversation { id, answering } => {
                self.write_message(tx, id, new, answering, append.now).await
            }
        }
    }

    async fn write_visitor_message(
        &self,
        tx: &DatabaseTransaction,
        site_id: SiteId,
        visitor_id: VisitorId,
        new: NewMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<AppendOutcome> {
        // Every conversation of the visitor, newest first: where a resent client id may be, and
        // the open one (one read for both).
        let conversations =
            bulk::conversations_where(tx, conversation::Column::VisitorId, &[visitor_id.0]).await?;
        if let Some(client_id) = &new.client_id
            && let Some(earlier) =
                visitor_message_by_client_id(tx, &conversations, client_id).await?
        {
            return duplicate(tx, earlier).await;
        }
        let open = conversations
            .into_iter()
            .find(|row| row.status == ConversationStatus::Open.as_str());
        let (conversation_id, opened) = match open {
            Some(open) => (ConversationId(open.id), false),
            None => {
                let customer_id = customer_for_visitor(tx, visitor_id, now).await?;
                let id = ConversationId::new();
                conversation::ActiveModel {
                    id: Set(id.0),
                    site_id: Set(site_id.0),
                    visitor_id: Set(visitor_id.0),
                    customer_id: Set(customer_id.0),
                    status: Set(ConversationStatus::Open.as_str().into()),
                    assignee_id: Set(None),
                    last_seq: Set(0),
                    change_seq: Set(next_change(tx).await?),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(tx)
                .await?;
                (id, true)
            }
        };
        let (message, conversation) = insert_message(tx, conversation_id, new, now).await?;
        let started = opened.then(|| DomainEvent::ConversationStarted {
            conversation: conversation.clone(),
            message: message.clone(),
        });
        let created = DomainEvent::MessageCreated {
            conversation: conversation.clone(),
            message: message.clone(),
        };
        // Both events in one write (one block of positions, one insert, one read of the
        // endpoints): an opening is the slowest append, and each statement is a round trip.
        let events: Vec<_> = started
            .iter()
            .chain([&created])
            .map(|event| (event, now))
            .collect();
        self.append_events(tx, &events).await?;
        Ok(AppendOutcome {
            message,
            conversation,
            opened,
            duplicate: false,
            assigned: false,
        })
    }

    /// Stores a message in an existing open conversation (an agent's reply, a system note).
    /// `None` if there is no such conversation. Committed with the other messages queued at the
    /// same time ([`Store::append_batched`]).
    ///
    /// With `answering`, the agent who wrote it takes the conversation if nobody has it: answering
    /// from the queue assigns it (`conversation.assigned`, then `message.created`, in this
    /// transaction). A conversation someone already has keeps its assignee.
    pub async fn append_message(
        &self,
        conversation_id: ConversationId,
        new: NewMessage,
        answering: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AppendOutcome>> {
        let to = AppendTo::Conversation {
            id: conversation_id,
            answering,
        };
        self.append_batched(Append { to, new, now }).await
    }

    async fn write_message(
        &self,
        tx: &DatabaseTransaction,
        conversation_id: ConversationId,
        new: NewMessage,
        answering: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AppendOutcome>> {
        let Some(current) = conversation::Entity::find_by_id(conversation_id.0)
            .one(tx)
            .await?
        else {
            return Ok(None);
        };
        if let Some(client_id) = &new.client_id
            && let Some(earlier) = message::Entity::find()
                .filter(message::Column::ConversationId.eq(conversation_id.0))
                .filter(message::Column::ClientId.eq(client_id.as_str()))
                .one(tx)
                .await?
        {
            return duplicate(tx, earlier).await.map(Some);
        }
        if current.status != ConversationStatus::Open.as_str() {
            return Err(StoreError::Closed);
        }
        let assigned = match answering {
            Some(agent) => claim(tx, conversation_id, agent, now).await?.is_some(),
            None => false,
        };
        let (message, conversation) = insert_message(tx, conversation_id, new, now).await?;
        let created = DomainEvent::MessageCreated {
            conversation: conversation.clone(),
            message: message.clone(),
        };
        self.append_event(tx, &created, now).await?;
        Ok(Some(AppendOutcome {
            message,
            conversation,
            opened: false,
            duplicate: false,
            assigned,
        }))
    }

    /// Assigns an open conversation to `agent` only if nobody has it (an agent arriving through a
    /// chat link takes it from the queue). The conversation after, if this assigned it.
    pub async fn claim_conversation(
        &self,
        id: ConversationId,
        agent: AgentId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Conversation>> {
        let w = self.write().await?;
        let claimed = claim(&w.tx, id, agent, now).await?;
        w.commit().await?;
        if claimed.is_some() {
            self.events_committed();
        }
        Ok(claimed)
    }

    /// Sets the assignee (`None` puts it back in the queue). `None` if there is no such conversation.
    /// A real change writes `conversation.assigned`.
    pub async fn assign_conversation(
        &self,
        id: ConversationId,
        assignee: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Conversation>> {
        let w = self.write().await?;
        let Some((before, after)) = update_conversation(&w.tx, id, now, |row| {
            row.assignee_id = Set(assignee.map(|a| a.0));
        })
        .await?
        else {
            return Ok(None);
        };
        if before.assignee_id != after.assignee_id.map(|a| a.0) {
            let agent = match assignee {
                Some(a) => agent::Entity::find_by_id(a.0)
                    .one(&w.tx)
                    .await?
                    .map(convert::agent)
                    .transpose()?,
                None => None,
            };
            let event = DomainEvent::ConversationAssigned {
                conversation: after.clone(),
                assignee: agent,
            };
            self.append_event(&w.tx, &event, now).await?;
        }
        w.commit().await?;
        self.events_committed();
        Ok(Some(after))
    }

    /// Closes a conversation; closing an open one writes `conversation.closed`.
    pub async fn close_conversation(
        &self,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Conversation>> {
        let w = self.write().await?;
        let Some((before, after)) = update_conversation(&w.tx, id, now, |row| {
            row.status = Set(ConversationStatus::Closed.as_str().into());
        })
        .await?
        else {
            return Ok(None);
        };
        if before.status != after.status.as_str() {
            let event = DomainEvent::ConversationClosed {
                conversation: after.clone(),
            };
            self.append_event(&w.tx, &event, now).await?;
        }
        w.commit().await?;
        self.events_committed();
        Ok(Some(after))
    }
}

/// The conditional update behind a claim: it matches only an open, unassigned row, so of two
/// agents answering at once exactly one takes the conversation (the row lock decides).
async fn claim(
    db: &impl ConnectionTrait,
    id: ConversationId,
    agent: AgentId,
    now: DateTime<Utc>,
) -> StoreResult<Option<Conversation>> {
    let taken = conversation::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .is_none_or(|row| {
            row.assignee_id.is_some() || row.status != ConversationStatus::Open.as_str()
        });
    if taken {
        return Ok(None);
    }
    let Some(agent_row) = agent::Entity::find_by_id(agent.0).one(db).await? else {
        return Ok(None);
    };
    let agent = convert::agent(agent_row)?;
    if !agent.enabled {
        return Ok(None);
    }
    let change_seq = next_change(db).await?;
    let update = conversation::Entity::update_many()
        .col_expr(conversation::Column::AssigneeId, agent.id.0.into())
        .col_expr(conversation::Column::ChangeSeq, change_seq.into())
        .col_expr(conversation::Column::UpdatedAt, now.into())
        .filter(conversation::Column::Id.eq(id.0))
        .filter(conversation::Column::Status.eq(ConversationStatus::Open.as_str()))
        .filter(conversation::Column::AssigneeId.is_null())
        .into_query();
    let Some(after) = updated_rows(db, update).await?.pop() else {
        return Ok(None);
    };
    let after = convert::conversation(after)?;
    let event = DomainEvent::ConversationAssigned {
        conversation: after.clone(),
        assignee: Some(agent),
    };
    // The agent took it themselves (answering, or opening its link): integrations hear of it,
    // but the agent gets no mail telling them a conversation waits for them.
    outbox::append(db, &event, now).await?;
    Ok(Some(after))
}

/// Applies `change` and moves the conversation in the change feed; the row before and the
/// conversation after. `None` if there is no such conversation.
async fn update_conversation(
    db: &impl ConnectionTrait,
    id: ConversationId,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut conversation::ActiveModel),
) -> StoreResult<Option<(conversation::Model, Conversation)>> {
    let Some(row) = conversation::Entity::find_by_id(id.0).one(db).await? else {
        return Ok(None);
    };
    let mut active: conversation::ActiveModel = row.clone().into();
    change(&mut active);
    active.change_seq = Set(next_change(db).await?);
    active.updated_at = Set(now);
    let updated = active.update(db).await?;
    Ok(Some((row, convert::conversation(updated)?)))
}

async fn open_of_visitor(
    db: &impl ConnectionTrait,
    visitor_id: VisitorId,
) -> StoreResult<Option<conversation::Model>> {
    Ok(conversation::Entity::find()
        .filter(conversation::Column::VisitorId.eq(visitor_id.0))
        .filter(conversation::Column::Status.eq(ConversationStatus::Open.as_str()))
        .order_by_desc(conversation::Column::CreatedAt)
        .one(db)
        .await?)
}

/// The visitor's message sent with `client_id`, looked up in `conversations` (the visitor's) by
/// conversation id rather than through a join on the visitor: the lookup then follows the
/// (conversation, client id) index whatever the planner knows of the table (PostgreSQL planned the
/// join as a scan of every message).
async fn visitor_message_by_client_id(
    db: &impl ConnectionTrait,
    conversations: &[conversation::Model],
    client_id: &str,
) -> StoreResult<Option<message::Model>> {
    if conversations.is_empty() {
        return Ok(None);
    }
    Ok(message::Entity::find()
        .filter(message::Column::ConversationId.is_in(conversations.iter().map(|c| c.id)))
        .filter(message::Column::ClientId.eq(client_id))
        .filter(message::Column::AuthorKind.eq(AuthorKind::Visitor.as_str()))
        .one(db)
        .await?)
}

async fn duplicate(
    db: &impl ConnectionTrait,
    earlier: message::Model,
) -> StoreResult<AppendOutcome> {
    let conversation = conversation::Entity::find_by_id(earlier.conversation_id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::Corrupt("message without conversation".into()))?;
    Ok(AppendOutcome {
        message: convert::message(earlier)?,
        conversation: convert::conversation(conversation)?,
        opened: false,
        duplicate: true,
        assigned: false,
    })
}

/// Appends the message with the next `seq` and moves the conversation in the change feed.
async fn insert_message(
    db: &impl ConnectionTrait,
    conversation_id: ConversationId,
    new: NewMessage,
    now: DateTime<Utc>,
) -> StoreResult<(Message, Conversation)> {
    let change_seq = next_change(db).await?;
    // Incrementing in SQL takes the row lock first, so concurrent writers get distinct seqs.
    let update = conversation::Entity::update_many()
        .col_expr(
            conversation::Column::LastSeq,
            Expr::col(conversation::Column::LastSeq).add(1),
        )
        .col_expr(conversation::Column::ChangeSeq, change_seq.into())
        .col_expr(conversation::Column::UpdatedAt, now.into())
        .filter(conversation::Column::Id.eq(conversation_id.0))
        .into_query();
    let conversation = updated_rows(db, update)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt(format!("conversation {conversation_id} vanished")))?;
    let row = message::ActiveModel {
        id: Set(MessageId::new().0),
        conversation_id: Set(conversation_id.0),
        seq: Set(conversation.last_seq),
        author_kind: Set(new.author_kind.as_str().into()),
        author_id: Set(new.author_id),
        author_name: Set(new.author_name),
        body: Set(new.body),
        client_id: Set(new.client_id),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((convert::message(row)?, convert::conversation(conversation)?))
}

/// Runs `update` on conversations and answers the rows as updated, in one round trip
/// (`RETURNING`, which SQLite has since 3.35).
async fn updated_rows(
    db: &impl ConnectionTrait,
    mut update: UpdateStatement,
) -> StoreResult<Vec<conversation::Model>> {
    update.returning_all();
    let statement = db.get_database_backend().build(&update);
    Ok(conversation::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?)
}

/// The next position in the change feed.
async fn next_change(db: &impl ConnectionTrait) -> StoreResult<i64> {
    counters::take(db, Counter::Changes, 1).await
}
