//! API token scopes: what a token may do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One permission of an API token. `admin` implies every other scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "conversations:read")]
    ConversationsRead,
    #[serde(rename = "conversations:write")]
    ConversationsWrite,
    #[serde(rename = "agents:read")]
    AgentsRead,
    #[serde(rename = "agents:write")]
    AgentsWrite,
    #[serde(rename = "agent-links:create")]
    AgentLinksCreate,
    #[serde(rename = "customers:read")]
    CustomersRead,
    #[serde(rename = "customers:write")]
    CustomersWrite,
    #[serde(rename = "sites:read")]
    SitesRead,
    #[serde(rename = "rules:read")]
    RulesRead,
    #[serde(rename = "rules:write")]
    RulesWrite,
    #[serde(rename = "visibility:read")]
    VisibilityRead,
    #[serde(rename = "visibility:write")]
    VisibilityWrite,
    #[serde(rename = "webhooks:read")]
    WebhooksRead,
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
    #[serde(rename = "widget:read")]
    WidgetRead,
    #[serde(rename = "widget:write")]
    WidgetWrite,
}

impl Scope {
    pub const ALL: [Scope; 17] = [
        Scope::Admin,
        Scope::ConversationsRead,
        Scope::ConversationsWrite,
        Scope::AgentsRead,
        Scope::AgentsWrite,
        Scope::AgentLinksCreate,
        Scope::CustomersRead,
        Scope::CustomersWrite,
        Scope::SitesRead,
        Scope::RulesRead,
        Scope::RulesWrite,
        Scope::VisibilityRead,
        Scope::VisibilityWrite,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
        Scope::WidgetRead,
        Scope::WidgetWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::ConversationsRead => "conversations:read",
            Scope::ConversationsWrite => "conversations:write",
            Scope::AgentsRead => "agents:read",
            Scope::AgentsWrite => "agents:write",
            Scope::AgentLinksCreate => "agent-links:create",
            Scope::CustomersRead => "customers:read",
            Scope::CustomersWrite => "customers:write",
            Scope::SitesRead => "sites:read",
            Scope::RulesRead => "rules:read",
            Scope::RulesWrite => "rules:write",
            Scope::VisibilityRead => "visibility:read",
            Scope::VisibilityWrite => "visibility:write",
            Scope::WebhooksRead => "webhooks:read",
            Scope::WebhooksWrite => "webhooks:write",
            Scope::WidgetRead => "widget:read",
            Scope::WidgetWrite => "widget:write",
        }
    }

    /// Whether holding `self` grants `needed`.
    pub fn grants(self, needed: Scope) -> bool {
        self == Scope::Admin || self == needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown scope `{0}` (known: admin, conversations:read, conversations:write, agents:read, agents:write, agent-links:create, customers:read, customers:write, sites:read, rules:read, rules:write, visibility:read, visibility:write, webhooks:read, webhooks:write, widget:read, widget:write)"
)]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().ok(), Some(scope));
            let json = serde_json::to_string(&scope).expect("serialises");
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
        }
        assert!("conversations:delete".parse::<Scope>().is_err());
    }

    #[test]
    fn admin_grants_everything_others_only_themselves() {
        for needed in Scope::ALL {
            assert!(Scope::Admin.grants(needed));
        }
        assert!(Scope::ConversationsRead.grants(Scope::ConversationsRead));
        assert!(!Scope::ConversationsRead.grants(Scope::ConversationsWrite));
        assert!(!Scope::AgentsWrite.grants(Scope::Admin));
    }
}
