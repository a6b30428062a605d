//! Helpers for the HTTPS and hardening tests: raw HTTP/1.1 requests over any stream, header
//! look-up, the expected security headers, and a dist `index.html` with an inline script.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The inline script of [`INDEX_WITH_SCRIPT`], as trunk writes one.
pub const INLINE_SCRIPT: &str = "\nimport init from '/app-1234.js';\nawait init();\n";

/// A dist `index.html` with one inline module script and one external script.
pub fn index_with_script() -> String {
    format!(
        "<!doctype html><html><head><title>WebCall test</title>\
         <script type=\"module\">{INLINE_SCRIPT}</script>\
         <script src=\"/other.js\"></script></head><body></body></html>"
    )
}

/// The CSP hash source of `script`.
pub fn script_hash(script: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(script.as_bytes()))
    )
}

/// The Content-Security-Policy expected for a dist whose index.html has the inline
/// `scripts`, with `extra_connect` (an origin) in `connect-src`.
pub fn expected_csp(scripts: &[&str], extra_connect: Option<&str>) -> String {
    let hashes: String = scripts
        .iter()
        .map(|s| format!(" {}", script_hash(s)))
        .collect();
    let connect = extra_connect.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' \
         'unsafe-inline'; connect-src 'self'{connect}; img-src 'self' data:; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// A response: status, raw head, body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawResponse {
    /// The value of header `name` (case-insensitive); panics when it appears more than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.head.lines().skip(1).filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        });
        let value = values.next();
        assert!(values.next().is_none(), "{name} twice in {}", self.head);
        value
    }

    /// Asserts the security headers every response carries, with `csp` as the policy and
    /// `Strict-Transport-Security` exactly when `tls`.
    pub fn assert_security_headers(&self, csp: &str, tls: bool, what: &str) {
        let expect = |name: &str, value: &str| {
            assert_eq!(
                self.header(name),
                Some(value),
                "{what}: {name} in\n{}",
                self.head
            );
        };
        expect("content-security-policy", csp);
        expect("x-content-type-options", "nosniff");
        expect("referrer-policy", "no-referrer");
        expect(
            "permissions-policy",
            "microphone=(self), camera=(), geolocation=()",
        );
        if tls {
            expect("strict-transport-security", "max-age=31536000");
        } else {
            assert_eq!(
                self.header("strict-transport-security"),
                None,
                "{what}: HSTS over plain HTTP"
            );
        }
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) over `stream` and reads the response to the
/// end. A TLS peer that closes without `close_notify` ends the body too.
pub async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    method: &str,
    path: &str,
) -> RawResponse {
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    if let Err(e) = stream.read_to_end(&mut response).await {
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "read: {e}");
    }
    let response = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    RawResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}
