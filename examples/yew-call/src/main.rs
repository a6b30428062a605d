//! The smallest Yew app that calls with WebCall, through webcall-client's public API only: log
//! in, call or answer, mute, hang up, and list the events that arrive. Served at /examples/yew/
//! (`cargo xtask build`). The UserSig comes from the server's development endpoint
//! (`webcall_client::dev`); a real app gets it from its backend.

use web_sys::HtmlInputElement;
use webcall_client::{dev, CallEvent, CallState, CallType, ClientError, Subscription};
use webcall_client::{WebCall, WebCallOptions};
use yew::prelude::*;

/// What a button does with the service and the callee field.
type Act = fn(&WebCall, String) -> Result<(), ClientError>;

enum Msg {
    /// The development endpoint answered for this user ID.
    UserSig(String, Result<dev::DevUserSig, dev::DevError>),
    Event(CallEvent),
    Button(Act),
}

#[derive(Default)]
struct App {
    /// The status line (none yet: logged out).
    status: Option<String>,
    /// The events received, newest last.
    log: Vec<String>,
    /// The service and its event subscription (dropping that unsubscribes).
    session: Option<(WebCall, Subscription)>,
    user_id: NodeRef,
    callee: NodeRef,
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(_: &Context<Self>) -> Self {
        App::default()
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let status = match msg {
            Msg::UserSig(_, Err(e)) => Some(format!("failed: {e}")),
            Msg::UserSig(user_id, Ok(sig)) => {
                let webcall = WebCall::new(WebCallOptions::same_origin(sig.sdk_app_id));
                let link = ctx.link().clone();
                let events = webcall.on_event(move |e| link.send_message(Msg::Event(e.clone())));
                self.session = Some((webcall.clone(), events));
                let login = webcall.login(&user_id, &sig.user_sig);
                login.err().map(|e| format!("failed: {e}"))
            }
            // Sent several times a second during a call: not worth a line.
            Msg::Event(CallEvent::UserVoiceVolume { .. } | CallEvent::NetworkQuality(_)) => {
                return false
            }
            Msg::Event(event) => {
                self.log.push(format!("{event:?}"));
                status(&event)
            }
            Msg::Button(act) => match &self.session {
                Some((webcall, _)) => match act(webcall, value(&self.callee)) {
                    // Rejecting, or hanging up before an answer, ends the call without an event.
                    Ok(()) if webcall.call_state() == CallState::Idle => Some("call ended".into()),
                    Ok(()) => None,
                    Err(e) => Some(format!("failed: {e}")),
                },
                None => None,
            },
        };
        self.status = status.or(self.status.take());
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let user_id = self.user_id.clone();
        // For trying it out only: a real app asks its backend for the UserSig.
        let log_in = ctx.link().callback_future(move |_: MouseEvent| {
            let user_id = value(&user_id);
            async move { Msg::UserSig(user_id.clone(), dev::user_sig(&user_id).await) }
        });
        let button = |act: Act| ctx.link().callback(move |_: MouseEvent| Msg::Button(act));
        let webcall = self.session.as_ref().map(|(webcall, _)| webcall);
        let state = webcall.map(WebCall::call_state).unwrap_or_default();
        let ringing = matches!(state, CallState::Incoming { .. });
        html! { <main>
            <h1>{ "WebCall from Yew" }</h1>
            <p><label for="user-id">{ "User ID" }</label> <input id="user-id" ref={&self.user_id} />
               <button id="log-in" disabled={webcall.is_some_and(|w| w.user_id().is_some())} onclick={log_in}>{ "Log in" }</button></p>
            <p><label for="callee">{ "Callee" }</label> <input id="callee" ref={&self.callee} />
               <button id="call" onclick={button(|w, callee| w.call(&callee, CallType::Audio, None))}>{ "Call" }</button></p>
            <p><button id="accept" disabled={!ringing} onclick={button(|w, _| w.accept())}>{ "Accept" }</button>
               <button id="reject" disabled={!ringing} onclick={button(|w, _| w.reject())}>{ "Reject" }</button>
               <button id="hang-up" onclick={button(|w, _| w.hangup())}>{ "Hang up" }</button>
               <button id="mute" onclick={button(|w, _| w.set_mic_mute(!is_muted(&w.call_state())))}>
                   { if is_muted(&state) { "Unmute" } else { "Mute" } }</button></p>
            <p id="status" role="status">{ self.status.as_deref().unwrap_or("logged out") }</p>
            <ol id="log">{ for self.log.iter().map(|line| html! { <li>{ line }</li> }) }</ol>
        </main> }
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

fn value(input: &NodeRef) -> String {
    let input = input.cast::<HtmlInputElement>();
    input.map(|i| i.value()).unwrap_or_default()
}

fn main() {
    yew::Renderer::<App>::new().render();
}
