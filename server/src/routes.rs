//! The HTTP routes: the signaling WebSocket, the development UserSig endpoint, the app's login
//! configuration, and the single-page app from the dist folder.
//!
//! | route | answer |
//! |---|---|
//! | `GET /ws` | the signaling WebSocket |
//! | `GET /api/config` | how the app logs in, JSON (below) |
//! | `GET /api/history?user_id=<id>&page=<n>` | the user's call history, with `Authorization: Bearer <UserSig>` (see `history::api`) |
//! | `GET /api/usersig?user_id=<id>` | development only (absent in strict mode): `{"user_id", "user_sig", "sdk_app_id", "expire_secs"}` |
//! | other `/api` paths | 404, JSON `{"code", "message"}` |
//! | `GET /history`, `GET /check` | `full/index.html`: the whole app, whose first load leaves these pages out (when built; else as below) |
//! | `GET /examples/yew/`, `GET /examples/plain/` | the SDK's example apps (examples/), files of the dist folder's `examples/<name>/` like any other (a folder serves its `index.html`) |
//! | `GET /sdk/webcall.js`, `GET /sdk-example/` | the JavaScript SDK package and its example page, files of the dist folder's `sdk/` and `sdk-example/` (`cargo xtask sdk`) |
//! | anything else | a file of the dist folder, or `index.html` for the app's routes |
//!
//! The files and pages of the dist folder (the last four rows) go out precompressed and with
//! caching headers: see [`static_files`].
//!
//! `GET /api/config` answers, with `Cache-Control: no-store`:
//!
//! ```json
//! {"strict": false, "usersig_url": null, "sdk_app_id": 1400000000}
//! ```
//!
//! - `strict`: `true` when the server runs with `--strict`; `/api/usersig` does not exist then,
//!   and the login page must get a UserSig elsewhere.
//! - `usersig_url`: the customer backend endpoint configured with `--usersig-url`, or `null`.
//!   The login page fetches `GET <usersig_url>?user_id=<id>` (URL-encoded ID), cross-origin
//!   (the endpoint must allow it with CORS), and reads the `user_sig` string of the JSON
//!   answer. Its origin is allowed in the Content-Security-Policy's `connect-src`.
//! - `sdk_app_id`: the SDKAppID the login must carry.
//!
//! Every response, errors included, carries the security headers of
//! [`SecurityHeaders`](crate::headers::SecurityHeaders). Its Content-Security-Policy runs the
//! inline scripts of the pages in
//! [`INLINE_SCRIPT_PAGES`](crate::headers::INLINE_SCRIPT_PAGES) only: a new page built with an
//! inline script goes on that list.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tracing::debug;
use webcall_protocol::{validate_user_id, ErrorCode};

use crate::{unix_now, ws, AppState};

/// All routes over `state`, with the security headers on every response.
pub(crate) fn router(state: AppState) -> Router {
    let files = crate::static_files::service(&state);
    let mut router = Router::new()
        .route("/ws", get(ws::handler))
        .route("/api/config", get(client_config))
        .route("/api/history", get(crate::history::api::handler));
    // Strict mode: the development endpoint does not exist; `/api/usersig` is an unknown path.
    if !state.settings.strict {
        router = router.route("/api/usersig", get(issue_user_sig));
    }
    let router = router
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .fallback_service(files);
    let security = state.settings.security.clone();
    security.apply(router.with_state(state))
}

/// The answer of `/api/config` (see the module documentation).
#[derive(Debug, Serialize)]
struct ClientConfig<'a> {
    strict: bool,
    usersig_url: Option<&'a str>,
    sdk_app_id: u32,
}

/// `GET /api/config`: how the app logs in.
async fn client_config(State(state): State<AppState>) -> Response {
    let body = Json(ClientConfig {
        strict: state.settings.strict,
        usersig_url: state.settings.usersig_url.as_deref(),
        sdk_app_id: state.key.sdk_app_id(),
    });
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// The query of `/api/usersig`.
#[derive(Debug, Deserialize)]
struct UserSigQuery {
    user_id: Option<String>,
}

/// The answer of `/api/usersig`.
#[derive(Debug, Serialize)]
struct UserSigAnswer {
    user_id: String,
    user_sig: String,
    sdk_app_id: u32,
    expire_secs: u64,
}

/// The body of an `/api` error.
#[derive(Debug, Serialize)]
struct ApiError {
    code: ErrorCode,
    message: String,
}

/// An `/api` error: the status, and JSON `{"code", "message"}`, never cached.
pub(crate) fn api_error(
    status: StatusCode,
    code: ErrorCode,
    message: impl Into<String>,
) -> Response {
    let body = Json(ApiError {
        code,
        message: message.into(),
    });
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// `GET /api/usersig?user_id=..`: issues a UserSig for a user, for development. A production
/// deployment issues UserSigs from its own backend instead.
async fn issue_user_sig(
    State(state): State<AppState>,
    query: Result<Query<UserSigQuery>, QueryRejection>,
) -> Response {
    let user_id = match query {
        Ok(Query(UserSigQuery {
            user_id: Some(user_id),
        })) => user_id,
        Ok(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserId,
                "user_id is missing",
            )
        }
        Err(e) => return api_error(StatusCode::BAD_REQUEST, ErrorCode::BadUserId, e.body_text()),
    };
    if let Err(e) = validate_user_id(&user_id) {
        return api_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserId,
            format!("invalid user ID: {e}"),
        );
    }
    let expire_secs = state.settings.usersig_expire_secs;
    let user_sig = state.key.issue(&user_id, expire_secs, unix_now());
    debug!(user = %user_id, expire_secs, "UserSig issued");
    let body = Json(UserSigAnswer {
        user_id,
        user_sig,
        sdk_app_id: state.key.sdk_app_id(),
        expire_secs,
    });
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// Any other `/api` path.
async fn api_not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, ErrorCode::BadMessage, "no such API")
}
