//! The WebSocket opening handshake (RFC 6455, section 4.2), server side: [`Upgrade`] checks the
//! client's request and answers `101 Switching Protocols`; the connection is then the
//! [`Socket`](super::socket::Socket)'s. No extension or subprotocol is negotiated.

use axum::extract::FromRequestParts;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};

/// The stream of an upgraded connection.
pub(crate) type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// A valid WebSocket handshake request, ready to be answered.
pub(crate) struct Upgrade {
    on_upgrade: OnUpgrade,
    /// The `Sec-WebSocket-Accept` answer to the client's key.
    accept: HeaderValue,
}

/// Why a request to `/ws` is not a WebSocket handshake.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HandshakeError {
    #[error("a WebSocket handshake must be a GET")]
    NotGet,
    #[error("not a WebSocket upgrade (`Connection: upgrade` and `Upgrade: websocket` expected)")]
    NotUpgrade,
    #[error("unsupported WebSocket version (13 expected)")]
    Version,
    #[error("missing or malformed Sec-WebSocket-Key")]
    Key,
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl IntoResponse for HandshakeError {
    fn into_response(self) -> Response {
        let status = match self {
            HandshakeError::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            HandshakeError::Version => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut response = (status, format!("{self}\n")).into_response();
        if self == HandshakeError::Version {
            response
                .headers_mut()
                .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = HandshakeError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let accept = check(&parts.method, &parts.headers)?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(HandshakeError::NotUpgradable)?;
        Ok(Upgrade { on_upgrade, accept })
    }
}

impl Upgrade {
    /// The `101 Switching Protocols` answer; once it is sent, `on_upgrade` (awaited) gives the
    /// upgraded stream, or an error when the upgrade failed.
    pub(crate) fn accept(self) -> (Response, OnUpgrade) {
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, self.accept);
        (response, self.on_upgrade)
    }
}

/// Checks the handshake's method and headers; returns the `Sec-WebSocket-Accept` value.
fn check(method: &Method, headers: &HeaderMap) -> Result<HeaderValue, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::NotGet);
    }
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(CONNECTION, "upgrade") || !has_token(UPGRADE, "websocket") {
        return Err(HandshakeError::NotUpgrade);
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(HandshakeError::Version);
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .ok_or(HandshakeError::Key)?
        .as_bytes();
    // A key is 16 random bytes in base64.
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| HandshakeError::Key)?;
    if decoded.len() != 16 {
        return Err(HandshakeError::Key);
    }
    Ok(accept_key(key))
}

/// `Sec-WebSocket-Accept` for the client's `Sec-WebSocket-Key`.
fn accept_key(key: &[u8]) -> HeaderValue {
    const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let digest = Sha1::new().chain_update(key).chain_update(GUID).finalize();
    let value = base64::engine::general_purpose::STANDARD.encode(digest);
    HeaderValue::from_str(&value).expect("base64 is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    const VALID: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn the_rfc_example_key_gets_its_accept_value() {
        // RFC 6455, section 1.3.
        let accept = check(&Method::GET, &headers(VALID)).unwrap();
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn bad_handshakes_are_refused_with_the_reason() {
        assert_eq!(
            check(&Method::POST, &headers(VALID)),
            Err(HandshakeError::NotGet)
        );
        let without = |name: &str| {
            let pairs: Vec<_> = VALID.iter().copied().filter(|(n, _)| *n != name).collect();
            check(&Method::GET, &headers(&pairs))
        };
        assert_eq!(without("connection"), Err(HandshakeError::NotUpgrade));
        assert_eq!(without("upgrade"), Err(HandshakeError::NotUpgrade));
        assert_eq!(
            without("sec-websocket-version"),
            Err(HandshakeError::Version)
        );
        assert_eq!(without("sec-websocket-key"), Err(HandshakeError::Key));
        let mut short_key = headers(&VALID[..3]);
        short_key.insert(SEC_WEBSOCKET_KEY, HeaderValue::from_static("c2hvcnQ="));
        assert_eq!(check(&Method::GET, &short_key), Err(HandshakeError::Key));
        let response = HandshakeError::Version.into_response();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()[SEC_WEBSOCKET_VERSION], "13");
    }
}
