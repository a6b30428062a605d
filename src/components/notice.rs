//! The status line on `/call`: "Calling bob…" while dialling, otherwise why the last call
//! ended (or what went wrong). One `role="status"` element that stays in place, so screen
//! readers announce each change and the layout does not move.
//!
//! A plain view function: it has no state of its own.

use yew::prelude::*;

use crate::state::{AppState, CallView};
use crate::strings::t;

pub fn notice(state: &AppState) -> Html {
    let text = match (&state.call, &state.notice) {
        (CallView::Dialing { callee }, _) => Some((t().calling)(callee)),
        (_, Some(notice)) => Some(t().notice(notice)),
        _ => None,
    };
    html! {
        <p id="notice" role="status">{ text }</p>
    }
}
