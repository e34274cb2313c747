//! What one rule said: its answer, when to ask it again, and what went wrong if it failed.

use serde::{Deserialize, Serialize};

/// A rule's answer. `Hide` hides the widget; `Away` keeps it visible but says the team is away, so
/// the widget offers the offline form instead of chat; `Show` and `NoOpinion` both let it show as
/// usual, but `Show` is named in the decision as the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Show,
    Hide,
    /// The widget shows, but nobody will chat now (closed hours): it offers the offline form.
    Away,
    NoOpinion,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Show => "show",
            Self::Hide => "hide",
            Self::Away => "away",
            Self::NoOpinion => "no_opinion",
        }
    }
}

/// The result of evaluating one rule against one context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub answer: Answer,
    /// "Ask me again in N seconds": the answer may change by then without any other input changing.
    pub recheck_after_secs: Option<u64>,
    /// Set when the script failed; the answer is then `NoOpinion`.
    pub error: Option<String>,
}

impl RuleOutcome {
    pub fn answer(answer: Answer) -> Self {
        Self {
            answer,
            recheck_after_secs: None,
            error: None,
        }
    }

    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            answer: Answer::NoOpinion,
            recheck_after_secs: None,
            error: Some(error.into()),
        }
    }

    pub fn with_recheck(mut self, secs: u64) -> Self {
        self.recheck_after_secs = Some(secs);
        self
    }
}
