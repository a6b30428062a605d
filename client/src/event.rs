//! What the calling service tells the app: events named after TRTCCalling's, and a snapshot of
//! the current call for UIs that render from state.

use webcall_protocol::{CallId, CallType, UserId};

/// Why a call the user placed got no answer (the payload of [`CallEvent::NoResp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRespReason {
    /// The callee's devices rang until the ring timeout.
    Timeout,
    /// The callee had no device online when the ring timeout ran out (the invitation waited
    /// for them to log in, in vain).
    Offline,
    /// The call failed before it was answered (the connection to the server or this side's
    /// media broke off, say), for the reason given.
    Unreachable(String),
}

/// An event from the calling service. The variants carry TRTCCalling's names
/// (`TRTCCalling.EVENT.*`) so that an app written against it maps one to one; the few that
/// TRTCCalling lacks (multi-device, presence, offline invitations, call verification,
/// reconnection) are marked.
///
/// | TRTCCalling event | `CallEvent` | JavaScript `WebCall.EVENT` |
/// |---|---|---|
/// | (`login()` resolves) | [`LoggedIn`](CallEvent::LoggedIn) | `SDK_READY` |
/// | `INVITED` | [`Invited`](CallEvent::Invited) | `INVITED` |
/// | `USER_ACCEPT` | [`UserAccept`](CallEvent::UserAccept) | `USER_ACCEPT` |
/// | `USER_ENTER` | [`UserEnter`](CallEvent::UserEnter) | `USER_ENTER` |
/// | `USER_LEAVE` | [`UserLeave`](CallEvent::UserLeave) | `USER_LEAVE` |
/// | `REJECT` | [`Reject`](CallEvent::Reject) | `REJECT` |
/// | `NO_RESP` | [`NoResp`](CallEvent::NoResp) | `NO_RESP` |
/// | `LINE_BUSY` | [`LineBusy`](CallEvent::LineBusy) | `LINE_BUSY` |
/// | `CALLING_CANCEL` | [`CallingCancel`](CallEvent::CallingCancel) | `CALLING_CANCEL` |
/// | `CALLING_TIMEOUT` | [`CallingTimeout`](CallEvent::CallingTimeout) | `CALLING_TIMEOUT` |
/// | `CALL_END` | [`CallEnd`](CallEvent::CallEnd) | `CALL_END` |
/// | `KICKED_OUT` | [`KickedOut`](CallEvent::KickedOut) | `KICKED_OUT` |
/// | `USER_AUDIO_AVAILABLE` | [`UserAudioAvailable`](CallEvent::UserAudioAvailable) | `USER_AUDIO_AVAILABLE` |
/// | `USER_VOICE_VOLUME` | [`UserVoiceVolume`](CallEvent::UserVoiceVolume) | `USER_VOICE_VOLUME` |
/// | `NETWORK_QUALITY` | [`NetworkQuality`](CallEvent::NetworkQuality) | `NETWORK_QUALITY` |
/// | `DEVICED_UPDATED` | [`DevicesUpdated`](CallEvent::DevicesUpdated) | `DEVICED_UPDATED` |
/// | `ERROR` | [`Error`](CallEvent::Error) | `ERROR` |
/// | (WebCall) | [`LoggedOut`](CallEvent::LoggedOut) | `LOGGED_OUT` |
/// | (WebCall) | [`Ringing`](CallEvent::Ringing) | `RINGING` |
/// | (WebCall) | [`AnsweredElsewhere`](CallEvent::AnsweredElsewhere) | `ANSWERED_ELSEWHERE` |
/// | (WebCall) | [`RejectedElsewhere`](CallEvent::RejectedElsewhere) | `REJECTED_ELSEWHERE` |
/// | (WebCall) | [`InCallElsewhere`](CallEvent::InCallElsewhere) | `IN_CALL_ELSEWHERE` |
/// | (WebCall) | [`InCallElsewhereEnded`](CallEvent::InCallElsewhereEnded) | `IN_CALL_ELSEWHERE_ENDED` |
/// | (WebCall) | [`PresenceChanged`](CallEvent::PresenceChanged) | `PRESENCE_CHANGED` |
/// | (WebCall) | [`SessionExpiring`](CallEvent::SessionExpiring) | `SESSION_EXPIRING` |
/// | (WebCall) | [`SessionRenewed`](CallEvent::SessionRenewed) | `SESSION_RENEWED` |
/// | (WebCall) | [`VerificationCode`](CallEvent::VerificationCode) | `VERIFICATION_CODE` |
/// | (WebCall) | [`Reconnecting`](CallEvent::Reconnecting) | `RECONNECTING` |
/// | (WebCall) | [`Reconnected`](CallEvent::Reconnected) | `RECONNECTED` |
/// | (WebCall) | [`AudioInterrupted`](CallEvent::AudioInterrupted) | `AUDIO_INTERRUPTED` |
/// | (WebCall) | [`AudioRestored`](CallEvent::AudioRestored) | `AUDIO_RESTORED` |
///
/// Every call this user places or is rung for ends with exactly one of `Reject`, `LineBusy`,
/// `NoResp`, `CallingCancel`, `CallingTimeout`, `CallEnd`, `AnsweredElsewhere` or
/// `RejectedElsewhere` (or, when the user leaves the call locally, with nothing further). A call
/// that never got to ring, because the microphone failed or the server refused the invitation,
/// ends with `Error`.
///
/// A lost connection to the server ends no call: the audio goes browser to browser and keeps
/// flowing while the client reconnects (`Reconnecting`, once per attempt, then `Reconnected`).
/// Only a reconnection the server refuses for good (an expired UserSig, say) ends the call, with
/// the failure "lost the connection to the server", and then the session (`Error`,
/// `LoggedOut`). A call whose other party's connection did not come back ends with the failure
/// "connection lost" (`CallEnd`, or `NoResp` / `CallingCancel` while it rang).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// The login finished: the user can call and be called. (TRTCCalling resolves `login()`.)
    LoggedIn {
        /// The user now logged in.
        user_id: UserId,
    },
    /// The user is logged out: by [`logout`](crate::WebCall::logout), because the server ended
    /// the session (kicked out, session expired, ...), or because it refused to let this client
    /// back in after a lost connection. A lost connection alone does not log out: see
    /// [`Reconnecting`](CallEvent::Reconnecting).
    LoggedOut {
        /// Why, when the user did not log out: "logged in elsewhere", "the session expired;
        /// log in again", the server's close reason, ...
        reason: Option<String>,
    },
    /// (WebCall) The connection to the server was lost (or stopped answering): the client is
    /// still logged in, the call goes on, and attempt `attempt` (0 for the first) to reconnect
    /// starts in `retry_in_ms`. Comes again for each failed attempt; the waits grow to at most
    /// 10 s and never stop. Meanwhile hanging up, rejecting, accepting, muting and watching
    /// work, and what they tell the server goes out once reconnected; placing a call is refused
    /// ([`ClientError::Reconnecting`](crate::ClientError::Reconnecting)). See also
    /// [`WebCall::is_reconnecting`](crate::WebCall::is_reconnecting).
    Reconnecting {
        /// The attempt about to start, 0 for the first.
        attempt: u32,
        /// Milliseconds until it starts.
        retry_in_ms: u64,
    },
    /// (WebCall) Logged in again after [`Reconnecting`](CallEvent::Reconnecting). `resumed`:
    /// the server still held the session and nothing was missed. Otherwise it is a new session
    /// (the server restarted, or the connection was away too long): the call goes on if the
    /// server could restore it (if not, its end follows), and presence and calls on other
    /// devices are reported anew.
    Reconnected {
        /// Whether the server still held the session (nothing was missed).
        resumed: bool,
    },
    /// (WebCall) The connected audio path of call `call_id` stopped carrying packets (a network
    /// change, a relay that went away). The client restores it by an ICE restart; the call ends
    /// as "connection lost" if it is not back within
    /// [`MEDIA_LOST_AFTER_MS`](crate::machine::MEDIA_LOST_AFTER_MS).
    AudioInterrupted {
        /// The call whose audio is interrupted.
        call_id: CallId,
    },
    /// (WebCall) The interrupted audio path of call `call_id` carries packets again.
    AudioRestored {
        /// The call whose audio is back.
        call_id: CallId,
    },
    /// `INVITED`: someone is calling this user. Every device of the user rings; the first to
    /// accept gets the call.
    Invited {
        /// Who is calling (TRTCCalling's `sponsor`).
        sponsor: UserId,
        /// The call (TRTCCalling's `inviteID`).
        call_id: CallId,
        /// The kind of call: always [`CallType::Audio`].
        call_type: CallType,
        /// How long it rings before the server gives up, in seconds
        /// ([`CallingTimeout`](CallEvent::CallingTimeout) then).
        timeout_secs: u32,
    },
    /// (WebCall) The call this user placed rings on `devices` of the callee's devices. 0 means
    /// the callee is offline: the invitation waits, for its ring timeout, for them to log in,
    /// and they are rung when they do. Comes when the server has created the call and again
    /// whenever the count changes.
    Ringing {
        /// The user called.
        callee: UserId,
        /// How many of the callee's devices ring now (0: offline).
        devices: u32,
    },
    /// `USER_ACCEPT`: the callee accepted this user's call (or called back at the same moment:
    /// the two calls were merged into this one).
    UserAccept {
        /// The callee.
        user_id: UserId,
    },
    /// `USER_ENTER`: the other party's audio is connected.
    UserEnter {
        /// The other party.
        user_id: UserId,
    },
    /// `USER_LEAVE`: the other party left the call.
    UserLeave {
        /// The other party.
        user_id: UserId,
    },
    /// `REJECT`: the callee rejected this user's call.
    Reject {
        /// The callee.
        user_id: UserId,
    },
    /// `LINE_BUSY`: the callee is in another call.
    LineBusy {
        /// The callee.
        user_id: UserId,
    },
    /// `NO_RESP`: the callee did not answer.
    NoResp {
        /// The callee.
        user_id: UserId,
        /// Why: the ring timeout ran out, the callee stayed offline, or the call failed.
        reason: NoRespReason,
    },
    /// `CALLING_CANCEL`: the caller withdrew the call that was ringing here;
    /// `caller_disconnected` when the caller's connection dropped rather than the caller
    /// cancelling.
    CallingCancel {
        /// The caller.
        sponsor: UserId,
        /// The call that rang.
        call_id: CallId,
        /// The caller's connection dropped; the caller did not cancel.
        caller_disconnected: bool,
    },
    /// `CALLING_TIMEOUT`: the call that was ringing here was not answered in time.
    CallingTimeout {
        /// The caller.
        sponsor: UserId,
        /// The call that rang.
        call_id: CallId,
    },
    /// `CALL_END`: an accepted call is over.
    CallEnd {
        /// The call that ended.
        call_id: CallId,
        /// Seconds since the call was accepted.
        duration_secs: u64,
        /// Who hung up, when somebody did.
        ended_by: Option<UserId>,
        /// Why the call broke off, when nobody hung up.
        failure: Option<String>,
    },
    /// (WebCall) The call that rang here was accepted on another of this user's devices. That
    /// device has the call; this one shows it as [`InCallElsewhere`](CallEvent::InCallElsewhere)
    /// until it ends.
    AnsweredElsewhere {
        /// The caller.
        sponsor: UserId,
        /// The call that rang here.
        call_id: CallId,
    },
    /// (WebCall) The call that rang here was rejected on another of this user's devices.
    RejectedElsewhere {
        /// The caller.
        sponsor: UserId,
        /// The call that rang here.
        call_id: CallId,
    },
    /// (WebCall) This user has a call with `peer` on another device (placed there, or accepted
    /// there). This device can not place or take a call meanwhile.
    InCallElsewhere {
        /// The call on the other device.
        call_id: CallId,
        /// The other party of that call.
        peer: UserId,
    },
    /// (WebCall) The call on the other device is over.
    InCallElsewhereEnded {
        /// The call that ended.
        call_id: CallId,
    },
    /// (WebCall) A user whose presence this device watches (see
    /// [`WebCall::watch_presence`](crate::WebCall::watch_presence)) came online (a first device
    /// logged in) or went offline (the last one left). Comes once for each ID when it is first
    /// watched and after each login, then on every change.
    PresenceChanged {
        /// The watched user.
        user_id: UserId,
        /// Whether at least one of their devices is logged in.
        online: bool,
    },
    /// (WebCall) The session's UserSig expires in `expires_in_secs`: fetch a fresh one and pass
    /// it to [`WebCall::renew`](crate::WebCall::renew), or the server ends the session then
    /// (an `Error` with code 70002, then `LoggedOut`).
    SessionExpiring {
        /// Seconds until the session ends.
        expires_in_secs: u64,
    },
    /// (WebCall) The renewal went through: the session lasts `expires_in_secs` more.
    SessionRenewed {
        /// Seconds until the renewed session ends.
        expires_in_secs: u64,
    },
    /// (WebCall) The verification code of the call: six digits, `"123 456"`, the same on both
    /// sides unless someone intercepts the audio (a signaling server that swapped the DTLS
    /// fingerprints). Show it so that the users can compare it aloud; see
    /// [`verification`](crate::verification) for its derivation and its limits. Comes once the
    /// audio has connected, and again only if the code changes; also in
    /// [`CallState::InCall`].
    VerificationCode {
        /// The call.
        call_id: CallId,
        /// Six digits in two groups, `"123 456"`.
        code: String,
    },
    /// `USER_AUDIO_AVAILABLE`: the other party of the call muted (`available: false`) or
    /// unmuted its microphone. Also in [`CallState::InCall`] (`peer_muted`).
    UserAudioAvailable {
        /// The other party.
        user_id: UserId,
        /// `false` when their microphone is muted (TRTCCalling's `isAudioAvailable`).
        available: bool,
    },
    /// `USER_VOICE_VOLUME`: how loud this user's microphone (`local`) and the other party
    /// (`remote`) are now, 0–100; during an accepted call, a few times a second, whenever a
    /// value changes. A muted microphone is 0.
    UserVoiceVolume {
        /// This user's microphone, 0–100.
        local: u8,
        /// The other party, 0–100.
        remote: u8,
    },
    /// `NETWORK_QUALITY`: how well the call's audio travels each way, once a second during an
    /// accepted call.
    NetworkQuality(NetworkQuality),
    /// `DEVICED_UPDATED` (sic, TRTCCalling's spelling): a microphone or speaker was plugged in
    /// or out (or the labels became known once the microphone was allowed). The lists as they
    /// are now; see [`WebCall::devices`](crate::WebCall::devices).
    DevicesUpdated(Devices),
    /// `KICKED_OUT`: the same user logged in elsewhere and this session was closed (only on a
    /// server that allows one device per user).
    KickedOut,
    /// `ERROR`: something failed. `code` follows TRTCCalling's numbering where one exists;
    /// 60050 ([`IceServerError::CODE`](crate::IceServerError::CODE)) is a STUN or TURN server
    /// that failed for the call, once per call.
    Error {
        /// The error code: [`ClientError::code`](crate::ClientError::code),
        /// [`MediaError::code`](crate::MediaError::code), 60050 for
        /// [`IceServerError`](crate::IceServerError), or the server's
        /// ([`server_error_code`](crate::machine::server_error_code)); all listed in the
        /// guide, `docs/integrate.md`.
        code: i32,
        /// What failed, in English.
        message: String,
    },
}

/// Where the user's call stands now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CallState {
    /// No call.
    #[default]
    Idle,
    /// This user is calling `callee`, who has not answered yet. `ringing` is how many of the
    /// callee's devices ring, once the server has said (0: offline, the invitation waits).
    Dialing {
        /// The user called.
        callee: UserId,
        /// How many of the callee's devices ring; `None` until the server has said.
        ringing: Option<u32>,
    },
    /// `caller` is calling this user.
    Incoming {
        /// Who is calling.
        caller: UserId,
        /// The call that rings.
        call_id: CallId,
    },
    /// This user accepted `peer`'s call here; the server has not confirmed it yet (the
    /// microphone opens and the audio negotiates meanwhile).
    Connecting {
        /// The caller.
        peer: UserId,
        /// The call.
        call_id: CallId,
    },
    /// In a call with `peer`, accepted at `since_ms`: milliseconds on the machine's clock, which
    /// in the browser is `performance.now()` of the page.
    InCall {
        /// The other party.
        peer: UserId,
        /// The call.
        call_id: CallId,
        /// When the call was accepted, on the machine's clock (milliseconds).
        since_ms: u64,
        /// Whether the audio path has connected.
        connected: bool,
        /// Whether the connected path is down and being restored
        /// ([`CallEvent::AudioInterrupted`]).
        interrupted: bool,
        /// Whether this user's microphone is muted.
        muted: bool,
        /// Whether the other party's microphone is muted
        /// ([`CallEvent::UserAudioAvailable`]).
        peer_muted: bool,
        /// The call's verification code ([`CallEvent::VerificationCode`]), once the audio has
        /// connected and the code is computed.
        verification_code: Option<String>,
    },
    /// This user is in a call with `peer` on another device.
    Elsewhere {
        /// The other party of that call.
        peer: UserId,
        /// The call on the other device.
        call_id: CallId,
    },
}

/// The quality of a call's audio in both directions ([`CallEvent::NetworkQuality`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkQuality {
    /// What this side sends, as the other side receives it (from its RTCP receiver reports).
    pub sending: Quality,
    /// What this side receives.
    pub receiving: Quality,
}

/// One direction's quality over the last second.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quality {
    /// 5 excellent, 4 good, 3 fair, 2 poor, 1 bad (nothing arrives); 0 unknown (nothing to
    /// measure yet). The worst of what the loss, the jitter and the round trip allow.
    pub level: u8,
    /// Round-trip time between the two browsers, in milliseconds.
    pub rtt_ms: Option<u32>,
    /// Jitter (variation of packet arrival), in milliseconds.
    pub jitter_ms: Option<u32>,
    /// Packets lost over the last second, in thousandths (15 = 1.5 %).
    pub loss_permille: Option<u32>,
}

/// The audio devices the browser offers ([`WebCall::devices`](crate::WebCall::devices)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    /// The microphones (`audioinput`), in the browser's order.
    pub microphones: Vec<Device>,
    /// Empty when the browser can not choose where audio plays (no `setSinkId`): then the
    /// system's default output plays the call.
    pub speakers: Vec<Device>,
}

/// One microphone or speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The browser's `deviceId`, stable for this site across visits.
    pub id: String,
    /// What the user calls it; empty until the page was allowed the microphone once.
    pub label: String,
}
