//! The `integration` world of `natter:plugin@0.1.x`: bindings and conversions. The host imports are the
//! widget world's (`with:`), so one implementation serves every kind.

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::plugins::call::CallState;
use crate::plugins::integration::{
    HttpMethod, PlatformEvent, Registration, RouteRefusal, RouteRequest, RouteResponse, RouteSpec,
};
use crate::plugins::v0_1::{field_errors, manifest};
use crate::plugins::{FieldError, Manifest};

wasmtime::component::bindgen!({
    path: "../sdk/wit/v0.1",
    world: "integration",
    with: {
        "natter:plugin/types": crate::plugins::v0_1::natter::plugin::types,
        "natter:plugin/host": crate::plugins::v0_1::natter::plugin::host,
    },
});

use exports::natter::plugin::integration_plugin as wit;

/// An integration component linked against this version's imports.
pub struct IntegrationAdapter {
    pre: IntegrationPre<CallState>,
}

impl IntegrationAdapter {
    pub fn link(engine: &Engine, component: &Component) -> wasmtime::Result<Self> {
        let mut linker = Linker::<CallState>::new(engine);
        Integration::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)?;
        let pre = IntegrationPre::new(linker.instantiate_pre(component)?)?;
        Ok(Self { pre })
    }

    fn plugin(&self, store: &mut Store<CallState>) -> wasmtime::Result<Integration> {
        self.pre.instantiate(store)
    }

    pub fn manifest(&self, store: &mut Store<CallState>) -> wasmtime::Result<Manifest> {
        let instance = self.plugin(store)?;
        let m = instance
            .natter_plugin_integration_plugin()
            .call_manifest(store)?;
        Ok(manifest(m))
    }

    pub fn config_schema(&self, store: &mut Store<CallState>) -> wasmtime::Result<String> {
        let instance = self.plugin(store)?;
        instance
            .natter_plugin_integration_plugin()
            .call_config_schema(store)
    }

    pub fn validate_config(
        &self,
        store: &mut Store<CallState>,
        config: &str,
    ) -> wasmtime::Result<Result<(), Vec<FieldError>>> {
        let instance = self.plugin(store)?;
        let answer = instance
            .natter_plugin_integration_plugin()
            .call_validate_config(store, &config.to_owned())?;
        Ok(answer.map_err(field_errors))
    }

    pub fn register(&self, store: &mut Store<CallState>) -> wasmtime::Result<Registration> {
        let instance = self.plugin(store)?;
        let r = instance
            .natter_plugin_integration_plugin()
            .call_register(store)?;
        Ok(Registration {
            routes: r
                .routes
                .into_iter()
                .map(|route| RouteSpec {
                    method: method_from(route.method),
                    path: route.path,
                    summary: route.summary,
                    scope: route.scope,
                    request_schema: route.request_schema,
                    response_schema: route.response_schema,
                })
                .collect(),
            events: r.events,
        })
    }

    /// Serves a request. `Ok(Err(message))` is the plugin's own failure (counted); a refusal is an answer.
    pub fn handle(
        &self,
        store: &mut Store<CallState>,
        config: &str,
        request: RouteRequest,
    ) -> wasmtime::Result<Result<Result<RouteResponse, RouteRefusal>, String>> {
        let instance = self.plugin(store)?;
        let request = wit::Request {
            method: method_to(request.method),
            route: request.route,
            params: request.params,
            query: request.query,
            body: request.body,
            caller: wit::Caller {
                token_id: request.caller.token_id,
                token_name: request.caller.token_name,
                scopes: request.caller.scopes,
            },
        };
        let answer = instance.natter_plugin_integration_plugin().call_handle(
            store,
            &config.to_owned(),
            &request,
        )?;
        Ok(match answer {
            Ok(response) => Ok(Ok(RouteResponse {
                status: response.status,
                body: response.body,
            })),
            Err(wit::RouteError::Invalid(errors)) => {
                Ok(Err(RouteRefusal::Invalid(field_errors(errors))))
            }
            Err(wit::RouteError::NotFound(what)) => Ok(Err(RouteRefusal::NotFound(what))),
            Err(wit::RouteError::Conflict(why)) => Ok(Err(RouteRefusal::Conflict(why))),
            Err(wit::RouteError::BadRequest(why)) => Ok(Err(RouteRefusal::BadRequest(why))),
            Err(wit::RouteError::Failed(why)) => Err(why),
        })
    }

    pub fn on_event(
        &self,
        store: &mut Store<CallState>,
        config: &str,
        event: PlatformEvent,
    ) -> wasmtime::Result<Result<(), String>> {
        let instance = self.plugin(store)?;
        instance.natter_plugin_integration_plugin().call_on_event(
            store,
            &config.to_owned(),
            &platform_event(event),
        )
    }

    pub fn shape_webhook(
        &self,
        store: &mut Store<CallState>,
        config: &str,
        event: PlatformEvent,
    ) -> wasmtime::Result<Result<String, String>> {
        let instance = self.plugin(store)?;
        instance
            .natter_plugin_integration_plugin()
            .call_shape_webhook(store, &config.to_owned(), &platform_event(event))
    }
}

fn platform_event(event: PlatformEvent) -> wit::PlatformEvent {
    wit::PlatformEvent {
        id: event.id,
        type_: event.event_type,
        timestamp: event.timestamp,
        data: event.data,
    }
}

fn method_from(method: wit::HttpMethod) -> HttpMethod {
    match method {
        wit::HttpMethod::Get => HttpMethod::Get,
        wit::HttpMethod::Post => HttpMethod::Post,
        wit::HttpMethod::Put => HttpMethod::Put,
        wit::HttpMethod::Patch => HttpMethod::Patch,
        wit::HttpMethod::Delete => HttpMethod::Delete,
    }
}

fn method_to(method: HttpMethod) -> wit::HttpMethod {
    match method {
        HttpMethod::Get => wit::HttpMethod::Get,
        HttpMethod::Post => wit::HttpMethod::Post,
        HttpMethod::Put => wit::HttpMethod::Put,
        HttpMethod::Patch => wit::HttpMethod::Patch,
        HttpMethod::Delete => wit::HttpMethod::Delete,
    }
}
