//! `/login`: a user ID and a button. Logging in fetches a UserSig from `/api/usersig`, then
//! logs the calling service in; success moves the app to `/call` through the state.

use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::hooks::{use_app_state, use_calling};
use crate::session_store::SavedSession;
use crate::state::Action;
use crate::strings::t;

#[function_component]
pub fn LoginPage() -> Html {
    let state = use_app_state();
    let calling = use_calling();
    let input = use_node_ref();
    // A user ID that failed validation; failures of the login itself live in the state.
    let invalid = use_state(|| None::<&'static str>);
    let busy = state.logging_in();
    // The field is disabled while logging in: focus it on arrival and when a login fails.
    {
        let input = input.clone();
        use_effect_with(busy, move |busy| {
            if let (false, Some(field)) = (busy, input.cast::<HtmlInputElement>()) {
                let _ = field.focus();
            }
        });
    }
    let onsubmit = {
        let (state, input, invalid) = (state.clone(), input.clone(), invalid.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if state.logging_in() {
                return;
            }
            let Some(field) = input.cast::<HtmlInputElement>() else {
                return;
            };
            let user_id = field.value().trim().to_owned();
            if let Err(message) = t().check_user_id(&user_id) {
                invalid.set(Some(message));
                return;
            }
            invalid.set(None);
            state.dispatch(Action::LoggingIn {
                user_id: user_id.clone(),
                restoring: false,
            });
            let (calling, dispatch) = (calling.clone(), state.dispatcher());
            spawn_local(async move {
                match api::fetch_user_sig(&user_id).await {
                    Ok(sig) => calling.login(SavedSession {
                        user_id,
                        user_sig: sig.user_sig,
                        sdk_app_id: sig.sdk_app_id,
                    }),
                    Err(error) => dispatch.dispatch(Action::LoginFailed(t().api_error(&error))),
                }
            });
        })
    };

    let t = t();
    let error = (*invalid)
        .map(str::to_owned)
        .or_else(|| state.login_error.as_ref().map(|e| t.login_error(e)));
    html! {
        <section class="card">
            <form {onsubmit} novalidate=true>
                <label for="user-id">{ t.user_id_label }</label>
                <div class="fill">
                    <input id="user-id" ref={input} name="user-id" autocomplete="username"
                        autocapitalize="none" spellcheck="false" disabled={busy}
                        aria-invalid={error.is_some().then_some("true")}
                        aria-describedby="login-message" />
                    <button type="submit" class="primary" disabled={busy}>{ t.log_in }</button>
                </div>
            </form>
            <div id="login-message" class="slot">
                if let Some(error) = error {
                    <p class="error" role="alert">{ error }</p>
                } else if busy {
                    <p>{ t.logging_in }</p>
                }
            </div>
        </section>
    }
}
