//! Generated bindings for `sdk/wit/v0.1`: the shared types and host imports once, then one module per plugin
//! kind whose world is enabled by a cargo feature.
//!
//! Every kind's world links its export list into the component, so a plugin enables exactly one kind;
//! otherwise the component would promise exports it does not have. The host-side check of this crate enables
//! them all, which only compiles them.

wit_bindgen::generate!({
    path: "wit/v0.1",
    world: "imports",
    runtime_path: "natter_sdk::__private::wit_bindgen::rt",
    additional_derives: [PartialEq, Eq],
    generate_unused_types: true,
});

/// The `widget` world: exports `widget-plugin`.
#[cfg(feature = "widget")]
pub mod widget {
    wit_bindgen::generate!({
        path: "wit/v0.1",
        world: "widget",
        runtime_path: "natter_sdk::__private::wit_bindgen::rt",
        additional_derives: [PartialEq, Eq],
        with: {
            "natter:plugin/types@0.1.0": crate::bindings::natter::plugin::types,
            "natter:plugin/host@0.1.0": crate::bindings::natter::plugin::host,
        },
        export_macro_name: "export_widget_world",
        pub_export_macro: true,
        default_bindings_module: "natter_sdk::bindings::widget",
    });
}

/// The `cobrowse` world: exports `cobrowse-plugin`.
#[cfg(feature = "cobrowse")]
pub mod cobrowse {
    wit_bindgen::generate!({
        path: "wit/v0.1",
        world: "cobrowse",
        runtime_path: "natter_sdk::__private::wit_bindgen::rt",
        additional_derives: [PartialEq, Eq],
        with: {
            "natter:plugin/types@0.1.0": crate::bindings::natter::plugin::types,
            "natter:plugin/host@0.1.0": crate::bindings::natter::plugin::host,
        },
        export_macro_name: "export_cobrowse_world",
        pub_export_macro: true,
        default_bindings_module: "natter_sdk::bindings::cobrowse",
    });
}

/// The `integration` world: exports `integration-plugin`.
#[cfg(feature = "integration")]
pub mod integration {
    wit_bindgen::generate!({
        path: "wit/v0.1",
        world: "integration",
        runtime_path: "natter_sdk::__private::wit_bindgen::rt",
        additional_derives: [PartialEq, Eq],
        with: {
            "natter:plugin/types@0.1.0": crate::bindings::natter::plugin::types,
            "natter:plugin/host@0.1.0": crate::bindings::natter::plugin::host,
        },
        export_macro_name: "export_integration_world",
        pub_export_macro: true,
        default_bindings_module: "natter_sdk::bindings::integration",
    });
}
