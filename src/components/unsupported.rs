//! The notice that calls can not work on this page at all, and why, shown on `/login` and
//! `/call` before the user tries: an insecure page (http on a network address, where browsers
//! block the microphone), or a browser without WebRTC or microphone access. Found by feature
//! detection ([`Support::detect`]); nothing shows where calls can work.
//!
//! A plain view function: it has no state of its own.

use webcall_client::check::{Blocker, Support};
use yew::prelude::*;

use crate::strings::t;

pub fn unsupported() -> Html {
    let Some(blocker) = Support::detect().blocker() else {
        return html! {};
    };
    let t = t();
    let text = match blocker {
        Blocker::Insecure => t.unsupported_insecure,
        Blocker::NoWebRtc => t.unsupported_no_webrtc,
        Blocker::NoMicrophone => t.unsupported_no_mic,
    };
    html! { <p id="unsupported" class="banner" role="alert">{ text }</p> }
}
