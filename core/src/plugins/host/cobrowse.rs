//! Calls into co-browse plugins: the recorder and viewer scripts, and the filter every recorded event
//! passes through.

use crate::domain::plugin_api::PluginError;
use crate::plugins::host::{Adapter, PluginHost, wrong_adapter};
use crate::plugins::{CobrowseAsset, PluginKind};

impl PluginHost {
    /// A co-browse plugin's recorder or viewer script; also answers with the plugin's generation.
    pub async fn cobrowse_asset(
        &self,
        name: &str,
        config: &str,
        which: CobrowseAsset,
    ) -> Result<(String, u64), PluginError> {
        let generation = self
            .get(name)
            .map(|p| p.generation)
            .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        let config = config.to_string();
        let script = self
            .call(
                name,
                PluginKind::Cobrowse,
                config.len(),
                String::len,
                move |adapter, store| match adapter {
                    Adapter::Cobrowse0_1(a) => a.asset_script(store, &config, which),
                    _ => wrong_adapter(),
                },
            )
            .await?;
        Ok((script, generation))
    }

    /// Passes one recorded event through a co-browse plugin's filter: the event to forward (`None`:
    /// dropped) and the session's next filter state.
    pub async fn cobrowse_filter(
        &self,
        name: &str,
        config: &str,
        state: &str,
        event: &str,
    ) -> Result<(Option<String>, String), PluginError> {
        let (config, state, event) = (config.to_string(), state.to_string(), event.to_string());
        let input = config.len() + state.len() + event.len();
        self.call(
            name,
            PluginKind::Cobrowse,
            input,
            |(event, state): &(Option<String>, String)| {
                event.as_ref().map_or(0, String::len) + state.len()
            },
            move |adapter, store| match adapter {
                Adapter::Cobrowse0_1(a) => a.filter_event(store, &config, &state, &event),
                _ => wrong_adapter(),
            },
        )
        .await
    }
}
