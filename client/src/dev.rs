//! Trying WebCall out: UserSigs from the development endpoint of the server that serves the
//! page.
//!
//! A login needs a UserSig, a signature over the user ID that only the holder of the app's
//! secret key can make. A production app issues UserSigs on its own backend, after its own
//! authentication of the user, and never lets a browser ask for one in another user's name.
//! A server that does not run with `--strict` offers `GET /api/usersig?user_id=<id>`, which signs
//! any user ID for anyone: so that the demo and the example apps work without a backend, as
//! TRTCCalling's demo has `GenerateTestUserSig`. [`user_sig`] asks it, for pages served by that
//! server. A `--strict` server has no such endpoint: [`user_sig`] then fails and says so.
//!
//! ```no_run
//! use webcall_client::{dev, WebCall, WebCallOptions};
//!
//! # async fn log_in() -> Result<(), Box<dyn std::error::Error>> {
//! // For trying it out only: in production, get the UserSig from your backend.
//! let sig = dev::user_sig("alice").await?;
//! let webcall = WebCall::new(WebCallOptions::same_origin(sig.sdk_app_id));
//! webcall.login("alice", &sig.user_sig)?;
//! # Ok(())
//! # }
//! ```

use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// A UserSig the development endpoint issued, with the app ID it is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DevUserSig {
    /// The UserSig, for [`WebCall::login`](crate::WebCall::login).
    pub user_sig: String,
    /// The server's SDKAppID, for [`WebCallOptions`](crate::WebCallOptions).
    pub sdk_app_id: u32,
}

/// Why the development endpoint gave no UserSig.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevError {
    /// No answer came (offline, server down, not a page in a browser).
    #[error("the server could not be reached")]
    Unreachable,
    /// The server refused: its HTTP status and message. 404 means the server runs with
    /// `--strict` and has no development endpoint.
    #[error("{}", describe_status(*status, message))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's message, when its answer had one.
        message: String,
    },
    /// The answer was not a UserSig.
    #[error("the server's answer is not a UserSig")]
    BadAnswer,
}

/// The text of [`DevError::Status`].
fn describe_status(status: u16, message: &str) -> String {
    if status == 404 {
        "the server has no development endpoint /api/usersig (it runs with --strict): \
         issue UserSigs on your backend"
            .to_owned()
    } else {
        format!("the server answered {status}: {message}")
    }
}

/// Asks the development endpoint of the page's own server for a UserSig for `user_id`.
pub async fn user_sig(user_id: &str) -> Result<DevUserSig, DevError> {
    let init = RequestInit::new();
    init.set_method("GET");
    let request = Request::new_with_str_and_init(&usersig_path(user_id), &init)
        .map_err(|_| DevError::Unreachable)?;
    let window = web_sys::window().ok_or(DevError::Unreachable)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| DevError::Unreachable)?
        .dyn_into()
        .map_err(|_| DevError::Unreachable)?;
    let text = response.text().map_err(|_| DevError::BadAnswer)?;
    let text = JsFuture::from(text)
        .await
        .map_err(|_| DevError::Unreachable)?
        .as_string()
        .unwrap_or_default();
    answer(response.status(), &text)
}

/// The endpoint's path and query for `user_id`, which is percent-encoded (any text may be
/// asked for; the server judges whether it is a valid user ID).
fn usersig_path(user_id: &str) -> String {
    let mut path = String::from("/api/usersig?user_id=");
    for byte in user_id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

/// What an answer with HTTP `status` and body `text` means.
fn answer(status: u16, text: &str) -> Result<DevUserSig, DevError> {
    if status == 200 {
        return serde_json::from_str(text).map_err(|_| DevError::BadAnswer);
    }
    let message = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|json| json.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    Err(DevError::Status { status, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_id_is_encoded() {
        assert_eq!(usersig_path("alice_1-x"), "/api/usersig?user_id=alice_1-x");
        assert_eq!(
            usersig_path("a b&c=d/é"),
            "/api/usersig?user_id=a%20b%26c%3Dd%2F%C3%A9"
        );
    }

    #[test]
    fn answers_become_user_sigs_or_errors() {
        assert_eq!(
            answer(
                200,
                r#"{"user_id":"alice","user_sig":"sig","sdk_app_id":1400000000,"expire_secs":86400}"#
            ),
            Ok(DevUserSig {
                user_sig: "sig".into(),
                sdk_app_id: 1_400_000_000
            })
        );
        assert_eq!(answer(200, "<html>"), Err(DevError::BadAnswer));
        assert_eq!(answer(200, r#"{"user_sig":"x"}"#), Err(DevError::BadAnswer));
        let invalid = answer(
            400,
            r#"{"code":"bad_user_id","message":"invalid user ID: user ID is empty"}"#,
        )
        .unwrap_err();
        assert_eq!(
            invalid.to_string(),
            "the server answered 400: invalid user ID: user ID is empty"
        );
        // A strict server: /api/usersig is an unknown API path.
        let strict = answer(404, r#"{"code":"bad_message","message":"no such API"}"#).unwrap_err();
        assert!(strict.to_string().contains("--strict"), "{strict}");
        assert_eq!(
            answer(502, "bad gateway"),
            Err(DevError::Status {
                status: 502,
                message: String::new()
            })
        );
    }
}
