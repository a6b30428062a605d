//! `GET /api/history`: a user's call history, a page at a time, for that user only.
//!
//! ```text
//! GET /api/history?user_id=alice&page=0
//! Authorization: Bearer <alice's UserSig>
//! ```
//!
//! The UserSig is verified as a login's is (signature, SDKAppID, user, expiry). The answer is a
//! [`HistoryPage`](webcall_protocol::HistoryPage) as JSON, newest call first, with
//! `Cache-Control: no-store`: `{"page": 0, "entries": [{"call_id", "peer", "direction",
//! "started_ms", "answered", "duration_secs", "outcome"}, ...], "more": true}`. `page` is
//! optional (0, the newest calls).
//!
//! Errors are JSON `{"code", "message"}` with the protocol's [`ErrorCode`]s: 400 for a missing
//! or invalid `user_id` (`bad_user_id`) or `page` (`bad_message`); 401 with
//! `WWW-Authenticate: Bearer` for a missing, malformed, tampered, expired or foreign UserSig
//! (`bad_user_sig`, `user_sig_expired`, `user_sig_wrong_user`, `wrong_sdk_app_id`); 404
//! `unsupported` when the server keeps no history; 503 `internal` when the database is busy or
//! closing, 500 `internal` when it failed.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tracing::{info, warn};
use webcall_protocol::{validate_user_id, ErrorCode};

use super::HistoryError;
use crate::{unix_now, AppState, UserSigError};

/// The query of `/api/history`, read as text so that a bad value gets its own message.
#[derive(Debug, Deserialize)]
pub(crate) struct HistoryQuery {
    user_id: Option<String>,
    page: Option<String>,
}

/// An `/api` error (see `routes::api_error`); a refused UserSig asks for a bearer token.
fn error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
    let mut response = crate::routes::api_error(status, code, message);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// `GET /api/history?user_id=..&page=..` (see the module documentation).
pub(crate) async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadMessage,
            "the query is not valid",
        );
    };
    let Some(user_id) = query.user_id else {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserId,
            "user_id is missing",
        );
    };
    if let Err(e) = validate_user_id(&user_id) {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserId,
            format!("invalid user ID: {e}"),
        );
    }
    let user_sig = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|sig| !sig.is_empty());
    let Some(user_sig) = user_sig else {
        return error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadUserSig,
            "the UserSig is missing: send it as `Authorization: Bearer <UserSig>`",
        );
    };
    if let Err(e) = state.key.verify(&user_id, user_sig, unix_now()) {
        info!(user = %user_id, %e, "history refused");
        return error(StatusCode::UNAUTHORIZED, usersig_code(&e), e.to_string());
    }
    let page = match query.page.as_deref().map(str::parse::<u32>) {
        None => 0,
        Some(Ok(page)) => page,
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadMessage,
                "page must be a whole number from 0",
            )
        }
    };
    match state.hub.history().page(&user_id, page).await {
        Ok(page) => ([(header::CACHE_CONTROL, "no-store")], Json(page)).into_response(),
        Err(e @ HistoryError::Disabled) => {
            error(StatusCode::NOT_FOUND, ErrorCode::Unsupported, e.to_string())
        }
        Err(e @ (HistoryError::Busy | HistoryError::Closed)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal,
            e.to_string(),
        ),
        Err(e) => {
            warn!(user = %user_id, %e, "history read failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                e.to_string(),
            )
        }
    }
}

/// The protocol's code for a UserSig that does not verify, as a login would get it.
fn usersig_code(error: &UserSigError) -> ErrorCode {
    match error {
        UserSigError::Expired => ErrorCode::UserSigExpired,
        UserSigError::WrongUser => ErrorCode::UserSigWrongUser,
        UserSigError::WrongAppId { .. } => ErrorCode::WrongSdkAppId,
        UserSigError::Malformed(_) | UserSigError::BadSignature => ErrorCode::BadUserSig,
    }
}
