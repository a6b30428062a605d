//! Waiting in the checks without a JS closure of their own: a pause, and an inbox of browser
//! events read with a deadline. Both wait on a `Promise` that `setTimeout` resolves (the
//! resolver is a JS function, so nothing needs to be owned or freed).

use std::cell::RefCell;
use std::collections::VecDeque;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::{Abort, CheckError};

/// The longest a single wait lasts before the inbox looks at its [`Abort`] again.
const SLICE_MS: f64 = 100.0;

/// Milliseconds since the page loaded.
pub(crate) fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// A promise that `setTimeout` resolves after `ms` (at once without a window); `on_create`
/// also gets its resolver.
fn timer(ms: f64, on_create: impl FnOnce(&Function)) -> JsFuture {
    let mut on_create = Some(on_create);
    let promise = Promise::new(&mut |resolve: Function, _reject| {
        if let Some(f) = on_create.take() {
            f(&resolve);
        }
        let set = web_sys::window().map(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.max(0.0) as i32)
        });
        if !matches!(set, Some(Ok(_))) {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    JsFuture::from(promise)
}

/// Waits `ms` milliseconds.
pub(crate) async fn sleep(ms: f64) {
    let _ = timer(ms, |_| {}).await;
}

/// Awaits `promise`, giving up after `ms`: `None` then.
pub(crate) async fn within(promise: Promise, ms: f64) -> Option<Result<JsValue, JsValue>> {
    const TIMED_OUT: &str = "webcall-check-timeout";
    let deadline = Promise::new(&mut |resolve: Function, _reject| {
        let _ = web_sys::window().map(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_1(
                &resolve,
                ms as i32,
                &TIMED_OUT.into(),
            )
        });
    });
    let race = Promise::race(&[promise, deadline].into_iter().collect::<js_sys::Array>());
    match JsFuture::from(race).await {
        Ok(v) if v.as_string().as_deref() == Some(TIMED_OUT) => None,
        result => Some(result),
    }
}

/// Events pushed by browser handlers, read in order by one check.
pub(crate) struct Inbox<T> {
    queue: RefCell<VecDeque<T>>,
    /// Resolves the reader's pending wait.
    wake: RefCell<Option<Function>>,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Inbox {
            queue: RefCell::new(VecDeque::new()),
            wake: RefCell::new(None),
        }
    }
}

impl<T> Inbox<T> {
    /// Adds an event and wakes the reader.
    pub(crate) fn push(&self, event: T) {
        self.queue.borrow_mut().push_back(event);
        if let Some(wake) = self.wake.borrow_mut().take() {
            let _ = wake.call0(&JsValue::NULL);
        }
    }

    /// The next event, waiting until `deadline` (page time, ms): `Err(Timeout)` after it,
    /// `Err(Aborted)` once `abort` is.
    pub(crate) async fn next(&self, deadline: f64, abort: &Abort) -> Result<T, CheckError> {
        loop {
            if let Some(event) = self.queue.borrow_mut().pop_front() {
                return Ok(event);
            }
            abort.check()?;
            let left = deadline - now();
            if left <= 0.0 {
                return Err(CheckError::Timeout);
            }
            let _ = timer(left.min(SLICE_MS), |resolve| {
                *self.wake.borrow_mut() = Some(resolve.clone());
            })
            .await;
            self.wake.borrow_mut().take();
        }
    }
}

/// A JS error's `message`, else its debug form.
pub(crate) fn js_message(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &"message".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
