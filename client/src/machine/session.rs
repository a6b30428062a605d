//! The session: the socket to the server, the login on it, its timers and its end.
//!
//! The machine logs in over a socket the shell opens for it ([`Output::OpenSocket`]), gives the
//! login [`LOGIN_TIMEOUT_MS`](super::LOGIN_TIMEOUT_MS) to succeed, then pings every
//! [`HEARTBEAT_INTERVAL_MS`]. However the session ends (logout, lost socket, refused or late
//! login, kicked out), it ends through `close_session`, so the app always hears one `LoggedOut`.

use webcall_protocol::{ClientMsg, IceServer, UserId};

use super::{Machine, Millis, Output, Session, Timer, HEARTBEAT_INTERVAL_MS};
use crate::CallEvent;

impl Machine {
    pub(super) fn socket_opened(&mut self) {
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

    pub(super) fn socket_closed(&mut self, now: Millis, reason: String) {
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
    pub(super) fn close_session(&mut self, reason: Option<String>) {
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

    /// The server accepted the login: the heartbeat starts and the watch list goes out.
    pub(super) fn logged_in(
        &mut self,
        now: Millis,
        user_id: UserId,
        ice_servers: Vec<IceServer>,
        relay_only: bool,
    ) {
        if !matches!(self.session, Session::Authenticating { .. }) {
            return;
        }
        self.session = Session::LoggedIn {
            user_id: user_id.clone(),
            ice_servers,
            relay_only,
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

    pub(super) fn timer(&mut self, now: Millis, timer: Timer) {
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
}
