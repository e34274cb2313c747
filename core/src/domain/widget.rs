//! The widget: its configuration (stored with a version, validated by the widget plugin) and the
//! `widget.js` it renders, cached per site, plugin build and configuration version so a page view does
//! not run the plugin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::domain::plugin_api::{
    FieldError, HookEvent, PluginError, Plugins, RenderContext, WidgetAction,
};
use crate::store::{Store, StoreError};

/// A widget configuration as stored: the admin's document, without defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWidgetConfig {
    pub plugin: String,
    pub config: Value,
    /// 1 for the first stored document, then one more per change.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// The configuration in force: the stored document over the schema's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveConfig {
    pub plugin: String,
    /// 0 while nothing was stored.
    pub version: i64,
    pub config: Value,
    pub stored: Value,
    pub schema: Value,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A rendered `widget.js` and its entity tag.
#[derive(Debug, Clone)]
pub struct WidgetScript {
    pub etag: Arc<str>,
    pub script: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum WidgetError {
    #[error("no site with this key")]
    UnknownSite,
    /// The plugin's `validate-config` refused the document, naming each bad field.
    #[error("invalid widget configuration")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the script cache holds per site key.
struct Cached {
    etag: Arc<str>,
    script: Arc<str>,
}

/// The widget service. Cheap to clone.
#[derive(Clone)]
pub struct Widgets {
    store: Store,
    plugins: Arc<dyn Plugins>,
    plugin: Arc<str>,
    base_url: Arc<str>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl Widgets {
    pub fn new(store: Store, plugins: Arc<dyn Plugins>, plugin: &str, base_url: &str) -> Self {
        Self {
            store,
            plugins,
            plugin: plugin.into(),
            base_url: base_url.trim_end_matches('/').into(),
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The configuration in force, defaults filled in from the plugin's schema.
    pub async fn config(&self) -> Result<EffectiveConfig, WidgetError> {
        let stored = self.store.widget_config(&self.plugin).await?;
        self.effective(stored)
    }

    /// Validates `config` with the plugin, then stores it as the next version (a full replacement).
    pub async fn put_config(&self, config: Value) -> Result<EffectiveConfig, WidgetError> {
        let text = config.to_string();
        if let Err(errors) = self.plugins.validate_config(&self.plugin, &text).await? {
            return Err(WidgetError::Invalid(errors));
        }
        let stored = self.store.put_widget_config(&self.plugin, &config).await?;
        tracing::info!(plugin = %self.plugin, version = stored.version, "widget configuration changed");
        self.effective(Some(stored))
    }

    /// The entity tag `widget.js` has for this site right now, without rendering: the plugin's build and
    /// the configuration version. `None`-site errors come first so unknown keys never reach the plugin.
    pub async fn etag(&self, site_key: &str) -> Result<String, WidgetError> {
        if self.store.site_by_key(site_key).await?.is_none() {
            return Err(WidgetError::UnknownSite);
        }
        let version = self
            .store
            .widget_config(&self.plugin)
            .await?
            .map_or(0, |c| c.version);
        let plugin = self
            .plugins
            .summary(&self.plugin)
            .ok_or_else(|| PluginError::NotFound(self.plugin.to_string()))?;
        Ok(format!(
            "\"{}-{}-v{version}\"",
            plugin.name,
            &plugin.digest[..16]
        ))
    }

    /// `widget.js` for a site: from the cache when the entity tag still matches, else rendered once.
    pub async fn script(&self, site_key: &str) -> Result<WidgetScript, WidgetError> {
        let etag = self.etag(site_key).await?;
        if let Some(hit) = self.cached(site_key, &etag) {
            return Ok(hit);
        }
        let stored = self.store.widget_config(&self.plugin).await?;
        let config = stored.map_or_else(|| "{}".to_string(), |s| s.config.to_string());
        let ctx = RenderContext {
            site_key: site_key.to_string(),
            base_url: self.base_url.to_string(),
            ws_url: ws_url(&self.base_url),
        };
        let (rendered, _) = self.plugins.render(&self.plugin, &config, &ctx).await?;
        let script: Arc<str> = rendered.script.into();
        let etag: Arc<str> = etag.into();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                site_key.to_string(),
                Cached {
                    etag: etag.clone(),
                    script: script.clone(),
                },
            );
        }
        Ok(WidgetScript { etag, script })
    }

    /// A draft configuration rendered by the plugin, never stored: what the admin console's preview
    /// loads. Validated first, so a bad draft names its fields as `put_config` would. Rendered for no
    /// site and no socket URL, so the preview widget never connects and is never counted as a visitor.
    pub async fn preview(&self, config: Value) -> Result<Arc<str>, WidgetError> {
        let text = config.to_string();
        if let Err(errors) = self.plugins.validate_config(&self.plugin, &text).await? {
            return Err(WidgetError::Invalid(errors));
        }
        let ctx = RenderContext {
            site_key: String::new(),
            base_url: self.base_url.to_string(),
            ws_url: String::new(),
        };
        let (rendered, _) = self.plugins.render(&self.plugin, &text, &ctx).await?;
        Ok(rendered.script.into())
    }

    /// Runs the widget plugin's hook for a visitor event with the stored configuration.
    pub async fn on_visitor_event(
        &self,
        event: HookEvent,
    ) -> Result<Vec<WidgetAction>, WidgetError> {
        let stored = self.store.widget_config(&self.plugin).await?;
        let config = stored.map_or_else(|| "{}".to_string(), |s| s.config.to_string());
        Ok(self
            .plugins
            .on_visitor_event(&self.plugin, &config, event)
            .await?)
    }

    fn cached(&self, site_key: &str, etag: &str) -> Option<WidgetScript> {
        let cache = self.cache.lock().ok()?;
        let hit = cache.get(site_key).filter(|c| &*c.etag == etag)?;
        Some(WidgetScript {
            etag: hit.etag.clone(),
            script: hit.script.clone(),
        })
    }

    fn effective(
        &self,
        stored: Option<StoredWidgetConfig>,
    ) -> Result<EffectiveConfig, WidgetError> {
        Ok(effective_config(
            self.plugins.as_ref(),
            &self.plugin,
            stored,
        )?)
    }
}

/// A plugin's configuration in force: `stored` over the defaults of the plugin's schema.
pub(crate) fn effective_config(
    plugins: &dyn Plugins,
    name: &str,
    stored: Option<StoredWidgetConfig>,
) -> Result<EffectiveConfig, PluginError> {
    let plugin = plugins
        .summary(name)
        .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
    let schema: Value = serde_json::from_str(&plugin.config_schema).unwrap_or(Value::Null);
    let mut config = defaults(&schema);
    let stored_doc = stored
        .as_ref()
        .map_or_else(|| Value::Object(Map::new()), |s| s.config.clone());
    if let Value::Object(fields) = &stored_doc {
        for (key, value) in fields {
            config.insert(key.clone(), value.clone());
        }
    }
    Ok(EffectiveConfig {
        plugin: name.to_string(),
        version: stored.as_ref().map_or(0, |s| s.version),
        config: Value::Object(config),
        stored: stored_doc,
        schema,
        updated_at: stored.map(|s| s.updated_at),
    })
}

/// The `default` of each top-level property of a JSON Schema.
pub(crate) fn defaults(schema: &Value) -> Map<String, Value> {
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .filter_map(|(key, property)| {
                    property.get("default").map(|d| (key.clone(), d.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The visitor gateway's URL next to the base URL: `https://x` → `wss://x/ws/visitor`.
fn ws_url(base_url: &str) -> String {
    let rest = base_url
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .or_else(|| {
            base_url
                .strip_prefix("http://")
                .map(|rest| format!("ws://{rest}"))
        })
        .unwrap_or_else(|| base_url.to_string());
    format!("{rest}/ws/visitor")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_come_from_the_schema_properties() {
        let schema = json!({"type": "object", "properties": {
            "color": {"type": "string", "default": "#2563eb"},
            "title": {"type": "string"}
        }});
        assert_eq!(
            Value::Object(defaults(&schema)),
            json!({"color": "#2563eb"})
        );
        assert!(defaults(&json!({"type": "object"})).is_empty());
    }

    #[test]
    fn websocket_url_follows_the_scheme() {
        assert_eq!(
            ws_url("https://chat.example.com"),
            "wss://chat.example.com/ws/visitor"
        );
        assert_eq!(
            ws_url("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080/ws/visitor"
        );
    }
}
