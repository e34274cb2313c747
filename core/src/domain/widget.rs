//! The widget: its configuration (stored with a version, validated by the widget plugin) and the
//! `widget.js` it renders, cached per site, plugin build and configuration version so a page view does
//! not run the plugin.
//!
//! The stored configuration is also kept in memory: the plugin's hook runs after every message and
//! every page view asks for the entity tag, while the document changes only through [`Widgets::put_config`].
//! A change on another node reaches this one as [`Cache::Widget`] on the bus ([`Widgets::forget_config`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::bus::Bus;
use crate::domain::events::{Cache, RealtimeEvent, Topic};
use crate::domain::plugin_api::{
    FieldError, HookEvent, HookEventType, PluginError, Plugins, RenderContext, WidgetAction,
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

/// The stored configuration as last read, with its text as the plugin's calls take it.
struct Known {
    stored: Option<StoredWidgetConfig>,
    /// `{}` while nothing is stored.
    text: Arc<str>,
}

/// The in-memory copy of the stored configuration. `generation` moves on every change, so a read that
/// raced with a change is not kept.
#[derive(Default)]
struct Remembered {
    generation: u64,
    known: Option<Arc<Known>>,
}

/// The widget service. Cheap to clone.
#[derive(Clone)]
pub struct Widgets {
    store: Store,
    plugins: Arc<dyn Plugins>,
    bus: Arc<dyn Bus>,
    plugin: Arc<str>,
    base_url: Arc<str>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
    remembered: Arc<Mutex<Remembered>>,
}

impl Widgets {
    pub fn new(
        store: Store,
        plugins: Arc<dyn Plugins>,
        bus: Arc<dyn Bus>,
        plugin: &str,
        base_url: &str,
    ) -> Self {
        Self {
            store,
            plugins,
            bus,
            plugin: plugin.into(),
            base_url: base_url.trim_end_matches('/').into(),
            cache: Arc::new(Mutex::new(HashMap::new())),
            remembered: Arc::default(),
        }
    }

    /// The configuration in force, defaults filled in from the plugin's schema.
    pub async fn config(&self) -> Result<EffectiveConfig, WidgetError> {
        let known = self.known().await?;
        self.effective(known.stored.clone())
    }

    /// Validates `config` with the plugin, then stores it as the next version (a full replacement).
    /// Open widgets on every node are told to load the new rendering, and other nodes forget their copy.
    pub async fn put_config(&self, config: Value) -> Result<EffectiveConfig, WidgetError> {
        let text = config.to_string();
        if let Err(errors) = self.plugins.validate_config(&self.plugin, &text).await? {
            return Err(WidgetError::Invalid(errors));
        }
        let stored = self.store.put_widget_config(&self.plugin, &config).await?;
        tracing::info!(plugin = %self.plugin, version = stored.version, "widget configuration changed");
        self.forget_config();
        self.bus
            .publish(Topic::Nodes, RealtimeEvent::CacheChanged(Cache::Widget));
        self.bus.publish(
            Topic::AllVisitors,
            RealtimeEvent::WidgetChanged {
                version: stored.version,
            },
        );
        self.effective(Some(stored))
    }

    /// Drops the in-memory copy of the stored configuration: the next use reads it again.
    pub fn forget_config(&self) {
        if let Ok(mut remembered) = self.remembered.lock() {
            remembered.generation += 1;
            remembered.known = None;
        }
    }

    /// Drops the in-memory copy if it is older than `version`, which a widget was told is stored.
    pub fn expect_version(&self, version: i64) {
        let stale = self.remembered.lock().is_ok_and(|remembered| {
            remembered
                .known
                .as_ref()
                .is_some_and(|known| known.stored.as_ref().map_or(0, |s| s.version) < version)
        });
        if stale {
            self.forget_config();
        }
    }

    /// The stored configuration, from memory when this node has it.
    async fn known(&self) -> Result<Arc<Known>, StoreError> {
        let generation = {
            let remembered = self
                .remembered
                .lock()
                .map_err(|_| StoreError::Corrupt("the widget configuration lock".into()))?;
            if let Some(known) = &remembered.known {
                return Ok(known.clone());
            }
            remembered.generation
        };
        let stored = self.store.widget_config(&self.plugin).await?;
        let text = stored
            .as_ref()
            .map_or_else(|| "{}".to_string(), |s| s.config.to_string());
        let known = Arc::new(Known {
            stored,
            text: text.into(),
        });
        if let Ok(mut remembered) = self.remembered.lock()
            && remembered.generation == generation
        {
            remembered.known = Some(known.clone());
        }
        Ok(known)
    }

    /// The entity tag `widget.js` has for this site right now, without rendering: the plugin's build and
    /// the configuration version. `None`-site errors come first so unknown keys never reach the plugin.
    pub async fn etag(&self, site_key: &str) -> Result<String, WidgetError> {
        if self.store.site_by_key(site_key).await?.is_none() {
            return Err(WidgetError::UnknownSite);
        }
        let version = self.known().await?.stored.as_ref().map_or(0, |c| c.version);
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
        self.script_tagged(site_key, etag).await
    }

    /// [`Self::script`] for a caller that already asked [`Self::etag`] (to answer a conditional request),
    /// so the site is not looked up twice.
    pub async fn script_tagged(
        &self,
        site_key: &str,
        etag: String,
    ) -> Result<WidgetScript, WidgetError> {
        if let Some(hit) = self.cached(site_key, &etag) {
            return Ok(hit);
        }
        let config = self.known().await?.text.clone();
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

    /// Whether the widget plugin's hook takes events of this kind (its schema's
    /// [`HOOK_EVENTS_KEYWORD`](crate::domain::plugin_api::HOOK_EVENTS_KEYWORD)). No plugin, no hook.
    pub fn hook_wants(&self, kind: HookEventType) -> bool {
        self.plugins.hook_wants(&self.plugin, kind)
    }

    /// Runs the widget plugin's hook for a visitor event with the stored configuration.
    pub async fn on_visitor_event(
        &self,
        event: HookEvent,
    ) -> Result<Vec<WidgetAction>, WidgetError> {
        let config = self.known().await?.text.clone();
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
