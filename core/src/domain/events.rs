//! Realtime events: what the bus fans out to connected sockets.

use serde::Serialize;

use crate::domain::ids::{ConversationId, VisitorId};
use crate::domain::model::{AuthorKind, Conversation, Message};

/// Who a live event is for. Agents see every conversation; a visitor sees only their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Agents,
    Visitor(VisitorId),
    /// Every visitor socket: agent presence counts and visibility input changes.
    AllVisitors,
}

/// Someone who typed or read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Author {
    pub kind: AuthorKind,
    pub id: Option<uuid::Uuid>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeEvent {
    Message(Message),
    Conversation(Conversation),
    Typing {
        conversation_id: ConversationId,
        author: Author,
        active: bool,
    },
    Read {
        conversation_id: ConversationId,
        reader: AuthorKind,
        seq: i64,
    },
    Presence {
        online: u32,
        available: u32,
    },
    /// A rule or override changed: every widget re-decides its visibility.
    VisibilityInputsChanged,
    /// Co-browsing: requests, session states, recorded events, guidance and control.
    Cobrowse(crate::domain::cobrowse::CobrowseEvent),
    /// A visitor with an open conversation arrived, moved to another page (`Some`) or left (`None`).
    VisitorContext {
        visitor_id: VisitorId,
        context: Option<crate::domain::live_visitors::VisitorContext>,
    },
}
