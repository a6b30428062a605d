//! The WebSocket `Origin` check, against cross-site WebSocket hijacking: a page on another site
//! must not open a signaling connection in its visitor's browser.
//!
//! Browsers send an `Origin` header with every WebSocket handshake and a page cannot forge it.
//! A handshake is allowed when:
//!
//! - it has no `Origin` header (not a browser: native clients, tests, tools), or
//! - the origin is the server's own: its `host[:port]` equals the request's `Host` header, or
//!   its `X-Forwarded-Host` header (which a reverse proxy such as `trunk serve` sets to the
//!   `Host` the browser asked for; a page cannot set either on a WebSocket), or
//! - the origin is in the configured list (`--allowed-origin`), or the list holds `*`.
//!
//! Anything else gets HTTP 403 before the upgrade.

use axum::http::header::{HOST, ORIGIN};
use axum::http::HeaderMap;

/// The `X-Forwarded-Host` header.
const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// Why an `--allowed-origin` value is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// The value has no `scheme://`.
    #[error("an origin is scheme://host[:port] (such as https://call.example.com) or *")]
    NoScheme,
    /// The value has a path, query or fragment.
    #[error("an origin has no path: scheme://host[:port], without a trailing path")]
    HasPath,
    /// The host is missing.
    #[error("the origin has no host")]
    NoHost,
}

/// Parses an `--allowed-origin` value: `*`, or `scheme://host[:port]` (a trailing `/` is
/// dropped). Returns it lower-cased, in the form browsers send.
pub fn parse_allowed_origin(value: &str) -> Result<String, OriginError> {
    let value = value.trim();
    if value == "*" {
        return Ok(value.to_owned());
    }
    let value = value.to_ascii_lowercase();
    let (scheme, authority) = value.split_once("://").ok_or(OriginError::NoScheme)?;
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let (scheme, authority) = split_origin_parts(scheme, authority)?;
    if authority.is_empty() || authority.starts_with(':') {
        return Err(OriginError::NoHost);
    }
    Ok(format!("{scheme}://{authority}"))
}

/// The scheme and `host[:port]` of an origin.
fn split_origin(origin: &str) -> Result<(&str, &str), OriginError> {
    let (scheme, authority) = origin.split_once("://").ok_or(OriginError::NoScheme)?;
    split_origin_parts(scheme, authority)
}

/// Checks the scheme and `host[:port]` of an origin.
fn split_origin_parts<'a>(
    scheme: &'a str,
    authority: &'a str,
) -> Result<(&'a str, &'a str), OriginError> {
    if scheme.is_empty() {
        return Err(OriginError::NoScheme);
    }
    if authority.contains(['/', '?', '#']) {
        return Err(OriginError::HasPath);
    }
    Ok((scheme, authority))
}

/// Which origins may open WebSockets besides the server's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    any: bool,
    /// Lower-cased `scheme://host[:port]`.
    listed: Vec<String>,
}

/// Why a handshake's origin was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("origin {origin:?} is not allowed (host {host:?})")]
pub struct ForeignOrigin {
    /// The `Origin` header, as sent.
    pub origin: String,
    /// The `Host` header, as sent.
    pub host: String,
}

impl AllowedOrigins {
    /// The allowed origins from the configured values (which [`parse_allowed_origin`] has
    /// checked; values that do not parse are ignored).
    pub fn new<S: AsRef<str>>(values: &[S]) -> AllowedOrigins {
        let mut allowed = AllowedOrigins::default();
        for value in values {
            match parse_allowed_origin(value.as_ref()) {
                Ok(v) if v == "*" => allowed.any = true,
                Ok(v) => allowed.listed.push(v),
                Err(e) => tracing::warn!(value = value.as_ref(), %e, "ignoring allowed origin"),
            }
        }
        allowed
    }

    /// Checks a WebSocket handshake's headers.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ForeignOrigin> {
        let Some(origin) = headers.get(ORIGIN) else {
            return Ok(());
        };
        let host = || {
            headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let refused = || ForeignOrigin {
            origin: String::from_utf8_lossy(origin.as_bytes()).into_owned(),
            host: host(),
        };
        if self.any {
            return Ok(());
        }
        let Ok(origin) = origin.to_str() else {
            return Err(refused());
        };
        let origin = origin.trim().to_ascii_lowercase();
        if self.listed.contains(&origin) {
            return Ok(());
        }
        // `Origin: null` (sandboxed frames, files) and other oddities end up here.
        let Ok((scheme, authority)) = split_origin(&origin) else {
            return Err(refused());
        };
        let own = [HOST.as_str(), X_FORWARDED_HOST].into_iter().any(|name| {
            headers
                .get(name)
                .and_then(|h| h.to_str().ok())
                // A chain of proxies lists several; the first is the one the browser asked.
                .and_then(|h| h.split(',').next())
                .is_some_and(|h| same_authority(scheme, authority, h.trim()))
        });
        if own {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

/// Whether the origin's `authority` (with `scheme`) names the same host and port as a `Host`
/// header value, ignoring case and the scheme's default port.
fn same_authority(scheme: &str, authority: &str, host: &str) -> bool {
    let default_port = match scheme {
        "http" | "ws" => Some(":80"),
        "https" | "wss" => Some(":443"),
        _ => None,
    };
    let strip = |a: &str| -> String {
        let a = a.to_ascii_lowercase();
        match default_port {
            Some(port) => a.strip_suffix(port).map(str::to_owned).unwrap_or(a),
            None => a,
        }
    };
    !host.is_empty() && strip(authority) == strip(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    #[test]
    fn values_parse() {
        assert_eq!(parse_allowed_origin("*"), Ok("*".into()));
        assert_eq!(
            parse_allowed_origin("https://Call.Example.com/"),
            Ok("https://call.example.com".into())
        );
        assert_eq!(
            parse_allowed_origin("http://[::1]:8080"),
            Ok("http://[::1]:8080".into())
        );
        assert_eq!(
            parse_allowed_origin("call.example.com"),
            Err(OriginError::NoScheme)
        );
        assert_eq!(
            parse_allowed_origin("https://call.example.com/app"),
            Err(OriginError::HasPath)
        );
        assert_eq!(parse_allowed_origin("https://"), Err(OriginError::NoHost));
        assert_eq!(
            parse_allowed_origin("https://:80"),
            Err(OriginError::NoHost)
        );
    }

    #[test]
    fn no_origin_is_allowed() {
        let allowed = AllowedOrigins::default();
        assert!(allowed.check(&headers(&[("host", "a.com")])).is_ok());
        assert!(allowed.check(&headers(&[])).is_ok());
    }

    #[test]
    fn same_origin_is_allowed_by_default() {
        let allowed = AllowedOrigins::default();
        let ok = |origin, host| {
            allowed
                .check(&headers(&[("origin", origin), ("host", host)]))
                .is_ok()
        };
        assert!(ok("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(ok("https://Call.Example.com", "call.example.com"));
        assert!(ok("https://call.example.com", "call.example.com:443"));
        assert!(ok("http://[::1]:8080", "[::1]:8080"));
        assert!(!ok("http://127.0.0.1:8081", "127.0.0.1:8080"));
        assert!(!ok("https://evil.example", "call.example.com"));
        assert!(!ok(
            "https://call.example.com.evil.example",
            "call.example.com"
        ));
        assert!(!ok("http://call.example.com:443", "call.example.com"));
        assert!(!ok("null", "call.example.com"));
        assert!(!ok("https://call.example.com/x", "call.example.com"));
        let no_host = headers(&[("origin", "http://a.com")]);
        assert!(allowed.check(&no_host).is_err());
    }

    #[test]
    fn a_reverse_proxy_forwarded_host_counts_as_own() {
        let allowed = AllowedOrigins::default();
        let proxied = headers(&[
            ("origin", "http://localhost:8080"),
            ("host", "127.0.0.1:8081"),
            ("x-forwarded-host", "localhost:8080"),
        ]);
        assert!(allowed.check(&proxied).is_ok());
        let foreign = headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8081"),
            ("x-forwarded-host", "localhost:8080, evil.example"),
        ]);
        assert!(allowed.check(&foreign).is_err());
    }

    #[test]
    fn listed_origins_are_allowed_besides_the_own() {
        let allowed = AllowedOrigins::new(&["https://app.example.com/", "bad value"]);
        let check =
            |origin| allowed.check(&headers(&[("origin", origin), ("host", "api.example.com")]));
        assert!(check("https://app.example.com").is_ok());
        assert!(check("https://APP.example.com").is_ok());
        assert!(check("https://api.example.com").is_ok());
        assert!(check("http://app.example.com").is_err());
        assert_eq!(
            check("https://evil.example").unwrap_err(),
            ForeignOrigin {
                origin: "https://evil.example".into(),
                host: "api.example.com".into(),
            }
        );
    }

    #[test]
    fn a_star_allows_any_origin() {
        let allowed = AllowedOrigins::new(&["*"]);
        let evil = headers(&[("origin", "https://evil.example"), ("host", "a.com")]);
        assert!(allowed.check(&evil).is_ok());
        assert!(allowed.check(&headers(&[("origin", "null")])).is_ok());
    }
}
