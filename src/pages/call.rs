//! `/call`: who is logged in, logging out, and calling someone. While the user types a valid
//! callee ID, that user's presence shows under the field ("bob is online"). While dialling it
//! shows "Calling bob…", whether bob's devices ring, and a Cancel button; afterwards the notice
//! says how the call ended. While the user is in a call on another device, a banner says so and
//! the Call button is disabled. When the session is about to end and cannot be renewed (its
//! UserSig was pasted), a banner asks the user to log in again with a new one. As on
//! `/login`, a notice says when calls can not work on this page at all, and a link leads to the
//! device check.

use web_sys::HtmlInputElement;
use webcall_client::validate_user_id;
use yew::prelude::*;
use yew_router::prelude::Link;

use crate::components::{notice, unsupported};
use crate::hooks::{use_app_state, use_calling};
use crate::route::Route;
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
    // The callee field's text, when it is a valid user ID.
    let typed = use_state_eq(|| None::<String>);

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

    // The user whose presence shows: the one being called, else the one typed. The client
    // watches exactly that one, and is told again only when it changes (or after a login).
    let watched = match &state.call {
        CallView::Dialing { callee, .. } => Some(callee.clone()),
        _ => (*typed).clone(),
    };
    {
        let calling = calling.clone();
        let logged_in = state.user_id().map(str::to_owned);
        use_effect_with((watched.clone(), logged_in), move |(watched, logged_in)| {
            if logged_in.is_some() {
                // Fails only when the login is gone, which the state shows by itself.
                let _ = calling.watch_presence(watched.as_slice());
            }
        });
    }

    if state.logging_in() {
        return html! { <section class="card"><p>{ t().logging_in }</p></section> };
    }
    let Some(user_id) = state.user_id() else {
        return html! {};
    };
    let elsewhere = match &state.call {
        CallView::Elsewhere { peer } => Some(peer),
        _ => None,
    };
    let oninput = {
        let typed = typed.clone();
        Callback::from(move |e: InputEvent| {
            let field: HtmlInputElement = e.target_unchecked_into();
            let id = field.value().trim().to_owned();
            typed.set(validate_user_id(&id).is_ok().then_some(id));
        })
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
    let presence = watched.as_deref().and_then(|id| {
        let online = state.presence(id)?;
        Some(html! {
            <>
                <span class={classes!("dot", online.then_some("on"))} aria-hidden="true"></span>
                { t.presence(id, online) }
            </>
        })
    });
    html! {
        <section class="card">
            { unsupported() }
            <div class="row spread">
                <p>{ (t.logged_in_as)(user_id) }</p>
                <button id="log-out" type="button" onclick={log_out}>{ t.log_out }</button>
            </div>
            <div id="session-warning" role="status">
                if let Some(secs) = state.expiry_warning_secs {
                    <p class="banner">{ t.expiry_warning(secs) }</p>
                }
            </div>
            <div id="elsewhere" role="status">
                if let Some(peer) = elsewhere {
                    <p class="banner">{ (t.in_call_elsewhere)(peer) }</p>
                }
            </div>
            <form {onsubmit} novalidate=true>
                <label for="callee-id">{ t.callee_label }</label>
                <div class="fill">
                    <input id="callee-id" ref={input} name="callee-id" autocomplete="off"
                        autocapitalize="none" spellcheck="false" disabled={dialing} {oninput}
                        aria-invalid={error.is_some().then_some("true")}
                        aria-describedby="presence call-error" />
                    <button id="call" type="submit" class="primary"
                        disabled={dialing || elsewhere.is_some()}>
                        { t.call }
                    </button>
                </div>
                <p id="presence" class="presence" role="status">{ presence }</p>
            </form>
            <div id="call-error" class="slot">
                if let Some(error) = &*error {
                    <p class="error" role="alert">{ error }</p>
                }
            </div>
            <div class="row status">
                { notice(&state) }
                if dialing {
                    <button id="cancel" type="button" ref={cancel_ref} class="danger"
                        onclick={cancel}>
                        { t.cancel }
                    </button>
                }
            </div>
            <p class="links">
                <Link<Route> to={Route::History} classes="history-link">
                    { t.history_link }
                </Link<Route>>
                { " · " }
                <Link<Route> to={Route::Check}>{ t.check_link }</Link<Route>>
            </p>
        </section>
    }
}
