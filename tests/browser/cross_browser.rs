//! Calls between Chromium and Firefox ESR, each way: the app and the calling SDK work in both
//! browsers, and the two WebRTC stacks talk to each other (audio both ways, the same
//! verification code on both sides, hang-up ends the call for both).
//!
//! Firefox's fake microphone plays a 1 kHz sine, Chromium's the speech WAV: both are well
//! above silence at the other end.

use crate::harness::{report, Browser, Harness};
use crate::user::{User, UI};
use crate::verification::{is_code, verification_code};
use crate::AUDIO;

/// Chromium calls Firefox, Firefox accepts, they talk, Chromium hangs up.
#[tokio::test]
async fn chromium_calls_firefox() {
    call_across(Browser::Chromium, Browser::Firefox, Side::Caller).await;
}

/// Firefox calls Chromium, Chromium accepts, they talk, Chromium (the callee) hangs up.
#[tokio::test]
async fn firefox_calls_chromium() {
    call_across(Browser::Firefox, Browser::Chromium, Side::Callee).await;
}

/// Who hangs up.
#[derive(Debug, Clone, Copy)]
enum Side {
    Caller,
    Callee,
}

/// A caller in `caller_in` calls a callee in `callee_in`, who accepts; audio flows both ways,
/// both sides show the same verification code, and `hangs_up` ends the call for both.
async fn call_across(caller_in: Browser, callee_in: Browser, hangs_up: Side) {
    let h = Harness::start().await;
    let caller = User::new_in(&h, "caller", caller_in).await;
    let callee = User::new_in(&h, "callee", callee_in).await;
    caller.login().await;
    callee.login().await;

    caller.call(&callee).await;
    callee.wait_ringing(&caller).await;
    callee.click_in_dialog("Accept").await;
    caller.wait_page("/in-call", &callee.id, UI).await;
    callee.wait_page("/in-call", &caller.id, UI).await;

    for u in [&caller, &callee] {
        u.assert_audio_flows(AUDIO).await;
        let stats = u.stats().await.unwrap_or_else(|e| panic!("[{}] {e}", u.id));
        report(&format!(
            "{:?} receiving from {:?}: {} packets, audioLevel {:?}",
            u.browser,
            other(u, &caller, &callee).browser,
            stats.packets_received.unwrap_or(0),
            stats.audio_level
        ));
    }

    // Both meters move on both sides; Firefox has no `media-source` level in its statistics,
    // so its own meter reads the microphone's samples instead.
    for u in [&caller, &callee] {
        for meter in ["local-volume", "remote-volume"] {
            u.wait(&format!("#{meter} above 5"), UI, || async {
                let v = u
                    .client
                    .execute(
                        "const m = document.getElementById(arguments[0]); \
                         return m ? Number(m.getAttribute('aria-valuenow')) : null;",
                        vec![meter.into()],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                match v.as_u64() {
                    Some(level) if level > 5 => Ok(Some(())),
                    _ => Err(format!("#{meter} is {v}")),
                }
            })
            .await;
        }
    }

    let at_caller = verification_code(&caller).await;
    let at_callee = verification_code(&callee).await;
    report(&format!(
        "verification codes: {caller_in:?} {at_caller:?}, {callee_in:?} {at_callee:?}"
    ));
    assert!(
        is_code(&at_caller),
        "the caller's code {at_caller:?} is not ddd ddd"
    );
    assert_eq!(
        at_caller, at_callee,
        "{caller_in:?} and {callee_in:?} show different verification codes"
    );

    let (first, second) = match hangs_up {
        Side::Caller => (&caller, &callee),
        Side::Callee => (&callee, &caller),
    };
    first.click("Hang up").await;
    second.wait_page("/call", "Call ended", UI).await;
    first.wait_page("/call", "Call ended", UI).await;
    first.wait_media_released(UI).await;
    second.wait_media_released(UI).await;
    caller.close().await;
    callee.close().await;
}

/// The party of the call that is not `u`.
fn other<'a>(u: &User, caller: &'a User, callee: &'a User) -> &'a User {
    if u.id == caller.id {
        callee
    } else {
        caller
    }
}
