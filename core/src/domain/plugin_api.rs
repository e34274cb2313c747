//! What the server asks of its plugins, as the domain sees it: the calls (`Plugins`) and the values
//! they take and give. There is no wasmtime here. The plugin host (`crate::plugins`) implements
//! `Plugins`; the domain holds an `Arc<dyn Plugins>`, so it depends on this contract and never on the
//! host (the host, in turn, reaches the platform's data through `plugins::platform`).

mod error;
mod types;

pub use error::{FailureKind, PluginError};
pub use types::{
    CobrowseAsset, FieldError, HOOK_EVENTS_KEYWORD, HookEvent, HookEventKind, HookEventType,
    HookSubscription, HookVisitor, HttpMethod, Manifest, PlatformEvent, PluginKind, RenderContext,
    Rendered, RouteCaller, RouteRefusal, RouteRequest, RouteResponse, WidgetAction,
};

use std::sync::Arc;

/// A loaded plugin as the domain needs to know it: what it is, which build (for caches of its
/// output), and its configuration schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSummary {
    pub name: String,
    pub kind: PluginKind,
    /// The SHA-256 of the component's bytes, in hex.
    pub digest: Arc<str>,
    /// Different for every load, so caches of a replaced plugin's output go stale.
    pub generation: u64,
    /// The configuration schema (JSON), read once at load.
    pub config_schema: Arc<str>,
}

/// The calls the domain makes into plugins, by plugin name. Every call runs under the host's limits;
/// a failure is a `PluginError` and never takes the server down.
#[async_trait::async_trait]
pub trait Plugins: Send + Sync {
    /// The loaded plugin of that name, if any.
    fn summary(&self, name: &str) -> Option<PluginSummary>;

    /// Whether the widget plugin `name` takes visitor events of this kind in its hook (its schema's
    /// [`HOOK_EVENTS_KEYWORD`], read at load); `false` if no such plugin is loaded. Asked for every chat
    /// event, so it copies nothing.
    fn hook_wants(&self, name: &str, kind: HookEventType) -> bool;

    /// Checks a configuration document with the plugin's `validate-config` (any kind).
    async fn validate_config(
        &self,
        plugin: &str,
        config: &str,
    ) -> Result<Result<(), Vec<FieldError>>, PluginError>;

    /// Renders a widget; also answers with the plugin's generation.
    async fn render(
        &self,
        plugin: &str,
        config: &str,
        ctx: &RenderContext,
    ) -> Result<(Rendered, u64), PluginError>;

    /// Runs a widget's `on-visitor-event` hook; answers the actions it asks for, in order.
    async fn on_visitor_event(
        &self,
        plugin: &str,
        config: &str,
        event: HookEvent,
    ) -> Result<Vec<WidgetAction>, PluginError>;

    /// A co-browse plugin's recorder or viewer script, with the plugin's generation.
    async fn cobrowse_asset(
        &self,
        plugin: &str,
        config: &str,
        which: CobrowseAsset,
    ) -> Result<(String, u64), PluginError>;

    /// Passes one recorded event through a co-browse plugin's filter: the event to forward (`None`:
    /// dropped) and the session's next filter state.
    async fn cobrowse_filter(
        &self,
        plugin: &str,
        config: &str,
        state: &str,
        event: &str,
    ) -> Result<(Option<String>, String), PluginError>;

    /// Serves a request to an integration plugin's route. `Ok(Err(refusal))` is the plugin turning
    /// the request down.
    async fn handle_route(
        &self,
        plugin: &str,
        config: String,
        request: RouteRequest,
    ) -> Result<Result<RouteResponse, RouteRefusal>, PluginError>;

    /// Hands one platform event to an integration plugin that registered for its type.
    async fn on_event(
        &self,
        plugin: &str,
        config: String,
        event: PlatformEvent,
    ) -> Result<(), PluginError>;

    /// Asks the webhook shaper for the body endpoints get for `event`.
    async fn shape_webhook(
        &self,
        plugin: &str,
        config: String,
        event: PlatformEvent,
    ) -> Result<String, PluginError>;
}
