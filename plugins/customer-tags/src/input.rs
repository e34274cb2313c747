//! Reading `PUT /customers/{id}` bodies: `{"id","email","firstname","lastname","labels"}`, the shape
//! integrators already send. Every bad field is reported by name; fields the plugin does not know are
//! ignored, so a richer body from an existing integration still works.

use natter_sdk::FieldError;
use natter_sdk::serde_json::{Map, Value};

/// Longest email or name accepted (the host's own limit).
const MAX_TEXT: usize = 256;
/// Longest label.
pub const MAX_LABEL: usize = 64;
/// Most labels one customer may have.
pub const MAX_LABELS: usize = 100;

/// A field of the body: left out (keep what is stored), `null` (clear it) or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch<T> {
    Keep,
    Set(T),
}

/// What to do with the labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelChange {
    Keep,
    /// `"labels": [...]`: exactly these.
    Replace(Vec<String>),
    /// `"labels": {"add": [...], "remove": [...]}`.
    Edit {
        add: Vec<String>,
        remove: Vec<String>,
    },
}

/// A checked `PUT` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPut {
    pub email: Patch<Option<String>>,
    pub firstname: Patch<Option<String>>,
    pub lastname: Patch<Option<String>>,
    pub labels: LabelChange,
}

pub fn put(external_id: &str, body: &Value) -> Result<CustomerPut, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![error("body", "must be an object")]);
    };
    let mut errors = Vec::new();
    match object.get("id") {
        None => {}
        Some(Value::String(id)) if id == external_id => {}
        Some(_) => errors.push(error(
            "id",
            "must equal the customer id in the path, or be left out",
        )),
    }
    let email = optional_text(object, "email", &mut errors);
    if let Patch::Set(Some(email)) = &email
        && !looks_like_email(email)
    {
        errors.push(error("email", "must be an email address"));
    }
    let firstname = optional_text(object, "firstname", &mut errors);
    let lastname = optional_text(object, "lastname", &mut errors);
    let labels = match object.get("labels") {
        None | Some(Value::Null) => LabelChange::Keep,
        Some(Value::Array(_)) => LabelChange::Replace(label_list(object, "labels", &mut errors)),
        Some(Value::Object(edit)) => {
            for key in edit.keys().filter(|k| *k != "add" && *k != "remove") {
                errors.push(error(&format!("labels.{key}"), "is not `add` or `remove`"));
            }
            LabelChange::Edit {
                add: optional_label_list(edit, "labels.add", "add", &mut errors),
                remove: optional_label_list(edit, "labels.remove", "remove", &mut errors),
            }
        }
        Some(_) => {
            errors.push(error(
                "labels",
                "must be a list of labels, or {\"add\": [...], \"remove\": [...]}",
            ));
            LabelChange::Keep
        }
    };
    if errors.is_empty() {
        Ok(CustomerPut {
            email,
            firstname,
            lastname,
            labels,
        })
    } else {
        Err(errors)
    }
}

/// `{"labels": [...]}` of `POST /customers/{id}/labels`.
pub fn labels_to_add(body: &Value) -> Result<Vec<String>, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![error("body", "must be an object")]);
    };
    let mut errors = Vec::new();
    if !object.get("labels").is_some_and(Value::is_array) {
        return Err(vec![error("labels", "must be a list of labels")]);
    }
    let labels = label_list(object, "labels", &mut errors);
    if errors.is_empty() {
        Ok(labels)
    } else {
        Err(errors)
    }
}

/// Checks one label given in a path (`DELETE /customers/{id}/labels/{label}`).
pub fn label(text: &str, field: &str) -> Result<String, FieldError> {
    let label = text.trim();
    if label.is_empty() || label.len() > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(error(
            field,
            &format!("must be 1 to {MAX_LABEL} bytes without control characters"),
        ));
    }
    Ok(label.to_owned())
}

/// Applies a label change to the stored labels: sorted, without duplicates.
pub fn apply(stored: &[String], change: &LabelChange) -> Vec<String> {
    let mut labels: Vec<String> = match change {
        LabelChange::Keep => stored.to_vec(),
        LabelChange::Replace(labels) => labels.clone(),
        LabelChange::Edit { add, remove } => stored
            .iter()
            .chain(add)
            .filter(|l| !remove.contains(l))
            .cloned()
            .collect(),
    };
    labels.sort();
    labels.dedup();
    labels
}

fn optional_text(
    object: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Patch<Option<String>> {
    match object.get(key) {
        None => Patch::Keep,
        Some(Value::Null) => Patch::Set(None),
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.len() > MAX_TEXT || text.chars().any(char::is_control) {
                errors.push(error(
                    key,
                    &format!("must be at most {MAX_TEXT} bytes without control characters"),
                ));
            }
            Patch::Set(Some(text.to_owned()).filter(|t| !t.is_empty()))
        }
        Some(_) => {
            errors.push(error(key, "must be a string or null"));
            Patch::Keep
        }
    }
}

fn optional_label_list(
    object: &Map<String, Value>,
    path: &str,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    match object.get(key) {
        None => Vec::new(),
        Some(Value::Array(_)) => label_list_at(object, path, key, errors),
        Some(_) => {
            errors.push(error(path, "must be a list of labels"));
            Vec::new()
        }
    }
}

fn label_list(object: &Map<String, Value>, key: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    label_list_at(object, key, key, errors)
}

fn label_list_at(
    object: &Map<String, Value>,
    path: &str,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    let items = object
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.len() > MAX_LABELS {
        errors.push(error(
            path,
            &format!("must have at most {MAX_LABELS} labels"),
        ));
        return Vec::new();
    }
    let mut labels = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{path}[{i}]");
        match item.as_str().map(|text| label(text, &field)) {
            Some(Ok(label)) => labels.push(label),
            Some(Err(e)) => errors.push(e),
            None => errors.push(error(&field, "must be a string")),
        }
    }
    labels
}

fn looks_like_email(text: &str) -> bool {
    let mut parts = text.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use natter_sdk::serde_json::json;

    use super::*;

    #[test]
    fn a_full_body_sets_every_field_and_replaces_labels() {
        let body = json!({"id": "c-1", "email": "ada@example.com", "firstname": "Ada",
            "lastname": null, "labels": ["vip", "beta"], "plan": "ignored"});
        let put = put("c-1", &body).unwrap();
        assert_eq!(put.email, Patch::Set(Some("ada@example.com".into())));
        assert_eq!(put.lastname, Patch::Set(None));
        assert_eq!(
            put.labels,
            LabelChange::Replace(vec!["vip".into(), "beta".into()])
        );
        assert_eq!(apply(&["old".into()], &put.labels), ["beta", "vip"]);
    }

    #[test]
    fn left_out_fields_keep_what_is_stored() {
        let put = put("c-1", &json!({})).unwrap();
        assert_eq!(put.email, Patch::Keep);
        assert_eq!(put.labels, LabelChange::Keep);
        assert_eq!(apply(&["vip".into()], &put.labels), ["vip"]);
    }

    #[test]
    fn labels_can_be_added_and_removed() {
        let put = put(
            "c-1",
            &json!({"labels": {"add": ["new", "vip"], "remove": ["trial"]}}),
        )
        .unwrap();
        let stored = vec!["trial".to_string(), "vip".to_string()];
        assert_eq!(apply(&stored, &put.labels), ["new", "vip"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let body = json!({"id": "other", "email": "not-an-email", "firstname": 7,
            "labels": ["ok", "", 3]});
        let errors = put("c-1", &body).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["id", "email", "firstname", "labels[1]", "labels[2]"]
        );
        let errors = put("c-1", &json!({"labels": {"plus": ["x"]}})).unwrap_err();
        assert_eq!(errors[0].field, "labels.plus");
        let errors = put("c-1", &json!({"labels": "vip"})).unwrap_err();
        assert_eq!(errors[0].field, "labels");
        assert_eq!(put("c-1", &json!([])).unwrap_err()[0].field, "body");
    }
}
