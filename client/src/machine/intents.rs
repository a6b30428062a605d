//! The user's intents: what the app asks the machine to do (the [`Input`](super::Input)s from
//! `Login` to `WatchPresence`).
//!
//! Each one either takes effect at once, queueing what the server and the media layer must hear,
//! or returns an error and changes nothing, so the app learns synchronously whether it can do
//! what the user asked.

use webcall_protocol::{validate_user_id, CallId, CallType, ClientMsg, Signal, UserId};

use super::reconnect::Link;
use super::{Call, Machine, MediaCommand, Millis, Output, Session, Timer, LOGIN_TIMEOUT_MS};
use crate::{CallEvent, ClientError};

impl Machine {
    pub(super) fn login(
        &mut self,
        now: Millis,
        user_id: UserId,
        user_sig: String,
    ) -> Result<(), ClientError> {
        if self.session != Session::LoggedOut {
            return Err(ClientError::AlreadyLoggedIn);
        }
        validate_user_id(&user_id)?;
        self.session = Session::Connecting { user_id };
        self.user_sig = user_sig;
        self.out(Output::OpenSocket);
        self.out(Output::SetTimer {
            timer: Timer::LoginDeadline,
            at: now + LOGIN_TIMEOUT_MS,
        });
        Ok(())
    }

    pub(super) fn logout(&mut self, now: Millis) -> Result<(), ClientError> {
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

    pub(super) fn call(
        &mut self,
        callee: UserId,
        call_type: CallType,
        timeout_secs: Option<u32>,
    ) -> Result<(), ClientError> {
        let Session::LoggedIn { user_id, link, .. } = &self.session else {
            return Err(ClientError::NotLoggedIn);
        };
        // The invitation could not go out, and the call could not be claimed without an ID.
        if *link != Link::Up {
            return Err(ClientError::Reconnecting);
        }
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
        // The invitation goes out at once and the microphone opens meanwhile: the callee's
        // devices ring without waiting for `getUserMedia`, and the offer (which needs the
        // microphone's track) follows as soon as both the call and the microphone are there.
        let req = self.next_req;
        self.next_req = self.next_req.wrapping_add(1);
        self.call = Call::Inviting {
            req,
            callee: callee.clone(),
            timeout_secs,
            mic_ready: false,
        };
        self.send(ClientMsg::Invite {
            req,
            callee,
            call_type,
            timeout_secs,
        });
        self.out(Output::Media(MediaCommand::StartMic));
        Ok(())
    }

    pub(super) fn accept(&mut self) -> Result<(), ClientError> {
        let Call::Incoming {
            call_id, caller, ..
        } = &self.call
        else {
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
        self.create_peer(false);
        Ok(())
    }

    pub(super) fn reject(&mut self) -> Result<(), ClientError> {
        match &self.call {
            Call::Incoming { call_id, .. } => {
                let call_id = call_id.clone();
                self.go_idle();
                self.send(ClientMsg::Reject { call_id });
                Ok(())
            }
            _ => Err(ClientError::NoCall("reject")),
        }
    }

    /// Sends a fresh UserSig to extend the session; the server answers with `Renewed` (an event
    /// [`CallEvent::SessionRenewed`]) or an error. Once confirmed, the UserSig is the one to log
    /// in again with after a lost connection; while reconnecting it is that at once (and the
    /// renewal goes out after the login).
    pub(super) fn renew(&mut self, user_sig: String) -> Result<(), ClientError> {
        if self.user_id().is_none() {
            return Err(ClientError::NotLoggedIn);
        }
        if self.is_reconnecting() {
            self.user_sig = user_sig.clone();
        }
        self.renewing = Some(user_sig.clone());
        self.send(ClientMsg::Renew { user_sig });
        Ok(())
    }

    /// Hangs up call `call_id`, which lasted `duration_secs`, and tells the app it is over.
    fn hang_up_call(&mut self, call_id: CallId, duration_secs: u64) {
        self.send(ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        });
        let ended_by = self.user_id().map(str::to_owned);
        self.event(CallEvent::CallEnd {
            call_id,
            duration_secs,
            ended_by,
            failure: None,
        });
    }

    pub(super) fn hangup(&mut self, now: Millis) -> Result<(), ClientError> {
        match self.take_call() {
            Call::Idle => return Err(ClientError::NoCall("hang up")),
            Call::Inviting { req, callee, .. } => self.abandon_invite(req, &callee),
            Call::Dialing { call_id, .. } => self.send(ClientMsg::Cancel { call_id }),
            Call::Incoming { call_id, .. } => self.send(ClientMsg::Reject { call_id }),
            // While accepting, the server may have accepted already; a hang-up covers both
            // cases. The app already shows the call, so it ends like one.
            Call::Accepting { call_id, .. } => self.hang_up_call(call_id, 0),
            Call::Active { call_id, since, .. } => {
                self.hang_up_call(call_id, now.saturating_sub(since) / 1000)
            }
        }
        self.out(Output::Media(MediaCommand::Close));
        self.ring_pending();
        Ok(())
    }

    pub(super) fn set_mic_mute(&mut self, mute: bool) -> Result<(), ClientError> {
        let Call::Active { muted, call_id, .. } = &mut self.call else {
            return Err(ClientError::NoCall("mute"));
        };
        let changed = *muted != mute;
        *muted = mute;
        let call_id = call_id.clone();
        self.out(Output::Media(MediaCommand::SetMicMuted(mute)));
        if changed {
            // The other side shows it (`UserAudioAvailable`).
            self.send(ClientMsg::Signal {
                call_id,
                signal: Signal::Mute { muted: mute },
            });
        }
        Ok(())
    }

    pub(super) fn watch_presence(&mut self, users: Vec<UserId>) -> Result<(), ClientError> {
        self.presence.set_watched(users)?;
        if self.user_id().is_some() {
            let users = self.presence.watched().to_vec();
            self.send(ClientMsg::Watch { users });
        }
        Ok(())
    }
}
