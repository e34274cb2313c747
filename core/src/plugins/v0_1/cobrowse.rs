//! The `cobrowse` world of `natter:plugin@0.1.x`: the co-browse plugin's exports. The shared types and host
//! imports are the widget world's (`with`), so one `CallState` implementation serves both.

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::plugins::call::CallState;
use crate::plugins::{CobrowseAsset, FieldError, Manifest};

wasmtime::component::bindgen!({
    path: "../sdk/wit/v0.1",
    world: "cobrowse",
    with: {
        "natter:plugin/types": crate::plugins::v0_1::natter::plugin::types,
        "natter:plugin/host": crate::plugins::v0_1::natter::plugin::host,
    },
});

use exports::natter::plugin::cobrowse_plugin as cobrowse;

/// A co-browse component linked against this version's imports.
pub struct CobrowseAdapter {
    pre: CobrowsePre<CallState>,
}

impl CobrowseAdapter {
    pub fn link(engine: &Engine, component: &Component) -> wasmtime::Result<Self> {
        let mut linker = Linker::<CallState>::new(engine);
        Cobrowse::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)?;
        let pre = CobrowsePre::new(linker.instantiate_pre(component)?)?;
        Ok(Self { pre })
    }

    fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<Cobrowse> {
        self.pre.instantiate(store)
    }

    pub fn manifest(&self, store: &mut Store<CallState>) -> wasmtime::Result<Manifest> {
        let instance = self.instantiate(store)?;
        let m = instance
            .natter_plugin_cobrowse_plugin()
            .call_manifest(store)?;
        Ok(crate::plugins::v0_1::manifest(m))
    }

    pub fn config_schema(&self, store: &mut Store<CallState>) -> wasmtime::Result<String> {
        let instance = self.instantiate(store)?;
        instance
            .natter_plugin_cobrowse_plugin()
            .call_config_schema(store)
    }

    pub fn validate_config(
        &self,
        store: &mut Store<CallState>,
        config: &str,
    ) -> wasmtime::Result<Result<(), Vec<FieldError>>> {
        let instance = self.instantiate(store)?;
        let answer = instance
            .natter_plugin_cobrowse_plugin()
            .call_validate_config(store, &config.to_owned())?;
        Ok(answer.map_err(crate::plugins::v0_1::field_errors))
    }

    pub fn asset_script(
        &self,
        store: &mut Store<CallState>,
        config: &str,
        which: CobrowseAsset,
    ) -> wasmtime::Result<Result<String, String>> {
        let instance = self.instantiate(store)?;
        let which = match which {
            CobrowseAsset::Recorder => cobrowse::Asset::Recorder,
            CobrowseAsset::Viewer => cobrowse::Asset::Viewer,
        };
        instance
            .natter_plugin_cobrowse_plugin()
            .call_asset_script(store, &config.to_owned(), which)
    }

    /// Answers the filtered event (`None`: dropped) and the session's next filter state.
    pub fn filter_event(
        &self,
        store: &mut Store<CallState>,
        config: &str,
        state: &str,
        event: &str,
    ) -> wasmtime::Result<Result<(Option<String>, String), String>> {
        let instance = self.instantiate(store)?;
        let answer = instance.natter_plugin_cobrowse_plugin().call_filter_event(
            store,
            &config.to_owned(),
            &state.to_owned(),
            &event.to_owned(),
        )?;
        Ok(answer.map(|f| (f.event, f.state)))
    }
}
