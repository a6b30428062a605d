//! The calling service's brain: a pure state machine, sans-IO.
//!
//! Time and events go in ([`Input`], with the current time in [`Millis`]); messages to send,
//! media commands, timers and events for the app come out ([`Output`]). It touches no socket, no
//! browser API and no clock, so native tests drive two of them against each other through a
//! fake server faster than real time, and the wasm shell ([`crate::WebCall`]) stays a thin
//! executor of its outputs.
//!
//! The server decides every outcome; the machine asks and follows. Local actions (cancel,
//! reject, hang up) take effect locally at once, so the app never waits on the network to
//! return to an idle state.
//!
//! Besides its own call the machine keeps track of:
//!
//! - **the user's call on another device** (`AnsweredElsewhere`, `CallElsewhere`): shown as
//!   [`CallState::Elsewhere`]; no call can be placed here until its `CallEnded`;
//! - **an invitation that crossed the user's own outgoing call** (glare): an `Invited` that
//!   arrives while the microphone opens or the `Invite` is on its way is held. The server
//!   either merges the two calls (`CallMerged`: this side becomes the callee of an accepted
//!   call) or refuses the `Invite`, and then the held invitation rings here;
//! - **presence**: the IDs the app watches, sent with every login, and what the server said
//!   about each on this connection;
//! - **the connection**: a lost one is restored without ending the session or the call (see
//!   `reconnect`); the server's numbered messages are applied once each and acknowledged.
//!
//! The machine's code is split by where an input comes from; every file adds an `impl Machine`
//! block:
//!
//! - this file: the state, [`Machine::handle`] (which dispatches every [`Input`]), the accessors
//!   for the app and the moves all the others share (leaving a call, ringing a held invitation,
//!   queueing outputs);
//! - `intents`: what the app asks for (log in, call, accept, hang up, mute, watch presence);
//! - `session`: the socket, the login on it, its timers and its end;
//! - `reconnect`: restoring a lost connection (and `backoff`, the wait between attempts;
//!   `claim`, the call as this side tells it when it logs in again);
//! - `server`: every message from the server (and `sequence`, their numbering and
//!   acknowledgement);
//! - `media`: what the microphone and the peer connection report;
//! - `ice`: the STUN/TURN servers and policy of the peer connection, and their failures;
//! - `io`: the types that go in and come out; `presence`: the presence watch list.
//!
//! # A call, from the outside
//!
//! The machine runs anywhere, without a browser or a server: feed it inputs, read its outputs.
//! Here alice logs in and calls bob, and the server's answers are fed in by hand, as the shell
//! ([`WebCall`](crate::WebCall)) would pass them on from the WebSocket:
//!
//! ```
//! use webcall_client::machine::{Input, Machine, MediaCommand, MediaEvent, Output};
//! use webcall_client::{CallEvent, CallState, CallType};
//! use webcall_protocol::{ClientMsg, Outcome, ServerMsg};
//!
//! /// Everything the machine asks for, in order.
//! fn outputs(machine: &mut Machine) -> Vec<Output> {
//!     std::iter::from_fn(|| machine.poll_output()).collect()
//! }
//!
//! let mut alice = Machine::new(1_400_000_000);
//!
//! // Log in: the shell opens the socket, and the login goes out once it is open.
//! let login = Input::Login {
//!     user_id: "alice".into(),
//!     user_sig: "<UserSig>".into(),
//! };
//! alice.handle(0, login)?;
//! assert!(outputs(&mut alice).contains(&Output::OpenSocket));
//! alice.handle(20, Input::SocketOpened)?;
//! assert!(outputs(&mut alice).iter().any(|out| matches!(
//!     out,
//!     Output::Send(ClientMsg::Login { user_id, sdk_app_id: 1_400_000_000, .. })
//!         if user_id == "alice"
//! )));
//! let logged_in = ServerMsg::LoggedIn {
//!     user_id: "alice".into(),
//!     ice_servers: vec![],
//!     expires_in_secs: 86_400,
//!     relay_only: false,
//!     session: "s-1".into(),
//!     resumed: false,
//! };
//! alice.handle(40, Input::Server(logged_in))?;
//! let event = CallEvent::LoggedIn {
//!     user_id: "alice".into(),
//! };
//! assert!(outputs(&mut alice).contains(&Output::Event(event)));
//!
//! // Call bob: the invitation goes out at once, and the microphone opens meanwhile.
//! let call = Input::Call {
//!     callee: "bob".into(),
//!     call_type: CallType::Audio,
//!     timeout_secs: None,
//! };
//! alice.handle(1_000, call)?;
//! let out = outputs(&mut alice);
//! assert!(out.contains(&Output::Media(MediaCommand::StartMic)));
//! let req = out
//!     .into_iter()
//!     .find_map(|out| match out {
//!         Output::Send(ClientMsg::Invite { req, .. }) => Some(req),
//!         _ => None,
//!     })
//!     .expect("an invitation");
//! let dialing = CallState::Dialing {
//!     callee: "bob".into(),
//!     ringing: None,
//! };
//! assert_eq!(alice.call_state(), dialing);
//! alice.handle(1_100, Input::Media(MediaEvent::MicReady))?;
//!
//! // The server created the call; it rings on one of bob's devices.
//! let call_id = "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d".to_string();
//! let created = ServerMsg::CallCreated {
//!     req,
//!     call_id: call_id.clone(),
//!     callee: "bob".into(),
//!     ringing: 1,
//! };
//! alice.handle(1_200, Input::Server(created))?;
//! let ringing = CallEvent::Ringing {
//!     callee: "bob".into(),
//!     devices: 1,
//! };
//! assert!(outputs(&mut alice).contains(&Output::Event(ringing)));
//!
//! // Bob accepts (the server numbers what it sends a session).
//! let accepted = ServerMsg::Accepted {
//!     call_id: call_id.clone(),
//! };
//! alice.handle(5_000, Input::Server(ServerMsg::Seq(1, Box::new(accepted))))?;
//! let accept = CallEvent::UserAccept {
//!     user_id: "bob".into(),
//! };
//! assert!(outputs(&mut alice).contains(&Output::Event(accept)));
//! assert!(matches!(alice.call_state(), CallState::InCall { since_ms: 5_000, .. }));
//!
//! // Bob hangs up a minute later.
//! let ended = ServerMsg::CallEnded {
//!     call_id: call_id.clone(),
//!     outcome: Outcome::HungUp {
//!         by: "bob".into(),
//!         duration_secs: 60,
//!     },
//! };
//! alice.handle(65_000, Input::Server(ServerMsg::Seq(2, Box::new(ended))))?;
//! let out = outputs(&mut alice);
//! let leave = CallEvent::UserLeave {
//!     user_id: "bob".into(),
//! };
//! assert!(out.contains(&Output::Event(leave)));
//! assert!(out.contains(&Output::Event(CallEvent::CallEnd {
//!     call_id,
//!     duration_secs: 60,
//!     ended_by: Some("bob".into()),
//!     failure: None,
//! })));
//! assert!(out.contains(&Output::Media(MediaCommand::Close)));
//! assert_eq!(alice.call_state(), CallState::Idle);
//! # Ok::<(), webcall_client::ClientError>(())
//! ```

mod backoff;
mod claim;
mod ice;
mod intents;
mod io;
mod media;
mod presence;
mod quality;
mod reconnect;
mod recovery;
mod sequence;
mod server;
mod session;
mod tone;

use std::collections::VecDeque;

use webcall_protocol::{CallId, CallType, ClientMsg, IceServer, UserId};

pub use backoff::MAX_BACKOFF_MS;
pub use io::{Input, MediaCommand, MediaEvent, Millis, Output, Timer, Tone, CLOSE_ABNORMAL};
pub use quality::{StatsSample, QUALITY_EVERY_MS, STATS_EVERY_MS};
pub use reconnect::OUTBOX_LEN;
pub use recovery::{ICE_RESTART_AFTER_MS, ICE_RESTART_RETRY_MS, MEDIA_LOST_AFTER_MS};
pub use sequence::ACK_AFTER;
pub use server::server_error_code;

use crate::{CallEvent, CallState, ClientError, NoRespReason};
use backoff::Rng;
use ice::IceWatch;
use presence::Presence;
use reconnect::{Link, Outbox};
use sequence::Sequence;

/// How long a login may take before it is given up.
pub const LOGIN_TIMEOUT_MS: Millis = 10_000;

/// How often a logged-in client pings the server (and acknowledges what it applied).
pub const HEARTBEAT_INTERVAL_MS: Millis = 3_000;

/// A connection on which nothing arrived from the server for this long (not even the `Pong`s
/// of four pings) is dead: the heartbeat tick that finds it so closes it and reconnects, so a
/// dead connection is noticed at most `DEAD_AFTER_MS + HEARTBEAT_INTERVAL_MS` after the last
/// message.
pub const DEAD_AFTER_MS: Millis = 12_000;

/// The connection to the server and who is logged in on it.
#[derive(Debug, Clone, PartialEq)]
enum Session {
    LoggedOut,
    /// The socket is opening.
    Connecting {
        user_id: UserId,
    },
    /// `Login` is sent, the answer not yet in.
    Authenticating {
        user_id: UserId,
    },
    LoggedIn {
        user_id: UserId,
        ice_servers: Vec<IceServer>,
        /// Peer connections may only use relayed (TURN) candidates.
        relay_only: bool,
        /// Whether the connection is up, or being restored.
        link: Link,
    },
}

/// The one call this user can have at a time on this device.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Idle,
    /// Caller: `Invite` is sent, the call's ID not yet known. The microphone opens meanwhile,
    /// so `getUserMedia` does not delay the ringing.
    Inviting {
        req: u32,
        callee: UserId,
        timeout_secs: Option<u32>,
        /// Whether the microphone is open: the peer connection, which offers it, is created
        /// once the call exists and the microphone is open, whichever comes last.
        mic_ready: bool,
    },
    /// Caller: the call exists; `ringing` of the callee's devices ring, until `rings_until`.
    /// Its peer connection exists once the microphone is open.
    Dialing {
        call_id: CallId,
        callee: UserId,
        ringing: u32,
        rings_until: Millis,
    },
    /// Callee: ringing here, until `rings_until`.
    Incoming {
        call_id: CallId,
        caller: UserId,
        rings_until: Millis,
    },
    /// Callee: `Accept` is sent, the server's answer not yet in. The microphone opens and the
    /// peer connection negotiates meanwhile, so audio from the caller flows as early as it can.
    Accepting {
        call_id: CallId,
        caller: UserId,
    },
    /// Both: the call is accepted.
    Active {
        call_id: CallId,
        peer: UserId,
        /// Whether this side placed the call.
        caller: bool,
        since: Millis,
        /// Whether the audio path has connected (and so reported to the server).
        connected: bool,
        /// Since when the connected path is down, while it is being restored (see
        /// `recovery`).
        interrupted: Option<Millis>,
        muted: bool,
        /// Whether the other party said its microphone is muted.
        peer_muted: bool,
        /// The verification code, once the shell has computed it.
        verification_code: Option<String>,
    },
}

impl Call {
    /// A call with `peer` accepted at `since`, its audio not connected yet; `caller` when this
    /// side placed it.
    fn active(call_id: CallId, peer: UserId, caller: bool, since: Millis) -> Call {
        Call::Active {
            call_id,
            peer,
            caller,
            since,
            connected: false,
            interrupted: None,
            muted: false,
            peer_muted: false,
            verification_code: None,
        }
    }

    /// The call's ID, once the server has issued it.
    fn id(&self) -> Option<&str> {
        match self {
            Call::Idle | Call::Inviting { .. } => None,
            Call::Dialing { call_id, .. }
            | Call::Incoming { call_id, .. }
            | Call::Accepting { call_id, .. }
            | Call::Active { call_id, .. } => Some(call_id),
        }
    }

    /// Whether the microphone or the peer connection may be open.
    fn has_media(&self) -> bool {
        !matches!(self, Call::Idle | Call::Incoming { .. })
    }
}

/// An invitation that arrived while this user's own invitation was on its way (glare).
#[derive(Debug, Clone, PartialEq)]
struct Invitation {
    call_id: CallId,
    caller: UserId,
    call_type: CallType,
    timeout_secs: u32,
    /// When it stops ringing: `timeout_secs` after it arrived.
    rings_until: Millis,
}

/// This user's call on another device.
#[derive(Debug, Clone, PartialEq)]
struct Elsewhere {
    call_id: CallId,
    peer: UserId,
}

/// The calling state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Machine {
    sdk_app_id: u32,
    session: Session,
    call: Call,
    /// The next `Invite` request number.
    next_req: u32,
    /// An `Invite` the user cancelled before the server answered it: undo what the answer
    /// creates (cancel a created call, hang up a merged one), stay quiet about a refusal.
    cancelled_req: Option<u32>,
    /// An invitation held while `call` is `Inviting` (never otherwise).
    pending: Option<Invitation>,
    /// The user's call on another device, as the server last said.
    elsewhere: Option<Elsewhere>,
    presence: Presence,
    /// What the current peer connection reported about its STUN/TURN servers.
    ice: IceWatch,
    /// The UserSig to log in again with: the login's, or the latest confirmed renewal's.
    user_sig: String,
    /// The UserSig of the last `Renew`, until the server confirms it.
    renewing: Option<String>,
    /// The session of the last `LoggedIn`, to resume after a lost connection.
    session_token: String,
    /// The numbering of the session's messages.
    sequence: Sequence,
    /// When something last arrived from the server.
    last_heard: Millis,
    /// What waits for the server while the connection is being restored.
    outbox: Outbox,
    /// Jitter for the reconnection backoff.
    rng: Rng,
    /// The last call this side left (cancelled, rejected, hung up) until the server confirms
    /// its end (see `claim`).
    left: Option<Left>,
    /// The call most recently left, for `left` when the message that leaves it goes out.
    leaving: Option<Left>,
    /// The claim of the reconnecting login under way, until its answer.
    claimed: Option<webcall_protocol::CallClaim>,
    /// The tone playing (see `tone`).
    tone: Option<Tone>,
    /// The statistics of the accepted call (see `quality`).
    stats: Option<quality::Sampling>,
    /// The time of the input being handled.
    now: Millis,
    outputs: VecDeque<Output>,
}

/// A call this side left, and the message that left it, until the server confirms its end: a
/// message lost with a dying server is claimed after the reconnection, so that the call still
/// ends the way the user ended it.
#[derive(Debug, Clone, PartialEq)]
struct Left {
    call_id: CallId,
    peer: UserId,
    caller: bool,
    /// How long the call had been accepted when left, in seconds; `None` while it rang.
    accepted_secs: Option<u64>,
    /// The `Cancel`, `Reject` or `Hangup` that left it.
    msg: Option<ClientMsg>,
}

impl Left {
    /// `call` as left at `now`, when it is one the server issued.
    fn of(call: &Call, now: Millis) -> Option<Left> {
        let (call_id, peer, caller, since) = match call {
            Call::Idle | Call::Inviting { .. } => return None,
            Call::Dialing {
                call_id, callee, ..
            } => (call_id, callee, true, None),
            Call::Incoming {
                call_id, caller, ..
            } => (call_id, caller, false, None),
            Call::Accepting {
                call_id, caller, ..
            } => (call_id, caller, false, Some(now)),
            Call::Active {
                call_id,
                peer,
                caller,
                since,
                ..
            } => (call_id, peer, *caller, Some(*since)),
        };
        Some(Left {
            call_id: call_id.clone(),
            peer: peer.clone(),
            caller,
            accepted_secs: since.map(|since| now.saturating_sub(since) / 1000),
            msg: None,
        })
    }
}

impl Machine {
    /// A logged-out machine for the app `sdk_app_id`.
    pub fn new(sdk_app_id: u32) -> Self {
        Machine {
            sdk_app_id,
            session: Session::LoggedOut,
            call: Call::Idle,
            next_req: 1,
            cancelled_req: None,
            pending: None,
            elsewhere: None,
            presence: Presence::default(),
            ice: IceWatch::default(),
            user_sig: String::new(),
            renewing: None,
            session_token: String::new(),
            sequence: Sequence::default(),
            last_heard: 0,
            outbox: Outbox::default(),
            rng: Rng::default(),
            left: None,
            leaving: None,
            claimed: None,
            tone: None,
            stats: None,
            now: 0,
            outputs: VecDeque::new(),
        }
    }

    /// Seeds the generator of the reconnection backoff's jitter, so that clients that lost the
    /// server together come back apart. Unseeded, every machine draws the same sequence.
    pub fn seed_rng(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// The next thing for the shell to do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The logged-in user, once the server confirmed the login (also while reconnecting).
    pub fn user_id(&self) -> Option<&str> {
        match &self.session {
            Session::LoggedIn { user_id, .. } => Some(user_id),
            _ => None,
        }
    }

    /// Whether watched user `user` is online, as the server said on this connection: `None`
    /// when it has not said yet, the user is not watched, or nobody is logged in.
    pub fn presence(&self, user: &str) -> Option<bool> {
        self.presence.get(user)
    }

    /// Where the call stands, for the app.
    pub fn call_state(&self) -> CallState {
        match &self.call {
            Call::Idle => match &self.elsewhere {
                Some(Elsewhere { call_id, peer }) => CallState::Elsewhere {
                    peer: peer.clone(),
                    call_id: call_id.clone(),
                },
                None => CallState::Idle,
            },
            Call::Inviting { callee, .. } => CallState::Dialing {
                callee: callee.clone(),
                ringing: None,
            },
            Call::Dialing {
                callee, ringing, ..
            } => CallState::Dialing {
                callee: callee.clone(),
                ringing: Some(*ringing),
            },
            Call::Incoming {
                call_id, caller, ..
            } => CallState::Incoming {
                caller: caller.clone(),
                call_id: call_id.clone(),
            },
            Call::Accepting { call_id, caller } => CallState::Connecting {
                peer: caller.clone(),
                call_id: call_id.clone(),
            },
            Call::Active {
                call_id,
                peer,
                since,
                connected,
                interrupted,
                muted,
                peer_muted,
                verification_code,
                ..
            } => CallState::InCall {
                peer: peer.clone(),
                call_id: call_id.clone(),
                since_ms: *since,
                connected: *connected,
                interrupted: interrupted.is_some(),
                muted: *muted,
                peer_muted: *peer_muted,
                verification_code: verification_code.clone(),
            },
        }
    }

    /// Feeds one input in at time `now`. User intents that can not be carried out return an
    /// error and change nothing.
    pub fn handle(&mut self, now: Millis, input: Input) -> Result<(), ClientError> {
        self.now = now;
        let result = self.dispatch(now, input);
        self.settle_tone();
        self.settle_stats(now);
        result
    }

    fn dispatch(&mut self, now: Millis, input: Input) -> Result<(), ClientError> {
        match input {
            Input::Login { user_id, user_sig } => self.login(now, user_id, user_sig),
            Input::Logout => self.logout(now),
            Input::Call {
                callee,
                call_type,
                timeout_secs,
            } => self.call(callee, call_type, timeout_secs),
            Input::Accept => self.accept(),
            Input::Reject => self.reject(),
            Input::Hangup => self.hangup(now),
            Input::SetMicMute(muted) => self.set_mic_mute(muted),
            Input::WatchPresence(users) => self.watch_presence(users),
            Input::Renew { user_sig } => self.renew(user_sig),
            Input::SocketOpened => {
                self.socket_opened(now);
                Ok(())
            }
            Input::SocketClosed { reason, code } => {
                self.socket_closed(now, reason, code);
                Ok(())
            }
            Input::Server(msg) => {
                self.server_message(now, msg);
                Ok(())
            }
            Input::Media(event) => {
                self.media_event(now, event);
                Ok(())
            }
            Input::Timer(timer) => {
                self.timer(now, timer);
                Ok(())
            }
        }
    }

    // ----- shared by the handlers ---------------------------------------------------------

    /// Leaves whatever call there is because it can not go on, telling the server and the app.
    fn end_call_failed(&mut self, now: Millis, why: &str) {
        let call = self.take_call();
        if call.has_media() {
            self.out(Output::Media(MediaCommand::Close));
        }
        match call {
            Call::Idle => {}
            Call::Inviting { req, callee, .. } => {
                self.abandon_invite(req, &callee);
                self.event(CallEvent::NoResp {
                    user_id: callee,
                    reason: NoRespReason::Unreachable(why.into()),
                });
            }
            Call::Dialing {
                call_id, callee, ..
            } => {
                self.send(ClientMsg::Cancel { call_id });
                self.event(CallEvent::NoResp {
                    user_id: callee,
                    reason: NoRespReason::Unreachable(why.into()),
                });
            }
            Call::Incoming {
                call_id, caller, ..
            } => {
                self.send(ClientMsg::Reject {
                    call_id: call_id.clone(),
                });
                self.event(CallEvent::CallingCancel {
                    sponsor: caller,
                    call_id,
                    caller_disconnected: false,
                });
            }
            Call::Accepting { call_id, .. } => {
                // The server may have accepted already; a hang-up covers both cases.
                self.send(ClientMsg::Hangup {
                    call_id: call_id.clone(),
                    failure: Some(why.into()),
                });
                self.event(CallEvent::CallEnd {
                    call_id,
                    duration_secs: 0,
                    ended_by: None,
                    failure: Some(why.into()),
                });
            }
            Call::Active { call_id, since, .. } => {
                self.send(ClientMsg::Hangup {
                    call_id: call_id.clone(),
                    failure: Some(why.into()),
                });
                self.event(CallEvent::CallEnd {
                    call_id,
                    duration_secs: now.saturating_sub(since) / 1000,
                    ended_by: None,
                    failure: Some(why.into()),
                });
            }
        }
        self.ring_pending();
    }

    /// Gives up an `Invite` the server has not answered yet. An invitation from the callee that
    /// crossed it goes too: the server merges the two, and the merged call is hung up on
    /// arrival.
    fn abandon_invite(&mut self, req: u32, callee: &str) {
        self.cancelled_req = Some(req);
        if self.pending.as_ref().is_some_and(|p| p.caller == callee) {
            self.pending = None;
        }
    }

    /// Rings the invitation held while this user's own invitation was on its way, now that
    /// that one is over. Drops it when nobody is logged in.
    fn ring_pending(&mut self) {
        let Some(invitation) = self.pending.take() else {
            return;
        };
        if self.call == Call::Idle && self.user_id().is_some() {
            self.ring(invitation);
        }
    }

    fn ring(&mut self, invitation: Invitation) {
        let Invitation {
            call_id,
            caller,
            call_type,
            timeout_secs,
            rings_until,
        } = invitation;
        self.call = Call::Incoming {
            call_id: call_id.clone(),
            caller: caller.clone(),
            rings_until,
        };
        self.event(CallEvent::Invited {
            sponsor: caller,
            call_id,
            call_type,
            timeout_secs,
        });
    }

    /// Leaves the call: returns it and leaves none; an interrupted one's recovery timers stop.
    fn take_call(&mut self) -> Call {
        let call = std::mem::replace(&mut self.call, Call::Idle);
        self.leaving = Left::of(&call, self.now);
        if matches!(
            call,
            Call::Active {
                interrupted: Some(_),
                ..
            }
        ) {
            self.stop_recovery();
        }
        call
    }

    /// Back to no call, closing any media.
    fn go_idle(&mut self) {
        let call = self.take_call();
        if call.has_media() {
            self.out(Output::Media(MediaCommand::Close));
        }
    }

    /// Queues a message, dropping it when there is no session to carry it and holding it while
    /// the connection is being restored.
    fn send(&mut self, msg: ClientMsg) {
        if let ClientMsg::Cancel { call_id }
        | ClientMsg::Reject { call_id }
        | ClientMsg::Hangup { call_id, .. } = &msg
        {
            if let Some(left) = self.leaving.take_if(|l| l.call_id == *call_id) {
                self.left = Some(Left {
                    msg: Some(msg.clone()),
                    ..left
                });
            }
        }
        match &self.session {
            Session::LoggedOut => {}
            Session::LoggedIn {
                link: Link::Down { .. },
                ..
            } => self.outbox.push(msg),
            _ => self.out(Output::Send(msg)),
        }
    }

    fn event(&mut self, event: CallEvent) {
        self.out(Output::Event(event));
    }

    fn out(&mut self, output: Output) {
        self.outputs.push_back(output);
    }
}

#[cfg(test)]
mod tests;
