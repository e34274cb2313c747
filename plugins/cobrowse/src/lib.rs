//! Co-browse, the built-in co-browsing plugin: its configuration (masking selectors, remote control,
//! time limit, consent text), the recorder and viewer scripts (rrweb's prebuilt bundles from npm, pinned
//! by `package-lock.json`, followed by `assets/recorder.js` / `assets/viewer.js`), and the server-side
//! filter every recorded event passes (`filter.rs`).

mod config;
mod filter;

use natter_sdk::cobrowse::{Asset, Filtered};
use natter_sdk::config::describe;
use natter_sdk::script::inject;
use natter_sdk::{Cobrowse, FieldError, Manifest, Plugin};
use serde_json::json;

pub use crate::config::Config;

/// rrweb's recorder and replayer, as npm ships them (`npm ci` in this folder, run by the build script).
const RRWEB_RECORD: &str = include_str!("../node_modules/@rrweb/record/dist/record.umd.min.cjs");
const RRWEB_REPLAY: &str = include_str!("../node_modules/@rrweb/replay/dist/replay.umd.min.cjs");
const RRWEB_REPLAY_CSS: &str = include_str!("../node_modules/@rrweb/replay/dist/style.min.css");
const RECORDER: &str = include_str!("../assets/recorder.js");
const VIEWER: &str = include_str!("../assets/viewer.js");
const CONFIG_SLOT: &str = "__NATTER_COBROWSE_CONFIG__";
const CSS_SLOT: &str = "__NATTER_COBROWSE_CSS__";

/// The plugin, as exported to the host.
pub struct CoBrowse;

impl Plugin for CoBrowse {
    fn manifest() -> Manifest {
        natter_sdk::manifest!(Cobrowse, "cobrowse")
            .description(
                "Co-browsing with rrweb: the agent sees the visitor's page, masked, after consent.",
            )
            .build()
    }

    fn config_schema() -> String {
        config::schema().to_string()
    }

    fn validate_config(config: &str) -> Result<(), Vec<FieldError>> {
        Config::parse(config).map(drop)
    }
}

impl Cobrowse for CoBrowse {
    fn asset_script(config: &str, which: Asset) -> Result<String, String> {
        let config = Config::parse(config).map_err(|errors| describe(&errors))?;
        // What the browser side needs of the configuration; the rest stays on the server.
        let browser = json!({
            "mask_selectors": config.mask_selectors,
            "allow_remote_control": config.allow_remote_control,
        });
        // rrweb's UMD bundle ends in an expression: the `;` keeps ours from being read as a call of it.
        Ok(match which {
            Asset::Recorder => [
                RRWEB_RECORD,
                ";\n",
                &inject(RECORDER, CONFIG_SLOT, &browser)?,
            ]
            .concat(),
            Asset::Viewer => {
                let viewer = inject(VIEWER, CONFIG_SLOT, &browser)?;
                let viewer = inject(&viewer, CSS_SLOT, &json!(RRWEB_REPLAY_CSS))?;
                [RRWEB_REPLAY, ";\n", &viewer].concat()
            }
        })
    }

    fn filter_event(config: &str, state: &str, event: &str) -> Result<Filtered, String> {
        let config = Config::parse(config).map_err(|errors| describe(&errors))?;
        let mut session: filter::State = if state.trim().is_empty() {
            filter::State::default()
        } else {
            serde_json::from_str(state).map_err(|e| format!("bad filter state: {e}"))?
        };
        let event = filter::filter(&config, &mut session, event)?;
        Ok(Filtered {
            event: event.map(|e| e.to_string()),
            state: serde_json::to_string(&session).map_err(|e| e.to_string())?,
        })
    }
}

natter_sdk::export_cobrowse!(CoBrowse);

#[cfg(test)]
mod tests {
    use natter_sdk::cobrowse::Asset;
    use natter_sdk::{Cobrowse, Plugin, PluginKind};

    use crate::CoBrowse;

    #[test]
    fn manifest_names_the_kind_and_the_api() {
        let manifest = CoBrowse::manifest();
        assert_eq!(
            (manifest.name.as_str(), manifest.kind),
            ("cobrowse", PluginKind::Cobrowse)
        );
        assert_eq!(manifest.api_version, natter_sdk::API_VERSION);
    }

    #[test]
    fn scripts_carry_rrweb_and_the_selectors_as_data() {
        let recorder =
            CoBrowse::asset_script(r#"{"mask_selectors":["</script>"]}"#, Asset::Recorder)
                .expect("recorder");
        assert!(recorder.contains("rrwebRecord") && recorder.contains("NatterCobrowse"));
        assert!(
            !recorder.contains("</script>"),
            "selectors go in as escaped JSON"
        );
        let viewer = CoBrowse::asset_script("{}", Asset::Viewer).expect("viewer");
        assert!(viewer.contains("rrwebReplay") && viewer.contains("replayer-wrapper"));
    }

    #[test]
    fn the_filter_state_round_trips_between_calls() {
        let snapshot = r#"{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[
            {"type":2,"id":2,"tagName":"input","attributes":{"type":"password"},"childNodes":[]}]}}}"#;
        let first = CoBrowse::filter_event("{}", "", snapshot).expect("first");
        let input =
            r#"{"type":3,"timestamp":2,"data":{"source":5,"id":2,"text":"pw","isChecked":false}}"#;
        let second = CoBrowse::filter_event("{}", &first.state, input).expect("second");
        assert!(second.event.expect("kept").contains("\"**\""));
    }
}
