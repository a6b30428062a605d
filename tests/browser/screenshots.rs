//! Screenshots of every page, in English and in Chinese, at a phone's width, into
//! `docs/screenshots/` (the README shows them): login, call, the incoming-call dialog, in-call,
//! history and the device check, taken along one real call between two browsers.
//!
//! Each state is shot in English, then the header's switch turns the page Chinese (no reload:
//! the same state) for the second shot, and back.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::{Coturn, Harness};
use crate::user::{User, UI};

/// A phone's viewport.
const WIDTH: u32 = 400;
const HEIGHT: u32 = 860;

/// How long the live parts (meters, quality) and the device check may take to show.
const LIVE: Duration = Duration::from_secs(40);

fn shots_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

/// Saves `user`'s page as `<name>-en.png`, switches the page to Chinese and saves
/// `<name>-zh.png`, then switches back.
async fn shoot(user: &User, name: &str) {
    for (lang, tag) in [("en", "en"), ("zh", "zh-CN")] {
        if lang == "zh" {
            switch_language(user, tag).await;
        }
        let png = match user.client.screenshot().await {
            Ok(png) => png,
            Err(e) => user.fail(&format!("screenshot {name}-{lang}: {e}")).await,
        };
        let path = shots_dir().join(format!("{name}-{lang}.png"));
        if let Err(e) = std::fs::write(&path, png) {
            user.fail(&format!("writing {}: {e}", path.display())).await;
        }
    }
    switch_language(user, "en").await;
}

/// Clicks the header's language switch and waits until the page is in `tag`.
async fn switch_language(user: &User, tag: &str) {
    let script = "return document.documentElement.lang;";
    let now = user
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_default();
    if now == tag {
        return;
    }
    // Clicked from inside the page: a ringing call's modal dialog covers the header.
    let clicked = user
        .client
        .execute(
            "document.getElementById('lang-switch').click(); return true;",
            vec![],
        )
        .await;
    if let Err(e) = clicked {
        user.fail(&format!("clicking the language switch: {e}"))
            .await;
    }
    user.wait(&format!("the page in {tag}"), UI, || async {
        let lang = user
            .client
            .execute(script, vec![])
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((lang == tag).then_some(()))
    })
    .await;
}

/// Waits until `script` returns `true` in `user`'s page.
async fn wait_js(user: &User, what: &str, script: &str) {
    user.wait(what, LIVE, || async {
        let v = user
            .client
            .execute(script, vec![])
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((v == true).then_some(()))
    })
    .await;
}

#[tokio::test]
async fn screenshots_of_every_page_in_both_languages() {
    std::fs::create_dir_all(shots_dir()).expect("docs/screenshots");
    // With a TURN relay, so that every row of the device check can pass.
    const SECRET: &str = "screenshot-secret";
    let coturn = Coturn::start(SECRET).await;
    let url = coturn.url();
    let h = Harness::start_with(&["--turn-url", &url, "--turn-secret", SECRET]).await;
    let alice = User::new(&h, "alice").await;
    let bob = User::new(&h, "bob").await;
    for u in [&alice, &bob] {
        if let Err(e) = u.client.set_window_size(WIDTH, HEIGHT).await {
            u.fail(&format!("window size: {e}")).await;
        }
    }

    alice.goto("/login").await;
    alice.wait_text("Log in", UI).await;
    shoot(&alice, "login").await;

    alice.login().await;
    bob.login().await;
    alice.fill("Callee user ID", &bob.id).await;
    alice.wait_text(&format!("{} is online", bob.id), UI).await;
    shoot(&alice, "call").await;

    alice.click("Call").await;
    bob.wait_ringing(&alice).await;
    shoot(&bob, "incoming").await;

    bob.click_in_dialog("Accept").await;
    alice.wait_page("/in-call", &bob.id, UI).await;
    wait_js(
        &alice,
        "the code, both meters moving and a quality level",
        "const n = (id) => Number((document.getElementById(id) || {}).ariaValueNow || 0); \
         const q = document.getElementById('network-quality'); \
         return !!document.getElementById('verification-code') && n('local-volume') > 10 \
           && n('remote-volume') > 10 && !!q && Number(q.dataset.level) >= 4;",
    )
    .await;
    shoot(&alice, "in-call").await;

    alice.click("Hang up").await;
    alice.wait_page("/call", "Call ended", UI).await;
    alice.goto("/history").await;
    wait_js(
        &alice,
        "a history row",
        "return document.querySelectorAll('table.history tbody tr').length > 0;",
    )
    .await;
    shoot(&alice, "history").await;

    alice.goto("/check").await;
    wait_js(
        &alice,
        "every check to pass",
        "const rows = [...document.querySelectorAll('li.check')]; \
         return rows.length > 0 && rows.every((r) => r.dataset.status === 'pass');",
    )
    .await;
    shoot(&alice, "check").await;

    alice.close().await;
    bob.close().await;
}
