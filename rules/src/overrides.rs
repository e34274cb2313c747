//! REST overrides: an integrator forcing the widget shown or hidden for the site, one customer or
//! one visitor, optionally until a time; and the choice of the one in force.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Show,
    Hide,
}

/// Who an override is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "level", content = "id")]
pub enum OverrideScope {
    Site,
    Customer(String),
    Visitor(String),
}

/// An override's scope without the id; ordered from least to most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideLevel {
    Site,
    Customer,
    Visitor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub scope: OverrideScope,
    pub action: Action,
    /// `None` lasts until removed; otherwise the override stops applying at this instant.
    pub until: Option<DateTime<Utc>>,
}

/// What a script sees of the override in force, and what a decision reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideView {
    pub scope: OverrideLevel,
    pub action: Action,
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

impl OverrideScope {
    pub fn level(&self) -> OverrideLevel {
        match self {
            Self::Site => OverrideLevel::Site,
            Self::Customer(_) => OverrideLevel::Customer,
            Self::Visitor(_) => OverrideLevel::Visitor,
        }
    }
}

impl Override {
    /// Whether it still applies: `until` is exclusive.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| now < until)
    }

    pub fn view(&self) -> OverrideView {
        OverrideView {
            scope: self.scope.level(),
            action: self.action,
            until: self.until,
        }
    }
}

impl OverrideView {
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// The most specific override in force for this visitor: visitor beats customer beats site.
/// Overrides for other visitors or customers and expired ones are ignored; between two of the same
/// level (which the server should not store) the first given wins.
pub fn select_override<'a>(
    overrides: &'a [Override],
    visitor_id: Option<&str>,
    customer_id: Option<&str>,
    now: DateTime<Utc>,
) -> Option<&'a Override> {
    let applies = |o: &Override| match &o.scope {
        OverrideScope::Site => true,
        OverrideScope::Customer(id) => customer_id == Some(id.as_str()),
        OverrideScope::Visitor(id) => visitor_id == Some(id.as_str()),
    };
    most_specific(overrides.iter().filter(|o| applies(o)), now)
}

/// The most specific override in force among ones already known to concern this visitor.
pub(crate) fn most_specific<'a>(
    overrides: impl IntoIterator<Item = &'a Override>,
    now: DateTime<Utc>,
) -> Option<&'a Override> {
    let mut best: Option<&Override> = None;
    for candidate in overrides.into_iter().filter(|o| o.in_force(now)) {
        if best.is_none_or(|b| candidate.scope.level() > b.scope.level()) {
            best = Some(candidate);
        }
    }
    best
}
