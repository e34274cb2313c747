//! Agent sync, a built-in integration plugin: `PUT /api/v1/agents/sync` makes the stored agents equal to an
//! integrator's full list; `PUT` and `DELETE /api/v1/agents/{externalId}` change one agent.
//!
//! The plan (what to create, update, disable) is computed in [`sync`] without the host, so it is unit-tested
//! natively; this file parses requests, calls the host and shapes answers.

mod input;
mod sync;

use natter_sdk::host::{self, Agent, AgentFields};
use natter_sdk::integration::{HttpMethod, Registration, Request, Response, Route, RouteError};
use natter_sdk::serde_json::{Value, json};
use natter_sdk::{FieldError, Integration, Manifest, Plugin, capability};

use crate::sync::{Change, Plan};

const SYNC: &str = "/agents/sync";
const ONE: &str = "/agents/{externalId}";

/// The plugin, as exported to the host.
pub struct AgentSync;

impl Plugin for AgentSync {
    fn manifest() -> Manifest {
        natter_sdk::manifest!(Integration, "agent-sync")
            .description("Keeps agents equal to an integrator's list: create, update, disable.")
            .capability(capability::AGENTS_READ)
            .capability(capability::AGENTS_WRITE)
            .build()
    }

    fn config_schema() -> String {
        json!({ "type": "object", "additionalProperties": false }).to_string()
    }

    fn validate_config(_config: &str) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
}

impl Integration for AgentSync {
    fn registration() -> Registration {
        Registration {
            routes: vec![
                Route {
                    method: HttpMethod::Put,
                    path: SYNC.to_owned(),
                    summary: "Make the agents equal to this full list (create, update, disable)"
                        .to_owned(),
                    scope: "agents:write".to_owned(),
                    request_schema: Some(input::sync_schema().to_string()),
                    response_schema: sync_answer_schema().to_string(),
                },
                Route {
                    method: HttpMethod::Put,
                    path: ONE.to_owned(),
                    summary: "Create or update one agent by its external id".to_owned(),
                    scope: "agents:write".to_owned(),
                    request_schema: Some(input::one_schema().to_string()),
                    response_schema: agent_schema().to_string(),
                },
                Route {
                    method: HttpMethod::Delete,
                    path: ONE.to_owned(),
                    summary: "Disable one agent by its external id (its history stays)".to_owned(),
                    scope: "agents:write".to_owned(),
                    request_schema: None,
                    response_schema: agent_schema().to_string(),
                },
            ],
            events: Vec::new(),
        }
    }

    fn handle(_config: &str, request: Request) -> Result<Response, RouteError> {
        match (request.method, request.route.as_str()) {
            (HttpMethod::Put, SYNC) => sync_all(&request),
            (HttpMethod::Put, ONE) => put_one(&request),
            (HttpMethod::Delete, ONE) => disable_one(&request),
            _ => Err(RouteError::NotFound("route".to_owned())),
        }
    }
}

natter_sdk::export_integration!(AgentSync);

/// `PUT /agents/sync`
fn sync_all(request: &Request) -> Result<Response, RouteError> {
    let wanted = input::sync_list(request.json_body()?).map_err(RouteError::Invalid)?;
    let stored = host::agents_list()?;
    let plan = Plan::new(&stored, &wanted);
    for change in plan.writes() {
        host::agent_save(change)?;
    }
    Ok(Response::json(200, &plan.summary()))
}

/// `PUT /agents/{externalId}`
fn put_one(request: &Request) -> Result<Response, RouteError> {
    let external_id = request.param("externalId").unwrap_or_default();
    let wanted = input::one(external_id, request.json_body()?).map_err(RouteError::Invalid)?;
    let stored = host::agents_list()?;
    let current = stored
        .iter()
        .find(|a| a.external_id.as_deref() == Some(external_id));
    let change = sync::change(current, &wanted);
    let agent = match (change, current) {
        (Change::Unchanged, Some(agent)) => agent.clone(),
        _ => host::agent_save(&wanted)?,
    };
    let status = if change == Change::Created { 201 } else { 200 };
    let mut answer = agent_json(&agent);
    answer["change"] = json!(change.as_str());
    Ok(Response::json(status, &answer))
}

/// `DELETE /agents/{externalId}`: disables, never deletes.
fn disable_one(request: &Request) -> Result<Response, RouteError> {
    let external_id = request.param("externalId").unwrap_or_default();
    let stored = host::agents_list()?;
    let Some(agent) = stored
        .iter()
        .find(|a| a.external_id.as_deref() == Some(external_id))
    else {
        return Err(RouteError::NotFound("agent".to_owned()));
    };
    let agent = if agent.enabled {
        host::agent_save(&AgentFields {
            external_id: external_id.to_owned(),
            email: agent.email.clone(),
            name: agent.name.clone(),
            groups: agent.groups.clone(),
            enabled: false,
        })?
    } else {
        agent.clone()
    };
    Ok(Response::json(200, &agent_json(&agent)))
}

fn agent_json(agent: &Agent) -> Value {
    json!({
        "id": agent.id,
        "externalId": agent.external_id,
        "email": agent.email,
        "name": agent.name,
        "groups": agent.groups,
        "enabled": agent.enabled,
    })
}

fn agent_schema() -> Value {
    json!({
        "type": "object",
        "required": ["id", "externalId", "email", "name", "groups", "enabled"],
        "properties": {
            "id": { "type": "string", "format": "uuid" },
            "externalId": { "type": "string" },
            "email": { "type": "string" },
            "name": { "type": "string" },
            "groups": { "type": "array", "items": { "type": "string" } },
            "enabled": { "type": "boolean" },
            "change": { "type": "string", "enum": ["created", "updated", "unchanged"] }
        }
    })
}

fn sync_answer_schema() -> Value {
    let ids =
        json!({ "type": "array", "items": { "type": "string" }, "description": "external ids" });
    json!({
        "type": "object",
        "required": ["created", "updated", "disabled", "unchanged"],
        "properties": { "created": ids, "updated": ids, "disabled": ids, "unchanged": ids }
    })
}
