//! What the HTTP layer asks of mail: take an offline message from the widget, send a transcript or a
//! test mail, list deliveries. Every mail goes through the outbox; nothing here talks SMTP.

use std::sync::Arc;

use chrono::Duration;
use uuid::Uuid;

use crate::config::MailConfig;
use crate::domain::DomainError;
use crate::domain::chat::Chat;
use crate::domain::clock::Clock;
use crate::domain::ids::{ConversationId, VisitorId};
use crate::domain::mail::{Contact, MailAttemptEntry, MailDelivery, MailKind, MailState};
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

/// A visitor's transcript request from the widget.
#[derive(Debug, Clone)]
pub struct TranscriptRequest {
    pub visitor_id: VisitorId,
    pub conversation_id: ConversationId,
    /// The address to send it to, when the conversation has none yet.
    pub email: Option<String>,
    /// The language of the mail's texts; the conversation's contact language otherwise.
    pub language: Option<String>,
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
        let language = language_tag(&form.language)?;
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
            language,
        };
        inner.store.insert_mail_contact(&contact, now).await?;
        let outcome = inner
            .chat
            .visitor_message(&site, visitor.id, Some(client_id), body)
            .await?;
        Ok(outcome.conversation.id)
    }

    /// Queues the transcript of a conversation to the address the visitor gave in it, in their
    /// language.
    pub async fn send_transcript(&self, conversation: ConversationId) -> Result<Uuid, DomainError> {
        let inner = self.inner()?;
        let conversation = inner.chat.conversation(conversation).await?;
        let contact = inner
            .store
            .contact_of_conversation(conversation.id)
            .await?
            .ok_or_else(no_address)?;
        self.queue_transcript(&contact, &contact.language, conversation.id)
            .await
    }

    /// A visitor asks for the transcript of their own conversation. It goes only to the address
    /// given in that conversation: without one yet, `email` becomes it (the visitor gives it in
    /// the conversation); once there is one, naming another is refused, so the widget cannot mail
    /// arbitrary addresses. Another visitor's conversation is not found, whatever its id.
    pub async fn visitor_transcript(
        &self,
        site_key: &str,
        request: TranscriptRequest,
    ) -> Result<Uuid, DomainError> {
        let inner = self.inner()?;
        let site = self.site(site_key).await?;
        let found = inner.chat.conversation(request.conversation_id).await?;
        if found.visitor_id != request.visitor_id || found.site_id != site.id {
            return Err(DomainError::NotFound("conversation"));
        }
        let language = request.language.as_deref().map(language_tag).transpose()?;
        let email = match request.email.as_deref().map(str::trim) {
            Some(email) if !email.is_empty() => {
                parse_address(email).map_err(|e| DomainError::invalid("email", e))?;
                Some(email.to_string())
            }
            _ => None,
        };
        let given = inner.store.contact_of_conversation(found.id).await?;
        match (&given, &email) {
            (Some(given), Some(email)) if !same_address(&given.email, email) => {
                return Err(not_that_address());
            }
            (None, None) => return Err(no_address()),
            _ => {}
        }

        let now = inner.clock.now();
        let since = now - Duration::hours(1);
        let of_conversation = inner
            .store
            .count_mails_since(MailKind::Transcript, Some(found.id), since)
            .await?;
        let (of_visitor, of_site) = inner
            .store
            .count_transcripts_since(site.id, found.visitor_id, since)
            .await?;
        if of_conversation >= TRANSCRIPTS_PER_CONVERSATION_PER_HOUR
            || of_visitor >= u64::from(inner.config.offline_per_visitor_per_hour)
            || of_site >= u64::from(inner.config.offline_per_site_per_hour)
        {
            return Err(DomainError::RateLimited);
        }

        let contact = match (given, email) {
            (Some(given), _) => given,
            (None, Some(email)) => {
                let contact = Contact {
                    site_id: site.id,
                    visitor_id: found.visitor_id,
                    client_id: format!("transcript-{}", Uuid::new_v4()),
                    name: String::new(),
                    email: email.clone(),
                    page_url: String::new(),
                    language: language.clone().unwrap_or_else(|| "en".into()),
                };
                // Two requests at once may both find no address; the first recorded stays, and
                // the other is held to it.
                let kept = inner
                    .store
                    .give_conversation_contact(&contact, found.id, now)
                    .await?;
                if !same_address(&kept.email, &email) {
                    return Err(not_that_address());
                }
                kept
            }
            (None, None) => return Err(no_address()),
        };
        let language = language.unwrap_or_else(|| contact.language.clone());
        self.queue_transcript(&contact, &language, found.id).await
    }

    async fn queue_transcript(
        &self,
        contact: &Contact,
        language: &str,
        conversation: ConversationId,
    ) -> Result<Uuid, DomainError> {
        let inner = self.inner()?;
        let conversation = inner.chat.conversation(conversation).await?;
        let messages = inner
            .chat
            .messages_after(conversation.id, 0, 10_000)
            .await?;
        let site = inner
            .store
            .site(conversation.site_id)
            .await?
            .ok_or(DomainError::NotFound("site"))?;
        let mail =
            inner
                .renderer
                .transcript(contact, language, &conversation, &messages, &site.timezone);
        Ok(inner.store.queue_mail(mail, inner.clock.now()).await?)
    }

    /// Queues the console's test mail to `to` through the outbox, so it is sent, retried and
    /// logged as every other mail is.
    pub async fn send_test(&self, to: &str) -> Result<Uuid, DomainError> {
        let inner = self.inner()?;
        let to = to.trim();
        parse_address(to).map_err(|e| DomainError::invalid("to", e))?;
        let mail = inner.renderer.test_mail(to);
        Ok(inner.store.queue_mail(mail, inner.clock.now()).await?)
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

    /// The attempts of one mail, oldest first.
    pub async fn attempts(&self, mail: Uuid) -> Result<Vec<MailAttemptEntry>, DomainError> {
        let inner = self.inner()?;
        inner
            .store
            .mail_attempts(mail)
            .await?
            .ok_or(DomainError::NotFound("mail"))
    }

    async fn site(&self, key: &str) -> Result<Arc<Site>, DomainError> {
        let inner = self.inner()?;
        inner
            .store
            .site_by_key(key)
            .await?
            .ok_or(DomainError::NotFound("site"))
    }
}

/// A language tag such as `en` or `de-AT`; empty means English.
fn language_tag(raw: &str) -> Result<String, DomainError> {
    let language = raw.trim();
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
    Ok(if language.is_empty() {
        "en".into()
    } else {
        language.to_string()
    })
}

/// Addresses compare without regard to case: `Ada@Example.org` is the address given as
/// `ada@example.org` (domains are case-insensitive, and mailboxes nearly always are).
fn same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn no_address() -> DomainError {
    DomainError::Conflict("the visitor gave no email address in this conversation".into())
}

fn not_that_address() -> DomainError {
    DomainError::invalid(
        "email",
        "a transcript goes only to the address given in this conversation",
    )
}
