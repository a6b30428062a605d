//! End-to-end browser tests of the WebCall app: real Chromium sessions, real WebRTC audio.
//!
//! Needs the release SPA, the server binary and a speech WAV; run with `cargo xtask test`
//! (which builds all that and runs this binary in a loopback-only network namespace), or
//! `cargo xtask test --browser-only -- <name filter>`. Each test starts its own server and
//! chromedriver; run them one at a time (`--test-threads=1`).

#[path = "browser/bench.rs"]
mod bench;
#[path = "browser/check.rs"]
mod check;
#[path = "browser/cross_browser.rs"]
mod cross_browser;
#[path = "browser/examples.rs"]
mod examples;
#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/history.rs"]
mod history;
#[path = "browser/i18n.rs"]
mod i18n;
#[path = "browser/in_call.rs"]
mod in_call;
#[path = "browser/relay.rs"]
mod relay;
#[path = "browser/resilience.rs"]
mod resilience;
#[path = "browser/screenshots.rs"]
mod screenshots;
#[path = "browser/sdk_js.rs"]
mod sdk_js;
#[path = "browser/strict.rs"]
mod strict;
#[path = "browser/udp_link.rs"]
mod udp_link;
#[path = "browser/user.rs"]
mod user;
#[path = "browser/verification.rs"]
mod verification;

use std::time::{Duration, Instant};

use harness::{report, Harness};
use user::{User, UI};

/// How long audio gets to start flowing / to become audible.
const AUDIO: Duration = Duration::from_secs(15);

/// Starts a server and logs in one browser per name (the harness outlives the users: keep it
/// bound until the end of the test).
async fn logged_in<const N: usize>(names: [&str; N]) -> (Harness, [User; N]) {
    let h = Harness::start().await;
    let mut users = Vec::with_capacity(N);
    for name in names {
        let user = User::new(&h, name).await;
        user.login().await;
        users.push(user);
    }
    let Ok(users) = users.try_into() else {
        unreachable!("one user per name")
    };
    (h, users)
}

/// Logs in two users and puts them in a call (`caller` calls, `callee` accepts); returns the
/// time from the click on Accept to the callee's first inbound audio packet, in milliseconds:
/// measured inside the page when it can be, else from here (which adds WebDriver round trips
/// and the polling interval).
async fn establish_call(caller: &User, callee: &User) -> f64 {
    caller.call(callee).await;
    callee.wait_ringing(caller).await;
    let accepted = Instant::now();
    callee.click_in_dialog("Accept").await;
    let first_audio = callee.wait_first_packets(AUDIO).await;
    caller.wait_page("/in-call", &callee.id, UI).await;
    callee.wait_page("/in-call", &caller.id, UI).await;
    // For the figures: how much of it the browser spent opening the callee's microphone.
    if let Ok(ms) = callee.client.execute("return window.__gumMs", vec![]).await {
        report(&format!("callee getUserMedia: {ms} ms"));
    }
    match callee.ms_from_click_to_audio("Accept").await {
        Some(ms) => ms,
        None => (first_audio - accepted).as_secs_f64() * 1000.0,
    }
}

#[tokio::test]
async fn call_accept_talk_hang_up() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;

    let accept_to_audio = establish_call(&alice, &bob).await;
    report(&format!("accept→audio: {accept_to_audio:.0} ms"));

    for u in [&alice, &bob] {
        u.wait("a call timer mm:ss", UI, || async move {
            let text = u.body_text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(has_timer(&text).then_some(()))
        })
        .await;
        u.wait_text("Mute", UI).await;
    }
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;

    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", Duration::from_secs(2))
        .await;
    alice.wait_page("/call", "Call ended", UI).await;
    alice.wait_media_released(UI).await;
    bob.wait_media_released(UI).await;
    alice.close().await;
    bob.close().await;
}

/// Whether `text` holds a `mm:ss` timer.
fn has_timer(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b':'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
    })
}

#[tokio::test]
async fn reject_shows_rejected() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;

    alice.call(&bob).await;
    bob.wait_ringing(&alice).await;
    bob.click_in_dialog("Reject").await;
    alice
        .wait_page("/call", &format!("{} rejected the call", bob.id), UI)
        .await;
    bob.wait_no_dialog(UI).await;
    bob.wait_page("/call", &format!("Logged in as {}", bob.id), UI)
        .await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn busy_while_in_call() {
    let (_h, [alice, bob, carol]) = logged_in(["alice", "bob", "carol"]).await;
    establish_call(&alice, &bob).await;

    carol.fill("Callee user ID", &bob.id).await;
    carol.click("Call").await;
    carol
        .wait_page("/call", &format!("{} is busy", bob.id), UI)
        .await;

    for (u, other) in [(&alice, &bob), (&bob, &alice)] {
        u.wait_page("/in-call", &other.id, UI).await;
        u.assert_audio_flows(AUDIO).await;
    }
    assert!(
        bob.dialog_text().await.unwrap().is_none(),
        "bob, in a call, was shown a dialog for carol's call"
    );
    alice.close().await;
    bob.close().await;
    carol.close().await;
}

#[tokio::test]
async fn invalid_user_id_shows_inline_error() {
    let h = Harness::start().await;
    let user = User::new(&h, "x").await;
    user.goto("/login").await;
    let before = user.body_text().await.unwrap();
    user.fill("User ID", "not valid!").await;
    user.click("Log in").await;
    let u = &user;
    let before = &before;
    u.wait("an inline error on /login", UI, || async move {
        let text = u.body_text().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((text != *before).then_some(()))
    })
    .await;
    assert_eq!(
        user.path().await.unwrap(),
        "/login",
        "an invalid ID left /login"
    );
    user.close().await;
}

#[tokio::test]
async fn caller_cancels() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;

    alice.call(&bob).await;
    bob.wait_ringing(&alice).await;
    alice.click("Cancel").await;
    bob.wait_no_dialog(UI).await;
    alice.wait_page("/call", "Call cancelled", UI).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn unanswered_call_shows_no_answer() {
    let h = Harness::start_with(&["--ring-timeout-secs", "2"]).await;
    let alice = User::new(&h, "alice").await;
    let bob = User::new(&h, "bob").await;
    alice.login().await;
    bob.login().await;

    alice.call(&bob).await;
    bob.wait_ringing(&alice).await;
    alice.wait_page("/call", "No answer", UI).await;
    bob.wait_no_dialog(UI).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn reload_keeps_login() {
    let (_h, [alice]) = logged_in(["alice"]).await;
    alice.refresh().await;
    alice
        .wait_page("/call", &format!("Logged in as {}", alice.id), UI)
        .await;
    alice.close().await;
}

/// Bob is logged in from two browsers; alice's call rings both; the one that accepts talks with
/// alice, the other stops ringing, says so, and shows the call is on the other device until it
/// ends.
#[tokio::test]
async fn multi_device_first_accept_wins() {
    let (h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    let bob_phone = User::another_device(&h, &bob).await;
    bob_phone.login().await;

    alice.call(&bob).await;
    alice.wait_text("Ringing on 2 devices", UI).await;
    bob.wait_ringing(&alice).await;
    bob_phone.wait_ringing(&alice).await;
    bob_phone.click_in_dialog("Accept").await;

    bob.wait_no_dialog(UI).await;
    bob.wait_page("/call", "Answered on another device", UI)
        .await;
    bob.wait_text(
        &format!("You are in a call with {} on another device", alice.id),
        UI,
    )
    .await;
    bob_phone.wait_page("/in-call", &alice.id, UI).await;
    alice.wait_page("/in-call", &bob.id, UI).await;
    alice.assert_audio_flows(AUDIO).await;
    bob_phone.assert_audio_flows(AUDIO).await;
    let peers = bob
        .client
        .execute("return (window.__pcs || []).length", vec![])
        .await
        .unwrap();
    assert_eq!(
        peers.as_u64(),
        Some(0),
        "bob's device that did not answer opened a peer connection"
    );

    alice.click("Hang up").await;
    bob_phone.wait_page("/call", "Call ended", UI).await;
    alice.wait_page("/call", "Call ended", UI).await;
    let banner = format!("You are in a call with {} on another device", alice.id);
    let b = &bob;
    let banner = &banner;
    b.wait("the banner to go", UI, || async move {
        let text = b.body_text().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((!text.contains(banner.as_str())).then_some(()))
    })
    .await;
    bob_phone.wait_media_released(UI).await;
    alice.wait_media_released(UI).await;
    for u in [alice, bob, bob_phone] {
        u.close().await;
    }
}

/// Bob is offline when alice calls: alice sees that the call waits; bob logs in, is rung,
/// accepts, and they talk.
#[tokio::test]
async fn offline_callee_logs_in_and_accepts() {
    let (h, [alice]) = logged_in(["alice"]).await;
    let bob = User::new(&h, "bob").await;

    alice.call(&bob).await;
    alice
        .wait_text(
            &format!(
                "{} is offline. The call will ring when {} logs in.",
                bob.id, bob.id
            ),
            UI,
        )
        .await;
    bob.login().await;
    bob.wait_ringing(&alice).await;
    alice.wait_text("Ringing…", UI).await;
    bob.click_in_dialog("Accept").await;
    alice.wait_page("/in-call", &bob.id, UI).await;
    bob.wait_page("/in-call", &alice.id, UI).await;
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;
    alice.close().await;
    bob.close().await;
}

/// Alice and bob call each other at the same moment: one call, both in it, audio both ways.
#[tokio::test]
async fn glare_ends_in_one_call_with_audio() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    alice.fill("Callee user ID", &bob.id).await;
    bob.fill("Callee user ID", &alice.id).await;
    tokio::join!(alice.click_now("Call"), bob.click_now("Call"));

    alice.wait_page("/in-call", &bob.id, UI).await;
    bob.wait_page("/in-call", &alice.id, UI).await;
    assert!(
        alice.dialog_text().await.unwrap().is_none() && bob.dialog_text().await.unwrap().is_none(),
        "a ringing dialog was left after the calls merged"
    );
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}

/// The callee's presence shows under the field while the ID is typed, and changes live.
#[tokio::test]
async fn presence_shows_while_typing() {
    let (h, [alice]) = logged_in(["alice"]).await;
    let bob = User::new(&h, "bob").await;
    alice.fill("Callee user ID", &bob.id).await;
    alice.wait_text(&format!("{} is offline", bob.id), UI).await;
    bob.login().await;
    alice.wait_text(&format!("{} is online", bob.id), UI).await;
    bob.click("Log out").await;
    alice.wait_text(&format!("{} is offline", bob.id), UI).await;
    alice.close().await;
    bob.close().await;
}

/// With the server in single-device mode (TRTCCalling's behaviour), a second login of the same
/// user ends the first, which returns to the login page saying why.
#[tokio::test]
async fn single_device_mode_kicks_out_the_older_login() {
    let h = Harness::start_with(&["--single-device"]).await;
    let bob = User::new(&h, "bob").await;
    bob.login().await;
    let bob_again = User::another_device(&h, &bob).await;
    bob_again.login().await;
    bob.wait_page(
        "/login",
        "You were logged out because this user logged in elsewhere",
        UI,
    )
    .await;
    bob.close().await;
    bob_again.close().await;
}

/// The harness itself: the server serves the SPA's index.html and a browser loads it.
#[tokio::test]
async fn harness_serves_the_app() {
    let h = Harness::start().await;
    let user = User::new(&h, "smoke").await;
    user.goto("/").await;
    let title = user.client.title().await.unwrap();
    let html = user.client.source().await.unwrap();
    assert!(html.contains("<body"), "no HTML at / (title {title:?})");
    user.close().await;
}
