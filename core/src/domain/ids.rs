//! Typed ids, so a conversation id is never passed where an agent id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A website the widget is embedded on.
    SiteId
);
uuid_id!(
    /// An agent (a person answering chats).
    AgentId
);
uuid_id!(
    /// A customer: a known person, possibly seen through several visitors (browsers).
    CustomerId
);
uuid_id!(
    /// A browser, identified by the id the widget keeps in localStorage.
    VisitorId
);
uuid_id!(
    /// A conversation between a visitor and agents.
    ConversationId
);
uuid_id!(
    /// A stored message.
    MessageId
);
uuid_id!(
    /// An API token (its id, never its secret).
    TokenId
);
uuid_id!(
    /// An Action Rule.
    RuleId
);
uuid_id!(
    /// An event in the outbox; sent as `webhook-id`, so it stays the same across retries.
    EventId
);
uuid_id!(
    /// A webhook endpoint (a URL events are POSTed to).
    WebhookId
);
uuid_id!(
    /// One event on its way to one webhook endpoint.
    DeliveryId
);

uuid_id!(
    /// A co-browse session: one agent seeing one visitor's page, from request to end.
    CobrowseSessionId
);
