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

mod io;
mod presence;

use std::collections::VecDeque;

use webcall_protocol::{
    validate_user_id, CallId, CallType, ClientMsg, ErrorCode, IceServer, Outcome, ServerMsg, UserId,
};

pub use io::{Input, MediaCommand, MediaEvent, Millis, Output, Timer};

use crate::{CallEvent, CallState, ClientError, NoRespReason};
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
    },
}

impl Call {
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
            } => CallState::InCall {
                peer: peer.clone(),
                call_id: call_id.clone(),
                since_ms: *since,
                connected: *connected,
                muted: *muted,
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

    // ----- user intents -------------------------------------------------------------------

    fn login(&mut self, now: Millis, user_id: UserId, user_sig: String) -> Result<(), ClientError> {
        if self.session != Session::LoggedOut {
            return Err(ClientError::AlreadyLoggedIn);
        }
        validate_user_id(&user_id)?;
        self.session = Session::Connecting { user_id, user_sig };
        self.out(Output::OpenSocket);
        self.out(Output::SetTimer {
            timer: Timer::LoginDeadline,
            at: now + LOGIN_TIMEOUT_MS,
        });
        Ok(())
    }

    fn logout(&mut self, now: Millis) -> Result<(), ClientError> {
        if self.session == Session::LoggedOut {
            return Err(ClientError::NotLoggedIn);
        }
        // A held invitation must not ring on the way out.
        self.pending = None;
        if self.call != Call::Idle {
            // Leave the call the way the user would: cancel, reject or hang up.
            let _ = self.hangup(now);
        }
        self.close_session(None);
        Ok(())
    }

    fn call(
        &mut self,
        callee: UserId,
        call_type: CallType,
        timeout_secs: Option<u32>,
    ) -> Result<(), ClientError> {
        let Session::LoggedIn { user_id, .. } = &self.session else {
            return Err(ClientError::NotLoggedIn);
        };
        validate_user_id(&callee)?;
        if &callee == user_id {
            return Err(ClientError::CallSelf);
        }
        if call_type != CallType::Audio {
            return Err(ClientError::Unsupported);
        }
        // Calling back the user who is ringing here is answering them.
        if matches!(&self.call, Call::Incoming { caller, .. } if *caller == callee) {
            return self.accept();
        }
        if self.call != Call::Idle {
            return Err(ClientError::Busy);
        }
        if self.elsewhere.is_some() {
            return Err(ClientError::InCallElsewhere);
        }
        self.call = Call::OpeningMic {
            callee,
            call_type,
            timeout_secs,
        };
        self.out(Output::Media(MediaCommand::StartMic));
        Ok(())
    }

    fn accept(&mut self) -> Result<(), ClientError> {
        let Call::Incoming { call_id, caller } = &self.call else {
            return Err(ClientError::NoCall("accept"));
        };
        let call_id = call_id.clone();
        self.call = Call::Accepting {
            call_id: call_id.clone(),
            caller: caller.clone(),
        };
        // Accept, open the microphone and negotiate all at once: the caller's audio can flow
        // before the microphone here is open, which then joins the call without renegotiation.
        self.send(ClientMsg::Accept { call_id });
        self.out(Output::Media(MediaCommand::StartMic));
        let ice_servers = self.ice_servers();
        self.out(Output::Media(MediaCommand::CreatePeer {
            ice_servers,
            offer: false,
        }));
        Ok(())
    }

    fn reject(&mut self) -> Result<(), ClientError> {
        match &self.call {
            Call::Incoming { call_id, .. } => {
                let call_id = call_id.clone();
                self.send(ClientMsg::Reject { call_id });
                self.go_idle();
                Ok(())
            }
            _ => Err(ClientError::NoCall("reject")),
        }
    }

    fn hangup(&mut self, now: Millis) -> Result<(), ClientError> {
        match std::mem::replace(&mut self.call, Call::Idle) {
            Call::Idle => return Err(ClientError::NoCall("hang up")),
            Call::OpeningMic { .. } => {}
            Call::Inviting { req, callee } => self.abandon_invite(req, &callee),
            Call::Dialing { call_id, .. } => self.send(ClientMsg::Cancel { call_id }),
            Call::Incoming { call_id, .. } => self.send(ClientMsg::Reject { call_id }),
            // The server may have accepted already; a hang-up covers both cases. The app
            // already shows the call, so it ends like one.
            Call::Accepting { call_id, .. } => {
                self.send(ClientMsg::Hangup {
                    call_id: call_id.clone(),
                    failure: None,
                });
                let ended_by = self.user_id().map(str::to_owned);
                self.event(CallEvent::CallEnd {
                    call_id,
                    duration_secs: 0,
                    ended_by,
                    failure: None,
                });
            }
            Call::Active { call_id, since, .. } => {
                self.send(ClientMsg::Hangup {
                    call_id: call_id.clone(),
                    failure: None,
                });
                let ended_by = self.user_id().map(str::to_owned);
                self.event(CallEvent::CallEnd {
                    call_id,
                    duration_secs: now.saturating_sub(since) / 1000,
                    ended_by,
                    failure: None,
                });
            }
        }
        self.out(Output::Media(MediaCommand::Close));
        self.ring_pending();
        Ok(())
    }

    fn set_mic_mute(&mut self, mute: bool) -> Result<(), ClientError> {
        let Call::Active { muted, .. } = &mut self.call else {
            return Err(ClientError::NoCall("mute"));
        };
        *muted = mute;
        self.out(Output::Media(MediaCommand::SetMicMuted(mute)));
        Ok(())
    }

    fn watch_presence(&mut self, users: Vec<UserId>) -> Result<(), ClientError> {
        self.presence.set_watched(users)?;
        if self.user_id().is_some() {
            let users = self.presence.watched().to_vec();
            self.send(ClientMsg::Watch { users });
        }
        Ok(())
    }

    // ----- the socket ---------------------------------------------------------------------

    fn socket_opened(&mut self) {
        if let Session::Connecting { user_id, user_sig } = &self.session {
            let msg = ClientMsg::Login {
                user_id: user_id.clone(),
                user_sig: user_sig.clone(),
                sdk_app_id: self.sdk_app_id,
            };
            self.session = Session::Authenticating {
                user_id: user_id.clone(),
            };
            self.send(msg);
        }
    }

    fn socket_closed(&mut self, now: Millis, reason: String) {
        match self.session {
            Session::LoggedOut => {}
            Session::Connecting { .. } | Session::Authenticating { .. } => {
                self.event(CallEvent::Error {
                    code: 60020,
                    message: format!("could not reach the server: {reason}"),
                });
                self.close_session(Some(reason));
            }
            Session::LoggedIn { .. } => {
                // Nothing can be sent any more: leave the call locally only.
                self.session = Session::LoggedOut;
                self.end_call_failed(now, "lost the connection to the server");
                self.close_session(Some(reason));
            }
        }
    }

    /// Ends the session: the socket closes, timers stop, what the server said about other
    /// devices and users is forgotten, the app hears `LoggedOut`.
    fn close_session(&mut self, reason: Option<String>) {
        self.session = Session::LoggedOut;
        self.cancelled_req = None;
        self.pending = None;
        self.elsewhere = None;
        self.presence.forget();
        self.out(Output::CloseSocket);
        self.out(Output::CancelTimer(Timer::LoginDeadline));
        self.out(Output::CancelTimer(Timer::Heartbeat));
        self.event(CallEvent::LoggedOut { reason });
    }

    // ----- server messages ----------------------------------------------------------------

    fn server_message(&mut self, now: Millis, msg: ServerMsg) {
        match msg {
            ServerMsg::LoggedIn {
                user_id,
                ice_servers,
            } => {
                if !matches!(self.session, Session::Authenticating { .. }) {
                    return;
                }
                self.session = Session::LoggedIn {
                    user_id: user_id.clone(),
                    ice_servers,
                };
                self.out(Output::CancelTimer(Timer::LoginDeadline));
                self.out(Output::SetTimer {
                    timer: Timer::Heartbeat,
                    at: now + HEARTBEAT_INTERVAL_MS,
                });
                if !self.presence.watched().is_empty() {
                    let users = self.presence.watched().to_vec();
                    self.send(ClientMsg::Watch { users });
                }
                self.event(CallEvent::LoggedIn { user_id });
            }
            ServerMsg::CallCreated {
                req,
                call_id,
                ringing,
                ..
            } => self.call_created(req, call_id, ringing),
            ServerMsg::Ringing { call_id, devices } => {
                if let Call::Dialing {
                    call_id: ours,
                    callee,
                    ringing,
                } = &mut self.call
                {
                    if *ours == call_id {
                        *ringing = devices;
                        let callee = callee.clone();
                        self.event(CallEvent::Ringing { callee, devices });
                    }
                }
            }
            ServerMsg::Invited {
                call_id,
                caller,
                call_type,
                timeout_secs,
            } => {
                if self.user_id().is_none() {
                    return;
                }
                let invitation = Invitation {
                    call_id,
                    caller,
                    call_type,
                    timeout_secs,
                };
                match self.call {
                    Call::Idle => self.ring(invitation),
                    // It crossed this user's own invitation: the server's answer to that
                    // decides whether it rings (see `ring_pending`).
                    Call::OpeningMic { .. } | Call::Inviting { .. } => {
                        self.pending = Some(invitation)
                    }
                    // The server rings only users who are free; anything else is stale.
                    _ => {}
                }
            }
            ServerMsg::Accepted { call_id } => self.accepted(now, call_id),
            ServerMsg::AnsweredElsewhere { call_id } => self.answered_elsewhere(call_id),
            ServerMsg::CallMerged {
                req,
                call_id,
                caller,
            } => self.call_merged(now, req, call_id, caller),
            ServerMsg::CallElsewhere { call_id, peer } => {
                if self.call.id() == Some(call_id.as_str()) {
                    // The call that rings here went to another device of this user.
                    self.answered_elsewhere(call_id);
                } else {
                    if self.pending.as_ref().is_some_and(|p| p.call_id == call_id) {
                        self.pending = None;
                    }
                    self.remember_elsewhere(call_id, peer);
                }
            }
            ServerMsg::Presence { user_id, online } => {
                if self.presence.update(&user_id, online) {
                    self.event(CallEvent::PresenceChanged { user_id, online });
                }
            }
            ServerMsg::Signal { call_id, signal } => {
                if self.call.id() == Some(call_id.as_str()) && self.call.has_media() {
                    self.out(Output::Media(MediaCommand::ApplySignal(signal)));
                }
            }
            ServerMsg::CallEnded { call_id, outcome } => self.call_ended(now, call_id, outcome),
            ServerMsg::Error { code, message, req } => self.server_error(now, code, message, req),
            ServerMsg::Pong => {}
        }
    }

    fn call_created(&mut self, req: u32, call_id: CallId, ringing: u32) {
        if self.cancelled_req == Some(req) {
            self.cancelled_req = None;
            self.send(ClientMsg::Cancel { call_id });
            return;
        }
        let Call::Inviting { req: ours, callee } = &self.call else {
            return;
        };
        if *ours != req {
            return;
        }
        let callee = callee.clone();
        self.call = Call::Dialing {
            call_id,
            callee: callee.clone(),
            ringing,
        };
        // The server would not have created the call while one rang for this user; a held
        // invitation is over.
        self.pending = None;
        let ice_servers = self.ice_servers();
        self.out(Output::Media(MediaCommand::CreatePeer {
            ice_servers,
            offer: true,
        }));
        self.event(CallEvent::Ringing {
            callee,
            devices: ringing,
        });
    }

    /// Glare: this user's `Invite` answered the invitation from `caller`, which is now an
    /// accepted call with this side as the callee.
    fn call_merged(&mut self, now: Millis, req: u32, call_id: CallId, caller: UserId) {
        if self.cancelled_req == Some(req) {
            self.cancelled_req = None;
            self.send(ClientMsg::Hangup {
                call_id,
                failure: None,
            });
            return;
        }
        if !matches!(self.call, Call::Inviting { req: ours, .. } if ours == req) {
            return;
        }
        self.pending = None;
        self.call = Call::Active {
            call_id,
            peer: caller.clone(),
            since: now,
            connected: false,
            muted: false,
        };
        // The microphone is open already: the peer sends it from the start and answers the
        // caller's offer, which follows.
        let ice_servers = self.ice_servers();
        self.out(Output::Media(MediaCommand::CreatePeer {
            ice_servers,
            offer: false,
        }));
        self.event(CallEvent::UserAccept { user_id: caller });
    }

    fn accepted(&mut self, now: Millis, call_id: CallId) {
        match &self.call {
            Call::Dialing {
                call_id: ours,
                callee,
                ..
            } if *ours == call_id => {
                let peer = callee.clone();
                self.call = Call::Active {
                    call_id,
                    peer: peer.clone(),
                    since: now,
                    connected: false,
                    muted: false,
                };
                self.event(CallEvent::UserAccept { user_id: peer });
            }
            Call::Accepting {
                call_id: ours,
                caller,
            } if *ours == call_id => {
                self.call = Call::Active {
                    call_id,
                    peer: caller.clone(),
                    since: now,
                    connected: false,
                    muted: false,
                };
            }
            _ => {}
        }
    }

    /// Another device of this user accepted the call `call_id`.
    fn answered_elsewhere(&mut self, call_id: CallId) {
        match &self.call {
            Call::Incoming {
                call_id: ours,
                caller,
            }
            | Call::Accepting {
                call_id: ours,
                caller,
            } if *ours == call_id => {
                let caller = caller.clone();
                self.go_idle();
                self.event(CallEvent::AnsweredElsewhere {
                    sponsor: caller.clone(),
                    call_id: call_id.clone(),
                });
                self.remember_elsewhere(call_id, caller);
            }
            _ => {
                // A held invitation (glare) that never rang here.
                if let Some(pending) = self.pending.take_if(|p| p.call_id == call_id) {
                    self.remember_elsewhere(call_id, pending.caller);
                }
            }
        }
    }

    /// Records the user's call on another device, telling the app when it is news.
    fn remember_elsewhere(&mut self, call_id: CallId, peer: UserId) {
        if self
            .elsewhere
            .as_ref()
            .is_some_and(|e| e.call_id == call_id)
        {
            return;
        }
        self.elsewhere = Some(Elsewhere {
            call_id: call_id.clone(),
            peer: peer.clone(),
        });
        self.event(CallEvent::InCallElsewhere { call_id, peer });
    }

    fn call_ended(&mut self, now: Millis, call_id: CallId, outcome: Outcome) {
        if self
            .elsewhere
            .as_ref()
            .is_some_and(|e| e.call_id == call_id)
        {
            self.elsewhere = None;
            self.event(CallEvent::InCallElsewhereEnded { call_id });
            return;
        }
        if self.pending.as_ref().is_some_and(|p| p.call_id == call_id) {
            // It never rang here.
            self.pending = None;
            return;
        }
        if self.call.id() != Some(call_id.as_str()) {
            // A call this side already left, or never knew: nothing to do.
            return;
        }
        let call = std::mem::replace(&mut self.call, Call::Idle);
        if call.has_media() {
            self.out(Output::Media(MediaCommand::Close));
        }
        let me = self.user_id().unwrap_or_default().to_owned();
        let event = match call {
            Call::Dialing { callee, .. } => match outcome {
                Outcome::Rejected => CallEvent::Reject { user_id: callee },
                Outcome::Busy => CallEvent::LineBusy { user_id: callee },
                Outcome::NoAnswer { offline } => CallEvent::NoResp {
                    user_id: callee,
                    reason: if offline {
                        NoRespReason::Offline
                    } else {
                        NoRespReason::Timeout
                    },
                },
                Outcome::Failed { message } => CallEvent::NoResp {
                    user_id: callee,
                    reason: NoRespReason::Unreachable(message),
                },
                // The caller's own cancel or hang-up: already idle locally.
                Outcome::Cancelled { .. } | Outcome::HungUp { .. } => return,
            },
            Call::Incoming { caller, .. } | Call::Accepting { caller, .. } => match outcome {
                Outcome::NoAnswer { .. } => CallEvent::CallingTimeout {
                    sponsor: caller,
                    call_id,
                },
                // This device's own reject left at once, so another device rejected.
                Outcome::Rejected => CallEvent::RejectedElsewhere {
                    sponsor: caller,
                    call_id,
                },
                Outcome::Cancelled { disconnected } => CallEvent::CallingCancel {
                    sponsor: caller,
                    call_id,
                    caller_disconnected: disconnected,
                },
                Outcome::Busy | Outcome::HungUp { .. } | Outcome::Failed { .. } => {
                    CallEvent::CallingCancel {
                        sponsor: caller,
                        call_id,
                        caller_disconnected: false,
                    }
                }
            },
            Call::Active { peer, since, .. } => {
                let local_secs = now.saturating_sub(since) / 1000;
                let (duration_secs, ended_by, failure) = match outcome {
                    Outcome::HungUp { by, duration_secs } => (duration_secs, Some(by), None),
                    Outcome::Failed { message } => (local_secs, None, Some(message)),
                    // Not outcomes of an accepted call; the server never sends them for one.
                    _ => (local_secs, None, Some("the call ended unexpectedly".into())),
                };
                if ended_by.as_deref() != Some(me.as_str()) {
                    self.event(CallEvent::UserLeave { user_id: peer });
                }
                CallEvent::CallEnd {
                    call_id,
                    duration_secs,
                    ended_by,
                    failure,
                }
            }
            Call::Idle | Call::OpeningMic { .. } | Call::Inviting { .. } => return,
        };
        self.event(event);
    }

    fn server_error(&mut self, now: Millis, code: ErrorCode, message: String, req: Option<u32>) {
        match (&self.session, code) {
            (Session::Connecting { .. } | Session::Authenticating { .. }, _) => {
                self.event(CallEvent::Error {
                    code: server_error_code(code),
                    message,
                });
                self.close_session(Some("login failed".into()));
                return;
            }
            (Session::LoggedIn { .. }, ErrorCode::KickedOut) => {
                self.pending = None;
                self.end_call_failed(now, "logged in elsewhere");
                self.event(CallEvent::KickedOut);
                self.close_session(Some("logged in elsewhere".into()));
                return;
            }
            _ => {}
        }
        // The refusal of an invitation the user already withdrew is no news.
        if req.is_some() && req == self.cancelled_req {
            self.cancelled_req = None;
            return;
        }
        // A late message about a call this side already left (an ICE candidate that crossed
        // the hang-up, say) is refused by the server; that is no news to the user.
        if self.call == Call::Idle && matches!(code, ErrorCode::NoSuchCall | ErrorCode::WrongState)
        {
            return;
        }
        // An error that answers our pending invitation ends it; an invitation that crossed it
        // (the likely reason: this user was ringing) rings now.
        if matches!((req, &self.call), (Some(req), Call::Inviting { req: ours, .. }) if req == *ours)
        {
            self.go_idle();
            self.event(CallEvent::Error {
                code: server_error_code(code),
                message,
            });
            self.ring_pending();
            return;
        }
        // A refused accept leaves nothing to answer.
        if matches!(self.call, Call::Accepting { .. })
            && matches!(code, ErrorCode::NoSuchCall | ErrorCode::WrongState)
        {
            self.go_idle();
        }
        self.event(CallEvent::Error {
            code: server_error_code(code),
            message,
        });
    }

    // ----- media --------------------------------------------------------------------------

    fn media_event(&mut self, now: Millis, event: MediaEvent) {
        match event {
            MediaEvent::MicReady => match &self.call {
                Call::OpeningMic {
                    callee,
                    call_type,
                    timeout_secs,
                } => {
                    let req = self.next_req;
                    self.next_req = self.next_req.wrapping_add(1);
                    let msg = ClientMsg::Invite {
                        req,
                        callee: callee.clone(),
                        call_type: *call_type,
                        timeout_secs: *timeout_secs,
                    };
                    self.call = Call::Inviting {
                        req,
                        callee: callee.clone(),
                    };
                    self.send(msg);
                }
                // The callee's microphone, opened while the call connected.
                Call::Accepting { .. } | Call::Active { .. } => {
                    self.out(Output::Media(MediaCommand::AttachMic))
                }
                _ => {}
            },
            MediaEvent::MicFailed(error) => {
                let in_call = matches!(self.call, Call::Accepting { .. } | Call::Active { .. });
                if !in_call && !matches!(self.call, Call::OpeningMic { .. }) {
                    return;
                }
                self.event(CallEvent::Error {
                    code: error.code(),
                    message: error.to_string(),
                });
                if in_call {
                    self.end_call_failed(now, "the microphone could not be opened");
                } else {
                    self.go_idle();
                    self.ring_pending();
                }
            }
            MediaEvent::LocalSignal(signal) => {
                if let Call::Dialing { call_id, .. }
                | Call::Accepting { call_id, .. }
                | Call::Active { call_id, .. } = &self.call
                {
                    let call_id = call_id.clone();
                    self.send(ClientMsg::Signal { call_id, signal });
                }
            }
            MediaEvent::Connected => {
                if let Call::Active {
                    call_id,
                    connected,
                    peer,
                    ..
                } = &mut self.call
                {
                    if !*connected {
                        *connected = true;
                        let call_id = call_id.clone();
                        let user_id = peer.clone();
                        self.send(ClientMsg::MediaConnected { call_id });
                        self.event(CallEvent::UserEnter { user_id });
                    }
                }
            }
            MediaEvent::Failed => self.end_call_failed(now, "the audio connection failed"),
            MediaEvent::Error(message) => {
                if self.call.has_media() {
                    self.event(CallEvent::Error {
                        code: 60002,
                        message: format!("call setup failed: {message}"),
                    });
                    self.end_call_failed(now, "call setup failed");
                }
            }
        }
    }

    // ----- timers -------------------------------------------------------------------------

    fn timer(&mut self, now: Millis, timer: Timer) {
        match timer {
            Timer::LoginDeadline => {
                if matches!(
                    self.session,
                    Session::Connecting { .. } | Session::Authenticating { .. }
                ) {
                    self.event(CallEvent::Error {
                        code: 60021,
                        message: "the server did not answer the login in time".into(),
                    });
                    self.close_session(Some("login timed out".into()));
                }
            }
            Timer::Heartbeat => {
                if self.user_id().is_some() {
                    self.send(ClientMsg::Ping);
                    self.out(Output::SetTimer {
                        timer: Timer::Heartbeat,
                        at: now + HEARTBEAT_INTERVAL_MS,
                    });
                }
            }
        }
    }

    // ----- helpers ------------------------------------------------------------------------

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

    fn ice_servers(&self) -> Vec<IceServer> {
        match &self.session {
            Session::LoggedIn { ice_servers, .. } => ice_servers.clone(),
            _ => Vec::new(),
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

/// The numeric code of a server error, for [`CallEvent::Error`].
pub fn server_error_code(code: ErrorCode) -> i32 {
    match code {
        ErrorCode::BadMessage => 60030,
        ErrorCode::NotLoggedIn => 60031,
        ErrorCode::KickedOut => 60032,
        ErrorCode::BadUserSig => 70001,
        ErrorCode::BadUserId => 60033,
        ErrorCode::CallSelf => 60034,
        ErrorCode::AlreadyInCall => 60035,
        ErrorCode::NoSuchCall => 60036,
        ErrorCode::WrongState => 60037,
        ErrorCode::Unsupported => 60038,
        ErrorCode::Internal => 60039,
        ErrorCode::TooManyDevices => 60040,
    }
}

#[cfg(test)]
mod tests;
