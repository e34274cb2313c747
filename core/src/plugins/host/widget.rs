//! Calls into widget plugins: `render` and the `on-visitor-event` hook, and how their payloads are measured.

use crate::domain::plugin_api::PluginError;
use crate::plugins::host::{Adapter, PluginHost, wrong_adapter};
use crate::plugins::{HookEvent, HookEventKind, PluginKind, RenderContext, Rendered, WidgetAction};

impl PluginHost {
    /// Renders a widget; also answers with the plugin's generation (what a cache of the output is valid for).
    pub async fn render(
        &self,
        name: &str,
        config: &str,
        ctx: &RenderContext,
    ) -> Result<(Rendered, u64), PluginError> {
        let generation = self
            .get(name)
            .map(|p| p.generation)
            .ok_or_else(|| PluginError::NotFound(name.to_string()))?;
        let config = config.to_string();
        let ctx = ctx.clone();
        let input = config.len() + ctx.site_key.len() + ctx.base_url.len() + ctx.ws_url.len();
        let rendered = self
            .call(
                name,
                PluginKind::Widget,
                input,
                rendered_size,
                move |adapter, store| match adapter {
                    Adapter::Widget0_1(widget) => widget.render(store, &config, &ctx),
                    _ => wrong_adapter(),
                },
            )
            .await?;
        Ok((rendered, generation))
    }

    /// Runs a widget's `on-visitor-event` hook; answers the actions it asks for, in order.
    pub async fn on_visitor_event(
        &self,
        name: &str,
        config: &str,
        event: HookEvent,
    ) -> Result<Vec<WidgetAction>, PluginError> {
        let config = config.to_string();
        let input = config.len() + hook_event_size(&event);
        self.call(
            name,
            PluginKind::Widget,
            input,
            |actions: &Vec<WidgetAction>| actions_size(actions),
            move |adapter, store| match adapter {
                Adapter::Widget0_1(widget) => widget.on_visitor_event(store, &config, event),
                _ => wrong_adapter(),
            },
        )
        .await
    }
}

fn rendered_size(r: &Rendered) -> usize {
    r.script.len() + r.style.len() + r.markup.as_ref().map_or(0, String::len)
}

fn hook_event_size(event: &HookEvent) -> usize {
    let v = &event.visitor;
    let page = v
        .page
        .as_ref()
        .map_or(0, |p| p.url.len() + p.title.len() + p.referrer.len());
    let kind = match &event.kind {
        HookEventKind::Connected => 0,
        HookEventKind::ConversationStarted(id) | HookEventKind::ConversationClosed(id) => id.len(),
        HookEventKind::MessageCreated(m) => {
            m.body.len() + m.author_name.as_ref().map_or(0, String::len)
        }
    };
    v.site_key.len() + v.visitor_id.len() + page + kind
}

fn actions_size(actions: &[WidgetAction]) -> usize {
    actions
        .iter()
        .map(|WidgetAction::SystemMessage(text)| text.len())
        .sum()
}
