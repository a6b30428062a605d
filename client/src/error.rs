//! Errors the calling service returns from its methods and reports in [`CallEvent::Error`].
//!
//! [`CallEvent::Error`]: crate::CallEvent::Error

use webcall_protocol::UserIdError;

/// Why the microphone could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// No microphone is connected (TRTCCalling 60003).
    #[error("no microphone was found")]
    NoDevice,
    /// The user or the browser refused access to the microphone (TRTCCalling 60005).
    #[error("access to the microphone was denied")]
    PermissionDenied,
    /// This browser or page cannot do WebRTC calls (TRTCCalling 60006): an old browser, or a
    /// page that is not a secure context (https or localhost).
    #[error("this browser or page does not support WebRTC calls")]
    NotSupported,
    /// Anything else the browser reported.
    #[error("the microphone could not be opened: {0}")]
    Other(String),
}

impl MediaError {
    /// TRTCCalling's error code for this failure: 60003 no microphone, 60005 permission
    /// denied, 60006 not supported, 60001 anything else. The same code comes in the
    /// [`CallEvent::Error`](crate::CallEvent::Error) of a call whose microphone failed.
    ///
    /// ```
    /// use webcall_client::MediaError;
    ///
    /// let denied = MediaError::PermissionDenied;
    /// assert_eq!(denied.code(), 60005);
    /// assert_eq!(denied.to_string(), "access to the microphone was denied");
    /// assert_eq!(MediaError::Other("NotReadableError".into()).code(), 60001);
    /// ```
    pub fn code(&self) -> i32 {
        match self {
            MediaError::NoDevice => 60003,
            MediaError::PermissionDenied => 60005,
            MediaError::NotSupported => 60006,
            MediaError::Other(_) => 60001,
        }
    }
}

/// Why a method of the calling service refused to act. Nothing changed when one is returned.
///
/// The methods check what they can at once and return this synchronously; what only the
/// server or the browser can tell comes later, as a [`CallEvent`](crate::CallEvent). In
/// JavaScript, a promise rejected with a `WebCallError` carrying [`code`](ClientError::code).
///
/// ```
/// use webcall_client::{validate_user_id, ClientError};
///
/// // An invalid user ID, as `login`, `call` and `watch_presence` refuse it.
/// let refused = ClientError::from(validate_user_id("al ice").unwrap_err());
/// assert_eq!(refused.code(), 60010);
/// assert_eq!(
///     refused.to_string(),
///     "invalid user ID: user ID may only hold A-Z, a-z, 0-9, _ and -"
/// );
/// assert_eq!(ClientError::NoCall("accept").to_string(), "there is no call to accept");
/// assert_eq!(ClientError::Unsupported.code(), 60016);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The user ID is not valid.
    #[error("invalid user ID: {0}")]
    BadUserId(#[from] UserIdError),
    /// The method needs a logged-in user.
    #[error("not logged in")]
    NotLoggedIn,
    /// `login` was called while logged in or logging in.
    #[error("already logged in")]
    AlreadyLoggedIn,
    /// A user cannot call themselves.
    #[error("you cannot call yourself")]
    CallSelf,
    /// There is a call already.
    #[error("a call is already in progress")]
    Busy,
    /// This user is in a call on another device.
    #[error("you are in a call on another device")]
    InCallElsewhere,
    /// More user IDs than [`MAX_WATCHED`](webcall_protocol::MAX_WATCHED) were asked to be
    /// watched.
    #[error("at most {} user IDs can be watched", webcall_protocol::MAX_WATCHED)]
    TooManyWatched,
    /// There is no call this method could act on (accepting with nothing ringing, say).
    #[error("there is no call to {0}")]
    NoCall(&'static str),
    /// Video calls are not supported.
    #[error("video calls are not supported")]
    Unsupported,
    /// The connection to the server is being restored
    /// ([`CallEvent::Reconnecting`](crate::CallEvent::Reconnecting)); a call can be placed once
    /// it is back.
    #[error("reconnecting to the server; try again in a moment")]
    Reconnecting,
}

impl ClientError {
    /// A numeric code for [`CallEvent::Error`](crate::CallEvent::Error) and JavaScript callers:
    ///
    /// | code | error |
    /// |---|---|
    /// | 60010 | [`BadUserId`](ClientError::BadUserId) |
    /// | 60011 | [`NotLoggedIn`](ClientError::NotLoggedIn) |
    /// | 60012 | [`AlreadyLoggedIn`](ClientError::AlreadyLoggedIn) |
    /// | 60013 | [`CallSelf`](ClientError::CallSelf) |
    /// | 60014 | [`Busy`](ClientError::Busy) |
    /// | 60015 | [`NoCall`](ClientError::NoCall) |
    /// | 60016 | [`Unsupported`](ClientError::Unsupported) |
    /// | 60017 | [`InCallElsewhere`](ClientError::InCallElsewhere) |
    /// | 60018 | [`TooManyWatched`](ClientError::TooManyWatched) |
    /// | 60019 | [`Reconnecting`](ClientError::Reconnecting) |
    pub fn code(&self) -> i32 {
        match self {
            ClientError::BadUserId(_) => 60010,
            ClientError::NotLoggedIn => 60011,
            ClientError::AlreadyLoggedIn => 60012,
            ClientError::CallSelf => 60013,
            ClientError::Busy => 60014,
            ClientError::NoCall(_) => 60015,
            ClientError::Unsupported => 60016,
            ClientError::InCallElsewhere => 60017,
            ClientError::TooManyWatched => 60018,
            ClientError::Reconnecting => 60019,
        }
    }
}

/// A STUN or TURN server failed for a call's peer connection (the browser's
/// `icecandidateerror` event): the server could not be reached, or it refused the request,
/// typically a TURN server refusing the credentials (401). Reported once per call as
/// [`CallEvent::Error`](crate::CallEvent::Error) with code [`IceServerError::CODE`].
///
/// One failure need not end the call: other servers, or direct paths, may still connect it.
/// A call that may only be relayed (the server's `--relay-only`) fails at once when no TURN
/// server is left.
///
/// ```
/// use webcall_client::IceServerError;
///
/// let error = IceServerError {
///     url: "turn:turn.example.com:3478?transport=udp".into(),
///     code: 401,
///     text: "Unauthorized".into(),
/// };
/// assert!(error.is_turn() && error.is_refusal());
/// assert_eq!(error.code(), IceServerError::CODE);
/// assert_eq!(
///     error.to_string(),
///     "the TURN server turn:turn.example.com:3478?transport=udp refused the credentials \
///      (401 Unauthorized)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct IceServerError {
    /// The server's URL as the browser reports it, e.g.
    /// `turn:turn.example.com:3478?transport=udp`.
    pub url: String,
    /// The STUN error code (RFC 5389, 8656): 300 to 699 when the server answered with an error
    /// (401: the credentials were refused), 701 when it could not be reached at all.
    pub code: u16,
    /// The browser's text for the error (`errorText`), e.g. "Unauthorized".
    pub text: String,
}

impl IceServerError {
    /// The [`CallEvent::Error`](crate::CallEvent::Error) code of an ICE server failure.
    pub const CODE: i32 = 60050;

    /// TRTCCalling-style error code: [`IceServerError::CODE`].
    pub fn code(&self) -> i32 {
        Self::CODE
    }

    /// Whether the failed server is a TURN server (`turn:` or `turns:` URL).
    pub fn is_turn(&self) -> bool {
        let url = self.url.trim_start().to_ascii_lowercase();
        url.starts_with("turn:") || url.starts_with("turns:")
    }

    /// Whether the server answered with an error (codes 300 to 699), rather than not being
    /// reached. An answer is the same from every network interface of this device; a server
    /// that cannot be reached from one interface may be from another.
    pub fn is_refusal(&self) -> bool {
        (300..700).contains(&self.code)
    }

    fn describe(&self) -> String {
        let kind = if self.is_turn() { "TURN" } else { "STUN" };
        let text = self.text.trim().trim_end_matches('.');
        let detail = if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {text}", self.code)
        };
        let what = match self.code {
            401 => "refused the credentials",
            300..=699 => "refused the request",
            _ => "could not be reached",
        };
        format!("the {kind} server {} {what} ({detail})", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ice_error(url: &str, code: u16, text: &str) -> IceServerError {
        IceServerError {
            url: url.into(),
            code,
            text: text.into(),
        }
    }

    #[test]
    fn ice_server_errors_say_what_failed() {
        let refused = ice_error("turn:127.0.0.1:3478?transport=udp", 401, "Unauthorized");
        assert_eq!(
            refused.to_string(),
            "the TURN server turn:127.0.0.1:3478?transport=udp refused the credentials \
             (401 Unauthorized)"
        );
        assert!(refused.is_turn() && refused.is_refusal());
        assert_eq!(refused.code(), 60050);

        let unreachable = ice_error(
            "turns:turn.example.com:5349?transport=tcp",
            701,
            "TURN allocate request timed out.",
        );
        assert_eq!(
            unreachable.to_string(),
            "the TURN server turns:turn.example.com:5349?transport=tcp could not be reached \
             (701 TURN allocate request timed out)"
        );
        assert!(unreachable.is_turn() && !unreachable.is_refusal());

        let stun = ice_error("stun:stun.example.com:3478", 403, "");
        assert_eq!(
            stun.to_string(),
            "the STUN server stun:stun.example.com:3478 refused the request (403)"
        );
        assert!(!stun.is_turn());
    }
}
