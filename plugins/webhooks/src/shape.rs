//! The configuration and what it does to an event. Pure, so it is unit-tested natively.

use natter_sdk::FieldError;
use natter_sdk::integration::PlatformEvent;
use natter_sdk::serde_json::{self, Map, Value, json};

/// How message bodies travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageBody {
    /// As written.
    Full,
    /// Left out: receivers get the message's id and author, and fetch the text if they may.
    Omit,
    /// Cut to this many characters, with `bodyTruncated: true`.
    Truncate(usize),
}

/// What a body looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub message_body: MessageBody,
    /// Fixed fields added to every event's `data` (a tenant or account id a receiver routes on).
    pub extra: Map<String, Value>,
    /// `{"id","type","timestamp", ...data}` instead of the envelope.
    pub flat: bool,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            message_body: MessageBody::Full,
            extra: Map::new(),
            flat: false,
        }
    }
}

/// Longest `truncate_at`.
const MAX_TRUNCATE: u64 = 100_000;
/// Most extra fields.
const MAX_EXTRA: usize = 20;

pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "message_body": {
                "type": "string", "enum": ["full", "omit", "truncate"], "default": "full",
                "description": "full: as written; omit: left out; truncate: cut to truncate_at characters"
            },
            "truncate_at": { "type": "integer", "minimum": 1, "maximum": MAX_TRUNCATE, "default": 200 },
            "extra": {
                "type": "object", "maxProperties": MAX_EXTRA, "default": {},
                "description": "fixed fields added to every event's data, e.g. {\"account\": \"acme\"}"
            },
            "flat": {
                "type": "boolean", "default": false,
                "description": "send {id, type, timestamp, ...data} instead of the envelope"
            }
        }
    })
}

impl Shape {
    /// Reads a configuration document; every bad field is reported.
    pub fn parse(config: &str) -> Result<Self, Vec<FieldError>> {
        let value: Value =
            serde_json::from_str(config).map_err(|e| vec![error("", &format!("not JSON: {e}"))])?;
        let Some(object) = value.as_object() else {
            return Err(vec![error("", "must be an object")]);
        };
        let mut errors = Vec::new();
        for key in object.keys() {
            if !["message_body", "truncate_at", "extra", "flat"].contains(&key.as_str()) {
                errors.push(error(key, "is not a setting of this plugin"));
            }
        }
        let truncate_at = match object.get("truncate_at") {
            None => 200,
            Some(v) => match v.as_u64().filter(|n| (1..=MAX_TRUNCATE).contains(n)) {
                Some(n) => usize::try_from(n).unwrap_or(200),
                None => {
                    errors.push(error(
                        "truncate_at",
                        &format!("must be a whole number from 1 to {MAX_TRUNCATE}"),
                    ));
                    200
                }
            },
        };
        let message_body = match object.get("message_body").map(Value::as_str) {
            None | Some(Some("full")) => MessageBody::Full,
            Some(Some("omit")) => MessageBody::Omit,
            Some(Some("truncate")) => MessageBody::Truncate(truncate_at),
            Some(_) => {
                errors.push(error("message_body", "must be full, omit or truncate"));
                MessageBody::Full
            }
        };
        let extra = match object.get("extra") {
            None => Map::new(),
            Some(Value::Object(extra)) if extra.len() <= MAX_EXTRA => {
                for key in extra.keys() {
                    if RESERVED.contains(&key.as_str()) {
                        errors.push(error(
                            &format!("extra.{key}"),
                            "is a field events already carry",
                        ));
                    }
                }
                extra.clone()
            }
            Some(_) => {
                errors.push(error(
                    "extra",
                    &format!("must be an object of at most {MAX_EXTRA} fields"),
                ));
                Map::new()
            }
        };
        let flat = match object.get("flat") {
            None => false,
            Some(Value::Bool(flat)) => *flat,
            Some(_) => {
                errors.push(error("flat", "must be true or false"));
                false
            }
        };
        if errors.is_empty() {
            Ok(Self {
                message_body,
                extra,
                flat,
            })
        } else {
            Err(errors)
        }
    }

    /// The body for one event.
    pub fn apply(&self, event: PlatformEvent) -> Result<String, String> {
        if *self == Self::default() {
            return Ok(event.envelope());
        }
        let mut data: Value = serde_json::from_str(&event.data)
            .map_err(|e| format!("the event's data is not JSON: {e}"))?;
        if let Some(message) = data.get_mut("message").and_then(Value::as_object_mut) {
            match self.message_body {
                MessageBody::Full => {}
                MessageBody::Omit => {
                    message.remove("body");
                }
                MessageBody::Truncate(limit) => {
                    let body = message
                        .get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if body.chars().count() > limit {
                        let cut: String = body.chars().take(limit).collect();
                        message.insert("body".into(), Value::String(cut));
                        message.insert("bodyTruncated".into(), Value::Bool(true));
                    }
                }
            }
        }
        if let Some(object) = data.as_object_mut() {
            for (key, value) in &self.extra {
                object.insert(key.clone(), value.clone());
            }
        }
        let body = if self.flat {
            let mut flat = Map::new();
            flat.insert("id".into(), json!(event.id));
            flat.insert("type".into(), json!(event.type_));
            flat.insert("timestamp".into(), json!(event.timestamp));
            if let Value::Object(data) = data {
                flat.extend(data);
            }
            Value::Object(flat)
        } else {
            json!({ "id": event.id, "type": event.type_, "timestamp": event.timestamp, "data": data })
        };
        Ok(body.to_string())
    }
}

/// Keys of events' data (and of flat bodies) that extra fields may not overwrite.
const RESERVED: [&str; 16] = [
    "id",
    "type",
    "timestamp",
    "conversationId",
    "customerId",
    "siteId",
    "visitorId",
    "status",
    "assigneeId",
    "lastSeq",
    "message",
    "assignee",
    "externalId",
    "email",
    "labels",
    "updatedAt",
];

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn event() -> PlatformEvent {
        PlatformEvent {
            id: "e1".into(),
            type_: "message.created".into(),
            timestamp: "2026-11-26T10:00:00Z".into(),
            data: r#"{"conversationId":"c1","customerId":"k1","message":{"seq":1,"body":"hello there"}}"#
                .into(),
        }
    }

    #[test]
    fn the_default_sends_the_envelope_unchanged() {
        let shape = Shape::parse("{}").unwrap();
        assert_eq!(shape, Shape::default());
        let body = shape.apply(event()).unwrap();
        assert_eq!(
            body,
            r#"{"id":"e1","type":"message.created","timestamp":"2026-11-26T10:00:00Z","data":{"conversationId":"c1","customerId":"k1","message":{"seq":1,"body":"hello there"}}}"#
        );
    }

    #[test]
    fn message_bodies_can_be_left_out_or_cut() {
        let omit = Shape::parse(r#"{"message_body":"omit"}"#).unwrap();
        let body: Value = serde_json::from_str(&omit.apply(event()).unwrap()).unwrap();
        assert!(body["data"]["message"].get("body").is_none());
        assert_eq!(body["data"]["message"]["seq"], 1);

        let cut = Shape::parse(r#"{"message_body":"truncate","truncate_at":5}"#).unwrap();
        let body: Value = serde_json::from_str(&cut.apply(event()).unwrap()).unwrap();
        assert_eq!(body["data"]["message"]["body"], "hello");
        assert_eq!(body["data"]["message"]["bodyTruncated"], true);
    }

    #[test]
    fn extra_fields_and_flat_bodies() {
        let shape = Shape::parse(r#"{"extra":{"account":"acme"},"flat":true}"#).unwrap();
        let body: Value = serde_json::from_str(&shape.apply(event()).unwrap()).unwrap();
        assert_eq!(body["type"], "message.created");
        assert_eq!(body["account"], "acme");
        assert_eq!(body["customerId"], "k1");
        assert!(body.get("data").is_none());
    }

    #[test]
    fn bad_settings_are_named() {
        let errors = Shape::parse(
            r#"{"message_body":"some","truncate_at":0,"extra":{"customerId":1},"flat":"yes","colour":1}"#,
        )
        .unwrap_err();
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "colour",
                "extra.customerId",
                "flat",
                "message_body",
                "truncate_at"
            ]
        );
    }
}
