//! Co-browsing sessions: an agent asks to see a visitor's page, the visitor consents, the recorder's
//! events pass the plugin's filter and reach the agents, the agent points and (only when granted) controls.
//!
//! One live session per conversation, kept in memory (a session lives as long as the visitor's page and
//! socket); what happened is stored as the conversation's audit trail. Recorded page content is never
//! stored. A session ends when either side ends it, the chat closes, the visitor's socket goes, or the time
//! limit passes.
//!
//! With several nodes a session lives on the node where the agent asked; a frame that reaches another
//! node (the visitor's page is connected there) is forwarded to it over the bus (`across_nodes`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::domain::DomainError;
use crate::domain::chat::Chat;
use crate::domain::clock::Clock;
use crate::domain::events::{RealtimeEvent, Topic};
use crate::domain::ids::{AgentId, CobrowseSessionId, ConversationId, VisitorId};
use crate::domain::model::{Agent, AuthorKind, ConversationStatus};
use crate::domain::plugin_api::{CobrowseAsset, FieldError, PluginError, Plugins};
use crate::domain::widget::{EffectiveConfig, effective_config};
use crate::store::Store;

mod across_nodes;

pub use across_nodes::Call;

/// What the audit trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Requested,
    ConsentGranted,
    ConsentDeclined,
    ControlGranted,
    ControlRevoked,
    Ended,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Requested => "requested",
            AuditAction::ConsentGranted => "consent_granted",
            AuditAction::ConsentDeclined => "consent_declined",
            AuditAction::ControlGranted => "control_granted",
            AuditAction::ControlRevoked => "control_revoked",
            AuditAction::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Requested,
            Self::ConsentGranted,
            Self::ConsentDeclined,
            Self::ControlGranted,
            Self::ControlRevoked,
            Self::Ended,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// Why a session ended (the `detail` of its `ended` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Agent,
    Visitor,
    ChatClosed,
    TimeLimit,
    VisitorLeft,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Agent => "ended_by_agent",
            EndReason::Visitor => "ended_by_visitor",
            EndReason::ChatClosed => "chat_closed",
            EndReason::TimeLimit => "time_limit",
            EndReason::VisitorLeft => "visitor_left",
        }
    }
}

/// One line of a conversation's co-browse audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    pub conversation_id: ConversationId,
    pub session_id: CobrowseSessionId,
    pub action: AuditAction,
    pub actor_kind: AuthorKind,
    pub actor_id: Option<uuid::Uuid>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Asked; waiting for the visitor's answer.
    Requested,
    Active,
    Declined,
    Ended,
}

/// The agent's guidance (always) and remote control (only once the visitor granted it). Node ids are
/// rrweb's, the same on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlAction {
    Pointer { x: i32, y: i32 },
    Highlight { id: u64 },
    Click { id: u64 },
    Scroll { x: i32, y: i32 },
    Input { id: u64, text: String },
}

impl ControlAction {
    pub fn needs_grant(&self) -> bool {
        matches!(
            self,
            ControlAction::Click { .. }
                | ControlAction::Scroll { .. }
                | ControlAction::Input { .. }
        )
    }
}

/// What the bus carries for co-browsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CobrowseEvent {
    /// To the visitor: an agent asks; the widget shows the consent text.
    Request {
        conversation_id: ConversationId,
        session_id: CobrowseSessionId,
        consent_text: String,
        allow_control: bool,
    },
    /// To both sides: where the session stands.
    State(SessionView),
    /// To the agents: filtered recorder events, oldest first.
    Events {
        conversation_id: ConversationId,
        session_id: CobrowseSessionId,
        events: Arc<Vec<Value>>,
    },
    /// To the visitor: take a full snapshot (an agent joined late or reconnected).
    Snapshot {
        conversation_id: ConversationId,
        session_id: CobrowseSessionId,
    },
    /// To the visitor: the agent's pointer, highlight or (granted) control.
    Control {
        conversation_id: ConversationId,
        session_id: CobrowseSessionId,
        action: ControlAction,
    },
}

/// A session as both sides see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionView {
    #[schema(value_type = String, format = Uuid)]
    pub conversation_id: ConversationId,
    #[schema(value_type = String, format = Uuid)]
    pub session_id: CobrowseSessionId,
    pub status: SessionStatus,
    /// Whether the visitor lets the agent scroll, click and type.
    pub control: bool,
    /// Whether the visitor is offered to grant control at all (`allow_remote_control`).
    pub control_allowed: bool,
    /// Why it ended or was declined.
    pub reason: Option<String>,
}

/// The parts of the plugin's configuration the core acts on.
#[derive(Debug, Clone)]
struct Settings {
    enabled: bool,
    consent_text: String,
    allow_remote_control: bool,
    time_limit: Duration,
    /// The whole effective document, handed to the plugin's filter.
    json: String,
}

struct Live {
    view: SessionView,
    visitor: VisitorId,
    agent: AgentId,
    settings: Arc<Settings>,
    /// The plugin's filter state; taken out while a batch is being filtered.
    filter_state: Option<String>,
    window: (Instant, u32),
    deadline: Option<AbortHandle>,
}

/// Sees every raw event a visitor sends, before the filter: a test hook to check at the server what
/// left a visitor's browser.
pub type Tap = Arc<dyn Fn(&str) + Send + Sync>;

/// The co-browse service. Cheap to clone.
#[derive(Clone)]
pub struct Cobrowse {
    inner: Arc<Inner>,
}

struct Inner {
    chat: Chat,
    store: Store,
    plugins: Arc<dyn Plugins>,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    plugin: String,
    max_events_per_second: u32,
    /// Several nodes: a call for a session this node does not hold is forwarded to the one that does.
    across_nodes: bool,
    sessions: Mutex<HashMap<ConversationId, Live>>,
    tap: Option<Tap>,
    /// Scripts per (plugin generation, configuration version, asset).
    assets: Mutex<HashMap<(u64, i64, CobrowseAsset), Arc<str>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CobrowseError {
    #[error("invalid co-browse configuration")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl Cobrowse {
    pub fn new(
        chat: Chat,
        plugins: Arc<dyn Plugins>,
        clock: Arc<dyn Clock>,
        config: &crate::config::CobrowseConfig,
        tap: Option<Tap>,
        across_nodes: bool,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: chat.store().clone(),
                bus: chat.bus().clone(),
                chat,
                plugins,
                clock,
                plugin: config.plugin.clone(),
                max_events_per_second: config.max_events_per_second,
                across_nodes,
                sessions: Mutex::new(HashMap::new()),
                tap,
                assets: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Ends sessions whose conversation closed, until `shutdown`.
    pub fn watch(&self, shutdown: CancellationToken) {
        let this = self.clone();
        let mut events = self.inner.bus.subscribe(Topic::Agents);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) => {
                            if let RealtimeEvent::Conversation(c) = &*event
                                && c.status == ConversationStatus::Closed
                            {
                                this.end(c.id, EndReason::ChatClosed, AuthorKind::System, None).await;
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                    () = shutdown.cancelled() => break,
                }
            }
        });
    }

    /// The effective configuration document: the stored one over the schema's defaults.
    pub async fn config(&self) -> Result<(Value, i64), CobrowseError> {
        let effective = self.effective().await?;
        Ok((effective.config, effective.version))
    }

    /// The configuration in force with what was stored and the plugin's schema (the console's form).
    pub async fn effective(&self) -> Result<EffectiveConfig, CobrowseError> {
        let stored = self
            .inner
            .store
            .widget_config(&self.inner.plugin)
            .await
            .map_err(DomainError::from)?;
        Ok(effective_config(
            self.inner.plugins.as_ref(),
            &self.inner.plugin,
            stored,
        )?)
    }

    /// Validates `config` with the plugin and stores it (a full replacement).
    pub async fn put_config(&self, config: Value) -> Result<EffectiveConfig, CobrowseError> {
        let text = config.to_string();
        if let Err(errors) = self
            .inner
            .plugins
            .validate_config(&self.inner.plugin, &text)
            .await?
        {
            return Err(CobrowseError::Invalid(errors));
        }
        self.inner
            .store
            .put_widget_config(&self.inner.plugin, &config)
            .await
            .map_err(DomainError::from)?;
        self.effective().await
    }

    /// The recorder or viewer script, rendered once per plugin build and configuration version.
    pub async fn asset(&self, which: CobrowseAsset) -> Result<Arc<str>, CobrowseError> {
        let (config, version) = self.config().await?;
        let generation = self
            .inner
            .plugins
            .summary(&self.inner.plugin)
            .map_or(0, |p| p.generation);
        let key = (generation, version, which);
        if let Some(script) = self.lock_assets().get(&key) {
            return Ok(script.clone());
        }
        let (script, _) = self
            .inner
            .plugins
            .cobrowse_asset(&self.inner.plugin, &config.to_string(), which)
            .await?;
        let script: Arc<str> = script.into();
        let mut assets = self.lock_assets();
        assets.retain(|(g, v, _), _| *g == generation && *v == version);
        assets.insert(key, script.clone());
        Ok(script)
    }

    async fn settings(&self) -> Result<Settings, CobrowseError> {
        let (config, _) = self.config().await?;
        Ok(Settings {
            enabled: config["enabled"].as_bool().unwrap_or(true),
            consent_text: config["consent_text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            allow_remote_control: config["allow_remote_control"].as_bool().unwrap_or(false),
            time_limit: Duration::from_secs(
                config["session_time_limit_seconds"]
                    .as_u64()
                    .unwrap_or(1800),
            ),
            json: config.to_string(),
        })
    }

    /// An agent asks to see the visitor's page. Asking again while a session is active asks the visitor
    /// for a fresh snapshot instead (an agent who joined late or reloaded the console).
    pub async fn request(
        &self,
        agent: &Agent,
        conversation_id: ConversationId,
    ) -> Result<SessionView, CobrowseError> {
        let conversation = self.inner.chat.conversation(conversation_id).await?;
        if conversation.status != ConversationStatus::Open {
            return Err(DomainError::Conflict("the conversation is closed".into()).into());
        }
        if let Some(view) = self.view(conversation_id) {
            if view.status == SessionStatus::Active {
                self.snapshot(conversation_id)?;
            }
            self.publish_state(&view, conversation.visitor_id);
            return Ok(view);
        }
        let settings = self.settings().await?;
        if !settings.enabled {
            return Err(DomainError::Conflict("co-browsing is disabled".into()).into());
        }
        let view = SessionView {
            conversation_id,
            session_id: CobrowseSessionId::new(),
            status: SessionStatus::Requested,
            control: false,
            control_allowed: settings.allow_remote_control,
            reason: None,
        };
        let request = CobrowseEvent::Request {
            conversation_id,
            session_id: view.session_id,
            consent_text: settings.consent_text.clone(),
            allow_control: settings.allow_remote_control,
        };
        {
            let mut sessions = self.lock();
            if sessions.contains_key(&conversation_id) {
                return Err(
                    DomainError::Conflict("a co-browse session is already open".into()).into(),
                );
            }
            sessions.insert(
                conversation_id,
                Live {
                    view: view.clone(),
                    visitor: conversation.visitor_id,
                    agent: agent.id,
                    settings: Arc::new(settings),
                    filter_state: Some(String::new()),
                    window: (Instant::now(), 0),
                    deadline: None,
                },
            );
        }
        self.audit(
            &view,
            AuditAction::Requested,
            AuthorKind::Agent,
            Some(agent.id.0),
            None,
        )
        .await;
        self.inner.bus.publish(
            Topic::Visitor(conversation.visitor_id),
            RealtimeEvent::Cobrowse(request),
        );
        self.publish_state(&view, conversation.visitor_id);
        Ok(view)
    }

    /// The visitor's answer to a request.
    pub async fn consent(
        &self,
        visitor: VisitorId,
        session_id: CobrowseSessionId,
        granted: bool,
    ) -> Result<Option<SessionView>, DomainError> {
        let view = {
            let mut sessions = self.lock();
            let Some((&conversation_id, live)) = sessions
                .iter_mut()
                .find(|(_, l)| l.view.session_id == session_id && l.visitor == visitor)
            else {
                let call = Call::Consent {
                    visitor,
                    session_id,
                    granted,
                };
                return self
                    .forward(call)
                    .then_some(None)
                    .ok_or(DomainError::NotFound("co-browse session"));
            };
            if live.view.status != SessionStatus::Requested {
                return Err(DomainError::Conflict(
                    "this session was already answered".into(),
                ));
            }
            if granted {
                live.view.status = SessionStatus::Active;
                let this = self.clone();
                let limit = live.settings.time_limit;
                live.deadline = Some(
                    tokio::spawn(async move {
                        tokio::time::sleep(limit).await;
                        this.end(
                            conversation_id,
                            EndReason::TimeLimit,
                            AuthorKind::System,
                            None,
                        )
                        .await;
                    })
                    .abort_handle(),
                );
                live.view.clone()
            } else {
                let mut view = live.view.clone();
                view.status = SessionStatus::Declined;
                sessions.remove(&conversation_id);
                view
            }
        };
        let action = if granted {
            AuditAction::ConsentGranted
        } else {
            AuditAction::ConsentDeclined
        };
        self.audit(&view, action, AuthorKind::Visitor, Some(visitor.0), None)
            .await;
        self.publish_state(&view, visitor);
        Ok(Some(view))
    }

    /// Recorder events from the visitor: counted against the rate cap, each passed through the plugin's
    /// filter, then sent to the agents. Answers how many were forwarded.
    pub async fn events(
        &self,
        visitor: VisitorId,
        session_id: CobrowseSessionId,
        events: Vec<Value>,
    ) -> Result<usize, DomainError> {
        let (conversation_id, settings, mut state, allowed) = {
            let mut sessions = self.lock();
            let Some((&conversation_id, live)) = sessions.iter_mut().find(|(_, l)| {
                l.view.session_id == session_id
                    && l.visitor == visitor
                    && l.view.status == SessionStatus::Active
            }) else {
                let call = Call::Events {
                    visitor,
                    session_id,
                    events,
                };
                return self
                    .forward(call)
                    .then_some(0)
                    .ok_or(DomainError::NotFound("co-browse session"));
            };
            // Batches of one session arrive in order on one socket; a state already taken means one is
            // being filtered, and this batch is refused rather than filtered with a stale state.
            let Some(state) = live.filter_state.take() else {
                return Err(DomainError::RateLimited);
            };
            let now = Instant::now();
            if now.duration_since(live.window.0) >= Duration::from_secs(1) {
                live.window = (now, 0);
            }
            let room = self
                .inner
                .max_events_per_second
                .saturating_sub(live.window.1) as usize;
            let allowed = events.len().min(room);
            live.window.1 += allowed as u32;
            (conversation_id, live.settings.clone(), state, allowed)
        };
        let mut kept = Vec::with_capacity(allowed);
        for event in events.into_iter().take(allowed) {
            let raw = event.to_string();
            if let Some(tap) = &self.inner.tap {
                tap(&raw);
            }
            match self
                .inner
                .plugins
                .cobrowse_filter(&self.inner.plugin, &settings.json, &state, &raw)
                .await
            {
                Ok((event, next)) => {
                    state = next;
                    if let Some(event) = event.and_then(|e| serde_json::from_str(&e).ok()) {
                        kept.push(event);
                    }
                }
                // The filter failing drops the event: nothing unfiltered ever reaches an agent.
                Err(e) => tracing::warn!(error = %e, "co-browse event dropped: the filter failed"),
            }
        }
        if let Some(live) = self.lock().get_mut(&conversation_id) {
            live.filter_state = Some(state);
        }
        let forwarded = kept.len();
        if forwarded > 0 {
            self.inner.bus.publish(
                Topic::Agents,
                RealtimeEvent::Cobrowse(CobrowseEvent::Events {
                    conversation_id,
                    session_id,
                    events: Arc::new(kept),
                }),
            );
        }
        Ok(forwarded)
    }

    /// The visitor grants or revokes remote control.
    pub async fn grant_control(
        &self,
        visitor: VisitorId,
        session_id: CobrowseSessionId,
        granted: bool,
    ) -> Result<Option<SessionView>, DomainError> {
        let view = {
            let mut sessions = self.lock();
            let Some(live) = sessions.values_mut().find(|l| {
                l.view.session_id == session_id
                    && l.visitor == visitor
                    && l.view.status == SessionStatus::Active
            }) else {
                let call = Call::GrantControl {
                    visitor,
                    session_id,
                    granted,
                };
                return self
                    .forward(call)
                    .then_some(None)
                    .ok_or(DomainError::NotFound("co-browse session"));
            };
            if granted && !live.settings.allow_remote_control {
                return Err(DomainError::Conflict(
                    "remote control is not offered on this site".into(),
                ));
            }
            live.view.control = granted;
            live.view.clone()
        };
        let action = if granted {
            AuditAction::ControlGranted
        } else {
            AuditAction::ControlRevoked
        };
        self.audit(&view, action, AuthorKind::Visitor, Some(visitor.0), None)
            .await;
        self.publish_state(&view, visitor);
        Ok(Some(view))
    }

    /// The agent points, highlights, or (only with the visitor's grant) scrolls, clicks and types.
    pub fn control(
        &self,
        conversation_id: ConversationId,
        action: ControlAction,
    ) -> Result<(), DomainError> {
        let (visitor, session_id) = {
            let sessions = self.lock();
            let Some(live) = sessions
                .get(&conversation_id)
                .filter(|l| l.view.status == SessionStatus::Active)
            else {
                // The holder checks the visitor's grant.
                let call = Call::Control {
                    conversation_id,
                    action,
                };
                return self
                    .forward(call)
                    .then_some(())
                    .ok_or(DomainError::NotFound("co-browse session"));
            };
            if action.needs_grant() && !live.view.control {
                return Err(DomainError::Conflict(
                    "the visitor has not granted control".into(),
                ));
            }
            (live.visitor, live.view.session_id)
        };
        self.inner.bus.publish(
            Topic::Visitor(visitor),
            RealtimeEvent::Cobrowse(CobrowseEvent::Control {
                conversation_id,
                session_id,
                action,
            }),
        );
        Ok(())
    }

    /// Asks the visitor's recorder for a full snapshot.
    pub fn snapshot(&self, conversation_id: ConversationId) -> Result<(), DomainError> {
        let (visitor, session_id) = {
            let sessions = self.lock();
            let Some(live) = sessions
                .get(&conversation_id)
                .filter(|l| l.view.status == SessionStatus::Active)
            else {
                let call = Call::Snapshot { conversation_id };
                return self
                    .forward(call)
                    .then_some(())
                    .ok_or(DomainError::NotFound("co-browse session"));
            };
            (live.visitor, live.view.session_id)
        };
        self.inner.bus.publish(
            Topic::Visitor(visitor),
            RealtimeEvent::Cobrowse(CobrowseEvent::Snapshot {
                conversation_id,
                session_id,
            }),
        );
        Ok(())
    }

    /// The visitor ends their session.
    pub async fn visitor_end(&self, visitor: VisitorId, session_id: CobrowseSessionId) {
        let found = self
            .lock()
            .iter()
            .find(|(_, l)| l.view.session_id == session_id && l.visitor == visitor)
            .map(|(c, _)| *c);
        match found {
            Some(conversation_id) => {
                self.end(
                    conversation_id,
                    EndReason::Visitor,
                    AuthorKind::Visitor,
                    Some(visitor.0),
                )
                .await;
            }
            None => {
                self.forward(Call::VisitorEnd {
                    visitor,
                    session_id,
                });
            }
        }
    }

    /// The visitor's socket closed: their page, and so the recorder, is gone.
    pub async fn visitor_left(&self, visitor: VisitorId) {
        let found: Vec<ConversationId> = self
            .lock()
            .iter()
            .filter(|(_, l)| l.visitor == visitor)
            .map(|(c, _)| *c)
            .collect();
        if found.is_empty() {
            self.forward(Call::VisitorLeft { visitor });
        }
        for conversation_id in found {
            self.end(
                conversation_id,
                EndReason::VisitorLeft,
                AuthorKind::System,
                None,
            )
            .await;
        }
    }

    /// The agent ends the session of a conversation.
    pub async fn agent_end(&self, agent: &Agent, conversation_id: ConversationId) {
        if self.view(conversation_id).is_none() {
            self.forward(Call::AgentEnd {
                agent: agent.id,
                conversation_id,
            });
            return;
        }
        self.end(
            conversation_id,
            EndReason::Agent,
            AuthorKind::Agent,
            Some(agent.id.0),
        )
        .await;
    }

    /// Ends the conversation's session, if it has one.
    pub async fn end(
        &self,
        conversation_id: ConversationId,
        reason: EndReason,
        actor: AuthorKind,
        actor_id: Option<uuid::Uuid>,
    ) {
        let Some(live) = self.lock().remove(&conversation_id) else {
            return;
        };
        // The time limit's own task ends sessions too: aborting it from inside would cancel this very
        // call at its next await, before the end is recorded and announced.
        if let Some(deadline) = live.deadline
            && !matches!(reason, EndReason::TimeLimit)
        {
            deadline.abort();
        }
        let mut view = live.view;
        view.status = SessionStatus::Ended;
        view.control = false;
        view.reason = Some(reason.as_str().to_owned());
        self.audit(
            &view,
            AuditAction::Ended,
            actor,
            actor_id,
            Some(reason.as_str()),
        )
        .await;
        self.publish_state(&view, live.visitor);
    }

    /// The live sessions (requested or active), for an agent who connects.
    pub fn sessions(&self) -> Vec<SessionView> {
        self.lock().values().map(|l| l.view.clone()).collect()
    }

    /// The conversation's live session, if any.
    pub fn view(&self, conversation_id: ConversationId) -> Option<SessionView> {
        self.lock().get(&conversation_id).map(|l| l.view.clone())
    }

    /// The agent who asked for the conversation's live session.
    pub fn agent_of(&self, conversation_id: ConversationId) -> Option<AgentId> {
        self.lock().get(&conversation_id).map(|l| l.agent)
    }

    /// The conversation's audit trail, oldest first.
    pub async fn audit_trail(
        &self,
        conversation_id: ConversationId,
    ) -> Result<Vec<AuditEntry>, DomainError> {
        self.inner.chat.conversation(conversation_id).await?;
        Ok(self.inner.store.cobrowse_audit(conversation_id).await?)
    }

    async fn audit(
        &self,
        view: &SessionView,
        action: AuditAction,
        actor_kind: AuthorKind,
        actor_id: Option<uuid::Uuid>,
        detail: Option<&str>,
    ) {
        let entry = AuditEntry {
            id: uuid::Uuid::now_v7(),
            conversation_id: view.conversation_id,
            session_id: view.session_id,
            action,
            actor_kind,
            actor_id,
            detail: detail.map(str::to_owned),
            created_at: self.inner.clock.now(),
        };
        if let Err(e) = self.inner.store.add_cobrowse_audit(&entry).await {
            tracing::error!(error = %e, action = action.as_str(), "could not store a co-browse audit entry");
        }
    }

    /// How many sessions this node holds (`GET /api/v1/stats`).
    pub fn session_count(&self) -> usize {
        self.lock().len()
    }

    fn publish_state(&self, view: &SessionView, visitor: VisitorId) {
        let event = RealtimeEvent::Cobrowse(CobrowseEvent::State(view.clone()));
        self.inner.bus.publish(Topic::Agents, event.clone());
        self.inner.bus.publish(Topic::Visitor(visitor), event);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ConversationId, Live>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_assets(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(u64, i64, CobrowseAsset), Arc<str>>> {
        self.inner
            .assets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
