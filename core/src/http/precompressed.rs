//! `widget.js` compressed with brotli at its best quality, once per rendered version.
//!
//! The compression layer works per request, at a quality cheap enough for that; at that quality
//! brotli comes out larger than gzip for this script. Every page of a customer's site loads it, so it
//! is worth compressing once at the slowest setting and keeping the bytes: then brotli is the smallest
//! form, and costs nothing per request. Clients that do not take `br` get gzip from the layer.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_ENCODING;

use crate::domain::widget::WidgetScript;

/// Brotli's best quality and its largest standard window.
const QUALITY: u32 = 11;
const WINDOW_BITS: u32 = 22;

/// The compressed script per site key.
#[derive(Default)]
pub struct Precompressed {
    brotli: Mutex<HashMap<String, Compressed>>,
}

/// Compressed bytes and the version (entity tag) they were made from.
type Compressed = (Arc<str>, Arc<[u8]>);

impl Precompressed {
    /// `script` compressed with brotli; made on the first request for each version.
    pub async fn brotli(
        &self,
        site_key: &str,
        script: &WidgetScript,
    ) -> std::io::Result<Arc<[u8]>> {
        if let Ok(cache) = self.brotli.lock()
            && let Some((etag, bytes)) = cache.get(site_key)
            && *etag == script.etag
        {
            return Ok(bytes.clone());
        }
        let text = script.script.clone();
        // Quality 11 takes tens of milliseconds for this script: off the request threads.
        let bytes: Arc<[u8]> = tokio::task::spawn_blocking(move || compress(text.as_bytes()))
            .await
            .map_err(std::io::Error::other)??
            .into();
        if let Ok(mut cache) = self.brotli.lock() {
            cache.insert(site_key.to_string(), (script.etag.clone(), bytes.clone()));
        }
        Ok(bytes)
    }
}

fn compress(input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut writer = brotli::CompressorWriter::new(Vec::new(), 4096, QUALITY, WINDOW_BITS);
    writer.write_all(input)?;
    writer.flush()?;
    Ok(writer.into_inner())
}

/// Whether `Accept-Encoding` names `br` with a weight above zero.
pub fn accepts_brotli(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let weight = parts
                .find_map(|p| p.strip_prefix("q="))
                .map_or(Some(1.0), |q| q.parse::<f32>().ok());
            name.eq_ignore_ascii_case("br") && weight.is_some_and(|q| q > 0.0)
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::io::Read;

    use axum::http::HeaderValue;

    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(accept).unwrap());
        headers
    }

    #[test]
    fn br_is_taken_only_when_named_with_a_weight_above_zero() {
        assert!(accepts_brotli(&headers("gzip, deflate, br")));
        assert!(accepts_brotli(&headers("br;q=0.5, gzip;q=1")));
        assert!(accepts_brotli(&headers("BR")));
        assert!(!accepts_brotli(&headers("gzip, deflate")));
        assert!(!accepts_brotli(&headers("br;q=0, gzip")));
        assert!(!accepts_brotli(&headers("br;q=bad")));
        assert!(!accepts_brotli(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn the_script_is_compressed_once_per_version_and_decompresses_to_itself() {
        let cache = Precompressed::default();
        let script = |etag: &str, text: &str| WidgetScript {
            etag: etag.into(),
            script: text.repeat(50).into(),
        };
        let first = script("\"1\"", "var natter = 'widget';");
        let bytes = cache.brotli("site", &first).await.unwrap();
        let again = cache.brotli("site", &first).await.unwrap();
        assert!(
            Arc::ptr_eq(&bytes, &again),
            "the same version is compressed once"
        );
        let mut plain = String::new();
        brotli::Decompressor::new(&bytes[..], 4096)
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, *first.script);

        let second = script("\"2\"", "var natter = 'changed';");
        let changed = cache.brotli("site", &second).await.unwrap();
        assert!(
            !Arc::ptr_eq(&bytes, &changed),
            "a new version is compressed anew"
        );
    }
}
