//! Reading an admin's configuration document into typed values, collecting every bad field.
//!
//! Configuration comes from admins over REST, so nothing here panics on input: each accessor falls back to
//! the default and records a [`FieldError`] naming the field, and [`Fields::finish`] reports them all at once
//! together with fields the plugin does not know.

use serde_json::{Map, Value};

use crate::types::FieldError;

/// Builds a [`FieldError`].
pub fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Joins field errors into one line, for exports that answer with a single string (`render`).
pub fn describe(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            if e.field.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.field, e.message)
            }
        })
        .collect();
    format!("invalid configuration: {}", parts.join("; "))
}

/// A configuration document being read field by field.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    known: Vec<&'static str>,
    errors: Vec<FieldError>,
}

impl Fields {
    /// Parses a configuration document. Empty text counts as `{}`: every field takes its default.
    pub fn parse(json: &str) -> Result<Self, Vec<FieldError>> {
        if json.trim().is_empty() {
            return Ok(Self::from_map(Map::new()));
        }
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(map)) => Ok(Self::from_map(map)),
            Ok(_) => Err(vec![field_error(
                "",
                "the configuration must be a JSON object",
            )]),
            Err(e) => Err(vec![field_error(
                "",
                format!("the configuration is not valid JSON: {e}"),
            )]),
        }
    }

    fn from_map(map: Map<String, Value>) -> Self {
        Self {
            map,
            known: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// A string field, checked by `check` (return the message for the admin). Absent or `null` → `default`.
    pub fn string(
        &mut self,
        field: &'static str,
        default: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> String {
        self.known.push(field);
        match self.map.get(field) {
            None | Some(Value::Null) => default.to_owned(),
            Some(Value::String(value)) => match check(value) {
                Ok(()) => value.clone(),
                Err(message) => self.fail(field, message, default),
            },
            Some(other) => self.fail(
                field,
                format!("must be a string, not {}", kind(other)),
                default,
            ),
        }
    }

    /// A string field that must be one of `allowed`.
    pub fn one_of(&mut self, field: &'static str, default: &str, allowed: &[&str]) -> String {
        self.string(field, default, |value| {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "must be one of {}, not \"{value}\"",
                    quoted_list(allowed)
                ))
            }
        })
    }

    /// A boolean field.
    pub fn bool(&mut self, field: &'static str, default: bool) -> bool {
        self.known.push(field);
        match self.map.get(field) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(value)) => *value,
            Some(other) => {
                let message = format!("must be true or false, not {}", kind(other));
                self.errors.push(field_error(field, message));
                default
            }
        }
    }

    /// A whole number field within `min..=max`.
    pub fn integer(&mut self, field: &'static str, default: u64, min: u64, max: u64) -> u64 {
        self.known.push(field);
        match self.map.get(field) {
            None | Some(Value::Null) => default,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(value) if (min..=max).contains(&value) => value,
                _ => {
                    let message = format!("must be a whole number from {min} to {max}");
                    self.errors.push(field_error(field, message));
                    default
                }
            },
            Some(other) => {
                let message = format!("must be a whole number, not {}", kind(other));
                self.errors.push(field_error(field, message));
                default
            }
        }
    }

    /// A list of strings, each checked by `check`; a bad item is reported as `field.N`.
    pub fn strings(
        &mut self,
        field: &'static str,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Vec<String> {
        self.known.push(field);
        match self.map.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{field}.{i}");
                    match item {
                        Value::String(value) => match check(value) {
                            Ok(()) => out.push(value.clone()),
                            Err(message) => self.errors.push(field_error(&path, message)),
                        },
                        other => {
                            let message = format!("must be a string, not {}", kind(other));
                            self.errors.push(field_error(&path, message));
                        }
                    }
                }
                out
            }
            Some(other) => {
                let message = format!("must be a list of strings, not {}", kind(other));
                self.errors.push(field_error(field, message));
                Vec::new()
            }
        }
    }

    /// Records an error found by the plugin's own cross-field checks.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(field_error(field, message));
    }

    /// Ends reading: every recorded error, plus one per field the plugin did not ask for.
    pub fn finish(mut self) -> Result<(), Vec<FieldError>> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        for field in unknown {
            let message = format!(
                "unknown field; known fields are {}",
                quoted_list(&self.known)
            );
            self.errors.push(field_error(field, message));
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    fn fail(&mut self, field: &str, message: String, default: &str) -> String {
        self.errors.push(field_error(field, message));
        default.to_owned()
    }
}

/// Checks a `#rrggbb` colour.
pub fn hex_color(value: &str) -> Result<(), String> {
    let digits = value.strip_prefix('#').unwrap_or("");
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "must be a colour like #2563eb (# and six hex digits), not \"{value}\""
        ))
    }
}

/// Checks a text's length in characters; `min` 1 makes it required.
pub fn text(value: &str, min: usize, max: usize, multiline: bool) -> Result<(), String> {
    let chars = value.chars().count();
    if chars < min {
        return Err(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("needs at least {min} characters")
        });
    }
    if chars > max {
        return Err(format!("must be at most {max} characters, got {chars}"));
    }
    let allowed = |c: char| !c.is_control() || (multiline && c == '\n');
    if !value.chars().all(allowed) {
        return Err(if multiline {
            "must not contain control characters other than line breaks".to_owned()
        } else {
            "must be one line without control characters".to_owned()
        });
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::config::{Fields, hex_color, text};

    #[test]
    fn empty_text_takes_every_default() {
        let mut fields = Fields::parse("  ").expect("empty is {}");
        assert_eq!(fields.string("color", "#000000", hex_color), "#000000");
        assert!(fields.finish().is_ok());
    }

    #[test]
    fn reports_every_bad_field_and_unknown_ones() {
        let mut fields = Fields::parse(r##"{"color":"red","position":"top","size":3,"title":7}"##)
            .expect("object");
        assert_eq!(fields.string("color", "#2563eb", hex_color), "#2563eb");
        assert_eq!(
            fields.one_of("position", "right", &["right", "left"]),
            "right"
        );
        assert_eq!(
            fields.string("title", "Chat", |t| text(t, 1, 10, false)),
            "Chat"
        );
        let errors = fields.finish().expect_err("three bad, one unknown");
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["color", "position", "title", "size"]);
        assert!(
            errors[1].message.contains("\"right\", \"left\""),
            "{}",
            errors[1].message
        );
        assert!(
            errors[2].message.contains("must be a string"),
            "{}",
            errors[2].message
        );
    }

    #[test]
    fn refuses_documents_that_are_not_objects() {
        let errors = Fields::parse("[1]").expect_err("array");
        assert_eq!(errors[0].field, "");
        assert!(Fields::parse("{").is_err());
    }

    #[test]
    fn text_checks_length_in_characters_and_line_breaks() {
        assert!(text("ünïcödé", 1, 7, false).is_ok());
        assert!(text("", 1, 7, false).is_err());
        assert!(text("a\nb", 0, 7, false).is_err());
        assert!(text("a\nb", 0, 7, true).is_ok());
        assert!(text("a\u{0}b", 0, 7, true).is_err());
    }

    #[test]
    fn hex_color_wants_six_digits() {
        assert!(hex_color("#2563eb").is_ok());
        assert!(hex_color("#2563EB").is_ok());
        for bad in ["2563eb", "#256", "#2563eg", "#2563eb0", ""] {
            assert!(hex_color(bad).is_err(), "{bad}");
        }
    }
}
