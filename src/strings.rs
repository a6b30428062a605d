//! Every user-facing text of the app, in one table per language.
//!
//! Components never spell out English: they read [`t()`]. Adding a language means adding one
//! more [`Strings`] value (a zh-CN table is planned) and choosing it in [`t()`]. Texts that
//! carry a value are plain `fn` pointers so that each language can order its words freely.
//!
//! Messages that the calling service or the server send in [`CallEvent::Error`] are shown as
//! they come, except the refusals the login page explains in its own words (too many devices,
//! the UserSig refusals and the expired session: [`LoginError`]).
//!
//! [`CallEvent::Error`]: webcall_client::CallEvent::Error

use webcall_client::{validate_user_id, ClientError};

use crate::api::{ApiError, UserSigError};
use crate::state::{LoginError, Notice};

/// One language's texts.
pub struct Strings {
    /// The product name, in the header and the page title.
    pub app_name: &'static str,

    // ----- /login ---------------------------------------------------------------------------
    pub user_id_label: &'static str,
    pub log_in: &'static str,
    pub logging_in: &'static str,
    pub user_id_empty: &'static str,
    pub user_id_invalid: &'static str,
    pub server_unreachable: &'static str,
    pub server_refused: fn(u16) -> String,
    pub server_bad_answer: &'static str,
    pub kicked_out: &'static str,
    pub too_many_devices: &'static str,
    pub disconnected: fn(&str) -> String,
    /// The field for a UserSig issued elsewhere (strict mode without a UserSig URL).
    pub user_sig_label: &'static str,
    pub user_sig_hint: &'static str,
    pub user_sig_empty: &'static str,
    /// The customer backend (its origin) gave no UserSig, and why (one of the `backend_*`).
    pub user_sig_from_failed: fn(&str, &str) -> String,
    pub backend_unreachable: &'static str,
    pub backend_refused: fn(u16) -> String,
    pub backend_bad_answer: &'static str,
    pub user_sig_expired: &'static str,
    pub user_sig_invalid: &'static str,
    pub user_sig_wrong_user: &'static str,
    pub user_sig_wrong_app: &'static str,
    pub session_expired: &'static str,

    // ----- /call ----------------------------------------------------------------------------
    pub logged_in_as: fn(&str) -> String,
    /// The session of a pasted UserSig ends in this many minutes and cannot be renewed.
    pub session_expiring: fn(u64) -> String,
    /// The connection to the server is lost and being restored; a call goes on meanwhile.
    pub reconnecting: &'static str,
    /// A call can not be placed while reconnecting.
    pub reconnecting_try_later: &'static str,
    /// The call's audio stopped and is being restored.
    pub audio_interrupted: &'static str,
    pub log_out: &'static str,
    pub callee_label: &'static str,
    pub call: &'static str,
    pub cancel: &'static str,
    pub calling: fn(&str) -> String,
    pub ringing: &'static str,
    pub ringing_on: fn(u32) -> String,
    pub callee_offline_waiting: fn(&str) -> String,
    pub user_online: fn(&str) -> String,
    pub user_offline: fn(&str) -> String,
    pub in_call_elsewhere: fn(&str) -> String,
    pub call_self: &'static str,
    pub already_in_call: &'static str,
    pub busy_elsewhere: &'static str,
    pub too_many_watched: &'static str,
    pub not_logged_in: &'static str,
    pub no_call: &'static str,
    pub video_unsupported: &'static str,

    // ----- notices: why the last call ended ------------------------------------------------
    pub call_ended: &'static str,
    pub call_ended_after: fn(&str) -> String,
    pub call_ended_because: fn(&str) -> String,
    pub rejected: fn(&str) -> String,
    pub busy: fn(&str) -> String,
    pub no_answer: &'static str,
    pub no_answer_because: fn(&str) -> String,
    pub no_answer_offline: fn(&str) -> String,
    pub call_cancelled: &'static str,
    pub caller_disconnected: fn(&str) -> String,
    pub missed_call: fn(&str) -> String,
    pub answered_elsewhere: &'static str,
    pub rejected_elsewhere: &'static str,

    // ----- incoming call dialog -------------------------------------------------------------
    pub voice_call_from: fn(&str) -> String,
    pub accept: &'static str,
    pub reject: &'static str,

    // ----- /in-call -------------------------------------------------------------------------
    pub in_call_with: fn(&str) -> String,
    pub call_duration: &'static str,
    pub connecting: &'static str,
    pub mute: &'static str,
    pub unmute: &'static str,
    pub hang_up: &'static str,
    /// Precedes the call's verification code (which the page shows in its own element).
    pub verification_code: &'static str,
    pub verification_hint: &'static str,
}

/// English.
pub const EN: Strings = Strings {
    app_name: "WebCall",

    user_id_label: "User ID",
    log_in: "Log in",
    logging_in: "Logging in…",
    user_id_empty: "Enter a user ID",
    user_id_invalid: "Use 1–32 letters, digits, _ or -",
    server_unreachable: "Could not reach the server",
    server_refused: |status| format!("The server refused the login (HTTP {status})"),
    server_bad_answer: "The server sent an unexpected answer",
    kicked_out: "You were logged out because this user logged in elsewhere",
    too_many_devices:
        "You are logged in on too many devices (at most 5). Log out on one of them first.",
    disconnected: |reason| format!("Logged out: {reason}"),
    user_sig_label: "UserSig",
    user_sig_hint: "Paste the UserSig issued for this user ID.",
    user_sig_empty: "Paste a UserSig",
    user_sig_from_failed: |origin, why| format!("Could not get a UserSig from {origin}: {why}"),
    backend_unreachable: "no answer (it is unreachable, or its CORS rules do not allow this page)",
    backend_refused: |status| format!("it answered HTTP {status}"),
    backend_bad_answer: "its answer is not JSON with a user_sig",
    user_sig_expired: "This UserSig has expired. Get a new one.",
    user_sig_invalid: "This UserSig is not valid (it was changed or signed with another key).",
    user_sig_wrong_user: "This UserSig belongs to another user ID.",
    user_sig_wrong_app: "This UserSig is for another application (SDKAppID).",
    session_expired: "Your session expired. Log in again.",

    logged_in_as: |id| format!("Logged in as {id}"),
    session_expiring: |minutes| {
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        format!(
            "Your session expires in {minutes} {unit}. Log out and in again with a new UserSig."
        )
    },
    log_out: "Log out",
    callee_label: "Callee user ID",
    call: "Call",
    cancel: "Cancel",
    calling: |id| format!("Calling {id}…"),
    ringing: "Ringing…",
    ringing_on: |n| format!("Ringing on {n} devices"),
    callee_offline_waiting: |id| format!("{id} is offline. The call will ring when {id} logs in."),
    user_online: |id| format!("{id} is online"),
    user_offline: |id| format!("{id} is offline"),
    in_call_elsewhere: |id| format!("You are in a call with {id} on another device"),
    call_self: "You cannot call yourself",
    already_in_call: "A call is already in progress",
    busy_elsewhere: "You are in a call on another device",
    too_many_watched: "Too many user IDs are watched",
    not_logged_in: "You are not logged in",
    no_call: "There is no call",
    video_unsupported: "Video calls are not supported",

    call_ended: "Call ended",
    call_ended_after: |duration| format!("Call ended ({duration})"),
    call_ended_because: |failure| format!("Call ended: {failure}"),
    reconnecting: "Reconnecting… The call goes on; hanging up works meanwhile.",
    reconnecting_try_later: "Reconnecting to the server; try again in a moment.",
    audio_interrupted: "Audio interrupted: reconnecting…",
    rejected: |id| format!("{id} rejected the call"),
    busy: |id| format!("{id} is busy"),
    no_answer: "No answer",
    no_answer_because: |why| format!("No answer: {why}"),
    no_answer_offline: |id| format!("No answer: {id} is offline"),
    call_cancelled: "Call cancelled",
    caller_disconnected: |id| format!("{id} lost their connection; the call was cancelled"),
    missed_call: |id| format!("Missed call from {id}"),
    answered_elsewhere: "Answered on another device",
    rejected_elsewhere: "Rejected on another device",

    voice_call_from: |id| format!("Voice call from {id}"),
    accept: "Accept",
    reject: "Reject",

    in_call_with: |id| format!("In call with {id}"),
    call_duration: "Call duration",
    connecting: "Connecting…",
    mute: "Mute",
    unmute: "Unmute",
    hang_up: "Hang up",
    verification_code: "Verification code:",
    verification_hint:
        "Compare it with the other person: if the codes differ, someone may be listening in.",
};

/// The texts of the user's language. English only for now.
pub fn t() -> &'static Strings {
    &EN
}

impl Strings {
    /// Why `id` is not a valid user ID, if it is not.
    pub fn check_user_id(&self, id: &str) -> Result<(), &'static str> {
        if id.is_empty() {
            return Err(self.user_id_empty);
        }
        validate_user_id(id).map_err(|_| self.user_id_invalid)
    }

    /// Why the calling service refused a request.
    pub fn client_error(&self, error: &ClientError) -> String {
        match error {
            ClientError::BadUserId(_) => self.user_id_invalid.to_owned(),
            ClientError::NotLoggedIn => self.not_logged_in.to_owned(),
            // Logging in twice can only be a double click: the first login goes on.
            ClientError::AlreadyLoggedIn => self.logging_in.to_owned(),
            ClientError::CallSelf => self.call_self.to_owned(),
            ClientError::Busy => self.already_in_call.to_owned(),
            ClientError::InCallElsewhere => self.busy_elsewhere.to_owned(),
            ClientError::TooManyWatched => self.too_many_watched.to_owned(),
            ClientError::NoCall(_) => self.no_call.to_owned(),
            ClientError::Unsupported => self.video_unsupported.to_owned(),
            ClientError::Reconnecting => self.reconnecting_try_later.to_owned(),
        }
    }

    /// Why fetching the UserSig failed.
    pub fn api_error(&self, error: &ApiError) -> String {
        match error {
            ApiError::Unreachable => self.server_unreachable.to_owned(),
            ApiError::Status(status) => (self.server_refused)(*status),
            ApiError::BadAnswer => self.server_bad_answer.to_owned(),
        }
    }

    /// Why no UserSig could be fetched: from this server, or from the customer backend.
    pub fn user_sig_error(&self, error: &UserSigError) -> String {
        match error {
            UserSigError::Server(error) => self.api_error(error),
            UserSigError::Backend { origin, error } => {
                let why = match error {
                    ApiError::Unreachable => self.backend_unreachable.to_owned(),
                    ApiError::Status(status) => (self.backend_refused)(*status),
                    ApiError::BadAnswer => self.backend_bad_answer.to_owned(),
                };
                (self.user_sig_from_failed)(origin, &why)
            }
        }
    }

    /// Why the user is on the login page.
    pub fn login_error(&self, error: &LoginError) -> String {
        match error {
            LoginError::Message(message) => message.clone(),
            LoginError::KickedOut => self.kicked_out.to_owned(),
            LoginError::TooManyDevices => self.too_many_devices.to_owned(),
            LoginError::Disconnected(reason) => (self.disconnected)(reason),
            LoginError::UserSigExpired => self.user_sig_expired.to_owned(),
            LoginError::UserSigInvalid => self.user_sig_invalid.to_owned(),
            LoginError::UserSigWrongUser => self.user_sig_wrong_user.to_owned(),
            LoginError::UserSigWrongApp => self.user_sig_wrong_app.to_owned(),
            LoginError::SessionExpired => self.session_expired.to_owned(),
        }
    }

    /// The warning on `/call` that the session ends in `secs` and cannot be renewed, in whole
    /// minutes (rounded up, at least one).
    pub fn expiry_warning(&self, secs: u64) -> String {
        (self.session_expiring)(secs.div_ceil(60).max(1))
    }

    /// The notice on `/call`: why the last call ended, or what went wrong.
    pub fn notice(&self, notice: &Notice) -> String {
        match notice {
            Notice::CallEnded {
                duration_secs: None,
                failure: None,
            } => self.call_ended.to_owned(),
            Notice::CallEnded {
                duration_secs: Some(secs),
                failure: None,
            } => (self.call_ended_after)(&clock(*secs)),
            Notice::CallEnded {
                failure: Some(failure),
                ..
            } => (self.call_ended_because)(failure),
            Notice::Rejected(id) => (self.rejected)(id),
            Notice::Busy(id) => (self.busy)(id),
            Notice::NoAnswer(None) => self.no_answer.to_owned(),
            Notice::NoAnswer(Some(why)) => (self.no_answer_because)(why),
            Notice::NoAnswerOffline(id) => (self.no_answer_offline)(id),
            Notice::Cancelled => self.call_cancelled.to_owned(),
            Notice::CallerDisconnected(id) => (self.caller_disconnected)(id),
            Notice::Missed(id) => (self.missed_call)(id),
            Notice::AnsweredElsewhere => self.answered_elsewhere.to_owned(),
            Notice::RejectedElsewhere => self.rejected_elsewhere.to_owned(),
            Notice::Error(message) => message.clone(),
        }
    }

    /// How a dialled call stands once the server has said how many of `callee`'s devices ring:
    /// waiting for an offline callee, or ringing.
    pub fn dialing_status(&self, callee: &str, ringing: u32) -> String {
        match ringing {
            0 => (self.callee_offline_waiting)(callee),
            1 => self.ringing.to_owned(),
            n => (self.ringing_on)(n),
        }
    }

    /// Whether `user_id` is online.
    pub fn presence(&self, user_id: &str, online: bool) -> String {
        if online {
            (self.user_online)(user_id)
        } else {
            (self.user_offline)(user_id)
        }
    }
}

/// A duration as a clock reads: `mm:ss`, or `hh:mm:ss` from an hour on.
pub fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_minutes_then_hours() {
        assert_eq!(clock(0), "00:00");
        assert_eq!(clock(42), "00:42");
        assert_eq!(clock(3599), "59:59");
        assert_eq!(clock(3600), "01:00:00");
        assert_eq!(clock(36_000 + 61), "10:01:01");
    }

    #[test]
    fn notices_read_as_specified() {
        let t = t();
        let ended = |duration_secs, failure| Notice::CallEnded {
            duration_secs,
            failure,
        };
        assert_eq!(t.notice(&ended(None, None)), "Call ended");
        assert_eq!(t.notice(&ended(Some(42), None)), "Call ended (00:42)");
        assert_eq!(
            t.notice(&ended(Some(3), Some("the audio connection failed".into()))),
            "Call ended: the audio connection failed"
        );
        assert_eq!(
            t.notice(&Notice::Rejected("bob".into())),
            "bob rejected the call"
        );
        assert_eq!(t.notice(&Notice::Busy("bob".into())), "bob is busy");
        assert_eq!(t.notice(&Notice::NoAnswer(None)), "No answer");
        assert_eq!(
            t.notice(&Notice::NoAnswer(Some("bob is offline".into()))),
            "No answer: bob is offline"
        );
        assert_eq!(t.notice(&Notice::Cancelled), "Call cancelled");
        assert_eq!(
            t.notice(&Notice::Missed("alice".into())),
            "Missed call from alice"
        );
        assert_eq!((t.calling)("bob"), "Calling bob…");
        assert_eq!(
            t.client_error(&ClientError::CallSelf),
            "You cannot call yourself"
        );
    }

    #[test]
    fn multi_device_and_presence_texts_read_as_specified() {
        let t = t();
        assert_eq!(
            t.notice(&Notice::NoAnswerOffline("bob".into())),
            "No answer: bob is offline"
        );
        assert_eq!(
            t.notice(&Notice::CallerDisconnected("bob".into())),
            "bob lost their connection; the call was cancelled"
        );
        assert_eq!(
            t.notice(&Notice::AnsweredElsewhere),
            "Answered on another device"
        );
        assert_eq!(
            t.notice(&Notice::RejectedElsewhere),
            "Rejected on another device"
        );
        assert_eq!(
            t.dialing_status("bob", 0),
            "bob is offline. The call will ring when bob logs in."
        );
        assert_eq!(t.dialing_status("bob", 1), "Ringing…");
        assert_eq!(t.dialing_status("bob", 3), "Ringing on 3 devices");
        assert_eq!(t.presence("bob", true), "bob is online");
        assert_eq!(t.presence("bob", false), "bob is offline");
        assert_eq!(
            (t.in_call_elsewhere)("bob"),
            "You are in a call with bob on another device"
        );
        assert_eq!(
            t.client_error(&ClientError::InCallElsewhere),
            "You are in a call on another device"
        );
        assert_eq!(
            t.login_error(&LoginError::TooManyDevices),
            "You are logged in on too many devices (at most 5). Log out on one of them first."
        );
        assert_eq!(
            t.login_error(&LoginError::Message("UserSig has expired".into())),
            "UserSig has expired"
        );
    }

    #[test]
    fn usersig_texts_read_as_specified() {
        let t = t();
        assert_eq!(
            t.login_error(&LoginError::UserSigExpired),
            "This UserSig has expired. Get a new one."
        );
        assert_eq!(
            t.login_error(&LoginError::UserSigInvalid),
            "This UserSig is not valid (it was changed or signed with another key)."
        );
        assert_eq!(
            t.login_error(&LoginError::UserSigWrongUser),
            "This UserSig belongs to another user ID."
        );
        assert_eq!(
            t.login_error(&LoginError::UserSigWrongApp),
            "This UserSig is for another application (SDKAppID)."
        );
        assert_eq!(
            t.login_error(&LoginError::SessionExpired),
            "Your session expired. Log in again."
        );
        assert_eq!(
            t.expiry_warning(300),
            "Your session expires in 5 minutes. Log out and in again with a new UserSig."
        );
        assert_eq!(
            t.expiry_warning(299),
            "Your session expires in 5 minutes. Log out and in again with a new UserSig."
        );
        assert_eq!(
            t.expiry_warning(45),
            "Your session expires in 1 minute. Log out and in again with a new UserSig."
        );
        assert_eq!(
            t.expiry_warning(0),
            "Your session expires in 1 minute. Log out and in again with a new UserSig."
        );
    }

    #[test]
    fn usersig_fetch_failures_name_where_they_came_from() {
        let t = t();
        let backend = |error| UserSigError::Backend {
            origin: "https://backend.example.com".into(),
            error,
        };
        assert_eq!(
            t.user_sig_error(&backend(ApiError::Status(403))),
            "Could not get a UserSig from https://backend.example.com: it answered HTTP 403"
        );
        assert_eq!(
            t.user_sig_error(&backend(ApiError::Unreachable)),
            "Could not get a UserSig from https://backend.example.com: no answer (it is \
             unreachable, or its CORS rules do not allow this page)"
        );
        assert_eq!(
            t.user_sig_error(&backend(ApiError::BadAnswer)),
            "Could not get a UserSig from https://backend.example.com: its answer is not JSON \
             with a user_sig"
        );
        // The development endpoint is this server's.
        assert_eq!(
            t.user_sig_error(&UserSigError::Server(ApiError::Unreachable)),
            "Could not reach the server"
        );
        assert_eq!(
            t.user_sig_error(&UserSigError::Server(ApiError::Status(500))),
            "The server refused the login (HTTP 500)"
        );
    }
}
