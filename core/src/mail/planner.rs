//! Which mails an event causes: the mail policy. The store reads the facts and asks while the event's
//! transaction is open, then writes the plan in it, so a committed change has its mails committed
//! with it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::MailConfig;
use crate::domain::agent_links::LINK_PREFIX;
use crate::domain::ids::AgentId;
use crate::domain::mail::{
    Contact, FactsWanted, MailFacts, MailPlan, MailPlanner, NewAgentLink, NewMail,
};
use crate::domain::model::{Agent, AgentStatus, AuthorKind, Conversation, Message};
use crate::domain::presence::Presence;
use crate::domain::secret;
use crate::domain::webhook_events::DomainEvent;
use crate::mail::render::Renderer;

pub struct Planner {
    presence: Arc<Presence>,
    renderer: Renderer,
    inbox: String,
    quiet: chrono::Duration,
    link_ttl: chrono::Duration,
}

impl Planner {
    pub fn new(config: &MailConfig, presence: Arc<Presence>, renderer: Renderer) -> Self {
        Self {
            presence,
            renderer,
            inbox: config.offline_inbox.trim().to_string(),
            quiet: seconds(config.notification_quiet_seconds),
            link_ttl: seconds(config.notification_link_ttl_seconds.max(1)),
        }
    }
}

impl MailPlanner for Planner {
    /// A visitor's message may answer the offline form; a visitor's message or an assignment may
    /// notify the assignee, who is asked about only when no console of theirs is open.
    fn wants(&self, event: &DomainEvent) -> FactsWanted {
        match event {
            DomainEvent::MessageCreated {
                conversation,
                message,
            } if message.author_kind == AuthorKind::Visitor => FactsWanted {
                offline_contact: (message.client_id.clone())
                    .map(|client_id| (conversation.visitor_id, client_id)),
                agent: conversation.assignee_id.filter(|a| self.is_away(*a)),
            },
            DomainEvent::ConversationAssigned {
                assignee: Some(agent),
                ..
            } => FactsWanted {
                offline_contact: None,
                agent: Some(agent.id).filter(|a| self.is_away(*a)),
            },
            _ => FactsWanted::default(),
        }
    }

    /// The offline form's message mails the inbox, once (the contact is then tied to the
    /// conversation). The assignee is notified when enabled, not connected, and not notified about
    /// this conversation within the quiet period.
    fn plan(&self, event: &DomainEvent, facts: MailFacts, now: DateTime<Utc>) -> MailPlan {
        let mut plan = MailPlan::default();
        let (conversation, message) = match event {
            DomainEvent::MessageCreated {
                conversation,
                message,
            } => (conversation, Some(message)),
            DomainEvent::ConversationAssigned { conversation, .. } => (conversation, None),
            _ => return plan,
        };
        if let (Some(message), Some(contact)) = (message, &facts.offline_contact) {
            plan.tie_offline_contact = true;
            plan.mails
                .extend(self.offline_message(contact, conversation, message));
        }
        if let Some(agent) = &facts.agent
            && self.should_notify(agent, facts.agent_notified_at, now)
        {
            let link = secret::generate(LINK_PREFIX);
            if let Some(mail) = self.agent_notification(agent, conversation, message, &link.plain) {
                plan.mails.push(mail);
                plan.agent_links.push(NewAgentLink {
                    agent_id: agent.id,
                    conversation_id: conversation.id,
                    hash: link.hash,
                    expires_at: now + self.link_ttl,
                });
            }
        }
        plan
    }
}

impl Planner {
    /// No console of the agent's is open (then the console tells them; no mail).
    fn is_away(&self, agent: AgentId) -> bool {
        self.presence.status(agent) == AgentStatus::Offline
    }

    fn should_notify(
        &self,
        agent: &Agent,
        notified_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        agent.enabled
            && self.is_away(agent.id)
            && notified_at.is_none_or(|at| at <= now - self.quiet)
    }

    fn offline_message(
        &self,
        contact: &Contact,
        conversation: &Conversation,
        message: &Message,
    ) -> Option<NewMail> {
        // Without an inbox the message is still stored as a conversation; nobody is mailed.
        (!self.inbox.is_empty()).then(|| {
            self.renderer
                .offline_message(&self.inbox, contact, conversation, message)
        })
    }

    fn agent_notification(
        &self,
        agent: &Agent,
        conversation: &Conversation,
        message: Option<&Message>,
        link_token: &str,
    ) -> Option<NewMail> {
        (!agent.email.trim().is_empty()).then(|| {
            self.renderer
                .agent_notification(agent, conversation, message, link_token)
        })
    }
}

fn seconds(s: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}
