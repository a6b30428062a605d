//! The promises of `login()` and `call()`, which settle on a later event: the resolve and reject
//! functions wait here, owned by the object, until the event handler settles them.
//!
//! - `login` resolves on `SDK_READY`; it rejects on an `ERROR` (with that code) or a
//!   `LOGGED_OUT` that comes first.
//! - `call` resolves once the server placed the call (`RINGING`) or the call has its outcome
//!   already (`USER_ACCEPT`, `REJECT`, `LINE_BUSY`, `NO_RESP`; `USER_ENTER`, `CALL_END` after a
//!   merged call); also when this side ends the attempt itself (`hangup()`, `logout()`). It
//!   rejects on an `ERROR` (the microphone denied, the server refused the invitation, ...) or a
//!   `LOGGED_OUT` that comes first.
//!
//! Nothing here runs JavaScript: settling a promise only queues its reactions.

use std::cell::RefCell;

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use webcall_client::CallEvent;

use crate::error::SdkError;

/// The two functions that settle one promise.
pub(crate) struct Settle {
    resolve: Function,
    reject: Function,
}

impl Settle {
    /// A new pending promise and what settles it.
    pub(crate) fn new() -> (Promise, Settle) {
        let mut functions = None;
        // The executor runs before `Promise::new` returns; nothing of it is kept.
        let promise = Promise::new(&mut |resolve, reject| functions = Some((resolve, reject)));
        // (Never `None`; were it, settling would throw into the `let _` of `settle`.)
        let (resolve, reject) = functions.unwrap_or_else(|| {
            let none: Function = JsValue::UNDEFINED.unchecked_into();
            (none.clone(), none)
        });
        (promise, Settle { resolve, reject })
    }

    /// Resolves the promise with `undefined`, or rejects it with the error.
    pub(crate) fn settle(self, outcome: Result<(), SdkError>) {
        let _ = match outcome {
            Ok(()) => self.resolve.call0(&JsValue::UNDEFINED),
            Err(error) => self.reject.call1(&JsValue::UNDEFINED, &error.into()),
        };
    }
}

/// A promise settled already: resolved on `Ok`, rejected with the error on `Err`.
pub(crate) fn settled(outcome: Result<(), SdkError>) -> Promise {
    match outcome {
        Ok(()) => Promise::resolve(&JsValue::UNDEFINED),
        Err(error) => Promise::reject(&error.into()),
    }
}

/// What `event` does to a pending `login()`: `None` leaves it pending.
pub(crate) fn login_outcome(event: &CallEvent) -> Option<Result<(), SdkError>> {
    match event {
        CallEvent::LoggedIn { .. } => Some(Ok(())),
        _ => failure(event),
    }
}

/// What `event` does to a pending `call()`: `None` leaves it pending.
pub(crate) fn call_outcome(event: &CallEvent) -> Option<Result<(), SdkError>> {
    match event {
        CallEvent::Ringing { .. }
        | CallEvent::UserAccept { .. }
        | CallEvent::Reject { .. }
        | CallEvent::LineBusy { .. }
        | CallEvent::NoResp { .. }
        | CallEvent::UserEnter { .. }
        | CallEvent::CallEnd { .. } => Some(Ok(())),
        _ => failure(event),
    }
}

/// The events that fail any pending attempt.
fn failure(event: &CallEvent) -> Option<Result<(), SdkError>> {
    match event {
        CallEvent::Error { code, message } => Some(Err(SdkError::Reported {
            code: *code,
            message: message.clone(),
        })),
        CallEvent::LoggedOut { reason } => Some(Err(SdkError::LoggedOut(reason.clone()))),
        _ => None,
    }
}

/// The pending promises of one `WebCall` object. Usually at most one of each kind; should
/// another come, all of a kind settle together.
#[derive(Default)]
pub(crate) struct Pending {
    login: RefCell<Vec<Settle>>,
    call: RefCell<Vec<Settle>>,
}

impl Pending {
    /// Keeps `settle` until the login has an outcome.
    pub(crate) fn wait_login(&self, settle: Settle) {
        self.login.borrow_mut().push(settle);
    }

    /// Keeps `settle` until the call attempt has an outcome.
    pub(crate) fn wait_call(&self, settle: Settle) {
        self.call.borrow_mut().push(settle);
    }

    /// Settles what `event` decides.
    pub(crate) fn on_event(&self, event: &CallEvent) {
        if let Some(outcome) = login_outcome(event) {
            settle_all(&self.login, outcome);
        }
        if let Some(outcome) = call_outcome(event) {
            settle_all(&self.call, outcome);
        }
    }

    /// This side ended the call attempt (`hangup()`, `logout()`): a pending `call()` resolves.
    pub(crate) fn call_ended_here(&self) {
        settle_all(&self.call, Ok(()));
    }

    /// Rejects everything pending with `error` (`destroy()`).
    pub(crate) fn fail_all(&self, error: SdkError) {
        settle_all(&self.login, Err(error.clone()));
        settle_all(&self.call, Err(error));
    }
}

fn settle_all(slot: &RefCell<Vec<Settle>>, outcome: Result<(), SdkError>) {
    let waiting = std::mem::take(&mut *slot.borrow_mut());
    for settle in waiting {
        settle.settle(outcome.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webcall_client::NoRespReason;

    fn error() -> CallEvent {
        CallEvent::Error {
            code: 60005,
            message: "access to the microphone was denied".into(),
        }
    }

    #[test]
    fn login_settles_on_ready_error_or_logout() {
        let ready = CallEvent::LoggedIn {
            user_id: "alice".into(),
        };
        assert_eq!(login_outcome(&ready), Some(Ok(())));
        let Some(Err(e)) = login_outcome(&error()) else {
            panic!("an ERROR must reject the login");
        };
        assert_eq!(e.code(), 60005);
        let out = CallEvent::LoggedOut { reason: None };
        assert!(matches!(
            login_outcome(&out),
            Some(Err(SdkError::LoggedOut(None)))
        ));
        assert_eq!(login_outcome(&CallEvent::KickedOut), None);
        let ringing = CallEvent::Ringing {
            callee: "bob".into(),
            devices: 1,
        };
        assert_eq!(login_outcome(&ringing), None);
    }

    #[test]
    fn call_settles_once_placed_or_answered() {
        let bob = || "bob".to_string();
        for placed in [
            CallEvent::Ringing {
                callee: bob(),
                devices: 0,
            },
            CallEvent::UserAccept { user_id: bob() },
            CallEvent::Reject { user_id: bob() },
            CallEvent::LineBusy { user_id: bob() },
            CallEvent::NoResp {
                user_id: bob(),
                reason: NoRespReason::Offline,
            },
        ] {
            assert_eq!(call_outcome(&placed), Some(Ok(())), "{placed:?}");
        }
        assert!(matches!(
            call_outcome(&error()),
            Some(Err(SdkError::Reported { code: 60005, .. }))
        ));
        let volume = CallEvent::UserVoiceVolume {
            local: 1,
            remote: 2,
        };
        assert_eq!(call_outcome(&volume), None);
        assert_eq!(call_outcome(&CallEvent::LoggedIn { user_id: bob() }), None);
    }
}
