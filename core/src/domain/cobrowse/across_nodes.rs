//! Co-browsing across nodes: a session lives in the memory of the node where the agent asked for it.
//! A call for a session this node does not hold (the visitor's page, or the agent's console, is
//! connected to another node) goes on the bus as a [`Call`]; the node that holds the session carries
//! it out, with the same checks (consent, the filter, the control grant) as for its own sockets.
//! Recorder events cross unfiltered but are never stored, and only the holder's filter passes them on.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::cobrowse::{Cobrowse, ControlAction, EndReason};
use crate::domain::events::{RealtimeEvent, Topic};
use crate::domain::ids::{AgentId, CobrowseSessionId, ConversationId, VisitorId};
use crate::domain::model::AuthorKind;

/// A co-browse call made on a node that does not hold the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Call {
    Consent {
        visitor: VisitorId,
        session_id: CobrowseSessionId,
        granted: bool,
    },
    Events {
        visitor: VisitorId,
        session_id: CobrowseSessionId,
        events: Vec<Value>,
    },
    GrantControl {
        visitor: VisitorId,
        session_id: CobrowseSessionId,
        granted: bool,
    },
    VisitorEnd {
        visitor: VisitorId,
        session_id: CobrowseSessionId,
    },
    VisitorLeft {
        visitor: VisitorId,
    },
    Control {
        conversation_id: ConversationId,
        action: ControlAction,
    },
    Snapshot {
        conversation_id: ConversationId,
    },
    AgentEnd {
        agent: AgentId,
        conversation_id: ConversationId,
    },
}

impl Cobrowse {
    /// Sends `call` to the other nodes; `false` when there are none (one node: the session is unknown).
    pub(super) fn forward(&self, call: Call) -> bool {
        if !self.inner.across_nodes {
            return false;
        }
        self.inner
            .bus
            .publish(Topic::Nodes, RealtimeEvent::CobrowseCall(call));
        true
    }

    /// Carries out a call another node forwarded, if this node holds its session (every node hears
    /// every call; the others ignore it). Answers to the caller are not possible: refusals are logged.
    pub async fn carry_out(&self, call: Call) {
        let outcome = match call {
            Call::Consent {
                visitor,
                session_id,
                granted,
            } if self.holds(visitor, session_id) => {
                self.consent(visitor, session_id, granted).await.map(drop)
            }
            Call::Events {
                visitor,
                session_id,
                events,
            } if self.holds(visitor, session_id) => {
                self.events(visitor, session_id, events).await.map(drop)
            }
            Call::GrantControl {
                visitor,
                session_id,
                granted,
            } if self.holds(visitor, session_id) => self
                .grant_control(visitor, session_id, granted)
                .await
                .map(drop),
            Call::VisitorEnd {
                visitor,
                session_id,
            } if self.holds(visitor, session_id) => {
                self.visitor_end(visitor, session_id).await;
                Ok(())
            }
            Call::VisitorLeft { visitor } if self.holds_any(visitor) => {
                self.visitor_left(visitor).await;
                Ok(())
            }
            Call::Control {
                conversation_id,
                action,
            } if self.view(conversation_id).is_some() => self.control(conversation_id, action),
            Call::Snapshot { conversation_id } if self.view(conversation_id).is_some() => {
                self.snapshot(conversation_id)
            }
            Call::AgentEnd {
                agent,
                conversation_id,
            } if self.view(conversation_id).is_some() => {
                self.end(
                    conversation_id,
                    EndReason::Agent,
                    AuthorKind::Agent,
                    Some(agent.0),
                )
                .await;
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            tracing::info!(error = %e, "co-browse call from another node refused");
        }
    }

    fn holds(&self, visitor: VisitorId, session_id: CobrowseSessionId) -> bool {
        self.lock()
            .values()
            .any(|l| l.view.session_id == session_id && l.visitor == visitor)
    }

    fn holds_any(&self, visitor: VisitorId) -> bool {
        self.lock().values().any(|l| l.visitor == visitor)
    }
}
