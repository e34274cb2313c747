//! The built-in Action Rules shipped in `rules/scripts/`, with the parameters an admin can set
//! for each and the checks run on those parameters when they are saved.

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::opening_hours::validate_opening_hours;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuiltinRule {
    /// Stable identifier, also the script's file name.
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub script: &'static str,
    pub default_params: Value,
    /// What an admin page needs to render a form for the parameters.
    pub params: &'static [ParamSpec],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub description: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    Text,
    Bool,
    Integer {
        min: i64,
    },
    OneOf {
        values: &'static [&'static str],
    },
    OpeningHours,
    /// An IANA time zone name, or empty for the site's.
    Timezone,
}

const GROUP: ParamSpec = ParamSpec {
    name: "group",
    kind: ParamKind::Text,
    description: "Only count agents of this group; empty counts every agent.",
};

pub fn builtin_rules() -> Vec<BuiltinRule> {
    vec![
        BuiltinRule {
            key: "any_agent_online",
            name: "Any agent online",
            description: "Shows the widget while at least one agent is online, whatever their status.",
            script: include_str!("../scripts/any_agent_online.rhai"),
            default_params: json!({ "group": "" }),
            params: &[GROUP],
        },
        BuiltinRule {
            key: "any_agent_available",
            name: "Any agent available",
            description: "Shows the widget while at least one agent is available to chat.",
            script: include_str!("../scripts/any_agent_available.rhai"),
            default_params: json!({ "group": "" }),
            params: &[GROUP],
        },
        BuiltinRule {
            key: "opening_hours",
            name: "Opening hours",
            description: "Shows the widget during opening hours in the site's time zone, with \
                          breaks, holidays and special days.",
            script: include_str!("../scripts/opening_hours.rhai"),
            default_params: json!({
                "spec": "mon-fri 09:00-17:00",
                "timezone": "",
                "when_closed": "hide"
            }),
            params: &[
                ParamSpec {
                    name: "spec",
                    kind: ParamKind::OpeningHours,
                    description: "The opening hours, e.g. \"mon-fri 09:00-12:00, 13:00-17:30; \
                                  12-25 closed\".",
                },
                ParamSpec {
                    name: "timezone",
                    kind: ParamKind::Timezone,
                    description: "The time zone the hours are in, e.g. \"America/New_York\"; \
                                  empty uses the site's.",
                },
                ParamSpec {
                    name: "when_closed",
                    kind: ParamKind::OneOf {
                        values: &["hide", "away", "no_opinion"],
                    },
                    description: "When closed: hide the widget, keep it visible but away (it \
                                  offers the offline form instead of chat), or let the other \
                                  rules decide.",
                },
            ],
        },
        BuiltinRule {
            key: "seconds_on_page",
            name: "Visitor on page for N seconds",
            description: "Hides the widget until the visitor has been on the page for N seconds.",
            script: include_str!("../scripts/seconds_on_page.rhai"),
            default_params: json!({ "seconds": 10 }),
            params: &[ParamSpec {
                name: "seconds",
                kind: ParamKind::Integer { min: 0 },
                description: "Seconds on the page before the widget shows.",
            }],
        },
        BuiltinRule {
            key: "nth_visit",
            name: "Visitor's Nth visit",
            description: "Shows the widget from the visitor's Nth visit on (the second by default).",
            script: include_str!("../scripts/nth_visit.rhai"),
            default_params: json!({ "visit": 2, "only_that_visit": false }),
            params: &[
                ParamSpec {
                    name: "visit",
                    kind: ParamKind::Integer { min: 1 },
                    description: "The first visit on which the widget shows.",
                },
                ParamSpec {
                    name: "only_that_visit",
                    kind: ParamKind::Bool,
                    description: "Show on that visit only, not on later ones.",
                },
            ],
        },
    ]
}

impl BuiltinRule {
    /// Checks parameters before they are saved, so a typo is refused with a reason instead of
    /// turning the rule into "no opinion" at run time. Parameters left out take their defaults.
    pub fn check_params(&self, params: &Value) -> Result<(), Error> {
        let invalid = |name: &str, message: String| Error::Param {
            name: name.to_owned(),
            message,
        };
        let fields = match params {
            Value::Null => return Ok(()),
            Value::Object(fields) => fields,
            _ => return Err(invalid("params", "must be a JSON object".into())),
        };
        for (name, value) in fields {
            let Some(spec) = self.params.iter().find(|p| p.name == name) else {
                let known: Vec<_> = self.params.iter().map(|p| p.name).collect();
                return Err(invalid(
                    name,
                    format!("unknown; this rule takes {}", known.join(", ")),
                ));
            };
            spec.kind
                .check(value)
                .map_err(|message| invalid(name, message))?;
        }
        Ok(())
    }
}

impl ParamKind {
    fn check(&self, value: &Value) -> Result<(), String> {
        match self {
            Self::Text if value.is_string() => Ok(()),
            Self::Text => Err("must be a string".into()),
            Self::Bool if value.is_boolean() => Ok(()),
            Self::Bool => Err("must be true or false".into()),
            Self::Integer { min } => match value.as_i64() {
                Some(n) if n >= *min => Ok(()),
                _ => Err(format!("must be a whole number of at least {min}")),
            },
            Self::OneOf { values } => match value.as_str() {
                Some(s) if values.contains(&s) => Ok(()),
                _ => Err(format!("must be one of \"{}\"", values.join("\", \""))),
            },
            Self::OpeningHours => match value.as_str() {
                Some(spec) => validate_opening_hours(spec).map_err(|e| e.to_string()),
                None => Err("must be a string of opening hours".into()),
            },
            Self::Timezone => match value.as_str() {
                Some("") => Ok(()),
                Some(zone) if zone.parse::<chrono_tz::Tz>().is_ok() => Ok(()),
                _ => Err("must be an IANA time zone such as \"Europe/Paris\", or empty".into()),
            },
        }
    }
}

#[cfg(test)]
mod tests;
