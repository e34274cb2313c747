//! The agent console's socket (`GET /ws/agent`, opened by `http::sockets` for a signed-in agent).
//! Agents see every open conversation: the unassigned queue and the assigned ones.

use std::time::Duration;

use axum::extract::ws::{WebSocket, close_code};
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::bus::SharedEvent;
use crate::domain::DomainError;
use crate::domain::cobrowse::CobrowseError;
use crate::domain::events::{Author, RealtimeEvent, Topic};
use crate::domain::ids::{AgentId, ConversationId};
use crate::domain::model::{Agent, AuthorKind, ConversationFilter, ConversationStatus};
use crate::wire::{AgentDto, ConversationDto};
use crate::ws::connection::{
    Connection, Delivery, Incoming, Live, RateLimit, domain_error_frame, message_frame,
};
use crate::ws::protocol::{AgentFrame, PROTOCOL_VERSION, ResumeEntry, ServerFrame};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The console lists at most this many open conversations on connect.
const OPEN_LIMIT: u64 = 500;

struct AgentSession {
    state: AppState,
    agent: Agent,
    delivery: Delivery,
    rate: RateLimit,
}

/// The socket's task. As in the visitor gateway, the welcome, a frame handled and an event forwarded
/// are boxed where they are awaited, so that the task an idle socket keeps is the size of waiting.
pub async fn run(state: AppState, agent: Agent, socket: WebSocket) {
    let _open = state.sockets.agent();
    let mut conn = Connection::new(socket, state.config.server.max_frame_bytes);
    let resume = match tokio::time::timeout(HELLO_TIMEOUT, conn.recv::<AgentFrame>()).await {
        Ok(Incoming::Frame(AgentFrame::Hello { v, resume })) if v == PROTOCOL_VERSION => resume,
        Ok(Incoming::Frame(AgentFrame::Hello { v, .. })) => {
            conn.refuse_version(v).await;
            return;
        }
        Ok(Incoming::Closed) => return,
        _ => {
            conn.refuse_without_hello().await;
            return;
        }
    };
    conn.set_peer(format!("agent {}", agent.id));
    let mut events = state.chat.bus().subscribe(Topic::Agents);
    let agent_id = agent.id;
    if let Err(e) = state.chat.agent_connected(agent_id).await {
        conn.send(&domain_error_frame(e, None)).await;
        return;
    }
    let mut session = AgentSession {
        rate: RateLimit::per_minute(state.config.chat.messages_per_minute),
        state,
        agent,
        delivery: Delivery::default(),
    };
    if Box::pin(session.welcome(&mut conn, &resume)).await {
        let shutdown = session.state.shutdown.clone();
        loop {
            tokio::select! {
                incoming = conn.recv::<AgentFrame>() => match incoming {
                    Incoming::Frame(frame) => {
                        if !Box::pin(session.handle(&mut conn, frame)).await {
                            break;
                        }
                    }
                    Incoming::Bad(why) => {
                        if !conn.send(&ServerFrame::error("bad_frame", why)).await {
                            break;
                        }
                    }
                    Incoming::Nothing => {}
                    Incoming::Closed => break,
                },
                event = events.recv() => {
                    if !Box::pin(session.forward(&mut conn, event)).await {
                        break;
                    }
                }
                () = shutdown.cancelled() => {
                    conn.close(close_code::AWAY, "server shutting down").await;
                    break;
                }
            }
        }
    }
    if let Err(e) = session.state.chat.agent_disconnected(agent_id).await {
        tracing::warn!(agent = %agent_id, error = %e, "could not record agent going offline");
    }
    conn.finish().await;
}

impl AgentSession {
    async fn welcome(&mut self, conn: &mut Connection, resume: &[ResumeEntry]) -> bool {
        let chat = self.state.chat.clone();
        let open = chat
            .conversations(&ConversationFilter {
                status: Some(ConversationStatus::Open),
                limit: OPEN_LIMIT,
                ..ConversationFilter::default()
            })
            .await;
        let open = match open {
            Ok(open) => open,
            Err(e) => {
                conn.send(&domain_error_frame(e, None)).await;
                return false;
            }
        };
        let welcome = ServerFrame::AgentWelcome {
            v: PROTOCOL_VERSION,
            agent: AgentDto::new(&self.agent, chat.agent_status(self.agent.id)),
            conversations: open.iter().map(ConversationDto::from).collect(),
        };
        if !conn.send(&welcome).await {
            return false;
        }
        // Live co-browse sessions, so a console that reconnects can reopen its viewer (and ask for a
        // fresh snapshot).
        for view in self.state.cobrowse.sessions() {
            if !conn.send(&ServerFrame::CobrowseState(view)).await {
                return false;
            }
        }
        for entry in resume {
            if !self
                .sync(conn, ConversationId(entry.conversation_id), entry.last_seq)
                .await
            {
                return false;
            }
        }
        true
    }

    async fn sync(&mut self, conn: &mut Connection, id: ConversationId, after_seq: i64) -> bool {
        let chat = self.state.chat.clone();
        match self.delivery.backlog(&chat, id, after_seq).await {
            Ok(messages) => {
                for message in &messages {
                    if !conn.send_paced(&message_frame(message)).await {
                        return false;
                    }
                }
                true
            }
            Err(e) => conn.send(&domain_error_frame(e, None)).await,
        }
    }

    async fn handle(&mut self, conn: &mut Connection, frame: AgentFrame) -> bool {
        let chat = self.state.chat.clone();
        match frame {
            AgentFrame::Hello { .. } => {
                conn.send(&ServerFrame::error(
                    "bad_frame",
                    "hello was already received",
                ))
                .await
            }
            AgentFrame::Message {
                conversation_id,
                client_id,
                body,
            } => {
                if !self.rate.allow() {
                    let frame = domain_error_frame(DomainError::RateLimited, Some(client_id));
                    return conn.send(&frame).await;
                }
                let id = ConversationId(conversation_id);
                match chat
                    .agent_message(&self.agent, id, Some(client_id.clone()), &body)
                    .await
                {
                    Ok(outcome) => {
                        conn.send(&ServerFrame::Ack {
                            client_id,
                            conversation_id,
                            id: outcome.message.id.0,
                            seq: outcome.message.seq,
                            duplicate: outcome.duplicate,
                        })
                        .await
                    }
                    Err(e) => conn.send(&domain_error_frame(e, Some(client_id))).await,
                }
            }
            AgentFrame::Typing {
                conversation_id,
                active,
            } => match chat.conversation(ConversationId(conversation_id)).await {
                Ok(conversation) => {
                    let author = Author {
                        kind: AuthorKind::Agent,
                        id: Some(self.agent.id.0),
                        name: Some(self.agent.name.clone()),
                    };
                    chat.typing(&conversation, author, active);
                    true
                }
                Err(e) => conn.send(&domain_error_frame(e, None)).await,
            },
            AgentFrame::Read {
                conversation_id,
                seq,
            } => match chat.conversation(ConversationId(conversation_id)).await {
                Ok(conversation) => {
                    chat.read(&conversation, AuthorKind::Agent, seq);
                    true
                }
                Err(e) => conn.send(&domain_error_frame(e, None)).await,
            },
            AgentFrame::Sync {
                conversation_id,
                after_seq,
            } => {
                self.sync(conn, ConversationId(conversation_id), after_seq)
                    .await
            }
            AgentFrame::Status { status } => {
                match chat.set_agent_status(self.agent.id, status).await {
                    Ok(_) => true,
                    Err(e) => conn.send(&domain_error_frame(e, None)).await,
                }
            }
            AgentFrame::Assign {
                conversation_id,
                agent_id,
            } => {
                let result = chat
                    .assign(ConversationId(conversation_id), agent_id.map(AgentId))
                    .await;
                match result {
                    Ok(_) => true,
                    Err(e) => conn.send(&domain_error_frame(e, None)).await,
                }
            }
            AgentFrame::Close { conversation_id } => {
                match chat.close(ConversationId(conversation_id)).await {
                    Ok(_) => true,
                    Err(e) => conn.send(&domain_error_frame(e, None)).await,
                }
            }
            AgentFrame::Ping => conn.send(&ServerFrame::Pong).await,
            AgentFrame::CobrowseRequest { conversation_id } => {
                let id = ConversationId(conversation_id);
                match self.state.cobrowse.request(&self.agent, id).await {
                    Ok(_) => true,
                    Err(e) => conn.send(&cobrowse_error_frame(e)).await,
                }
            }
            AgentFrame::CobrowseSnapshot { conversation_id } => {
                match self
                    .state
                    .cobrowse
                    .snapshot(ConversationId(conversation_id))
                {
                    Ok(()) => true,
                    Err(e) => conn.send(&domain_error_frame(e, None)).await,
                }
            }
            AgentFrame::CobrowseControl {
                conversation_id,
                control,
            } => match self
                .state
                .cobrowse
                .control(ConversationId(conversation_id), control)
            {
                Ok(()) => true,
                Err(e) => conn.send(&domain_error_frame(e, None)).await,
            },
            AgentFrame::CobrowseEnd { conversation_id } => {
                let id = ConversationId(conversation_id);
                self.state.cobrowse.agent_end(&self.agent, id).await;
                true
            }
        }
    }

    async fn forward(
        &mut self,
        conn: &mut Connection,
        event: Result<SharedEvent, RecvError>,
    ) -> bool {
        let event = match Live::from_bus(event) {
            Live::Event(event) => event,
            Live::Missed => return self.resync(conn).await,
            Live::Ended => return false,
        };
        if let RealtimeEvent::Resync = &*event {
            return self.resync(conn).await;
        }
        if let RealtimeEvent::Message(message) = &*event {
            let chat = self.state.chat.clone();
            for message in self.delivery.live(&chat, message).await {
                if !conn.send_paced(&message_frame(&message)).await {
                    return false;
                }
            }
            return true;
        }
        match ServerFrame::from_event(&event) {
            Some(frame) => conn.send(&frame).await,
            None => true,
        }
    }
}

impl AgentSession {
    /// Live events from other nodes may have been lost: sends every open conversation and every
    /// one this socket follows as it is now, then the messages this socket missed.
    async fn resync(&mut self, conn: &mut Connection) -> bool {
        let chat = self.state.chat.clone();
        let open = chat
            .conversations(&ConversationFilter {
                status: Some(ConversationStatus::Open),
                limit: OPEN_LIMIT,
                ..ConversationFilter::default()
            })
            .await;
        let mut conversations = match open {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "resync: cannot list open conversations");
                return true;
            }
        };
        for id in self.delivery.followed() {
            if conversations.iter().any(|c| c.id == id) {
                continue;
            }
            match chat.conversation(id).await {
                Ok(conversation) => conversations.push(conversation),
                Err(e) => tracing::warn!(error = %e, "resync: cannot read a conversation"),
            }
        }
        for conversation in &conversations {
            let frame = ServerFrame::Conversation {
                conversation: ConversationDto::from(conversation),
            };
            if !conn.send(&frame).await {
                return false;
            }
        }
        for id in self.delivery.followed() {
            match self.delivery.fill(&chat, id).await {
                Ok(missed) => {
                    for message in &missed {
                        if !conn.send_paced(&message_frame(message)).await {
                            return false;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "resync: cannot read missed messages"),
            }
        }
        true
    }
}

fn cobrowse_error_frame(error: CobrowseError) -> ServerFrame {
    match error {
        CobrowseError::Domain(e) => domain_error_frame(e, None),
        CobrowseError::Invalid(_) => ServerFrame::error(
            "cobrowse_unavailable",
            "the co-browse configuration is not valid; an admin must fix it",
        ),
        CobrowseError::Plugin(e) => {
            tracing::warn!(error = %e, "co-browse plugin unavailable");
            ServerFrame::error(
                "cobrowse_unavailable",
                "co-browsing is not available right now",
            )
        }
    }
}
