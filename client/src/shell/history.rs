//! The logged-in user's call history, fetched from the signaling server's `GET /api/history`
//! (HTTP on the same host as the WebSocket: `wss://host/ws` → `https://host/api/history`),
//! authenticated with the user's ID and UserSig (`Authorization: Bearer <UserSig>`), as a login
//! is.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};
use webcall_protocol::HistoryPage;

/// Why a page of the call history could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// Nobody is logged in.
    #[error("not logged in")]
    NotLoggedIn,
    /// The server refused the UserSig (expired, changed, for another user or application);
    /// its message says which.
    #[error("the server refused the UserSig: {0}")]
    Unauthorized(String),
    /// The server keeps no call history.
    #[error("the server keeps no call history")]
    Unsupported,
    /// The server failed or refused the request otherwise: its HTTP status and message.
    #[error("the server answered {status}: {message}")]
    Server {
        /// The HTTP status code.
        status: u16,
        /// The server's explanation (the `message` of its JSON answer; empty without one).
        message: String,
    },
    /// No answer came (offline, server down).
    #[error("the server could not be reached")]
    Unreachable,
    /// The answer was not a page of call history.
    #[error("the server's answer is not a call history page")]
    BadAnswer,
}

/// The `/api/history` URL for page `page` of `user_id`'s history, on the server whose signaling
/// WebSocket is `server_url` (`ws://` / `wss://`, its last path segment replaced). `user_id`
/// must be a valid user ID (URL-safe as it is).
pub(crate) fn history_url(server_url: &str, user_id: &str, page: u32) -> String {
    let (scheme, rest) = match server_url.split_once("://") {
        Some(("wss", rest)) => ("https", rest),
        Some((_, rest)) => ("http", rest),
        None => ("http", server_url),
    };
    let base = match rest.find('/') {
        Some(path_start) => {
            let path = &rest[path_start..];
            let dir = &path[..path.rfind('/').unwrap_or(0)];
            format!("{}{dir}", &rest[..path_start])
        }
        None => rest.to_owned(),
    };
    format!("{scheme}://{base}/api/history?user_id={user_id}&page={page}")
}

/// Fetches page `page` of `user_id`'s history from the server of `server_url`, with
/// `user_sig`.
pub(crate) async fn fetch(
    server_url: &str,
    user_id: &str,
    user_sig: &str,
    page: u32,
) -> Result<HistoryPage, HistoryError> {
    let url = history_url(server_url, user_id, page);
    let headers = Headers::new().map_err(|_| HistoryError::Unreachable)?;
    headers
        .set("Authorization", &format!("Bearer {user_sig}"))
        .map_err(|_| HistoryError::Unreachable)?;
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    let request =
        Request::new_with_str_and_init(&url, &init).map_err(|_| HistoryError::Unreachable)?;
    let window = web_sys::window().ok_or(HistoryError::Unreachable)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| HistoryError::Unreachable)?
        .dyn_into()
        .map_err(|_| HistoryError::Unreachable)?;
    let text = response.text().map_err(|_| HistoryError::BadAnswer)?;
    let text = JsFuture::from(text)
        .await
        .map_err(|_| HistoryError::Unreachable)?
        .as_string()
        .unwrap_or_default();
    answer(response.status(), &text)
}

/// What an answer with HTTP `status` and body `text` means.
fn answer(status: u16, text: &str) -> Result<HistoryPage, HistoryError> {
    if status == 200 {
        return serde_json::from_str(text).map_err(|_| HistoryError::BadAnswer);
    }
    let message = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|json| json.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    Err(match status {
        401 => HistoryError::Unauthorized(message),
        404 => HistoryError::Unsupported,
        status => HistoryError::Server { status, message },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_sits_beside_the_websocket() {
        for (server, url) in [
            (
                "ws://127.0.0.1:8080/ws",
                "http://127.0.0.1:8080/api/history",
            ),
            (
                "wss://call.example.com/ws",
                "https://call.example.com/api/history",
            ),
            (
                "wss://example.com/webcall/ws",
                "https://example.com/webcall/api/history",
            ),
            ("ws://localhost:9000", "http://localhost:9000/api/history"),
            ("ws://[::1]:9000/ws", "http://[::1]:9000/api/history"),
        ] {
            assert_eq!(
                history_url(server, "alice", 2),
                format!("{url}?user_id=alice&page=2"),
                "{server}"
            );
        }
    }

    #[test]
    fn answers_become_pages_or_errors() {
        let page = answer(200, r#"{"page":1,"entries":[],"more":false}"#).unwrap();
        assert_eq!(page.page, 1);
        assert!(page.entries.is_empty() && !page.more);
        assert_eq!(answer(200, "<html>"), Err(HistoryError::BadAnswer));
        assert_eq!(
            answer(
                401,
                r#"{"code":"user_sig_expired","message":"UserSig has expired"}"#
            ),
            Err(HistoryError::Unauthorized("UserSig has expired".into()))
        );
        assert_eq!(answer(404, "{}"), Err(HistoryError::Unsupported));
        assert_eq!(
            answer(503, "busy"),
            Err(HistoryError::Server {
                status: 503,
                message: String::new()
            })
        );
    }
}
