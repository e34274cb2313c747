//! The frames of the realtime protocol, version 1 (`core/docs/protocol.md`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::cobrowse::{CobrowseEvent, ControlAction, SessionView};
use crate::domain::events::{Author, RealtimeEvent};
use crate::domain::ids::CobrowseSessionId;
use crate::domain::model::{AgentStatus, PageInfo};
use crate::wire::{AgentDto, ConversationDto, MessageDto, VisitorContextDto};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A customer identity from the page: the site's own customer id and
/// `hex(HMAC-SHA256(site identity secret, id))`, computed on the site's server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerIdentity {
    pub id: String,
    pub hash: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorFrame {
    Hello {
        v: u32,
        #[serde(default)]
        visitor_id: Option<Uuid>,
        #[serde(default)]
        page: PageInfo,
        #[serde(default)]
        last_seq: Option<i64>,
        /// The browser's preferred language (`navigator.language`).
        #[serde(default)]
        language: String,
        /// Who the visitor is in the site's own system, vouched for by the site's backend.
        #[serde(default)]
        customer: Option<CustomerIdentity>,
    },
    Message {
        client_id: String,
        body: String,
    },
    /// The visitor moved to another page without reloading (single-page sites).
    Page {
        page: PageInfo,
    },
    Typing {
        active: bool,
    },
    Read {
        seq: i64,
    },
    Ping,
    /// The visitor's answer to a co-browse request.
    CobrowseConsent {
        session_id: CobrowseSessionId,
        granted: bool,
    },
    /// Recorded rrweb events, oldest first.
    CobrowseEvents {
        session_id: CobrowseSessionId,
        events: Vec<serde_json::Value>,
    },
    /// The visitor grants or revokes remote control.
    CobrowseControlGrant {
        session_id: CobrowseSessionId,
        granted: bool,
    },
    CobrowseEnd {
        session_id: CobrowseSessionId,
    },
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ResumeEntry {
    pub conversation_id: Uuid,
    pub last_seq: i64,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentFrame {
    Hello {
        v: u32,
        #[serde(default)]
        resume: Vec<ResumeEntry>,
    },
    Message {
        conversation_id: Uuid,
        client_id: String,
        body: String,
    },
    Typing {
        conversation_id: Uuid,
        active: bool,
    },
    Read {
        conversation_id: Uuid,
        seq: i64,
    },
    Sync {
        conversation_id: Uuid,
        after_seq: i64,
    },
    Status {
        status: AgentStatus,
    },
    Assign {
        conversation_id: Uuid,
        agent_id: Option<Uuid>,
    },
    Close {
        conversation_id: Uuid,
    },
    Ping,
    /// Asks the visitor to share their page; while a session is active, asks for a fresh snapshot.
    CobrowseRequest {
        conversation_id: Uuid,
    },
    /// Asks the visitor's recorder for a full snapshot (the viewer was opened late or reloaded).
    CobrowseSnapshot {
        conversation_id: Uuid,
    },
    /// Pointer, highlight, or (granted) scroll, click, input: `"control": {"action": "click", "id": 12}`.
    CobrowseControl {
        conversation_id: Uuid,
        control: ControlAction,
    },
    CobrowseEnd {
        conversation_id: Uuid,
    },
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PresenceDto {
    pub online: u32,
    pub available: u32,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    #[serde(rename = "welcome")]
    VisitorWelcome {
        v: u32,
        visitor_id: Uuid,
        conversation: Option<ConversationDto>,
        presence: PresenceDto,
        /// The server sends mail: the offline form (`POST /api/v1/widget/offline-messages`) and
        /// transcripts (`POST /api/v1/widget/transcripts`) work. Without it the widget offers neither.
        mail: bool,
    },
    #[serde(rename = "welcome")]
    AgentWelcome {
        v: u32,
        agent: AgentDto,
        conversations: Vec<ConversationDto>,
    },
    Message(MessageDto),
    Ack {
        client_id: String,
        conversation_id: Uuid,
        id: Uuid,
        seq: i64,
        duplicate: bool,
    },
    Typing {
        conversation_id: Uuid,
        author: Author,
        active: bool,
    },
    Read {
        conversation_id: Uuid,
        reader: crate::domain::model::AuthorKind,
        seq: i64,
    },
    Presence(PresenceDto),
    /// Whether the widget shows, whether it offers the offline form instead of chat (a rule says the
    /// team is away), and what decided it.
    Visibility {
        visible: bool,
        away: bool,
        decided_by: natter_rules::DecidedBy,
    },
    Conversation {
        conversation: ConversationDto,
    },
    /// To visitors: the widget's configuration changed (now at `version`); the widget replaces itself
    /// with the newly rendered `widget.js`.
    WidgetConfig {
        version: i64,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    Pong,
    /// To the visitor: an agent asks to see the page; show `consent_text`.
    CobrowseRequest {
        conversation_id: Uuid,
        session_id: Uuid,
        consent_text: String,
        /// Whether the visitor may be offered to grant remote control.
        allow_control: bool,
    },
    /// To both sides: where a session stands (`requested`, `active`, `declined`, `ended`).
    CobrowseState(SessionView),
    /// To agents: filtered recorder events for the viewer.
    CobrowseEvents {
        conversation_id: Uuid,
        session_id: Uuid,
        events: std::sync::Arc<Vec<serde_json::Value>>,
    },
    /// To the visitor: take a full snapshot.
    CobrowseSnapshot {
        conversation_id: Uuid,
        session_id: Uuid,
    },
    /// To the visitor: the agent's pointer, highlight or granted control.
    CobrowseControl {
        conversation_id: Uuid,
        session_id: Uuid,
        #[serde(flatten)]
        action: ControlAction,
    },
    /// To agents: where a visitor with an open conversation is now (page, browser, language), or
    /// that they left (`online: false`, the rest null).
    Visitor(VisitorContextDto),
}

impl ServerFrame {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
            client_id: None,
        }
    }

    /// The frame for a live event, if it has one (messages are handled by the delivery tracker;
    /// visibility input changes make each visitor re-decide instead).
    pub fn from_event(event: &RealtimeEvent) -> Option<Self> {
        Some(match event {
            RealtimeEvent::VisibilityInputsChanged
            | RealtimeEvent::Resync
            | RealtimeEvent::PresenceChanged
            | RealtimeEvent::CacheChanged(_)
            | RealtimeEvent::CobrowseCall(_)
            | RealtimeEvent::PluginEnabled(_) => return None,
            RealtimeEvent::WidgetChanged { version } => {
                ServerFrame::WidgetConfig { version: *version }
            }
            RealtimeEvent::Message(m) => ServerFrame::Message(MessageDto::from(m)),
            RealtimeEvent::Conversation(c) => ServerFrame::Conversation {
                conversation: ConversationDto::from(c),
            },
            RealtimeEvent::Typing {
                conversation_id,
                author,
                active,
            } => ServerFrame::Typing {
                conversation_id: conversation_id.0,
                author: author.clone(),
                active: *active,
            },
            RealtimeEvent::Read {
                conversation_id,
                reader,
                seq,
            } => ServerFrame::Read {
                conversation_id: conversation_id.0,
                reader: *reader,
                seq: *seq,
            },
            RealtimeEvent::Presence { online, available } => ServerFrame::Presence(PresenceDto {
                online: *online,
                available: *available,
            }),
            RealtimeEvent::Cobrowse(event) => Self::from_cobrowse(event),
            RealtimeEvent::VisitorContext {
                visitor_id,
                context,
            } => ServerFrame::Visitor(VisitorContextDto::new(*visitor_id, context.as_ref())),
        })
    }

    fn from_cobrowse(event: &CobrowseEvent) -> Self {
        match event {
            CobrowseEvent::Request {
                conversation_id,
                session_id,
                consent_text,
                allow_control,
            } => ServerFrame::CobrowseRequest {
                conversation_id: conversation_id.0,
                session_id: session_id.0,
                consent_text: consent_text.clone(),
                allow_control: *allow_control,
            },
            CobrowseEvent::State(view) => ServerFrame::CobrowseState(view.clone()),
            CobrowseEvent::Events {
                conversation_id,
                session_id,
                events,
            } => ServerFrame::CobrowseEvents {
                conversation_id: conversation_id.0,
                session_id: session_id.0,
                events: events.clone(),
            },
            CobrowseEvent::Snapshot {
                conversation_id,
                session_id,
            } => ServerFrame::CobrowseSnapshot {
                conversation_id: conversation_id.0,
                session_id: session_id.0,
            },
            CobrowseEvent::Control {
                conversation_id,
                session_id,
                action,
            } => ServerFrame::CobrowseControl {
                conversation_id: conversation_id.0,
                session_id: session_id.0,
                action: action.clone(),
            },
        }
    }
}
