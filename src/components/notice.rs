//! The status line on `/call`: "Calling bob…" while dialling, with how the call stands once the
//! server has said ("Ringing…", or that bob is offline and the call waits), otherwise why the
//! last call ended (or what went wrong). One `role="status"` element that stays in place, so
//! screen readers announce each change and the layout does not move.
//!
//! A plain view function: it has no state of its own.

use yew::prelude::*;

use crate::state::{AppState, CallView};
use crate::strings::t;

pub fn notice(state: &AppState) -> Html {
    let t = t();
    let (text, detail) = match (&state.call, &state.notice) {
        (CallView::Dialing { callee, ringing }, _) => (
            Some((t.calling)(callee)),
            ringing.map(|n| t.dialing_status(callee, n)),
        ),
        (_, Some(notice)) => (Some(t.notice(notice)), None),
        _ => (None, None),
    };
    html! {
        <p id="notice" role="status">
            { text }
            if let Some(detail) = detail {
                <span id="dial-status" class="detail">{ detail }</span>
            }
        </p>
    }
}
