//! The JavaScript SDK (dist/sdk/, `cargo xtask sdk`): its example page (/sdk-example/) takes a
//! call from the demo app with audio both ways; its API has the names js-api.md lists, rejects
//! with coded `WebCallError`s, and lets handlers call back into the object synchronously.

use fantoccini::Locator;

use crate::harness::Harness;
use crate::user::{User, UI};
use crate::AUDIO;

/// Every event of the JavaScript API (docs: the table of `WebCall.EVENT`).
const EVENTS: [&str; 31] = [
    "SDK_READY",
    "INVITED",
    "USER_ACCEPT",
    "USER_ENTER",
    "USER_LEAVE",
    "REJECT",
    "NO_RESP",
    "LINE_BUSY",
    "CALLING_CANCEL",
    "CALLING_TIMEOUT",
    "CALL_END",
    "KICKED_OUT",
    "ERROR",
    "USER_AUDIO_AVAILABLE",
    "USER_VOICE_VOLUME",
    "NETWORK_QUALITY",
    "DEVICED_UPDATED",
    "LOGGED_OUT",
    "RINGING",
    "ANSWERED_ELSEWHERE",
    "REJECTED_ELSEWHERE",
    "IN_CALL_ELSEWHERE",
    "IN_CALL_ELSEWHERE_ENDED",
    "PRESENCE_CHANGED",
    "SESSION_EXPIRING",
    "SESSION_RENEWED",
    "VERIFICATION_CODE",
    "RECONNECTING",
    "RECONNECTED",
    "AUDIO_INTERRUPTED",
    "AUDIO_RESTORED",
];

/// Every method of the JavaScript API.
const METHODS: [&str; 15] = [
    "login",
    "logout",
    "call",
    "accept",
    "reject",
    "hangup",
    "setMicMute",
    "on",
    "off",
    "getMicrophoneList",
    "getSpeakerList",
    "switchDevice",
    "watchPresence",
    "renew",
    "destroy",
];

/// Types `value` into the input `#id`.
async fn fill_id(user: &User, id: &str, value: &str) {
    let input = user
        .wait(&format!("the input #{id}"), UI, || async move {
            Ok::<_, fantoccini::error::CmdError>(Some(user.client.find(Locator::Id(id)).await?))
        })
        .await;
    let typed = async {
        input.clear().await?;
        input.send_keys(value).await
    };
    if let Err(e) = typed.await {
        user.fail(&format!("typing into #{id}: {e}")).await;
    }
}

/// Waits until the button `#id` is enabled and clicks it.
async fn click_id(user: &User, id: &str) {
    let button = user
        .wait(&format!("#{id} to be clickable"), UI, || async move {
            let b = user.client.find(Locator::Id(id)).await?;
            let ready = b.is_displayed().await? && b.is_enabled().await?;
            Ok::<_, fantoccini::error::CmdError>(ready.then_some(b))
        })
        .await;
    if let Err(e) = button.click().await {
        user.fail(&format!("clicking #{id}: {e}")).await;
    }
}

/// Waits until the text of the element `#id` is `text`.
async fn wait_element_text(user: &User, id: &str, text: &str) {
    user.wait(&format!("#{id} reading {text:?}"), UI, || async move {
        let found = user
            .client
            .execute(
                "const e = document.getElementById(arguments[0]); return e && e.textContent",
                vec![id.into()],
            )
            .await?;
        Ok::<_, fantoccini::error::CmdError>((found.as_str() == Some(text)).then_some(()))
    })
    .await
}

/// Waits until `#status` reads `text`.
async fn wait_status(user: &User, text: &str) {
    wait_element_text(user, "status", text).await
}

/// Opens the example page and logs in as `user.id`.
async fn example_login(user: &User) {
    user.goto("/sdk-example/").await;
    wait_status(user, "logged out").await;
    fill_id(user, "user-id", &user.id).await;
    click_id(user, "log-in").await;
    wait_status(user, &format!("logged in as {}", user.id)).await;
}

/// The demo app's user calls the example page's user, who accepts: they talk, audio flowing
/// both ways, the example mutes and unmutes, then hangs up, and both show the end. The page's
/// log lists the events, and its console no error.
#[tokio::test]
async fn js_example_takes_a_call_from_the_demo_app() {
    let h = Harness::start().await;
    let alice = User::new(&h, "alice").await;
    let js = User::new(&h, "js").await;
    alice.login().await;
    example_login(&js).await;

    alice.call(&js).await;
    wait_status(&js, &format!("{} is calling", alice.id)).await;
    click_id(&js, "accept").await;
    wait_status(&js, &format!("in call with {}", alice.id)).await;
    alice.wait_page("/in-call", &js.id, UI).await;
    js.assert_audio_flows(AUDIO).await;
    alice.assert_audio_flows(AUDIO).await;

    // The mute toggle goes through `setMicMute`: the demo shows it.
    click_id(&js, "mute").await;
    alice
        .wait_text(&format!("{} muted their microphone", js.id), UI)
        .await;
    wait_element_text(&js, "mute", "Unmute").await;
    click_id(&js, "mute").await;
    wait_element_text(&js, "mute", "Mute").await;

    click_id(&js, "hang-up").await;
    alice.wait_page("/call", "Call ended", UI).await;
    wait_status(&js, "call ended").await;
    js.wait_media_released(UI).await;
    alice.wait_media_released(UI).await;

    let log = js
        .client
        .execute("return document.getElementById('log').innerText", vec![])
        .await
        .unwrap();
    let log = log.as_str().unwrap_or_default();
    for line in [
        format!("SDK_READY {{\"userID\":\"{}\"}}", js.id),
        format!("INVITED {{\"sponsor\":\"{}\"", alice.id),
        format!("USER_ENTER {{\"userID\":\"{}\"}}", alice.id),
    ] {
        assert!(log.contains(&line), "the event log lacks {line:?}:\n{log}");
    }
    let console = js
        .client
        .execute("return (window.__logs || []).join('\\n')", vec![])
        .await
        .unwrap();
    let console = console.as_str().unwrap_or_default();
    assert!(
        !console.contains("error: ")
            && !console.contains("uncaught")
            && !console.contains("unhandled"),
        "the example page reported errors:\n{console}"
    );
    alice.close().await;
    js.close().await;
}

/// In the browser: `WebCall.EVENT` and `WebCall.prototype` against the lists of the API, the
/// exports, and errors: a call before login rejects with a `WebCallError` 60011, bad options
/// throw 60060.
const API: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const sdk = await import('/sdk/webcall.js');
  const { WebCall, WebCallError } = sdk;
  const out = {
    defaultIsWebCall: sdk.default === WebCall,
    events: Object.keys(WebCall.EVENT).filter((k) => WebCall.EVENT[k] === k),
    eventCount: Object.keys(WebCall.EVENT).length,
    eventFrozen: Object.isFrozen(WebCall.EVENT) && WebCall.EVENT === WebCall.EVENT,
    methods: Object.getOwnPropertyNames(WebCall.prototype)
      .filter((m) => typeof Object.getOwnPropertyDescriptor(WebCall.prototype, m).value === 'function'),
    callType: WebCall.CALL_TYPE,
  };
  const describe = (e) => ({
    name: e.name, code: e.code, message: e.message,
    isError: e instanceof Error, isWebCallError: e instanceof WebCallError,
  });
  const webcall = new WebCall({ SDKAppID: 1400000000 });
  out.userID = webcall.userID;
  out.state = webcall.callState;
  try { await webcall.call({ userID: '' }); out.call = 'resolved'; } catch (e) { out.call = describe(e); }
  for (const [key, options] of [['noAppId', {}], ['badServer', { appId: 1, server: 'ftp://x' }]]) {
    try { new WebCall(options); out[key] = 'constructed'; } catch (e) { out[key] = describe(e); }
  }
  try { webcall.on('INVITED', 'not a function'); out.badHandler = 'accepted'; } catch (e) { out.badHandler = describe(e); }
  webcall.destroy();
  webcall.destroy();
  try { await webcall.hangup(); out.afterDestroy = 'resolved'; } catch (e) { out.afterDestroy = describe(e); }
  done(out);
})().catch((e) => done({ error: String((e && e.stack) || e) }));
"#;

#[tokio::test]
async fn js_api_names_and_errors() {
    let h = Harness::start().await;
    let user = User::new(&h, "api").await;
    user.goto("/sdk-example/").await;
    let v = match user.client.execute_async(API, vec![]).await {
        Ok(v) => v,
        Err(e) => user.fail(&format!("running the API check: {e}")).await,
    };
    assert!(v["error"].is_null(), "the API check threw: {v}");
    assert_eq!(v["defaultIsWebCall"], true, "{v}");

    let events: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    for event in EVENTS {
        assert!(
            events.contains(&event),
            "WebCall.EVENT lacks {event} (or its value is not its name): {v}"
        );
    }
    assert_eq!(v["eventCount"], EVENTS.len(), "{v}");
    assert_eq!(
        v["eventFrozen"], true,
        "WebCall.EVENT is not one frozen object"
    );
    let methods: Vec<&str> = v["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    for method in METHODS {
        assert!(
            methods.contains(&method),
            "WebCall.prototype lacks {method}: {methods:?}"
        );
    }
    assert_eq!(v["callType"], serde_json::json!({"AUDIO": 1, "VIDEO": 2}));
    assert_eq!(v["userID"], serde_json::Value::Null);
    assert_eq!(v["state"], serde_json::json!({"state": "idle"}));

    // A call before the login: the client refuses it as not logged in (before it looks at the
    // callee's ID).
    let call = &v["call"];
    assert_eq!(call["name"], "WebCallError", "{call}");
    assert_eq!(call["code"], 60011, "{call}");
    assert_eq!(call["message"], "not logged in", "{call}");
    assert_eq!(call["isError"], true, "{call}");
    assert_eq!(call["isWebCallError"], true, "{call}");
    for key in ["noAppId", "badServer", "badHandler"] {
        assert_eq!(v[key]["code"], 60060, "{key}: {v}");
        assert_eq!(v[key]["isWebCallError"], true, "{key}: {v}");
    }
    assert_eq!(v["afterDestroy"]["code"], 60011, "{v}");
    user.close().await;
}

/// Two `WebCall` objects in one page call each other. The callee's `INVITED` handler runs with
/// its context as `this`, accepts and removes itself right there, synchronously; both sides
/// get `USER_ENTER`; the caller hangs up; the callee destroys its object inside its `CALL_END`
/// handler. Nothing breaks: the wasm still works afterwards.
const CALL_BACK_IN_HANDLERS: &str = r#"
const done = arguments[arguments.length - 1];
const [a, b] = [arguments[0], arguments[1]];
(async () => {
  const { WebCall } = await import('/sdk/webcall.js');
  const sig = async (id) => (await fetch('/api/usersig?user_id=' + id)).json();
  const [sa, sb] = [await sig(a), await sig(b)];
  const caller = new WebCall({ appId: sa.sdk_app_id, server: location.origin });
  const callee = new WebCall({ SDKAppID: sb.sdk_app_id });
  const out = { seen: [] };
  const context = { name: 'context' };
  callee.on(WebCall.EVENT.INVITED, function (payload) {
    out.thisIsContext = this === context;
    out.invited = payload;
    callee.accept().then(() => out.seen.push('accept resolved'), (e) => out.seen.push('accept rejected ' + e.code));
    callee.off(WebCall.EVENT.INVITED);
    out.stateInHandler = callee.callState.state;
  }, context);
  const next = (w, event) => new Promise((resolve) => w.on(event, resolve));
  const entered = Promise.all([next(caller, 'USER_ENTER'), next(callee, 'USER_ENTER')]);
  const ended = Promise.all([next(caller, 'CALL_END'), next(callee, 'CALL_END')]);
  callee.on(WebCall.EVENT.CALL_END, () => { callee.destroy(); out.userIDAfterDestroy = callee.userID; });
  await caller.login({ userID: a, userSig: sa.user_sig });
  await callee.login({ userID: b, userSig: sb.user_sig });
  await caller.call({ userID: b, type: WebCall.CALL_TYPE.AUDIO, timeout: 20 });
  out.callerState = caller.callState.state;
  await entered;
  out.calleeInCall = callee.callState;
  await caller.hangup();
  [out.callerEnd, out.calleeEnd] = await ended;
  out.calleeStateAfter = callee.callState.state;
  caller.destroy();
  // The wasm still answers.
  const again = new WebCall({ appId: sa.sdk_app_id });
  try { await again.accept(); } catch (e) { out.stillWorks = e.code; }
  again.destroy();
  done(out);
})().catch((e) => done({ error: String((e && e.stack) || e) }));
"#;

#[tokio::test]
async fn js_handlers_call_back_synchronously() {
    let h = Harness::start().await;
    let user = User::new(&h, "pair").await;
    user.goto("/sdk-example/").await;
    let (a, b) = (format!("{}-a", user.id), format!("{}-b", user.id));
    let v = match user
        .client
        .execute_async(
            CALL_BACK_IN_HANDLERS,
            vec![a.clone().into(), b.clone().into()],
        )
        .await
    {
        Ok(v) => v,
        Err(e) => {
            user.fail(&format!("running the two-object call: {e}"))
                .await
        }
    };
    assert!(v["error"].is_null(), "the page threw: {v}");
    assert_eq!(v["thisIsContext"], true, "{v}");
    assert_eq!(v["invited"]["sponsor"], a.as_str(), "{v}");
    assert_eq!(v["invited"]["userIDList"], serde_json::json!([b]), "{v}");
    assert_eq!(v["invited"]["inviteData"]["callType"], 1, "{v}");
    assert_eq!(v["stateInHandler"], "connecting", "{v}");
    assert_eq!(v["seen"], serde_json::json!(["accept resolved"]), "{v}");
    assert_eq!(v["calleeInCall"]["state"], "in-call", "{v}");
    assert_eq!(v["calleeInCall"]["userID"], a.as_str(), "{v}");
    assert_eq!(v["callerEnd"]["endedBy"], a.as_str(), "{v}");
    assert_eq!(
        v["callerEnd"]["inviteID"], v["calleeEnd"]["inviteID"],
        "{v}"
    );
    assert_eq!(v["userIDAfterDestroy"], serde_json::Value::Null, "{v}");
    assert_eq!(v["calleeStateAfter"], "idle", "{v}");
    assert_eq!(v["stillWorks"], 60015, "accept with no call: {v}");
    user.close().await;
}
