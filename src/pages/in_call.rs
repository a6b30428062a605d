//! `/in-call`: who the user is talking to, for how long, the call's verification code, whether
//! the other side muted, both volumes and the network quality (`CallReadings`), the mute and
//! hang-up buttons and the device menus. The remote audio plays through the client's own
//! `<audio>` element; nothing to do here.
//!
//! The verification code (in the element `#verification-code`, `"123 456"`) is the same on
//! both sides of an honest call; the hint under it asks the users to compare it.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::components::{CallReadings, DeviceMenu};
use crate::hooks::{use_app_state, use_calling, use_focus_on_mount};
use crate::state::CallView;
use crate::strings::{clock, t};

#[function_component]
pub fn InCallPage() -> Html {
    let state = use_app_state();
    let calling = use_calling();
    let heading = use_node_ref();
    use_focus_on_mount(heading.clone());

    // The running duration. The interval belongs to the page: it is dropped on unmount, and
    // replaced when the call's start time becomes known.
    let (since_ms, muted) = match &state.call {
        CallView::InCall {
            since_ms, muted, ..
        } => (*since_ms, *muted),
        _ => (None, false),
    };
    let secs = use_state_eq(|| elapsed(since_ms));
    {
        let secs = secs.clone();
        use_effect_with(since_ms, move |&since_ms| {
            secs.set(elapsed(since_ms));
            // A quarter second keeps the display within that of the true second.
            let interval =
                since_ms.map(|_| Interval::new(250, move || secs.set(elapsed(since_ms))));
            move || drop(interval)
        });
    }

    let CallView::InCall {
        peer,
        connected,
        interrupted,
        peer_muted,
        verification_code,
        ..
    } = &state.call
    else {
        // Restoring the login after a refresh; the director moves on once it is done.
        if state.logging_in() {
            return html! { <section class="card"><p>{ t().logging_in }</p></section> };
        }
        return html! {};
    };
    let toggle_mute = {
        let calling = calling.clone();
        Callback::from(move |_| {
            let _ = calling.set_muted(!muted);
        })
    };
    let hang_up = Callback::from(move |_| {
        let _ = calling.hang_up();
    });

    let t = t();
    html! {
        <section class="card center">
            <h2 ref={heading} tabindex="-1">{ (t.in_call_with)(peer) }</h2>
            <p class="timer" role="timer" aria-label={ t.call_duration }>{ clock(*secs) }</p>
            // Holds "Connecting…", then the code, in a height kept for the code and its hint.
            <div class="slot verify" aria-live="polite">
                if *interrupted {
                    <p>{ t.audio_interrupted }</p>
                } else if let Some(code) = verification_code {
                    <p>
                        { t.verification_code }{ " " }
                        <strong id="verification-code" class="code">{ code }</strong>
                    </p>
                    <p class="detail hint">{ t.verification_hint }</p>
                } else if !connected {
                    <p>{ t.connecting }</p>
                }
            </div>
            // Kept in its height, so that the page does not move when it shows.
            <p id="peer-muted" class="slot-line" aria-live="polite">
                if *peer_muted { { (t.peer_muted)(peer) } }
            </p>
            <CallReadings peer={peer.clone()} />
            <div class="actions">
                <button id="mute" type="button" aria-pressed={muted.to_string()}
                    onclick={toggle_mute}>
                    { if muted { t.unmute } else { t.mute } }
                </button>
                <button id="hang-up" type="button" class="danger" onclick={hang_up}>
                    { t.hang_up }
                </button>
            </div>
            <DeviceMenu />
        </section>
    }
}

/// Whole seconds since `since_ms`, on the clock the calling service stamps calls with
/// (`performance.now()`); zero until the start is known.
fn elapsed(since_ms: Option<f64>) -> u64 {
    let now = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now());
    since_ms.map_or(0, |since| ((now - since) / 1000.0).max(0.0) as u64)
}
