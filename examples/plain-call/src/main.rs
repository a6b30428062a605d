//! WebCall without a framework: plain wasm-bindgen and web-sys drive the static page of
//! index.html (its inputs and buttons) through webcall-client's public API only. Served at
//! /examples/plain/ (`cargo xtask build`). The UserSig comes from the server's development
//! endpoint (`webcall_client::dev`); a real app gets it from its backend.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Document, HtmlButtonElement, HtmlElement, HtmlInputElement};
use webcall_client::{dev, CallEvent, CallState, CallType, ClientError, Subscription};
use webcall_client::{WebCall, WebCallOptions};

/// What a button does with the service and the callee field.
type Act = fn(&WebCall, String) -> Result<(), ClientError>;

/// What the click handlers share: the document, and the calling service once logged in.
struct Page {
    document: Document,
    /// The service and its event subscription (dropping that unsubscribes).
    session: RefCell<Option<(WebCall, Subscription)>>,
}

/// The click handlers, one per button, kept in `LISTENERS` for as long as the page is open.
struct Listeners {
    _closures: Vec<Closure<dyn FnMut()>>,
}

thread_local! {
    static LISTENERS: RefCell<Option<Listeners>> = const { RefCell::new(None) };
}

fn main() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let page = Rc::new(Page {
        document,
        session: RefCell::new(None),
    });
    let mut listeners = vec![page.on_click("log-in", |page| spawn_local(log_in(page.clone())))];
    let acts: [(&str, Act); 5] = [
        ("call", |w, callee| w.call(&callee, CallType::Audio, None)),
        ("accept", |w, _| w.accept()),
        ("reject", |w, _| w.reject()),
        ("hang-up", |w, _| w.hangup()),
        ("mute", |w, _| w.set_mic_mute(!is_muted(&w.call_state()))),
    ];
    for (id, act) in acts {
        listeners.push(page.on_click(id, move |page| page.act(act)));
    }
    let listeners = Listeners {
        _closures: listeners,
    };
    LISTENERS.set(Some(listeners));
}

/// Fetches a UserSig, creates the service and logs in.
async fn log_in(page: Rc<Page>) {
    let user_id = page.value("user-id");
    // For trying it out only: a real app asks its backend for the UserSig.
    let sig = match dev::user_sig(&user_id).await {
        Ok(sig) => sig,
        Err(e) => return page.show(&format!("failed: {e}")),
    };
    let webcall = WebCall::new(WebCallOptions::same_origin(sig.sdk_app_id));
    // Weakly: the page holds the service, which holds this handler.
    let weak = Rc::downgrade(&page);
    let events = webcall.on_event(move |event| {
        if let Some(page) = weak.upgrade() {
            page.on_event(event);
        }
    });
    page.session.replace(Some((webcall.clone(), events)));
    if let Err(e) = webcall.login(&user_id, &sig.user_sig) {
        page.show(&format!("failed: {e}"));
    }
}

impl Page {
    fn element<T: JsCast>(&self, id: &str) -> Option<T> {
        self.document.get_element_by_id(id)?.dyn_into().ok()
    }

    fn value(&self, id: &str) -> String {
        let input = self.element::<HtmlInputElement>(id);
        input.map(|i| i.value()).unwrap_or_default()
    }

    fn webcall(&self) -> Option<WebCall> {
        self.session
            .borrow()
            .as_ref()
            .map(|(webcall, _)| webcall.clone())
    }

    /// Runs `handler` on clicks of button `id`, as long as the returned closure is kept.
    fn on_click(
        self: &Rc<Self>,
        id: &str,
        handler: impl Fn(&Rc<Page>) + 'static,
    ) -> Closure<dyn FnMut()> {
        let page = self.clone();
        let closure = Closure::<dyn FnMut()>::new(move || handler(&page));
        if let Some(button) = self.element::<HtmlElement>(id) {
            button.set_onclick(Some(closure.as_ref().unchecked_ref()));
        }
        closure
    }

    fn act(&self, act: Act) {
        let Some(webcall) = self.webcall() else {
            return;
        };
        match act(&webcall, self.value("callee")) {
            // Rejecting, or hanging up before an answer, ends the call without an event.
            Ok(()) if webcall.call_state() == CallState::Idle => self.show("call ended"),
            Ok(()) => {}
            Err(e) => self.show(&format!("failed: {e}")),
        }
        self.refresh();
    }

    fn on_event(&self, event: &CallEvent) {
        // Sent several times a second during a call: not worth a line.
        if !matches!(
            event,
            CallEvent::UserVoiceVolume { .. } | CallEvent::NetworkQuality(_)
        ) {
            let log = self.document.get_element_by_id("log");
            if let (Some(log), Ok(item)) = (log, self.document.create_element("li")) {
                item.set_text_content(Some(&format!("{event:?}")));
                let _ = log.append_child(&item);
            }
        }
        if let Some(status) = status(event) {
            self.show(&status);
        }
        self.refresh();
    }

    fn show(&self, status: &str) {
        if let Some(line) = self.document.get_element_by_id("status") {
            line.set_text_content(Some(status));
        }
    }

    /// Enables Log in while logged out, Accept and Reject while a call rings; labels Mute.
    fn refresh(&self) {
        let webcall = self.webcall();
        let logged_in = webcall.as_ref().is_some_and(|w| w.user_id().is_some());
        let state = webcall.map(|w| w.call_state()).unwrap_or_default();
        let ringing = matches!(state, CallState::Incoming { .. });
        for (id, enabled) in [
            ("log-in", !logged_in),
            ("accept", ringing),
            ("reject", ringing),
        ] {
            if let Some(button) = self.element::<HtmlButtonElement>(id) {
                button.set_disabled(!enabled);
            }
        }
        if let Some(mute) = self.element::<HtmlElement>("mute") {
            mute.set_text_content(Some(if is_muted(&state) { "Unmute" } else { "Mute" }));
        }
    }
}

/// The status line after `event`, when the event changes it.
#[rustfmt::skip]
fn status(event: &CallEvent) -> Option<String> {
    use CallEvent::*;
    Some(match event {
        LoggedIn { user_id } => format!("logged in as {user_id}"),
        LoggedOut { reason: None } => "logged out".into(),
        LoggedOut { reason: Some(why) } => format!("logged out: {why}"),
        Ringing { callee, .. } => format!("calling {callee}"),
        Invited { sponsor, .. } => format!("{sponsor} is calling"),
        UserEnter { user_id } => format!("in call with {user_id}"),
        Error { message, .. } => format!("failed: {message}"),
        // How a call ends: answered or not, here or on another of the user's devices.
        CallEnd { .. } | Reject { .. } | LineBusy { .. } | NoResp { .. } | CallingCancel { .. }
        | CallingTimeout { .. } | AnsweredElsewhere { .. } | RejectedElsewhere { .. } => {
            "call ended".into()
        }
        _ => return None,
    })
}

fn is_muted(state: &CallState) -> bool {
    matches!(state, CallState::InCall { muted: true, .. })
}
