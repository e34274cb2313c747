//! The widget's socket (`GET /ws/visitor?site=KEY`, opened by `http::sockets`). A visitor sees only
//! their own conversation.

use std::sync::Arc;
use std::time::Duration;

use natter_rules::CustomerContext;
use tokio::sync::broadcast::Receiver;
use tokio::time::Instant;

use axum::extract::ws::{WebSocket, close_code};
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::bus::SharedEvent;
use crate::domain::DomainError;
use crate::domain::cobrowse::{CobrowseEvent, SessionStatus};
use crate::domain::events::{Author, RealtimeEvent, Topic};
use crate::domain::ids::{ConversationId, VisitorId};
use crate::domain::live_visitors::VisitorContext;
use crate::domain::model::{AuthorKind, Conversation, ConversationStatus, PageInfo, Site, Visitor};
use crate::domain::visibility::VisitorFacts;
use crate::wire::ConversationDto;
use crate::ws::connection::{
    BACKLOG_LIMIT, Connection, Delivery, Incoming, Live, RateLimit, domain_error_frame,
    message_frame,
};
use crate::ws::protocol::{PROTOCOL_VERSION, PresenceDto, ServerFrame, VisitorFrame};

/// A client that does not say hello within this time is dropped.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// What the browser said about itself when it opened the socket (for the console's details pane).
pub struct ClientHints {
    pub user_agent: String,
    pub accept_language: String,
}

/// One visitor connection.
struct VisitorSession {
    state: AppState,
    /// Shared by every socket of the site (the store keeps sites read by key).
    site: Arc<Site>,
    visitor: VisitorId,
    conversation: Option<Conversation>,
    delivery: Delivery,
    rate: RateLimit,
    facts: VisitorFacts,
    /// The last `visibility` frame sent (visible, away), so a frame goes out only when it changes.
    visible: Option<(bool, bool)>,
    /// When a rule asked to be asked again (or an override ends).
    recheck: Option<Instant>,
}

/// A visitor past their hello, in the registries, with their bus subscriptions.
struct Opened {
    session: VisitorSession,
    own: Receiver<SharedEvent>,
    everyone: Receiver<SharedEvent>,
    /// The welcome and the backlog went out.
    welcomed: bool,
}

/// The socket's task, alive as long as the socket. A future is as large as the largest state it can
/// be in, and an idle socket keeps its task's whole size: the opening, a frame handled and an event
/// forwarded (storage reads and writes, several KiB of state) are boxed where they are awaited, so
/// that the task holds what waiting needs and not them.
pub async fn run(state: AppState, site: Arc<Site>, client: ClientHints, socket: WebSocket) {
    let _open = state.sockets.visitor();
    let mut conn = Connection::new(socket, state.config.server.max_frame_bytes);
    let Some(Opened {
        mut session,
        mut own,
        mut everyone,
        welcomed,
    }) = Box::pin(open(state, site, client, &mut conn)).await
    else {
        return;
    };
    if welcomed && session.redecide(&mut conn).await {
        session.serve(&mut conn, &mut own, &mut everyone).await;
    }
    drop(everyone);
    Box::pin(session.leave(&mut conn, own)).await;
}

/// Reads the hello, records the visitor and welcomes them; `None` when the socket ended first.
async fn open(
    state: AppState,
    site: Arc<Site>,
    client: ClientHints,
    conn: &mut Connection,
) -> Option<Opened> {
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, conn.recv::<VisitorFrame>()).await {
        Ok(Incoming::Frame(VisitorFrame::Hello {
            v,
            visitor_id,
            page,
            last_seq,
            language,
            customer,
        })) => (v, visitor_id, last_seq, page, language, customer),
        Ok(Incoming::Closed) => return None,
        _ => {
            conn.refuse_without_hello().await;
            return None;
        }
    };
    let (v, visitor_id, last_seq, page, language, customer) = hello;
    if v != PROTOCOL_VERSION {
        conn.refuse_version(v).await;
        return None;
    }
    let visitor = visitor_id.map_or_else(VisitorId::new, VisitorId);
    conn.set_peer(format!("visitor {}", visitor.0));
    let arrived = match state.chat.visitor_arrived(&site, visitor).await {
        Ok(arrived) => arrived,
        Err(e) => {
            conn.send(&domain_error_frame(e, None)).await;
            conn.close(close_code::POLICY, "visitor refused").await;
            return None;
        }
    };
    let arrived = match customer {
        None => arrived,
        Some(identity) => {
            match state
                .chat
                .identify_visitor(&site, arrived.clone(), &identity.id, &identity.hash)
                .await
            {
                Ok(identified) => identified,
                // The chat goes on, anonymously: a wrong proof must not lock a visitor out, and it
                // must not link them either.
                Err(e) => {
                    tracing::info!(site = %site.id, error = %e, "customer identity refused");
                    conn.send(&ServerFrame::error("identity_refused", e.to_string()))
                        .await;
                    arrived
                }
            }
        }
    };
    let context = VisitorContext::new(
        &page,
        &client.user_agent,
        &language,
        &client.accept_language,
        state.clock.now(),
    );
    // Read before the visit is announced: a visitor the server cannot serve is not reported as
    // connected to the plugins.
    let facts = match visitor_facts(&state, &site, &arrived, page.clone(), language).await {
        Ok(facts) => facts,
        Err(e) => {
            conn.send(&domain_error_frame(e, None)).await;
            conn.close(close_code::ERROR, "server error").await;
            return None;
        }
    };
    state.chat.visitor_connected(&site, arrived.id, page);
    // Subscribe before reading the backlog: anything stored in between arrives on the bus, and
    // the delivery tracker drops what the backlog already sent.
    let own = state.chat.bus().subscribe(Topic::Visitor(visitor));
    let everyone = state.chat.bus().subscribe(Topic::AllVisitors);
    state.visibility.visitor_connected(&facts);
    let mut session = VisitorSession {
        rate: RateLimit::per_minute(state.config.chat.messages_per_minute),
        state,
        site,
        visitor,
        conversation: None,
        delivery: Delivery::default(),
        facts,
        visible: None,
        recheck: None,
    };
    let welcomed = session.welcome(conn, last_seq.unwrap_or(0)).await;
    session
        .state
        .visitors
        .connected(visitor, context, session.conversation.is_some());
    Some(Opened {
        session,
        own,
        everyone,
        welcomed,
    })
}

/// What the visitor's rules know about them, from storage and their hello.
async fn visitor_facts(
    state: &AppState,
    site: &Site,
    visitor: &Visitor,
    page: PageInfo,
    language: String,
) -> Result<VisitorFacts, DomainError> {
    let customer = match visitor.customer_id {
        Some(id) => state.store.customer(id).await?.map(|c| CustomerContext {
            id: c.id.to_string(),
            labels: c.labels,
        }),
        None => None,
    };
    Ok(VisitorFacts {
        visitor_id: visitor.id,
        site_id: site.id,
        timezone: site.timezone.parse().unwrap_or(chrono_tz::UTC),
        visits: visitor.visit_count,
        url: page.url,
        referrer: page.referrer,
        language,
        page_since: state.clock.now(),
        customer,
    })
}

impl VisitorSession {
    /// The socket closed: the visitor leaves the registries and any co-browse session, and their
    /// topic is freed once `own` (its last receiver here) is dropped.
    async fn leave(self, conn: &mut Connection, own: Receiver<SharedEvent>) {
        let visitor = self.visitor;
        let state = &self.state;
        state
            .visitors
            .disconnected(visitor, self.conversation.is_some());
        state.visibility.visitor_disconnected(visitor);
        state.cobrowse.visitor_left(visitor).await;
        drop(own);
        state.chat.bus().unsubscribed(Topic::Visitor(visitor));
        conn.finish().await;
    }

    async fn serve(
        &mut self,
        conn: &mut Connection,
        own: &mut Receiver<SharedEvent>,
        everyone: &mut Receiver<SharedEvent>,
    ) {
        let shutdown = self.state.shutdown.clone();
        loop {
            let recheck = self.recheck;
            tokio::select! {
                incoming = conn.recv::<VisitorFrame>() => match incoming {
                    Incoming::Frame(frame) => {
                        if !Box::pin(self.handle(conn, frame)).await {
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
                event = own.recv() => {
                    if !Box::pin(self.forward(conn, event)).await {
                        break;
                    }
                }
                event = everyone.recv() => {
                    if !Box::pin(self.forward(conn, event)).await {
                        break;
                    }
                }
                () = sleep_until_recheck(recheck) => {
                    if !self.redecide(conn).await {
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

    /// Decides visibility again; sends a frame when the answer changed, and arms the recheck timer.
    async fn redecide(&mut self, conn: &mut Connection) -> bool {
        let decision = self.state.visibility.decide(&self.facts);
        self.recheck = decision
            .recheck_after_secs
            .map(|secs| Instant::now() + Duration::from_secs(secs.max(1)));
        let answer = (decision.visible, decision.away);
        if self.visible == Some(answer) {
            return true;
        }
        self.visible = Some(answer);
        conn.send(&ServerFrame::Visibility {
            visible: decision.visible,
            away: decision.away,
            decided_by: decision.decided_by,
        })
        .await
    }
}

async fn sleep_until_recheck(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl VisitorSession {
    async fn welcome(&mut self, conn: &mut Connection, last_seq: i64) -> bool {
        let chat = &self.state.chat;
        let conversation = match chat
            .store()
            .open_conversation_of_visitor(self.visitor)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                conn.send(&domain_error_frame(e.into(), None)).await;
                return false;
            }
        };
        let counts = chat.presence_counts();
        let welcome = ServerFrame::VisitorWelcome {
            v: PROTOCOL_VERSION,
            visitor_id: self.visitor.0,
            conversation: conversation.as_ref().map(ConversationDto::from),
            presence: PresenceDto {
                online: counts.online,
                available: counts.available,
            },
            mail: self.state.mail.enabled(),
        };
        if !conn.send(&welcome).await {
            return false;
        }
        if let Some(open) = &conversation {
            // Page after page until the visitor has everything: the widget has no `sync`.
            let mut after = last_seq;
            loop {
                let page = match self.delivery.backlog(chat, open.id, after).await {
                    Ok(messages) => messages,
                    Err(e) => {
                        conn.send(&domain_error_frame(e, None)).await;
                        return false;
                    }
                };
                for message in &page {
                    if !conn.send_paced(&message_frame(message)).await {
                        return false;
                    }
                }
                match page.last() {
                    Some(last) if page.len() as u64 >= BACKLOG_LIMIT => after = last.seq,
                    _ => break,
                }
            }
        }
        self.conversation = conversation;
        true
    }

    async fn handle(&mut self, conn: &mut Connection, frame: VisitorFrame) -> bool {
        match frame {
            VisitorFrame::Hello { .. } => {
                conn.send(&ServerFrame::error(
                    "bad_frame",
                    "hello was already received",
                ))
                .await
            }
            VisitorFrame::Message { client_id, body } => {
                if !self.rate.allow() {
                    let err = crate::domain::DomainError::RateLimited;
                    return conn.send(&domain_error_frame(err, Some(client_id))).await;
                }
                let result = self
                    .state
                    .chat
                    .visitor_message(&self.site, self.visitor, Some(client_id.clone()), &body)
                    .await;
                match result {
                    Ok(outcome) => {
                        self.delivery.seen(outcome.conversation.id, 0);
                        self.conversation = Some(outcome.conversation.clone());
                        conn.send(&ServerFrame::Ack {
                            client_id,
                            conversation_id: outcome.conversation.id.0,
                            id: outcome.message.id.0,
                            seq: outcome.message.seq,
                            duplicate: outcome.duplicate,
                        })
                        .await
                    }
                    Err(e) => conn.send(&domain_error_frame(e, Some(client_id))).await,
                }
            }
            VisitorFrame::Page { page } => {
                self.state
                    .visitors
                    .moved(self.visitor, &page, self.conversation.is_some());
                self.facts.url = page.url;
                self.facts.referrer = page.referrer;
                self.facts.page_since = self.state.clock.now();
                self.state.visibility.visitor_moved(&self.facts);
                self.redecide(conn).await
            }
            VisitorFrame::Typing { active } => {
                if let Some(conversation) = &self.conversation {
                    let author = Author {
                        kind: AuthorKind::Visitor,
                        id: Some(self.visitor.0),
                        name: None,
                    };
                    self.state.chat.typing(conversation, author, active);
                }
                true
            }
            VisitorFrame::Read { seq } => {
                if let Some(conversation) = &self.conversation {
                    self.state.chat.read(conversation, AuthorKind::Visitor, seq);
                }
                true
            }
            VisitorFrame::Ping => conn.send(&ServerFrame::Pong).await,
            VisitorFrame::CobrowseConsent {
                session_id,
                granted,
            } => {
                let cobrowse = &self.state.cobrowse;
                match cobrowse.consent(self.visitor, session_id, granted).await {
                    Ok(_) => {
                        if granted {
                            conn.set_max_frame_bytes(self.cobrowse_frame_bytes());
                        }
                        true
                    }
                    Err(e) => conn.send(&domain_error_frame(e, None)).await,
                }
            }
            VisitorFrame::CobrowseEvents { session_id, events } => {
                let cobrowse = &self.state.cobrowse;
                match cobrowse.events(self.visitor, session_id, events).await {
                    Ok(_) => true,
                    Err(e) => conn.send(&domain_error_frame(e, None)).await,
                }
            }
            VisitorFrame::CobrowseControlGrant {
                session_id,
                granted,
            } => {
                let cobrowse = &self.state.cobrowse;
                match cobrowse
                    .grant_control(self.visitor, session_id, granted)
                    .await
                {
                    Ok(_) => true,
                    Err(e) => conn.send(&domain_error_frame(e, None)).await,
                }
            }
            VisitorFrame::CobrowseEnd { session_id } => {
                self.state
                    .cobrowse
                    .visitor_end(self.visitor, session_id)
                    .await;
                true
            }
        }
    }

    fn cobrowse_frame_bytes(&self) -> usize {
        let config = &self.state.config;
        config
            .cobrowse
            .max_frame_bytes
            .max(config.server.max_frame_bytes)
    }

    /// Sends a live event to the visitor. A subscriber that fell behind the bus fills from storage.
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
        match &*event {
            RealtimeEvent::Message(message) => {
                if !self.is_own(message.conversation_id) {
                    return true;
                }
                let chat = self.state.chat.clone();
                for message in self.delivery.live(&chat, message).await {
                    if !conn.send_paced(&message_frame(&message)).await {
                        return false;
                    }
                }
                true
            }
            RealtimeEvent::Conversation(conversation) => {
                if conversation.visitor_id != self.visitor {
                    return true;
                }
                self.delivery.seen(conversation.id, 0);
                self.conversation =
                    (conversation.status == ConversationStatus::Open).then(|| conversation.clone());
                self.send_event(conn, &event).await
            }
            RealtimeEvent::VisibilityInputsChanged => self.redecide(conn).await,
            RealtimeEvent::Resync => self.resync(conn).await,
            RealtimeEvent::PresenceChanged
            | RealtimeEvent::CacheChanged(_)
            | RealtimeEvent::CobrowseCall(_)
            | RealtimeEvent::PluginEnabled(_) => true,
            RealtimeEvent::Presence { .. } => {
                self.send_event(conn, &event).await && self.redecide(conn).await
            }
            RealtimeEvent::Typing { .. }
            | RealtimeEvent::Read { .. }
            | RealtimeEvent::WidgetChanged { .. } => self.send_event(conn, &event).await,
            // For agents only.
            RealtimeEvent::VisitorContext { .. } => true,
            // Co-browse events come on the visitor's own topic only.
            RealtimeEvent::Cobrowse(cobrowse) => {
                if let CobrowseEvent::State(view) = cobrowse
                    && matches!(view.status, SessionStatus::Ended | SessionStatus::Declined)
                {
                    conn.set_max_frame_bytes(self.state.config.server.max_frame_bytes);
                }
                self.send_event(conn, &event).await
            }
        }
    }

    /// Live events from other nodes may have been lost: re-reads the visitor's conversation, sends
    /// what changed and the messages this socket missed, and decides visibility again.
    async fn resync(&mut self, conn: &mut Connection) -> bool {
        let chat = self.state.chat.clone();
        let mut ids: Vec<ConversationId> = self.conversation.iter().map(|c| c.id).collect();
        match chat
            .store()
            .open_conversation_of_visitor(self.visitor)
            .await
        {
            Ok(Some(open)) if !ids.contains(&open.id) => ids.push(open.id),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "resync: cannot read the visitor's conversation");
                return true;
            }
        }
        for id in ids {
            let conversation = match chat.conversation(id).await {
                Ok(conversation) => conversation,
                Err(e) => {
                    tracing::warn!(error = %e, "resync: cannot read a conversation");
                    continue;
                }
            };
            let shown = |c: &Conversation| (c.id, c.status, c.assignee_id);
            if self.conversation.as_ref().map(shown) != Some(shown(&conversation)) {
                let event = RealtimeEvent::Conversation(conversation.clone());
                self.delivery.seen(conversation.id, 0);
                self.conversation =
                    (conversation.status == ConversationStatus::Open).then(|| conversation.clone());
                if !self.send_event(conn, &event).await {
                    return false;
                }
            }
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
        self.redecide(conn).await
    }

    async fn send_event(&self, conn: &mut Connection, event: &RealtimeEvent) -> bool {
        match ServerFrame::from_event(event) {
            Some(frame) => conn.send(&frame).await,
            None => true,
        }
    }

    fn is_own(&self, conversation: ConversationId) -> bool {
        self.conversation
            .as_ref()
            .is_some_and(|c| c.id == conversation)
            || self.delivery.follows(conversation)
    }
}
