//! The traits a plugin implements and the macros that export them as the component's functions.
//!
//! The generated `Guest` traits take owned arguments and know nothing of the panic hook; these traits are
//! what authors see, and the macros bridge the two so a plugin never names generated paths.

use crate::types::{FieldError, Manifest};

/// What every plugin provides, whatever its kind.
pub trait Plugin {
    /// Who the plugin is; build it with [`manifest!`](crate::manifest!).
    fn manifest() -> Manifest;

    /// The JSON Schema of the plugin's configuration, with defaults.
    fn config_schema() -> String;

    /// Checks a configuration document; report every bad field, not just the first.
    fn validate_config(config: &str) -> Result<(), Vec<FieldError>>;
}

/// The `widget` kind: the chat widget a visitor sees.
#[cfg(feature = "widget")]
pub mod widget {
    pub use crate::bindings::widget::exports::natter::plugin::widget_plugin::{
        Action, RenderContext, Rendered,
    };
    pub use crate::types::{VisitorEvent, VisitorEventKind};

    /// A widget plugin. `render` is called with a configuration that passed
    /// [`Plugin::validate_config`](crate::Plugin::validate_config), but a plugin must still not trust it.
    pub trait Widget: crate::Plugin {
        /// Builds the loader script (carrying its own styles), the styles and optional markup.
        fn render(config: &str, ctx: RenderContext) -> Result<Rendered, String>;

        /// Reacts to a visitor event; the default does nothing.
        ///
        /// The host calls it after every visitor event, messages included, unless the configuration
        /// schema narrows that with a top-level `"x-natter-hook-events"` list of the events' WIT names
        /// (`connected`, `conversation-started`, `message-created`, `conversation-closed`). Each call is
        /// a fresh instance, so a plugin that acts on one kind should list it. An unknown name refuses
        /// the plugin at load.
        fn on_visitor_event(config: &str, event: VisitorEvent) -> Result<Vec<Action>, String> {
            let _ = (config, event);
            Ok(Vec::new())
        }
    }
}

#[cfg(feature = "widget")]
pub use widget::Widget;

/// Exports a type implementing [`Plugin`] and [`Widget`] as the component's `widget` world.
///
/// Call it once, at the root of the plugin crate: `natter_sdk::export_widget!(MyWidget);`
#[cfg(feature = "widget")]
#[macro_export]
macro_rules! export_widget {
    ($ty:ident) => {
        const _: () = {
            use $crate::bindings::widget::exports::natter::plugin::widget_plugin::Guest;

            impl Guest for $ty {
                fn manifest() -> $crate::types::Manifest {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::manifest()
                }

                fn config_schema() -> ::std::string::String {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::config_schema()
                }

                fn validate_config(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), ::std::vec::Vec<$crate::types::FieldError>> {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::validate_config(&config)
                }

                fn render(
                    config: ::std::string::String,
                    ctx: $crate::widget::RenderContext,
                ) -> ::std::result::Result<$crate::widget::Rendered, ::std::string::String> {
                    $crate::__private::init();
                    <$ty as $crate::Widget>::render(&config, ctx)
                }

                fn on_visitor_event(
                    config: ::std::string::String,
                    event: $crate::widget::VisitorEvent,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::widget::Action>, ::std::string::String> {
                    $crate::__private::init();
                    <$ty as $crate::Widget>::on_visitor_event(&config, event)
                }
            }
        };
        // Export names such as `natter:plugin/widget-plugin@0.1.0#render` only link on wasm32; a native build
        // (the plugin's unit tests) keeps the trait impls and exports nothing.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::widget::export_widget_world!($ty with_types_in $crate::bindings::widget);
    };
}

/// The `cobrowse` kind: the recorder and viewer scripts, and the filter every recorded event passes.
#[cfg(feature = "cobrowse")]
pub mod cobrowse {
    pub use crate::bindings::cobrowse::exports::natter::plugin::cobrowse_plugin::{
        Asset, Filtered,
    };

    /// A co-browse plugin. Every function is called with a configuration that passed
    /// [`Plugin::validate_config`](crate::Plugin::validate_config), but a plugin must still not trust it.
    pub trait Cobrowse: crate::Plugin {
        /// The recorder (visitor side) or viewer (agent side) script.
        fn asset_script(config: &str, which: Asset) -> Result<String, String>;

        /// Filters one recorded event; `state` is what the previous call of this session returned.
        fn filter_event(config: &str, state: &str, event: &str) -> Result<Filtered, String>;
    }
}

#[cfg(feature = "cobrowse")]
pub use cobrowse::Cobrowse;

/// Exports a type implementing [`Plugin`] and [`Cobrowse`] as the component's `cobrowse` world.
///
/// Call it once, at the root of the plugin crate: `natter_sdk::export_cobrowse!(MyCobrowse);`
#[cfg(feature = "cobrowse")]
#[macro_export]
macro_rules! export_cobrowse {
    ($ty:ident) => {
        const _: () = {
            use $crate::bindings::cobrowse::exports::natter::plugin::cobrowse_plugin::Guest;

            impl Guest for $ty {
                fn manifest() -> $crate::types::Manifest {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::manifest()
                }

                fn config_schema() -> ::std::string::String {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::config_schema()
                }

                fn validate_config(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), ::std::vec::Vec<$crate::types::FieldError>> {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::validate_config(&config)
                }

                fn asset_script(
                    config: ::std::string::String,
                    which: $crate::cobrowse::Asset,
                ) -> ::std::result::Result<::std::string::String, ::std::string::String> {
                    $crate::__private::init();
                    <$ty as $crate::Cobrowse>::asset_script(&config, which)
                }

                fn filter_event(
                    config: ::std::string::String,
                    state: ::std::string::String,
                    event: ::std::string::String,
                ) -> ::std::result::Result<$crate::cobrowse::Filtered, ::std::string::String> {
                    $crate::__private::init();
                    <$ty as $crate::Cobrowse>::filter_event(&config, &state, &event)
                }
            }
        };
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::cobrowse::export_cobrowse_world!($ty with_types_in $crate::bindings::cobrowse);
    };
}

/// The `integration` kind: REST routes of the plugin's own and reactions to platform events.
#[cfg(feature = "integration")]
pub mod integration {
    pub use crate::bindings::integration::exports::natter::plugin::integration_plugin::{
        Caller, HttpMethod, PlatformEvent, Registration, Request, Response, Route, RouteError,
    };

    /// An integration plugin. `handle` is only called for routes [`Integration::registration`] declared,
    /// after the host checked the caller's token and scope.
    pub trait Integration: crate::Plugin {
        /// The routes served and the events wanted; read once when the plugin loads.
        fn registration() -> Registration;

        /// Serves one request to a registered route.
        fn handle(config: &str, request: Request) -> Result<Response, RouteError>;

        /// Reacts to a platform event the registration asked for; the default does nothing.
        fn on_event(config: &str, event: PlatformEvent) -> Result<(), String> {
            let _ = (config, event);
            Ok(())
        }

        /// The webhook body for `event`; only asked of the plugin configured as the webhook shaper. The
        /// default is the envelope itself.
        fn shape_webhook(config: &str, event: PlatformEvent) -> Result<String, String> {
            let _ = config;
            Ok(event.envelope())
        }
    }

    impl PlatformEvent {
        /// The Standard Webhooks envelope `{"id","type","timestamp","data"}` of this event, as the host
        /// sends it when no plugin shapes it.
        pub fn envelope(&self) -> String {
            // Spliced as text, so `data` keeps the host's bytes and key order.
            let data = match serde_json::from_str::<serde::de::IgnoredAny>(&self.data) {
                Ok(_) => self.data.trim(),
                Err(_) => "null",
            };
            let text = |s: &str| serde_json::Value::from(s).to_string();
            format!(
                r#"{{"id":{},"type":{},"timestamp":{},"data":{}}}"#,
                text(&self.id),
                text(&self.type_),
                text(&self.timestamp),
                data
            )
        }
    }

    impl Request {
        /// The path parameter `name`, as registered in the route's template.
        pub fn param(&self, name: &str) -> Option<&str> {
            self.params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        }

        /// The JSON body; a missing or broken one is the caller's mistake (400).
        pub fn json_body(&self) -> Result<serde_json::Value, RouteError> {
            let text = self
                .body
                .as_deref()
                .ok_or_else(|| RouteError::BadRequest("send a JSON body".to_owned()))?;
            serde_json::from_str(text)
                .map_err(|e| RouteError::BadRequest(format!("the body is not JSON: {e}")))
        }
    }

    impl Response {
        /// A successful answer with a JSON body.
        pub fn json(status: u16, body: &serde_json::Value) -> Self {
            Self {
                status,
                body: body.to_string(),
            }
        }
    }

    /// A host function's refusal fails the request (503, counted as the plugin's failure), so `?` on a
    /// host call is the whole error handling of a route.
    impl From<crate::host::HostError> for RouteError {
        fn from(error: crate::host::HostError) -> Self {
            use crate::host::HostError;
            RouteError::Failed(match error {
                HostError::Denied(capability) => {
                    format!("the host refused: capability `{capability}` is not granted")
                }
                HostError::TooLarge => "the host refused: too large".to_owned(),
                HostError::Unavailable(why) => format!("the host could not do it: {why}"),
                HostError::Invalid(why) => format!("the host refused the arguments: {why}"),
            })
        }
    }
}

#[cfg(feature = "integration")]
pub use integration::Integration;

/// Exports a type implementing [`Plugin`] and [`Integration`] as the component's `integration` world.
///
/// Call it once, at the root of the plugin crate: `natter_sdk::export_integration!(MySync);`
#[cfg(feature = "integration")]
#[macro_export]
macro_rules! export_integration {
    ($ty:ident) => {
        const _: () = {
            use $crate::bindings::integration::exports::natter::plugin::integration_plugin::Guest;

            impl Guest for $ty {
                fn manifest() -> $crate::types::Manifest {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::manifest()
                }

                fn config_schema() -> ::std::string::String {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::config_schema()
                }

                fn validate_config(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), ::std::vec::Vec<$crate::types::FieldError>> {
                    $crate::__private::init();
                    <$ty as $crate::Plugin>::validate_config(&config)
                }

                fn register() -> $crate::integration::Registration {
                    $crate::__private::init();
                    <$ty as $crate::Integration>::registration()
                }

                fn handle(
                    config: ::std::string::String,
                    request: $crate::integration::Request,
                ) -> ::std::result::Result<$crate::integration::Response, $crate::integration::RouteError> {
                    $crate::__private::init();
                    <$ty as $crate::Integration>::handle(&config, request)
                }

                fn on_event(
                    config: ::std::string::String,
                    event: $crate::integration::PlatformEvent,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::__private::init();
                    <$ty as $crate::Integration>::on_event(&config, event)
                }

                fn shape_webhook(
                    config: ::std::string::String,
                    event: $crate::integration::PlatformEvent,
                ) -> ::std::result::Result<::std::string::String, ::std::string::String> {
                    $crate::__private::init();
                    <$ty as $crate::Integration>::shape_webhook(&config, event)
                }
            }
        };
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::integration::export_integration_world!($ty with_types_in $crate::bindings::integration);
    };
}
