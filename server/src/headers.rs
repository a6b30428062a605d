//! Security headers on every response: a Content-Security-Policy that allows only what the app
//! needs, and the usual hardening headers.
//!
//! The policy is built by [`SecurityHeaders::new`]:
//!
//! - `script-src` allows the app's own files, WebAssembly compilation (`'wasm-unsafe-eval'`) and
//!   the inline `<script>` elements of the served pages trunk builds ([`INLINE_SCRIPT_PAGES`]:
//!   the app's `index.html`, the whole app's `full/index.html` of `/history` and `/check`, and
//!   the SDK's example apps) by their SHA-256 hash (trunk writes one inline module script that
//!   loads each). The hashes come from those pages on disk at start-up, and again whenever an
//!   HTML page goes out after one of them changed, so the policy matches whatever builds are
//!   served, even ones replaced while the server runs.
//! - `connect-src` allows the page's own origin (`fetch("/api/..")` and the same-origin `ws:` /
//!   `wss:` signaling socket, which CSP Level 3's `'self'` covers) and the origin of the
//!   configured UserSig URL, if any.
//!
//! `Strict-Transport-Security` is only sent over TLS: [`with_hsts`] adds it for
//! [`run_tls`](crate::run_tls).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use axum::body::Body;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::{error, info, warn};

use crate::config::usersig_url_origin;

/// `Permissions-Policy`: the page may use the microphone, and nothing else that needs asking.
const PERMISSIONS_POLICY: &str = "microphone=(self), camera=(), geolocation=()";

/// `Strict-Transport-Security` over TLS: one year. Without `includeSubDomains`, so that other
/// hosts under the same domain are not forced onto HTTPS by this one.
const HSTS: &str = "max-age=31536000";

/// The pages of the dist folder whose inline scripts the policy allows (paths relative to it):
/// each loads its wasm app with the inline module script trunk writes. The first, the app, is
/// expected; the others may be missing (a build without them).
///
/// - `index.html`: the app's first load;
/// - `full/index.html`: the whole app, which `/history` and `/check` load (see `routes`);
/// - `examples/*/index.html`: the SDK's example apps (examples/), at `/examples/yew/` and
///   `/examples/plain/`.
///
/// A page served with an inline script that is not listed here does not run it.
pub(crate) const INLINE_SCRIPT_PAGES: [&str; 4] = [
    "index.html",
    "full/index.html",
    "examples/yew/index.html",
    "examples/plain/index.html",
];

/// The `Permissions-Policy` header name (not among `http`'s constants).
static PERMISSIONS_POLICY_HEADER: HeaderName = HeaderName::from_static("permissions-policy");

/// The security headers every response carries. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct SecurityHeaders {
    csp: Arc<CspSource>,
}

/// The Content-Security-Policy and what it was computed from.
#[derive(Debug)]
struct CspSource {
    /// The served pages with inline scripts: [`INLINE_SCRIPT_PAGES`] in the dist folder.
    indexes: Vec<PathBuf>,
    /// The UserSig URL's origin, allowed in `connect-src`.
    usersig_origin: Option<String>,
    current: RwLock<CurrentCsp>,
}

/// The policy for one version of the pages.
#[derive(Debug)]
struct CurrentCsp {
    /// The modification time and length of each page it was computed from, or `None` where
    /// there was none.
    stamp: Vec<Option<(SystemTime, u64)>>,
    value: HeaderValue,
}

impl SecurityHeaders {
    /// The headers for the app in `dist`, whose login page may fetch UserSigs from
    /// `usersig_url`.
    ///
    /// Reads the pages of [`INLINE_SCRIPT_PAGES`] in `dist` for their inline scripts now, and
    /// again when an HTML response goes out after one of them changed (a rebuilt app), so that
    /// the policy always matches the pages served. Pages that are not there (the app is not
    /// built yet) add no inline script. A `usersig_url` that is not a valid http(s) URL is left out of the policy, with
    /// an error logged (the command line refuses such URLs before this point).
    pub(crate) fn new(dist: &Path, usersig_url: Option<&str>) -> Self {
        let usersig_origin = usersig_url.and_then(|url| match usersig_url_origin(url) {
            Ok(origin) => Some(origin),
            Err(e) => {
                error!(url, %e, "UserSig URL left out of the Content-Security-Policy");
                None
            }
        });
        let indexes: Vec<PathBuf> = INLINE_SCRIPT_PAGES
            .iter()
            .map(|page| dist.join(page))
            .collect();
        let current = CurrentCsp::read(&indexes, usersig_origin.as_deref());
        SecurityHeaders {
            csp: Arc::new(CspSource {
                indexes,
                usersig_origin,
                current: RwLock::new(current),
            }),
        }
    }

    /// The `Content-Security-Policy` for `response`: for an HTML page, first re-read the pages
    /// if one changed since the policy was made (one `stat` per page).
    fn csp_for<B>(&self, response: &Response<B>) -> HeaderValue {
        let source = &self.csp;
        let is_html = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|t| t.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        if is_html {
            let stamp = stamps(&source.indexes);
            let stale = source
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .stamp
                != stamp;
            if stale {
                let fresh = CurrentCsp::read(&source.indexes, source.usersig_origin.as_deref());
                let value = fresh.value.clone();
                *source
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = fresh;
                return value;
            }
        }
        source
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .value
            .clone()
    }

    /// The current `Content-Security-Policy` value.
    #[cfg(test)]
    pub(crate) fn csp(&self) -> HeaderValue {
        self.csp
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .value
            .clone()
    }

    /// `router` with these headers set on every response it gives, replacing any a handler set.
    pub(crate) fn apply<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router
            .layer(SetResponseHeaderLayer::overriding(
                CONTENT_SECURITY_POLICY,
                {
                    let headers = self.clone();
                    move |response: &Response<Body>| Some(headers.csp_for(response))
                },
            ))
            .layer(SetResponseHeaderLayer::overriding(
                X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                PERMISSIONS_POLICY_HEADER.clone(),
                HeaderValue::from_static(PERMISSIONS_POLICY),
            ))
    }
}

impl CurrentCsp {
    /// The policy for the pages on disk now: the inline scripts of all are allowed. (Only
    /// the first, the app, is expected: without the whole app, `/history` and `/check` get it
    /// too, and a build may leave out the examples.)
    fn read(indexes: &[PathBuf], usersig_origin: Option<&str>) -> Self {
        let stamp = stamps(indexes);
        let mut hashes = Vec::new();
        for (n, index) in indexes.iter().enumerate() {
            match std::fs::read(index) {
                Ok(html) => {
                    let found = inline_script_hashes(&String::from_utf8_lossy(&html));
                    info!(
                        path = %index.display(),
                        inline_scripts = found.len(),
                        "Content-Security-Policy allows the inline scripts of the page"
                    );
                    for hash in found {
                        if !hashes.contains(&hash) {
                            hashes.push(hash);
                        }
                    }
                }
                Err(e) if n == 0 => warn!(
                    path = %index.display(),
                    %e,
                    "cannot read the app's index.html: the Content-Security-Policy allows none \
                     of its inline scripts"
                ),
                Err(_) => {}
            }
        }
        let policy = content_security_policy(&hashes, usersig_origin);
        let value = HeaderValue::from_str(&policy).unwrap_or_else(|_| {
            // Unreachable: hashes are base64 and origins are validated to plain ASCII.
            error!(
                policy,
                "invalid Content-Security-Policy; serving the strictest one"
            );
            HeaderValue::from_static("default-src 'none'")
        });
        CurrentCsp { stamp, value }
    }
}

/// The [`file_stamp`] of each of `paths`.
fn stamps(paths: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    paths.iter().map(|path| file_stamp(path)).collect()
}

/// The modification time and length of the file at `path`, if it is there.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// `router` with `Strict-Transport-Security` on every response; for HTTPS only.
pub(crate) fn with_hsts(router: Router) -> Router {
    router.layer(SetResponseHeaderLayer::overriding(
        STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    ))
}

/// The Content-Security-Policy for inline scripts with `script_hashes` (CSP source
/// expressions such as `'sha256-..'`) and UserSigs fetched from `usersig_origin`.
pub(crate) fn content_security_policy(
    script_hashes: &[String],
    usersig_origin: Option<&str>,
) -> String {
    let mut policy = String::from("default-src 'self'");
    // The app's JS glue and wasm from the same origin; 'wasm-unsafe-eval' lets it compile the
    // WebAssembly module (and nothing else: no eval). Inline scripts only by hash.
    policy.push_str("; script-src 'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        let _ = write!(policy, " {hash}");
    }
    // stylist (the app's CSS-in-Rust) injects <style> elements at run time with generated
    // content, so inline styles cannot be hashed ahead of time. Inline styles cannot run code;
    // this is the accepted trade-off.
    policy.push_str("; style-src 'self' 'unsafe-inline'");
    // 'self' covers the /api fetches and the same-origin ws:/wss: signaling socket (CSP Level
    // 3 matches ws/wss against 'self'); the UserSig URL is cross-origin.
    policy.push_str("; connect-src 'self'");
    if let Some(origin) = usersig_origin {
        let _ = write!(policy, " {origin}");
    }
    // The favicon is a data: URL. The remote audio plays a MediaStream through `srcObject`,
    // which CSP does not govern, so media-src stays at default-src.
    policy.push_str("; img-src 'self' data:");
    policy.push_str(
        "; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    );
    policy
}

/// The CSP hash sources (`'sha256-<base64>'`) of the inline `<script>` elements of `html`, in
/// document order, without duplicates. Scripts with a `src` attribute are skipped: their
/// content is not run.
///
/// The hash is over the script's text as the browser sees it: the HTML parser turns CRLF and CR
/// into LF before anything else, so this does too.
pub(crate) fn inline_script_hashes(html: &str) -> Vec<String> {
    let html = html.replace("\r\n", "\n").replace('\r', "\n");
    let mut hashes = Vec::new();
    for text in inline_scripts(&html) {
        let hash = format!(
            "'sha256-{}'",
            STANDARD.encode(Sha256::digest(text.as_bytes()))
        );
        if !hashes.contains(&hash) {
            hashes.push(hash);
        }
    }
    hashes
}

/// The contents of the `<script>` elements of `html` that have no `src` attribute.
///
/// A small scanner rather than an HTML parser, for the documents trunk writes: it skips
/// comments, reads attribute values in quotes, and ends a script at the first `</script`, as
/// browsers do for scripts that do not themselves contain `<!--`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut scripts = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find('<') {
        let start = at + found;
        let rest = &lower[start..];
        if rest.starts_with("<!--") {
            at = match rest.find("-->") {
                Some(end) => start + end + 3,
                None => break,
            };
            continue;
        }
        let is_script = rest.starts_with("<script")
            && rest[7..]
                .chars()
                .next()
                .is_some_and(|c| c == '>' || c == '/' || c.is_ascii_whitespace());
        if !is_script {
            at = start + 1;
            continue;
        }
        let Some(tag_len) = start_tag_len(rest) else {
            break;
        };
        let content_start = start + tag_len;
        let content_end = lower[content_start..]
            .find("</script")
            .map_or(html.len(), |end| content_start + end);
        if !has_src_attribute(&lower[start + 7..content_start - 1]) {
            scripts.push(&html[content_start..content_end]);
        }
        at = content_end;
    }
    scripts
}

/// The length of the start tag at the beginning of `tag` (through its `>`), skipping quoted
/// attribute values; `None` when it never ends.
fn start_tag_len(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i + 1),
            (None, _) => {}
        }
    }
    None
}

/// Whether the attributes text of a start tag (lowercase, between `<script` and `>`) has a
/// `src` attribute.
fn has_src_attribute(attributes: &str) -> bool {
    let mut rest = attributes;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return false;
        }
        let name_len = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name == "src" {
            return true;
        }
        rest = rest[name_len..].trim_start();
        if let Some(value) = rest.strip_prefix('=') {
            let value = value.trim_start();
            rest = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].find(q).map_or("", |end| &value[end + 2..]),
                _ => {
                    let end = value
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(value.len());
                    &value[end..]
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(text: &str) -> String {
        format!(
            "'sha256-{}'",
            STANDARD.encode(Sha256::digest(text.as_bytes()))
        )
    }

    #[test]
    fn known_hash() {
        // The example from the CSP specification: `alert('Hello, world.');`.
        assert_eq!(
            inline_script_hashes("<script>alert('Hello, world.');</script>"),
            ["'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"]
        );
    }

    #[test]
    fn trunk_index_html() {
        let html = "<!doctype html><html><head>\n<script type=\"module\">\nimport init from \
                    '/app.js';\nawait init();\n</script>\n<link rel=\"modulepreload\" \
                    href=\"/app.js\"></head><body></body></html>";
        assert_eq!(
            inline_script_hashes(html),
            [hash_of("\nimport init from '/app.js';\nawait init();\n")]
        );
    }

    #[test]
    fn external_commented_and_odd_scripts() {
        let html = concat!(
            "<SCRIPT src=/a.js></SCRIPT>",
            "<script defer src='/b.js'>ignored()</script>",
            "<!-- <script>commented()</script> -->",
            "<script data-x='a>b' type=module>one()</Script >",
            "<scripts>not a script</scripts>",
            "<script>one()</script>",
            "<script\ttype=\"text/javascript\" data-src=\"x\">two()</script>",
            "<script>",
        );
        assert_eq!(
            inline_script_hashes(html),
            [hash_of("one()"), hash_of("two()"), hash_of("")]
        );
    }

    #[test]
    fn line_endings_are_normalized() {
        assert_eq!(
            inline_script_hashes("<script>a();\r\nb();\rc();</script>"),
            [hash_of("a();\nb();\nc();")]
        );
    }

    #[test]
    fn policy_without_and_with_usersig_origin() {
        assert_eq!(
            content_security_policy(&[hash_of("x")], None),
            format!(
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self' \
                 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; object-src 'none'; \
                 base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
                hash_of("x")
            )
        );
        assert!(
            content_security_policy(&[], Some("https://sig.example.com"))
                .contains("; connect-src 'self' https://sig.example.com;")
        );
    }

    #[test]
    fn headers_from_a_dist_folder() {
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), "<script>go()</script>").unwrap();
        let headers = SecurityHeaders::new(dist.path(), Some("https://Sig.Example.com:8443/sig"));
        let csp = headers.csp();
        let csp = csp.to_str().unwrap();
        assert!(csp.contains(&hash_of("go()")), "{csp}");
        assert!(
            csp.contains("connect-src 'self' https://sig.example.com:8443;"),
            "{csp}"
        );
        // The whole app's page (what `/history` and `/check` load) has its own loader script.
        std::fs::create_dir(dist.path().join("full")).unwrap();
        std::fs::write(
            dist.path().join("full/index.html"),
            "<script>all()</script>",
        )
        .unwrap();
        let headers = SecurityHeaders::new(dist.path(), None);
        let csp = headers.csp();
        let csp = csp.to_str().unwrap();
        assert!(csp.contains(&hash_of("go()")), "{csp}");
        assert!(csp.contains(&hash_of("all()")), "{csp}");
        // No index.html, a bad URL: still a policy, without them.
        let empty = tempfile::tempdir().unwrap();
        let headers = SecurityHeaders::new(empty.path(), Some("javascript:alert(1)"));
        assert_eq!(headers.csp(), content_security_policy(&[], None));
    }

    #[test]
    fn the_example_apps_scripts_are_allowed_and_follow_rebuilds() {
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), "<script>app()</script>").unwrap();
        let headers = SecurityHeaders::new(dist.path(), None);
        let html = Response::builder()
            .header(CONTENT_TYPE, "text/html")
            .body(Body::empty())
            .unwrap();
        let csp = || headers.csp_for(&html).to_str().unwrap().to_owned();
        assert!(csp().contains(&hash_of("app()")));

        // The examples, built after start-up, and a page that is not among the listed ones.
        for (dir, script) in [
            ("examples/yew", "yew()"),
            ("examples/plain", "plain()"),
            ("examples/other", "other()"),
        ] {
            std::fs::create_dir_all(dist.path().join(dir)).unwrap();
            let page = format!("<script>{script}</script><script>app()</script>");
            std::fs::write(dist.path().join(dir).join("index.html"), page).unwrap();
        }
        let policy = csp();
        for script in ["app()", "yew()", "plain()"] {
            assert!(policy.contains(&hash_of(script)), "{script}: {policy}");
        }
        assert!(!policy.contains(&hash_of("other()")), "{policy}");
        // A script found on several pages counts once.
        assert_eq!(policy.matches(&hash_of("app()")).count(), 1, "{policy}");

        // One example rebuilt (another length, so the change shows even on coarse clocks).
        let yew = dist.path().join("examples/yew/index.html");
        std::fs::write(&yew, "<script>yew(2)</script>").unwrap();
        let policy = csp();
        assert!(policy.contains(&hash_of("yew(2)")), "{policy}");
        assert!(!policy.contains(&hash_of("yew()")), "{policy}");
        assert!(policy.contains(&hash_of("plain()")), "{policy}");
    }

    #[test]
    fn the_pages_with_inline_scripts_are_the_ones_served() {
        // The app first: the only page whose absence is worth a warning.
        assert_eq!(INLINE_SCRIPT_PAGES[0], "index.html");
        // What xtask builds: `full/` (xtask/src/build.rs) and `examples/<name>/`
        // (xtask/src/examples.rs).
        for page in [
            "full/index.html",
            "examples/yew/index.html",
            "examples/plain/index.html",
        ] {
            assert!(INLINE_SCRIPT_PAGES.contains(&page), "{page}");
        }
    }

    #[test]
    fn a_rebuilt_index_html_updates_the_policy_of_html_responses() {
        let dist = tempfile::tempdir().unwrap();
        let index = dist.path().join("index.html");
        let headers = SecurityHeaders::new(dist.path(), None);
        let html = || {
            Response::builder()
                .header(CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Body::empty())
                .unwrap()
        };
        let js = || {
            Response::builder()
                .header(CONTENT_TYPE, "text/javascript")
                .body(Body::empty())
                .unwrap()
        };
        let policy = |scripts: &[&str]| {
            let hashes: Vec<_> = scripts.iter().map(|s| hash_of(s)).collect();
            content_security_policy(&hashes, None)
        };
        assert_eq!(headers.csp_for(&html()), policy(&[]));

        // Built after start-up: the next page has its hash; other responses keep the policy.
        std::fs::write(&index, "<script>first()</script>").unwrap();
        assert_eq!(headers.csp_for(&js()), policy(&[]));
        assert_eq!(headers.csp_for(&html()), policy(&["first()"]));
        assert_eq!(headers.csp_for(&js()), policy(&["first()"]));

        // Rebuilt (another length, so the change shows even on coarse clocks).
        std::fs::write(&index, "<script>second(1)</script>").unwrap();
        assert_eq!(headers.csp_for(&html()), policy(&["second(1)"]));

        // Removed.
        std::fs::remove_file(&index).unwrap();
        assert_eq!(headers.csp_for(&html()), policy(&[]));
    }
}
