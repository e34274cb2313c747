//! Realtime events: what the bus fans out to connected sockets.

use serde::{Deserialize, Serialize};

use crate::domain::ids::{ConversationId, VisitorId};
use crate::domain::model::{AuthorKind, Conversation, Message};

/// Who a live event is for. Agents see every conversation; a visitor sees only their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Topic {
    Agents,
    Visitor(VisitorId),
    /// Every visitor socket: agent presence counts and visibility input changes.
    AllVisitors,
    /// Between the nodes' own services, never a socket: shared state changed somewhere
    /// ([`RealtimeEvent::PresenceChanged`], [`RealtimeEvent::CacheChanged`]), or a co-browse call
    /// for the node that holds the session ([`RealtimeEvent::CobrowseCall`]).
    Nodes,
}

/// A node's in-memory copy of stored settings, reloaded when any node changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cache {
    Rules,
    Overrides,
    /// The widget configuration ([`crate::domain::widget::Widgets`]).
    Widget,
}

/// Someone who typed or read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub kind: AuthorKind,
    pub id: Option<uuid::Uuid>,
    pub name: Option<String>,
}

/// Serialisable: with several nodes, events cross between them as JSON (`bus::redis`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// On [`Topic::AllVisitors`]: an admin stored a new widget configuration (this `version`); open
    /// widgets load the newly rendered `widget.js`.
    WidgetChanged {
        version: i64,
    },
    /// Co-browsing: requests, session states, recorded events, guidance and control.
    Cobrowse(crate::domain::cobrowse::CobrowseEvent),
    /// A visitor with an open conversation arrived, moved to another page (`Some`) or left (`None`).
    VisitorContext {
        visitor_id: VisitorId,
        context: Option<crate::domain::live_visitors::VisitorContext>,
    },
    /// To every subscriber of this node: live events from other nodes may have been lost (the link
    /// between nodes was down), so each socket fills what it missed from storage.
    Resync,
    /// On [`Topic::Nodes`]: an agent's presence changed on some node; re-read the shared presence.
    PresenceChanged,
    /// On [`Topic::Nodes`]: stored settings changed on some node; reload this copy.
    CacheChanged(Cache),
    /// On [`Topic::Nodes`]: an admin took this plugin back into service on some node.
    PluginEnabled(String),
    /// On [`Topic::Nodes`]: a co-browse call for the node that holds the session.
    CobrowseCall(crate::domain::cobrowse::Call),
}
