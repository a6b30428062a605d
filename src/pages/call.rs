//! `/call`: who is logged in, logging out, and calling someone. While dialling it shows
//! "Calling bob…" and a Cancel button; afterwards the notice says how the call ended.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::notice;
use crate::hooks::{use_app_state, use_calling};
use crate::state::CallView;
use crate::strings::t;

#[function_component]
pub fn CallPage() -> Html {
    let state = use_app_state();
    let calling = use_calling();
    let input = use_node_ref();
    let cancel_ref = use_node_ref();
    // Why the callee ID was refused, shown under the form.
    let error = use_state(|| None::<String>);

    let dialing = matches!(state.call, CallView::Dialing { .. });
    // Focus follows the form: Cancel while dialling (the Call button is disabled then), the
    // callee field otherwise (on arrival, and when dialling ends).
    {
        let (input, cancel_ref) = (input.clone(), cancel_ref.clone());
        use_effect_with(dialing, move |dialing| {
            let target = if *dialing { cancel_ref } else { input };
            if let Some(element) = target.cast::<web_sys::HtmlElement>() {
                let _ = element.focus();
            }
        });
    }

    if state.logging_in() {
        return html! { <section class="card"><p>{ t().logging_in }</p></section> };
    }
    let Some(user_id) = state.user_id() else {
        return html! {};
    };
    let onsubmit = {
        let (calling, input, error) = (calling.clone(), input.clone(), error.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(field) = input.cast::<HtmlInputElement>() else {
                return;
            };
            let callee = field.value().trim().to_owned();
            let result = t()
                .check_user_id(&callee)
                .map_err(str::to_owned)
                .and_then(|()| calling.call(&callee).map_err(|e| t().client_error(&e)));
            error.set(result.err());
        })
    };
    let log_out = {
        let calling = calling.clone();
        Callback::from(move |_| calling.logout())
    };
    let cancel = Callback::from(move |_| {
        let _ = calling.hang_up();
    });

    let t = t();
    html! {
        <section class="card">
            <div class="row spread">
                <p>{ (t.logged_in_as)(user_id) }</p>
                <button type="button" onclick={log_out}>{ t.log_out }</button>
            </div>
            <form {onsubmit} novalidate=true>
                <label for="callee-id">{ t.callee_label }</label>
                <div class="fill">
                    <input id="callee-id" ref={input} name="callee-id" autocomplete="off"
                        autocapitalize="none" spellcheck="false" disabled={dialing}
                        aria-invalid={error.is_some().then_some("true")}
                        aria-describedby="call-error" />
                    <button type="submit" class="primary" disabled={dialing}>{ t.call }</button>
                </div>
            </form>
            <div id="call-error" class="slot">
                if let Some(error) = &*error {
                    <p class="error" role="alert">{ error }</p>
                }
            </div>
            <div class="row status">
                { notice(&state) }
                if dialing {
                    <button type="button" ref={cancel_ref} class="danger" onclick={cancel}>
                        { t.cancel }
                    </button>
                }
            </div>
        </section>
    }
}
