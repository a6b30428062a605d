//! `/login`: a user ID and a button, and in strict mode without a UserSig URL a second field,
//! "UserSig", where the user pastes a UserSig issued elsewhere (by `webcall-server usersig`,
//! say). A notice says when calls can not work on this page at all (see
//! [`unsupported`](crate::components::unsupported)); a link leads to the device check.
//!
//! Logging in gets the UserSig where `/api/config` says (asked at start-up, or here when that
//! failed; see [`api`]): the development endpoint, the customer's backend, or the pasted one;
//! then it logs the calling service in, and success moves the app to `/call` through the
//! state. The server's refusals (an expired UserSig, one for another user...) come back as
//! login errors in the state, which this page words.

use web_sys::{HtmlElement, HtmlInputElement, HtmlTextAreaElement};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::Link;

use crate::api::{self, LoginConfig, UserSigSource};
use crate::components::unsupported;
use crate::hooks::{use_app_state, use_calling};
use crate::route::Route;
use crate::session_store::SavedSession;
use crate::state::{Action, AppState, LoginError};
use crate::strings::t;

/// The field a validation message is about.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    UserId,
    UserSig,
}

#[function_component]
pub fn LoginPage() -> Html {
    let state = use_app_state();
    let calling = use_calling();
    let user_id_ref = use_node_ref();
    let user_sig_ref = use_node_ref();
    // A field that failed validation, and why; failures of the login itself live in the state.
    let invalid = use_state(|| None::<(Field, &'static str)>);
    let busy = state.logging_in();
    // The UserSig field shows once `/api/config` has said that the user pastes one.
    let pasted = state
        .login_config
        .as_ref()
        .is_some_and(|config| config.source() == UserSigSource::Pasted);
    // The fields are disabled while logging in: focus one on arrival and when a login fails,
    // the UserSig field when the server refused the UserSig.
    let sig_refused = matches!(
        state.login_error,
        Some(
            LoginError::UserSigExpired
                | LoginError::UserSigInvalid
                | LoginError::UserSigWrongUser
                | LoginError::UserSigWrongApp
        )
    ) && pasted;
    {
        let (user_id_ref, user_sig_ref) = (user_id_ref.clone(), user_sig_ref.clone());
        use_effect_with((busy, sig_refused), move |&(busy, sig_refused)| {
            let target = if sig_refused {
                user_sig_ref
            } else {
                user_id_ref
            };
            if let (false, Some(field)) = (busy, target.cast::<HtmlElement>()) {
                let _ = field.focus();
            }
        });
    }
    let onsubmit = {
        let state = state.clone();
        let (user_id_ref, user_sig_ref) = (user_id_ref.clone(), user_sig_ref.clone());
        let invalid = invalid.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if state.logging_in() {
                return;
            }
            let Some(user_id_field) = user_id_ref.cast::<HtmlInputElement>() else {
                return;
            };
            let refuse = |field: Field, message| {
                invalid.set(Some((field, message)));
                let node = match field {
                    Field::UserId => &user_id_ref,
                    Field::UserSig => &user_sig_ref,
                };
                if let Some(element) = node.cast::<HtmlElement>() {
                    let _ = element.focus();
                }
            };
            let user_id = user_id_field.value().trim().to_owned();
            if let Err(message) = t().check_user_id(&user_id) {
                return refuse(Field::UserId, message);
            }
            // A pasted UserSig may have been wrapped or indented on its way: UserSigs have no
            // whitespace.
            let pasted_sig = user_sig_ref
                .cast::<HtmlTextAreaElement>()
                .map(|field| field.value().split_whitespace().collect::<String>())
                .filter(|sig| !sig.is_empty());
            if pasted && pasted_sig.is_none() {
                return refuse(Field::UserSig, t().user_sig_empty);
            }
            invalid.set(None);
            state.dispatch(Action::LoggingIn {
                user_id: user_id.clone(),
                restoring: false,
            });
            let (calling, dispatch) = (calling.clone(), state.dispatcher());
            let known_config = state.login_config.clone();
            spawn_local(async move {
                match session(user_id, pasted_sig, known_config, &dispatch).await {
                    Ok(session) => calling.login(session),
                    Err(message) => dispatch.dispatch(Action::LoginFailed(message)),
                }
            });
        })
    };

    let t = t();
    let error = (*invalid)
        .map(|(_, message)| message.to_owned())
        .or_else(|| state.login_error.as_ref().map(|e| t.login_error(e)));
    // The field the message is about: the one that failed validation, else the UserSig field
    // when the server refused the UserSig, else the user ID.
    let error_field = error.as_ref().map(|_| match *invalid {
        Some((field, _)) => field,
        None if sig_refused => Field::UserSig,
        None => Field::UserId,
    });
    let aria_invalid = |field| (error_field == Some(field)).then_some("true");
    let submit = html! {
        <button id="log-in" type="submit" class="primary" disabled={busy}>{ t.log_in }</button>
    };
    html! {
        <section class="card">
            { unsupported() }
            <form {onsubmit} novalidate=true>
                <label for="user-id">{ t.user_id_label }</label>
                <div class="fill">
                    <input id="user-id" ref={user_id_ref} name="user-id" autocomplete="username"
                        autocapitalize="none" spellcheck="false" disabled={busy}
                        aria-invalid={aria_invalid(Field::UserId)}
                        aria-describedby="login-message" />
                    if !pasted { { submit.clone() } }
                </div>
                if pasted {
                    <label for="user-sig" class="next">{ t.user_sig_label }</label>
                    <textarea id="user-sig" ref={user_sig_ref} name="user-sig" rows="4"
                        autocomplete="off" autocapitalize="none" spellcheck="false"
                        disabled={busy} aria-invalid={aria_invalid(Field::UserSig)}
                        aria-describedby="user-sig-hint login-message" />
                    <p id="user-sig-hint" class="detail hint">{ t.user_sig_hint }</p>
                    <div class="actions">{ submit }</div>
                }
            </form>
            <div id="login-message" class="slot">
                if let Some(error) = error {
                    <p class="error" role="alert">{ error }</p>
                } else if busy {
                    <p>{ t.logging_in }</p>
                }
            </div>
            <p class="links"><Link<Route> to={Route::Check}>{ t.check_link }</Link<Route>></p>
        </section>
    }
}

/// What logging `user_id` in takes: a UserSig from where the login configuration says (the
/// one known, else asked for now and kept in the state), or `pasted_sig` when the user pastes
/// one. Or the message that says why there is none.
async fn session(
    user_id: String,
    pasted_sig: Option<String>,
    known_config: Option<LoginConfig>,
    dispatch: &UseReducerDispatcher<AppState>,
) -> Result<SavedSession, String> {
    let config = match known_config {
        Some(config) => config,
        None => {
            let config = api::fetch_config()
                .await
                .map_err(|error| t().api_error(&error))?;
            dispatch.dispatch(Action::Configured(config.clone()));
            config
        }
    };
    let (user_sig, sdk_app_id) = match config.source() {
        UserSigSource::Pasted => {
            // Without a field to paste into when the configuration came only now: it shows
            // from now on.
            let user_sig = pasted_sig.ok_or_else(|| t().user_sig_empty.to_owned())?;
            (user_sig, config.sdk_app_id)
        }
        source => {
            let fetched = api::fetch_user_sig(source, &user_id, config.sdk_app_id)
                .await
                .map_err(|error| t().user_sig_error(&error))?;
            (fetched.user_sig, fetched.sdk_app_id)
        }
    };
    Ok(SavedSession {
        user_id,
        user_sig,
        sdk_app_id,
    })
}
