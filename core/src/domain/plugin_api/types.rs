//! The values plugin calls take and give, independent of any WIT version: each version's adapter in
//! the host converts between them and its generated bindings.

use crate::domain::model::{Message, PageInfo};

/// What a plugin is for. One WIT world per kind; 0.1 loads all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Widget,
    Cobrowse,
    Integration,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Widget => "widget",
            PluginKind::Cobrowse => "cobrowse",
            PluginKind::Integration => "integration",
        }
    }
}

/// Who a plugin says it is and what it asks for, read once right after loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    pub api_version: String,
    pub capabilities: Vec<String>,
    pub description: String,
}

/// A configuration value that does not fit the plugin's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field; empty for the document itself.
    pub field: String,
    pub message: String,
}

/// Where a widget runs, filled per request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderContext {
    pub site_key: String,
    pub base_url: String,
    pub ws_url: String,
}

/// What a widget plugin renders: the self-contained loader script, its styles, optional markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub script: String,
    pub style: String,
    pub markup: Option<String>,
}

/// What the host knows about a visitor when it calls a widget's `on-visitor-event` hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookVisitor {
    pub site_key: String,
    pub visitor_id: String,
    pub page: Option<PageInfo>,
    /// The visitor's open conversation, if any.
    pub conversation_id: Option<String>,
    pub agents_online: u32,
    pub agents_available: u32,
}

/// Something that happened to a visitor, as a widget hook sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum HookEventKind {
    /// The widget connected from a page.
    Connected,
    /// The visitor's first message opened this conversation.
    ConversationStarted(String),
    MessageCreated(Message),
    ConversationClosed(String),
}

/// The kinds of visitor event, without their data: what a widget plugin subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookEventType {
    Connected,
    ConversationStarted,
    MessageCreated,
    ConversationClosed,
}

impl HookEventType {
    pub const ALL: [HookEventType; 4] = [
        HookEventType::Connected,
        HookEventType::ConversationStarted,
        HookEventType::MessageCreated,
        HookEventType::ConversationClosed,
    ];

    /// The name in a schema's [`HOOK_EVENTS_KEYWORD`] list: the WIT case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEventType::Connected => "connected",
            HookEventType::ConversationStarted => "conversation-started",
            HookEventType::MessageCreated => "message-created",
            HookEventType::ConversationClosed => "conversation-closed",
        }
    }
}

/// The top-level keyword of a widget plugin's configuration schema that lists the visitor events its
/// `on-visitor-event` hook takes (`["conversation-started"]`). The hook runs after every message unless
/// the plugin narrows it: an instance per message was about a third of the message path's work (see
/// BENCHMARKS.md), and a plugin that acts on one kind of event need not pay it for the others. The WIT 0.1 manifest has no field
/// for it, and the schema is the plugin's metadata the host already reads once at load.
pub const HOOK_EVENTS_KEYWORD: &str = "x-natter-hook-events";

/// Which visitor events reach a widget plugin's hook.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HookSubscription {
    /// Every event: a schema without the keyword.
    #[default]
    All,
    Only(std::collections::BTreeSet<HookEventType>),
}

impl HookSubscription {
    /// Reads [`HOOK_EVENTS_KEYWORD`] from a configuration schema. A value that is not a list of known
    /// event names is refused, naming what is wrong, as an integration's unknown event type is.
    pub fn from_schema(schema: &serde_json::Value) -> Result<Self, String> {
        let Some(value) = schema.get(HOOK_EVENTS_KEYWORD) else {
            return Ok(HookSubscription::All);
        };
        let known = || {
            HookEventType::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let names = value
            .as_array()
            .ok_or_else(|| format!("{HOOK_EVENTS_KEYWORD} must be a list of event names"))?;
        let mut only = std::collections::BTreeSet::new();
        for name in names {
            let kind = name
                .as_str()
                .and_then(|name| HookEventType::ALL.into_iter().find(|k| k.as_str() == name))
                .ok_or_else(|| {
                    format!(
                        "{HOOK_EVENTS_KEYWORD} names an unknown event {name} (known: {})",
                        known()
                    )
                })?;
            only.insert(kind);
        }
        Ok(HookSubscription::Only(only))
    }

    pub fn wants(&self, kind: HookEventType) -> bool {
        match self {
            HookSubscription::All => true,
            HookSubscription::Only(kinds) => kinds.contains(&kind),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    pub visitor: HookVisitor,
    pub kind: HookEventKind,
}

/// What a widget asks the host to do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetAction {
    /// Post a system message into the visitor's conversation.
    SystemMessage(String),
}

/// The browser scripts a co-browse plugin serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CobrowseAsset {
    /// For the visitor's page, loaded once a session starts.
    Recorder,
    /// For the agent console.
    Viewer,
}

/// The methods a plugin route may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "get",
            HttpMethod::Post => "post",
            HttpMethod::Put => "put",
            HttpMethod::Patch => "patch",
            HttpMethod::Delete => "delete",
        }
    }

    pub fn parse(method: &str) -> Option<Self> {
        [Self::Get, Self::Post, Self::Put, Self::Patch, Self::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(method))
    }
}

/// Who called a plugin route: the token that passed its scope check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCaller {
    pub token_id: String,
    pub token_name: String,
    pub scopes: Vec<String>,
}

/// A request to a plugin route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRequest {
    pub method: HttpMethod,
    /// The template of the matched route.
    pub route: String,
    pub params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// JSON text, checked to parse.
    pub body: Option<String>,
    pub caller: RouteCaller,
}

/// A plugin's successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteResponse {
    pub status: u16,
    /// JSON text.
    pub body: String,
}

/// A plugin's refusal of a request: the caller's mistake, not the plugin's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteRefusal {
    Invalid(Vec<FieldError>),
    NotFound(String),
    Conflict(String),
    BadRequest(String),
}

/// A platform event as integration plugins get it: the webhook envelope, with `data` as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformEvent {
    pub id: String,
    pub event_type: String,
    pub timestamp: String,
    pub data: String,
}

impl PlatformEvent {
    /// Splits a stored envelope (`{"id","type","timestamp","data"}`) into its parts.
    pub fn from_envelope(envelope: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(envelope).map_err(|e| format!("not an event envelope: {e}"))?;
        let text = |key: &str| {
            value[key]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("the event envelope has no `{key}`"))
        };
        Ok(Self {
            id: text("id")?,
            event_type: text("type")?,
            timestamp: text("timestamp")?,
            data: value["data"].to_string(),
        })
    }

    pub(crate) fn size(&self) -> usize {
        self.id.len() + self.event_type.len() + self.timestamp.len() + self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{HookEventType, HookSubscription};

    #[test]
    fn a_schema_narrows_the_hook_to_the_events_it_lists() {
        assert_eq!(
            HookSubscription::from_schema(&json!({"type": "object"})),
            Ok(HookSubscription::All)
        );
        let only = HookSubscription::from_schema(
            &json!({"x-natter-hook-events": ["conversation-started", "connected"]}),
        )
        .expect("known names");
        assert!(only.wants(HookEventType::ConversationStarted));
        assert!(only.wants(HookEventType::Connected));
        assert!(!only.wants(HookEventType::MessageCreated));
        assert!(!only.wants(HookEventType::ConversationClosed));
        let none = HookSubscription::from_schema(&json!({"x-natter-hook-events": []})).expect("ok");
        assert!(HookEventType::ALL.iter().all(|k| !none.wants(*k)));
    }

    #[test]
    fn an_unknown_event_or_a_value_that_is_not_a_list_is_refused_by_name() {
        let unknown =
            HookSubscription::from_schema(&json!({"x-natter-hook-events": ["message-edited"]}))
                .expect_err("unknown");
        assert!(unknown.contains("\"message-edited\""), "{unknown}");
        assert!(
            unknown.contains("conversation-started"),
            "lists the known: {unknown}"
        );
        let not_a_list =
            HookSubscription::from_schema(&json!({"x-natter-hook-events": "message-created"}))
                .expect_err("not a list");
        assert!(not_a_list.contains("must be a list"), "{not_a_list}");
    }
}
