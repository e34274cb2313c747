//! Acme Help Tab: an example vendor widget for Natter, built against `natter-sdk` alone.
//!
//! It shows the whole shape of a widget plugin: a manifest, a configuration schema with validation that
//! names each bad field, and a `render` that injects the configuration into a script template as data.
//! The browser side (`assets/tab.js`) is a deliberately small chat: one vertical tab, one panel, live messages.

use natter_sdk::config::{Fields, describe, hex_color, text};
use natter_sdk::serde_json::json;
use natter_sdk::widget::{RenderContext, Rendered};
use natter_sdk::{FieldError, Manifest, Plugin, Widget};

const TEMPLATE: &str = include_str!("../assets/tab.js");
const STYLE: &str = include_str!("../assets/tab.css");

/// The configuration, every field filled with its default when left out.
struct Config {
    accent: String,
    label: String,
    side: String,
}

impl Config {
    fn parse(json: &str) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::parse(json)?;
        let config = Config {
            accent: fields.string("accent", "#0f766e", hex_color),
            label: fields.string("label", "Help", |v| text(v, 1, 24, false)),
            side: fields.one_of("side", "right", &["right", "left"]),
        };
        fields.finish().map(|()| config)
    }
}

pub struct HelpTab;

impl Plugin for HelpTab {
    fn manifest() -> Manifest {
        natter_sdk::manifest!(Widget, "acme-help-tab")
            .description("A slim help tab on the edge of the page.")
            .build()
    }

    fn config_schema() -> String {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "accent": { "type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "default": "#0f766e" },
                "label": { "type": "string", "minLength": 1, "maxLength": 24, "default": "Help" },
                "side": { "type": "string", "enum": ["right", "left"], "default": "right" }
            }
        })
        .to_string()
    }

    fn validate_config(config: &str) -> Result<(), Vec<FieldError>> {
        Config::parse(config).map(drop)
    }
}

impl Widget for HelpTab {
    fn render(config: &str, ctx: RenderContext) -> Result<Rendered, String> {
        let config = Config::parse(config).map_err(|errors| describe(&errors))?;
        let boot = json!({
            "accent": config.accent,
            "label": config.label,
            "side": config.side,
            "ws_url": ctx.ws_url,
            "site_key": ctx.site_key,
            "css": STYLE,
        });
        let script = natter_sdk::script::inject(TEMPLATE, "__ACME_BOOT__", &boot)?;
        Ok(Rendered {
            script,
            style: STYLE.to_owned(),
            markup: None,
        })
    }
}

natter_sdk::export_widget!(HelpTab);

#[cfg(test)]
mod tests {
    use natter_sdk::widget::RenderContext;
    use natter_sdk::{Plugin, Widget};

    use crate::HelpTab;

    #[test]
    fn names_each_bad_field() {
        let errors = HelpTab::validate_config(r#"{"accent":"teal","side":"top"}"#)
            .expect_err("two bad fields");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["accent", "side"]);
    }

    #[test]
    fn renders_the_label_as_data() {
        let ctx = RenderContext {
            site_key: "k".to_owned(),
            base_url: "http://localhost".to_owned(),
            ws_url: "ws://localhost/ws/visitor".to_owned(),
        };
        let rendered = HelpTab::render(r#"{"label":"</script>"}"#, ctx).expect("renders");
        assert!(!rendered.script.contains("</script>"));
    }
}
