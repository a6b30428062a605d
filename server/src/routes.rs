//! The HTTP routes: the signaling WebSocket, the development UserSig endpoint, and the
//! single-page app from the dist folder.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::services::ServeDir;
use tracing::{debug, warn};
use webcall_protocol::{validate_user_id, ErrorCode};

use crate::{unix_now, ws, AppState};

/// All routes over `state`.
pub(crate) fn router(state: AppState) -> Router {
    let spa = ServeDir::new(&state.settings.dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(get(spa_index).with_state(state.clone()));
    Router::new()
        .route("/ws", get(ws::handler))
        .route("/api/usersig", get(issue_user_sig))
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .fallback_service(spa)
        .with_state(state)
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

fn api_error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
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

/// What the dist folder does not have: `index.html` for the app's deep routes (`/call`,
/// `/login`, ...), a plain 404 for missing files (paths whose last segment has a dot), and a
/// 503 that says so when the app is not built.
async fn spa_index(State(state): State<AppState>, uri: Uri) -> Response {
    let last = uri.path().rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let index = state.settings.dist.join("index.html");
    match tokio::fs::read(&index).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            warn!(path = %index.display(), %e, "no index.html to serve");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The WebCall web app is not built: the dist folder has no index.html.\n\
                 Build it with `cargo xtask build`, or point --dist / WEBCALL_DIST at the built \
                 folder.\n",
            )
                .into_response()
        }
    }
}
