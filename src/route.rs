//! The app's URLs, what each one shows, and which one the state allows.
//!
//! The state decides where the user may be ([`redirect`]); the app root's director applies it.
//! `/` and unknown paths render nothing: the director sends them on at once.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::pages::{CallPage, InCallPage, LoginPage};
#[cfg(feature = "extra-pages")]
use crate::pages::{CheckPage, HistoryPage};
use crate::state::{AppState, CallView, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Routable)]
pub enum Route {
    #[at("/")]
    Home,
    #[at("/login")]
    Login,
    #[at("/call")]
    Call,
    #[at("/in-call")]
    InCall,
    #[at("/history")]
    History,
    /// The device check, open logged in or out (not in a call).
    #[at("/check")]
    Check,
    #[not_found]
    #[at("/404")]
    NotFound,
}

pub fn switch(route: Route) -> Html {
    match route {
        Route::Login => html! { <LoginPage /> },
        Route::Call => html! { <CallPage /> },
        Route::InCall => html! { <InCallPage /> },
        #[cfg(feature = "extra-pages")]
        Route::History => html! { <HistoryPage /> },
        #[cfg(feature = "extra-pages")]
        Route::Check => html! { <CheckPage /> },
        // The first load leaves them out; the director loads the whole app (`load_whole_app`).
        #[cfg(not(feature = "extra-pages"))]
        Route::History | Route::Check => html! {
            <section class="card"><p>{ crate::strings::t().loading_page }</p></section>
        },
        Route::Home | Route::NotFound => html! {},
    }
}

/// In the first-load build, opening `/history` or `/check` loads the whole app: the server
/// answers those paths with it (`dist/full/`). The call service starts again there and logs in
/// with this tab's saved session; nobody is in a call then (these pages are for idle users), and
/// an invitation that comes meanwhile rings once the login is back. Reloads once per path
/// within 10 s, so that a server without the whole app (`trunk serve`) leaves the page as it is
/// instead of reloading for ever.
#[hook]
pub fn use_whole_app(on_such_page: bool) {
    use_effect_with(on_such_page, |&on_such_page| {
        // The whole app has the pages; only the first-load build loads it.
        #[cfg(not(feature = "extra-pages"))]
        if on_such_page {
            load_whole_app();
        }
        #[cfg(feature = "extra-pages")]
        let _ = on_such_page;
    });
}

#[cfg(not(feature = "extra-pages"))]
fn load_whole_app() {
    const KEY: &str = "webcall.whole-app";
    let Some(window) = web_sys::window() else {
        return;
    };
    let path = window.location().pathname().unwrap_or_default();
    // Whole milliseconds: parsing floats would cost the first load kilobytes.
    let now = js_sys::Date::now() as u64;
    let storage = window.session_storage().ok().flatten();
    let last = storage
        .as_ref()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .unwrap_or_default();
    if let Some((tried, when)) = last.split_once(' ') {
        if tried == path && now.saturating_sub(when.parse().unwrap_or(0)) < 10_000 {
            return;
        }
    }
    if let Some(storage) = storage {
        let _ = storage.set_item(KEY, &format!("{path} {now}"));
    }
    let _ = window.location().reload();
}

/// Where the user must go from `route` in `state`, when not where they are.
pub fn redirect(state: &AppState, route: Route) -> Option<Route> {
    let target = match &state.session {
        Session::LoggedOut
        | Session::LoggingIn {
            restoring: false, ..
        } => Route::Login,
        // Replaying this tab's login after a refresh: stay put until it succeeds or fails.
        Session::LoggingIn {
            restoring: true, ..
        } => return None,
        Session::LoggedIn { .. } if matches!(state.call, CallView::InCall { .. }) => Route::InCall,
        // The call history, unless dialling (which `/call` shows, with its Cancel button).
        Session::LoggedIn { .. }
            if route == Route::History && !matches!(state.call, CallView::Dialing { .. }) =>
        {
            return None
        }
        Session::LoggedIn { .. } => Route::Call,
    };
    // The device check, unless in a call or dialling one (whose page has its controls).
    let in_call = target == Route::InCall || matches!(state.call, CallView::Dialing { .. });
    if route == Route::Check && !in_call {
        return None;
    }
    (route != target).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call with bob, just accepted.
    fn in_call_with_bob() -> CallView {
        CallView::InCall {
            peer: "bob".into(),
            since_ms: None,
            connected: false,
            interrupted: false,
            muted: false,
            peer_muted: false,
            verification_code: None,
        }
    }

    fn state(session: Session, call: CallView) -> AppState {
        AppState {
            session,
            call,
            ..AppState::new(None)
        }
    }

    #[test]
    fn logged_out_users_are_sent_to_login() {
        let s = state(Session::LoggedOut, CallView::Idle);
        for route in [Route::Home, Route::Call, Route::InCall, Route::NotFound] {
            assert_eq!(redirect(&s, route), Some(Route::Login));
        }
        assert_eq!(redirect(&s, Route::Login), None);
    }

    #[test]
    fn a_restoring_login_stays_where_it_is() {
        let s = AppState::new(Some("alice".into()));
        assert_eq!(redirect(&s, Route::Call), None);
        assert_eq!(redirect(&s, Route::InCall), None);
    }

    #[test]
    fn logged_in_users_follow_their_call() {
        let alice = || Session::LoggedIn {
            user_id: "alice".into(),
        };
        let idle = state(alice(), CallView::Idle);
        assert_eq!(redirect(&idle, Route::Login), Some(Route::Call));
        assert_eq!(redirect(&idle, Route::Home), Some(Route::Call));
        assert_eq!(redirect(&idle, Route::InCall), Some(Route::Call));
        assert_eq!(redirect(&idle, Route::Call), None);
        let ringing = state(
            alice(),
            CallView::Ringing {
                caller: "bob".into(),
            },
        );
        assert_eq!(redirect(&ringing, Route::Call), None);
        let in_call = state(alice(), in_call_with_bob());
        assert_eq!(redirect(&in_call, Route::Call), Some(Route::InCall));
        assert_eq!(redirect(&in_call, Route::InCall), None);
        // A call on another device is shown on /call.
        let elsewhere = state(alice(), CallView::Elsewhere { peer: "bob".into() });
        assert_eq!(redirect(&elsewhere, Route::InCall), Some(Route::Call));
        assert_eq!(redirect(&elsewhere, Route::Call), None);
    }

    #[test]
    fn the_history_is_open_to_logged_in_users_not_in_a_call() {
        let alice = || Session::LoggedIn {
            user_id: "alice".into(),
        };
        let logged_out = state(Session::LoggedOut, CallView::Idle);
        assert_eq!(redirect(&logged_out, Route::History), Some(Route::Login));
        let restoring = AppState::new(Some("alice".into()));
        assert_eq!(redirect(&restoring, Route::History), None);
        for call in [
            CallView::Idle,
            CallView::Ringing {
                caller: "bob".into(),
            },
            CallView::Elsewhere { peer: "bob".into() },
        ] {
            let s = state(alice(), call.clone());
            assert_eq!(redirect(&s, Route::History), None, "{call:?}");
        }
        let dialing = state(
            alice(),
            CallView::Dialing {
                callee: "bob".into(),
                ringing: None,
            },
        );
        assert_eq!(redirect(&dialing, Route::History), Some(Route::Call));
        let in_call = state(
            alice(),
            CallView::InCall {
                peer: "bob".into(),
                since_ms: None,
                connected: true,
                interrupted: false,
                muted: false,
                peer_muted: false,
                verification_code: None,
            },
        );
        assert_eq!(redirect(&in_call, Route::History), Some(Route::InCall));
    }

    #[test]
    fn the_device_check_is_open_logged_in_or_out_but_not_in_a_call() {
        let logged_out = state(Session::LoggedOut, CallView::Idle);
        assert_eq!(redirect(&logged_out, Route::Check), None);
        let logging_in = state(
            Session::LoggingIn {
                user_id: "alice".into(),
                restoring: false,
            },
            CallView::Idle,
        );
        assert_eq!(redirect(&logging_in, Route::Check), None);
        let alice = || Session::LoggedIn {
            user_id: "alice".into(),
        };
        assert_eq!(
            redirect(&state(alice(), CallView::Idle), Route::Check),
            None
        );
        let ringing = CallView::Ringing {
            caller: "bob".into(),
        };
        assert_eq!(redirect(&state(alice(), ringing), Route::Check), None);
        let dialing = CallView::Dialing {
            callee: "bob".into(),
            ringing: None,
        };
        assert_eq!(
            redirect(&state(alice(), dialing), Route::Check),
            Some(Route::Call)
        );
        let in_call = in_call_with_bob();
        assert_eq!(
            redirect(&state(alice(), in_call), Route::Check),
            Some(Route::InCall)
        );
    }
}
