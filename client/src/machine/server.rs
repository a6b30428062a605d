//! Every message from the server ([`ServerMsg`]), and [`server_error_code`].
//!
//! Numbered messages ([`ServerMsg::Seq`]) are applied once each (see `sequence`); while the
//! connection is being restored only the answer to the login counts (see `reconnect`).
//!
//! The server decides every outcome; these handlers follow it. They ignore what no longer
//! concerns this device (an answer to an invitation the user withdrew, news of a call this side
//! already left), and track the user's calls on other devices and the invitations that crossed
//! the user's own (glare).

use webcall_protocol::{
    CallId, ClientMsg, ErrorCode, Outcome, ServerMsg, Signal, UserId, DEFAULT_RING_TIMEOUT_SECS,
    MAX_RING_TIMEOUT_SECS,
};

use super::{Call, Elsewhere, Invitation, Machine, MediaCommand, Millis, Output, Session};
use crate::{CallEvent, NoRespReason};

/// Why a call ends when the server says a party's connection was lost for good.
const CONNECTION_LOST: &str = "connection lost";

impl Machine {
    pub(super) fn server_message(&mut self, now: Millis, msg: ServerMsg) {
        // Anything at all, a Pong included, shows the connection is alive.
        self.last_heard = now;
        if self.is_reconnecting() {
            self.reconnect_answer(now, msg);
            return;
        }
        let (seq, msg) = msg.unsequenced();
        if let Some(seq) = seq {
            if !self.sequence.apply(seq) {
                // Sent again after a reconnection, and applied already.
                return;
            }
        }
        self.apply_server_message(now, msg);
        if seq.is_some() {
            self.ack_if_many();
        }
    }

    fn apply_server_message(&mut self, now: Millis, msg: ServerMsg) {
        match msg {
            ServerMsg::LoggedIn {
                user_id,
                ice_servers,
                relay_only,
                session,
                ..
            } => self.logged_in(now, user_id, ice_servers, relay_only, session),
            // Numbered messages do not nest.
            ServerMsg::Seq(..) => {}
            ServerMsg::SessionExpiring { expires_in_secs } => {
                if self.user_id().is_some() {
                    self.event(CallEvent::SessionExpiring { expires_in_secs });
                }
            }
            ServerMsg::Renewed { expires_in_secs } => {
                if let Some(user_sig) = self.renewing.take() {
                    self.user_sig = user_sig;
                }
                if self.user_id().is_some() {
                    self.event(CallEvent::SessionRenewed { expires_in_secs });
                }
            }
            ServerMsg::CallCreated {
                req,
                call_id,
                ringing,
                ..
            } => self.call_created(now, req, call_id, ringing),
            ServerMsg::Ringing { call_id, devices } => {
                if let Call::Dialing {
                    call_id: ours,
                    callee,
                    ringing,
                    ..
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
                if self.left.as_ref().is_some_and(|l| l.call_id == call_id) {
                    // This side rejected it already; a server that lost the reject rings again.
                    self.send(ClientMsg::Reject { call_id });
                    return;
                }
                let invitation = Invitation {
                    call_id,
                    caller,
                    call_type,
                    timeout_secs,
                    rings_until: now + Millis::from(timeout_secs) * 1000,
                };
                match self.call {
                    Call::Idle => self.ring(invitation),
                    // It crossed this user's own invitation: the server's answer to that
                    // decides whether it rings (see `ring_pending`).
                    Call::Inviting { .. } => self.pending = Some(invitation),
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
            ServerMsg::Signal {
                call_id,
                signal: Signal::Mute { muted },
            } => self.peer_muted(&call_id, muted),
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

    /// The other party muted or unmuted its microphone.
    fn peer_muted(&mut self, id: &str, muted: bool) {
        if let Call::Active {
            call_id,
            peer,
            peer_muted,
            ..
        } = &mut self.call
        {
            if call_id == id && *peer_muted != muted {
                *peer_muted = muted;
                let user_id = peer.clone();
                self.event(CallEvent::UserAudioAvailable {
                    user_id,
                    available: !muted,
                });
            }
        }
    }

    fn call_created(&mut self, now: Millis, req: u32, call_id: CallId, ringing: u32) {
        if self.cancelled_req == Some(req) {
            self.cancelled_req = None;
            self.send(ClientMsg::Cancel { call_id });
            return;
        }
        let Call::Inviting {
            req: ours,
            callee,
            timeout_secs,
            mic_ready,
        } = &self.call
        else {
            return;
        };
        if *ours != req {
            return;
        }
        let callee = callee.clone();
        let mic_ready = *mic_ready;
        // As the server applies it.
        let ring_secs = timeout_secs
            .unwrap_or(DEFAULT_RING_TIMEOUT_SECS)
            .clamp(1, MAX_RING_TIMEOUT_SECS);
        self.call = Call::Dialing {
            call_id,
            callee: callee.clone(),
            ringing,
            rings_until: now + Millis::from(ring_secs) * 1000,
        };
        // The server would not have created the call while one rang for this user; a held
        // invitation is over.
        self.pending = None;
        // Otherwise the peer connection is created when the microphone opens.
        if mic_ready {
            self.create_peer(true);
        }
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
        self.call = Call::active(call_id, caller.clone(), false, now);
        // The peer answers the caller's offer, which follows, sending the microphone from the
        // start when it is open already, or once it opens (`AttachMic`).
        self.create_peer(false);
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
                self.call = Call::active(call_id, peer.clone(), true, now);
                self.event(CallEvent::UserAccept { user_id: peer });
            }
            Call::Accepting {
                call_id: ours,
                caller,
            } if *ours == call_id => {
                self.call = Call::active(call_id, caller.clone(), false, now);
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
                ..
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
        if self.left.as_ref().is_some_and(|l| l.call_id == call_id) {
            // The end of the call this side left: confirmed.
            self.left = None;
        }
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
        let call = self.take_call();
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
                Outcome::ConnectionLost { .. } => CallEvent::NoResp {
                    user_id: callee,
                    reason: NoRespReason::Unreachable(CONNECTION_LOST.into()),
                },
                // The caller's own cancel or hang-up: already idle locally.
                Outcome::Cancelled { .. } | Outcome::HungUp { .. } => return,
            },
            // The callee had accepted: the call ends like an accepted one.
            Call::Accepting { caller, .. } if matches!(outcome, Outcome::ConnectionLost { .. }) => {
                self.event(CallEvent::UserLeave { user_id: caller });
                CallEvent::CallEnd {
                    call_id,
                    duration_secs: 0,
                    ended_by: None,
                    failure: Some(CONNECTION_LOST.into()),
                }
            }
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
                Outcome::ConnectionLost { .. } => CallEvent::CallingCancel {
                    sponsor: caller,
                    call_id,
                    caller_disconnected: true,
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
                    Outcome::ConnectionLost { .. } => {
                        (local_secs, None, Some(CONNECTION_LOST.to_owned()))
                    }
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
            Call::Idle | Call::Inviting { .. } => return,
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
            (Session::LoggedIn { .. }, ErrorCode::SessionExpired) => {
                self.pending = None;
                self.end_call_failed(now, "the session expired");
                self.event(CallEvent::Error {
                    code: server_error_code(code),
                    message,
                });
                self.close_session(Some("the session expired; log in again".into()));
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
}

/// The numeric code of a server error, for [`CallEvent::Error`].
pub fn server_error_code(code: ErrorCode) -> i32 {
    match code {
        ErrorCode::BadMessage => 60030,
        ErrorCode::NotLoggedIn => 60031,
        ErrorCode::KickedOut => 60032,
        ErrorCode::BadUserSig => 70003,
        ErrorCode::UserSigExpired => 70001,
        ErrorCode::UserSigWrongUser => 70013,
        ErrorCode::WrongSdkAppId => 70014,
        ErrorCode::SessionExpired => 70002,
        ErrorCode::RateLimited => 60042,
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
