//! The HTTP API the app needs besides the calling service: a UserSig for logging in.
//!
//! `GET /api/usersig?user_id=<id>` is the server's development endpoint on the page's own
//! origin; a production deployment would issue UserSigs from its own backend after
//! authenticating the user. Plain `fetch` and the browser's own JSON parser, through web-sys,
//! keep the wasm small.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

/// What the endpoint answers (`{"user_id","user_sig","sdk_app_id","expire_secs"}`): what a
/// login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSig {
    pub user_sig: String,
    /// The application the UserSig is valid for; the calling service is created for it.
    pub sdk_app_id: u32,
}

/// Why no UserSig came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request did not get an answer.
    Unreachable,
    /// The server answered with this non-success HTTP status.
    Status(u16),
    /// The answer was not the expected JSON.
    BadAnswer,
}

/// Fetches a UserSig for `user_id`, which must be a valid user ID (it goes into the URL as is).
pub async fn fetch_user_sig(user_id: &str) -> Result<UserSig, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Unreachable)?;
    let url = format!("/api/usersig?user_id={user_id}");
    let response: Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(|_| ApiError::Unreachable)?
        .dyn_into()
        .map_err(|_| ApiError::Unreachable)?;
    if !response.ok() {
        return Err(ApiError::Status(response.status()));
    }
    let json = response.json().map_err(|_| ApiError::BadAnswer)?;
    let json = JsFuture::from(json)
        .await
        .map_err(|_| ApiError::BadAnswer)?;
    let field = |name: &str| js_sys::Reflect::get(&json, &JsValue::from_str(name)).ok();
    let user_sig = field("user_sig").and_then(|v| v.as_string());
    let sdk_app_id = field("sdk_app_id")
        .and_then(|v| v.as_f64())
        .filter(|id| id.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(id));
    match (user_sig, sdk_app_id) {
        (Some(user_sig), Some(sdk_app_id)) => Ok(UserSig {
            user_sig,
            sdk_app_id: sdk_app_id as u32,
        }),
        _ => Err(ApiError::BadAnswer),
    }
}
