//! `WebCallError`: how the API tells JavaScript that something was refused or failed. Every
//! rejected promise and thrown exception is one: an `Error` named "WebCallError" with a numeric
//! `code` (TRTCCalling-style, from [`ClientError::code`] and [`MediaError::code`], plus
//! [`BAD_ARGUMENT`]) and a `message`.
//!
//! The class itself is JavaScript (`class WebCallError extends Error` in the package's entry,
//! js/package/webcall.js), so that `instanceof` works and stack traces name it; the entry hands
//! it over with [`set_error_class`] once the wasm is loaded. Without it (the wasm-bindgen
//! module used directly) errors are plain `Error`s with the same name, code and message.

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use webcall_client::{ClientError, MediaError};

/// The code of an argument or option the API can not use (a missing `appId`, a `server` that
/// is not a URL, a handler that is not a function, ...).
pub const BAD_ARGUMENT: i32 = 60060;

/// Why a method of the JavaScript API refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkError {
    /// The calling service refused the command.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The microphone or speaker could not be listed or switched.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// An argument or option is missing or of the wrong kind.
    #[error("{what} must be {expected}")]
    BadArgument {
        what: &'static str,
        expected: &'static str,
    },
    /// `destroy()` was called: the object can do nothing any more.
    #[error("this WebCall object was destroyed")]
    Destroyed,
    /// An `ERROR` event ended the login or the call attempt first.
    #[error("{message}")]
    Reported { code: i32, message: String },
    /// The user was logged out before the login or the call attempt finished.
    #[error("logged out{}", .0.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    LoggedOut(Option<String>),
}

impl SdkError {
    /// The error's `code` in JavaScript.
    pub fn code(&self) -> i32 {
        match self {
            SdkError::Client(e) => e.code(),
            SdkError::Media(e) => e.code(),
            SdkError::BadArgument { .. } => BAD_ARGUMENT,
            SdkError::Reported { code, .. } => *code,
            SdkError::Destroyed | SdkError::LoggedOut(_) => ClientError::NotLoggedIn.code(),
        }
    }

    /// The error for argument `what`, which must be `expected`.
    pub(crate) fn bad(what: &'static str, expected: &'static str) -> SdkError {
        SdkError::BadArgument { what, expected }
    }
}

thread_local! {
    /// The `WebCallError` class of the package entry, once it registered it.
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the `WebCallError` class (`new WebCallError(code, message)`) that errors are made
/// of. Called by the package entry, webcall.js; not part of the public API.
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|slot| *slot.borrow_mut() = Some(class));
}

impl From<SdkError> for JsValue {
    fn from(error: SdkError) -> JsValue {
        let code = JsValue::from(error.code());
        let message = JsValue::from_str(&error.to_string());
        let class = ERROR_CLASS.with(|slot| slot.borrow().clone());
        if let Some(class) = class {
            if let Ok(error) = Reflect::construct(&class, &Array::of2(&code, &message)) {
                return error;
            }
        }
        let plain = js_sys::Error::new(&error.to_string());
        plain.set_name("WebCallError");
        let _ = Reflect::set(&plain, &JsValue::from_str("code"), &code);
        plain.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_client_and_the_argument_code() {
        assert_eq!(SdkError::from(ClientError::NotLoggedIn).code(), 60011);
        assert_eq!(SdkError::from(MediaError::PermissionDenied).code(), 60005);
        assert_eq!(SdkError::bad("options.appId", "a number").code(), 60060);
        assert_eq!(SdkError::Destroyed.code(), 60011);
        let reported = SdkError::Reported {
            code: 70001,
            message: "bad UserSig".into(),
        };
        assert_eq!(
            (reported.code(), reported.to_string().as_str()),
            (70001, "bad UserSig")
        );
    }

    #[test]
    fn messages_say_what_is_wrong() {
        assert_eq!(
            SdkError::bad("options.appId", "a positive integer").to_string(),
            "options.appId must be a positive integer"
        );
        assert_eq!(SdkError::LoggedOut(None).to_string(), "logged out");
        assert_eq!(
            SdkError::LoggedOut(Some("session expired".into())).to_string(),
            "logged out: session expired"
        );
        assert_eq!(
            SdkError::from(ClientError::NotLoggedIn).to_string(),
            "not logged in"
        );
    }
}
