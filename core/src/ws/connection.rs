//! What both gateways share: reading frames within limits, sending frames through a bounded
//! queue (a client that stops reading is closed once the queue is full), exactly-once message
//! delivery per connection, and a per-socket rate limit.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, close_code};
use futures_util::{Sink, Stream};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast::error::RecvError;

use crate::bus::SharedEvent;

use crate::domain::chat::Chat;
use crate::domain::ids::ConversationId;
use crate::domain::model::Message;
use crate::wire::MessageDto;
use crate::ws::protocol::{PROTOCOL_VERSION, ServerFrame};

/// How many missed messages one page of a resume or gap fill holds; a visitor's resume sends
/// page after page, an agent further behind asks again with `sync`.
pub const BACKLOG_LIMIT: u64 = 500;

/// How many bytes of frames a connection holds for a client beyond what the network has taken.
/// A client that lets more pile up is not reading: it is closed ([`SLOW_READER_CODE`]) and
/// resumes from its last `seq` when it reconnects.
pub const SEND_QUEUE_BYTES: usize = 1024 * 1024;

/// The close code for a client that stopped reading (1013, "try again later").
pub const SLOW_READER_CODE: u16 = close_code::AGAIN;

/// The close reason for a client that stopped reading; the widget shows it.
pub const SLOW_READER_REASON: &str = "not reading fast enough; reconnect and resume";

/// How long a backlog waits for a client to make room in its queue before it counts as not reading.
pub const SLOW_READER_WAIT: Duration = Duration::from_secs(30);

/// How long a closing connection waits for the client to take its last frames and the close frame.
pub const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The socket of one client.
pub struct Connection {
    socket: WebSocket,
    max_frame_bytes: usize,
    /// Who this is, for the log line when the connection is closed for not reading.
    peer: String,
    /// Frames the network has not taken yet, oldest first. Written whenever the connection is
    /// sent to or waits for the client, so it only grows while the client does not read.
    queue: VecDeque<WsMessage>,
    queued_bytes: usize,
    /// Frames were handed to the socket since its last flush.
    unflushed: bool,
    /// Writing failed or the connection was closed: nothing more is sent.
    done: bool,
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

/// What a bus subscription gave.
pub enum Live {
    Event(SharedEvent),
    /// The subscriber fell behind the bus and events were dropped: everything that matters is in
    /// storage, so the session fills from there instead of closing.
    Missed,
    /// The bus is gone (shutting down).
    Ended,
}

impl Live {
    pub fn from_bus(event: Result<SharedEvent, RecvError>) -> Self {
        match event {
            Ok(event) => Self::Event(event),
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "a socket fell behind the bus; filling from storage");
                Self::Missed
            }
            Err(RecvError::Closed) => Self::Ended,
        }
    }
}

impl Connection {
    pub fn new(socket: WebSocket, max_frame_bytes: usize) -> Self {
        Self {
            socket,
            max_frame_bytes,
            peer: String::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            unflushed: false,
            done: false,
        }
    }

    /// Names the client in log lines (e.g. `visitor 5f0c…`), once it said who it is.
    pub fn set_peer(&mut self, peer: String) {
        self.peer = peer;
    }

    /// Changes the largest frame accepted from now on (a visitor socket in a co-browse session takes
    /// page snapshots).
    pub fn set_max_frame_bytes(&mut self, max: usize) {
        self.max_frame_bytes = max;
    }

    /// The next frame from the client. Queued frames are written meanwhile, so this future is what
    /// moves them out; it is cancel safe (nothing is lost when another event wins a `select!`).
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Incoming<T> {
        let next = std::future::poll_fn(|cx| {
            if !self.done && self.poll_drain(cx) == Poll::Ready(Err(())) {
                // A write failed: the read below reports the end.
                self.done = true;
            }
            Pin::new(&mut self.socket).poll_next(cx)
        })
        .await;
        let Some(Ok(message)) = next else {
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

    /// Sends a frame: writes what the network takes now and queues the rest. `false` when the
    /// client is gone, or is not reading and was closed for it.
    pub async fn send(&mut self, frame: &ServerFrame) -> bool {
        if self.done {
            return false;
        }
        let Ok(text) = serde_json::to_string(frame) else {
            return false;
        };
        self.queued_bytes += text.len();
        self.queue.push_back(WsMessage::Text(text.into()));
        let written = std::future::poll_fn(|cx| Poll::Ready(self.poll_drain(cx))).await;
        if let Poll::Ready(Err(())) = written {
            self.done = true;
            return false;
        }
        if self.queued_bytes > SEND_QUEUE_BYTES {
            self.refuse_slow_reader();
            return false;
        }
        true
    }

    /// Sends one frame of a backlog (a resume, a gap fill, a `sync`): first waits while more than
    /// half of [`SEND_QUEUE_BYTES`] is queued, so a long backlog goes out as fast as the client
    /// takes it. A client that takes nothing for [`SLOW_READER_WAIT`] meanwhile is closed as
    /// not reading.
    pub async fn send_paced(&mut self, frame: &ServerFrame) -> bool {
        if !self.done && self.queued_bytes > SEND_QUEUE_BYTES / 2 {
            let room = std::future::poll_fn(|cx| match self.poll_drain(cx) {
                Poll::Pending if self.queued_bytes > SEND_QUEUE_BYTES / 2 => Poll::Pending,
                Poll::Pending => Poll::Ready(Ok(())),
                Poll::Ready(result) => Poll::Ready(result),
            });
            match tokio::time::timeout(SLOW_READER_WAIT, room).await {
                Ok(Ok(())) => {}
                Ok(Err(())) => {
                    self.done = true;
                    return false;
                }
                Err(_) => {
                    self.refuse_slow_reader();
                    return false;
                }
            }
        }
        self.send(frame).await
    }

    /// Gives up on a client that does not read: logs it, drops what is queued (stored messages
    /// or state the client gets again when it reconnects) and queues the close frame, which
    /// goes out in `finish` once the session has let go of the visitor or agent.
    fn refuse_slow_reader(&mut self) {
        tracing::warn!(
            peer = %self.peer,
            queued_bytes = self.queued_bytes,
            queued_frames = self.queue.len(),
            limit_bytes = SEND_QUEUE_BYTES,
            "client is not reading its socket; closing it (it resumes from its last seq)"
        );
        self.queue.clear();
        self.queued_bytes = 0;
        self.start_close(SLOW_READER_CODE, SLOW_READER_REASON);
    }

    /// Writes queued frames as far as the socket takes them, then flushes. `Ready(Ok)` when all
    /// is written, `Pending` while the network is full, `Ready(Err)` when writing failed.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        loop {
            if !self.queue.is_empty() {
                match Pin::new(&mut self.socket).poll_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                    Poll::Ready(Ok(())) => {}
                }
                let Some(message) = self.queue.pop_front() else {
                    continue;
                };
                if let WsMessage::Text(text) = &message {
                    self.queued_bytes = self.queued_bytes.saturating_sub(text.len());
                }
                if Pin::new(&mut self.socket).start_send(message).is_err() {
                    return Poll::Ready(Err(()));
                }
                self.unflushed = true;
            } else if self.unflushed {
                match Pin::new(&mut self.socket).poll_flush(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                    Poll::Ready(Ok(())) => self.unflushed = false,
                }
            } else {
                return Poll::Ready(Ok(()));
            }
        }
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

    /// Sends what is queued and a close frame, waiting at most [`CLOSE_WAIT`] for the client to
    /// take them. Nothing is sent after it.
    pub async fn close(&mut self, code: u16, reason: &'static str) {
        self.start_close(code, reason);
        self.finish().await;
    }

    /// Queues a close frame; nothing is sent after it.
    fn start_close(&mut self, code: u16, reason: &'static str) {
        if self.done {
            return;
        }
        self.done = true;
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        self.queue.push_back(WsMessage::Close(Some(frame)));
    }

    /// Writes what is still queued (a close frame after a slow reader was refused), waiting at
    /// most [`CLOSE_WAIT`]; the last thing a gateway does with its connection.
    pub async fn finish(&mut self) {
        if self.queue.is_empty() && !self.unflushed {
            return;
        }
        let drained = std::future::poll_fn(|cx| self.poll_drain(cx));
        let _ = tokio::time::timeout(CLOSE_WAIT, drained).await;
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
