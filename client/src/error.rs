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
    /// TRTCCalling's error code for this failure.
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
}

impl ClientError {
    /// A numeric code for [`CallEvent::Error`](crate::CallEvent::Error) and JavaScript callers.
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
        }
    }
}
