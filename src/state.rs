//! The app's state and the one place it changes: a [`Reducible`] fed by the calling service's
//! events and by the user's own requests.
//!
//! Pages render from [`AppState`] only, and the router follows it (see [`crate::app`]), so the
//! screen always says what the client is doing. Every client event comes with the client's
//! [`CallState`] taken right after it; the call view is reconciled with that snapshot, so a call
//! the client dropped (a microphone error, say, which is reported as a bare `Error`) never
//! lingers on screen. The events themselves supply the notices that say why a call ended. The
//! state also keeps the presence of the user IDs `/call` watches ([`Action::Watched`]), how this
//! deployment logs in ([`Action::Configured`]), and whether the session is about to end without
//! a way to renew it ([`Action::CannotRenew`]).
//!
//! The state holds data, never display text: [`crate::strings`] turns it into words.

use std::collections::BTreeMap;
use std::rc::Rc;

use webcall_client::{CallEvent, CallState, NoRespReason};
use yew::Reducible;

use crate::api::LoginConfig;

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
        /// Whether the connected audio is interrupted and being restored.
        interrupted: bool,
        /// Whether the user's microphone is muted.
        muted: bool,
        /// Whether the other party's microphone is muted.
        peer_muted: bool,
        /// The call's verification code (`"123 456"`), once the audio has connected.
        verification_code: Option<String>,
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
    /// The server refused the UserSig: its validity is over (code [`USERSIG_EXPIRED`]).
    UserSigExpired,
    /// The server refused the UserSig: malformed, changed, or signed with another key (code
    /// [`USERSIG_INVALID`]).
    UserSigInvalid,
    /// The server refused the UserSig: it was issued for another user ID (code
    /// [`USERSIG_WRONG_USER`]).
    UserSigWrongUser,
    /// The server refused the UserSig: it is for another application (code
    /// [`USERSIG_WRONG_APP`]).
    UserSigWrongApp,
    /// The session's UserSig expired without a renewal and the server ended the session (code
    /// [`SESSION_EXPIRED`]).
    SessionExpired,
}

impl LoginError {
    /// Why the server refused a login, from the code and message of its [`CallEvent::Error`].
    fn refused(code: i32, message: String) -> Self {
        match code {
            TOO_MANY_DEVICES => LoginError::TooManyDevices,
            USERSIG_EXPIRED => LoginError::UserSigExpired,
            USERSIG_INVALID => LoginError::UserSigInvalid,
            USERSIG_WRONG_USER => LoginError::UserSigWrongUser,
            USERSIG_WRONG_APP => LoginError::UserSigWrongApp,
            SESSION_EXPIRED => LoginError::SessionExpired,
            _ => LoginError::Message(message),
        }
    }
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
    /// How this deployment logs in, once `/api/config` has said.
    pub login_config: Option<LoginConfig>,
    /// The session ends in this many seconds (as of the server's warning) and this app cannot
    /// renew it, because its UserSig was pasted: `/call` says so.
    pub expiry_warning_secs: Option<u64>,
    /// The connection to the server was lost and the calling service is reconnecting: every
    /// page says so. The call, if any, goes on meanwhile (its audio does not need the server).
    pub reconnecting: bool,
}

/// The code of the [`CallEvent::Error`] that refuses a login because the user is logged in on
/// too many devices.
pub const TOO_MANY_DEVICES: i32 = 60040;
/// The [`CallEvent::Error`] code of a login refused because its UserSig has expired.
pub const USERSIG_EXPIRED: i32 = 70001;
/// The [`CallEvent::Error`] code of a session that ended because its UserSig expired without
/// a renewal; `LoggedOut` follows.
pub const SESSION_EXPIRED: i32 = 70002;
/// The [`CallEvent::Error`] code of a login refused because its UserSig is malformed, was
/// changed, or was signed with another key.
pub const USERSIG_INVALID: i32 = 70003;
/// The [`CallEvent::Error`] code of a login refused because its UserSig is for another user ID.
pub const USERSIG_WRONG_USER: i32 = 70013;
/// The [`CallEvent::Error`] code of a login refused because its UserSig (or the login) is for
/// another SDKAppID.
pub const USERSIG_WRONG_APP: i32 = 70014;

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
    /// `/api/config` said how this deployment logs in.
    Configured(LoginConfig),
    /// The session is about to expire (in `expires_in_secs`, as the server warned) and cannot
    /// be renewed: its UserSig was pasted, and there is nowhere to fetch a fresh one.
    CannotRenew { expires_in_secs: u64 },
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
            login_config: None,
            expiry_warning_secs: None,
            reconnecting: false,
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
                self.expiry_warning_secs = None;
                self.reconnecting = false;
            }
            CallEvent::LoggedOut { reason } => {
                self.reconnecting = false;
                if let (Session::LoggedIn { .. }, None, Some(reason)) =
                    (&self.session, &self.login_error, reason)
                {
                    self.login_error = Some(LoginError::Disconnected(reason));
                }
                self.session = Session::LoggedOut;
                self.notice = None;
                self.presence.clear();
                self.expiry_warning_secs = None;
            }
            CallEvent::KickedOut => self.login_error = Some(LoginError::KickedOut),
            CallEvent::Reconnecting { .. } => self.reconnecting = true,
            CallEvent::Reconnected { .. } => self.reconnecting = false,
            // However it came about, a renewal lifts the warning.
            CallEvent::SessionRenewed { .. } => self.expiry_warning_secs = None,
            // The call state says all there is to these; the calling bridge renews the session
            // or says it cannot ([`Action::CannotRenew`]).
            CallEvent::Invited { .. }
            | CallEvent::SessionExpiring { .. }
            | CallEvent::Ringing { .. }
            | CallEvent::UserEnter { .. }
            | CallEvent::UserLeave { .. }
            | CallEvent::InCallElsewhere { .. }
            | CallEvent::InCallElsewhereEnded { .. }
            | CallEvent::VerificationCode { .. }
            | CallEvent::AudioInterrupted { .. }
            | CallEvent::AudioRestored { .. }
            | CallEvent::UserAudioAvailable { .. } => {}
            // Live readings go to the components that draw them (see `live`).
            CallEvent::UserVoiceVolume { .. }
            | CallEvent::NetworkQuality(_)
            | CallEvent::DevicesUpdated(_) => {}
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
                if self.logging_in() || code == SESSION_EXPIRED {
                    // An expired session is logged out right after: the login page says why.
                    self.login_error = Some(LoginError::refused(code, message));
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
                    interrupted: false,
                    muted,
                    peer_muted: false,
                    verification_code: None,
                }
            }
            CallState::InCall {
                peer,
                since_ms,
                connected,
                interrupted,
                muted,
                peer_muted,
                verification_code,
                ..
            } => CallView::InCall {
                peer,
                since_ms: Some(since_ms as f64),
                connected,
                interrupted,
                muted,
                peer_muted,
                verification_code,
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
            Action::Configured(config) => state.login_config = Some(config),
            Action::CannotRenew { expires_in_secs } => {
                // A warning that crossed a logout is no news.
                if state.user_id().is_some() {
                    state.expiry_warning_secs = Some(expires_in_secs);
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
            interrupted: false,
            muted: false,
            peer_muted: false,
            verification_code: None,
        }
    }

    #[test]
    fn a_lost_connection_shows_reconnecting_and_keeps_the_call() {
        let state = reduce(
            logged_in("alice"),
            [
                Action::Event(
                    CallEvent::UserAccept {
                        user_id: "bob".into(),
                    },
                    in_call("bob"),
                ),
                Action::Event(
                    CallEvent::Reconnecting {
                        attempt: 0,
                        retry_in_ms: 400,
                    },
                    in_call("bob"),
                ),
            ],
        );
        assert!(state.reconnecting);
        assert!(matches!(&state.call, CallView::InCall { peer, .. } if peer == "bob"));
        assert_eq!(state.user_id(), Some("alice"));

        let state = reduce(
            state,
            [Action::Event(
                CallEvent::Reconnected { resumed: false },
                in_call("bob"),
            )],
        );
        assert!(!state.reconnecting);
        assert!(matches!(&state.call, CallView::InCall { peer, .. } if peer == "bob"));

        // A reconnection that gives up logs out: nothing is left reconnecting.
        let state = reduce(
            state,
            [
                Action::Event(
                    CallEvent::Reconnecting {
                        attempt: 3,
                        retry_in_ms: 5000,
                    },
                    CallState::Idle,
                ),
                Action::Event(
                    CallEvent::LoggedOut {
                        reason: Some("the UserSig has expired".into()),
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert!(!state.reconnecting);
        assert_eq!(state.session, Session::LoggedOut);
    }

    #[test]
    fn login_failure_is_shown_on_the_login_page() {
        let state = reduce(
            AppState::new(Some("alice".into())),
            [
                Action::Event(
                    CallEvent::Error {
                        code: 60039,
                        message: "internal error".into(),
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
            Some(LoginError::Message("internal error".into()))
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
                interrupted: false,
                muted: false,
                peer_muted: false,
                verification_code: None
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
                interrupted: false,
                muted: true,
                peer_muted: false,
                verification_code: None
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

    /// A login the server refuses with `code`, as the client reports it.
    fn refused_login(code: i32) -> AppState {
        reduce(
            AppState::new(None),
            [
                Action::LoggingIn {
                    user_id: "alice".into(),
                    restoring: false,
                },
                Action::Event(
                    CallEvent::Error {
                        code,
                        message: "refused".into(),
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
        )
    }

    #[test]
    fn refused_usersigs_say_why() {
        for (code, error) in [
            (USERSIG_EXPIRED, LoginError::UserSigExpired),
            (USERSIG_INVALID, LoginError::UserSigInvalid),
            (USERSIG_WRONG_USER, LoginError::UserSigWrongUser),
            (USERSIG_WRONG_APP, LoginError::UserSigWrongApp),
        ] {
            let state = refused_login(code);
            assert_eq!(state.session, Session::LoggedOut, "code {code}");
            assert_eq!(state.login_error, Some(error), "code {code}");
        }
        // A restored login refused the same way says the same.
        let state = reduce(
            AppState::new(Some("alice".into())),
            [Action::Event(
                CallEvent::Error {
                    code: USERSIG_EXPIRED,
                    message: "UserSig has expired".into(),
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.login_error, Some(LoginError::UserSigExpired));
    }

    #[test]
    fn an_expired_session_logs_out_saying_so() {
        let state = reduce(
            logged_in("alice"),
            [
                Action::Dialed(dialing("bob", Some(1))),
                Action::Event(
                    CallEvent::Error {
                        code: SESSION_EXPIRED,
                        message: "the session expired".into(),
                    },
                    CallState::Idle,
                ),
                Action::Event(
                    CallEvent::LoggedOut {
                        reason: Some("the session expired; log in again".into()),
                    },
                    CallState::Idle,
                ),
            ],
        );
        assert_eq!(state.session, Session::LoggedOut);
        assert_eq!(state.call, CallView::Idle);
        assert_eq!(state.login_error, Some(LoginError::SessionExpired));
        // Logging in again starts afresh.
        let state = reduce(
            state,
            [Action::LoggingIn {
                user_id: "alice".into(),
                restoring: false,
            }],
        );
        assert_eq!(state.login_error, None);
    }

    #[test]
    fn the_login_config_is_kept() {
        let config = LoginConfig {
            strict: true,
            usersig_url: None,
            sdk_app_id: 1_400_000_000,
        };
        let state = reduce(AppState::new(None), [Action::Configured(config.clone())]);
        assert_eq!(state.login_config, Some(config.clone()));
        // A login and a logout leave it.
        let state = reduce(
            state,
            [
                Action::Event(
                    CallEvent::LoggedIn {
                        user_id: "alice".into(),
                    },
                    CallState::Idle,
                ),
                Action::Event(CallEvent::LoggedOut { reason: None }, CallState::Idle),
            ],
        );
        assert_eq!(state.login_config, Some(config));
    }

    #[test]
    fn a_session_that_cannot_be_renewed_warns_until_it_ends() {
        let warned = reduce(
            logged_in("alice"),
            [
                Action::Event(
                    CallEvent::SessionExpiring {
                        expires_in_secs: 300,
                    },
                    CallState::Idle,
                ),
                Action::CannotRenew {
                    expires_in_secs: 300,
                },
            ],
        );
        assert_eq!(warned.expiry_warning_secs, Some(300));
        // A call and its end leave it.
        let state = reduce(
            warned.clone(),
            [
                Action::Dialed(dialing("bob", None)),
                Action::LeftCall(dialing("bob", None)),
            ],
        );
        assert_eq!(state.expiry_warning_secs, Some(300));
        // The logout at expiry ends it.
        let state = reduce(
            warned.clone(),
            [Action::Event(
                CallEvent::LoggedOut {
                    reason: Some("the session expired; log in again".into()),
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.expiry_warning_secs, None);
        // So does a renewal, however it came about.
        let state = reduce(
            warned,
            [Action::Event(
                CallEvent::SessionRenewed {
                    expires_in_secs: 86_400,
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.expiry_warning_secs, None);
        // A warning that arrives after a logout is dropped.
        let state = reduce(
            AppState::new(None),
            [Action::CannotRenew {
                expires_in_secs: 300,
            }],
        );
        assert_eq!(state.expiry_warning_secs, None);
    }

    #[test]
    fn renewals_need_no_warning() {
        // A renewable session (the bridge renews it) shows nothing.
        let state = reduce(
            logged_in("alice"),
            [Action::Event(
                CallEvent::SessionExpiring {
                    expires_in_secs: 300,
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.expiry_warning_secs, None);
        assert_eq!(state.notice, None);
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
                interrupted: false,
                muted: false,
                peer_muted: false,
                verification_code: None
            }
        );
        assert_eq!(state.notice, None);
    }

    #[test]
    fn the_verification_code_shows_once_the_client_has_it() {
        let with_code = |code: Option<&str>| CallState::InCall {
            peer: "bob".into(),
            call_id: "c1".into(),
            since_ms: 1000,
            connected: true,
            interrupted: false,
            muted: false,
            peer_muted: false,
            verification_code: code.map(Into::into),
        };
        let code_of = |state: &AppState| match &state.call {
            CallView::InCall {
                verification_code, ..
            } => verification_code.clone(),
            other => panic!("not in a call: {other:?}"),
        };
        let state = reduce(
            rung_by_bob(),
            [
                Action::Accepted(connecting("bob")),
                Action::Event(
                    CallEvent::UserEnter {
                        user_id: "bob".into(),
                    },
                    with_code(None),
                ),
            ],
        );
        assert_eq!(code_of(&state), None);
        let state = reduce(
            state,
            [Action::Event(
                CallEvent::VerificationCode {
                    call_id: "c1".into(),
                    code: "123 456".into(),
                },
                with_code(Some("123 456")),
            )],
        );
        assert_eq!(code_of(&state).as_deref(), Some("123 456"));
        // Muting keeps it; the next event's snapshot still carries it.
        let state = reduce(state, [Action::Muted(true)]);
        assert_eq!(code_of(&state).as_deref(), Some("123 456"));
        // It goes with the call.
        let state = reduce(
            state,
            [Action::Event(
                CallEvent::CallEnd {
                    call_id: "c1".into(),
                    duration_secs: 5,
                    ended_by: Some("bob".into()),
                    failure: None,
                },
                CallState::Idle,
            )],
        );
        assert_eq!(state.call, CallView::Idle);
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
                interrupted: false,
                muted: false,
                peer_muted: false,
                verification_code: None
            }
        );
    }
}
