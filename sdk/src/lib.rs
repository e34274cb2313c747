//! The plugin SDK: guest bindings for the `natter:plugin` WIT package and helpers (being built).
