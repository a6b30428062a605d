//! `on(event, handler, context)` / `off(event, handler, context)`: the app's event handlers, with
//! the semantics of the emitter TRTCCalling uses (eventemitter3): a handler runs with `this` set
//! to its context; `off` removes the handlers of an event that match the handler and, when
//! given, the context; `off(event)` removes all of them.
//!
//! Handlers run synchronously from the calling service's event dispatch and may call back into
//! the object (`accept()` inside an `INVITED` handler, `off` inside a handler, ...): the list is
//! never borrowed while a handler runs. A handler that throws is reported on the console and
//! does not keep the others from running.

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::JsValue;

/// One `on(...)`.
struct Listener {
    event: String,
    handler: Function,
    /// `this` of the handler (`undefined` when none was given).
    context: JsValue,
}

/// The handlers of one `WebCall` object.
#[derive(Default)]
pub(crate) struct Listeners {
    list: RefCell<Vec<Listener>>,
}

impl Listeners {
    /// Adds `handler` for `event` (again, if it is there already: it then runs twice).
    pub(crate) fn add(&self, event: String, handler: Function, context: JsValue) {
        self.list.borrow_mut().push(Listener {
            event,
            handler,
            context,
        });
    }

    /// Removes the handlers of `event` that are `handler` (any, when `None`) with `context` (any,
    /// when `undefined` or `null`).
    pub(crate) fn remove(&self, event: &str, handler: Option<&Function>, context: &JsValue) {
        let any_context = context.is_undefined() || context.is_null();
        self.list.borrow_mut().retain(|l| {
            let matches = l.event == event
                && handler.is_none_or(|h| l.handler == *h)
                && (any_context || l.context == *context);
            !matches
        });
    }

    /// Removes every handler.
    pub(crate) fn clear(&self) {
        self.list.borrow_mut().clear();
    }

    /// Calls the handlers of `event` with `payload`, in the order they were added. Handlers
    /// added meanwhile wait for the next event; handlers removed meanwhile still get this one.
    pub(crate) fn emit(&self, event: &str, payload: &JsValue) {
        let handlers: Vec<(Function, JsValue)> = self
            .list
            .borrow()
            .iter()
            .filter(|l| l.event == event)
            .map(|l| (l.handler.clone(), l.context.clone()))
            .collect();
        for (handler, context) in handlers {
            if let Err(thrown) = handler.call1(&context, payload) {
                web_sys::console::error_3(
                    &JsValue::from_str("webcall: a handler of"),
                    &JsValue::from_str(event),
                    &thrown,
                );
            }
        }
    }
}
