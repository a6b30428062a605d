//! Fuzz target `decode_client_msg`: arbitrary bytes, as a WebSocket text frame from a client,
//! through the server's decoder `serde_json::from_slice::<ClientMsg>`.
//!
//! Checks: decoding never panics; a frame that decodes re-encodes to JSON that decodes to the
//! same message, and re-encodes to the same text again (the encoding is stable). The same for
//! `ServerMsg`, the client's decoder, which reads the same kind of input.
//!
//! Seeds: `fuzz/seeds/decode_client_msg/`, one valid frame of each kind.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use webcall_protocol::{ClientMsg, ServerMsg};

/// Decodes `data` as `T`; what decodes must survive a trip through JSON unchanged.
fn round_trip<T>(data: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(msg) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let text = serde_json::to_string(&msg).expect("a message always encodes");
    let again: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{msg:?} encodes as {text}, which does not decode: {e}"));
    assert_eq!(again, msg, "{text}");
    assert_eq!(
        serde_json::to_string(&again).expect("a message always encodes"),
        text
    );
}

fuzz_target!(|data: &[u8]| {
    round_trip::<ClientMsg>(data);
    round_trip::<ServerMsg>(data);
});
