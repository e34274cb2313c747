//! The host as the domain calls it: `PluginHost` implements `domain::plugin_api::Plugins` by
//! forwarding to its own calls.

use async_trait::async_trait;

use crate::domain::plugin_api::{
    CobrowseAsset, FieldError, HookEvent, HookEventType, PlatformEvent, PluginError, PluginSummary,
    Plugins, RenderContext, Rendered, RouteRefusal, RouteRequest, RouteResponse, WidgetAction,
};
use crate::plugins::PluginHost;

#[async_trait]
impl Plugins for PluginHost {
    fn summary(&self, name: &str) -> Option<PluginSummary> {
        self.get(name).map(|plugin| PluginSummary {
            name: plugin.manifest().name.clone(),
            kind: plugin.manifest().kind,
            digest: plugin.digest_shared(),
            generation: plugin.generation(),
            config_schema: plugin.config_schema_shared(),
        })
    }

    fn hook_wants(&self, name: &str, kind: HookEventType) -> bool {
        self.get(name)
            .is_some_and(|plugin| plugin.hooks().wants(kind))
    }

    async fn validate_config(
        &self,
        plugin: &str,
        config: &str,
    ) -> Result<Result<(), Vec<FieldError>>, PluginError> {
        PluginHost::validate_config(self, plugin, config).await
    }

    async fn render(
        &self,
        plugin: &str,
        config: &str,
        ctx: &RenderContext,
    ) -> Result<(Rendered, u64), PluginError> {
        PluginHost::render(self, plugin, config, ctx).await
    }

    async fn on_visitor_event(
        &self,
        plugin: &str,
        config: &str,
        event: HookEvent,
    ) -> Result<Vec<WidgetAction>, PluginError> {
        PluginHost::on_visitor_event(self, plugin, config, event).await
    }

    async fn cobrowse_asset(
        &self,
        plugin: &str,
        config: &str,
        which: CobrowseAsset,
    ) -> Result<(String, u64), PluginError> {
        PluginHost::cobrowse_asset(self, plugin, config, which).await
    }

    async fn cobrowse_filter(
        &self,
        plugin: &str,
        config: &str,
        state: &str,
        event: &str,
    ) -> Result<(Option<String>, String), PluginError> {
        PluginHost::cobrowse_filter(self, plugin, config, state, event).await
    }

    async fn handle_route(
        &self,
        plugin: &str,
        config: String,
        request: RouteRequest,
    ) -> Result<Result<RouteResponse, RouteRefusal>, PluginError> {
        PluginHost::handle_route(self, plugin, config, request).await
    }

    async fn on_event(
        &self,
        plugin: &str,
        config: String,
        event: PlatformEvent,
    ) -> Result<(), PluginError> {
        PluginHost::on_event(self, plugin, config, event).await
    }

    async fn shape_webhook(
        &self,
        plugin: &str,
        config: String,
        event: PlatformEvent,
    ) -> Result<String, PluginError> {
        PluginHost::shape_webhook(self, plugin, config, event).await
    }
}
