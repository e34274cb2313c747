//! WebChat, the built-in widget plugin: the configuration admins edit (colour, texts, position, launcher,
//! language) and the `widget.js` a site embeds, rendered from `assets/` with that configuration.
//!
//! The browser side lives in `assets/widget.js` and `assets/widget.css`; see the README for what it does.

mod config;
mod i18n;
mod render;

use natter_sdk::config::describe;
use natter_sdk::widget::{Action, RenderContext, Rendered, VisitorEvent, VisitorEventKind};
use natter_sdk::{FieldError, Manifest, Plugin, Widget};

pub use crate::config::Config;

/// The plugin, as exported to the host.
pub struct WebChat;

impl Plugin for WebChat {
    fn manifest() -> Manifest {
        natter_sdk::manifest!(Widget, "webchat")
            .description("The built-in chat widget: launcher, chat window, live messages.")
            .build()
    }

    fn config_schema() -> String {
        config::schema().to_string()
    }

    fn validate_config(config: &str) -> Result<(), Vec<FieldError>> {
        Config::parse(config).map(drop)
    }
}

impl Widget for WebChat {
    fn render(config: &str, ctx: RenderContext) -> Result<Rendered, String> {
        let config = Config::parse(config).map_err(|errors| describe(&errors))?;
        render::render(&config, &ctx)
    }

    /// With `offline_reply`, a conversation started while nobody can answer gets the offline text, so the
    /// visitor knows to wait.
    fn on_visitor_event(config: &str, event: VisitorEvent) -> Result<Vec<Action>, String> {
        let config = Config::parse(config).map_err(|errors| describe(&errors))?;
        let nobody = event.visitor.agents_available == 0;
        Ok(match event.kind {
            VisitorEventKind::ConversationStarted(_)
                if nobody && config.offline_reply && !config.offline_text.is_empty() =>
            {
                vec![Action::SystemMessage(config.offline_text)]
            }
            _ => Vec::new(),
        })
    }
}

natter_sdk::export_widget!(WebChat);

#[cfg(test)]
mod tests {
    use natter_sdk::types::{VisitorContext, VisitorEvent, VisitorEventKind};
    use natter_sdk::widget::Action;
    use natter_sdk::{Plugin, PluginKind, Widget};

    use crate::WebChat;

    fn started(available: u32) -> VisitorEvent {
        VisitorEvent {
            visitor: VisitorContext {
                site_key: "site-1".to_owned(),
                visitor_id: "v".to_owned(),
                page: None,
                conversation_id: Some("c".to_owned()),
                agents_online: available,
                agents_available: available,
            },
            kind: VisitorEventKind::ConversationStarted("c".to_owned()),
        }
    }

    #[test]
    fn manifest_names_the_widget_and_the_api() {
        let manifest = WebChat::manifest();
        assert_eq!(
            (manifest.name.as_str(), manifest.kind),
            ("webchat", PluginKind::Widget)
        );
        assert_eq!(manifest.api_version, natter_sdk::API_VERSION);
        assert!(manifest.capabilities.is_empty());
    }

    #[test]
    fn posts_the_offline_text_only_when_nobody_is_available() {
        let actions = WebChat::on_visitor_event(
            r#"{"offline_text":"Back soon","offline_reply":true}"#,
            started(0),
        )
        .expect("ok");
        assert_eq!(actions, [Action::SystemMessage("Back soon".to_owned())]);
        // The host calls the hook only for what the schema lists: the one kind the hook acts on.
        let schema: serde_json::Value =
            serde_json::from_str(&<WebChat as Plugin>::config_schema()).expect("schema");
        assert_eq!(
            schema["x-natter-hook-events"],
            serde_json::json!(["conversation-started"])
        );
        assert!(
            WebChat::on_visitor_event("{}", started(0))
                .expect("ok")
                .is_empty(),
            "off by default"
        );
        assert!(
            WebChat::on_visitor_event(r#"{"offline_reply":true}"#, started(1))
                .expect("ok")
                .is_empty()
        );
        assert!(
            WebChat::on_visitor_event(r#"{"offline_text":"","offline_reply":true}"#, started(0))
                .expect("ok")
                .is_empty()
        );
    }

    #[test]
    fn render_refuses_a_bad_config_naming_the_field() {
        let ctx = natter_sdk::widget::RenderContext {
            site_key: String::new(),
            base_url: String::new(),
            ws_url: String::new(),
        };
        let error = WebChat::render(r#"{"color":"red"}"#, ctx).expect_err("bad colour");
        assert!(error.contains("color:"), "{error}");
    }
}
