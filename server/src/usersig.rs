//! UserSigs in Tencent's TLS-SigAPIv2 format: issuing and verifying them.
//!
//! A UserSig proves that whoever holds the app's secret key let `identifier` log in to
//! `sdkappid` from `time` (Unix seconds) for `expire` seconds. It is built as TLS-SigAPIv2 builds
//! it, so that tokens from Tencent's own tooling work here and ours there:
//!
//! 1. The signed text is
//!    `"TLS.identifier:{id}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"`,
//!    followed by `"TLS.userbuf:{base64(userbuf)}\n"` when a userbuf is present.
//! 2. `TLS.sig` is the standard base64 of HMAC-SHA256 of that text, keyed with the bytes of the
//!    secret key string.
//! 3. The token is the JSON document
//!    `{"TLS.ver":"2.0","TLS.identifier":..,"TLS.sdkappid":..,"TLS.expire":..,"TLS.time":..,["TLS.userbuf":..,]"TLS.sig":..}`,
//!    zlib-compressed, in standard base64 with `+` → `*`, `/` → `-` and `=` → `_`.

use std::io::Read;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The longest UserSig accepted, in characters; real ones are a few hundred.
const MAX_USER_SIG_LEN: usize = 4096;

/// The most a UserSig may inflate to, in bytes; stops zlib bombs.
const MAX_INFLATED_LEN: u64 = 8192;

/// Why a UserSig was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSigError {
    /// The token is not a TLS-SigAPIv2 UserSig at all.
    #[error("malformed UserSig: {0}")]
    Malformed(&'static str),
    /// The signature does not match the token's fields under this server's key.
    #[error("UserSig signature does not verify")]
    BadSignature,
    /// The token's validity (`TLS.time + TLS.expire`) is over.
    #[error("UserSig has expired")]
    Expired,
    /// The token was issued for another SDKAppID.
    #[error("UserSig is for SDKAppID {found}, not {expected}")]
    WrongAppId { expected: u32, found: u64 },
    /// The token was issued for another user.
    #[error("UserSig is for another user")]
    WrongUser,
}

/// What a verified UserSig says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigInfo {
    /// The user the token was issued for.
    pub identifier: String,
    /// When it was issued, in Unix seconds.
    pub time: u64,
    /// How long after `time` it stays valid, in seconds.
    pub expire: u64,
    /// The app data it carries, if any.
    pub userbuf: Option<Vec<u8>>,
}

/// The JSON document inside a UserSig, in TLS-SigAPIv2's field order.
#[derive(Debug, Serialize, Deserialize)]
struct SigDoc {
    #[serde(rename = "TLS.ver")]
    ver: String,
    #[serde(rename = "TLS.identifier")]
    identifier: String,
    #[serde(rename = "TLS.sdkappid")]
    sdkappid: u64,
    #[serde(rename = "TLS.expire")]
    expire: u64,
    #[serde(rename = "TLS.time")]
    time: u64,
    #[serde(
        rename = "TLS.userbuf",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    userbuf: Option<String>,
    #[serde(rename = "TLS.sig")]
    sig: String,
}

/// An app's SDKAppID and secret key: issues and verifies UserSigs for it.
///
/// The key never leaves the server; `Debug` does not print it.
#[derive(Clone)]
pub struct UserSigKey {
    sdk_app_id: u32,
    secret: String,
}

impl std::fmt::Debug for UserSigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSigKey")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl UserSigKey {
    /// The key of app `sdk_app_id` with secret key `secret`.
    pub fn new(sdk_app_id: u32, secret: impl Into<String>) -> Self {
        UserSigKey {
            sdk_app_id,
            secret: secret.into(),
        }
    }

    /// The app this key signs for.
    pub fn sdk_app_id(&self) -> u32 {
        self.sdk_app_id
    }

    /// Issues a UserSig for `identifier`, valid for `expire_secs` from `now` (Unix seconds).
    pub fn issue(&self, identifier: &str, expire_secs: u64, now: u64) -> String {
        self.issue_with_userbuf(identifier, expire_secs, now, None)
    }

    /// Issues a UserSig that also carries `userbuf`, as TLS-SigAPIv2's `genPrivateMapKey` does.
    pub fn issue_with_userbuf(
        &self,
        identifier: &str,
        expire_secs: u64,
        now: u64,
        userbuf: Option<&[u8]>,
    ) -> String {
        let userbuf = userbuf.map(|buf| STANDARD.encode(buf));
        let sig = STANDARD.encode(
            self.mac(
                identifier,
                u64::from(self.sdk_app_id),
                now,
                expire_secs,
                userbuf.as_deref(),
            )
            .finalize()
            .into_bytes(),
        );
        let doc = SigDoc {
            ver: "2.0".into(),
            identifier: identifier.into(),
            sdkappid: u64::from(self.sdk_app_id),
            expire: expire_secs,
            time: now,
            userbuf,
            sig,
        };
        let json = serde_json::to_vec(&doc).expect("a SigDoc always serializes");
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        std::io::Write::write_all(&mut encoder, &json).expect("writing to a Vec cannot fail");
        let compressed = encoder.finish().expect("writing to a Vec cannot fail");
        to_url_safe(&STANDARD.encode(compressed))
    }

    /// Verifies that `user_sig` lets `identifier` log in to this app at `now` (Unix seconds).
    ///
    /// The checks run in this order: the token's form, its signature, its SDKAppID, its user,
    /// its expiry.
    pub fn verify(
        &self,
        identifier: &str,
        user_sig: &str,
        now: u64,
    ) -> Result<SigInfo, UserSigError> {
        let doc = decode(user_sig)?;
        if doc.ver != "2.0" {
            return Err(UserSigError::Malformed("unsupported TLS.ver"));
        }
        let sig = STANDARD
            .decode(&doc.sig)
            .map_err(|_| UserSigError::Malformed("TLS.sig is not base64"))?;
        self.mac(
            &doc.identifier,
            doc.sdkappid,
            doc.time,
            doc.expire,
            doc.userbuf.as_deref(),
        )
        .verify_slice(&sig)
        .map_err(|_| UserSigError::BadSignature)?;
        if doc.sdkappid != u64::from(self.sdk_app_id) {
            return Err(UserSigError::WrongAppId {
                expected: self.sdk_app_id,
                found: doc.sdkappid,
            });
        }
        if doc.identifier != identifier {
            return Err(UserSigError::WrongUser);
        }
        if now >= doc.time.saturating_add(doc.expire) {
            return Err(UserSigError::Expired);
        }
        let userbuf = doc
            .userbuf
            .map(|b| STANDARD.decode(b))
            .transpose()
            .map_err(|_| UserSigError::Malformed("TLS.userbuf is not base64"))?;
        Ok(SigInfo {
            identifier: doc.identifier,
            time: doc.time,
            expire: doc.expire,
            userbuf,
        })
    }

    /// HMAC-SHA256 over TLS-SigAPIv2's signed text, ready to finalize or verify.
    fn mac(
        &self,
        identifier: &str,
        sdkappid: u64,
        time: u64,
        expire: u64,
        userbuf_b64: Option<&str>,
    ) -> HmacSha256 {
        let mut text = format!(
            "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
        );
        if let Some(userbuf) = userbuf_b64 {
            text.push_str("TLS.userbuf:");
            text.push_str(userbuf);
            text.push('\n');
        }
        let mut mac = HmacSha256::new_from_slice(self.secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        mac
    }
}

/// Undoes the token encoding: URL-safe base64, zlib, JSON.
fn decode(user_sig: &str) -> Result<SigDoc, UserSigError> {
    if user_sig.is_empty() || user_sig.len() > MAX_USER_SIG_LEN {
        return Err(UserSigError::Malformed("bad length"));
    }
    let compressed = STANDARD
        .decode(from_url_safe(user_sig))
        .map_err(|_| UserSigError::Malformed("not base64"))?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED_LEN + 1)
        .read_to_end(&mut json)
        .map_err(|_| UserSigError::Malformed("not zlib"))?;
    if json.len() as u64 > MAX_INFLATED_LEN {
        return Err(UserSigError::Malformed("too long"));
    }
    serde_json::from_slice(&json)
        .map_err(|_| UserSigError::Malformed("not a TLS-SigAPIv2 document"))
}

/// Standard base64 to TLS-SigAPIv2's URL-safe alphabet.
fn to_url_safe(b64: &str) -> String {
    b64.chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

/// TLS-SigAPIv2's URL-safe alphabet back to standard base64.
fn from_url_safe(token: &str) -> String {
    token
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const APP: u32 = 1_400_000_000;
    const TIME: u64 = 1_700_000_000;
    const EXPIRE: u64 = 15_552_000;

    fn key() -> UserSigKey {
        UserSigKey::new(APP, KEY)
    }

    fn inflate(token: &str) -> serde_json::Value {
        let compressed = STANDARD.decode(from_url_safe(token)).unwrap();
        let mut json = Vec::new();
        ZlibDecoder::new(compressed.as_slice())
            .read_to_end(&mut json)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    #[test]
    fn known_vector() {
        let token = key().issue("xiaojun", EXPIRE, TIME);
        let doc = inflate(&token);
        assert_eq!(
            doc["TLS.sig"], "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=",
            "{doc}"
        );
        assert_eq!(doc["TLS.ver"], "2.0");
        assert_eq!(doc["TLS.identifier"], "xiaojun");
        assert_eq!(doc["TLS.sdkappid"], APP);
        assert_eq!(doc["TLS.time"], TIME);
        assert_eq!(doc["TLS.expire"], EXPIRE);
        assert!(doc.get("TLS.userbuf").is_none());
        // The JSON keeps TLS-SigAPIv2's field order.
        let compressed = STANDARD.decode(from_url_safe(&token)).unwrap();
        let mut json = String::new();
        ZlibDecoder::new(compressed.as_slice())
            .read_to_string(&mut json)
            .unwrap();
        assert!(
            json.starts_with(r#"{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":1400000000,"TLS.expire":15552000,"TLS.time":1700000000,"TLS.sig":"#),
            "{json}"
        );
        // The URL-safe alphabet only.
        assert!(!token.contains(['+', '/', '=']), "{token}");
    }

    #[test]
    fn round_trip() {
        let token = key().issue("xiaojun", EXPIRE, TIME);
        let info = key().verify("xiaojun", &token, TIME + 10).unwrap();
        assert_eq!(
            info,
            SigInfo {
                identifier: "xiaojun".into(),
                time: TIME,
                expire: EXPIRE,
                userbuf: None,
            }
        );
    }

    #[test]
    fn round_trip_with_userbuf() {
        let token = key().issue_with_userbuf("bob", 60, TIME, Some(b"room 42"));
        assert!(inflate(&token).get("TLS.userbuf").is_some());
        let info = key().verify("bob", &token, TIME).unwrap();
        assert_eq!(info.userbuf.as_deref(), Some(&b"room 42"[..]));
    }

    #[test]
    fn tampered_token_is_refused() {
        // A document whose identifier was changed after signing.
        let token = key().issue("xiaojun", EXPIRE, TIME);
        let mut doc = inflate(&token);
        doc["TLS.identifier"] = "mallory".into();
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        std::io::Write::write_all(&mut encoder, doc.to_string().as_bytes()).unwrap();
        let forged = to_url_safe(&STANDARD.encode(encoder.finish().unwrap()));
        assert_eq!(
            key().verify("mallory", &forged, TIME),
            Err(UserSigError::BadSignature)
        );
        // A token signed with another key.
        let other = UserSigKey::new(APP, "another key").issue("xiaojun", EXPIRE, TIME);
        assert_eq!(
            key().verify("xiaojun", &other, TIME),
            Err(UserSigError::BadSignature)
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let token = key().issue("xiaojun", 60, TIME);
        assert!(key().verify("xiaojun", &token, TIME + 59).is_ok());
        assert_eq!(
            key().verify("xiaojun", &token, TIME + 60),
            Err(UserSigError::Expired)
        );
    }

    #[test]
    fn wrong_app_is_refused() {
        let token = UserSigKey::new(APP + 1, KEY).issue("xiaojun", EXPIRE, TIME);
        assert_eq!(
            key().verify("xiaojun", &token, TIME),
            Err(UserSigError::WrongAppId {
                expected: APP,
                found: u64::from(APP + 1)
            })
        );
    }

    #[test]
    fn wrong_user_is_refused() {
        let token = key().issue("xiaojun", EXPIRE, TIME);
        assert_eq!(
            key().verify("alice", &token, TIME),
            Err(UserSigError::WrongUser)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for token in ["", "!!!", "eJw_", &"A".repeat(MAX_USER_SIG_LEN + 1)] {
            assert!(
                matches!(
                    key().verify("xiaojun", token, TIME),
                    Err(UserSigError::Malformed(_))
                ),
                "{token}"
            );
        }
        // Valid zlib and base64, but not the document.
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        std::io::Write::write_all(&mut encoder, br#"{"TLS.ver":"2.0"}"#).unwrap();
        let token = to_url_safe(&STANDARD.encode(encoder.finish().unwrap()));
        assert!(matches!(
            key().verify("xiaojun", &token, TIME),
            Err(UserSigError::Malformed(_))
        ));
        // A zlib bomb.
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        std::io::Write::write_all(&mut encoder, &vec![b' '; 1 << 20]).unwrap();
        let token = to_url_safe(&STANDARD.encode(encoder.finish().unwrap()));
        assert!(token.len() <= MAX_USER_SIG_LEN);
        assert!(matches!(
            key().verify("xiaojun", &token, TIME),
            Err(UserSigError::Malformed(_))
        ));
    }
}
