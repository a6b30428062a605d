//! The app's state and the one place it changes: a [`Reducible`] fed by the calling service's
//! events and by the user's own requests.
//!
//! Pages render from [`AppState`] only, and the router follows it (see [`crate::app`]), so the
//! screen always says what the client is doing. Every client event comes with the client's
//! [`CallState`] taken right after it; the call view is reconciled with that snapshot, so a call
//! the client dropped (a microphone error, say, which is reported as a bare `Error`) never
//! lingers on screen. The events themselves supply the notices that say why a call ended. The
//! state also keeps the presence of the user IDs `/call` watches ([`Action::Watched`]).
//!
//! The state holds data, never display text: [`crate::strings`] turns it into words.

use std::collections::BTreeMap;
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
    /// The user is calling `callee`. `ringing` is how many of the callee's devices ring, once
    /// the server has said: 0 when the callee is offline and the call waits for them.
    Dialing {
        callee: String,
        ringing: Option<u32>,
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
    /// The user is in a call with `peer` on another device: no call can be placed here.
    Elsewhere {
        peer: String,
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
    /// The callee had no device online for the whole ring timeout.
    NoAnswerOffline(String),
    /// The call was withdrawn: by the caller, or by the user while dialling.
    Cancelled,
    /// The caller's connection dropped while their call rang here.
    CallerDisconnected(String),
    /// The call that rang here was accepted on another of the user's devices.
    AnsweredElsewhere,
    /// The call that rang here was rejected on another of the user's devices.
    RejectedElsewhere,
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
    /// The user is logged in on as many devices as the server allows.
    TooManyDevices,
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
    /// The user IDs whose presence is watched, each with whether it is online once known.
    pub presence: BTreeMap<String, Option<bool>>,
}

/// The code of the [`CallEvent::Error`] that refuses a login because the user is logged in on
/// too many devices.
pub const TOO_MANY_DEVICES: i32 = 60040;

/// What can happen to the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The user asked to log in (or a saved session is being restored).
    LoggingIn { user_id: String, restoring: bool },
    /// The login could not even start: the UserSig could not be fetched, say.
    LoginFailed(String),
    /// An event from the calling service, with its call state right after the event.
    Event(CallEvent, CallState),
    /// The user's own `call` went through: dialling, or (glare: the callee was calling the
    /// user) connecting to their call. With the call state right after it.
    Dialed(CallState),
    /// The user accepted the ringing call; the call state right after it.
    Accepted(CallState),
    /// The user's own hang-up (cancel, reject) went through; the state before it.
    LeftCall(CallState),
    /// The user's own mute or unmute went through.
    Muted(bool),
    /// The presence of these user IDs (and no others) is watched now, each with what the
    /// calling service knows of it already.
    Watched(Vec<(String, Option<bool>)>),
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
            presence: BTreeMap::new(),
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

    /// Whether `user_id` is online, when it is watched and known.
    pub fn presence(&self, user_id: &str) -> Option<bool> {
        self.presence.get(user_id).copied().flatten()
    }

    fn event(&mut self, event: CallEvent, snapshot: CallState) {
        match event {
            CallEvent::LoggedIn { user_id } => {
                self.session = Session::LoggedIn { user_id };
                self.login_error = None;
                self.notice = None;
                self.presence.clear();
            }
            CallEvent::LoggedOut { reason } => {
                if let (Session::LoggedIn { .. }, None, Some(reason)) =
                    (&self.session, &self.login_error, reason)
                {
                    self.login_error = Some(LoginError::Disconnected(reason));
                }
                self.session = Session::LoggedOut;
                self.notice = None;
                self.presence.clear();
            }
            CallEvent::KickedOut => self.login_error = Some(LoginError::KickedOut),
            // The call state says all there is to these.
            CallEvent::Invited { .. }
            | CallEvent::SessionExpiring { .. }
            | CallEvent::SessionRenewed { .. }
            | CallEvent::Ringing { .. }
            | CallEvent::UserEnter { .. }
            | CallEvent::UserLeave { .. }
            | CallEvent::InCallElsewhere { .. }
            | CallEvent::InCallElsewhereEnded { .. } => {}
            CallEvent::UserAccept { .. } => self.notice = None,
            CallEvent::Reject { user_id } => self.notice = Some(Notice::Rejected(user_id)),
            CallEvent::LineBusy { user_id } => self.notice = Some(Notice::Busy(user_id)),
            CallEvent::NoResp { user_id, reason } => {
                self.notice = Some(match reason {
                    NoRespReason::Timeout => Notice::NoAnswer(None),
                    NoRespReason::Offline => Notice::NoAnswerOffline(user_id),
                    NoRespReason::Unreachable(why) => Notice::NoAnswer(Some(why)),
                })
            }
            CallEvent::CallingCancel {
                sponsor,
                caller_disconnected,
                ..
            } => {
                self.notice = Some(if caller_disconnected {
                    Notice::CallerDisconnected(sponsor)
                } else {
                    Notice::Cancelled
                })
            }
            CallEvent::AnsweredElsewhere { .. } => self.notice = Some(Notice::AnsweredElsewhere),
            CallEvent::RejectedElsewhere { .. } => self.notice = Some(Notice::RejectedElsewhere),
            CallEvent::PresenceChanged { user_id, online } => {
                // A late answer for an ID no longer watched is dropped.
                if let Some(known) = self.presence.get_mut(&user_id) {
                    *known = Some(online);
                }
            }
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
            CallEvent::Error { code, message } => {
                if self.logging_in() {
                    self.login_error = Some(if code == TOO_MANY_DEVICES {
                        LoginError::TooManyDevices
                    } else {
                        LoginError::Message(message)
                    });
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
            CallState::Dialing { callee, ringing } => CallView::Dialing { callee, ringing },
            CallState::Incoming { caller, .. } => CallView::Ringing { caller },
            // Accepted here; the client is opening the microphone and waiting for the server.
            CallState::Connecting { peer, .. } => {
                let muted = match &self.call {
                    CallView::InCall { peer: p, muted, .. } if *p == peer => *muted,
                    _ => false,
                };
                CallView::InCall {
                    peer,
                    since_ms: None,
                    connected: false,
                    muted,
                }
            }
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
            CallState::Elsewhere { peer, .. } => CallView::Elsewhere { peer },
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
            Action::Accepted(snapshot) => {
                state.notice = None;
                state.reconcile(snapshot);
            }
            Action::LeftCall(before) => {
                match (&state.call, before) {
                    (CallView::Dialing { .. }, _) => state.notice = Some(Notice::Cancelled),
                    // Hung up before the call was set up: no CallEnd may come for that (when the
                    // client's own CallEnd came first, the view is idle already).
                    (
                        CallView::InCall { .. },
                        CallState::Incoming { .. } | CallState::Connecting { .. },
                    ) => {
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
            Action::Watched(users) => {
                // What arrived already for an ID still watched stands; the client's word
                // overrides it.
                let before = std::mem::take(&mut state.presence);
                state.presence = users
                    .into_iter()
                    .map(|(id, known)| {
                        let known = known.or_else(|| before.get(&id).copied().flatten());
                        (id, known)
                    })
                    .collect();
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

    fn dialing(callee: &str, ringing: Option<u32>) -> CallState {
        CallState::Dialing {
            callee: callee.into(),
            ringing,
        }
    }

    fn incoming(caller: &str) -> CallState {
        CallState::Incoming {
            caller: caller.into(),
            call_id: "c1".into(),
        }
    }

    fn connecting(peer: &str) -> CallState {
        CallState::Connecting {
            peer: peer.into(),
            call_id: "c1".into(),
        }
    }

    fn elsewhere(peer: &str) -> CallState {
        CallState::Elsewhere {
            peer: peer.into(),
            call_id: "c1".into(),
        }
    }

    fn invited(caller: &str) -> CallEvent {
        CallEvent::Invited {
            sponsor: caller.into(),
            call_id: "c1".into(),
            call_type: Default::default(),
            timeout_secs: 30,
        }
    }

    /// Logged in as alice with bob's call ringing.
    fn rung_by_bob() -> AppState {
        reduce(
            logged_in("alice"),
            [Action::Event(invited("bob"), incoming("bob"))],
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
                Action::Dialed(dialing("bob", None)),
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
                Action::Dialed(dialing("bob", None)),
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
        let state = reduce(rung_by_bob(), [Action::Accepted(connecting("bob"))]);
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
        let dialing = dialing("bob", Some(1));
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

    #[test]
    fn ringing_says_whether_the_callee_is_offline_or_on_how_many_devices() {
        let ringing = |devices| CallEvent::Ringing {
            callee: "bob".into(),
            devices,
        };
        let state = reduce(logged_in("alice"), [Action::Dialed(dialing("bob", None))]);
        assert_eq!(
            state.call,
            CallView::Dialing {
                callee: "bob".into(),
                ringing: None
            }
        );
        let state = reduce(state, [Action::Event(ringing(0), dialing("bob", Some(0)))]);
        assert_eq!(
            state.call,
            CallView::Dialing {
                callee: "bob".into(),
                ringing: Some(0)
            }
        );
        let state = reduce(state, [Action::Event(ringing(2), dialing("bob", Some(2)))]);
        assert_eq!(
            state.call,
            CallView::Dialing {
                callee: "bob".into(),
                ringing: Some(2)
            }
        );
    }

    #[test]
    fn no_answer_from_an_offline_callee_says_so() {
        let state = reduce(
            logged_in("alice"),
            [
                Action::Dialed(dialing("bob", Some(0))),
                Action::Event(
                    CallEvent::NoResp {
                        user_id: "bob".into(),
                        reason: NoRespReason::Offline,
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(state.notice, Some(Notice::NoAnswerOffline("bob".into())));
        let state = reduce(
            state,
            [
                Action::Dialed(dialing("bob", Some(1))),
                Action::Event(
                    CallEvent::NoResp {
                        user_id: "bob".into(),
                        reason: NoRespReason::Timeout,
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert_eq!(state.notice, Some(Notice::NoAnswer(None)));
    }

    #[test]
    fn a_cancelled_incoming_call_says_whether_the_caller_dropped() {
        let cancel = |caller_disconnected| CallEvent::CallingCancel {
            sponsor: "bob".into(),
            call_id: "c1".into(),
            caller_disconnected,
        };
        let state = reduce(
            rung_by_bob(),
            [Action::Event(cancel(true), CallState::Idle)],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(state.notice, Some(Notice::CallerDisconnected("bob".into())));
        let state = reduce(
            rung_by_bob(),
            [Action::Event(cancel(false), CallState::Idle)],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(state.notice, Some(Notice::Cancelled));
    }

    #[test]
    fn a_call_answered_on_another_device_closes_the_dialog_and_shows_a_banner() {
        let state = reduce(
            rung_by_bob(),
            [Action::Event(
                CallEvent::AnsweredElsewhere {
                    sponsor: "bob".into(),
                    call_id: "c1".into(),
                },
                elsewhere("bob"),
            )],
        );
        assert_eq!(state.call, CallView::Elsewhere { peer: "bob".into() });
        assert_eq!(state.notice, Some(Notice::AnsweredElsewhere));
        let state = reduce(
            state,
            [Action::Event(
                CallEvent::InCallElsewhereEnded {
                    call_id: "c1".into(),
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.call, CallView::Idle);
    }

    #[test]
    fn a_call_rejected_on_another_device_closes_the_dialog() {
        let state = reduce(
            rung_by_bob(),
            [Action::Event(
                CallEvent::RejectedElsewhere {
                    sponsor: "bob".into(),
                    call_id: "c1".into(),
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(state.notice, Some(Notice::RejectedElsewhere));
    }

    #[test]
    fn a_call_on_another_device_shows_until_it_ends() {
        let state = reduce(
            logged_in("alice"),
            [Action::Event(
                CallEvent::InCallElsewhere {
                    call_id: "c1".into(),
                    peer: "carol".into(),
                },
                elsewhere("carol"),
            )],
        );
        assert_eq!(
            state.call,
            CallView::Elsewhere {
                peer: "carol".into()
            }
        );
        assert_eq!(state.notice, None);
        let state = reduce(
            state,
            [Action::Event(
                CallEvent::InCallElsewhereEnded {
                    call_id: "c1".into(),
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.call, CallView::Idle);
    }

    #[test]
    fn presence_is_kept_for_watched_ids_only() {
        let online = |user_id: &str, online| {
            Action::Event(
                CallEvent::PresenceChanged {
                    user_id: user_id.into(),
                    online,
                },
                CallState::Idle,
            )
        };
        let state = reduce(
            logged_in("alice"),
            [Action::Watched(vec![("bob".into(), None)])],
        );
        assert_eq!(state.presence("bob"), None);
        let state = reduce(state, [online("bob", true)]);
        assert_eq!(state.presence("bob"), Some(true));
        let state = reduce(state, [online("bob", false), online("carol", true)]);
        assert_eq!(state.presence("bob"), Some(false));
        // carol is not watched.
        assert_eq!(state.presence("carol"), None);
        // Watching another ID forgets bob; the client's word counts for carol.
        let state = reduce(state, [Action::Watched(vec![("carol".into(), Some(true))])]);
        assert_eq!(state.presence("bob"), None);
        assert_eq!(state.presence("carol"), Some(true));
        // Still watched: what is known stays.
        let state = reduce(
            state,
            [Action::Watched(vec![
                ("carol".into(), None),
                ("dave".into(), None),
            ])],
        );
        assert_eq!(state.presence("carol"), Some(true));
        let state = reduce(state, [Action::Watched(vec![])]);
        assert!(state.presence.is_empty());
        let state = reduce(
            state,
            [
                Action::Watched(vec![("bob".into(), Some(true))]),
                Action::Event(CallEvent::LoggedOut { reason: None }, CallState::Idle),
            ],
        );
        assert!(state.presence.is_empty());
    }

    #[test]
    fn accepting_shows_the_call_until_the_server_confirms() {
        // Events that come before the server's confirmation keep the call on screen.
        let state = reduce(
            rung_by_bob(),
            [
                Action::Accepted(connecting("bob")),
                Action::Muted(true),
                Action::Event(
                    CallEvent::PresenceChanged {
                        user_id: "carol".into(),
                        online: true,
                    },
                    connecting("bob"),
                ),
            ],
        );
        assert_eq!(
            state.call,
            CallView::InCall {
                peer: "bob".into(),
                since_ms: None,
                connected: false,
                muted: true
            }
        );
        // A call still ringing is ringing, whatever the view was.
        let state = reduce(
            state,
            [Action::Event(
                CallEvent::UserLeave {
                    user_id: "bob".into(),
                },
                incoming("bob"),
            )],
        );
        assert_eq!(
            state.call,
            CallView::Ringing {
                caller: "bob".into()
            }
        );
    }

    #[test]
    fn hanging_up_while_connecting_ends_the_call() {
        let state = reduce(
            rung_by_bob(),
            [
                Action::Accepted(connecting("bob")),
                Action::LeftCall(connecting("bob")),
            ],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(
            state.notice,
            Some(Notice::CallEnded {
                duration_secs: None,
                failure: None
            })
        );
        // The client's own CallEnd, when it comes first, stands.
        let state = reduce(
            rung_by_bob(),
            [
                Action::Accepted(connecting("bob")),
                Action::Event(
                    CallEvent::CallEnd {
                        call_id: "c1".into(),
                        duration_secs: 0,
                        ended_by: Some("alice".into()),
                        failure: None,
                    },
                    CallState::Idle,
                ),
                Action::LeftCall(connecting("bob")),
            ],
        );
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(
            state.notice,
            Some(Notice::CallEnded {
                duration_secs: Some(0),
                failure: None
            })
        );
    }

    #[test]
    fn kicked_out_goes_to_login_with_the_reason() {
        let state = reduce(
            logged_in("alice"),
            [
                Action::Event(CallEvent::KickedOut, CallState::Idle),
                Action::Event(
                    CallEvent::LoggedOut {
                        reason: Some("kicked out".into()),
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert_eq!(state.session, Session::LoggedOut);
        assert_eq!(state.login_error, Some(LoginError::KickedOut));
    }

    #[test]
    fn too_many_devices_is_a_login_error() {
        let state = reduce(
            AppState::new(None),
            [
                Action::LoggingIn {
                    user_id: "alice".into(),
                    restoring: false,
                },
                Action::Event(
                    CallEvent::Error {
                        code: TOO_MANY_DEVICES,
                        message: "too many devices".into(),
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
        assert_eq!(state.login_error, Some(LoginError::TooManyDevices));
    }

    #[test]
    fn calling_the_caller_of_a_ringing_call_connects_to_it() {
        // Glare here: the client accepted bob's call instead of placing one.
        let state = reduce(rung_by_bob(), [Action::Dialed(connecting("bob"))]);
        assert_eq!(
            state.call,
            CallView::InCall {
                peer: "bob".into(),
                since_ms: None,
                connected: false,
                muted: false
            }
        );
        assert_eq!(state.notice, None);
    }

    #[test]
    fn crossed_calls_become_one_accepted_call() {
        // Glare at the server: alice's call to bob was merged into bob's call to her.
        let state = reduce(
            logged_in("alice"),
            [
                Action::Dialed(dialing("bob", None)),
                Action::Event(
                    CallEvent::UserAccept {
                        user_id: "bob".into(),
                    },
                    in_call("bob"),
                ),
            ],
        );
        assert_eq!(
            state.call,
            CallView::InCall {
                peer: "bob".into(),
                since_ms: Some(1000.0),
                connected: false,
                muted: false
            }
        );
    }
}
