//! The app's state and the one place it changes: a [`Reducible`] fed by the calling service's
//! events and by the user's own requests.
//!
//! Pages render from [`AppState`] only, and the router follows it (see [`crate::app`]), so the
//! screen always says what the client is doing. Every client event comes with the client's
//! [`CallState`] taken right after it; the call view is reconciled with that snapshot, so a call
//! the client dropped (a microphone error, say, which is reported as a bare `Error`) never
//! lingers on screen. The events themselves supply the notices that say why a call ended.
//!
//! The state holds data, never display text: [`crate::strings`] turns it into words.

use std::rc::Rc;

use webcall_client::{CallEvent, CallState, NoRespReason};
use yew::Reducible;

/// Who is logged in.
#[derive(Debug, Clone, PartialEq)]
pub enum Session {
    LoggedOut,
    /// A login is under way; `restoring` when it replays the one saved for this tab.
    LoggingIn {
        user_id: String,
        restoring: bool,
    },
    LoggedIn {
        user_id: String,
    },
}

/// The call as the user sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum CallView {
    Idle,
    /// The user is calling `callee`.
    Dialing {
        callee: String,
    },
    /// `caller` is calling the user.
    Ringing {
        caller: String,
    },
    /// In a call with `peer`.
    InCall {
        peer: String,
        /// When the call was accepted, on the page's `performance.now()` clock. `None` while
        /// the user's own accept is on its way.
        since_ms: Option<f64>,
        /// Whether the audio is connected.
        connected: bool,
        /// Whether the user's microphone is muted.
        muted: bool,
    },
}

/// Why the last call ended, or what went wrong, shown on `/call`.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// An accepted call is over: after `duration_secs` when known; `failure` when it broke off.
    CallEnded {
        duration_secs: Option<u64>,
        failure: Option<String>,
    },
    /// The callee rejected the call.
    Rejected(String),
    /// The callee is in another call.
    Busy(String),
    /// The callee did not answer; with the reason when they could not be reached.
    NoAnswer(Option<String>),
    /// The call was withdrawn: by the caller, or by the user while dialling.
    Cancelled,
    /// A call rang here until it timed out.
    Missed(String),
    /// A failure reported by the calling service.
    Error(String),
}

/// Why the user is on the login page.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginError {
    /// A failed login, as reported.
    Message(String),
    /// The same user logged in elsewhere.
    KickedOut,
    /// The connection to the server was lost.
    Disconnected(String),
}

/// Everything the pages render from.
#[derive(Debug, Clone, PartialEq)]
pub struct AppState {
    pub session: Session,
    pub call: CallView,
    pub notice: Option<Notice>,
    pub login_error: Option<LoginError>,
}

/// What can happen to the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The user asked to log in (or a saved session is being restored).
    LoggingIn { user_id: String, restoring: bool },
    /// The login could not even start: the UserSig could not be fetched, say.
    LoginFailed(String),
    /// An event from the calling service, with its call state right after the event.
    Event(CallEvent, CallState),
    /// The user's own `call` went through: dialling.
    Dialed(CallState),
    /// The user accepted the ringing call.
    Accepted,
    /// The user's own hang-up (cancel, reject) went through; the state before it.
    LeftCall(CallState),
    /// The user's own mute or unmute went through.
    Muted(bool),
}

impl AppState {
    /// The state at start-up: logging in again when this tab has a saved session.
    pub fn new(restoring: Option<String>) -> Self {
        AppState {
            session: match restoring {
                Some(user_id) => Session::LoggingIn {
                    user_id,
                    restoring: true,
                },
                None => Session::LoggedOut,
            },
            call: CallView::Idle,
            notice: None,
            login_error: None,
        }
    }

    /// The logged-in user.
    pub fn user_id(&self) -> Option<&str> {
        match &self.session {
            Session::LoggedIn { user_id } => Some(user_id),
            _ => None,
        }
    }

    /// Whether a login is under way.
    pub fn logging_in(&self) -> bool {
        matches!(self.session, Session::LoggingIn { .. })
    }

    fn event(&mut self, event: CallEvent, snapshot: CallState) {
        match event {
            CallEvent::LoggedIn { user_id } => {
                self.session = Session::LoggedIn { user_id };
                self.login_error = None;
                self.notice = None;
            }
            CallEvent::LoggedOut { reason } => {
                if let (Session::LoggedIn { .. }, None, Some(reason)) =
                    (&self.session, &self.login_error, reason)
                {
                    self.login_error = Some(LoginError::Disconnected(reason));
                }
                self.session = Session::LoggedOut;
                self.notice = None;
            }
            CallEvent::KickedOut => self.login_error = Some(LoginError::KickedOut),
            CallEvent::Invited { .. }
            | CallEvent::UserEnter { .. }
            | CallEvent::UserLeave { .. } => {}
            CallEvent::UserAccept { .. } => self.notice = None,
            CallEvent::Reject { user_id } => self.notice = Some(Notice::Rejected(user_id)),
            CallEvent::LineBusy { user_id } => self.notice = Some(Notice::Busy(user_id)),
            CallEvent::NoResp { reason, .. } => {
                self.notice = Some(Notice::NoAnswer(match reason {
                    NoRespReason::Timeout => None,
                    NoRespReason::Unreachable(why) => Some(why),
                }))
            }
            CallEvent::CallingCancel { .. } => self.notice = Some(Notice::Cancelled),
            CallEvent::CallingTimeout { sponsor, .. } => {
                self.notice = Some(Notice::Missed(sponsor))
            }
            CallEvent::CallEnd {
                duration_secs,
                failure,
                ..
            } => {
                self.notice = Some(Notice::CallEnded {
                    duration_secs: Some(duration_secs),
                    failure,
                })
            }
            CallEvent::Error { message, .. } => {
                if self.logging_in() {
                    self.login_error = Some(LoginError::Message(message));
                } else {
                    self.notice = Some(Notice::Error(message));
                }
            }
        }
        self.reconcile(snapshot);
    }

    /// Brings the call view in line with the client's call state.
    fn reconcile(&mut self, snapshot: CallState) {
        if self.user_id().is_none() {
            self.call = CallView::Idle;
            return;
        }
        self.call = match snapshot {
            CallState::Idle => CallView::Idle,
            CallState::Dialing { callee } => CallView::Dialing { callee },
            CallState::Incoming { caller, .. } => match &self.call {
                // Accepted here; the client is still opening the microphone or waiting for
                // the server.
                CallView::InCall { peer, .. } if *peer == caller => return,
                _ => CallView::Ringing { caller },
            },
            CallState::InCall {
                peer,
                since_ms,
                connected,
                muted,
                ..
            } => CallView::InCall {
                peer,
                since_ms: Some(since_ms as f64),
                connected,
                muted,
            },
        };
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = (*self).clone();
        match action {
            Action::LoggingIn { user_id, restoring } => {
                state.session = Session::LoggingIn { user_id, restoring };
                state.login_error = None;
            }
            Action::LoginFailed(message) => {
                state.session = Session::LoggedOut;
                state.login_error = Some(LoginError::Message(message));
            }
            Action::Event(event, snapshot) => state.event(event, snapshot),
            Action::Dialed(snapshot) => {
                state.notice = None;
                state.reconcile(snapshot);
            }
            Action::Accepted => {
                if let CallView::Ringing { caller } = &state.call {
                    state.notice = None;
                    state.call = CallView::InCall {
                        peer: caller.clone(),
                        since_ms: None,
                        connected: false,
                        muted: false,
                    };
                }
            }
            Action::LeftCall(before) => {
                match (&state.call, before) {
                    (CallView::Dialing { .. }, _) => state.notice = Some(Notice::Cancelled),
                    // Hung up before the call was set up: no CallEnd comes for that.
                    (CallView::InCall { .. }, CallState::Incoming { .. }) => {
                        state.notice = Some(Notice::CallEnded {
                            duration_secs: None,
                            failure: None,
                        })
                    }
                    _ => {}
                }
                state.call = CallView::Idle;
            }
            Action::Muted(muted) => {
                if let CallView::InCall { muted: m, .. } = &mut state.call {
                    *m = muted;
                }
            }
        }
        if state == *self {
            self
        } else {
            Rc::new(state)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(state: AppState, actions: impl IntoIterator<Item = Action>) -> AppState {
        let mut state = Rc::new(state);
        for action in actions {
            state = state.reduce(action);
        }
        (*state).clone()
    }

    fn logged_in(user_id: &str) -> AppState {
        reduce(
            AppState::new(None),
            [Action::Event(
                CallEvent::LoggedIn {
                    user_id: user_id.into(),
                },
                CallState::Idle,
            )],
        )
    }

    fn in_call(peer: &str) -> CallState {
        CallState::InCall {
            peer: peer.into(),
            call_id: "c1".into(),
            since_ms: 1000,
            connected: false,
            muted: false,
        }
    }

    #[test]
    fn login_failure_is_shown_on_the_login_page() {
        let state = reduce(
            AppState::new(Some("alice".into())),
            [
                Action::Event(
                    CallEvent::Error {
                        code: 70001,
                        message: "UserSig has expired".into(),
                    },
                    CallState::Idle,
                ),
                Action::Event(
                    CallEvent::LoggedOut {
                        reason: Some("login failed".into()),
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert_eq!(state.session, Session::LoggedOut);
        assert_eq!(
            state.login_error,
            Some(LoginError::Message("UserSig has expired".into()))
        );
    }

    #[test]
    fn a_dialled_call_that_is_rejected_leaves_a_notice() {
        let state = reduce(
            logged_in("alice"),
            [
                Action::Dialed(CallState::Dialing {
                    callee: "bob".into(),
                }),
                Action::Event(
                    CallEvent::Reject {
                        user_id: "bob".into(),
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(state.notice, Some(Notice::Rejected("bob".into())));
    }

    #[test]
    fn a_microphone_error_while_dialling_ends_the_dialling() {
        let state = reduce(
            logged_in("alice"),
            [
                Action::Dialed(CallState::Dialing {
                    callee: "bob".into(),
                }),
                Action::Event(
                    CallEvent::Error {
                        code: 60005,
                        message: "access to the microphone was denied".into(),
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(
            state.notice,
            Some(Notice::Error("access to the microphone was denied".into()))
        );
    }

    #[test]
    fn an_accepted_call_waits_for_the_server_then_runs_and_ends() {
        let ringing = CallState::Incoming {
            caller: "bob".into(),
            call_id: "c1".into(),
        };
        let invited = CallEvent::Invited {
            sponsor: "bob".into(),
            call_id: "c1".into(),
            call_type: Default::default(),
            timeout_secs: 30,
        };
        let state = reduce(
            logged_in("alice"),
            [Action::Event(invited, ringing.clone()), Action::Accepted],
        );
        assert_eq!(
            state.call,
            CallView::InCall {
                peer: "bob".into(),
                since_ms: None,
                connected: false,
                muted: false
            }
        );
        let state = reduce(
            state,
            [
                Action::Event(
                    CallEvent::UserEnter {
                        user_id: "bob".into(),
                    },
                    in_call("bob"),
                ),
                Action::Muted(true),
            ],
        );
        assert!(matches!(
            state.call,
            CallView::InCall {
                since_ms: Some(_),
                muted: true,
                ..
            }
        ));
        let state = reduce(
            state,
            [Action::Event(
                CallEvent::CallEnd {
                    call_id: "c1".into(),
                    duration_secs: 42,
                    ended_by: Some("bob".into()),
                    failure: None,
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(
            state.notice,
            Some(Notice::CallEnded {
                duration_secs: Some(42),
                failure: None
            })
        );
    }

    #[test]
    fn own_cancel_says_call_cancelled() {
        let dialing = CallState::Dialing {
            callee: "bob".into(),
        };
        let state = reduce(
            logged_in("alice"),
            [Action::Dialed(dialing.clone()), Action::LeftCall(dialing)],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(state.notice, Some(Notice::Cancelled));
    }

    #[test]
    fn losing_the_connection_logs_out_with_a_reason() {
        let state = reduce(
            logged_in("alice"),
            [Action::Event(
                CallEvent::LoggedOut {
                    reason: Some("the server went away".into()),
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.session, Session::LoggedOut);
        assert_eq!(
            state.login_error,
            Some(LoginError::Disconnected("the server went away".into()))
        );
    }
}
