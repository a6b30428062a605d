//! Reconnecting: a lost connection to the server ends neither the session nor the call.
//!
//! The call's audio goes browser to browser; the server only signals. So when the socket drops
//! (a network change, a laptop lid, a server restart), or the heartbeat finds that the server
//! stopped answering, the machine keeps the call and its media as they are, tells the app
//! ([`CallEvent::Reconnecting`]) and logs in again on a new socket after a jittered backoff
//! (see `backoff`), for as long as it takes. The `Login` carries a [`Resume`]: the session of
//! the last `LoggedIn`, the last numbered message applied (see `sequence`), and the call as this
//! side knows it (see `claim`).
//!
//! - `LoggedIn { resumed: true }`: the server still held the session and sends again what the
//!   connection missed; everything goes on as before.
//! - `LoggedIn { resumed: false }`: a new session (the server restarted, or the session's grace
//!   period ran out). What the server said on the old one about other devices and watched users
//!   is forgotten and asked again; the call stands as claimed (the server ends a claim it can not
//!   honour with a `CallEnded`), except an invitation whose `CallCreated` never came, which no
//!   claim can name.
//! - A login refused for a reason no retry can fix (the UserSig expired, the user logged in on
//!   too many devices, ...) gives up: the call ends, and the session, as a failed login does.
//!
//! Meanwhile the app keeps working locally: hanging up, rejecting, accepting, muting and
//! watching take effect at once, and what they tell the server waits in an outbox (the newest
//! [`OUTBOX_LEN`] messages) to go out, in order, right after the login. Only placing a call is
//! refused ([`ClientError::Reconnecting`](crate::ClientError::Reconnecting)).

use std::collections::VecDeque;

use webcall_protocol::{
    CallClaim, ClaimPhase, ClientMsg, ErrorCode, IceServer, Resume, ServerMsg, Signal,
};

use super::backoff::backoff;
use super::sequence::Sequence;
use super::{
    server_error_code, Call, Left, Machine, Millis, Output, Session, Timer, LOGIN_TIMEOUT_MS,
};
use crate::CallEvent;

/// Why a call ends when the connection to the server can not be restored.
pub(super) const LOST_CONNECTION: &str = "lost the connection to the server";

/// The most messages held for the server while reconnecting; beyond, the oldest are dropped.
pub const OUTBOX_LEN: usize = 128;

/// The connection of a logged-in session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    /// Logged in on an open socket.
    Up,
    /// The connection was lost; reconnection attempt `attempt` (0 for the first) is under way.
    Down { attempt: u32, stage: Stage },
}

/// How far a reconnection attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Waiting out the backoff, until [`Timer::Reconnect`].
    Waiting,
    /// The socket is opening.
    Opening,
    /// The `Login` with its `Resume` is sent, the answer not yet in.
    LoggingIn,
}

/// What the machine tells the server while the connection is down, to be sent after the login.
#[derive(Debug, Default)]
pub(super) struct Outbox(VecDeque<ClientMsg>);

impl Outbox {
    /// Holds `msg`, dropping the oldest message when full. Pings are not held: the next
    /// connection has its own heartbeat.
    pub(super) fn push(&mut self, msg: ClientMsg) {
        if msg == ClientMsg::Ping {
            return;
        }
        if self.0.len() == OUTBOX_LEN {
            self.0.pop_front();
        }
        self.0.push_back(msg);
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

/// Whether `claim` already says what `msg` asks for: the callee's `Accept` of a call claimed as
/// accepted, the `Reject`, `Cancel` or `Hangup` of a call claimed as left.
fn claim_says(claim: &CallClaim, msg: &ClientMsg) -> bool {
    match (&claim.phase, msg) {
        (ClaimPhase::Accepted { .. }, ClientMsg::Accept { call_id }) => *call_id == claim.call_id,
        (
            ClaimPhase::Left { .. },
            ClientMsg::Reject { call_id }
            | ClientMsg::Cancel { call_id }
            | ClientMsg::Hangup { call_id, .. },
        ) => *call_id == claim.call_id,
        _ => false,
    }
}

/// Whether a refused login is final: retrying with the same UserSig can not succeed, or the
/// server ended the session on purpose.
fn login_refusal_is_final(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::BadUserSig
            | ErrorCode::UserSigExpired
            | ErrorCode::UserSigWrongUser
            | ErrorCode::WrongSdkAppId
            | ErrorCode::TooManyDevices
            | ErrorCode::SessionExpired
            | ErrorCode::KickedOut
    )
}

impl Machine {
    /// Whether the connection to the server is lost and being restored: the user is still
    /// logged in, the call goes on, and messages for the server wait for the new connection.
    pub fn is_reconnecting(&self) -> bool {
        matches!(
            self.session,
            Session::LoggedIn {
                link: Link::Down { .. },
                ..
            }
        )
    }

    fn link(&self) -> Option<Link> {
        match self.session {
            Session::LoggedIn { link, .. } => Some(link),
            _ => None,
        }
    }

    /// The logged-in session's socket is gone (it closed, or the heartbeat found it dead):
    /// reconnect, leaving the call and its media alone.
    pub(super) fn connection_lost(&mut self, now: Millis) {
        self.out(Output::AbandonSocket);
        self.out(Output::CancelTimer(Timer::Heartbeat));
        self.schedule_attempt(now, 0);
    }

    /// Waits out the backoff of attempt `attempt`, telling the app.
    fn schedule_attempt(&mut self, now: Millis, attempt: u32) {
        let Session::LoggedIn { link, .. } = &mut self.session else {
            return;
        };
        *link = Link::Down {
            attempt,
            stage: Stage::Waiting,
        };
        let retry_in_ms = backoff(attempt, &mut self.rng);
        self.out(Output::SetTimer {
            timer: Timer::Reconnect,
            at: now + retry_in_ms,
        });
        self.event(CallEvent::Reconnecting {
            attempt,
            retry_in_ms,
        });
    }

    /// The current attempt failed (its socket closed, its login timed out or was refused for a
    /// passing reason): the next one follows, after a longer backoff.
    pub(super) fn attempt_failed(&mut self, now: Millis) {
        let Some(Link::Down { attempt, .. }) = self.link() else {
            return;
        };
        self.out(Output::AbandonSocket);
        self.out(Output::CancelTimer(Timer::LoginDeadline));
        self.schedule_attempt(now, attempt.saturating_add(1));
    }

    /// [`Timer::Reconnect`]: the backoff is over; open a new socket, with the login's deadline.
    pub(super) fn reconnect_now(&mut self, now: Millis) {
        let Session::LoggedIn {
            link:
                Link::Down {
                    stage: stage @ Stage::Waiting,
                    ..
                },
            ..
        } = &mut self.session
        else {
            return;
        };
        *stage = Stage::Opening;
        self.out(Output::OpenSocket);
        self.out(Output::SetTimer {
            timer: Timer::LoginDeadline,
            at: now + LOGIN_TIMEOUT_MS,
        });
    }

    /// The new socket opened: log in again, naming the session, the last message applied and
    /// the call. Sent at once: the outbox waits for the answer.
    pub(super) fn log_in_again(&mut self, now: Millis) {
        let Session::LoggedIn {
            user_id,
            link:
                Link::Down {
                    stage: stage @ Stage::Opening,
                    ..
                },
            ..
        } = &mut self.session
        else {
            return;
        };
        *stage = Stage::LoggingIn;
        let claim = self
            .call
            .claim(now)
            .or_else(|| self.left.as_ref().map(Left::claim));
        self.claimed = claim.clone();
        let login = ClientMsg::Login {
            user_id: user_id.clone(),
            user_sig: self.user_sig.clone(),
            sdk_app_id: self.sdk_app_id,
            resume: Some(Resume {
                session: self.session_token.clone(),
                seq: self.sequence.applied(),
                call: claim,
            }),
        };
        self.out(Output::Send(login));
    }

    /// A message from the server while reconnecting: only the answer to the login counts
    /// (nothing else comes before it).
    pub(super) fn reconnect_answer(&mut self, now: Millis, msg: ServerMsg) {
        if !matches!(
            self.link(),
            Some(Link::Down {
                stage: Stage::LoggingIn,
                ..
            })
        ) {
            return;
        }
        match msg {
            ServerMsg::LoggedIn {
                ice_servers,
                relay_only,
                session,
                resumed,
                ..
            } => self.reconnected(now, ice_servers, relay_only, session, resumed),
            ServerMsg::Error { code, message, .. } if login_refusal_is_final(code) => {
                self.give_up(now, code, message)
            }
            // Too many logins, a server that failed, ...: try again later.
            ServerMsg::Error { .. } => self.attempt_failed(now),
            _ => {}
        }
    }

    /// Logged in again: on the same session (`resumed`) or a new one.
    fn reconnected(
        &mut self,
        now: Millis,
        ice_servers: Vec<IceServer>,
        relay_only: bool,
        session: String,
        resumed: bool,
    ) {
        let Session::LoggedIn {
            ice_servers: ours,
            relay_only: relay,
            link,
            ..
        } = &mut self.session
        else {
            return;
        };
        // Fresh TURN credentials, for the next peer connection.
        *ours = ice_servers;
        *relay = relay_only;
        *link = Link::Up;
        self.out(Output::CancelTimer(Timer::LoginDeadline));
        self.start_heartbeat(now);
        let claimed = self.claimed.take();
        if resumed {
            if !session.is_empty() {
                self.session_token = session;
            }
        } else {
            // What the old session said is void; the new one says it again.
            self.session_token = session;
            self.sequence = Sequence::default();
            self.elsewhere = None;
            self.presence.forget();
            self.pending = None;
            self.cancelled_req = None;
            // Acknowledgements were for the old numbering; the watch list goes out anew.
            self.outbox
                .0
                .retain(|msg| !matches!(msg, ClientMsg::Ack { .. } | ClientMsg::Watch { .. }));
            // What the claim said already (an accept, the message that left the call) is not
            // said again: a new server would refuse the repeat ("already accepted"), and the
            // refusal would undo the call here. What was asked after the claim went out stays.
            if let Some(claim) = &claimed {
                self.outbox.0.retain(|msg| !claim_says(claim, msg));
            }
            if self.needs_new_offer() {
                // The new offer (see `recovery`) supersedes what the old negotiation left.
                self.outbox.0.retain(|msg| {
                    !matches!(msg, ClientMsg::Signal { signal, .. } if !matches!(signal, Signal::Mute { .. }))
                });
            }
            self.send_watch();
            // A mute said to the old server may have died with it.
            if let Call::Active {
                call_id,
                muted: true,
                ..
            } = &self.call
            {
                let msg = ClientMsg::Signal {
                    call_id: call_id.clone(),
                    signal: Signal::Mute { muted: true },
                };
                if !self.outbox.0.contains(&msg) {
                    self.send(msg);
                }
            }
        }
        // The message that left the last call may have died with the old connection: on the
        // same session it goes again (the server refuses a repeat, which goes unsaid); a new
        // session had it in the claim.
        if resumed && self.call == Call::Idle {
            if let Some(msg) = self.left.as_ref().and_then(|l| l.msg.clone()) {
                if !self.outbox.0.contains(&msg) {
                    self.outbox.0.push_front(msg);
                }
            }
        }
        for msg in std::mem::take(&mut self.outbox.0) {
            self.out(Output::Send(msg));
        }
        self.event(CallEvent::Reconnected { resumed });
        if !resumed {
            self.renegotiate_after_new_session();
        }
        if !resumed && matches!(self.call, Call::Inviting { .. }) {
            // The new session never heard of it, and without its ID it can not be claimed.
            self.end_call_failed(now, LOST_CONNECTION);
            self.cancelled_req = None;
        }
    }

    /// The server refused the login for good: the call ends here, then the session.
    fn give_up(&mut self, now: Millis, code: ErrorCode, message: String) {
        // A held invitation must not ring on the way out.
        self.pending = None;
        self.end_call_failed(now, LOST_CONNECTION);
        let reason = match code {
            ErrorCode::KickedOut => {
                self.event(CallEvent::KickedOut);
                "logged in elsewhere"
            }
            ErrorCode::SessionExpired => {
                self.event(CallEvent::Error {
                    code: server_error_code(code),
                    message,
                });
                "the session expired; log in again"
            }
            _ => {
                self.event(CallEvent::Error {
                    code: server_error_code(code),
                    message,
                });
                "login failed"
            }
        };
        self.close_session(Some(reason.into()));
    }
}
