//! The session: the socket to the server, the login on it, its timers and its end.
//!
//! The machine logs in over a socket the shell opens for it ([`Output::OpenSocket`]), gives the
//! login [`LOGIN_TIMEOUT_MS`](super::LOGIN_TIMEOUT_MS) to succeed, then pings every
//! [`HEARTBEAT_INTERVAL_MS`]. A connection on which nothing arrived for [`DEAD_AFTER_MS`] is
//! dead; it, and any other loss of the socket the server did not mean, is restored (see
//! `reconnect`). However the session ends (logout, a close by the server, a refused or late
//! login, kicked out), it ends through `close_session`, so the app always hears one `LoggedOut`.

use webcall_protocol::{ClientMsg, IceServer, UserId};

use super::reconnect::{Link, Stage, LOST_CONNECTION};
use super::sequence::Sequence;
use super::{Machine, Millis, Output, Session, Timer, DEAD_AFTER_MS, HEARTBEAT_INTERVAL_MS};
use crate::CallEvent;

/// WebSocket close codes with which the server ends a session on purpose: normal closure
/// (logged in elsewhere), policy violation (a refused login, a rate limit, an expired session)
/// and a message too big. The session is over; reconnecting would not help.
const SESSION_OVER_CODES: [u16; 3] = [1000, 1008, 1009];

impl Machine {
    pub(super) fn socket_opened(&mut self, now: Millis) {
        match &self.session {
            Session::Connecting { user_id } => {
                let msg = ClientMsg::Login {
                    user_id: user_id.clone(),
                    user_sig: self.user_sig.clone(),
                    sdk_app_id: self.sdk_app_id,
                    resume: None,
                };
                self.session = Session::Authenticating {
                    user_id: user_id.clone(),
                };
                self.send(msg);
            }
            Session::LoggedIn {
                link:
                    Link::Down {
                        stage: Stage::Opening,
                        ..
                    },
                ..
            } => self.log_in_again(now),
            _ => {}
        }
    }

    pub(super) fn socket_closed(&mut self, now: Millis, reason: String, code: u16) {
        match self.session {
            Session::LoggedOut => {}
            Session::Connecting { .. } | Session::Authenticating { .. } => {
                self.event(CallEvent::Error {
                    code: 60020,
                    message: format!("could not reach the server: {reason}"),
                });
                self.close_session(Some(reason));
            }
            Session::LoggedIn { link: Link::Up, .. } if SESSION_OVER_CODES.contains(&code) => {
                // The server ended the session; nothing can be sent any more: leave the call
                // locally only.
                self.session = Session::LoggedOut;
                self.end_call_failed(now, LOST_CONNECTION);
                self.close_session(Some(reason));
            }
            Session::LoggedIn { link: Link::Up, .. } => self.connection_lost(now),
            // The lost socket, told late: the next attempt is already planned.
            Session::LoggedIn {
                link:
                    Link::Down {
                        stage: Stage::Waiting,
                        ..
                    },
                ..
            } => {}
            Session::LoggedIn { .. } => self.attempt_failed(now),
        }
    }

    /// Ends the session: the socket closes, timers stop, what the server said about other
    /// devices and users is forgotten, what waited for the server is dropped, the app hears
    /// `LoggedOut`.
    pub(super) fn close_session(&mut self, reason: Option<String>) {
        self.session = Session::LoggedOut;
        self.cancelled_req = None;
        self.pending = None;
        self.elsewhere = None;
        self.presence.forget();
        self.user_sig.clear();
        self.renewing = None;
        self.session_token.clear();
        self.sequence = Sequence::default();
        self.outbox.clear();
        self.left = None;
        self.leaving = None;
        self.out(Output::CloseSocket);
        self.out(Output::CancelTimer(Timer::LoginDeadline));
        self.out(Output::CancelTimer(Timer::Heartbeat));
        self.out(Output::CancelTimer(Timer::Reconnect));
        self.event(CallEvent::LoggedOut { reason });
    }

    /// The server accepted the login: the heartbeat starts and the watch list goes out.
    pub(super) fn logged_in(
        &mut self,
        now: Millis,
        user_id: UserId,
        ice_servers: Vec<IceServer>,
        relay_only: bool,
        session: String,
    ) {
        if !matches!(self.session, Session::Authenticating { .. }) {
            return;
        }
        self.session = Session::LoggedIn {
            user_id: user_id.clone(),
            ice_servers,
            relay_only,
            link: Link::Up,
        };
        self.session_token = session;
        self.sequence = Sequence::default();
        self.out(Output::CancelTimer(Timer::LoginDeadline));
        self.start_heartbeat(now);
        self.send_watch();
        self.event(CallEvent::LoggedIn { user_id });
    }

    /// A login succeeded at `now`: the connection counts as alive, and pings follow.
    pub(super) fn start_heartbeat(&mut self, now: Millis) {
        self.last_heard = now;
        self.out(Output::SetTimer {
            timer: Timer::Heartbeat,
            at: now + HEARTBEAT_INTERVAL_MS,
        });
    }

    /// Tells a new session which users to watch, if any.
    pub(super) fn send_watch(&mut self) {
        if !self.presence.watched().is_empty() {
            let users = self.presence.watched().to_vec();
            self.send(ClientMsg::Watch { users });
        }
    }

    pub(super) fn timer(&mut self, now: Millis, timer: Timer) {
        match timer {
            Timer::LoginDeadline => match self.session {
                Session::Connecting { .. } | Session::Authenticating { .. } => {
                    self.event(CallEvent::Error {
                        code: 60021,
                        message: "the server did not answer the login in time".into(),
                    });
                    self.close_session(Some("login timed out".into()));
                }
                Session::LoggedIn {
                    link:
                        Link::Down {
                            stage: Stage::Opening | Stage::LoggingIn,
                            ..
                        },
                    ..
                } => self.attempt_failed(now),
                _ => {}
            },
            Timer::IceRestart => self.ice_restart_due(now),
            Timer::Stats => self.stats_due(),
            Timer::MediaLost => self.media_lost_due(now),
            Timer::Heartbeat => {
                if !matches!(self.session, Session::LoggedIn { link: Link::Up, .. }) {
                    return;
                }
                if now.saturating_sub(self.last_heard) >= DEAD_AFTER_MS {
                    // Not even a Pong for a while: the connection is dead, whatever the socket
                    // says.
                    self.connection_lost(now);
                    return;
                }
                self.send(ClientMsg::Ping);
                self.ack_applied();
                self.out(Output::SetTimer {
                    timer: Timer::Heartbeat,
                    at: now + HEARTBEAT_INTERVAL_MS,
                });
            }
            Timer::Reconnect => self.reconnect_now(now),
        }
    }
}
