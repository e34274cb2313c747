//! Mail in the outbox: the mails each event causes (read the facts the planner wants, write its
//! plan, in the event's transaction), mails queued on their own (transcripts), offline-form contacts, and the
//! mail worker's claims and attempt records.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{LockBehavior, LockType, Query},
};
use uuid::Uuid;

use crate::domain::ids::{AgentId, ConversationId, SiteId, VisitorId};
use crate::domain::mail::{
    AttemptOutcome, Contact, FactsWanted, MailAttemptEntry, MailDelivery, MailFacts, MailKind,
    MailPlanner, MailState, NewMail,
};
use crate::domain::webhook_events::DomainEvent;
use crate::store::entities::{
    agent, agent_link, conversation, mail_attempt, mail_contact, mail_delivery,
};
use crate::store::{Store, StoreError, StoreResult, convert};

/// A mail the worker claimed: everything one attempt needs.
#[derive(Debug, Clone)]
pub struct ClaimedMail {
    pub id: Uuid,
    pub message_id: String,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Attempts made before this one.
    pub attempts: u32,
    pub first_attempt_at: Option<DateTime<Utc>>,
}

/// What happens to a mail after an attempt.
#[derive(Debug, Clone)]
pub enum MailNext {
    Sent,
    Retry { at: DateTime<Utc> },
    Failed,
}

/// One attempt and its consequence.
#[derive(Debug, Clone)]
pub struct MailAttempt {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    /// How long the SMTP session took.
    pub duration_ms: u64,
    pub code: Option<u16>,
    pub error: Option<String>,
    pub next: MailNext,
}

impl Store {
    /// Sets who decides which mails events cause. Only the first call counts.
    pub fn set_mail_planner(&self, planner: Arc<dyn MailPlanner>) {
        let _ = self.mail_planner.set(planner);
    }

    /// Notified whenever mail may have become due.
    pub fn mail_signal(&self) -> Arc<tokio::sync::Notify> {
        self.mail_signal.clone()
    }

    /// Queues one mail on its own (a transcript, a test mail).
    pub async fn queue_mail(&self, mail: NewMail, now: DateTime<Utc>) -> StoreResult<Uuid> {
        let w = self.write().await?;
        let id = insert_mail(&w.tx, mail, now).await?;
        w.commit().await?;
        self.mail_signal.notify_one();
        Ok(id)
    }

    /// Records what a visitor gave in the offline form. The same visitor and client id twice is the
    /// same form sent again: the first record stays.
    pub async fn insert_mail_contact(
        &self,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let w = self.write().await?;
        let exists = mail_contact::Entity::find()
            .filter(mail_contact::Column::VisitorId.eq(contact.visitor_id.0))
            .filter(mail_contact::Column::ClientId.eq(contact.client_id.as_str()))
            .one(&w.tx)
            .await?
            .is_some();
        if !exists {
            contact_row(contact, None, now).insert(&w.tx).await?;
        }
        w.commit().await
    }

    /// Offline-form contacts since `since`: of one visitor, and of the whole site.
    pub async fn count_mail_contacts(
        &self,
        site: SiteId,
        visitor: VisitorId,
        since: DateTime<Utc>,
    ) -> StoreResult<(u64, u64)> {
        let recent =
            || mail_contact::Entity::find().filter(mail_contact::Column::CreatedAt.gte(since));
        let of_visitor = recent()
            .filter(mail_contact::Column::VisitorId.eq(visitor.0))
            .count(self.db())
            .await?;
        let of_site = recent()
            .filter(mail_contact::Column::SiteId.eq(site.0))
            .count(self.db())
            .await?;
        Ok((of_visitor, of_site))
    }

    /// Mails of one kind since `since`, of one conversation or of all (transcript rate limits).
    pub async fn count_mails_since(
        &self,
        kind: MailKind,
        conversation: Option<ConversationId>,
        since: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut query = mail_delivery::Entity::find()
            .filter(mail_delivery::Column::Kind.eq(kind.as_str()))
            .filter(mail_delivery::Column::CreatedAt.gte(since));
        if let Some(conversation) = conversation {
            query = query.filter(mail_delivery::Column::ConversationId.eq(conversation.0));
        }
        Ok(query.count(self.db()).await?)
    }

    /// Transcripts since `since` of one visitor's conversations, and of one site's (the widget's
    /// transcript limits).
    pub async fn count_transcripts_since(
        &self,
        site: SiteId,
        visitor: VisitorId,
        since: DateTime<Utc>,
    ) -> StoreResult<(u64, u64)> {
        let of = |column: conversation::Column, id: Uuid| {
            mail_delivery::Entity::find()
                .filter(mail_delivery::Column::Kind.eq(MailKind::Transcript.as_str()))
                .filter(mail_delivery::Column::CreatedAt.gte(since))
                .filter(
                    mail_delivery::Column::ConversationId.in_subquery(
                        Query::select()
                            .column(conversation::Column::Id)
                            .from(conversation::Entity)
                            .and_where(column.eq(id))
                            .to_owned(),
                    ),
                )
        };
        let of_visitor = of(conversation::Column::VisitorId, visitor.0)
            .count(self.db())
            .await?;
        let of_site = of(conversation::Column::SiteId, site.0)
            .count(self.db())
            .await?;
        Ok((of_visitor, of_site))
    }

    /// Records the address a visitor gives for a conversation's transcript, unless the
    /// conversation has one already; answers the one in force. Checked and written in one
    /// transaction, so the first address given stays.
    pub async fn give_conversation_contact(
        &self,
        contact: &Contact,
        conversation: ConversationId,
        now: DateTime<Utc>,
    ) -> StoreResult<Contact> {
        let w = self.write().await?;
        let existing = mail_contact::Entity::find()
            .filter(mail_contact::Column::ConversationId.eq(conversation.0))
            .order_by_desc(mail_contact::Column::CreatedAt)
            .one(&w.tx)
            .await?;
        if let Some(row) = existing {
            return Ok(self::contact(row));
        }
        contact_row(contact, Some(conversation), now)
            .insert(&w.tx)
            .await?;
        w.commit().await?;
        Ok(contact.clone())
    }

    /// The newest address a visitor gave in a conversation.
    pub async fn contact_of_conversation(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Option<Contact>> {
        Ok(mail_contact::Entity::find()
            .filter(mail_contact::Column::ConversationId.eq(conversation.0))
            .order_by_desc(mail_contact::Column::CreatedAt)
            .one(self.db())
            .await?
            .map(contact))
    }

    /// Mails, newest first, with their delivery state.
    pub async fn list_mails(
        &self,
        state: Option<MailState>,
        limit: u64,
    ) -> StoreResult<Vec<MailDelivery>> {
        let mut query = mail_delivery::Entity::find();
        if let Some(state) = state {
            query = query.filter(mail_delivery::Column::State.eq(state.as_str()));
        }
        query
            .order_by_desc(mail_delivery::Column::CreatedAt)
            .order_by_desc(mail_delivery::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?
            .into_iter()
            .map(delivery)
            .collect()
    }

    /// Claims up to `limit` due mails, oldest first. A claim is a lease: the mail is due again at
    /// `lease_until`, so an attempt cut short by a crash is made again.
    pub async fn claim_due_mails(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<ClaimedMail>> {
        use mail_delivery::{Column, Entity};
        let open = [MailState::Pending.as_str(), MailState::Retrying.as_str()];
        let due = Entity::find()
            .filter(Column::State.is_in(open))
            .filter(Column::NextAttemptAt.lte(now))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(limit);
        if due.clone().one(self.db()).await?.is_none() {
            return Ok(Vec::new());
        }
        let w = self.write().await?;
        // As webhook claims: another node's claim in progress is skipped, never taken twice.
        let rows = due
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&w.tx)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        Entity::update_many()
            .col_expr(Column::NextAttemptAt, lease_until.into())
            .filter(Column::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&w.tx)
            .await?;
        w.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| ClaimedMail {
                id: r.id,
                message_id: r.message_id,
                to: r.recipient,
                reply_to: r.reply_to,
                subject: r.subject,
                text: r.text_body,
                html: r.html_body,
                attempts: u32::try_from(r.attempts).unwrap_or(0),
                first_attempt_at: r.first_attempt_at,
            })
            .collect())
    }

    /// The attempts of one mail, oldest first; `None` when there is no such mail.
    pub async fn mail_attempts(&self, mail: Uuid) -> StoreResult<Option<Vec<MailAttemptEntry>>> {
        if mail_delivery::Entity::find_by_id(mail)
            .one(self.db())
            .await?
            .is_none()
        {
            return Ok(None);
        }
        mail_attempt::Entity::find()
            .filter(mail_attempt::Column::MailId.eq(mail))
            .order_by_asc(mail_attempt::Column::Number)
            .all(self.db())
            .await?
            .into_iter()
            .map(attempt_entry)
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }

    /// Records an attempt in the mail log and moves its mail on, in one transaction: the log and
    /// the mail's counters never disagree.
    pub async fn record_mail_attempt(&self, attempt: MailAttempt) -> StoreResult<()> {
        let w = self.write().await?;
        let Some(row) = mail_delivery::Entity::find_by_id(attempt.id)
            .one(&w.tx)
            .await?
        else {
            return Ok(());
        };
        let first = row.first_attempt_at.unwrap_or(attempt.started_at);
        let number = row.attempts + 1;
        let mut active: mail_delivery::ActiveModel = row.into();
        active.attempts = Set(number);
        active.first_attempt_at = Set(Some(first));
        active.last_attempt_at = Set(Some(attempt.started_at));
        active.last_code = Set(attempt.code.map(i32::from));
        active.last_error = Set(attempt.error.clone());
        let (state, outcome) = match attempt.next {
            MailNext::Sent => {
                active.delivered_at = Set(Some(attempt.started_at));
                (MailState::Sent, AttemptOutcome::Sent)
            }
            MailNext::Retry { at } => {
                active.next_attempt_at = Set(at);
                (MailState::Retrying, AttemptOutcome::Retry)
            }
            MailNext::Failed => (MailState::Failed, AttemptOutcome::Failed),
        };
        active.state = Set(state.as_str().into());
        active.update(&w.tx).await?;
        mail_attempt::ActiveModel {
            id: Set(Uuid::now_v7()),
            mail_id: Set(attempt.id),
            number: Set(number),
            started_at: Set(attempt.started_at),
            duration_ms: Set(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX)),
            code: Set(attempt.code.map(i32::from)),
            error: Set(attempt.error),
            outcome: Set(outcome.as_str().into()),
        }
        .insert(&w.tx)
        .await?;
        w.commit().await
    }
}

/// Writes the mails `event` causes, inside the event's transaction: reads the facts the planner
/// wants, asks it, and writes its plan (mails, the one-time links they carry, the offline contact
/// tied to its conversation). Answers whether it queued any mail.
pub(crate) async fn write_planned_mails(
    db: &impl ConnectionTrait,
    planner: &dyn MailPlanner,
    event: &DomainEvent,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let wanted = planner.wants(event);
    if wanted == FactsWanted::default() {
        return Ok(false);
    }
    let contact_row = match &wanted.offline_contact {
        Some((visitor, client_id)) => {
            mail_contact::Entity::find()
                .filter(mail_contact::Column::VisitorId.eq(visitor.0))
                .filter(mail_contact::Column::ClientId.eq(client_id.as_str()))
                .filter(mail_contact::Column::ConversationId.is_null())
                .one(db)
                .await?
        }
        None => None,
    };
    let conversation = event.conversation_id();
    let (agent, agent_notified_at) = match wanted.agent {
        Some(id) => {
            let agent = agent::Entity::find_by_id(id.0)
                .one(db)
                .await?
                .map(convert::agent)
                .transpose()?;
            let notified = mail_delivery::Entity::find()
                .filter(mail_delivery::Column::Kind.eq(MailKind::AgentNotification.as_str()))
                .filter(mail_delivery::Column::ConversationId.eq(conversation.map(|c| c.0)))
                .filter(mail_delivery::Column::AgentId.eq(id.0))
                .order_by_desc(mail_delivery::Column::CreatedAt)
                .one(db)
                .await?;
            (agent, notified.map(|m| m.created_at))
        }
        None => (None, None),
    };
    let facts = MailFacts {
        offline_contact: contact_row.clone().map(contact),
        agent,
        agent_notified_at,
    };
    let plan = planner.plan(event, facts, now);
    if plan.tie_offline_contact
        && let (Some(row), Some(conversation)) = (contact_row, conversation)
    {
        let mut active: mail_contact::ActiveModel = row.into();
        active.conversation_id = Set(Some(conversation.0));
        active.update(db).await?;
    }
    for link in plan.agent_links {
        agent_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            agent_id: Set(link.agent_id.0),
            conversation_id: Set(link.conversation_id.0),
            hash: Set(link.hash),
            created_at: Set(now),
            expires_at: Set(link.expires_at),
            used_at: Set(None),
        }
        .insert(db)
        .await?;
    }
    let queued = !plan.mails.is_empty();
    for mail in plan.mails {
        insert_mail(db, mail, now).await?;
    }
    Ok(queued)
}

async fn insert_mail(
    db: &impl ConnectionTrait,
    mail: NewMail,
    now: DateTime<Utc>,
) -> StoreResult<Uuid> {
    let id = Uuid::now_v7();
    mail_delivery::ActiveModel {
        id: Set(id),
        kind: Set(mail.kind.as_str().into()),
        conversation_id: Set(mail.conversation_id.map(|c| c.0)),
        agent_id: Set(mail.agent_id.map(|a| a.0)),
        recipient: Set(mail.to),
        reply_to: Set(mail.reply_to),
        subject: Set(mail.subject),
        text_body: Set(mail.text),
        html_body: Set(mail.html),
        // The left part of the `Message-ID`; the worker adds the sender's domain. Fixed here, so
        // every attempt, before or after a crash, sends the same one.
        message_id: Set(id.to_string()),
        state: Set(MailState::Pending.as_str().into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        first_attempt_at: Set(None),
        last_attempt_at: Set(None),
        last_code: Set(None),
        last_error: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

fn contact(row: mail_contact::Model) -> Contact {
    Contact {
        site_id: SiteId(row.site_id),
        visitor_id: VisitorId(row.visitor_id),
        client_id: row.client_id,
        name: row.name,
        email: row.email,
        page_url: row.page_url,
        language: row.language,
    }
}

fn attempt_entry(row: mail_attempt::Model) -> StoreResult<MailAttemptEntry> {
    Ok(MailAttemptEntry {
        number: u32::try_from(row.number).unwrap_or(0),
        started_at: row.started_at,
        duration_ms: u64::try_from(row.duration_ms).unwrap_or(0),
        code: row.code.and_then(|c| u16::try_from(c).ok()),
        error: row.error,
        outcome: AttemptOutcome::parse(&row.outcome).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown mail attempt outcome {}", row.outcome))
        })?,
    })
}

fn delivery(row: mail_delivery::Model) -> StoreResult<MailDelivery> {
    Ok(MailDelivery {
        id: row.id,
        kind: MailKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown mail kind {}", row.kind)))?,
        conversation_id: row.conversation_id.map(ConversationId),
        agent_id: row.agent_id.map(AgentId),
        to: row.recipient,
        subject: row.subject,
        message_id: row.message_id,
        state: MailState::parse(&row.state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown mail state {}", row.state)))?,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        last_attempt_at: row.last_attempt_at,
        last_code: row.last_code.and_then(|c| u16::try_from(c).ok()),
        last_error: row.last_error,
        sent_at: row.delivered_at,
        created_at: row.created_at,
    })
}

/// A new contact row; `conversation` is set once the message it came with opened one.
fn contact_row(
    contact: &Contact,
    conversation: Option<ConversationId>,
    now: DateTime<Utc>,
) -> mail_contact::ActiveModel {
    mail_contact::ActiveModel {
        id: Set(Uuid::now_v7()),
        site_id: Set(contact.site_id.0),
        visitor_id: Set(contact.visitor_id.0),
        client_id: Set(contact.client_id.clone()),
        name: Set(contact.name.clone()),
        email: Set(contact.email.clone()),
        page_url: Set(contact.page_url.clone()),
        language: Set(contact.language.clone()),
        conversation_id: Set(conversation.map(|c| c.0)),
        created_at: Set(now),
    }
}
