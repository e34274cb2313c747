//! The co-browse configuration: fields, defaults, limits, the JSON Schema admins see, and validation.

use natter_sdk::FieldError;
use natter_sdk::config::{Fields, text};
use serde::Serialize;
use serde_json::{Value, json};

pub const DEFAULT_CONSENT_TEXT: &str = "An agent would like to see this page with you to help. \
Passwords and card details stay hidden. Allow?";
pub const DEFAULT_TIME_LIMIT_SECONDS: u64 = 1800;
pub const DEFAULT_MAX_EVENT_BYTES: u64 = 200_000;

const CONSENT_TEXT_MAX: usize = 500;
const SELECTOR_MAX: usize = 200;
const TIME_LIMIT: (u64, u64) = (60, 86_400);
const EVENT_BYTES: (u64, u64) = (1_024, 1_048_576);

/// A configuration that passed validation, every field filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub enabled: bool,
    pub consent_text: String,
    /// CSS selectors of further elements to mask, on top of the built-in ones.
    pub mask_selectors: Vec<String>,
    pub allow_remote_control: bool,
    pub session_time_limit_seconds: u64,
    pub max_event_bytes: u64,
}

impl Config {
    pub fn parse(json: &str) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::parse(json)?;
        let config = Self {
            enabled: fields.bool("enabled", true),
            consent_text: fields.string("consent_text", DEFAULT_CONSENT_TEXT, |v| {
                text(v, 1, CONSENT_TEXT_MAX, true)
            }),
            mask_selectors: fields.strings("mask_selectors", selector),
            allow_remote_control: fields.bool("allow_remote_control", true),
            session_time_limit_seconds: fields.integer(
                "session_time_limit_seconds",
                DEFAULT_TIME_LIMIT_SECONDS,
                TIME_LIMIT.0,
                TIME_LIMIT.1,
            ),
            max_event_bytes: fields.integer(
                "max_event_bytes",
                DEFAULT_MAX_EVENT_BYTES,
                EVENT_BYTES.0,
                EVENT_BYTES.1,
            ),
        };
        fields.finish().map(|()| config)
    }
}

/// A selector goes into `querySelectorAll` in the visitor's browser: it must be one line and cannot close
/// a rule block (it is never put into a style sheet, but a brace is always a mistake here).
fn selector(value: &str) -> Result<(), String> {
    if value.trim().is_empty() || value.len() > SELECTOR_MAX {
        return Err(format!(
            "must be a CSS selector of 1 to {SELECTOR_MAX} characters"
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() || c == '{' || c == '}')
    {
        return Err("must be a CSS selector without braces or line breaks".to_owned());
    }
    Ok(())
}

/// The JSON Schema (draft 2020-12) of the configuration, with the defaults.
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Co-browsing",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "enabled": {"type": "boolean", "default": true,
                "description": "Whether agents can start co-browsing."},
            "consent_text": {"type": "string", "minLength": 1, "maxLength": CONSENT_TEXT_MAX,
                "default": DEFAULT_CONSENT_TEXT,
                "description": "What the visitor is asked before anything of their page is sent."},
            "mask_selectors": {"type": "array", "default": [],
                "items": {"type": "string", "minLength": 1, "maxLength": SELECTOR_MAX},
                "description": "CSS selectors of elements to mask, on top of password fields, payment-card fields and [data-natter-mask]."},
            "allow_remote_control": {"type": "boolean", "default": true,
                "description": "Whether the visitor may be offered to let the agent scroll, click and type."},
            "session_time_limit_seconds": {"type": "integer", "minimum": TIME_LIMIT.0,
                "maximum": TIME_LIMIT.1, "default": DEFAULT_TIME_LIMIT_SECONDS,
                "description": "A session ends by itself after this long."},
            "max_event_bytes": {"type": "integer", "minimum": EVENT_BYTES.0,
                "maximum": EVENT_BYTES.1, "default": DEFAULT_MAX_EVENT_BYTES,
                "description": "A recorded event larger than this is dropped by the server-side filter."}
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, DEFAULT_TIME_LIMIT_SECONDS, schema};

    #[test]
    fn empty_takes_the_defaults_and_schema_agrees() {
        let config = Config::parse("{}").expect("defaults");
        assert!(config.enabled && config.allow_remote_control);
        assert_eq!(
            config.session_time_limit_seconds,
            DEFAULT_TIME_LIMIT_SECONDS
        );
        let schema = schema();
        assert_eq!(
            schema["properties"]["session_time_limit_seconds"]["default"],
            DEFAULT_TIME_LIMIT_SECONDS
        );
        assert_eq!(
            schema["properties"]["consent_text"]["default"],
            config.consent_text
        );
    }

    #[test]
    fn names_every_bad_field() {
        let errors = Config::parse(
            r##"{"mask_selectors":["#ok","a{}"],"session_time_limit_seconds":5,"colour":1}"##,
        )
        .expect_err("bad");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["mask_selectors.1", "session_time_limit_seconds", "colour"]
        );
    }
}
