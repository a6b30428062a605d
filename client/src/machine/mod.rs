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
//!   about each on this connection.
//!
//! The machine's code is split by where an input comes from; every file adds an `impl Machine`
//! block:
//!
//! - this file: the state, [`Machine::handle`] (which dispatches every [`Input`]), the accessors
//!   for the app and the moves all the others share (leaving a call, ringing a held invitation,
//!   queueing outputs);
//! - `intents`: what the app asks for (log in, call, accept, hang up, mute, watch presence);
//! - `session`: the socket, the login on it, its timers and its end;
//! - `server`: every message from the server;
//! - `media`: what the microphone and the peer connection report;
//! - `ice`: the STUN/TURN servers and policy of the peer connection, and their failures;
//! - `io`: the types that go in and come out; `presence`: the presence watch list.

mod ice;
mod intents;
mod io;
mod media;
mod presence;
mod server;
mod session;

use std::collections::VecDeque;

use webcall_protocol::{CallId, CallType, ClientMsg, IceServer, UserId};

pub use io::{Input, MediaCommand, MediaEvent, Millis, Output, Timer};
pub use server::server_error_code;

use crate::{CallEvent, CallState, ClientError, NoRespReason};
use ice::IceWatch;
use presence::Presence;

/// How long a login may take before it is given up.
pub const LOGIN_TIMEOUT_MS: Millis = 10_000;

/// How often a logged-in client pings the server.
pub const HEARTBEAT_INTERVAL_MS: Millis = 15_000;

/// The connection to the server and who is logged in on it.
#[derive(Debug, Clone, PartialEq)]
enum Session {
    LoggedOut,
    /// The socket is opening.
    Connecting {
        user_id: UserId,
        user_sig: String,
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
    },
}

/// The one call this user can have at a time on this device.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Idle,
    /// Caller: the microphone is opening; the invitation goes out once it is open.
    OpeningMic {
        callee: UserId,
        call_type: CallType,
        timeout_secs: Option<u32>,
    },
    /// Caller: `Invite` is sent, the call's ID not yet known.
    Inviting {
        req: u32,
        callee: UserId,
    },
    /// Caller: the call exists; `ringing` of the callee's devices ring.
    Dialing {
        call_id: CallId,
        callee: UserId,
        ringing: u32,
    },
    /// Callee: ringing here.
    Incoming {
        call_id: CallId,
        caller: UserId,
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
        since: Millis,
        connected: bool,
        muted: bool,
        /// The verification code, once the shell has computed it.
        verification_code: Option<String>,
    },
}

impl Call {
    /// A call with `peer` accepted at `since`, its audio not connected yet.
    fn active(call_id: CallId, peer: UserId, since: Millis) -> Call {
        Call::Active {
            call_id,
            peer,
            since,
            connected: false,
            muted: false,
            verification_code: None,
        }
    }

    /// The call's ID, once the server has issued it.
    fn id(&self) -> Option<&str> {
        match self {
            Call::Idle | Call::OpeningMic { .. } | Call::Inviting { .. } => None,
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
    /// An invitation held while `call` is `OpeningMic` or `Inviting` (never otherwise).
    pending: Option<Invitation>,
    /// The user's call on another device, as the server last said.
    elsewhere: Option<Elsewhere>,
    presence: Presence,
    /// What the current peer connection reported about its STUN/TURN servers.
    ice: IceWatch,
    outputs: VecDeque<Output>,
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
            outputs: VecDeque::new(),
        }
    }

    /// The next thing for the shell to do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The logged-in user, once the server confirmed the login.
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
            Call::OpeningMic { callee, .. } | Call::Inviting { callee, .. } => CallState::Dialing {
                callee: callee.clone(),
                ringing: None,
            },
            Call::Dialing {
                callee, ringing, ..
            } => CallState::Dialing {
                callee: callee.clone(),
                ringing: Some(*ringing),
            },
            Call::Incoming { call_id, caller } => CallState::Incoming {
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
                muted,
                verification_code,
            } => CallState::InCall {
                peer: peer.clone(),
                call_id: call_id.clone(),
                since_ms: *since,
                connected: *connected,
                muted: *muted,
                verification_code: verification_code.clone(),
            },
        }
    }

    /// Feeds one input in at time `now`. User intents that can not be carried out return an
    /// error and change nothing.
    pub fn handle(&mut self, now: Millis, input: Input) -> Result<(), ClientError> {
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
                self.socket_opened();
                Ok(())
            }
            Input::SocketClosed { reason } => {
                self.socket_closed(now, reason);
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
        let call = std::mem::replace(&mut self.call, Call::Idle);
        if call.has_media() {
            self.out(Output::Media(MediaCommand::Close));
        }
        match call {
            Call::Idle => {}
            Call::OpeningMic { .. } => {}
            Call::Inviting { req, callee } => {
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
            Call::Incoming { call_id, caller } => {
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
        } = invitation;
        self.call = Call::Incoming {
            call_id: call_id.clone(),
            caller: caller.clone(),
        };
        self.event(CallEvent::Invited {
            sponsor: caller,
            call_id,
            call_type,
            timeout_secs,
        });
    }

    /// Back to no call, closing any media.
    fn go_idle(&mut self) {
        let call = std::mem::replace(&mut self.call, Call::Idle);
        if call.has_media() {
            self.out(Output::Media(MediaCommand::Close));
        }
    }

    /// Queues a message, dropping it when there is no session to carry it.
    fn send(&mut self, msg: ClientMsg) {
        if self.session != Session::LoggedOut {
            self.out(Output::Send(msg));
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
