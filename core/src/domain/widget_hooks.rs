//! Runs the widget plugin's `on-visitor-event` hook after chat changes and carries out what it asks for.
//!
//! Hooks run off the request path, one task per event: a slow or failing plugin delays and breaks
//! nothing in the chat (the host counts the failure and disables a plugin that keeps failing). Actions are
//! taken through a [`Chat`] that has no observer, so a hook's own system message does not call it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::DomainError;
use crate::domain::chat::{Chat, ChatEvent, ChatObserver};
use crate::domain::ids::{ConversationId, SiteId, VisitorId};
use crate::domain::model::{Conversation, ConversationStatus, PageInfo};
use crate::domain::plugin_api::{
    HookEvent, HookEventKind, HookEventType, HookVisitor, WidgetAction,
};
use crate::domain::widget::Widgets;

pub struct WidgetHooks {
    widgets: Widgets,
    chat: Chat,
    site_keys: SiteKeys,
}

/// Site keys by id. A key never changes once made, so a hook after every message need not read it.
type SiteKeys = Arc<Mutex<HashMap<SiteId, String>>>;

impl WidgetHooks {
    /// `chat` must not be observed by these hooks (see the module doc).
    pub fn new(widgets: Widgets, chat: Chat) -> Self {
        Self {
            widgets,
            chat,
            site_keys: SiteKeys::default(),
        }
    }
}

impl ChatObserver for WidgetHooks {
    fn chat_event(&self, event: ChatEvent) {
        // Decided before anything is read or spawned: most events are messages, and a plugin that
        // does not take them costs them nothing.
        if !self.widgets.hook_wants(event_type(&event)) {
            return;
        }
        let widgets = self.widgets.clone();
        let chat = self.chat.clone();
        let site_keys = self.site_keys.clone();
        tokio::spawn(async move {
            if let Err(e) = run(&widgets, &chat, &site_keys, event).await {
                tracing::warn!(error = %e, "widget hook failed");
            }
        });
    }
}

fn event_type(event: &ChatEvent) -> HookEventType {
    match event {
        ChatEvent::VisitorConnected { .. } => HookEventType::Connected,
        ChatEvent::ConversationStarted(_) => HookEventType::ConversationStarted,
        ChatEvent::MessageCreated(..) => HookEventType::MessageCreated,
        ChatEvent::ConversationClosed(_) => HookEventType::ConversationClosed,
    }
}

#[derive(Debug, thiserror::Error)]
enum HookError {
    #[error(transparent)]
    Widget(#[from] crate::domain::widget::WidgetError),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

async fn run(
    widgets: &Widgets,
    chat: &Chat,
    site_keys: &SiteKeys,
    event: ChatEvent,
) -> Result<(), HookError> {
    let (event, conversation) = match event {
        ChatEvent::VisitorConnected {
            site,
            visitor,
            page,
        } => {
            let open = chat
                .store()
                .open_conversation_of_visitor(visitor)
                .await
                .map_err(DomainError::from)?;
            let visitor = hook_visitor(chat, site.key, visitor, Some(page), open.as_ref());
            (
                HookEvent {
                    visitor,
                    kind: HookEventKind::Connected,
                },
                open.map(|c| c.id),
            )
        }
        ChatEvent::ConversationStarted(c) => (
            about(
                chat,
                site_keys,
                &c,
                HookEventKind::ConversationStarted(c.id.to_string()),
            )
            .await?,
            Some(c.id),
        ),
        ChatEvent::MessageCreated(c, message) => (
            about(chat, site_keys, &c, HookEventKind::MessageCreated(message)).await?,
            Some(c.id),
        ),
        ChatEvent::ConversationClosed(c) => (
            about(
                chat,
                site_keys,
                &c,
                HookEventKind::ConversationClosed(c.id.to_string()),
            )
            .await?,
            None,
        ),
    };
    for action in widgets.on_visitor_event(event).await? {
        act(chat, conversation, action).await?;
    }
    Ok(())
}

async fn about(
    chat: &Chat,
    site_keys: &SiteKeys,
    conversation: &Conversation,
    kind: HookEventKind,
) -> Result<HookEvent, DomainError> {
    let site_key = site_key(chat, site_keys, conversation.site_id).await?;
    let visitor = hook_visitor(
        chat,
        site_key,
        conversation.visitor_id,
        None,
        Some(conversation).filter(|c| c.status == ConversationStatus::Open),
    );
    Ok(HookEvent { visitor, kind })
}

async fn site_key(chat: &Chat, known: &SiteKeys, site: SiteId) -> Result<String, DomainError> {
    if let Some(key) = known.lock().ok().and_then(|k| k.get(&site).cloned()) {
        return Ok(key);
    }
    let key = chat
        .store()
        .site(site)
        .await?
        .ok_or(DomainError::NotFound("site"))?
        .key;
    if let Ok(mut known) = known.lock() {
        known.insert(site, key.clone());
    }
    Ok(key)
}

fn hook_visitor(
    chat: &Chat,
    site_key: String,
    visitor: VisitorId,
    page: Option<PageInfo>,
    open: Option<&Conversation>,
) -> HookVisitor {
    let counts = chat.presence_counts();
    HookVisitor {
        site_key,
        visitor_id: visitor.to_string(),
        page,
        conversation_id: open.map(|c| c.id.to_string()),
        agents_online: counts.online,
        agents_available: counts.available,
    }
}

async fn act(
    chat: &Chat,
    conversation: Option<ConversationId>,
    action: WidgetAction,
) -> Result<(), DomainError> {
    match action {
        WidgetAction::SystemMessage(text) => {
            let Some(conversation) = conversation else {
                tracing::debug!("widget asked for a system message with no open conversation");
                return Ok(());
            };
            chat.system_message(conversation, &text).await?;
        }
    }
    Ok(())
}
