//! The console's admin pages: `GET /agent/admin` and every file under `core/assets/console/admin`,
//! embedded in the binary. Which sections an agent sees is the page's business; what they may change
//! is the API's (`/api/v1` answers 403 to an agent without the admin role).

use axum::http::HeaderName;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use crate::http::console;
use crate::http::extract::Path;

static ADMIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/console/admin");

/// `GET /agent/admin`: the admin pages' shell.
pub async fn page() -> Response {
    match ADMIN.get_file("index.html").and_then(|f| f.contents_utf8()) {
        Some(html) => console::page_response(StatusCode::OK, html.into()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /agent/admin/{*path}`: a script, style sheet or image of the admin pages.
pub async fn asset(Path(path): Path<String>) -> Response {
    let Some(file) = ADMIN.get_file(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(content_type) = content_type(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if content_type.starts_with("text/html") {
        let html = String::from_utf8_lossy(file.contents()).into_owned();
        return console::page_response(StatusCode::OK, html);
    }
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("x-content-type-options"), "nosniff"),
        ],
        file.contents(),
    )
        .into_response()
}

fn content_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext)?;
    Some(match extension {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_and_its_script_are_embedded() {
        assert!(ADMIN.get_file("index.html").is_some());
        assert!(ADMIN.get_file("admin.js").is_some());
        assert_eq!(
            content_type("vendor/editor.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type("notes.txt"), None);
    }
}
