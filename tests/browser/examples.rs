//! The SDK's example apps (examples/, served at `/examples/yew/` and `/examples/plain/`) against
//! the real server, with the demo app on the other side: each completes a call with audio
//! flowing both ways. They are driven by their common UI contract: `#user-id` + "Log in",
//! `#callee` + "Call", "Accept", "Reject", "Hang up", "Mute", the `#status` line and the `#log`
//! of events.

use fantoccini::error::CmdError;

use crate::harness::Harness;
use crate::user::{User, UI};
use crate::AUDIO;

const YEW: &str = "/examples/yew/";
const PLAIN: &str = "/examples/plain/";

/// The text of the element with `id`, `None` when there is none.
async fn text_of(user: &User, id: &str) -> Result<Option<String>, CmdError> {
    let script = "const e = document.getElementById(arguments[0]); return e && e.textContent";
    let text = user.client.execute(script, vec![id.into()]).await?;
    Ok(text.as_str().map(|t| t.trim().to_owned()))
}

/// Waits until the element with `id` reads `text`.
async fn wait_text_of(user: &User, id: &str, text: &str) {
    user.wait(&format!("#{id} {text:?}"), UI, || async move {
        Ok::<_, CmdError>((text_of(user, id).await?.as_deref() == Some(text)).then_some(()))
    })
    .await
}

/// Waits until the example's `#status` reads `status`.
async fn wait_status(user: &User, status: &str) {
    wait_text_of(user, "status", status).await
}

/// The example's `#log`: the events received, oldest first.
async fn log(user: &User) -> Vec<String> {
    let script = "return [...document.querySelectorAll('#log li')].map(li => li.textContent)";
    let lines = user
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_default();
    let lines = lines.as_array().cloned().unwrap_or_default();
    lines
        .iter()
        .filter_map(|l| Some(l.as_str()?.to_owned()))
        .collect()
}

/// Asserts that the example's log names `events` in this order (among others).
async fn assert_logged_in_order(user: &User, events: &[&str]) {
    let log = log(user).await;
    let mut at = 0;
    for event in events {
        match log[at..].iter().position(|line| line.starts_with(event)) {
            Some(found) => at += found + 1,
            None => {
                user.fail(&format!(
                    "no {event} after the first {at} lines of the log {log:?}"
                ))
                .await
            }
        }
    }
}

/// Opens the example at `path` and logs in as `user.id` through its page.
async fn example_login(user: &User, path: &str) {
    user.goto(path).await;
    wait_status(user, "logged out").await;
    user.fill("User ID", &user.id).await;
    user.click("Log in").await;
    wait_status(user, &format!("logged in as {}", user.id)).await;
}

/// The demo app's user calls the Yew example's user, who accepts, mutes and unmutes; both hear
/// each other; the demo user hangs up and the example sees the call end.
#[tokio::test]
async fn yew_example_takes_a_call_from_the_demo_app() {
    let h = Harness::start().await;
    let demo = User::new(&h, "demo").await;
    let yew = User::new(&h, "yew").await;
    demo.login().await;
    example_login(&yew, YEW).await;

    demo.call(&yew).await;
    wait_status(&yew, &format!("{} is calling", demo.id)).await;
    yew.click("Accept").await;
    wait_status(&yew, &format!("in call with {}", demo.id)).await;
    demo.wait_page("/in-call", &yew.id, UI).await;
    yew.assert_audio_flows(AUDIO).await;
    demo.assert_audio_flows(AUDIO).await;

    // Mute is a toggle; the other side is told.
    yew.click("Mute").await;
    wait_text_of(&yew, "mute", "Unmute").await;
    demo.wait_text(&format!("{} muted their microphone", yew.id), UI)
        .await;
    yew.click("Unmute").await;
    wait_text_of(&yew, "mute", "Mute").await;

    demo.click("Hang up").await;
    wait_status(&yew, "call ended").await;
    demo.wait_page("/call", "Call ended", UI).await;
    yew.wait_media_released(UI).await;
    demo.wait_media_released(UI).await;
    assert_logged_in_order(&yew, &["LoggedIn", "Invited", "UserEnter", "CallEnd"]).await;
    demo.close().await;
    yew.close().await;
}

/// The plain-wasm example's user calls the demo app's user, who accepts; both hear each other;
/// the example hangs up and the demo app sees the call end.
#[tokio::test]
async fn plain_example_calls_the_demo_app() {
    let h = Harness::start().await;
    let demo = User::new(&h, "demo").await;
    let plain = User::new(&h, "plain").await;
    demo.login().await;
    example_login(&plain, PLAIN).await;

    plain.fill("Callee", &demo.id).await;
    plain.click("Call").await;
    wait_status(&plain, &format!("calling {}", demo.id)).await;
    demo.wait_ringing(&plain).await;
    demo.click_in_dialog("Accept").await;
    wait_status(&plain, &format!("in call with {}", demo.id)).await;
    demo.wait_page("/in-call", &plain.id, UI).await;
    plain.assert_audio_flows(AUDIO).await;
    demo.assert_audio_flows(AUDIO).await;

    plain.click("Hang up").await;
    wait_status(&plain, "call ended").await;
    demo.wait_page("/call", "Call ended", UI).await;
    plain.wait_media_released(UI).await;
    demo.wait_media_released(UI).await;
    let events = ["LoggedIn", "Ringing", "UserAccept", "UserEnter", "CallEnd"];
    assert_logged_in_order(&plain, &events).await;
    demo.close().await;
    plain.close().await;
}

/// A rejected call and a failure, through the examples' UI alone: the Yew example rejects the
/// plain example's call; a call to oneself fails with the reason on the status line.
#[tokio::test]
async fn examples_reject_and_report_failures() {
    let h = Harness::start().await;
    let yew = User::new(&h, "yew").await;
    let plain = User::new(&h, "plain").await;
    example_login(&yew, YEW).await;
    example_login(&plain, PLAIN).await;

    plain.fill("Callee", &yew.id).await;
    plain.click("Call").await;
    wait_status(&yew, &format!("{} is calling", plain.id)).await;
    yew.click("Reject").await;
    wait_status(&yew, "call ended").await;
    wait_status(&plain, "call ended").await;
    assert_logged_in_order(&plain, &["Ringing", "Reject"]).await;

    plain.fill("Callee", &plain.id).await;
    plain.click("Call").await;
    wait_status(&plain, "failed: you cannot call yourself").await;
    yew.close().await;
    plain.close().await;
}

/// On a `--strict` server the development endpoint does not exist: logging in on an example
/// says so instead of failing silently.
#[tokio::test]
async fn examples_explain_a_strict_server() {
    let h = Harness::start_with(&["--strict", "--secret-key", "examples-strict-key"]).await;
    let user = User::new(&h, "strict").await;
    for path in [YEW, PLAIN] {
        user.goto(path).await;
        wait_status(&user, "logged out").await;
        user.fill("User ID", &user.id).await;
        user.click("Log in").await;
        let u = &user;
        user.wait("a failure that names --strict", UI, || async move {
            let status = text_of(u, "status").await?.unwrap_or_default();
            Ok::<_, CmdError>(
                (status.starts_with("failed:") && status.contains("--strict")).then_some(()),
            )
        })
        .await;
    }
    user.close().await;
}
