//! Integration plugins as the rest of the server uses them: their configuration (stored per plugin,
//! validated by the plugin), their routes called with it, and the webhook shaper.

use std::sync::Arc;

use serde_json::Value;

use crate::domain::plugin_api::{
    FieldError, PlatformEvent, PluginError, PluginKind, Plugins, RouteRefusal, RouteRequest,
    RouteResponse,
};
use crate::domain::widget::{EffectiveConfig, effective_config};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// The plugin's `validate-config` refused the document, naming each bad field.
    #[error("invalid plugin configuration")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The integration service. Cheap to clone.
#[derive(Clone)]
pub struct Integrations {
    store: Store,
    plugins: Arc<dyn Plugins>,
    /// The plugin that shapes webhook bodies (`[delivery] shaper`); `None`: the envelope as is.
    shaper: Option<Arc<str>>,
}

impl Integrations {
    pub fn new(store: Store, plugins: Arc<dyn Plugins>, shaper: Option<&str>) -> Self {
        Self {
            store,
            plugins,
            shaper: shaper.filter(|s| !s.is_empty()).map(Arc::from),
        }
    }

    /// The configuration in force for an integration plugin, defaults filled in from its schema.
    pub async fn config(&self, plugin: &str) -> Result<EffectiveConfig, IntegrationError> {
        self.integration(plugin)?;
        let stored = self.store.widget_config(plugin).await?;
        Ok(effective_config(self.plugins.as_ref(), plugin, stored)?)
    }

    /// Validates `config` with the plugin, then stores it as the next version (a full replacement).
    pub async fn put_config(
        &self,
        plugin: &str,
        config: Value,
    ) -> Result<EffectiveConfig, IntegrationError> {
        self.integration(plugin)?;
        if let Err(errors) = self
            .plugins
            .validate_config(plugin, &config.to_string())
            .await?
        {
            return Err(IntegrationError::Invalid(errors));
        }
        let stored = self.store.put_widget_config(plugin, &config).await?;
        tracing::info!(%plugin, version = stored.version, "plugin configuration changed");
        Ok(effective_config(
            self.plugins.as_ref(),
            plugin,
            Some(stored),
        )?)
    }

    /// Serves a request to one of the plugin's routes with its configuration.
    pub async fn handle_route(
        &self,
        plugin: &str,
        request: RouteRequest,
    ) -> Result<Result<RouteResponse, RouteRefusal>, IntegrationError> {
        let config = self.config(plugin).await?.config.to_string();
        Ok(self.plugins.handle_route(plugin, config, request).await?)
    }

    /// Hands an event (a stored envelope) to a plugin that registered for its type.
    pub async fn on_event(&self, plugin: &str, envelope: &str) -> Result<(), IntegrationError> {
        let event = PlatformEvent::from_envelope(envelope).map_err(PluginError::Host)?;
        let config = self.config(plugin).await?.config.to_string();
        Ok(self.plugins.on_event(plugin, config, event).await?)
    }

    /// The body webhook endpoints get for a stored envelope: the shaper's answer, or the envelope
    /// itself when there is no shaper or it failed (delivery never waits on a plugin).
    pub async fn webhook_body(&self, envelope: &str) -> String {
        let Some(shaper) = self.shaper.as_deref() else {
            return envelope.to_string();
        };
        let shaped = async {
            let event = PlatformEvent::from_envelope(envelope).map_err(PluginError::Host)?;
            let config = self.config(shaper).await?.config.to_string();
            let body = self.plugins.shape_webhook(shaper, config, event).await?;
            serde_json::from_str::<serde::de::IgnoredAny>(&body).map_err(|e| {
                PluginError::Host(format!("the shaped webhook body is not JSON: {e}"))
            })?;
            Ok::<_, IntegrationError>(body)
        };
        match shaped.await {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(plugin = %shaper, error = %e, "webhook shaping failed; sending the envelope as is");
                envelope.to_string()
            }
        }
    }

    fn integration(&self, plugin: &str) -> Result<(), PluginError> {
        let loaded = self
            .plugins
            .summary(plugin)
            .ok_or_else(|| PluginError::NotFound(plugin.to_string()))?;
        if loaded.kind != PluginKind::Integration {
            return Err(PluginError::WrongKind {
                plugin: plugin.to_string(),
                kind: loaded.kind.as_str(),
                wanted: PluginKind::Integration.as_str(),
            });
        }
        Ok(())
    }
}
