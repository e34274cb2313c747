//! Reading request bodies into [`AgentFields`], with an error per bad field named by its path
//! (`agents[1].email`), so an integrator sees every mistake of a list at once.

use std::collections::BTreeSet;

use natter_sdk::FieldError;
use natter_sdk::host::AgentFields;
use natter_sdk::serde_json::{Map, Value, json};

/// Longest external id, email, name or group accepted.
const MAX_TEXT: usize = 256;

/// `{"agents":[…]}`: the full list of a sync.
pub fn sync_list(body: Value) -> Result<Vec<AgentFields>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(list) = body.get("agents").and_then(Value::as_array) else {
        return Err(vec![error("agents", "must be a list of agents")]);
    };
    let mut seen = BTreeSet::new();
    let mut agents = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let prefix = format!("agents[{i}]");
        let Some(object) = item.as_object() else {
            errors.push(error(&prefix, "must be an object"));
            continue;
        };
        let external_id = text(object, &prefix, "externalId", &mut errors);
        if let Some(id) = &external_id
            && !seen.insert(id.clone())
        {
            errors.push(error(
                &format!("{prefix}.externalId"),
                "appears twice in the list",
            ));
        }
        if let Some(fields) = fields(external_id, object, &prefix, &mut errors) {
            agents.push(fields);
        }
    }
    if errors.is_empty() {
        Ok(agents)
    } else {
        Err(errors)
    }
}

/// `{"email","name","groups","enabled"}` for the agent whose external id is in the path.
pub fn one(external_id: &str, body: Value) -> Result<AgentFields, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![error("body", "must be an object")]);
    };
    let mut errors = Vec::new();
    if let Some(inside) = object.get("externalId")
        && inside.as_str() != Some(external_id)
    {
        errors.push(error(
            "externalId",
            "must equal the external id in the path, or be left out",
        ));
    }
    let checked = check_text(external_id, "externalId", &mut errors);
    let fields = fields(checked, object, "", &mut errors);
    match fields {
        Some(fields) if errors.is_empty() => Ok(fields),
        _ => Err(errors),
    }
}

fn fields(
    external_id: Option<String>,
    object: &Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<AgentFields> {
    let email = text(object, prefix, "email", errors);
    if let Some(email) = &email
        && !looks_like_email(email)
    {
        errors.push(error(&path(prefix, "email"), "must be an email address"));
    }
    let name = text(object, prefix, "name", errors);
    let groups = groups(object.get("groups"), &path(prefix, "groups"), errors);
    let enabled = match object.get("enabled") {
        None | Some(Value::Null) => Some(true),
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(error(&path(prefix, "enabled"), "must be true or false"));
            None
        }
    };
    Some(AgentFields {
        external_id: external_id?,
        email: email.filter(|e| looks_like_email(e))?,
        name: name?,
        groups: groups?,
        enabled: enabled?,
    })
}

fn text(
    object: &Map<String, Value>,
    prefix: &str,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let field = path(prefix, key);
    match object.get(key).and_then(Value::as_str) {
        Some(value) => check_text(value, &field, errors),
        None => {
            errors.push(error(&field, "is required and must be text"));
            None
        }
    }
}

fn check_text(value: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        errors.push(error(field, "must not be empty"));
        return None;
    }
    if value.len() > MAX_TEXT {
        errors.push(error(field, &format!("must be at most {MAX_TEXT} bytes")));
        return None;
    }
    Some(value.to_owned())
}

/// Groups as a set: sorted, without duplicates, so a reordered list is not a change.
fn groups(value: Option<&Value>, field: &str, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Some(Vec::new());
    };
    let Some(items) = value.as_array() else {
        errors.push(error(field, "must be a list of group names"));
        return None;
    };
    let mut groups = BTreeSet::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_field = format!("{field}[{i}]");
        match item.as_str() {
            Some(name) => match check_text(name, &item_field, errors) {
                Some(name) => {
                    groups.insert(name);
                }
                None => ok = false,
            },
            None => {
                errors.push(error(&item_field, "must be text"));
                ok = false;
            }
        }
    }
    ok.then(|| groups.into_iter().collect())
}

fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !value.contains(' ')
        }
        None => false,
    }
}

fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn agent_properties(with_external_id: bool) -> Value {
    let mut properties = json!({
        "email": { "type": "string", "format": "email" },
        "name": { "type": "string" },
        "groups": { "type": "array", "items": { "type": "string" }, "default": [] },
        "enabled": { "type": "boolean", "default": true }
    });
    if with_external_id {
        properties["externalId"] =
            json!({ "type": "string", "description": "the integrator's id" });
    }
    properties
}

/// JSON Schema of the sync body.
pub fn sync_schema() -> Value {
    json!({
        "type": "object",
        "required": ["agents"],
        "properties": {
            "agents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["externalId", "email", "name"],
                    "properties": agent_properties(true)
                }
            }
        }
    })
}

/// JSON Schema of the one-agent body.
pub fn one_schema() -> Value {
    json!({
        "type": "object",
        "required": ["email", "name"],
        "properties": agent_properties(true)
    })
}

#[cfg(test)]
mod tests {
    use natter_sdk::serde_json::json;

    use crate::input::{one, sync_list};

    #[test]
    fn every_bad_field_is_named_by_its_path() {
        let body = json!({ "agents": [
            { "externalId": "a", "email": "a@example.com", "name": "A" },
            { "externalId": "b", "email": "not-an-email", "name": "B" },
            { "externalId": "a", "email": "c@example.com", "name": "", "groups": ["x", 3] },
        ]});
        let errors = sync_list(body).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "agents[1].email",
                "agents[2].externalId",
                "agents[2].name",
                "agents[2].groups[1]"
            ]
        );
    }

    #[test]
    fn groups_are_a_set_and_enabled_defaults_to_true() {
        let body = json!({ "agents": [
            { "externalId": "a", "email": "a@example.com", "name": "A", "groups": ["b", "a", "b"] },
        ]});
        let agents = sync_list(body).expect("valid");
        assert_eq!(agents[0].groups, ["a", "b"]);
        assert!(agents[0].enabled);
    }

    #[test]
    fn one_agent_takes_its_external_id_from_the_path() {
        let fields = one("x-1", json!({ "email": "x@example.com", "name": "X" })).expect("valid");
        assert_eq!(fields.external_id, "x-1");
        let errors = one(
            "x-1",
            json!({ "externalId": "x-2", "email": "x@example.com", "name": "X" }),
        )
        .expect_err("mismatch");
        assert_eq!(errors[0].field, "externalId");
    }
}
