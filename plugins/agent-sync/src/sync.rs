//! The plan of a sync: which agents to create, update and disable so the stored agents equal the list.
//! Pure, so it is tested without a host.

use std::collections::BTreeSet;

use natter_sdk::host::{Agent, AgentFields};
use natter_sdk::serde_json::{Value, json};

/// What a write does to one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
        }
    }
}

/// How `wanted` changes the agent stored as `current`.
pub fn change(current: Option<&Agent>, wanted: &AgentFields) -> Change {
    let Some(current) = current else {
        return Change::Created;
    };
    let mut groups = current.groups.clone();
    groups.sort();
    groups.dedup();
    let same = current.email == wanted.email
        && current.name == wanted.name
        && groups == wanted.groups
        && current.enabled == wanted.enabled;
    if same {
        Change::Unchanged
    } else {
        Change::Updated
    }
}

/// Every write of a sync, with the external ids sorted into what happened to them.
#[derive(Debug, Default)]
pub struct Plan {
    writes: Vec<AgentFields>,
    created: Vec<String>,
    updated: Vec<String>,
    disabled: Vec<String>,
    unchanged: Vec<String>,
}

impl Plan {
    /// Only agents with an external id take part: agents created in Natter itself are left alone.
    pub fn new(stored: &[Agent], wanted: &[AgentFields]) -> Self {
        let mut plan = Plan::default();
        let listed: BTreeSet<&str> = wanted.iter().map(|w| w.external_id.as_str()).collect();
        for fields in wanted {
            let current = stored
                .iter()
                .find(|a| a.external_id.as_deref() == Some(fields.external_id.as_str()));
            let change = change(current, fields);
            let id = fields.external_id.clone();
            match change {
                Change::Created => plan.created.push(id),
                Change::Updated => plan.updated.push(id),
                Change::Unchanged => plan.unchanged.push(id),
            }
            if change != Change::Unchanged {
                plan.writes.push(fields.clone());
            }
        }
        for agent in stored {
            let Some(external_id) = &agent.external_id else {
                continue;
            };
            if listed.contains(external_id.as_str()) || !agent.enabled {
                continue;
            }
            plan.disabled.push(external_id.clone());
            plan.writes.push(AgentFields {
                external_id: external_id.clone(),
                email: agent.email.clone(),
                name: agent.name.clone(),
                groups: agent.groups.clone(),
                enabled: false,
            });
        }
        plan
    }

    pub fn writes(&self) -> &[AgentFields] {
        &self.writes
    }

    /// The answer of `PUT /agents/sync`.
    pub fn summary(&self) -> Value {
        json!({
            "created": self.created,
            "updated": self.updated,
            "disabled": self.disabled,
            "unchanged": self.unchanged,
        })
    }
}

#[cfg(test)]
mod tests {
    use natter_sdk::host::{Agent, AgentFields};

    use crate::sync::Plan;

    fn stored(external_id: Option<&str>, email: &str, enabled: bool) -> Agent {
        Agent {
            id: format!("id-{email}"),
            external_id: external_id.map(str::to_owned),
            email: email.to_owned(),
            name: "Name".to_owned(),
            groups: vec![],
            enabled,
        }
    }

    fn wanted(external_id: &str, email: &str) -> AgentFields {
        AgentFields {
            external_id: external_id.to_owned(),
            email: email.to_owned(),
            name: "Name".to_owned(),
            groups: vec![],
            enabled: true,
        }
    }

    #[test]
    fn creates_updates_disables_and_leaves_local_agents_alone() {
        let agents = [
            stored(Some("same"), "same@example.com", true),
            stored(Some("moved"), "old@example.com", true),
            stored(Some("gone"), "gone@example.com", true),
            stored(Some("gone-before"), "x@example.com", false),
            stored(None, "local@example.com", true),
        ];
        let list = [
            wanted("same", "same@example.com"),
            wanted("moved", "new@example.com"),
            wanted("new", "new-agent@example.com"),
        ];
        let plan = Plan::new(&agents, &list);
        let summary = plan.summary();
        assert_eq!(summary["created"], natter_sdk::serde_json::json!(["new"]));
        assert_eq!(summary["updated"], natter_sdk::serde_json::json!(["moved"]));
        assert_eq!(summary["disabled"], natter_sdk::serde_json::json!(["gone"]));
        assert_eq!(
            summary["unchanged"],
            natter_sdk::serde_json::json!(["same"])
        );
        assert_eq!(plan.writes().len(), 3);
    }
}
