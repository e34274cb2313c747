//! The adapter for `natter:plugin@0.1.x` (`sdk/wit/v0.1`): bindings, the host imports, and conversions
//! between the generated types and the host's own. One such module per WIT version keeps old plugins loading.

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::domain::customers::CustomerFields;
use crate::domain::model::AuthorKind;
use crate::plugins::call::{CallState, HostDeadline, ImportError, LogLevel};
use crate::plugins::platform::ConversationView;
use crate::plugins::{
    FieldError, HookEvent, HookEventKind, Manifest, PluginKind, RenderContext, Rendered,
    WidgetAction,
};
use crate::store::agent_sync::SyncedAgent;

pub mod integration;

// Host imports may trap: a host function that waits past the call's deadline ends the call rather than
// hand the plugin an error it could ignore. `host-error` is carried as the host's `ImportError` and
// converted (or turned into that trap) in `convert_host_error`.
wasmtime::component::bindgen!({
    path: "../sdk/wit/v0.1",
    world: "widget",
    imports: { default: trappable },
    trappable_error_type: {
        "natter:plugin/types.host-error" => ImportError,
    },
});

pub mod cobrowse;

use exports::natter::plugin::widget_plugin as widget;
use natter::plugin::{host, types};

/// A widget component linked against this version's imports, ready to instantiate into any store.
pub struct WidgetAdapter {
    pre: WidgetPre<CallState>,
}

impl WidgetAdapter {
    pub fn link(engine: &Engine, component: &Component) -> wasmtime::Result<Self> {
        let mut linker = Linker::<CallState>::new(engine);
        Widget::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)?;
        let pre = WidgetPre::new(linker.instantiate_pre(component)?)?;
        Ok(Self { pre })
    }

    fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<Widget> {
        self.pre.instantiate(store)
    }

    pub fn manifest(&self, store: &mut Store<CallState>) -> wasmtime::Result<Manifest> {
        let instance = self.instantiate(store)?;
        let m = instance
            .natter_plugin_widget_plugin()
            .call_manifest(store)?;
        Ok(manifest(m))
    }

    pub fn config_schema(&self, store: &mut Store<CallState>) -> wasmtime::Result<String> {
        let instance = self.instantiate(store)?;
        instance
            .natter_plugin_widget_plugin()
            .call_config_schema(store)
    }

    pub fn validate_config(
        &self,
        store: &mut Store<CallState>,
        config: &str,
    ) -> wasmtime::Result<Result<(), Vec<FieldError>>> {
        let instance = self.instantiate(store)?;
        let answer = instance
            .natter_plugin_widget_plugin()
            .call_validate_config(store, &config.to_owned())?;
        Ok(answer.map_err(field_errors))
    }

    pub fn render(
        &self,
        store: &mut Store<CallState>,
        config: &str,
        ctx: &RenderContext,
    ) -> wasmtime::Result<Result<Rendered, String>> {
        let instance = self.instantiate(store)?;
        let ctx = widget::RenderContext {
            site_key: ctx.site_key.clone(),
            base_url: ctx.base_url.clone(),
            ws_url: ctx.ws_url.clone(),
        };
        let answer =
            instance
                .natter_plugin_widget_plugin()
                .call_render(store, &config.to_owned(), &ctx)?;
        Ok(answer.map(|r| Rendered {
            script: r.script,
            style: r.style,
            markup: r.markup,
        }))
    }

    pub fn on_visitor_event(
        &self,
        store: &mut Store<CallState>,
        config: &str,
        event: HookEvent,
    ) -> wasmtime::Result<Result<Vec<WidgetAction>, String>> {
        let instance = self.instantiate(store)?;
        let answer = instance
            .natter_plugin_widget_plugin()
            .call_on_visitor_event(store, &config.to_owned(), &visitor_event(event))?;
        Ok(answer.map(|actions| {
            actions
                .into_iter()
                .map(|action| match action {
                    widget::Action::SystemMessage(text) => WidgetAction::SystemMessage(text),
                })
                .collect()
        }))
    }
}

fn visitor_event(event: HookEvent) -> types::VisitorEvent {
    let visitor = event.visitor;
    types::VisitorEvent {
        visitor: types::VisitorContext {
            site_key: visitor.site_key,
            visitor_id: visitor.visitor_id,
            page: visitor.page.map(|p| types::Page {
                url: p.url,
                title: p.title,
                referrer: p.referrer,
            }),
            conversation_id: visitor.conversation_id,
            agents_online: visitor.agents_online,
            agents_available: visitor.agents_available,
        },
        kind: match event.kind {
            HookEventKind::Connected => types::VisitorEventKind::Connected,
            HookEventKind::ConversationStarted(id) => {
                types::VisitorEventKind::ConversationStarted(id)
            }
            HookEventKind::MessageCreated(m) => {
                types::VisitorEventKind::MessageCreated(message(&m))
            }
            HookEventKind::ConversationClosed(id) => {
                types::VisitorEventKind::ConversationClosed(id)
            }
        },
    }
}

/// The host's manifest from this version's, whatever the world.
pub(crate) fn manifest(m: types::Manifest) -> Manifest {
    Manifest {
        name: m.name,
        version: m.version,
        kind: match m.kind {
            types::PluginKind::Widget => PluginKind::Widget,
            types::PluginKind::Cobrowse => PluginKind::Cobrowse,
            types::PluginKind::Integration => PluginKind::Integration,
        },
        api_version: m.api_version,
        capabilities: m.capabilities,
        description: m.description,
    }
}

pub(crate) fn field_errors(errors: Vec<types::FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError {
            field: e.field,
            message: e.message,
        })
        .collect()
}

impl types::Host for CallState {
    fn convert_host_error(&mut self, error: ImportError) -> wasmtime::Result<types::HostError> {
        Ok(match error {
            ImportError::Denied(capability) => types::HostError::Denied(capability.to_string()),
            ImportError::TooLarge => types::HostError::TooLarge,
            ImportError::Unavailable(why) => types::HostError::Unavailable(why),
            ImportError::Invalid(why) => types::HostError::Invalid(why),
            // 0.1 has no variant of its own for a full store; `invalid` carries the reason.
            ImportError::Full(full) => types::HostError::Invalid(full.to_string()),
            ImportError::Deadline(what) => return Err(HostDeadline(what).into()),
        })
    }
}

impl host::Host for CallState {
    fn log(&mut self, level: host::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            host::LogLevel::Trace => LogLevel::Trace,
            host::LogLevel::Debug => LogLevel::Debug,
            host::LogLevel::Info => LogLevel::Info,
            host::LogLevel::Warn => LogLevel::Warn,
            host::LogLevel::Error => LogLevel::Error,
        };
        CallState::log(self, level, &message);
        Ok(())
    }

    fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(CallState::now_ms(self))
    }

    fn kv_get(&mut self, key: String) -> Result<Option<String>, ImportError> {
        CallState::kv_get(self, &key)
    }

    fn kv_set(&mut self, key: String, value: String) -> Result<(), ImportError> {
        CallState::kv_set(self, &key, &value)
    }

    fn agents_list(&mut self) -> Result<Vec<types::Agent>, ImportError> {
        let agents = CallState::agents_list(self)?;
        Ok(agents.iter().map(agent).collect())
    }

    fn agent_save(&mut self, fields: types::AgentFields) -> Result<types::Agent, ImportError> {
        let synced = SyncedAgent {
            external_id: fields.external_id,
            email: fields.email,
            name: fields.name,
            groups: fields.groups,
            enabled: fields.enabled,
        };
        CallState::agent_save(self, synced).map(|saved| agent(&saved))
    }

    fn customer_get(
        &mut self,
        external_id: String,
    ) -> Result<Option<types::Customer>, ImportError> {
        CallState::customer_get(self, &external_id).map(|found| found.as_ref().map(customer))
    }

    fn customer_save(
        &mut self,
        fields: types::CustomerFields,
    ) -> Result<types::Customer, ImportError> {
        let fields = CustomerFields {
            external_id: fields.external_id,
            email: fields.email,
            firstname: fields.firstname,
            lastname: fields.lastname,
            labels: fields.labels,
        };
        CallState::customer_save(self, fields).map(|saved| customer(&saved))
    }

    fn conversation_get(&mut self, id: String) -> Result<Option<types::Conversation>, ImportError> {
        CallState::conversation_get(self, &id).map(|found| found.as_ref().map(conversation))
    }

    fn messages_list(
        &mut self,
        conversation_id: String,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<types::Message>, ImportError> {
        CallState::messages_list(self, &conversation_id, after_seq, limit)
            .map(|messages| messages.iter().map(message).collect())
    }

    fn delivery_enqueue(
        &mut self,
        delivery: types::OutboundDelivery,
    ) -> Result<String, ImportError> {
        CallState::delivery_enqueue(
            self,
            &delivery.webhook_id,
            &delivery.event_type,
            &delivery.data,
            delivery.conversation_id.as_deref(),
        )
        .map(|id| id.0.to_string())
    }
}

fn conversation(view: &ConversationView) -> types::Conversation {
    let c = &view.conversation;
    types::Conversation {
        id: c.id.0.to_string(),
        site_id: c.site_id.0.to_string(),
        customer_id: c.customer_id.0.to_string(),
        external_customer_id: view.external_customer_id.clone(),
        visitor_id: c.visitor_id.0.to_string(),
        status: c.status.as_str().to_string(),
        assignee_id: c.assignee_id.map(|a| a.0.to_string()),
        last_seq: u64::try_from(c.last_seq).unwrap_or(0),
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
    }
}

fn message(m: &crate::domain::model::Message) -> types::Message {
    types::Message {
        conversation_id: m.conversation_id.to_string(),
        id: m.id.to_string(),
        seq: u64::try_from(m.seq).unwrap_or_default(),
        author: types::Author {
            kind: match m.author_kind {
                AuthorKind::Visitor => types::AuthorKind::Visitor,
                AuthorKind::Agent => types::AuthorKind::Agent,
                AuthorKind::System => types::AuthorKind::System,
            },
            id: m.author_id.map(|id| id.to_string()),
            name: m.author_name.clone(),
        },
        body: m.body.clone(),
        created_at: rfc3339(m.created_at),
    }
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn customer(c: &crate::domain::model::Customer) -> types::Customer {
    types::Customer {
        id: c.id.0.to_string(),
        external_id: c.external_id.clone(),
        email: c.email.clone(),
        firstname: c.firstname.clone(),
        lastname: c.lastname.clone(),
        labels: c.labels.clone(),
    }
}

fn agent(a: &crate::domain::model::Agent) -> types::Agent {
    types::Agent {
        id: a.id.0.to_string(),
        external_id: a.external_id.clone(),
        email: a.email.clone(),
        name: a.name.clone(),
        groups: a.groups.clone(),
        enabled: a.enabled,
    }
}
