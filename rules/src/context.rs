//! The read-only facts a rule sees. It is plain data so REST and the CLI can pass one as JSON
//! (snake_case, every field optional) to test rules against a made-up situation.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::overrides::OverrideView;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    /// Defaults to the current time, so a hand-written test context can leave it out.
    pub now: DateTime<Utc>,
    /// The site's time zone, an IANA name such as `Europe/Paris`; `now` is shown to scripts in it.
    pub timezone: Tz,
    pub agents: AgentsContext,
    pub visitor: VisitorContext,
    /// The REST override in force for this visitor, if any.
    #[serde(rename = "override")]
    pub override_: Option<OverrideView>,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            now: Utc::now(),
            timezone: Tz::UTC,
            agents: AgentsContext::default(),
            visitor: VisitorContext::default(),
            override_: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentsContext {
    /// Agents connected to the console, whatever their status.
    pub online: u32,
    /// Agents online and accepting chats.
    pub available: u32,
    /// Groups that have at least one agent online.
    pub groups_online: Vec<String>,
    /// Groups that have at least one agent available.
    pub groups_available: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VisitorContext {
    /// The id the widget keeps for this browser; it selects visitor overrides.
    pub id: String,
    /// Visits so far, this one included: 1 on a first visit.
    pub visits: u32,
    pub seconds_on_page: u64,
    pub url: String,
    pub referrer: String,
    /// The browser's preferred language, e.g. `fr-FR`.
    pub language: String,
    pub customer: Option<CustomerContext>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerContext {
    pub id: String,
    pub labels: Vec<String>,
}
