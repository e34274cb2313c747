//! What both gateways share: reading frames within limits, sending frames, exactly-once message
//! delivery per connection, and a per-socket rate limit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, close_code};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast::error::RecvError;

use crate::bus::SharedEvent;

use crate::domain::chat::Chat;
use crate::domain::ids::ConversationId;
use crate::domain::model::Message;
use crate::wire::MessageDto;
use crate::ws::protocol::{PROTOCOL_VERSION, ServerFrame};

/// How many missed messages one resume or gap fill sends at most; a client further behind
/// asks again with `sync`.
pub const BACKLOG_LIMIT: u64 = 500;

/// The socket of one client.
pub struct Connection {
    socket: WebSocket,
    max_frame_bytes: usize,
}

/// What reading from the socket gave.
pub enum Incoming<T> {
    Frame(T),
    /// Not JSON, or not a frame this gateway knows: answered with an error, the socket stays open.
    Bad(String),
    /// Pings, pongs and the like: nothing to do.
    Nothing,
    Closed,
}

impl Connection {
    pub fn new(socket: WebSocket, max_frame_bytes: usize) -> Self {
        Self {
            socket,
            max_frame_bytes,
        }
    }

    /// Changes the largest frame accepted from now on (a visitor socket in a co-browse session takes
    /// page snapshots).
    pub fn set_max_frame_bytes(&mut self, max: usize) {
        self.max_frame_bytes = max;
    }

    pub async fn recv<T: DeserializeOwned>(&mut self) -> Incoming<T> {
        let Some(Ok(message)) = self.socket.recv().await else {
            return Incoming::Closed;
        };
        let text = match message {
            WsMessage::Text(text) => text,
            WsMessage::Binary(_) => return Incoming::Bad("frames are JSON text".into()),
            WsMessage::Close(_) => return Incoming::Closed,
            WsMessage::Ping(_) | WsMessage::Pong(_) => return Incoming::Nothing,
        };
        if text.len() > self.max_frame_bytes {
            self.close(close_code::SIZE, "frame too large").await;
            return Incoming::Closed;
        }
        match serde_json::from_str(text.as_str()) {
            Ok(frame) => Incoming::Frame(frame),
            Err(e) => Incoming::Bad(e.to_string()),
        }
    }

    /// Sends a frame. `false` when the client is gone.
    pub async fn send(&mut self, frame: &ServerFrame) -> bool {
        let Ok(text) = serde_json::to_string(frame) else {
            return false;
        };
        self.socket.send(WsMessage::Text(text.into())).await.is_ok()
    }

    /// Answers a `hello` of another protocol version, naming both versions, and closes.
    pub async fn refuse_version(&mut self, asked: u32) {
        let message = format!(
            "this server speaks protocol version {PROTOCOL_VERSION}, the client asked for {asked}"
        );
        self.send(&ServerFrame::error("unsupported_version", message))
            .await;
        self.close(close_code::POLICY, "unsupported version").await;
    }

    /// Closes a connection whose first frame was not `hello`.
    pub async fn refuse_without_hello(&mut self) {
        self.send(&ServerFrame::error(
            "bad_frame",
            "the first frame must be hello",
        ))
        .await;
        self.close(close_code::POLICY, "hello expected").await;
    }

    /// A live event from the bus, or `None` when the connection must end: a subscriber that fell
    /// behind is closed (1013), and the client resumes by `seq` from storage.
    pub async fn live(&mut self, event: Result<SharedEvent, RecvError>) -> Option<SharedEvent> {
        match event {
            Ok(event) => Some(event),
            Err(RecvError::Lagged(_)) => {
                self.close(close_code::AGAIN, "fell behind; reconnect and resume")
                    .await;
                None
            }
            Err(RecvError::Closed) => None,
        }
    }

    pub async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.socket.send(WsMessage::Close(Some(frame))).await;
    }
}

/// Per connection: the highest `seq` sent for each conversation, so every message reaches the
/// client once and in order, whether it came from the backlog, a gap fill or the bus.
#[derive(Default)]
pub struct Delivery {
    sent: HashMap<ConversationId, i64>,
}

impl Delivery {
    /// Records that the client already has everything up to `seq` (from its resume point).
    pub fn seen(&mut self, conversation: ConversationId, seq: i64) {
        let entry = self.sent.entry(conversation).or_insert(seq);
        *entry = (*entry).max(seq);
    }

    pub fn follows(&self, conversation: ConversationId) -> bool {
        self.sent.contains_key(&conversation)
    }

    /// The messages to send for a live `message`: none if already sent, the missing ones from
    /// storage first if the bus delivered out of order.
    pub async fn live(&mut self, chat: &Chat, message: &Message) -> Vec<Message> {
        let conversation = message.conversation_id;
        match self.sent.get(&conversation).copied() {
            Some(last) if message.seq <= last => Vec::new(),
            Some(last) if message.seq > last + 1 => {
                match chat.messages_after(conversation, last, BACKLOG_LIMIT).await {
                    Ok(missing) => self.take(missing),
                    Err(e) => {
                        tracing::warn!(error = %e, "gap fill failed; sending the live message");
                        self.take(vec![message.clone()])
                    }
                }
            }
            _ => self.take(vec![message.clone()]),
        }
    }

    /// The messages after `after_seq`, from storage (resume and `sync`).
    pub async fn backlog(
        &mut self,
        chat: &Chat,
        conversation: ConversationId,
        after_seq: i64,
    ) -> Result<Vec<Message>, crate::domain::DomainError> {
        let missing = chat
            .messages_after(conversation, after_seq.max(0), BACKLOG_LIMIT)
            .await?;
        // A sync may ask for messages this connection already got: send them again on request,
        // but never go backwards in what counts as sent.
        let sent = self.sent.get(&conversation).copied().unwrap_or(0);
        let newest = missing.last().map_or(after_seq, |m| m.seq);
        self.sent
            .insert(conversation, sent.max(newest).max(after_seq));
        Ok(missing)
    }

    /// The conversations this connection has been sent messages of.
    pub fn followed(&self) -> Vec<ConversationId> {
        self.sent.keys().copied().collect()
    }

    /// What storage has after the last message sent of `conversation`: after live events from other
    /// nodes may have been lost ([`RealtimeEvent::Resync`](crate::domain::events::RealtimeEvent)).
    pub async fn fill(
        &mut self,
        chat: &Chat,
        conversation: ConversationId,
    ) -> Result<Vec<Message>, crate::domain::DomainError> {
        let last = self.sent.get(&conversation).copied().unwrap_or(0);
        let missing = chat
            .messages_after(conversation, last, BACKLOG_LIMIT)
            .await?;
        Ok(self.take(missing))
    }

    fn take(&mut self, messages: Vec<Message>) -> Vec<Message> {
        let mut out = Vec::with_capacity(messages.len());
        for message in messages {
            let last = self.sent.entry(message.conversation_id).or_insert(0);
            if message.seq > *last {
                *last = message.seq;
                out.push(message);
            }
        }
        out
    }
}

pub fn message_frame(message: &Message) -> ServerFrame {
    ServerFrame::Message(MessageDto::from(message))
}

/// A fixed window of one minute per socket: enough to stop a flood without a shared store.
pub struct RateLimit {
    per_minute: u32,
    window_start: Instant,
    used: u32,
}

impl RateLimit {
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute,
            window_start: Instant::now(),
            used: 0,
        }
    }

    pub fn allow(&mut self) -> bool {
        if self.window_start.elapsed() >= Duration::from_secs(60) {
            self.window_start = Instant::now();
            self.used = 0;
        }
        self.used += 1;
        self.used <= self.per_minute
    }
}

/// How a client-side problem with a frame is reported.
pub fn domain_error_frame(
    err: crate::domain::DomainError,
    client_id: Option<String>,
) -> ServerFrame {
    use crate::domain::DomainError;
    let (code, message) = match err {
        DomainError::NotFound(what) => ("not_found", format!("{what} not found")),
        DomainError::Invalid { field, message } => {
            ("validation_failed", format!("{field}: {message}"))
        }
        DomainError::Conflict(message) => ("conflict", message),
        DomainError::Script {
            line,
            column,
            message,
        } => (
            "script_invalid",
            format!("line {line}, column {column}: {message}"),
        ),
        DomainError::LinkInvalid => ("unauthorized", "session is invalid or expired".into()),
        DomainError::RateLimited => ("rate_limited", "too many messages, slow down".into()),
        DomainError::SignInFailed => ("unauthorized", "the email or password is not right".into()),
        DomainError::MailDisabled => ("mail_disabled", "mail is not configured".into()),
        DomainError::Internal(detail) => {
            tracing::error!(%detail, "internal error while handling a frame");
            (
                "internal",
                "something went wrong on the server; try again".into(),
            )
        }
        DomainError::Store(e) => {
            tracing::error!(error = %e, "storage failed while handling a frame");
            (
                "internal",
                "the server could not store this; try again".into(),
            )
        }
    };
    ServerFrame::Error {
        code,
        message,
        client_id,
    }
}
