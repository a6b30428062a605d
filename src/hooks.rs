//! The hooks through which components reach the app's shared state and the calling service.

use yew::prelude::*;

use crate::calling::Calling;
use crate::state::AppState;

/// The app state as provided at the root: read it, and dispatch to it.
pub type AppContext = UseReducerHandle<AppState>;

/// The app state. Panics outside the app root's providers, which is a programming error.
///
/// Also subscribes to the language, so that every reader of the state re-renders in the new
/// language when the user switches (texts come from `t()`, which reads it).
#[hook]
pub fn use_app_state() -> AppContext {
    crate::lang::use_lang();
    use_context::<AppContext>().expect("AppContext is provided by the app root")
}

/// The calling service. Panics outside the app root's providers.
///
/// Subscribes to the language too, like [`use_app_state`].
#[hook]
pub fn use_calling() -> Calling {
    crate::lang::use_lang();
    use_context::<Calling>().expect("Calling is provided by the app root")
}

/// Moves keyboard focus to `node` when the component mounts, so that a page change does not
/// leave focus on nothing.
#[hook]
pub fn use_focus_on_mount(node: NodeRef) {
    use_effect_with((), move |_| {
        if let Some(element) = node.cast::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
    });
}
