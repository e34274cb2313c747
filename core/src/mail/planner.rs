//! Which mails an event causes. The store asks while the event's transaction is open and writes
//! the answer in it, so a committed change has its mails committed with it.

use std::sync::Arc;

use crate::config::MailConfig;
use crate::domain::ids::AgentId;
use crate::domain::mail::{Contact, MailPlanner, NewMail};
use crate::domain::model::{Agent, AgentStatus, Conversation, Message};
use crate::domain::presence::Presence;
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
    fn agent_connected(&self, agent: AgentId) -> bool {
        self.presence.status(agent) != AgentStatus::Offline
    }

    fn quiet_period(&self) -> chrono::Duration {
        self.quiet
    }

    fn link_ttl(&self) -> chrono::Duration {
        self.link_ttl
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
