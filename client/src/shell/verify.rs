//! The call verification code in the browser: [`crate::verification`]'s derivation from the
//! peer connection's two descriptions, hashed by WebCrypto (`crypto.subtle.digest`), so that
//! the wasm carries no hash code of its own.

use std::future::Future;

use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

use crate::verification::{code_from_digest, digest_input_of_sdps, DIGEST_ALGORITHM};

/// The verification code of `pc`'s connection, from its local and remote descriptions as they
/// are now (read before this returns; only the digest is awaited). `Ok(None)` when a
/// description is missing or has no fingerprint; `Err` when WebCrypto fails (it exists only
/// in secure contexts: HTTPS or localhost, like the microphone).
pub(super) fn verification_code(
    pc: &RtcPeerConnection,
) -> impl Future<Output = Result<Option<String>, JsValue>> {
    let input = match (pc.local_description(), pc.remote_description()) {
        (Some(local), Some(remote)) => digest_input_of_sdps(&local.sdp(), &remote.sdp()),
        _ => None,
    };
    async move {
        let Some(input) = input else {
            return Ok(None);
        };
        let subtle = web_sys::window()
            .ok_or_else(|| JsValue::from_str("no window"))?
            .crypto()?
            .subtle();
        let promise = subtle.digest_with_str_and_u8_array(DIGEST_ALGORITHM, &input)?;
        let digest = Uint8Array::new(&JsFuture::from(promise).await?).to_vec();
        let digest = <[u8; 32]>::try_from(digest.as_slice()).map_err(|_| {
            JsValue::from_str(&format!("a SHA-256 digest of {} bytes", digest.len()))
        })?;
        Ok(Some(code_from_digest(&digest)))
    }
}
