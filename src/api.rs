//! The HTTP requests the app makes besides the calling service: how to log in, and UserSigs.
//!
//! - `GET /api/config` (on the page's own origin) says how this deployment logs in:
//!   [`LoginConfig`].
//! - In development mode, `GET /api/usersig?user_id=<id>` on the page's own origin issues a
//!   UserSig for anyone ([`UserSigSource::Development`]).
//! - In strict mode with a UserSig URL, `GET <usersig_url>?user_id=<id>` asks the customer's
//!   backend ([`UserSigSource::Backend`]). The request is cross-origin and carries the
//!   backend's cookies (`credentials: "include"`), so that the backend can tell who asks and
//!   issue UserSigs only for that user; it must allow the app's origin with CORS, credentials
//!   included.
//! - In strict mode without one, the user pastes a UserSig issued elsewhere
//!   ([`UserSigSource::Pasted`]); nothing is fetched.
//!
//! Plain `fetch` and the browser's own JSON parser, through web-sys, keep the wasm small.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

/// How this deployment logs in: the answer of `GET /api/config`,
/// `{"strict": bool, "usersig_url": string|null, "sdk_app_id": number}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginConfig {
    /// Strict mode: the server has no development endpoint `/api/usersig`.
    pub strict: bool,
    /// The customer backend endpoint that issues UserSigs, when there is one.
    pub usersig_url: Option<String>,
    /// The application logins are for (used when a UserSig answer does not name it).
    pub sdk_app_id: u32,
}

/// Where the UserSigs of a [`LoginConfig`] come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSigSource<'a> {
    /// The server's development endpoint, `/api/usersig`.
    Development,
    /// The customer backend endpoint at this URL.
    Backend(&'a str),
    /// Nowhere to fetch them from: the user pastes one.
    Pasted,
}

impl LoginConfig {
    /// Where UserSigs come from: a configured UserSig URL, else the development endpoint unless
    /// the server is strict, else the user.
    pub fn source(&self) -> UserSigSource<'_> {
        match (&self.usersig_url, self.strict) {
            (Some(url), _) => UserSigSource::Backend(url),
            (None, false) => UserSigSource::Development,
            (None, true) => UserSigSource::Pasted,
        }
    }
}

/// A UserSig and the application it is for: what a login needs besides the user ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSig {
    pub user_sig: String,
    /// The application the UserSig is valid for; the calling service is created for it.
    pub sdk_app_id: u32,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request did not get an answer (or, cross-origin, CORS did not allow reading it).
    Unreachable,
    /// The answer had this non-success HTTP status.
    Status(u16),
    /// The answer was not the expected JSON.
    BadAnswer,
}

/// Why no UserSig could be fetched, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSigError {
    /// From this server (its development endpoint).
    Server(ApiError),
    /// From the customer backend at `origin` (`scheme://host[:port]`).
    Backend { origin: String, error: ApiError },
}

/// Fetches `/api/config`.
pub async fn fetch_config() -> Result<LoginConfig, ApiError> {
    let json = get_json("/api/config", None).await?;
    let strict = field(&json, "strict")
        .and_then(|v| v.as_bool())
        .ok_or(ApiError::BadAnswer)?;
    let usersig_url = match field(&json, "usersig_url") {
        Some(v) if v.is_null() || v.is_undefined() => None,
        Some(v) => Some(v.as_string().ok_or(ApiError::BadAnswer)?),
        None => None,
    };
    let sdk_app_id = app_id(&json).ok_or(ApiError::BadAnswer)?;
    Ok(LoginConfig {
        strict,
        usersig_url,
        sdk_app_id,
    })
}

/// Fetches a UserSig for `user_id` from `source`; an answer without an `sdk_app_id` is for
/// `sdk_app_id`. `user_id` must be a valid user ID. [`UserSigSource::Pasted`] has nothing to
/// fetch: callers ask the user instead (it is answered with a [`ApiError::BadAnswer`] of this
/// server).
pub async fn fetch_user_sig(
    source: UserSigSource<'_>,
    user_id: &str,
    sdk_app_id: u32,
) -> Result<UserSig, UserSigError> {
    let (url, credentials, backend) = match source {
        UserSigSource::Development => (with_user_id("/api/usersig", user_id), None, None),
        UserSigSource::Backend(url) => (
            with_user_id(url, user_id),
            Some(RequestCredentials::Include),
            Some(origin(url)),
        ),
        UserSigSource::Pasted => return Err(UserSigError::Server(ApiError::BadAnswer)),
    };
    let failed = |error| match backend {
        Some(origin) => UserSigError::Backend {
            origin: origin.to_owned(),
            error,
        },
        None => UserSigError::Server(error),
    };
    let json = get_json(&url, credentials).await.map_err(failed)?;
    let user_sig = field(&json, "user_sig")
        .and_then(|v| v.as_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| failed(ApiError::BadAnswer))?;
    Ok(UserSig {
        user_sig,
        sdk_app_id: app_id(&json).unwrap_or(sdk_app_id),
    })
}

/// `GET url` and its JSON answer, with `credentials` when given (else the browser's default,
/// `same-origin`).
async fn get_json(url: &str, credentials: Option<RequestCredentials>) -> Result<JsValue, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Unreachable)?;
    let request = match credentials {
        Some(credentials) => {
            let init = RequestInit::new();
            init.set_credentials(credentials);
            window.fetch_with_str_and_init(url, &init)
        }
        None => window.fetch_with_str(url),
    };
    let response: Response = JsFuture::from(request)
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
    // `null`, a number or a string parse as JSON too, but have no fields.
    if json.is_object() {
        Ok(json)
    } else {
        Err(ApiError::BadAnswer)
    }
}

/// The field `name` of a JSON object.
fn field(json: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(json, &JsValue::from_str(name)).ok()
}

/// The `sdk_app_id` of a JSON answer, when it is a whole number that fits a `u32`.
fn app_id(json: &JsValue) -> Option<u32> {
    field(json, "sdk_app_id")
        .and_then(|v| v.as_f64())
        .filter(|id| id.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(id))
        .map(|id| id as u32)
}

/// `url` with the query parameter `user_id=<id>` added, the ID percent-encoded.
pub fn with_user_id(url: &str, user_id: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    let mut out = format!("{url}{separator}user_id=");
    for byte in user_id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The origin of an absolute URL, `scheme://host[:port]`, for messages; `url` itself when it
/// is not absolute.
pub fn origin(url: &str) -> &str {
    let Some(scheme_end) = url.find("://") else {
        return url;
    };
    let authority = scheme_end + 3;
    let end = url[authority..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority + i);
    &url[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(strict: bool, usersig_url: Option<&str>) -> LoginConfig {
        LoginConfig {
            strict,
            usersig_url: usersig_url.map(Into::into),
            sdk_app_id: 1_400_000_000,
        }
    }

    #[test]
    fn the_config_names_where_usersigs_come_from() {
        assert_eq!(config(false, None).source(), UserSigSource::Development);
        assert_eq!(config(true, None).source(), UserSigSource::Pasted);
        let url = "https://backend.example.com/usersig";
        assert_eq!(
            config(true, Some(url)).source(),
            UserSigSource::Backend(url)
        );
        // A configured endpoint is what the operator wants, strict or not.
        assert_eq!(
            config(false, Some(url)).source(),
            UserSigSource::Backend(url)
        );
    }

    #[test]
    fn the_user_id_goes_into_the_query_encoded() {
        assert_eq!(
            with_user_id("/api/usersig", "alice_1-2"),
            "/api/usersig?user_id=alice_1-2"
        );
        assert_eq!(
            with_user_id("https://b.example.com/sig", "a b&c/é"),
            "https://b.example.com/sig?user_id=a%20b%26c%2F%C3%A9"
        );
        assert_eq!(
            with_user_id("https://b.example.com/sig?v=2", "bob"),
            "https://b.example.com/sig?v=2&user_id=bob"
        );
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            origin("https://backend.example.com/usersig"),
            "https://backend.example.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:9000/api/sig?x=1"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(origin("https://b.example.com"), "https://b.example.com");
        assert_eq!(origin("https://b.example.com?x"), "https://b.example.com");
        assert_eq!(origin("https://[::1]:8443/sig"), "https://[::1]:8443");
        assert_eq!(origin("/api/usersig"), "/api/usersig");
    }
}
