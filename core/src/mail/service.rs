//! What the HTTP layer asks of mail: take an offline message from the widget, send a transcript,
//! list deliveries. Every mail goes through the outbox; nothing here talks SMTP.

use std::sync::Arc;

use chrono::Duration;
use uuid::Uuid;

use crate::config::MailConfig;
use crate::domain::DomainError;
use crate::domain::chat::Chat;
use crate::domain::clock::Clock;
use crate::domain::ids::{ConversationId, VisitorId};
use crate::domain::mail::{Contact, MailDelivery, MailKind, MailState};
use crate::domain::model::Site;
use crate::mail::render::Renderer;
use crate::mail::transport::parse_address;
use crate::store::Store;

const MAX_NAME: usize = 100;
const MAX_PAGE_URL: usize = 2000;
/// Transcripts of one conversation the visitor may ask for per hour.
const TRANSCRIPTS_PER_CONVERSATION_PER_HOUR: u64 = 3;

/// The offline form as the widget sends it.
#[derive(Debug, Clone)]
pub struct OfflineForm {
    pub visitor_id: VisitorId,
    pub name: String,
    pub email: String,
    pub message: String,
    pub page_url: String,
    pub language: String,
    /// The widget's own id for the message, which makes a resent form idempotent.
    pub client_id: Option<String>,
}

/// The mail service; every call answers `MailDisabled` when `[mail]` is not configured.
#[derive(Clone)]
pub struct Mail {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    store: Store,
    chat: Chat,
    clock: Arc<dyn Clock>,
    renderer: Renderer,
    config: MailConfig,
    max_message_chars: usize,
}

impl Mail {
    pub fn new(
        config: &MailConfig,
        store: Store,
        chat: Chat,
        clock: Arc<dyn Clock>,
        renderer: Renderer,
        max_message_chars: usize,
    ) -> Self {
        let inner = config.enabled().then(|| {
            Arc::new(Inner {
                store,
                chat,
                clock,
                renderer,
                config: config.clone(),
                max_message_chars,
            })
        });
        Self { inner }
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    fn inner(&self) -> Result<&Inner, DomainError> {
        self.inner.as_deref().ok_or(DomainError::MailDisabled)
    }

    /// Stores the visitor's message as a conversation (events fire as usual) and, in the same
    /// transaction, the mail to the inbox with `Reply-To` set to the visitor.
    pub async fn offline_message(
        &self,
        site_key: &str,
        form: OfflineForm,
    ) -> Result<ConversationId, DomainError> {
        let inner = self.inner()?;
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(DomainError::invalid(
                "name",
                format!("must be 1 to {MAX_NAME} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "name",
                "must not contain line breaks or control characters",
            ));
        }
        let email = form.email.trim();
        parse_address(email).map_err(|e| DomainError::invalid("email", e))?;
        let body = form.message.trim();
        if body.is_empty() || body.chars().count() > inner.max_message_chars {
            return Err(DomainError::invalid(
                "message",
                format!("must be 1 to {} characters", inner.max_message_chars),
            ));
        }
        let page_url = form.page_url.trim();
        if page_url.len() > MAX_PAGE_URL
            || (!page_url.is_empty()
                && !url::Url::parse(page_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
        {
            return Err(DomainError::invalid(
                "page_url",
                "must be the http(s) address of the page",
            ));
        }
        let language = form.language.trim();
        if language.len() > 16
            || !language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(DomainError::invalid(
                "language",
                "must be a language tag such as en or de-AT",
            ));
        }
        let site = self.site(site_key).await?;
        let visitor = inner.chat.visitor_arrived(&site, form.visitor_id).await?;
        let now = inner.clock.now();
        let (of_visitor, of_site) = inner
            .store
            .count_mail_contacts(site.id, visitor.id, now - Duration::hours(1))
            .await?;
        if of_visitor >= u64::from(inner.config.offline_per_visitor_per_hour)
            || of_site >= u64::from(inner.config.offline_per_site_per_hour)
        {
            return Err(DomainError::RateLimited);
        }
        let client_id = form
            .client_id
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| format!("offline-{}", Uuid::new_v4()));
        let contact = Contact {
            site_id: site.id,
            visitor_id: visitor.id,
            client_id: client_id.clone(),
            name: name.to_string(),
            email: email.to_string(),
            page_url: page_url.to_string(),
            language: if language.is_empty() {
                "en".into()
            } else {
                language.to_string()
            },
        };
        inner.store.insert_mail_contact(&contact, now).await?;
        let outcome = inner
            .chat
            .visitor_message(&site, visitor.id, Some(client_id), body)
            .await?;
        Ok(outcome.conversation.id)
    }

    /// Queues the transcript of a conversation to the address the visitor gave in it.
    pub async fn send_transcript(&self, conversation: ConversationId) -> Result<Uuid, DomainError> {
        let inner = self.inner()?;
        let conversation = inner.chat.conversation(conversation).await?;
        let contact = inner
            .store
            .contact_of_conversation(conversation.id)
            .await?
            .ok_or_else(|| {
                DomainError::Conflict(
                    "the visitor gave no email address in this conversation".into(),
                )
            })?;
        let messages = inner
            .chat
            .messages_after(conversation.id, 0, 10_000)
            .await?;
        let site = inner
            .store
            .site(conversation.site_id)
            .await?
            .ok_or(DomainError::NotFound("site"))?;
        let mail = inner
            .renderer
            .transcript(&contact, &conversation, &messages, &site.timezone);
        Ok(inner.store.queue_mail(mail, inner.clock.now()).await?)
    }

    /// A visitor asks for the transcript of their own conversation; it goes only to the address
    /// they gave in it. Another visitor's conversation is not found, whatever its id.
    pub async fn visitor_transcript(
        &self,
        site_key: &str,
        visitor: VisitorId,
        conversation: ConversationId,
    ) -> Result<Uuid, DomainError> {
        let inner = self.inner()?;
        let site = self.site(site_key).await?;
        let found = inner.chat.conversation(conversation).await?;
        if found.visitor_id != visitor || found.site_id != site.id {
            return Err(DomainError::NotFound("conversation"));
        }
        let since = inner.clock.now() - Duration::hours(1);
        let of_conversation = inner
            .store
            .count_mails_since(MailKind::Transcript, Some(conversation), since)
            .await?;
        let of_all = inner
            .store
            .count_mails_since(MailKind::Transcript, None, since)
            .await?;
        if of_conversation >= TRANSCRIPTS_PER_CONVERSATION_PER_HOUR
            || of_all >= u64::from(inner.config.offline_per_site_per_hour)
        {
            return Err(DomainError::RateLimited);
        }
        self.send_transcript(conversation).await
    }

    /// Mails, newest first.
    pub async fn deliveries(
        &self,
        state: Option<MailState>,
        limit: u64,
    ) -> Result<Vec<MailDelivery>, DomainError> {
        let inner = self.inner()?;
        Ok(inner.store.list_mails(state, limit).await?)
    }

    async fn site(&self, key: &str) -> Result<Site, DomainError> {
        let inner = self.inner()?;
        inner
            .store
            .site_by_key(key)
            .await?
            .ok_or(DomainError::NotFound("site"))
    }
}
