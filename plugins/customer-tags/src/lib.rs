//! Customer tagging, a built-in integration plugin: integrators re-identify their customers in Natter and
//! keep their name, email and labels. `PUT /api/v1/customers/{id}` upserts by the integrator's id;
//! labels are replaced, added or removed; `GET` reads one customer back.
//!
//! Body checks and label arithmetic live in [`input`] (unit-tested natively); this file maps routes to
//! host calls and shapes answers.

mod input;

use natter_sdk::host::{self, Customer, CustomerFields};
use natter_sdk::integration::{HttpMethod, Registration, Request, Response, Route, RouteError};
use natter_sdk::serde_json::{Value, json};
use natter_sdk::{FieldError, Integration, Manifest, Plugin, capability};

use crate::input::{LabelChange, Patch};

const ONE: &str = "/customers/{id}";
const LABELS: &str = "/customers/{id}/labels";
const ONE_LABEL: &str = "/customers/{id}/labels/{label}";

/// The plugin, as exported to the host.
pub struct CustomerTags;

impl Plugin for CustomerTags {
    fn manifest() -> Manifest {
        natter_sdk::manifest!(Integration, "customer-tags")
            .description("Identifies customers by the integrator's id and keeps their name, email and labels.")
            .capability(capability::CUSTOMERS_READ)
            .capability(capability::CUSTOMERS_WRITE)
            .build()
    }

    fn config_schema() -> String {
        json!({ "type": "object", "additionalProperties": false }).to_string()
    }

    fn validate_config(_config: &str) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
}

impl Integration for CustomerTags {
    fn registration() -> Registration {
        let route =
            |method, path: &str, summary: &str, scope: &str, request: Option<Value>| Route {
                method,
                path: path.to_owned(),
                summary: summary.to_owned(),
                scope: scope.to_owned(),
                request_schema: request.map(|schema| schema.to_string()),
                response_schema: customer_schema().to_string(),
            };
        Registration {
            routes: vec![
                route(
                    HttpMethod::Get,
                    ONE,
                    "One customer by the integrator's id",
                    "customers:read",
                    None,
                ),
                route(
                    HttpMethod::Put,
                    ONE,
                    "Create or update a customer by the integrator's id; labels replaced, added or removed",
                    "customers:write",
                    Some(put_schema()),
                ),
                route(
                    HttpMethod::Post,
                    LABELS,
                    "Add labels to a customer",
                    "customers:write",
                    Some(labels_schema()),
                ),
                route(
                    HttpMethod::Delete,
                    ONE_LABEL,
                    "Remove one label from a customer",
                    "customers:write",
                    None,
                ),
            ],
            events: Vec::new(),
        }
    }

    fn handle(_config: &str, request: Request) -> Result<Response, RouteError> {
        let id = request.param("id").unwrap_or_default().to_owned();
        if id.trim().is_empty() || id.len() > 256 {
            return Err(invalid("id", "must be 1 to 256 bytes"));
        }
        match (request.method, request.route.as_str()) {
            (HttpMethod::Get, ONE) => {
                let customer = find(&id)?;
                Ok(Response::json(200, &customer_json(&customer, None)))
            }
            (HttpMethod::Put, ONE) => put(&id, &request.json_body()?),
            (HttpMethod::Post, LABELS) => {
                let add =
                    input::labels_to_add(&request.json_body()?).map_err(RouteError::Invalid)?;
                edit_labels(
                    &id,
                    &LabelChange::Edit {
                        add,
                        remove: Vec::new(),
                    },
                )
            }
            (HttpMethod::Delete, ONE_LABEL) => {
                let label = input::label(request.param("label").unwrap_or_default(), "label")
                    .map_err(|e| RouteError::Invalid(vec![e]))?;
                edit_labels(
                    &id,
                    &LabelChange::Edit {
                        add: Vec::new(),
                        remove: vec![label],
                    },
                )
            }
            _ => Err(RouteError::NotFound("route".to_owned())),
        }
    }
}

natter_sdk::export_integration!(CustomerTags);

/// `PUT /customers/{id}`: fields left out keep their stored value, `null` clears one.
fn put(id: &str, body: &Value) -> Result<Response, RouteError> {
    let put = input::put(id, body).map_err(RouteError::Invalid)?;
    let stored = host::customer_get(id)?;
    let keep = |patch: Patch<Option<String>>, current: Option<&String>| match patch {
        Patch::Keep => current.cloned(),
        Patch::Set(value) => value,
    };
    let current = stored.as_ref();
    let fields = CustomerFields {
        external_id: id.to_owned(),
        email: keep(put.email, current.and_then(|c| c.email.as_ref())),
        firstname: keep(put.firstname, current.and_then(|c| c.firstname.as_ref())),
        lastname: keep(put.lastname, current.and_then(|c| c.lastname.as_ref())),
        labels: input::apply(current.map_or(&[][..], |c| &c.labels), &put.labels),
    };
    let saved = host::customer_save(&fields)?;
    let change = match &stored {
        None => "created",
        Some(before) if same(before, &saved) => "unchanged",
        Some(_) => "updated",
    };
    let status = if stored.is_none() { 201 } else { 200 };
    Ok(Response::json(status, &customer_json(&saved, Some(change))))
}

/// Adds and removes labels of a customer that must exist.
fn edit_labels(id: &str, change: &LabelChange) -> Result<Response, RouteError> {
    let stored = find(id)?;
    let labels = input::apply(&stored.labels, change);
    if labels.len() > input::MAX_LABELS {
        return Err(invalid(
            "labels",
            &format!("a customer has at most {} labels", input::MAX_LABELS),
        ));
    }
    let saved = host::customer_save(&CustomerFields {
        external_id: id.to_owned(),
        email: stored.email.clone(),
        firstname: stored.firstname.clone(),
        lastname: stored.lastname.clone(),
        labels,
    })?;
    let change = if same(&stored, &saved) {
        "unchanged"
    } else {
        "updated"
    };
    Ok(Response::json(200, &customer_json(&saved, Some(change))))
}

fn find(id: &str) -> Result<Customer, RouteError> {
    host::customer_get(id)?.ok_or_else(|| RouteError::NotFound("customer".to_owned()))
}

fn same(a: &Customer, b: &Customer) -> bool {
    a.email == b.email
        && a.firstname == b.firstname
        && a.lastname == b.lastname
        && a.labels == b.labels
}

fn invalid(field: &str, message: &str) -> RouteError {
    RouteError::Invalid(vec![FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }])
}

/// `id` is the integrator's id (as in the request), `customerId` Natter's (as in webhook payloads and
/// the agent link API).
fn customer_json(customer: &Customer, change: Option<&str>) -> Value {
    let mut answer = json!({
        "id": customer.external_id,
        "customerId": customer.id,
        "email": customer.email,
        "firstname": customer.firstname,
        "lastname": customer.lastname,
        "labels": customer.labels,
    });
    if let Some(change) = change {
        answer["change"] = json!(change);
    }
    answer
}

fn customer_schema() -> Value {
    let text = json!({ "type": ["string", "null"] });
    json!({
        "type": "object",
        "required": ["id", "customerId", "email", "firstname", "lastname", "labels"],
        "properties": {
            "id": { "type": "string", "description": "the integrator's id" },
            "customerId": { "type": "string", "format": "uuid", "description": "Natter's id (webhooks, agent links)" },
            "email": text,
            "firstname": text,
            "lastname": text,
            "labels": { "type": "array", "items": { "type": "string" } },
            "change": { "type": "string", "enum": ["created", "updated", "unchanged"] }
        }
    })
}

fn label_list() -> Value {
    json!({ "type": "array", "maxItems": input::MAX_LABELS,
        "items": { "type": "string", "minLength": 1, "maxLength": input::MAX_LABEL } })
}

fn put_schema() -> Value {
    let text = json!({ "type": ["string", "null"], "maxLength": 256,
        "description": "left out: kept; null: cleared" });
    json!({
        "type": "object",
        "properties": {
            "id": { "type": "string", "description": "if given, must equal the id in the path" },
            "email": text,
            "firstname": text,
            "lastname": text,
            "labels": {
                "description": "a list replaces the labels; {\"add\", \"remove\"} changes them; left out: kept",
                "oneOf": [
                    label_list(),
                    { "type": "object", "additionalProperties": false,
                      "properties": { "add": label_list(), "remove": label_list() } }
                ]
            }
        }
    })
}

fn labels_schema() -> Value {
    json!({ "type": "object", "required": ["labels"], "properties": { "labels": label_list() } })
}
