//! The constructor's options, `new WebCall({ appId, server })`: the app's ID (also under
//! TRTCCalling's name `SDKAppID`) and where the signaling server is. Without `server`, the
//! page's own origin; an `http(s)://` URL names a server's origin (its `/ws`), a `ws(s)://` URL
//! the socket itself.

use wasm_bindgen::JsValue;
use webcall_client::WebCallOptions;

use crate::error::SdkError;
use crate::js::{get, is_absent};

/// What the options of `new WebCall(options)` ask for.
pub(crate) fn parse(options: &JsValue) -> Result<WebCallOptions, SdkError> {
    if !options.is_object() {
        return Err(SdkError::bad("the options", "an object: { appId, server }"));
    }
    let mut app_id = get(options, "appId");
    if is_absent(&app_id) {
        app_id = get(options, "SDKAppID");
    }
    let sdk_app_id = app_id_from(app_id.as_f64().or_else(|| {
        app_id
            .as_string()
            .and_then(|s| s.trim().parse::<f64>().ok())
    }))?;
    let server = get(options, "server");
    if is_absent(&server) {
        return Ok(WebCallOptions::same_origin(sdk_app_id));
    }
    let server = server
        .as_string()
        .ok_or_else(|| SdkError::bad("options.server", SERVER_EXPECTED))?;
    Ok(WebCallOptions {
        server_url: server_url(&server)?,
        sdk_app_id,
    })
}

const SERVER_EXPECTED: &str =
    "a ws://, wss://, http:// or https:// URL (or left out for this page's server)";

/// The app ID from its number, if it is one from 1 to 2³² - 1.
fn app_id_from(number: Option<f64>) -> Result<u32, SdkError> {
    match number {
        Some(n) if n.fract() == 0.0 && n >= 1.0 && n <= f64::from(u32::MAX) => Ok(n as u32),
        _ => Err(SdkError::bad(
            "options.appId (or SDKAppID)",
            "an integer from 1 to 4294967295",
        )),
    }
}

/// The signaling socket's URL for the `server` option: `ws(s)://` as given; `http(s)://` turned
/// into `ws(s)://`, with the path `/ws` when it has none.
pub(crate) fn server_url(server: &str) -> Result<String, SdkError> {
    let server = server.trim();
    let bad = || SdkError::bad("options.server", SERVER_EXPECTED);
    let (scheme, rest) = server.split_once("://").ok_or_else(bad)?;
    let (scheme, is_http) = match scheme.to_ascii_lowercase().as_str() {
        "ws" => ("ws", false),
        "wss" => ("wss", false),
        "http" => ("ws", true),
        "https" => ("wss", true),
        _ => return Err(bad()),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(host_end);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    if is_http && (path.is_empty() || path == "/") {
        return Ok(format!("{scheme}://{host}/ws"));
    }
    Ok(format!("{scheme}://{host}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        let ok = |s: &str| server_url(s).unwrap();
        assert_eq!(ok("wss://call.example.com/ws"), "wss://call.example.com/ws");
        assert_eq!(ok("ws://127.0.0.1:8080/ws"), "ws://127.0.0.1:8080/ws");
        assert_eq!(ok("https://call.example.com"), "wss://call.example.com/ws");
        assert_eq!(ok("https://call.example.com/"), "wss://call.example.com/ws");
        assert_eq!(ok("http://localhost:8080"), "ws://localhost:8080/ws");
        assert_eq!(ok(" HTTPS://x.example/call/ws "), "wss://x.example/call/ws");
        assert_eq!(ok("wss://x.example"), "wss://x.example");
        for bad in [
            "",
            "call.example.com",
            "ftp://x",
            "https://",
            "https:///ws",
            "wss://a b",
        ] {
            let e = server_url(bad).unwrap_err();
            assert_eq!(e.code(), 60060, "{bad:?}");
        }
    }

    #[test]
    fn app_ids() {
        assert_eq!(app_id_from(Some(1_400_000_000.0)).unwrap(), 1_400_000_000);
        assert_eq!(app_id_from(Some(4_294_967_295.0)).unwrap(), u32::MAX);
        for bad in [
            None,
            Some(0.0),
            Some(-1.0),
            Some(1.5),
            Some(4_294_967_296.0),
            Some(f64::NAN),
        ] {
            assert_eq!(app_id_from(bad).unwrap_err().code(), 60060, "{bad:?}");
        }
    }
}
