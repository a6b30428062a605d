//! # WebCall for JavaScript
//!
//! The calling service of [`webcall_client`] for plain JavaScript pages, with the API of
//! Tencent's TRTCCalling, so that an app written against it ports with little more than a
//! rename:
//!
//! ```js
//! import { WebCall } from '/sdk/webcall.js';
//! const webcall = new WebCall({ appId: 1400000000 });
//! webcall.on(WebCall.EVENT.INVITED, ({ sponsor }) => webcall.accept());
//! await webcall.login({ userID: 'alice', userSig });
//! await webcall.call({ userID: 'bob', type: WebCall.CALL_TYPE.AUDIO });
//! ```
//!
//! `cargo xtask sdk` builds this crate with wasm-bindgen (`--target web`) into an npm package,
//! dist/sdk/, whose entry (js/package/webcall.js) loads the wasm and registers the
//! `WebCallError` class; js/package/webcall.d.ts declares the whole API, docs/integrate.md
//! explains it. Each concern has its file: the options (`options.rs`), the events and their
//! payloads (`events.rs`), `on`/`off` (`listeners.rs`), the promises that settle on later events
//! (`pending.rs`), `callState` (`state.rs`), the devices (`devices.rs`), the errors
//! (`error.rs`), plain JavaScript objects (`js.rs`).
//!
//! Only the public API of [`webcall_client::WebCall`] is used. Its event dispatch holds no
//! borrow while handlers run, and neither does this crate, so a handler may call back into the
//! object synchronously (`accept()` inside an `INVITED` handler, `destroy()` anywhere): events
//! are passed on at once, not deferred.

mod devices;
mod error;
mod events;
mod js;
mod listeners;
mod options;
mod pending;
mod state;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use webcall_client::{CallEvent, CallState, CallType, Subscription};

pub use error::{set_error_class, SdkError, BAD_ARGUMENT};
pub use events::EVENT_NAMES;

use js::{get, is_absent};
use listeners::Listeners;
use pending::{settled, Pending, Settle};

thread_local! {
    /// `WebCall.EVENT`, made once so that it is the same object on every read.
    static EVENT: JsValue = events::event_object();
    /// `WebCall.CALL_TYPE`, likewise.
    static CALL_TYPE: JsValue = events::call_type_object();
}

/// The calling object: `new WebCall({ appId, server })`. One per user and page.
#[wasm_bindgen]
pub struct WebCall {
    /// `None` once [`destroy`](WebCall::destroy)ed.
    inner: RefCell<Option<Rc<Inner>>>,
}

/// What a live `WebCall` holds.
struct Inner {
    client: webcall_client::WebCall,
    listeners: Listeners,
    pending: Pending,
    /// The handler of the calling service's events; unsubscribes when dropped.
    _subscription: Subscription,
}

impl Inner {
    /// Passes one event of the calling service on: to the pending promises, then to the app's
    /// handlers.
    fn dispatch(&self, event: &CallEvent) {
        self.pending.on_event(event);
        let me = match event {
            CallEvent::Invited { .. } => self.client.user_id(),
            _ => None,
        };
        let payload = events::payload(event, me.as_deref());
        self.listeners.emit(events::name(event), &payload);
    }
}

/// `WebCall.CALL_TYPE` number `value` (left out: audio).
fn call_type(value: &JsValue) -> Result<CallType, SdkError> {
    if is_absent(value) {
        return Ok(CallType::Audio);
    }
    call_type_of(value.as_f64())
}

fn call_type_of(number: Option<f64>) -> Result<CallType, SdkError> {
    [CallType::Audio, CallType::Video]
        .into_iter()
        .find(|t| number == Some(f64::from(events::call_type_number(*t))))
        .ok_or_else(|| SdkError::bad("type", "WebCall.CALL_TYPE.AUDIO (1)"))
}

/// The ring timeout `value`, in seconds (left out or 0: the server's).
fn ring_timeout(value: &JsValue) -> Result<Option<u32>, SdkError> {
    if is_absent(value) {
        return Ok(None);
    }
    ring_timeout_of(value.as_f64())
}

fn ring_timeout_of(secs: Option<f64>) -> Result<Option<u32>, SdkError> {
    match secs {
        Some(0.0) => Ok(None),
        Some(secs) if secs > 0.0 && secs.is_finite() => {
            Ok(Some(secs.ceil().min(u32::MAX as f64) as u32))
        }
        _ => Err(SdkError::bad("timeout", "a number of seconds")),
    }
}

#[wasm_bindgen]
impl WebCall {
    /// `new WebCall({ appId, server })`; `SDKAppID` is accepted for `appId`. Throws a
    /// `WebCallError` (60060) for options it can not use.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<WebCall, JsValue> {
        let client = webcall_client::WebCall::new(options::parse(&options)?);
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let weak = weak.clone();
            let subscription = client.on_event(move |event| {
                if let Some(inner) = weak.upgrade() {
                    inner.dispatch(event);
                }
            });
            Inner {
                client,
                listeners: Listeners::default(),
                pending: Pending::default(),
                _subscription: subscription,
            }
        });
        Ok(WebCall {
            inner: RefCell::new(Some(inner)),
        })
    }

    /// `WebCall.EVENT`: every event name, each value equal to its key.
    #[wasm_bindgen(getter = EVENT)]
    pub fn event() -> JsValue {
        EVENT.with(JsValue::clone)
    }

    /// `WebCall.CALL_TYPE`: `{ AUDIO: 1, VIDEO: 2 }`.
    #[wasm_bindgen(getter = CALL_TYPE)]
    pub fn call_type() -> JsValue {
        CALL_TYPE.with(JsValue::clone)
    }

    fn inner(&self) -> Result<Rc<Inner>, SdkError> {
        self.inner.borrow().clone().ok_or(SdkError::Destroyed)
    }

    /// `on(event, handler, context)`: calls `handler` (with `this` = `context`) for every
    /// `event`.
    pub fn on(&self, event: JsValue, handler: JsValue, context: JsValue) -> Result<(), JsValue> {
        let event = event
            .as_string()
            .ok_or_else(|| SdkError::bad("the event", "a name of WebCall.EVENT"))?;
        let handler: Function = handler
            .dyn_into()
            .map_err(|_| SdkError::bad("the handler", "a function"))?;
        self.inner()?.listeners.add(event, handler, context);
        Ok(())
    }

    /// `off(event, handler, context)`: removes the handlers `on` added (all of `event` without
    /// `handler`; any context without `context`).
    pub fn off(&self, event: JsValue, handler: JsValue, context: JsValue) {
        let (Some(event), Ok(inner)) = (event.as_string(), self.inner()) else {
            return;
        };
        let handler = handler.dyn_into::<Function>().ok();
        inner.listeners.remove(&event, handler.as_ref(), &context);
    }

    /// `login({ userID, userSig })`: resolves once logged in (`SDK_READY`).
    pub fn login(&self, params: JsValue) -> Promise {
        let attempt = || -> Result<Promise, SdkError> {
            let inner = self.inner()?;
            let user_id = get(&params, "userID").as_string().unwrap_or_default();
            let user_sig = get(&params, "userSig")
                .as_string()
                .ok_or_else(|| SdkError::bad("userSig", "a string"))?;
            inner.client.login(&user_id, &user_sig)?;
            let (promise, settle) = Settle::new();
            inner.pending.wait_login(settle);
            Ok(promise)
        };
        attempt().unwrap_or_else(|e| settled(Err(e)))
    }

    /// `logout()`: leaves any call and logs out (`LOGGED_OUT` follows).
    pub fn logout(&self) -> Promise {
        settled(self.inner().and_then(|inner| {
            inner.client.logout()?;
            inner.pending.call_ended_here();
            Ok(())
        }))
    }

    /// `call({ userID, type, timeout })`: resolves once the call rings (`RINGING`) or has its
    /// outcome; `timeout` in seconds.
    pub fn call(&self, params: JsValue) -> Promise {
        let attempt = || -> Result<Promise, SdkError> {
            let inner = self.inner()?;
            let user_id = get(&params, "userID").as_string().unwrap_or_default();
            let call_type = call_type(&get(&params, "type"))?;
            let timeout = ring_timeout(&get(&params, "timeout"))?;
            inner.client.call(&user_id, call_type, timeout)?;
            if !matches!(inner.client.call_state(), CallState::Dialing { .. }) {
                // Calling back the caller who rings here accepted that call.
                return Ok(settled(Ok(())));
            }
            let (promise, settle) = Settle::new();
            inner.pending.wait_call(settle);
            Ok(promise)
        };
        attempt().unwrap_or_else(|e| settled(Err(e)))
    }

    /// `accept()`: takes the call that rings. TRTCCalling's argument is accepted and ignored.
    pub fn accept(&self, _params: JsValue) -> Promise {
        settled(self.inner().and_then(|inner| Ok(inner.client.accept()?)))
    }

    /// `reject()`: turns down the call that rings. TRTCCalling's argument is accepted and
    /// ignored.
    pub fn reject(&self, _params: JsValue) -> Promise {
        settled(self.inner().and_then(|inner| Ok(inner.client.reject()?)))
    }

    /// `hangup()`: cancels the call placed, rejects the one ringing, or ends the one in
    /// progress.
    pub fn hangup(&self) -> Promise {
        settled(self.inner().and_then(|inner| {
            inner.client.hangup()?;
            inner.pending.call_ended_here();
            Ok(())
        }))
    }

    /// `setMicMute(true | false)`.
    #[wasm_bindgen(js_name = setMicMute)]
    pub fn set_mic_mute(&self, mute: JsValue) -> Promise {
        settled(self.inner().and_then(|inner| {
            let mute = mute
                .as_bool()
                .ok_or_else(|| SdkError::bad("setMicMute's argument", "true or false"))?;
            Ok(inner.client.set_mic_mute(mute)?)
        }))
    }

    /// `getMicrophoneList()`: resolves with `[{ deviceId, label }]`.
    #[wasm_bindgen(js_name = getMicrophoneList)]
    pub fn get_microphone_list(&self) -> Promise {
        match self.inner() {
            Ok(inner) => devices::list(inner.client.clone(), false),
            Err(e) => settled(Err(e)),
        }
    }

    /// `getSpeakerList()`: resolves with `[{ deviceId, label }]`, empty where the browser can
    /// not choose the speaker.
    #[wasm_bindgen(js_name = getSpeakerList)]
    pub fn get_speaker_list(&self) -> Promise {
        match self.inner() {
            Ok(inner) => devices::list(inner.client.clone(), true),
            Err(e) => settled(Err(e)),
        }
    }

    /// `switchDevice({ deviceType: 'audioInput' | 'audioOutput', deviceId })`.
    #[wasm_bindgen(js_name = switchDevice)]
    pub fn switch_device(&self, params: JsValue) -> Promise {
        match self.inner() {
            Ok(inner) => devices::switch(inner.client.clone(), &params),
            Err(e) => settled(Err(e)),
        }
    }

    /// `watchPresence(['bob', 'carol'])`: reports whether these users are online
    /// (`PRESENCE_CHANGED`). Throws a `WebCallError` when refused.
    #[wasm_bindgen(js_name = watchPresence)]
    pub fn watch_presence(&self, user_ids: JsValue) -> Result<(), JsValue> {
        let inner = self.inner()?;
        let expected = || SdkError::bad("watchPresence's argument", "an array of user IDs");
        if !Array::is_array(&user_ids) {
            return Err(expected().into());
        }
        let user_ids = Array::from(&user_ids)
            .iter()
            .map(|id| id.as_string().ok_or_else(expected))
            .collect::<Result<Vec<String>, SdkError>>()?;
        inner
            .client
            .watch_presence(&user_ids)
            .map_err(SdkError::from)?;
        Ok(())
    }

    /// `renew(userSig)`: extends the session (`SESSION_RENEWED`). Throws a `WebCallError` when
    /// refused.
    pub fn renew(&self, user_sig: JsValue) -> Result<(), JsValue> {
        let inner = self.inner()?;
        let user_sig = user_sig
            .as_string()
            .ok_or_else(|| SdkError::bad("renew's argument", "a UserSig string"))?;
        inner.client.renew(&user_sig).map_err(SdkError::from)?;
        Ok(())
    }

    /// `callState`: where the call stands, `{ state, ... }` (see `state.rs`).
    #[wasm_bindgen(getter = callState)]
    pub fn call_state(&self) -> JsValue {
        let state = self
            .inner()
            .map(|inner| inner.client.call_state())
            .unwrap_or_default();
        state::call_state_object(&state)
    }

    /// `userID`: the logged-in user, or `null`.
    #[wasm_bindgen(getter = userID)]
    pub fn user_id(&self) -> JsValue {
        let user_id = self.inner().ok().and_then(|inner| inner.client.user_id());
        js::string_or_null(user_id.as_deref())
    }

    /// `destroy()`: logs out (handlers hear `LOGGED_OUT`), rejects what is pending, forgets the
    /// handlers and frees the calling service. Safe to call twice; every method then refuses
    /// (60011).
    pub fn destroy(&self) {
        let Some(inner) = self.inner.borrow_mut().take() else {
            return;
        };
        inner.pending.call_ended_here();
        let _ = inner.client.logout();
        inner.pending.fail_all(SdkError::Destroyed);
        inner.listeners.clear();
        // This may run inside a handler of the calling service (a socket's, a timer's): let
        // go of it after the current task.
        wasm_bindgen_futures::spawn_local(async move { drop(inner) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_types_are_trtc_callings_numbers() {
        assert_eq!(call_type_of(Some(1.0)), Ok(CallType::Audio));
        assert_eq!(call_type_of(Some(2.0)), Ok(CallType::Video));
        for bad in [None, Some(0.0), Some(3.0), Some(1.5)] {
            assert_eq!(
                call_type_of(bad).unwrap_err().code(),
                BAD_ARGUMENT,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ring_timeouts_are_whole_seconds() {
        assert_eq!(ring_timeout_of(Some(0.0)), Ok(None));
        assert_eq!(ring_timeout_of(Some(30.0)), Ok(Some(30)));
        assert_eq!(ring_timeout_of(Some(0.2)), Ok(Some(1)));
        for bad in [None, Some(-1.0), Some(f64::NAN), Some(f64::INFINITY)] {
            assert_eq!(
                ring_timeout_of(bad).unwrap_err().code(),
                BAD_ARGUMENT,
                "{bad:?}"
            );
        }
    }
}
