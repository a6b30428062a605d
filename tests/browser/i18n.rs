//! The UI in Chinese, its language switch, and the app on a phone-sized screen with the
//! keyboard alone.
//!
//! A browser whose user prefers Chinese (`--accept-lang=zh-CN`, which sets
//! `navigator.languages`) gets the zh-CN UI, completes a call in it, and switches to English
//! and back from the header at once, keeping the choice across a reload. A 360 px wide window
//! shows the login, call and in-call pages and the incoming-call dialog without horizontal
//! overflow, and a keyboard-only user logs in, calls, accepts and hangs up.

use std::time::Duration;

use fantoccini::key::Key;

use crate::harness::Harness;
use crate::user::{unique_id, User, UI};

/// How long audio gets to start flowing / to become audible.
const AUDIO: Duration = Duration::from_secs(15);

/// Chromium flags of a user who prefers Chinese: the UI locale and `navigator.languages`.
const CHINESE: [&str; 2] = ["--lang=zh-CN", "--accept-lang=zh-CN"];

/// The phone-sized window's width, in CSS pixels.
const NARROW: u32 = 360;

/// Opens a browser for a user named `<name>-<unique>` who prefers Chinese.
async fn chinese_user(h: &mut Harness, name: &str) -> User {
    h.chromium_args.extend(CHINESE.map(String::from));
    let user = User::new(h, name).await;
    h.chromium_args
        .retain(|arg| !CHINESE.contains(&arg.as_str()));
    user
}

/// Runs `script` (which returns a value) in `u`'s page, failing the test when it cannot.
async fn run(u: &User, script: &str) -> serde_json::Value {
    match u.client.execute(script, vec![]).await {
        Ok(value) => value,
        Err(e) => u.fail(&format!("running {script:?}: {e}")).await,
    }
}

/// Waits until `<html lang>` is `lang` and the document title is `title`.
async fn wait_lang(u: &User, lang: &str, title: &str) {
    let what = format!("<html lang={lang:?}> and the title {title:?}");
    u.wait(&what, UI, || async move {
        let v = u
            .client
            .execute(
                "return [document.documentElement.lang, document.title]",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        if v[0] == lang && v[1] == title {
            Ok(Some(()))
        } else {
            Err(format!("lang and title are {v}"))
        }
    })
    .await
}

/// Waits until keyboard focus is on the element `selector` names.
async fn wait_focus(u: &User, selector: &str) {
    let what = format!("focus on {selector}");
    u.wait(&what, UI, || async move {
        let v = u
            .client
            .execute(
                "const want = document.querySelector(arguments[0]); \
                 const now = document.activeElement; \
                 return want !== null && want === now \
                     ? null : (now ? now.outerHTML.slice(0, 120) : 'nothing');",
                vec![selector.into()],
            )
            .await
            .map_err(|e| e.to_string())?;
        match v.as_str() {
            None => Ok(Some(())),
            Some(focused) => Err(format!("focus is on {focused}")),
        }
    })
    .await
}

/// Types `keys` (text, or [`Key`]s) into the focused element, as a keyboard would.
async fn press(u: &User, keys: &str) {
    let typed = async { u.client.active_element().await?.send_keys(keys).await };
    if let Err(e) = typed.await {
        u.fail(&format!("typing {keys:?}: {e}")).await;
    }
}

/// Presses Tab until focus is on `selector`, as a keyboard user would (at most 8 times).
async fn tab_to(u: &User, selector: &str) {
    for _ in 0..8 {
        let on = run(
            u,
            &format!(
                "return document.activeElement === document.querySelector({})",
                serde_json::Value::from(selector)
            ),
        )
        .await;
        if on == true {
            return;
        }
        press(u, &Key::Tab).await;
    }
    wait_focus(u, selector).await;
}

/// Asserts that `u`'s page, showing `what`, fits the narrow window: nothing wider than it.
async fn assert_fits(u: &User, what: &str) {
    let v = run(
        u,
        "const root = document.documentElement; \
         return [root.scrollWidth, root.clientWidth, window.innerWidth];",
    )
    .await;
    let width = |i: usize| v[i].as_u64().unwrap_or(u64::MAX);
    let (scroll, client, inner) = (width(0), width(1), width(2));
    if inner > u64::from(NARROW) {
        u.fail(&format!(
            "the window is {inner} px wide, not {NARROW} ({what})"
        ))
        .await;
    }
    if scroll > client || scroll > u64::from(NARROW) {
        u.fail(&format!(
            "{what} overflows: {scroll} px of content in {client} px"
        ))
        .await;
    }
}

/// Logs `u` in from /login in Chinese and waits for /call.
async fn log_in_chinese(u: &User) {
    u.goto("/login").await;
    wait_lang(u, "zh-CN", "WebCall 语音通话").await;
    u.fill("用户 ID", &u.id).await;
    u.click("登录").await;
    u.wait_page("/call", &format!("当前用户：{}", u.id), UI)
        .await;
}

#[tokio::test]
async fn zh_cn_ui_completes_a_call() {
    let mut h = Harness::start().await;
    let alice = chinese_user(&mut h, "alice").await;
    let bob = chinese_user(&mut h, "bob").await;
    log_in_chinese(&alice).await;
    log_in_chinese(&bob).await;

    alice.fill("被叫用户 ID", &bob.id).await;
    alice.click("呼叫").await;
    alice.wait_text(&format!("正在呼叫 {}…", bob.id), UI).await;
    let ringing = format!("{} 邀请你语音通话", alice.id);
    bob.wait(&format!("a dialog {ringing:?}"), UI, || async {
        let dialog = bob.dialog_text().await?;
        Ok::<_, fantoccini::error::CmdError>(dialog.filter(|d| d.contains(&ringing)).map(|_| ()))
    })
    .await;
    // Focus goes to Accept when the call rings.
    wait_focus(&bob, "#accept").await;
    bob.click_in_dialog("接听").await;

    for (u, other) in [(&alice, &bob), (&bob, &alice)] {
        u.wait_page("/in-call", &format!("正在与 {} 通话", other.id), UI)
            .await;
        u.wait_text("挂断", UI).await;
    }
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;

    alice.click("挂断").await;
    alice.wait_page("/call", "通话已结束", UI).await;
    bob.wait_page("/call", "通话已结束", UI).await;
    alice.wait_media_released(UI).await;
    bob.wait_media_released(UI).await;

    // The header switches to English at once, without a reload, and back.
    run(&alice, "window.__sameDocument = true; return true").await;
    alice.click("English").await;
    alice
        .wait_page("/call", &format!("Logged in as {}", alice.id), UI)
        .await;
    alice.wait_text("Call ended", UI).await;
    wait_lang(&alice, "en", "WebCall: voice calls").await;
    let text = alice.body_text().await.unwrap_or_default();
    assert!(
        !text.contains("通话") && text.contains("中文"),
        "English page still shows Chinese, or no switch back: {text:?}"
    );
    alice.click("中文").await;
    alice
        .wait_page("/call", &format!("当前用户：{}", alice.id), UI)
        .await;
    alice.wait_text("通话已结束", UI).await;
    wait_lang(&alice, "zh-CN", "WebCall 语音通话").await;
    assert_eq!(
        run(&alice, "return window.__sameDocument === true").await,
        true,
        "switching the language reloaded the page"
    );
    // The other browser keeps its own language.
    bob.wait_text(&format!("当前用户：{}", bob.id), UI).await;

    // The choice outlives a reload, over the browser's preference.
    alice.click("English").await;
    alice.wait_text("Logged in as", UI).await;
    alice.refresh().await;
    alice
        .wait_page("/call", &format!("Logged in as {}", alice.id), UI)
        .await;
    wait_lang(&alice, "en", "WebCall: voice calls").await;
    alice.close().await;
    bob.close().await;
}

/// A user ID of the longest allowed length (32), unique to this run.
fn long_id(name: &str) -> String {
    format!("{:x<32}", unique_id(name))
}

#[tokio::test]
async fn narrow_screen_and_keyboard_only() {
    let h = Harness::start().await;
    let mut alice = User::new(&h, "alice").await;
    let mut bob = User::new(&h, "bob").await;
    alice.id = long_id("alice");
    bob.id = long_id("bob");
    for u in [&alice, &bob] {
        if let Err(e) = u.client.set_window_size(NARROW, 740).await {
            u.fail(&format!("resizing the window: {e}")).await;
        }
        // Log in with the keyboard: the user ID field has focus on arrival, Enter submits.
        u.goto("/login").await;
        wait_focus(u, "#user-id").await;
        assert_fits(u, "/login").await;
        press(u, &format!("{}{}", u.id, Key::Enter)).await;
        u.wait_page("/call", &format!("Logged in as {}", u.id), UI)
            .await;
        wait_focus(u, "#callee-id").await;
        assert_fits(u, "/call").await;
    }

    // Call: type the callee, Tab to Call, Enter; focus moves to Cancel while dialling.
    press(&alice, &bob.id).await;
    tab_to(&alice, "#call").await;
    press(&alice, &Key::Enter).await;
    alice.wait_text(&format!("Calling {}", bob.id), UI).await;
    wait_focus(&alice, "#cancel").await;
    assert_fits(&alice, "/call while dialling").await;

    // The dialog rings with focus on Accept; Enter accepts.
    bob.wait_ringing(&alice).await;
    wait_focus(&bob, "#accept").await;
    assert_fits(&bob, "the incoming-call dialog").await;
    press(&bob, &Key::Enter).await;

    for (u, other) in [(&alice, &bob), (&bob, &alice)] {
        u.wait_page("/in-call", &format!("In call with {}", other.id), UI)
            .await;
        u.wait("the verification code", AUDIO, || async {
            let shown = u
                .client
                .execute(
                    "return document.getElementById('verification-code') !== null",
                    vec![],
                )
                .await?;
            Ok::<_, fantoccini::error::CmdError>((shown == true).then_some(()))
        })
        .await;
        assert_fits(u, "/in-call").await;
    }

    // Hang up: the heading has focus on arrival; Tab reaches Hang up, past Mute.
    wait_focus(&alice, "main h2").await;
    press(&alice, &Key::Tab).await;
    tab_to(&alice, "#hang-up").await;
    press(&alice, &Key::Enter).await;
    for u in [&alice, &bob] {
        u.wait_page("/call", "Call ended", UI).await;
        assert_fits(u, "/call after the call").await;
    }
    alice.close().await;
    bob.close().await;
}
