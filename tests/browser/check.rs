//! The device check page `/check`: every check passes in the test browser (fake microphone
//! playing speech, a tone through the AudioContext, the signaling round trip, and the TURN
//! relay against a real coturn once logged in), everything it opened is closed afterwards;
//! and a page on an insecure origin says before any call that calls can not work there.

use std::time::Duration;

use fantoccini::Locator;

use crate::harness::{report, wait_for, Coturn, Harness};
use crate::user::{User, UI};

/// How long a whole run of the checks may take (the microphone test alone listens 3 s).
const RUN: Duration = Duration::from_secs(40);

/// Records every `AudioContext` the page builds a node in into `window.__audioContexts`. (The
/// wasm-bindgen glue keeps the constructor it found at load time, so the constructor can not be
/// wrapped; the prototype's methods are looked up at each call.)
const RECORD_AUDIO_CONTEXTS: &str = r#"
if (!window.__audioContexts) {
  window.__audioContexts = [];
  const proto = window.AudioContext.prototype;
  for (const name of ['createAnalyser', 'createOscillator', 'createGain', 'createMediaStreamSource']) {
    const original = proto[name];
    proto[name] = function (...args) {
      if (!window.__audioContexts.includes(this)) window.__audioContexts.push(this);
      return original.apply(this, args);
    };
  }
}
return true;
"#;

/// Each check row's status (`data-status`) and text, by element ID.
const ROWS: &str = r#"
const rows = {};
for (const li of document.querySelectorAll('li.check')) {
  rows[li.id] = { status: li.dataset.status, text: li.innerText.replace(/\s+/g, ' ') };
}
const summary = document.getElementById('check-summary');
return { rows, summary: summary ? summary.innerText.replace(/\s+/g, ' ') : null };
"#;

/// Waits until the run is over (the summary no longer says it is checking); returns the rows
/// and the summary.
async fn finished_run(user: &User) -> serde_json::Value {
    user.wait("the device check to finish", RUN, || async {
        let v = user
            .client
            .execute(ROWS, vec![])
            .await
            .map_err(|e| e.to_string())?;
        let done = v["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && !s.contains("Checking"));
        Ok::<_, String>(done.then_some(v))
    })
    .await
}

/// Once the page's first run (which may have started before the page was instrumented) is
/// over, records the AudioContexts and runs every check again; returns that run.
async fn instrumented_run(user: &User) -> serde_json::Value {
    user.client
        .execute(RECORD_AUDIO_CONTEXTS, vec![])
        .await
        .unwrap();
    user.wait_page("/check", "Device check", UI).await;
    finished_run(user).await;
    user.click("Run again").await;
    user.wait_text("Checking…", UI).await;
    finished_run(user).await
}

/// The row `id`'s (status, text).
fn row(run: &serde_json::Value, id: &str) -> (String, String) {
    let row = &run["rows"][id];
    let field = |k: &str| row[k].as_str().unwrap_or("?").to_owned();
    (field("status"), field("text"))
}

/// Fails unless every row but those in `except` passed.
async fn assert_passed(user: &User, run: &serde_json::Value, except: &[&str]) {
    for id in [
        "check-browser",
        "check-secure",
        "check-permission",
        "check-mic",
        "check-speaker",
        "check-signaling",
        "check-relay",
    ] {
        let (status, text) = row(run, id);
        if !except.contains(&id) && status != "pass" {
            user.fail(&format!("{id} is {status}, not pass: {text}\nrun: {run}"))
                .await;
        }
    }
}

/// The number of milliseconds in the signaling row ("Round trip: 3 ms").
fn rtt_ms(text: &str) -> Option<u32> {
    let (_, after) = text.split_once("Round trip: ")?;
    after.split(' ').next()?.parse().ok()
}

/// Waits until every track the page opened has ended, every peer connection and every
/// AudioContext is closed.
async fn wait_released(user: &User) {
    const SCRIPT: &str = "return { pcs: window.__pcs.map(p => p.connectionState), \
        tracks: window.__streams.flatMap(s => s.getTracks()).map(t => t.readyState), \
        contexts: (window.__audioContexts || []).map(c => c.state) }";
    let state = || async {
        user.client
            .execute(SCRIPT, vec![])
            .await
            .map_err(|e| e.to_string())
    };
    let released = |v: &serde_json::Value| {
        // Every one is `want`; `opened`: there is at least one.
        let all = |key: &str, want: &str, opened: bool| {
            let items = v[key].as_array().cloned().unwrap_or_default();
            (!opened || !items.is_empty()) && items.iter().all(|s| s == want)
        };
        // The relay check's peer connection exists only when logged in.
        all("tracks", "ended", true)
            && all("contexts", "closed", true)
            && all("pcs", "closed", false)
    };
    let result = wait_for("the checks' media to be released", UI, || async {
        let v = state().await?;
        Ok::<_, String>(released(&v).then_some(()))
    })
    .await;
    if let Err(e) = result {
        let last = state().await;
        user.fail(&format!("{e}; state: {last:?}")).await;
    }
}

/// Logged out, every check passes but the relay, which asks for a login; logged in (the server
/// hands out TURN credentials for a real coturn), the relay passes too and the summary says
/// all passed. The microphone heard the fake microphone's speech, the tone played, the round
/// trip is a number; afterwards no track, AudioContext or peer connection is left open.
#[tokio::test]
async fn device_check_passes() {
    const SECRET: &str = "check-test-secret";
    let coturn = Coturn::start(SECRET).await;
    let url = coturn.url();
    let h = Harness::start_with(&["--turn-url", &url, "--turn-secret", SECRET]).await;
    let alice = User::new(&h, "alice").await;

    // Logged out: straight to /check. The first run may start before the page is
    // instrumented; "Run again" runs every check once more, instrumented.
    alice.goto("/check").await;
    let run = instrumented_run(&alice).await;
    report(&format!("[logged out] {run}"));
    assert_passed(&alice, &run, &["check-relay"]).await;
    let (status, text) = row(&run, "check-relay");
    assert_eq!(status, "skipped", "relay while logged out: {text}");
    assert!(text.contains("Log in to test the relay"), "{text}");
    let summary = run["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("All checks passed") && summary.contains("Skipped: TURN relay"),
        "summary: {summary}"
    );
    wait_released(&alice).await;

    // Logged in: from the link on /call, which (a secure page) shows no unsupported notice.
    alice.login().await;
    let notice = alice
        .client
        .execute(
            "return document.getElementById('unsupported') !== null",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        notice,
        serde_json::json!(false),
        "a notice on a secure page"
    );
    let link = alice
        .client
        .find(Locator::LinkText("Check this device"))
        .await
        .expect("a link to the device check on /call");
    link.click().await.expect("clicking the link");
    alice.wait_page("/check", "Device check", UI).await;
    // The page may have been loaded anew (the first load lacks it), uninstrumented: the relay
    // check of this first run waits for the replayed login. Then once more, instrumented.
    let run = finished_run(&alice).await;
    report(&format!("[logged in, first run] {run}"));
    assert_passed(&alice, &run, &[]).await;
    alice.refresh().await;
    let run = instrumented_run(&alice).await;
    report(&format!("[logged in] {run}"));
    assert_passed(&alice, &run, &[]).await;
    let summary = run["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("All checks passed") && !summary.contains("Skipped"),
        "summary: {summary}"
    );
    let (_, mic) = row(&run, "check-mic");
    assert!(mic.contains("Sound came in"), "{mic}");
    let (_, speaker) = row(&run, "check-speaker");
    assert!(speaker.contains("A short tone played"), "{speaker}");
    let (_, signaling) = row(&run, "check-signaling");
    let Some(ms) = rtt_ms(&signaling) else {
        panic!("no round trip in ms: {signaling}");
    };
    assert!(ms < 1000, "a loopback round trip of {ms} ms");
    let (_, relay) = row(&run, "check-relay");
    assert!(relay.contains("Relay address: 127.0.0.1:"), "{relay}");
    wait_released(&alice).await;

    // At 360 px the page fits: nothing is wider than the window.
    alice
        .client
        .set_window_size(360, 800)
        .await
        .expect("resizing the window");
    let u = &alice;
    alice
        .wait("the page to fit 360 px", UI, || async move {
            let v = u
                .client
                .execute(
                    "return [document.documentElement.scrollWidth, window.innerWidth]",
                    vec![],
                )
                .await
                .map_err(|e| e.to_string())?;
            let (scroll, inner) = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(1));
            if inner <= 400 && scroll <= inner {
                Ok(Some(()))
            } else {
                Err(format!("scroll width {scroll} in a window {inner} wide"))
            }
        })
        .await;

    // The user says they heard nothing: the speaker check fails, and the summary says so.
    alice.click("I heard nothing").await;
    alice
        .wait_text(
            "Failed: Speaker. The failed checks above say what to do.",
            UI,
        )
        .await;
    alice.close().await;
}

/// Chromium treats `http://<a name>:port` that is not localhost as insecure (no
/// `navigator.mediaDevices`). Opened that way (a host resolver rule maps the name to
/// 127.0.0.1), the login page says plainly that calls can not work here and why, before any
/// attempt; the device check fails its secure-page check.
#[tokio::test]
async fn insecure_page_says_calls_can_not_work() {
    let mut h = Harness::start().await;
    let port = h.base_url.rsplit(':').next().unwrap().to_owned();
    h.chromium_args
        .push("--host-resolver-rules=MAP webcall.test 127.0.0.1".into());
    let user = User::new(&h, "x").await;
    let base = format!("http://webcall.test:{port}");
    // Not `User::goto`: its instrumentation needs `navigator.mediaDevices`.
    user.client.goto(&format!("{base}/login")).await.unwrap();
    let secure = user
        .client
        .execute("return window.isSecureContext", vec![])
        .await
        .unwrap();
    assert_eq!(
        secure,
        serde_json::json!(false),
        "Chromium took the page as secure"
    );
    user.wait_page(
        "/login",
        "This page is not secure (http on a network address): browsers block the microphone, \
         so calls can not work here. Open it via https or localhost.",
        UI,
    )
    .await;

    let link = user
        .client
        .find(Locator::LinkText("Check this device"))
        .await
        .expect("a link to the device check on /login");
    link.click().await.expect("clicking the link");
    let run = finished_run(&user).await;
    report(&format!("[insecure] {run}"));
    let (status, text) = row(&run, "check-secure");
    assert_eq!(status, "fail", "{text}");
    assert!(text.contains("Open it via https"), "{text}");
    let summary = run["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("Secure page"), "summary: {summary}");
    user.close().await;
}
