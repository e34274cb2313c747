//! Making agents and giving them roles: the checks shared by the REST API and the `natter agent`
//! command.

use crate::domain::DomainError;
use crate::domain::ids::AgentId;
use crate::domain::model::{Agent, AgentRole};
use crate::store::Store;
use crate::store::agents::NewAgent;

/// A new agent as asked for, before it is checked.
pub struct AgentRequest<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub external_id: Option<&'a str>,
    pub role: AgentRole,
}

/// Checks the request and stores the agent: 422 names the field, 409 for a taken external id.
pub async fn create(store: &Store, request: AgentRequest<'_>) -> Result<Agent, DomainError> {
    let email = request.email.trim();
    if !looks_like_email(email) {
        return Err(DomainError::invalid("email", "is not an email address"));
    }
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters"));
    }
    if let Some(external) = request.external_id {
        if external.is_empty() || external.len() > 200 {
            return Err(DomainError::invalid(
                "external_id",
                "must be 1 to 200 characters",
            ));
        }
        if store.agent_by_external_id(external).await?.is_some() {
            return Err(DomainError::Conflict(format!(
                "an agent with external_id `{external}` exists"
            )));
        }
    }
    Ok(store
        .create_agent(NewAgent {
            external_id: request.external_id.map(str::to_string),
            email: email.to_string(),
            name: name.to_string(),
            role: request.role,
        })
        .await?)
}

/// Gives an agent a role. The last enabled admin cannot lose it: nobody could then sign in to the
/// console's admin pages to make another.
pub async fn set_role(store: &Store, id: AgentId, role: AgentRole) -> Result<Agent, DomainError> {
    let agent = store
        .agent(id)
        .await?
        .ok_or(DomainError::NotFound("agent"))?;
    if agent.role == AgentRole::Admin && role == AgentRole::Agent {
        let other_admins = store
            .list_agents()
            .await?
            .iter()
            .filter(|a| a.id != id && a.enabled && a.role == AgentRole::Admin)
            .count();
        if other_admins == 0 {
            return Err(DomainError::Conflict(
                "this is the last admin: make another agent admin first".into(),
            ));
        }
    }
    store
        .set_agent_role(id, role)
        .await?
        .ok_or(DomainError::NotFound("agent"))
}

fn looks_like_email(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(looks_like_email("ann@example.com"));
        assert!(!looks_like_email("ann@localhost"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("ann example@example.com"));
    }
}
