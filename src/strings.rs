//! Every user-facing text of the app, in one table per language.
//!
//! Components never spell out English: they read [`t()`]. Adding a language means adding one
//! more [`Strings`] value (a zh-CN table is planned) and choosing it in [`t()`]. Texts that
//! carry a value are plain `fn` pointers so that each language can order its words freely.
//!
//! Messages that the calling service or the server send in [`CallEvent::Error`] are shown as
//! they come.
//!
//! [`CallEvent::Error`]: webcall_client::CallEvent::Error

use webcall_client::{validate_user_id, ClientError};

use crate::api::ApiError;
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
    pub disconnected: fn(&str) -> String,

    // ----- /call ----------------------------------------------------------------------------
    pub logged_in_as: fn(&str) -> String,
    pub log_out: &'static str,
    pub callee_label: &'static str,
    pub call: &'static str,
    pub cancel: &'static str,
    pub calling: fn(&str) -> String,
    pub call_self: &'static str,
    pub already_in_call: &'static str,
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
    pub call_cancelled: &'static str,
    pub missed_call: fn(&str) -> String,

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
    disconnected: |reason| format!("Logged out: {reason}"),

    logged_in_as: |id| format!("Logged in as {id}"),
    log_out: "Log out",
    callee_label: "Callee user ID",
    call: "Call",
    cancel: "Cancel",
    calling: |id| format!("Calling {id}…"),
    call_self: "You cannot call yourself",
    already_in_call: "A call is already in progress",
    not_logged_in: "You are not logged in",
    no_call: "There is no call",
    video_unsupported: "Video calls are not supported",

    call_ended: "Call ended",
    call_ended_after: |duration| format!("Call ended ({duration})"),
    call_ended_because: |failure| format!("Call ended: {failure}"),
    rejected: |id| format!("{id} rejected the call"),
    busy: |id| format!("{id} is busy"),
    no_answer: "No answer",
    no_answer_because: |why| format!("No answer: {why}"),
    call_cancelled: "Call cancelled",
    missed_call: |id| format!("Missed call from {id}"),

    voice_call_from: |id| format!("Voice call from {id}"),
    accept: "Accept",
    reject: "Reject",

    in_call_with: |id| format!("In call with {id}"),
    call_duration: "Call duration",
    connecting: "Connecting…",
    mute: "Mute",
    unmute: "Unmute",
    hang_up: "Hang up",
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
            ClientError::NoCall(_) => self.no_call.to_owned(),
            ClientError::Unsupported => self.video_unsupported.to_owned(),
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

    /// Why the user is on the login page.
    pub fn login_error(&self, error: &LoginError) -> String {
        match error {
            LoginError::Message(message) => message.clone(),
            LoginError::KickedOut => self.kicked_out.to_owned(),
            LoginError::Disconnected(reason) => (self.disconnected)(reason),
        }
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
            Notice::Cancelled => self.call_cancelled.to_owned(),
            Notice::Missed(id) => (self.missed_call)(id),
            Notice::Error(message) => message.clone(),
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
}
