//! The stylesheets and fonts of the pages, compiled into the binary and served by the office
//! itself (no CDN, nothing fetched at run time): KERN (`assets/kern/`, updated with
//! `.ci/update-kern`) under a path naming its version, cached for a year; Staffel's own few
//! rules (`assets/staffel.css`), revalidated by their digest.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::UiState;

/// Where the assets are ([`crate::kern::ASSETS`]: the KERN version is part of the path).
pub const PREFIX: &str = crate::kern::ASSETS;

macro_rules! font {
    ($face:literal) => {
        (
            concat!("fonts/fira-sans/FiraSans-", $face, ".woff2"),
            "font/woff2",
            include_bytes!(concat!("../../../assets/kern/fonts/fira-sans/FiraSans-", $face, ".woff2")),
        )
    };
}

/// Every asset: its name under [`PREFIX`], media type, and bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("kern.min.css", "text/css; charset=utf-8", include_bytes!("../../../assets/kern/kern.min.css")),
    ("fonts/fira-sans.css", "text/css; charset=utf-8", include_bytes!("../../../assets/kern/fonts/fira-sans.css")),
    ("staffel.css", "text/css; charset=utf-8", include_bytes!("../../../assets/staffel.css")),
    font!("Light"),
    font!("LightItalic"),
    font!("Regular"),
    font!("Italic"),
    font!("Medium"),
    font!("MediumItalic"),
    font!("SemiBold"),
    font!("SemiBoldItalic"),
    font!("Bold"),
    font!("BoldItalic"),
];

pub fn router() -> Router<UiState> {
    Router::new().route(&format!("{PREFIX}/{{*file}}"), get(asset))
}

fn etags() -> &'static Vec<String> {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| FILES.iter().map(|(_, _, b)| format!("\"{}\"", &crate::digest::sha256_hex(b)[..32])).collect())
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = FILES.iter().position(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (name, media_type, bytes) = FILES[i];
    let etag = &etags()[i];
    let cache = if name == "staffel.css" { "no-cache" } else { "public, max-age=31536000, immutable" };
    let mut response = if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kern_files_are_the_ones_their_checksums_name() {
        let sums = include_str!("../../../assets/kern/SHA256SUMS");
        for (name, _, bytes) in FILES.iter().filter(|(n, _, _)| *n != "staffel.css") {
            let line = sums.lines().find(|l| l.ends_with(&format!("./{name}"))).unwrap_or_else(|| panic!("{name}"));
            assert!(line.starts_with(&crate::digest::sha256_hex(bytes)), "{name} differs from SHA256SUMS");
        }
        // Every face the font stylesheet names is served.
        let css = std::str::from_utf8(FILES[1].2).unwrap();
        for face in css.split("url(\"./").skip(1).filter_map(|s| s.split('"').next()) {
            assert!(FILES.iter().any(|(n, _, _)| *n == format!("fonts/{face}")), "{face} is not served");
        }
    }
}
