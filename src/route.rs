//! The app's URLs, what each one shows, and which one the state allows.
//!
//! The state decides where the user may be ([`redirect`]); the app root's director applies it.
//! `/` and unknown paths render nothing: the director sends them on at once.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::pages::{CallPage, InCallPage, LoginPage};
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
    #[not_found]
    #[at("/404")]
    NotFound,
}

pub fn switch(route: Route) -> Html {
    match route {
        Route::Login => html! { <LoginPage /> },
        Route::Call => html! { <CallPage /> },
        Route::InCall => html! { <InCallPage /> },
        Route::Home | Route::NotFound => html! {},
    }
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
        Session::LoggedIn { .. } => Route::Call,
    };
    (route != target).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let in_call = state(
            alice(),
            CallView::InCall {
                peer: "bob".into(),
                since_ms: None,
                connected: false,
                interrupted: false,
                muted: false,
                verification_code: None,
            },
        );
        assert_eq!(redirect(&in_call, Route::Call), Some(Route::InCall));
        assert_eq!(redirect(&in_call, Route::InCall), None);
        // A call on another device is shown on /call.
        let elsewhere = state(alice(), CallView::Elsewhere { peer: "bob".into() });
        assert_eq!(redirect(&elsewhere, Route::InCall), Some(Route::Call));
        assert_eq!(redirect(&elsewhere, Route::Call), None);
    }
}
