//! The bridge between the calling service and the app state.
//!
//! [`Calling`] owns the app's one [`WebCall`] and its event subscription, and is shared with
//! every component through a context. The `WebCall` is created at the first login, because the
//! application ID it needs comes with the UserSig (or from the session saved for this tab); it
//! is kept for later logins to the same application. Client events become [`Action::Event`]s;
//! the user's requests go through the methods here, which call the client and record what
//! they did. Dropping the last `Calling` (when the app unmounts) drops the subscription and the
//! client.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use webcall_client::{CallEvent, CallType, ClientError, Subscription, WebCall, WebCallOptions};
#[cfg(feature = "extra-pages")]
use webcall_client::{HistoryError, HistoryPage};
use yew::UseReducerDispatcher;

use crate::api::{self, UserSigSource};
use crate::device_prefs::{self, Kind};
use crate::session_store::{self, SavedSession};
use crate::state::{Action, AppState};
use crate::strings::t;

/// The app's handle on the calling service. Cheap to clone; equal when it is the same one.
#[derive(Clone)]
pub struct Calling(Rc<Inner>);

impl PartialEq for Calling {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

struct Inner {
    dispatch: UseReducerDispatcher<AppState>,
    client: RefCell<Option<Client>>,
    /// The login under way, saved for the tab once it succeeds.
    pending: RefCell<Option<SavedSession>>,
    /// The user IDs whose presence was last asked for in this login (`None`: not asked yet),
    /// so that asking for the same ones again does nothing.
    watched: RefCell<Option<Vec<String>>>,
}

struct Client {
    webcall: WebCall,
    sdk_app_id: u32,
    _subscription: Subscription,
}

impl Calling {
    pub fn new(dispatch: UseReducerDispatcher<AppState>) -> Self {
        Calling(Rc::new(Inner {
            dispatch,
            client: RefCell::new(None),
            pending: RefCell::new(None),
            watched: RefCell::new(None),
        }))
    }

    /// The client, once there is one.
    fn client(&self) -> Option<WebCall> {
        self.0.client.borrow().as_ref().map(|c| c.webcall.clone())
    }

    /// The client for application `sdk_app_id`, created and subscribed to if need be.
    fn client_for(&self, sdk_app_id: u32) -> WebCall {
        if let Some(client) = &*self.0.client.borrow() {
            if client.sdk_app_id == sdk_app_id {
                return client.webcall.clone();
            }
        }
        let webcall = WebCall::new(WebCallOptions::same_origin(sdk_app_id));
        // The handler reaches the client through a weak reference: holding the client itself
        // would keep it alive forever.
        let inner = Rc::downgrade(&self.0);
        let subscription = webcall.on_event(move |event| on_event(&inner, event));
        // The devices chosen on an earlier visit.
        let mic = device_prefs::load(Kind::Microphone);
        let speaker = device_prefs::load(Kind::Speaker);
        let for_devices = webcall.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = for_devices.set_microphone(mic.as_deref()).await;
            if speaker.is_some() && for_devices.speaker_selection_supported() {
                let _ = for_devices.set_speaker(speaker.as_deref()).await;
            }
        });
        *self.0.client.borrow_mut() = Some(Client {
            webcall: webcall.clone(),
            sdk_app_id,
            _subscription: subscription,
        });
        webcall
    }

    /// Logs in with `session`, from the login page or restoring this tab's saved session.
    /// Failures are recorded in the state.
    pub fn login(&self, session: SavedSession) {
        let webcall = self.client_for(session.sdk_app_id);
        let (user_id, user_sig) = (session.user_id.clone(), session.user_sig.clone());
        *self.0.pending.borrow_mut() = Some(session);
        if let Err(error) = webcall.login(&user_id, &user_sig) {
            self.0.pending.borrow_mut().take();
            session_store::clear();
            self.0
                .dispatch
                .dispatch(Action::LoginFailed(t().client_error(&error)));
        }
    }

    /// Logs out; [`CallEvent::LoggedOut`] updates the state.
    pub fn logout(&self) {
        session_store::clear();
        if let Some(webcall) = self.client() {
            let _ = webcall.logout();
        }
    }

    /// Calls `callee`: dialling begins, or the reason it cannot.
    pub fn call(&self, callee: &str) -> Result<(), ClientError> {
        let webcall = self.client().ok_or(ClientError::NotLoggedIn)?;
        webcall.call(callee, CallType::Audio, None)?;
        self.0
            .dispatch
            .dispatch(Action::Dialed(webcall.call_state()));
        Ok(())
    }

    /// Accepts the ringing call.
    pub fn accept(&self) -> Result<(), ClientError> {
        let webcall = self.client().ok_or(ClientError::NotLoggedIn)?;
        webcall.accept()?;
        self.0
            .dispatch
            .dispatch(Action::Accepted(webcall.call_state()));
        Ok(())
    }

    /// Rejects the ringing call.
    pub fn reject(&self) -> Result<(), ClientError> {
        let webcall = self.client().ok_or(ClientError::NotLoggedIn)?;
        let before = webcall.call_state();
        webcall.reject()?;
        self.0.dispatch.dispatch(Action::LeftCall(before));
        Ok(())
    }

    /// Leaves the call: cancels it while dialling, rejects it while ringing, hangs up in it.
    pub fn hang_up(&self) -> Result<(), ClientError> {
        let webcall = self.client().ok_or(ClientError::NotLoggedIn)?;
        let before = webcall.call_state();
        webcall.hangup()?;
        self.0.dispatch.dispatch(Action::LeftCall(before));
        Ok(())
    }

    /// Watches the presence of exactly `users` (none: stops watching); their presence comes
    /// into the state. Asking for the IDs watched already does nothing.
    pub fn watch_presence(&self, users: &[String]) -> Result<(), ClientError> {
        if self.0.watched.borrow().as_deref() == Some(users) {
            return Ok(());
        }
        let webcall = self.client().ok_or(ClientError::NotLoggedIn)?;
        webcall.watch_presence(users)?;
        *self.0.watched.borrow_mut() = Some(users.to_vec());
        let known = users
            .iter()
            .map(|id| (id.clone(), webcall.presence(id)))
            .collect();
        self.0.dispatch.dispatch(Action::Watched(known));
        Ok(())
    }

    /// The logged-in session's ICE servers (TURN credentials included), for the device
    /// check's relay test; `None` when nobody is logged in.
    #[cfg(feature = "extra-pages")]
    pub fn ice_servers(&self) -> Option<Vec<webcall_client::check::IceServer>> {
        let webcall = self.client()?;
        webcall.user_id()?;
        Some(webcall.ice_servers())
    }

    /// The calling service, for the live readings of a call (volumes, quality, devices),
    /// which components subscribe to themselves: they change several times a second and stay
    /// out of the app state (see `live`).
    pub fn webcall(&self) -> Option<WebCall> {
        self.client()
    }

    /// Page `page` of the logged-in user's call history, newest first.
    #[cfg(feature = "extra-pages")]
    pub async fn history(&self, page: u32) -> Result<HistoryPage, HistoryError> {
        let webcall = self.client().ok_or(HistoryError::NotLoggedIn)?;
        webcall.history(page).await
    }

    /// Mutes or unmutes the microphone.
    pub fn set_muted(&self, muted: bool) -> Result<(), ClientError> {
        self.client()
            .ok_or(ClientError::NotLoggedIn)?
            .set_mic_mute(muted)?;
        self.0.dispatch.dispatch(Action::Muted(muted));
        Ok(())
    }
}

/// Keeps the saved session in step with the client's, and hands the event to the state.
fn on_event(inner: &Weak<Inner>, event: &CallEvent) {
    let Some(inner) = inner.upgrade() else {
        return;
    };
    match event {
        CallEvent::LoggedIn { .. } => {
            if let Some(session) = inner.pending.borrow_mut().take() {
                session_store::save(&session);
            }
            // The state forgets presence at a login: the page asks again.
            inner.watched.borrow_mut().take();
        }
        CallEvent::LoggedOut { .. } => {
            inner.pending.borrow_mut().take();
            session_store::clear();
            inner.watched.borrow_mut().take();
        }
        CallEvent::SessionExpiring { expires_in_secs } => renew(&inner, *expires_in_secs),
        // Live readings: for the components that draw them (see `live`), not the state.
        CallEvent::UserVoiceVolume { .. }
        | CallEvent::NetworkQuality(_)
        | CallEvent::DevicesUpdated(_) => return,
        _ => {}
    }
    let snapshot = inner
        .client
        .borrow()
        .as_ref()
        .map(|c| c.webcall.call_state())
        .unwrap_or_default();
    inner
        .dispatch
        .dispatch(Action::Event(event.clone(), snapshot));
}

/// Renews the session that expires in `expires_in_secs`: fetches a fresh UserSig for the
/// logged-in user from where logins get theirs (`/api/config` says where: asked again, so that
/// a long session follows the deployment), renews the session with it and keeps the tab's
/// saved login in step. A pasted UserSig has nowhere to come from: the state is told
/// ([`Action::CannotRenew`]), and `/call` asks the user to log in again. When the renewal fails
/// the server ends the session at expiry, which the login page then explains.
fn renew(inner: &Inner, expires_in_secs: u64) {
    let Some(webcall) = inner.client.borrow().as_ref().map(|c| c.webcall.clone()) else {
        return;
    };
    let Some(user_id) = webcall.user_id() else {
        return;
    };
    let dispatch = inner.dispatch.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(config) = api::fetch_config().await else {
            return;
        };
        dispatch.dispatch(Action::Configured(config.clone()));
        let source = config.source();
        if source == UserSigSource::Pasted {
            dispatch.dispatch(Action::CannotRenew { expires_in_secs });
            return;
        }
        let Ok(fresh) = api::fetch_user_sig(source, &user_id, config.sdk_app_id).await else {
            return;
        };
        if webcall.renew(&fresh.user_sig).is_ok() {
            session_store::save(&SavedSession {
                user_id,
                user_sig: fresh.user_sig,
                sdk_app_id: fresh.sdk_app_id,
            });
        }
    });
}
