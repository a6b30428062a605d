//! What goes into the call state machine and what comes out of it.

use webcall_protocol::{CallType, ClientMsg, IceServer, ServerMsg, Signal, UserId};

use super::quality::StatsSample;
use crate::{CallEvent, IceServerError, MediaError};

/// The WebSocket close code of a connection that dropped without a close frame, or a socket
/// that never opened (RFC 6455's 1006).
pub const CLOSE_ABNORMAL: u16 = 1006;

/// Milliseconds on a monotonic clock chosen by the caller (`performance.now()` in the browser, a
/// counter in tests). The machine only compares and adds them.
pub type Millis = u64;

/// Something that happened: a user intent, a message, a media result or a timer.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The app wants to log in.
    Login {
        /// The user to log in as.
        user_id: UserId,
        /// The user's UserSig.
        user_sig: String,
    },
    /// The app wants to log out.
    Logout,
    /// The app wants to call `callee`.
    Call {
        /// The user to call.
        callee: UserId,
        /// Audio (video is refused: [`ClientError::Unsupported`](crate::ClientError::Unsupported)).
        call_type: CallType,
        /// The ring timeout in seconds; `None`: the server's.
        timeout_secs: Option<u32>,
    },
    /// The app accepts the ringing call.
    Accept,
    /// The app rejects the ringing call.
    Reject,
    /// The app ends the call: cancels it while dialling, hangs up when in it.
    Hangup,
    /// The app mutes or unmutes the microphone.
    SetMicMute(bool),
    /// The app wants to know whether these users are online (at most
    /// [`MAX_WATCHED`](webcall_protocol::MAX_WATCHED), replacing the list before; empty stops
    /// watching). Kept across logins.
    WatchPresence(Vec<UserId>),
    /// The app renews the session with a fresh UserSig for the same user (after
    /// [`CallEvent::SessionExpiring`]).
    Renew {
        /// The fresh UserSig.
        user_sig: String,
    },
    /// The signaling socket opened.
    SocketOpened,
    /// The signaling socket closed or failed; `code` is the WebSocket close code
    /// ([`CLOSE_ABNORMAL`] when the connection dropped without a close frame or never opened).
    /// Codes 1000, 1008 and 1009 from the server end the session; any other loss of a
    /// logged-in socket starts a reconnection.
    SocketClosed {
        /// The close reason, or what failed.
        reason: String,
        /// The WebSocket close code.
        code: u16,
    },
    /// A message from the server.
    Server(ServerMsg),
    /// A result from the media layer.
    Media(MediaEvent),
    /// A timer armed with [`Output::SetTimer`] fired.
    Timer(Timer),
}

/// Something the shell must do, or tell the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open the signaling socket.
    OpenSocket,
    /// Close the signaling socket: the session is over.
    CloseSocket,
    /// Close the signaling socket as one given up for a new one, with close code
    /// [`CLOSE_RECONNECTING`](webcall_protocol::CLOSE_RECONNECTING): the server keeps the session
    /// for the resume that follows, as if the connection had just dropped.
    AbandonSocket,
    /// Send a message on the signaling socket.
    Send(ClientMsg),
    /// Act on the microphone or the peer connection.
    Media(MediaCommand),
    /// Fire [`Input::Timer`] at `at` (replacing an armed timer of the same kind).
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// When it fires, on the machine's clock.
        at: Millis,
    },
    /// Disarm a timer.
    CancelTimer(Timer),
    /// Tell the app.
    Event(CallEvent),
}

/// The machine's timers; at most one of each kind is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The login has not been answered in time.
    LoginDeadline,
    /// Time to send a keep-alive ping, acknowledge what arrived, and check that the server
    /// still answers.
    Heartbeat,
    /// Time for the next attempt to reconnect after the connection was lost.
    Reconnect,
    /// Time for the caller to restart ICE on an interrupted audio path.
    IceRestart,
    /// The interrupted audio path had its time to come back.
    MediaLost,
    /// Time to sample the call's statistics (see `quality`).
    Stats,
}

/// A call-progress tone the shell plays (synthesized; see [`MediaCommand::Tone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// The caller hears that the callee's devices ring.
    Ringback,
    /// A call rings here.
    Ringtone,
}

/// A command to the media layer (microphone + `RTCPeerConnection` + remote audio playback).
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Open the microphone (`getUserMedia({audio: true})`); answer with
    /// [`MediaEvent::MicReady`] or [`MediaEvent::MicFailed`].
    StartMic,
    /// Create the peer connection, with the microphone's track if the microphone is open
    /// already (it is when a caller's invitation was merged into the callee's call, glare).
    /// With `offer`, create an SDP offer at once and report it as
    /// [`MediaEvent::LocalSignal`]; without, wait for the remote offer and answer it (sending
    /// audio once [`MediaCommand::AttachMic`] comes). Report every local ICE candidate as
    /// [`MediaEvent::LocalSignal`] too, the end of gathering as
    /// [`MediaEvent::GatheringComplete`] and every STUN/TURN server failure as
    /// [`MediaEvent::IceServerFailed`]. With `relay_only`, use only relayed (TURN) candidates
    /// (`iceTransportPolicy: "relay"`).
    CreatePeer {
        /// The STUN and TURN servers (`iceServers`).
        ice_servers: Vec<IceServer>,
        /// Whether only relayed candidates may be used (`iceTransportPolicy: "relay"`).
        relay_only: bool,
        /// Whether this side offers (the caller) or answers (the callee).
        offer: bool,
    },
    /// The microphone opened after the peer connection was created: send its track on the
    /// connection's audio sender, without renegotiating.
    AttachMic,
    /// Restart ICE on the call's peer connection: take `ice_servers` and `relay_only` (fresh
    /// TURN credentials), create an offer with new ICE credentials (`iceRestart`) and report
    /// it as [`MediaEvent::LocalSignal`], with the new local candidates.
    RestartIce {
        /// The STUN and TURN servers, with fresh credentials.
        ice_servers: Vec<IceServer>,
        /// Whether only relayed candidates may be used.
        relay_only: bool,
    },
    /// Apply a signal from the other party: set a remote offer (and answer it), set a remote
    /// answer, or add a remote ICE candidate (held until the remote description is set).
    ApplySignal(Signal),
    /// Mute (`true`) or unmute the microphone track.
    SetMicMuted(bool),
    /// Close the peer connection, stop the microphone, stop remote playback.
    Close,
    /// Read the peer connection's statistics; answer with [`MediaEvent::Stats`].
    SampleStats,
    /// Play `Some` tone (replacing the one playing), or stop it (`None`).
    Tone(Option<Tone>),
}

/// A result from the media layer.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// The microphone is open.
    MicReady,
    /// The microphone could not be opened.
    MicFailed(MediaError),
    /// A local offer, answer or ICE candidate to send to the other party.
    LocalSignal(Signal),
    /// The audio path connected (`connectionState` "connected").
    Connected,
    /// The audio path stopped carrying packets (`connectionState` "disconnected"); it may
    /// come back by itself ([`MediaEvent::Connected`] again).
    Disconnected,
    /// The audio path failed (`connectionState` "failed").
    Failed,
    /// The call's verification code, computed once the audio path connected from the local
    /// and the remote DTLS fingerprint (see [`crate::verification`]).
    VerificationCode(String),
    /// Negotiation failed (an SDP the browser refused, say).
    Error(String),
    /// A STUN or TURN server failed for the peer connection (`icecandidateerror`).
    IceServerFailed(IceServerError),
    /// The peer connection has gathered all its local ICE candidates (the `icecandidate`
    /// event without a candidate).
    GatheringComplete,
    /// The statistics asked for with [`MediaCommand::SampleStats`].
    Stats(StatsSample),
}
