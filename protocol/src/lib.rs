//! The WebCall signaling protocol: every message the calling client and the signaling server
//! exchange over the WebSocket at `/ws`, as serde types.
//!
//! One definition, used by both sides, so that the two can never disagree about a field. Frames
//! are JSON text, one message per frame, in serde's default (externally tagged) form: an object
//! whose one key names the message, or just the name for a message without fields:
//!
//! ```json
//! {"login":{"user_id":"alice","user_sig":"...","sdk_app_id":1400000000}}
//! "ping"
//! ```
//!
//! The same with the types (serde_json stands for any JSON serializer):
//!
//! ```
//! use webcall_protocol::{ClientMsg, ServerMsg};
//!
//! let login = ClientMsg::Login {
//!     user_id: "alice".into(),
//!     user_sig: "...".into(),
//!     sdk_app_id: 1_400_000_000,
//!     resume: None,
//! };
//! assert_eq!(
//!     serde_json::to_string(&login).unwrap(),
//!     r#"{"login":{"user_id":"alice","user_sig":"...","sdk_app_id":1400000000}}"#
//! );
//! assert_eq!(serde_json::to_string(&ClientMsg::Ping).unwrap(), r#""ping""#);
//!
//! let frame = r#"{"seq":[1,{"accepted":{"call_id":"0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d"}}]}"#;
//! let msg: ServerMsg = serde_json::from_str(frame).unwrap();
//! let (seq, msg) = msg.unsequenced();
//! assert_eq!(seq, Some(1));
//! assert!(matches!(msg, ServerMsg::Accepted { .. }));
//! ```
//!
//! That form is chosen for size: its parser is a fraction of the code an internally tagged
//! (`{"type": ...}`) enum needs, which matters in the browser, where every byte of the client is
//! downloaded before the first call.
//!
//! # A call, message by message
//!
//! 1. The caller sends [`ClientMsg::Invite`] with a request number of its own choosing. The server
//!    answers [`ServerMsg::CallCreated`] with the same `req`, the call's ID (a UUID v4) and how
//!    many of the callee's devices ring, and rings every one of them with
//!    [`ServerMsg::Invited`]. A callee with no device online is invited when one logs in within
//!    the ring timeout; the caller hears [`ServerMsg::Ringing`] whenever the count changes.
//! 2. The caller sends its SDP offer and ICE candidates as [`ClientMsg::Signal`]s at once. The
//!    server holds them in the call record until the callee accepts and then delivers them, in
//!    order, to the device that accepted.
//! 3. A callee device sends [`ClientMsg::Accept`]; the first one wins. The server tells the caller
//!    and that device [`ServerMsg::Accepted`], the callee's other devices
//!    [`ServerMsg::AnsweredElsewhere`], and delivers the held offer. The callee answers with a
//!    [`ClientMsg::Signal`]. Each side reports [`ClientMsg::MediaConnected`] once audio flows.
//! 4. Either party ends the call ([`ClientMsg::Cancel`], [`ClientMsg::Reject`],
//!    [`ClientMsg::Hangup`]) or the server does (busy, ring timeout, media that does not connect,
//!    a dropped connection). Every call ends with exactly one [`Outcome`], sent as
//!    [`ServerMsg::CallEnded`] to every device of both parties at once.
//!
//! When two users call each other at the same time (glare), the call placed first stands and the
//! second `Invite` answers it: its sender gets [`ServerMsg::CallMerged`] instead of
//! `CallCreated` and takes the callee's side.
//!
//! A user's devices that are not in the user's call hear [`ServerMsg::CallElsewhere`], so they
//! can show it; presence of the IDs a connection asks about ([`ClientMsg::Watch`]) comes as
//! [`ServerMsg::Presence`].
//!
//! The server decides every outcome; clients only ask.
//!
//! # Reconnecting
//!
//! Every message the server sends a logged-in connection on behalf of its user (everything but
//! `LoggedIn`, `Pong`, `SessionExpiring`, `Renewed` and the `Error`s that answer a request)
//! comes numbered, as [`ServerMsg::Seq`]: 1, 2, 3, ... per session. The client applies each
//! number once, in order, and acknowledges what it applied ([`ClientMsg::Ack`]); the server
//! keeps what is not acknowledged yet.
//!
//! A connection that drops without a close frame (a network gone, a server restart) leaves its
//! session waiting on the server for a grace period: its calls and invitations stand, and what
//! the server sends meanwhile is kept. The client reconnects and logs in again with
//! [`Resume`]: the `session` from its last `LoggedIn` and the last `seq` it applied. If the
//! server still holds the session, it answers `LoggedIn { resumed: true, .. }` and sends again,
//! in order, every message after that `seq`: nothing is lost and nothing applied twice.
//!
//! Otherwise (the server restarted and lost its memory, or the grace period passed) the login
//! starts a new session (`resumed: false`), and the client re-asserts its call with the
//! [`CallClaim`] in its `Resume`. A call the server does not know is restored from the claims of
//! its two parties, which must agree (same call ID, one caller, one callee); a party that does
//! not claim it within the restore window ends it as [`Outcome::ConnectionLost`]. A call that
//! ended meanwhile is answered with its `CallEnded`. A client that left its call (rejected,
//! cancelled, hung up) without hearing it end claims that too ([`ClaimPhase::Left`]), so that a
//! message lost with a dying server still ends the call the way the user ended it.
//!
//! A server that shuts down closes every connection with code 1012 ([`CLOSE_SERVICE_RESTART`]):
//! the clients reconnect at once. A client that gives up on a connection to reconnect on a new
//! one closes it with [`CLOSE_RECONNECTING`], which keeps the session waiting like a drop; any
//! other close frame from a client (a logout, a closed tab) ends its session at once.
//!
//! No tokio and no web-sys here: this crate compiles for the server and for wasm alike.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

/// A user's ID: 1 to 32 characters of `A-Z a-z 0-9 _ -`. Validate with [`validate_user_id`].
pub type UserId = String;

/// A call's ID as the server issued it: a UUID v4 in its hyphenated text form.
pub type CallId = String;

/// The longest user ID, in characters.
pub const MAX_USER_ID_LEN: usize = 32;

/// The ring timeout the server applies when `Invite` names none, in seconds.
pub const DEFAULT_RING_TIMEOUT_SECS: u32 = 30;

/// The longest ring timeout a caller may ask for, in seconds.
pub const MAX_RING_TIMEOUT_SECS: u32 = 120;

/// The most user IDs one connection may watch the presence of.
pub const MAX_WATCHED: usize = 16;

/// WebSocket close code a client sends when it gives up on a connection to reconnect on a new
/// one (its heartbeat found it dead, say): the server keeps the session for the resume, as for
/// a connection that dropped. Any other close from the client ends its session at once.
pub const CLOSE_RECONNECTING: u16 = 4000;

/// WebSocket close code of a server that shuts down or restarts (RFC 6455's "service
/// restart"): reconnect at once.
pub const CLOSE_SERVICE_RESTART: u16 = 1012;

/// The longest failure message a [`ClientMsg::Hangup`] may carry, in bytes; longer ones are cut.
pub const MAX_FAILURE_LEN: usize = 200;

/// Why a user ID is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserIdError {
    /// The ID is empty.
    Empty,
    /// The ID is longer than [`MAX_USER_ID_LEN`].
    TooLong,
    /// The ID holds a character outside `A-Z a-z 0-9 _ -`.
    BadCharacter,
}

impl std::fmt::Display for UserIdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UserIdError::Empty => "user ID is empty",
            UserIdError::TooLong => "user ID is longer than 32 characters",
            UserIdError::BadCharacter => "user ID may only hold A-Z, a-z, 0-9, _ and -",
        })
    }
}

impl std::error::Error for UserIdError {}

/// Checks that `id` is a valid user ID: 1 to 32 characters of `A-Z a-z 0-9 _ -`.
///
/// ```
/// use webcall_protocol::{validate_user_id, UserIdError};
///
/// assert_eq!(validate_user_id("alice_01-B"), Ok(()));
/// assert_eq!(validate_user_id(""), Err(UserIdError::Empty));
/// assert_eq!(validate_user_id(&"a".repeat(33)), Err(UserIdError::TooLong));
/// assert_eq!(validate_user_id("al ice"), Err(UserIdError::BadCharacter));
/// assert_eq!(
///     UserIdError::BadCharacter.to_string(),
///     "user ID may only hold A-Z, a-z, 0-9, _ and -"
/// );
/// ```
pub fn validate_user_id(id: &str) -> Result<(), UserIdError> {
    if id.is_empty() {
        return Err(UserIdError::Empty);
    }
    if id.len() > MAX_USER_ID_LEN {
        return Err(UserIdError::TooLong);
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(UserIdError::BadCharacter);
    }
    Ok(())
}

/// The kind of call. WebCall carries voice; video is named so that a TRTCCalling app ports
/// unchanged, and the server refuses it with [`ErrorCode::Unsupported`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    /// A voice call (TRTCCalling's `CALL_TYPE.AUDIO_CALL`, 1).
    #[default]
    Audio,
    /// A video call (TRTCCalling's `CALL_TYPE.VIDEO_CALL`, 2). Not supported yet.
    Video,
}

/// What one party of an accepted call tells the other, relayed by the server untouched: WebRTC
/// negotiation payloads, and the state of the sender's microphone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// An SDP offer.
    Offer {
        /// The session description (`RTCSessionDescription.sdp`).
        sdp: String,
    },
    /// An SDP answer.
    Answer {
        /// The session description (`RTCSessionDescription.sdp`).
        sdp: String,
    },
    /// A trickled ICE candidate, as `RTCIceCandidateInit`.
    Ice {
        /// The `candidate:` line (`RTCIceCandidateInit.candidate`).
        candidate: String,
        /// The media section it belongs to (`sdpMid`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        /// The index of that media section (`sdpMLineIndex`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_m_line_index: Option<u16>,
    },
    /// The sender muted (`true`) or unmuted its microphone (TRTCCalling's
    /// `USER_AUDIO_AVAILABLE` on the receiving side). Sent on every change, and once the audio
    /// connects when the sender is muted then.
    Mute {
        /// Whether the sender's microphone is muted now.
        muted: bool,
    },
}

/// A STUN or TURN server for `RTCPeerConnection`'s `iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN username, when the server needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential, when the server needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// A message from a client to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientMsg {
    /// Authenticate this connection. Must be the first message; a connection that has not logged
    /// in within a few seconds is closed.
    Login {
        /// The user to log in as.
        user_id: UserId,
        /// The user's UserSig, issued by the app's backend for `user_id` and `sdk_app_id`.
        user_sig: String,
        /// The app's ID (TRTCCalling's `SDKAppID`); must be the server's.
        sdk_app_id: u32,
        /// A reconnecting client's session and call; absent on a first login.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
    },
    /// Call `callee`. `req` is echoed in [`ServerMsg::CallCreated`] or [`ServerMsg::Error`].
    Invite {
        /// A request number of the client's choosing, echoed in the answer.
        req: u32,
        /// The user to call.
        callee: UserId,
        /// Audio; video is refused ([`ErrorCode::Unsupported`]). Audio when absent.
        #[serde(default)]
        call_type: CallType,
        /// Ring timeout in seconds; the server's default when absent, capped at
        /// [`MAX_RING_TIMEOUT_SECS`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_secs: Option<u32>,
    },
    /// A callee device accepts a ringing call. The first device to accept gets the call.
    Accept {
        /// The ringing call.
        call_id: CallId,
    },
    /// The callee rejects a ringing call.
    Reject {
        /// The ringing call.
        call_id: CallId,
    },
    /// The caller withdraws a call that is still ringing.
    Cancel {
        /// The caller's ringing call.
        call_id: CallId,
    },
    /// Either party ends an accepted call. With `failure`, the call broke off on this side (the
    /// audio connection failed, say) and ends as [`Outcome::Failed`] with that message.
    Hangup {
        /// The accepted call.
        call_id: CallId,
        /// Why the call broke off, when nobody hung up (the server cuts it to
        /// [`MAX_FAILURE_LEN`] bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<String>,
    },
    /// WebRTC negotiation for the other party of `call_id`.
    Signal {
        /// The accepted call whose other party gets the signal.
        call_id: CallId,
        /// The offer, answer, candidate or mute state, relayed untouched.
        signal: Signal,
    },
    /// This side's audio of an accepted call is connected (again, after
    /// [`ClientMsg::MediaInterrupted`]). The server fails a call whose audio does not connect
    /// within its limit.
    MediaConnected {
        /// The accepted call.
        call_id: CallId,
    },
    /// This side's connected audio stopped carrying packets and is being restored (ICE
    /// restart). A party that reports it while the other party's connection to the server is
    /// gone tells the server that party vanished: the call ends as
    /// [`Outcome::ConnectionLost`] at once.
    MediaInterrupted {
        /// The accepted call.
        call_id: CallId,
    },
    /// Watch the presence of these user IDs (at most [`MAX_WATCHED`]), replacing the IDs watched
    /// before; an empty list stops watching. Each is answered at once with
    /// [`ServerMsg::Presence`], and again whenever it changes.
    Watch {
        /// The user IDs to watch.
        users: Vec<UserId>,
    },
    /// Keep-alive; answered with [`ServerMsg::Pong`].
    Ping,
    /// Every [`ServerMsg::Seq`] up to and including `seq` was applied: the server need not
    /// keep them for a reconnection.
    Ack {
        /// The highest sequence number applied.
        seq: u64,
    },
    /// Extend the session with a fresh UserSig for the same user, typically after
    /// [`ServerMsg::SessionExpiring`]; answered with [`ServerMsg::Renewed`] or an `Error`.
    Renew {
        /// The fresh UserSig.
        user_sig: String,
    },
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMsg {
    /// Login succeeded.
    LoggedIn {
        /// The user now logged in on this connection.
        user_id: UserId,
        /// ICE servers for this user's peer connections (TURN credentials included).
        #[serde(default)]
        ice_servers: Vec<IceServer>,
        /// Seconds until the UserSig of this login expires and the server ends the session,
        /// unless it is renewed ([`ClientMsg::Renew`]).
        #[serde(default)]
        expires_in_secs: u64,
        /// The peer connections must relay all media through the TURN servers in
        /// `ice_servers` (`iceTransportPolicy: "relay"`), so that neither party learns the
        /// other's IP addresses. `false` from servers that predate it.
        #[serde(default)]
        relay_only: bool,
        /// The session's token, for [`Resume::session`] when reconnecting. Empty from servers
        /// that can not resume sessions.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        session: String,
        /// The login resumed the session named in its [`Resume`]: the messages after its `seq`
        /// follow. `false` for a new session.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resumed: bool,
    },
    /// A numbered message of the session: `{"seq":[7,{"accepted":{...}}]}`. See
    /// [Reconnecting](crate#reconnecting).
    Seq(u64, Box<ServerMsg>),
    /// The session's UserSig expires in `expires_in_secs`: renew it with
    /// [`ClientMsg::Renew`], or the server ends the session then (`SessionExpired`).
    SessionExpiring {
        /// Seconds until the session ends.
        expires_in_secs: u64,
    },
    /// The `Renew` succeeded: the session now lasts `expires_in_secs` more.
    Renewed {
        /// Seconds until the renewed session ends.
        expires_in_secs: u64,
    },
    /// The caller's `Invite` created a call. `ringing` of the callee's devices ring; 0 means the
    /// callee is offline and the call waits, for its ring timeout, for them to log in.
    CallCreated {
        /// The `req` of the `Invite` this answers.
        req: u32,
        /// The new call's ID.
        call_id: CallId,
        /// The user called.
        callee: UserId,
        /// How many of the callee's devices ring (0: offline, the invitation waits).
        #[serde(default)]
        ringing: u32,
    },
    /// To the caller: the number of the callee's devices that ring changed (one logged in or
    /// dropped during the ring timeout).
    Ringing {
        /// The caller's call.
        call_id: CallId,
        /// How many of the callee's devices ring now.
        devices: u32,
    },
    /// Someone is calling this user.
    Invited {
        /// The call that rings.
        call_id: CallId,
        /// Who is calling.
        caller: UserId,
        /// The kind of call (audio).
        call_type: CallType,
        /// How long the call rings before the server gives up, in seconds.
        timeout_secs: u32,
    },
    /// The callee accepted: the call is now active. Sent to the caller and to the callee device
    /// that accepted.
    Accepted {
        /// The accepted call.
        call_id: CallId,
    },
    /// To the callee's other devices: the call that rang there was accepted on another one.
    AnsweredElsewhere {
        /// The call that rang on this device.
        call_id: CallId,
    },
    /// Glare: this connection's `Invite` `req` crossed `caller`'s invitation to this user. The
    /// two are one call now, `call_id`, accepted, with this connection as the callee: the
    /// caller's offer follows.
    CallMerged {
        /// The `req` of this connection's `Invite`.
        req: u32,
        /// The call both invitations are now.
        call_id: CallId,
        /// The user who placed the call that stands.
        caller: UserId,
    },
    /// This user has call `call_id` with `peer` on another device. Sent to the user's devices
    /// that are not in it: when the call starts, and at login. Its `CallEnded` follows.
    CallElsewhere {
        /// The call on the other device.
        call_id: CallId,
        /// The other party of that call.
        peer: UserId,
    },
    /// Whether a watched user (see [`ClientMsg::Watch`]) has a device online.
    Presence {
        /// The watched user.
        user_id: UserId,
        /// Whether at least one of their devices is logged in.
        online: bool,
    },
    /// WebRTC negotiation from the other party of `call_id`.
    Signal {
        /// The accepted call.
        call_id: CallId,
        /// The other party's offer, answer, candidate or mute state.
        signal: Signal,
    },
    /// The call is over, for the reason given. Sent once per call to every device of both
    /// parties.
    CallEnded {
        /// The call that ended.
        call_id: CallId,
        /// How it ended.
        outcome: Outcome,
    },
    /// A request failed. `req` names the `Invite` it answers, when it answers one.
    Error {
        /// What failed.
        code: ErrorCode,
        /// A readable explanation.
        message: String,
        /// The `req` of the `Invite` this answers, when it answers one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u32>,
    },
    /// Answer to [`ClientMsg::Ping`].
    Pong,
}

/// How a call ended. Every call ends with exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The callee rejected the call.
    Rejected,
    /// The callee was already in a call or ringing for another.
    Busy,
    /// Nobody answered within the ring timeout; `offline` when no device of the callee was
    /// online at the end.
    NoAnswer {
        /// No device of the callee was online when the ring timeout ran out.
        #[serde(default)]
        offline: bool,
    },
    /// The caller withdrew the call while it rang; `disconnected` when the caller's connection
    /// dropped rather than the caller cancelling.
    Cancelled {
        /// The caller's connection dropped; the caller did not cancel.
        #[serde(default)]
        disconnected: bool,
    },
    /// An accepted call was hung up by `by` after `duration_secs` seconds.
    HungUp {
        /// The party who hung up.
        by: UserId,
        /// Seconds from the acceptance to the hang-up.
        duration_secs: u64,
    },
    /// The call could not go on: its audio did not connect in time, or a party's side broke,
    /// for example.
    Failed {
        /// What failed.
        message: String,
    },
    /// `user`'s connection was lost (a closed tab, a machine asleep, a network gone) and did not
    /// come back in time.
    ConnectionLost {
        /// The party whose connection was lost.
        user: UserId,
    },
}

impl ServerMsg {
    /// The message inside a [`ServerMsg::Seq`], with its number; any other message as it is.
    ///
    /// ```
    /// use webcall_protocol::ServerMsg;
    ///
    /// let numbered = ServerMsg::Seq(7, Box::new(ServerMsg::Pong));
    /// assert_eq!(numbered.unsequenced(), (Some(7), ServerMsg::Pong));
    /// assert_eq!(ServerMsg::Pong.unsequenced(), (None, ServerMsg::Pong));
    /// ```
    pub fn unsequenced(self) -> (Option<u64>, ServerMsg) {
        match self {
            ServerMsg::Seq(seq, msg) => (Some(seq), *msg),
            msg => (None, msg),
        }
    }
}

/// What a reconnecting client tells the server in its [`ClientMsg::Login`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resume {
    /// The session of the client's last `LoggedIn`.
    pub session: String,
    /// The last [`ServerMsg::Seq`] number the client applied (0: none).
    #[serde(default)]
    pub seq: u64,
    /// The call the client is in, for a server that no longer knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallClaim>,
}

/// A reconnecting client's account of its call, so that a server that restarted can restore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallClaim {
    /// The call's ID, as the server issued it.
    pub call_id: CallId,
    /// The other party.
    pub peer: UserId,
    /// Whether the claimant placed the call.
    pub caller: bool,
    /// Where the call stands for the claimant.
    pub phase: ClaimPhase,
}

/// Where a claimed call stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimPhase {
    /// It rings (the caller dials, the callee's device rings) for `secs_left` more seconds.
    Ringing {
        /// Seconds of the ring timeout left.
        secs_left: u32,
    },
    /// It was accepted `secs` seconds ago (the callee: it sent `Accept`), and its audio is
    /// `connected`.
    Accepted {
        /// Seconds since the call was accepted.
        secs: u64,
        /// Whether the claimant's audio path is connected.
        connected: bool,
    },
    /// The claimant left it: rejected or cancelled it while it rang (`accepted: false`), or hung
    /// up `secs` seconds after it was accepted. The claimant has not heard the call end, so its
    /// message may have been lost with the old server: the server ends the call so (or, when it
    /// does not know the call, remembers that it ended so, for the other party's claim).
    Left {
        /// Whether the call had been accepted when the claimant left it.
        accepted: bool,
        /// How long it had been accepted, in seconds (0 when it had not).
        secs: u64,
    },
}

/// Error codes carried by [`ServerMsg::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A message was not valid JSON or not a known message.
    BadMessage,
    /// A message that needs a login came before one, or a second login came.
    NotLoggedIn,
    /// The same user logged in on another connection, which replaced this one (TRTCCalling's
    /// `KICKED_OUT`; only on a server that allows one device per user). The server closes this
    /// connection right after.
    KickedOut,
    /// The user is logged in on as many devices as the server allows; the login is refused.
    TooManyDevices,
    /// The UserSig is malformed or its signature does not verify (tampered, or signed with
    /// another key).
    BadUserSig,
    /// The UserSig's validity is over.
    UserSigExpired,
    /// The UserSig was issued for another user ID.
    UserSigWrongUser,
    /// The UserSig (or the login) names another SDKAppID than this server's.
    WrongSdkAppId,
    /// The session's UserSig expired without a renewal; the server closes the connection.
    SessionExpired,
    /// Too many messages, invitations or logins in a short time; the request was dropped. Slow
    /// down and try again.
    RateLimited,
    /// A user ID is not valid.
    BadUserId,
    /// The caller tried to call themselves.
    CallSelf,
    /// The user already has a call going.
    AlreadyInCall,
    /// The call does not exist, is over, or is not this user's.
    NoSuchCall,
    /// The action does not fit the call's state (accepting an accepted call, say).
    WrongState,
    /// The feature is not supported (video calls).
    Unsupported,
    /// The server failed; try again.
    Internal,
}

// ---------------------------------------------------------------------------------------------
// Call history: the answer of the server's `GET /api/history` (not a WebSocket message).
// ---------------------------------------------------------------------------------------------

/// How many calls one page of the call history holds.
pub const HISTORY_PAGE_SIZE: u32 = 20;

/// Which way a call in a user's history went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    /// The user placed the call.
    Outgoing,
    /// The user was called.
    Incoming,
}

/// How a call in a user's history ended, as that user saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOutcome {
    /// Accepted, talked, hung up.
    Answered,
    /// The callee rejected it.
    Rejected,
    /// The callee was in another call.
    Busy,
    /// Nobody answered within the ring timeout (the caller's view).
    NoAnswer,
    /// The caller cancelled it while it rang (the caller's view).
    Cancelled,
    /// It rang here and nobody answered: timed out, cancelled by the caller, or came while busy
    /// (the callee's view).
    Missed,
    /// It could not go on (its audio did not connect, say).
    Failed,
    /// A party's connection was lost.
    ConnectionLost,
}

/// One call in a user's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The call's ID.
    pub call_id: CallId,
    /// The other party.
    pub peer: UserId,
    /// Whether the user placed the call or was called.
    pub direction: CallDirection,
    /// When the call was placed, in Unix milliseconds.
    pub started_ms: u64,
    /// Whether the callee accepted it.
    pub answered: bool,
    /// How long the parties talked, in seconds (0 when it was never answered).
    pub duration_secs: u64,
    /// How it ended, as the user saw it.
    pub outcome: HistoryOutcome,
}

/// One page of a user's call history, newest call first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The page's number: 0 holds the newest [`HISTORY_PAGE_SIZE`] calls.
    pub page: u32,
    /// The page's calls, newest first (at most [`HISTORY_PAGE_SIZE`]).
    pub entries: Vec<HistoryEntry>,
    /// Whether an older page has calls.
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_client(msg: ClientMsg) {
        let text = serde_json::to_string(&msg).unwrap();
        let back: ClientMsg = serde_json::from_str(&text).unwrap();
        assert_eq!(back, msg, "{text}");
    }

    fn round_trip_server(msg: ServerMsg) {
        let text = serde_json::to_string(&msg).unwrap();
        let back: ServerMsg = serde_json::from_str(&text).unwrap();
        assert_eq!(back, msg, "{text}");
    }

    fn ice() -> Signal {
        Signal::Ice {
            candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        }
    }

    #[test]
    fn client_messages_round_trip() {
        let call_id = "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d".to_string();
        for msg in [
            ClientMsg::Login {
                user_id: "alice".into(),
                user_sig: "sig".into(),
                sdk_app_id: 1_400_000_000,
                resume: None,
            },
            ClientMsg::Login {
                user_id: "alice".into(),
                user_sig: "sig".into(),
                sdk_app_id: 1_400_000_000,
                resume: Some(Resume {
                    session: "s".into(),
                    seq: 9,
                    call: Some(CallClaim {
                        call_id: call_id.clone(),
                        peer: "bob".into(),
                        caller: true,
                        phase: ClaimPhase::Accepted {
                            secs: 12,
                            connected: true,
                        },
                    }),
                }),
            },
            ClientMsg::Ack { seq: 3 },
            ClientMsg::Invite {
                req: 7,
                callee: "bob".into(),
                call_type: CallType::Audio,
                timeout_secs: Some(10),
            },
            ClientMsg::Invite {
                req: 8,
                callee: "bob".into(),
                call_type: CallType::Video,
                timeout_secs: None,
            },
            ClientMsg::Accept {
                call_id: call_id.clone(),
            },
            ClientMsg::Reject {
                call_id: call_id.clone(),
            },
            ClientMsg::Cancel {
                call_id: call_id.clone(),
            },
            ClientMsg::Hangup {
                call_id: call_id.clone(),
                failure: None,
            },
            ClientMsg::Hangup {
                call_id: call_id.clone(),
                failure: Some("the audio connection failed".into()),
            },
            ClientMsg::MediaConnected {
                call_id: call_id.clone(),
            },
            ClientMsg::Watch {
                users: vec!["bob".into(), "carol".into()],
            },
            ClientMsg::Watch { users: vec![] },
            ClientMsg::Signal {
                call_id: call_id.clone(),
                signal: Signal::Offer { sdp: "v=0".into() },
            },
            ClientMsg::Signal {
                call_id,
                signal: ice(),
            },
            ClientMsg::Ping,
            ClientMsg::Renew {
                user_sig: "sig".into(),
            },
        ] {
            round_trip_client(msg);
        }
    }

    #[test]
    fn server_messages_round_trip() {
        let call_id = "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d".to_string();
        let outcomes = [
            Outcome::Rejected,
            Outcome::Busy,
            Outcome::NoAnswer { offline: false },
            Outcome::NoAnswer { offline: true },
            Outcome::Cancelled {
                disconnected: false,
            },
            Outcome::Cancelled { disconnected: true },
            Outcome::HungUp {
                by: "bob".into(),
                duration_secs: 61,
            },
            Outcome::Failed {
                message: "the audio did not connect".into(),
            },
            Outcome::ConnectionLost { user: "bob".into() },
        ];
        let mut msgs = vec![
            ServerMsg::LoggedIn {
                user_id: "alice".into(),
                ice_servers: vec![IceServer {
                    urls: vec!["turn:127.0.0.1:3478".into()],
                    username: Some("1700000000:alice".into()),
                    credential: Some("c2VjcmV0".into()),
                }],
                expires_in_secs: 3600,
                relay_only: true,
                session: "7f1f2a3b".into(),
                resumed: true,
            },
            ServerMsg::Seq(
                4,
                Box::new(ServerMsg::Accepted {
                    call_id: call_id.clone(),
                }),
            ),
            ServerMsg::SessionExpiring {
                expires_in_secs: 300,
            },
            ServerMsg::Renewed {
                expires_in_secs: 86_400,
            },
            ServerMsg::CallCreated {
                req: 1,
                call_id: call_id.clone(),
                callee: "bob".into(),
                ringing: 2,
            },
            ServerMsg::Ringing {
                call_id: call_id.clone(),
                devices: 0,
            },
            ServerMsg::AnsweredElsewhere {
                call_id: call_id.clone(),
            },
            ServerMsg::CallMerged {
                req: 4,
                call_id: call_id.clone(),
                caller: "bob".into(),
            },
            ServerMsg::CallElsewhere {
                call_id: call_id.clone(),
                peer: "bob".into(),
            },
            ServerMsg::Presence {
                user_id: "bob".into(),
                online: true,
            },
            ServerMsg::Invited {
                call_id: call_id.clone(),
                caller: "alice".into(),
                call_type: CallType::Audio,
                timeout_secs: 30,
            },
            ServerMsg::Accepted {
                call_id: call_id.clone(),
            },
            ServerMsg::Signal {
                call_id: call_id.clone(),
                signal: Signal::Answer { sdp: "v=0".into() },
            },
            ServerMsg::Error {
                code: ErrorCode::CallSelf,
                message: "you cannot call yourself".into(),
                req: Some(3),
            },
            ServerMsg::Error {
                code: ErrorCode::BadMessage,
                message: "not JSON".into(),
                req: None,
            },
            ServerMsg::Pong,
        ];
        msgs.extend(outcomes.into_iter().map(|outcome| ServerMsg::CallEnded {
            call_id: call_id.clone(),
            outcome,
        }));
        for msg in msgs {
            round_trip_server(msg);
        }
    }

    #[test]
    fn wire_format_is_externally_tagged_snake_case() {
        let text = serde_json::to_string(&ClientMsg::Accept {
            call_id: "x".into(),
        })
        .unwrap();
        assert_eq!(text, r#"{"accept":{"call_id":"x"}}"#);
        assert_eq!(
            serde_json::to_string(&ClientMsg::Ping).unwrap(),
            r#""ping""#
        );
        let text = serde_json::to_string(&ServerMsg::CallEnded {
            call_id: "x".into(),
            outcome: Outcome::HungUp {
                by: "a".into(),
                duration_secs: 3,
            },
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"call_ended":{"call_id":"x","outcome":{"hung_up":{"by":"a","duration_secs":3}}}}"#
        );
    }

    #[test]
    fn invite_defaults_to_audio_and_server_timeout() {
        let msg: ClientMsg =
            serde_json::from_str(r#"{"invite":{"req":1,"callee":"bob"}}"#).unwrap();
        assert_eq!(
            msg,
            ClientMsg::Invite {
                req: 1,
                callee: "bob".into(),
                call_type: CallType::Audio,
                timeout_secs: None
            }
        );
    }

    #[test]
    fn outcomes_without_details_read_as_the_plain_case() {
        let msg: ServerMsg =
            serde_json::from_str(r#"{"call_ended":{"call_id":"x","outcome":{"no_answer":{}}}}"#)
                .unwrap();
        assert_eq!(
            msg,
            ServerMsg::CallEnded {
                call_id: "x".into(),
                outcome: Outcome::NoAnswer { offline: false }
            }
        );
        let msg: ClientMsg = serde_json::from_str(r#"{"hangup":{"call_id":"x"}}"#).unwrap();
        assert_eq!(
            msg,
            ClientMsg::Hangup {
                call_id: "x".into(),
                failure: None
            }
        );
    }

    #[test]
    fn logged_in_from_an_older_server_is_not_relay_only() {
        let msg: ServerMsg = serde_json::from_str(r#"{"logged_in":{"user_id":"alice"}}"#).unwrap();
        assert_eq!(
            msg,
            ServerMsg::LoggedIn {
                user_id: "alice".into(),
                ice_servers: Vec::new(),
                expires_in_secs: 0,
                relay_only: false,
                session: String::new(),
                resumed: false,
            }
        );
    }

    #[test]
    fn sequenced_messages_are_a_number_and_a_message() {
        let msg = ServerMsg::Seq(7, Box::new(ServerMsg::Pong));
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"seq":[7,"pong"]}"#
        );
        assert_eq!(msg.unsequenced(), (Some(7), ServerMsg::Pong));
        assert_eq!(ServerMsg::Pong.unsequenced(), (None, ServerMsg::Pong));
    }

    #[test]
    fn unknown_and_malformed_messages_are_errors() {
        assert!(serde_json::from_str::<ClientMsg>(r#"{"nuke":{}}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#"{"accept":{}}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#"{"accept":{"call_id":5}}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"accept","call_id":"x"}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#""nuke""#).is_err());
        assert!(serde_json::from_str::<ClientMsg>("not json").is_err());
    }

    #[test]
    fn user_ids_are_validated() {
        assert_eq!(validate_user_id("alice_01-B"), Ok(()));
        assert_eq!(validate_user_id(&"a".repeat(32)), Ok(()));
        assert_eq!(validate_user_id(""), Err(UserIdError::Empty));
        assert_eq!(validate_user_id(&"a".repeat(33)), Err(UserIdError::TooLong));
        assert_eq!(validate_user_id("al ice"), Err(UserIdError::BadCharacter));
        assert_eq!(validate_user_id("ålice"), Err(UserIdError::BadCharacter));
        assert_eq!(validate_user_id("a/b"), Err(UserIdError::BadCharacter));
    }
}
