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
