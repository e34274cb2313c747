//! Webhooks, a built-in integration plugin: it shapes the body webhook endpoints receive for each event.
//! The host owns endpoints, signing, retries and the delivery log (`/api/v1/webhooks`); it asks this
//! plugin once per event (`shape-webhook`) and sends the answer's bytes on every attempt.
//!
//! With the default configuration the body is the Standard Webhooks envelope
//! `{"id","type","timestamp","data"}` unchanged. The configuration can leave message bodies out or cut
//! them short (data that should not leave the chat), add fixed fields a receiver routes on, or flatten the
//! envelope for tools that want one level.

mod shape;

use natter_sdk::integration::{PlatformEvent, Registration, Request, Response, RouteError};
use natter_sdk::{FieldError, Integration, Manifest, Plugin};

use crate::shape::Shape;

/// The plugin, as exported to the host.
pub struct Webhooks;

impl Plugin for Webhooks {
    fn manifest() -> Manifest {
        natter_sdk::manifest!(Integration, "webhooks")
            .description("Shapes what webhook endpoints receive for each event.")
            .build()
    }

    fn config_schema() -> String {
        shape::schema().to_string()
    }

    fn validate_config(config: &str) -> Result<(), Vec<FieldError>> {
        Shape::parse(config).map(|_| ())
    }
}

impl Integration for Webhooks {
    fn registration() -> Registration {
        Registration {
            routes: Vec::new(),
            events: Vec::new(),
        }
    }

    fn handle(_config: &str, _request: Request) -> Result<Response, RouteError> {
        Err(RouteError::NotFound("route".to_owned()))
    }

    fn shape_webhook(config: &str, event: PlatformEvent) -> Result<String, String> {
        let shape = Shape::parse(config).map_err(|errors| {
            let fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
            format!("invalid configuration: {}", fields.join(", "))
        })?;
        shape.apply(event)
    }
}

natter_sdk::export_integration!(Webhooks);
