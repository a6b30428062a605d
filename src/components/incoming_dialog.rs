//! The incoming-call dialog, above whatever page is showing while a call rings here.
//!
//! A modal `role="dialog"`, named by its title and described by its hint: focus moves to
//! "Accept" when it rings, Tab stays between its two buttons, and focus goes back where it was
//! when the dialog closes (if that is still on the page). Accepting moves the app to `/in-call`
//! through the state. It re-renders in the new language when the user switches.

use web_sys::HtmlElement;
use yew::prelude::*;

use crate::hooks::{use_app_state, use_calling};
use crate::state::CallView;
use crate::strings::t;

#[function_component]
pub fn IncomingDialog() -> Html {
    let state = use_app_state();
    match &state.call {
        CallView::Ringing { caller } => html! { <Ringing caller={caller.clone()} /> },
        _ => html! {},
    }
}

#[derive(Properties, PartialEq)]
struct RingingProps {
    caller: AttrValue,
}

#[function_component]
fn Ringing(props: &RingingProps) -> Html {
    // Re-renders in the new language on a switch, through `use_calling`.
    let calling = use_calling();
    let accept_ref = use_node_ref();
    let reject_ref = use_node_ref();
    {
        let accept_ref = accept_ref.clone();
        use_effect_with((), move |_| {
            let previous = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<HtmlElement>(e).ok());
            if let Some(button) = accept_ref.cast::<HtmlElement>() {
                let _ = button.focus();
            }
            move || {
                if let Some(previous) = previous.filter(|p| p.is_connected()) {
                    let _ = previous.focus();
                }
            }
        });
    }
    // Two buttons: Tab and Shift+Tab both go to the other one.
    let onkeydown = {
        let (accept_ref, reject_ref) = (accept_ref.clone(), reject_ref.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() != "Tab" {
                return;
            }
            e.prevent_default();
            let on_accept = accept_ref.get()
                == web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.active_element())
                    .map(Into::into);
            let next = if on_accept { &reject_ref } else { &accept_ref };
            if let Some(button) = next.cast::<HtmlElement>() {
                let _ = button.focus();
            }
        })
    };
    let accept = {
        let calling = calling.clone();
        Callback::from(move |_| {
            // Fails only when the call is already gone, which the state shows by itself.
            let _ = calling.accept();
        })
    };
    let reject = Callback::from(move |_| {
        let _ = calling.reject();
    });
    let t = t();
    html! {
        <div class="backdrop">
            <div id="incoming" class="dialog" role="dialog" aria-modal="true"
                aria-labelledby="incoming-title" aria-describedby="incoming-hint" {onkeydown}>
                <h2 id="incoming-title">{ (t.voice_call_from)(&props.caller) }</h2>
                <p id="incoming-hint" class="detail">{ t.incoming_hint }</p>
                <div class="actions">
                    <button id="accept" ref={accept_ref} type="button" class="primary"
                        onclick={accept}>
                        { t.accept }
                    </button>
                    <button id="reject" ref={reject_ref} type="button" class="danger"
                        onclick={reject}>
                        { t.reject }
                    </button>
                </div>
            </div>
        </div>
    }
}
