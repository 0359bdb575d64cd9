//! The web pages, embedded in the binary at build time (`build.rs` lists every file under
//! `src/http/assets/`): `GET /` the widget demo page, `GET /agent` the agent workspace,
//! `GET /widget.js` the embeddable widget, `GET /assets/{name}` every file. Served with a
//! strong content-hash `ETag` (`If-None-Match` → 304), `Cache-Control` (HTML revalidates,
//! assets are cached five minutes), `X-Content-Type-Options: nosniff` and, on HTML pages, a
//! Content-Security-Policy that allows nothing from elsewhere and no inline script or style.
//! `serve --no-ui` leaves these routes out.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::Routes;
use super::error::ApiError;
use crate::error::Error;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The policy of the HTML pages: only this origin; WebSockets to any host (the page
/// connects back to the server it came from, on ws: or wss:).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; \
     frame-ancestors 'self'; base-uri 'none'; form-action 'self'";

/// `Cache-Control` of the HTML pages: always revalidate (cheap with the ETag).
const HTML_CACHE: &str = "no-cache";
/// `Cache-Control` of scripts, styles and images.
const ASSET_CACHE: &str = "public, max-age=300";

/// One embedded file, ready to serve.
struct Asset {
    bytes: &'static [u8],
    /// `"<first 32 hex digits of the SHA-256>"`, quoted: a strong validator.
    etag: HeaderValue,
    content_type: &'static str,
}

impl Asset {
    fn is_html(&self) -> bool {
        self.content_type.starts_with("text/html")
    }
}

/// The Content-Type for a file name (UTF-8 text types say so).
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn assets() -> &'static HashMap<&'static str, Asset> {
    static ASSET_MAP: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    ASSET_MAP.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(name, bytes)| {
                let digest = Sha256::digest(bytes);
                let etag = format!("\"{}\"", &hex::encode(digest)[..32]);
                let asset = Asset {
                    bytes,
                    etag: HeaderValue::from_str(&etag).expect("hex is a valid header value"),
                    content_type: content_type(name),
                };
                (*name, asset)
            })
            .collect()
    })
}

/// Names of the embedded files, sorted.
pub fn asset_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = ASSETS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names
}

/// The page routes (path, method, handler).
pub(super) fn routes() -> Routes {
    vec![
        (
            "/",
            "get",
            get(|h: HeaderMap| async move { serve("index.html", &h) }),
        ),
        (
            "/agent",
            "get",
            get(|h: HeaderMap| async move { serve("agent.html", &h) }),
        ),
        (
            "/widget.js",
            "get",
            get(|h: HeaderMap| async move { serve("widget.js", &h) }),
        ),
        ("/assets/{*name}", "get", get(asset)),
    ]
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

/// Whether an `If-None-Match` header names `etag` (or is `*`).
fn matches(if_none_match: Option<&HeaderValue>, etag: &HeaderValue) -> bool {
    let Some(value) = if_none_match.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let etag = etag.to_str().unwrap_or("");
    value
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = assets().get(name) else {
        return ApiError::from(Error::NotFound {
            kind: "page",
            id: name.to_string(),
        })
        .into_response();
    };
    let cache = if asset.is_html() {
        HTML_CACHE
    } else {
        ASSET_CACHE
    };
    let mut response = if matches(headers.get(header::IF_NONE_MATCH), &asset.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, asset.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.is_html() {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_charset() {
        assert_eq!(content_type("agent.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a/b.JS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("desk.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("logo.png"), "image/png");
        assert_eq!(content_type("README"), "application/octet-stream");
    }

    #[test]
    fn if_none_match_lists_and_wildcards() {
        let etag = HeaderValue::from_static("\"abc\"");
        let m = |v: &'static str| matches(Some(&HeaderValue::from_static(v)), &etag);
        assert!(m("\"abc\""));
        assert!(m("\"x\", \"abc\""));
        assert!(m("W/\"abc\""));
        assert!(m("*"));
        assert!(!m("\"abd\""));
        assert!(!matches(None, &etag));
    }
}
