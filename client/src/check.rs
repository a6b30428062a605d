//! # Device check: can calls work in this browser, on this page, from this network?
//!
//! The diagnostics behind a "check your device" page (TRTC ships one as a separate site), for
//! any app on this SDK: each function runs one check and says what it measured, so that the
//! app can show it and say what to do when one fails.
//!
//! | check | function | passes when |
//! |---|---|---|
//! | browser support | [`Support::detect`] | `RTCPeerConnection`, `getUserMedia` and Web Audio exist (speaker selection, `setSinkId`, is optional) |
//! | secure context | [`Support::detect`] | the page is https, or served from this device (`localhost`) |
//! | microphone permission | [`microphone_permission`] | the Permissions API says "granted" (or "prompt": opening the microphone asks) |
//! | microphone level | [`mic_level`] | sound above [`SPEECH_RMS`] reached the microphone in [`LOUD_FRAMES`] readings |
//! | speaker | [`speaker_tone`] | a short synthesized tone played through an `AudioContext` (whether the user heard it, only the user can say) |
//! | signaling round trip | [`signaling_rtt`] | the server answered pings (before any login) |
//! | TURN relay | [`relay`] | a TURN server gave a `relay` candidate, with the credentials of a logged-in session ([`WebCall::ice_servers`](crate::WebCall::ice_servers)) |
//!
//! [`Summary`] sums the verdicts up. [`Support::blocker`] is the quick answer for a login page:
//! why calls can not work here at all, before the user tries.
//!
//! This module is a browser-only diagnostic (web-sys): its functions need a page. Only the
//! pure parts (thresholds, candidate parsing, the summary) run elsewhere, in unit tests.
//! Everything a check opens it closes before returning, also when it fails or is stopped with
//! an [`Abort`]: microphone tracks are stopped, `AudioContext`s closed, the socket and the peer
//! connection closed, their JS handlers removed.

mod audio;
mod mic;
mod relay;
mod signaling;
mod summary;
mod support;
mod tone;
mod wait;

use std::cell::Cell;
use std::rc::Rc;

pub use mic::{
    meter, mic_level, microphone_permission, rms, MicLevel, Permission, LOUD_FRAMES, SPEECH_RMS,
};
pub use relay::{has_turn, relay, relay_address, RelayCandidate};
pub use signaling::{median, signaling_rtt, RoundTrip};
pub use summary::{CheckId, Summary, Verdict};
pub use support::{Blocker, Support};
pub use tone::{speaker_tone, tone_done, Tone};
pub use webcall_protocol::IceServer;

use crate::{IceServerError, MediaError};

/// Why a check could not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The browser lacks an API the check needs (named).
    #[error("this browser lacks {0}")]
    NotSupported(&'static str),
    /// The microphone could not be opened.
    #[error(transparent)]
    Microphone(#[from] MediaError),
    /// The browser keeps audio paused until the user interacts with the page (autoplay
    /// policy): run the check again from a click.
    #[error("the browser keeps audio paused until the page is clicked")]
    AudioBlocked,
    /// Web Audio failed otherwise.
    #[error("Web Audio failed: {0}")]
    Audio(String),
    /// The signaling socket did not open, or closed early.
    #[error("cannot reach the signaling server: {0}")]
    Unreachable(String),
    /// The server refused the check's messages (a server that answers pings only after a
    /// login).
    #[error("the server refused: {0}")]
    Refused(String),
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
    /// There is no TURN server to test.
    #[error("no TURN server is configured")]
    NoTurnServer,
    /// No TURN server gave a relay address; the failures the browser reported, if any.
    #[error("no TURN server gave a relay address{}", describe(.0))]
    NoRelay(Vec<IceServerError>),
    /// The check was stopped ([`Abort::abort`]).
    #[error("the check was stopped")]
    Aborted,
}

fn describe(errors: &[IceServerError]) -> String {
    errors.iter().map(|e| format!(": {e}")).collect()
}

/// Stops the checks it was given to: a check that sees it aborted cleans up and returns
/// [`CheckError::Aborted`] within a fraction of a second. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Abort(Rc<Cell<bool>>);

impl Abort {
    /// A token not aborted yet.
    pub fn new() -> Abort {
        Abort::default()
    }

    /// Stops every check running with this token (or a clone).
    pub fn abort(&self) {
        self.0.set(true);
    }

    /// Whether [`abort`](Self::abort) was called.
    pub fn is_aborted(&self) -> bool {
        self.0.get()
    }

    /// `Err(Aborted)` once aborted.
    fn check(&self) -> Result<(), CheckError> {
        if self.is_aborted() {
            Err(CheckError::Aborted)
        } else {
            Ok(())
        }
    }
}
