//! The app root: the shared state, the calling service, the router, and the director that
//! keeps the URL in step with the state.
//!
//! Navigation follows state and nothing else: pages never navigate. Logging in, a call being
//! accepted or ending, a lost session: each changes [`AppState`], and the [`Director`] moves
//! the user to the route [`redirect`] names. The incoming-call dialog sits above every page.
//! At start-up the root replays the tab's saved login and asks the server how to log in
//! (`/api/config`, for the login page).

use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::calling::Calling;
use crate::components::{connection_banner, header, IncomingDialog};
use crate::hooks::{use_app_state, AppContext};
use crate::lang::{self, LangContext};
use crate::route::{redirect, switch, Route};
use crate::session_store;
use crate::state::{Action, AppState};
use crate::style::global_style;

#[function_component]
pub fn App() -> Html {
    // The language, decided and put in force before the first render.
    let lang = use_state(lang::start);
    let lang = LangContext::new(lang);
    // The login saved for this tab, replayed once at start-up.
    let saved = use_state(session_store::load);
    let state = use_reducer(|| AppState::new(saved.as_ref().map(|s| s.user_id.clone())));
    // One calling service for the app's lifetime; its subscription goes with it.
    let calling = use_state(|| Calling::new(state.dispatcher()));
    {
        let (calling, saved) = ((*calling).clone(), (*saved).clone());
        let dispatch = state.dispatcher();
        use_effect_with((), move |_| {
            if let Some(saved) = saved {
                calling.login(saved);
            }
            // How to log in, for the login page; when this fails, logging in asks again.
            spawn_local(async move {
                if let Ok(config) = api::fetch_config().await {
                    dispatch.dispatch(Action::Configured(config));
                }
            });
        });
    }

    let reconnecting = state.reconnecting;
    html! {
        <ContextProvider<LangContext> context={lang.clone()}>
            <ContextProvider<AppContext> context={state}>
                <ContextProvider<Calling> context={(*calling).clone()}>
                    <BrowserRouter>
                        { global_style() }
                        { header(&lang) }
                        <main>
                            { connection_banner(reconnecting) }
                            <Switch<Route> render={switch} />
                        </main>
                        <IncomingDialog />
                        <Director />
                    </BrowserRouter>
                </ContextProvider<Calling>>
            </ContextProvider<AppContext>>
        </ContextProvider<LangContext>>
    }
}

/// Moves the user to the route the state calls for.
#[function_component]
fn Director() -> Html {
    let state = use_app_state();
    let navigator = use_navigator();
    let route = use_route::<Route>();
    let target = route.and_then(|route| redirect(&state, route));
    // Pages that are not in the first load come with the whole app.
    crate::route::use_whole_app(
        matches!(route, Some(Route::History | Route::Check)) && target.is_none(),
    );
    use_effect_with(target, move |target| {
        if let (Some(target), Some(navigator)) = (target, navigator) {
            navigator.replace(target);
        }
    });
    html! {}
}
