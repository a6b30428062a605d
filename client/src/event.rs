//! What the calling service tells the app: events named after TRTCCalling's, and a snapshot of
//! the current call for UIs that render from state.

use webcall_protocol::{CallId, CallType, UserId};

/// Why a call the user placed got no answer (the payload of [`CallEvent::NoResp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRespReason {
    /// The callee's devices rang until the ring timeout.
    Timeout,
    /// The callee could not be reached: offline, or the call failed before it was answered.
    Unreachable(String),
}

/// An event from the calling service. The variants carry TRTCCalling's names
/// (`TRTCCalling.EVENT.*`) so that an app written against it maps one to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// The login finished: the user can call and be called. (TRTCCalling resolves `login()`.)
    LoggedIn { user_id: UserId },
    /// The user is logged out: by [`logout`](crate::WebCall::logout), or because the connection
    /// to the server was lost.
    LoggedOut { reason: Option<String> },
    /// `INVITED`: someone is calling this user.
    Invited {
        sponsor: UserId,
        call_id: CallId,
        call_type: CallType,
        timeout_secs: u32,
    },
    /// `USER_ACCEPT`: the callee accepted this user's call.
    UserAccept { user_id: UserId },
    /// `USER_ENTER`: the other party's audio is connected.
    UserEnter { user_id: UserId },
    /// `USER_LEAVE`: the other party left the call.
    UserLeave { user_id: UserId },
    /// `REJECT`: the callee rejected this user's call.
    Reject { user_id: UserId },
    /// `LINE_BUSY`: the callee is in another call.
    LineBusy { user_id: UserId },
    /// `NO_RESP`: the callee did not answer.
    NoResp {
        user_id: UserId,
        reason: NoRespReason,
    },
    /// `CALLING_CANCEL`: the caller withdrew the call that was ringing here.
    CallingCancel { sponsor: UserId, call_id: CallId },
    /// `CALLING_TIMEOUT`: the call that was ringing here was not answered in time.
    CallingTimeout { sponsor: UserId, call_id: CallId },
    /// `CALL_END`: an accepted call is over.
    CallEnd {
        call_id: CallId,
        /// Seconds since the call was accepted.
        duration_secs: u64,
        /// Who hung up, when somebody did.
        ended_by: Option<UserId>,
        /// Why the call broke off, when nobody hung up.
        failure: Option<String>,
    },
    /// `KICKED_OUT`: the same user logged in elsewhere and this session was closed.
    KickedOut,
    /// `ERROR`: something failed. `code` follows TRTCCalling's numbering where one exists.
    Error { code: i32, message: String },
}

/// Where the user's call stands now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CallState {
    /// No call.
    #[default]
    Idle,
    /// This user is calling `callee`, who has not answered yet.
    Dialing { callee: UserId },
    /// `caller` is calling this user.
    Incoming { caller: UserId, call_id: CallId },
    /// In a call with `peer`, accepted at `since_ms`: milliseconds on the machine's clock, which
    /// in the browser is `performance.now()` of the page.
    InCall {
        peer: UserId,
        call_id: CallId,
        since_ms: u64,
        /// Whether the audio path is connected.
        connected: bool,
        /// Whether this user's microphone is muted.
        muted: bool,
    },
}
