//! natter-core: the Natter live chat server as a library, with a thin `natter` binary on top.
//!
//! Data flows one way: `http`/`ws` → `domain` → `store`/`bus`. See ARCHITECTURE.md for the map.

pub mod app;
pub mod bus;
pub mod cluster;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod mail;
pub mod plugins;
pub mod store;
pub mod wire;
pub mod ws;

pub use app::{AppState, Overrides, serve};
pub use config::{Config, LoadedConfig};
pub use http::router;
