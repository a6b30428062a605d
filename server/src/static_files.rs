//! The web apps' files, from the dist folder, served so that browsers fetch as few bytes as
//! possible, as rarely as possible:
//!
//! - **Precompressed.** `cargo xtask build` writes `<file>.br` (brotli, quality 11) and
//!   `<file>.gz` (gzip, best) next to every compressible file (xtask/src/compress.rs). A
//!   request whose `Accept-Encoding` takes `br` gets the `.br` with `Content-Encoding: br`, one
//!   that takes `gzip` the `.gz`, any other the file itself; the Content-Type is always the
//!   original's (`application/wasm` for `.wasm`). Nothing is compressed per request.
//!   Compressible responses say `Vary: Accept-Encoding`, so that caches keep the encodings
//!   apart.
//! - **Cached by name.** Trunk names the files it builds after their content
//!   ([`is_hashed`]): such a name always means the same bytes, so browsers may keep them for a
//!   year without asking again (`public, max-age=31536000, immutable`). Every other response
//!   says `no-cache`: the browser may keep it but asks first (`If-Modified-Since`, answered 304
//!   when nothing changed). That covers `index.html`, whose new version must be seen at once as
//!   it names the new hashed files, the app's routes, and the files whose name stays the same
//!   from build to build (`/sdk/webcall.js`, the SDK example's files).
//!
//! A path that is no file is one of the app's routes (`/call`, `/login`): it gets the app's
//! `index.html`, or for the pages the first load leaves out the whole app's (see
//! [`app_page`]). HEAD, `If-Modified-Since` and single `Range` requests work on every file (a
//! range of a compressed answer counts bytes of the compressed file, as its `Content-Range`
//! says).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tracing::{error, warn};

use crate::AppState;

/// `Cache-Control` of the files named after their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of everything else: keep it, but ask before using it.
const NO_CACHE: &str = "no-cache";

/// The extensions of the files `cargo xtask build` writes compressed copies of (the list of
/// xtask/src/compress.rs): their answers depend on `Accept-Encoding`.
const COMPRESSIBLE: [&str; 11] = [
    "wasm", "js", "mjs", "css", "html", "svg", "json", "ts", "txt", "md", "map",
];

/// The fewest hex digits taken for trunk's content hash. Trunk writes the 64-bit hash with
/// `{:x}`, without leading zeros: 16 digits, fewer in one build out of 16, fewer than 12 in
/// one out of 65,536. A file with a shorter hash is served `no-cache` (correct, only slower);
/// the minimum keeps names such as `app-1234.js` or `logo-dark.svg` from being taken for
/// hashed ones, which browsers would keep for a year.
const MIN_HASH_DIGITS: usize = 12;

/// The service of everything that is not an API route: the dist folder's files, the app's
/// pages for its routes, with the caching headers.
pub(crate) fn service(state: &AppState) -> Router {
    let files = ServeDir::new(&state.settings.dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(get(app_page).with_state(state.clone()));
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(caching_headers))
}

/// Whether the file name `name` carries trunk's content hash, so its bytes never change:
/// trunk names its outputs `<name>-<hash>.js`, `<name>-<hash>_bg.wasm` (wasm-bindgen's
/// `_bg`), `<name>-<hash>.d.ts`, `<name>-<hash>_loader.js` and, for copied or compiled
/// assets (CSS, icons), `<stem>-<hash>.<ext>`, the hash in lowercase hex (see
/// [`MIN_HASH_DIGITS`]). Files inside wasm-bindgen's `snippets/` folders are not named after
/// their content and are not taken as hashed.
fn is_hashed(name: &str) -> bool {
    let stem = ["_bg.wasm", "_loader.js", ".d.ts"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .or_else(|| name.rsplit_once('.').map(|(stem, _extension)| stem));
    let Some((base, hash)) = stem.and_then(|stem| stem.rsplit_once('-')) else {
        return false;
    };
    !base.is_empty()
        && (MIN_HASH_DIGITS..=16).contains(&hash.len())
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether the answer to a request for the file name `name` (the last segment of the path)
/// may come compressed. A name without an extension, or an empty one (a folder), is a page.
fn is_compressible(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((_, extension)) => COMPRESSIBLE.contains(&extension),
        None => true,
    }
}

/// A better Content-Type than the file extension table's for `name`, where it has a wrong
/// one (TypeScript declarations are not MPEG transport streams) or leaves out the charset of a
/// page.
fn content_type_fix(name: &str, served: Option<&HeaderValue>) -> Option<HeaderValue> {
    if name.ends_with(".ts") {
        return Some(HeaderValue::from_static("text/plain; charset=utf-8"));
    }
    if name.ends_with(".map") {
        return Some(HeaderValue::from_static("application/json"));
    }
    (served? == "text/html").then(|| HeaderValue::from_static("text/html; charset=utf-8"))
}

/// Sets `Cache-Control`, `Vary` and the Content-Type fixes on the answer to a file request.
async fn caching_headers(request: Request, next: Next) -> Response {
    let name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    // The file itself (or that the browser's copy is still current): an error must not be kept
    // for a year, even at a hashed name, and has only one encoding.
    let served = status.is_success() || status == StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    if served {
        if is_compressible(&name) {
            headers.append(VARY, HeaderValue::from_static("accept-encoding"));
        }
        if let Some(fixed) = content_type_fix(&name, headers.get(CONTENT_TYPE)) {
            if headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, fixed);
            }
        }
    }
    let cache = if served && is_hashed(&name) {
        IMMUTABLE
    } else {
        NO_CACHE
    };
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(cache));
    response
}

/// The app's pages that are not in its first load (`cargo xtask build` puts them, with the
/// whole app, in `dist/full/`): the call history and the device check.
fn is_full_app_page(path: &str) -> bool {
    matches!(path.trim_end_matches('/'), "/history" | "/check")
}

/// What the dist folder does not have: `index.html` for the app's routes (`/call`, `/login`,
/// ...; `full/index.html` for `/history` and `/check` when built), precompressed like any
/// file; a plain 404 for missing files (paths whose last segment has a dot); and a 503 that
/// says so when the app is not built.
async fn app_page(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let dist = &state.settings.dist;
    // The pages that load only when opened come with the whole app, built into `full/`.
    let full = dist.join("full").join("index.html");
    let index = if is_full_app_page(path) && tokio::fs::try_exists(&full).await.unwrap_or(false) {
        full
    } else {
        dist.join("index.html")
    };
    if !tokio::fs::try_exists(&index).await.unwrap_or(false) {
        warn!(path = %index.display(), "no index.html to serve");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(CACHE_CONTROL, "no-store")],
            "The WebCall web app is not built: the dist folder has no index.html.\n\
             Build it with `cargo xtask build`, or point --dist / WEBCALL_DIST at the built \
             folder.\n",
        )
            .into_response();
    }
    let mut page = ServeFile::new(&index)
        .precompressed_br()
        .precompressed_gzip();
    match page.try_call(request).await {
        Ok(response) => response.map(Body::new),
        Err(e) => {
            error!(path = %index.display(), %e, "cannot serve index.html");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot read index.html\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_outputs_are_hashed() {
        // As in dist/ (trunk 0.21.14).
        for name in [
            "webcall-729996ecb19de89a.js",
            "webcall-729996ecb19de89a_bg.wasm",
            "webcall-example-plain-48ad342960a151ec_bg.wasm",
            "webcall-example-yew-6b9c30f369651e62.js",
            "webcall-729996ecb19de89a.d.ts",
            "webcall-729996ecb19de89a_loader.js",
            "style-0123456789abcdef.css",
            "icon-fedcba9876543210.svg",
            // A hash with leading zeros, which trunk leaves out.
            "webcall-29996ecb19de89a_bg.wasm",
            "webcall-996ecb19de89_bg.wasm",
        ] {
            assert!(is_hashed(name), "{name}");
        }
    }

    #[test]
    fn other_names_are_not_hashed() {
        for name in [
            "",
            "index.html",
            "webcall.js",
            "webcall_core_bg.wasm",
            "webcall_core_bg.wasm.d.ts",
            "webcall.d.ts",
            "app.js",
            "app-1234.js",
            "logo-dark.svg",
            "inline0.js",
            "package.json",
            // Too short, too long, not lowercase hex, no name before the hash, no extension.
            "webcall-96ecb19de89_bg.wasm",
            "webcall-0729996ecb19de89a.js",
            "webcall-729996ECB19DE89A.js",
            "webcall-729996ecb19de89g.js",
            "-729996ecb19de89a.js",
            "webcall-729996ecb19de89a",
            // The compressed copies are not requested by name; if they are, they are files
            // like others.
            "webcall-729996ecb19de89a.js.br",
        ] {
            assert!(!is_hashed(name), "{name}");
        }
    }

    #[test]
    fn pages_and_text_are_compressible() {
        for name in [
            "",
            "call",
            "index.html",
            "a.js",
            "a.mjs",
            "a_bg.wasm",
            "a.css",
            "a.svg",
            "a.json",
            "a.d.ts",
            "a.txt",
            "README.md",
            "a.js.map",
        ] {
            assert!(is_compressible(name), "{name}");
        }
        for name in ["a.png", "a.woff2", "a.js.br", "a.js.gz", "a.tar.gz"] {
            assert!(!is_compressible(name), "{name}");
        }
    }

    #[test]
    fn content_types_fixed() {
        let html = HeaderValue::from_static("text/html");
        let js = HeaderValue::from_static("text/javascript");
        assert_eq!(
            content_type_fix("webcall.d.ts", None).unwrap(),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type_fix("", Some(&html)).unwrap(),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type_fix("a.js", Some(&js)), None);
    }
}
