//! `webcall.callState`: where the call stands, as a plain object for UIs that render from state.
//!
//! | `state` | other fields |
//! |---|---|
//! | `'idle'` | |
//! | `'dialing'` | `userID` (the callee), `ringing` (devices ringing; `null` until the server said) |
//! | `'incoming'` | `sponsor`, `inviteID` |
//! | `'connecting'` | `userID` (the caller), `inviteID` |
//! | `'in-call'` | `userID`, `inviteID`, `since` (ms, `performance.now()` time), `connected`, `interrupted`, `muted`, `peerMuted`, `verificationCode` (or `null`) |
//! | `'elsewhere'` | `userID`, `inviteID` |

use wasm_bindgen::JsValue;
use webcall_client::CallState;

use crate::js::{number_or_null, object, string_or_null};

/// `state` as `callState` shows it.
pub(crate) fn call_state_object(state: &CallState) -> JsValue {
    let s = JsValue::from_str;
    match state {
        CallState::Idle => object(&[("state", s("idle"))]),
        CallState::Dialing { callee, ringing } => object(&[
            ("state", s("dialing")),
            ("userID", s(callee)),
            ("ringing", number_or_null(*ringing)),
        ]),
        CallState::Incoming { caller, call_id } => object(&[
            ("state", s("incoming")),
            ("sponsor", s(caller)),
            ("inviteID", s(call_id)),
        ]),
        CallState::Connecting { peer, call_id } => object(&[
            ("state", s("connecting")),
            ("userID", s(peer)),
            ("inviteID", s(call_id)),
        ]),
        CallState::InCall {
            peer,
            call_id,
            since_ms,
            connected,
            interrupted,
            muted,
            peer_muted,
            verification_code,
        } => object(&[
            ("state", s("in-call")),
            ("userID", s(peer)),
            ("inviteID", s(call_id)),
            ("since", JsValue::from(*since_ms as f64)),
            ("connected", JsValue::from(*connected)),
            ("interrupted", JsValue::from(*interrupted)),
            ("muted", JsValue::from(*muted)),
            ("peerMuted", JsValue::from(*peer_muted)),
            (
                "verificationCode",
                string_or_null(verification_code.as_deref()),
            ),
        ]),
        CallState::Elsewhere { peer, call_id } => object(&[
            ("state", s("elsewhere")),
            ("userID", s(peer)),
            ("inviteID", s(call_id)),
        ]),
    }
}
