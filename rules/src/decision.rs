//! Combining overrides and rule answers into one visibility decision that says why.
//!
//! The order, as a truth table, is in `rules/README.md`: an override in force decides; otherwise
//! the first enabled rule answering hide hides; otherwise the first answering away makes the widget
//! visible but away (offline form, no chat); otherwise the widget is visible, credited to the first
//! rule that answered show, or to the default when no rule had an opinion.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::outcome::{Answer, RuleOutcome};
use crate::overrides::{Action, Override, OverrideLevel, OverrideView, most_specific};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecidedBy {
    Override {
        scope: OverrideLevel,
    },
    Rule {
        name: String,
    },
    /// No override and no rule with an opinion: the widget shows.
    Default,
}

/// One rule's part in a decision, in admin order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleReport {
    pub name: String,
    /// Disabled rules are listed but not evaluated, and answer `no_opinion`.
    pub enabled: bool,
    pub answer: Answer,
    pub recheck_after_secs: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub visible: bool,
    /// Visible, but the team is away: the widget offers the offline form instead of chat. Only a
    /// rule answering `away` sets it; never true when the widget is hidden or an override decided.
    pub away: bool,
    pub decided_by: DecidedBy,
    /// Decide again after this many seconds even if nothing else changes: the soonest of the
    /// rules' rechecks and the override's expiry.
    pub recheck_after_secs: Option<u64>,
    #[serde(rename = "override")]
    pub override_: Option<OverrideView>,
    pub rules: Vec<RuleReport>,
}

impl RuleReport {
    pub fn enabled(name: impl Into<String>, outcome: RuleOutcome) -> Self {
        Self {
            name: name.into(),
            enabled: true,
            answer: outcome.answer,
            recheck_after_secs: outcome.recheck_after_secs,
            error: outcome.error,
        }
    }

    pub fn disabled(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            enabled: false,
            answer: Answer::NoOpinion,
            recheck_after_secs: None,
            error: None,
        }
    }
}

/// Decides from the overrides that concern this visitor (site, their customer, themselves) and
/// the outcomes of the enabled rules in admin order.
pub fn decide(
    overrides_in_force: &[Override],
    now: DateTime<Utc>,
    rule_results: &[(String, RuleOutcome)],
) -> Decision {
    let override_ = most_specific(overrides_in_force, now).map(Override::view);
    let rules = rule_results
        .iter()
        .map(|(name, outcome)| RuleReport::enabled(name.clone(), outcome.clone()))
        .collect();
    combine(override_, now, rules)
}

pub(crate) fn combine(
    override_: Option<OverrideView>,
    now: DateTime<Utc>,
    rules: Vec<RuleReport>,
) -> Decision {
    let override_ = override_.filter(|o| o.in_force(now));
    let expiry = override_
        .as_ref()
        .and_then(|o| o.until)
        .map(|until| secs_until(now, until));
    let recheck_after_secs = rules
        .iter()
        .filter(|r| r.enabled)
        .filter_map(|r| r.recheck_after_secs)
        .chain(expiry)
        .min();
    let first = |answer: Answer| rules.iter().find(|r| r.enabled && r.answer == answer);
    let by = |rule: &RuleReport| DecidedBy::Rule {
        name: rule.name.clone(),
    };
    // An override decides whether the widget shows, and one that shows it offers chat: it is the
    // integrator's explicit word, and a script that wants "away" under it reads `override` itself
    // only to report. Hiding beats away, and away beats show.
    let (visible, away, decided_by) = if let Some(o) = &override_ {
        (
            o.action == Action::Show,
            false,
            DecidedBy::Override { scope: o.scope },
        )
    } else if let Some(rule) = first(Answer::Hide) {
        (false, false, by(rule))
    } else if let Some(rule) = first(Answer::Away) {
        (true, true, by(rule))
    } else if let Some(rule) = first(Answer::Show) {
        (true, false, by(rule))
    } else {
        (true, false, DecidedBy::Default)
    };
    Decision {
        visible,
        away,
        decided_by,
        recheck_after_secs,
        override_,
        rules,
    }
}

/// Whole seconds until `until`, rounded up so a recheck never lands just before the change.
fn secs_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests;
