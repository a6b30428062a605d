//! The in-call page's live parts: the peer's mute, both volume meters, the network quality
//! indicator and switching the microphone mid-call.

use std::time::Duration;

use serde_json::Value;

use crate::user::{User, UI};
use crate::{establish_call, logged_in, AUDIO};

/// How long a live reading may take to follow what happened (they update 5 times a second).
const READING: Duration = Duration::from_secs(10);

impl User {
    /// Runs `script` (which `return`s a value) in the page.
    async fn eval(&self, script: &str) -> Result<Value, String> {
        self.client
            .execute(script, vec![])
            .await
            .map_err(|e| e.to_string())
    }

    /// A meter's value (0–100): `local-volume` or `remote-volume`.
    async fn volume(&self, meter: &str) -> Result<u64, String> {
        let script = format!(
            "const m = document.getElementById('{meter}'); \
             return m ? Number(m.getAttribute('aria-valuenow')) : null;"
        );
        self.eval(&script)
            .await?
            .as_u64()
            .ok_or_else(|| format!("no #{meter}"))
    }

    /// Waits until meter `meter` satisfies `ok`.
    async fn wait_volume(&self, meter: &str, what: &str, ok: impl Fn(u64) -> bool) {
        let ok = &ok;
        self.wait(what, READING, || async move {
            match self.volume(meter).await? {
                v if ok(v) => Ok(Some(())),
                v => Err(format!("#{meter} is {v}")),
            }
        })
        .await
    }
}

#[tokio::test]
async fn mute_is_seen_by_the_peer() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    establish_call(&alice, &bob).await;
    let muted_text = format!("{} muted their microphone", alice.id);
    alice.click("Mute").await;
    bob.wait_text(&muted_text, UI).await;
    alice.wait_text("Unmute", UI).await;
    alice.click("Unmute").await;
    bob.wait("the mute notice to go", UI, || async {
        let text = bob.body_text().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((!text.contains(&muted_text)).then_some(()))
    })
    .await;
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
}

#[tokio::test]
async fn volume_meters_move_with_speech_and_fall_with_silence() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    establish_call(&alice, &bob).await;
    // Speech on both fake microphones: every meter moves.
    for u in [&alice, &bob] {
        u.wait_volume("local-volume", "own microphone meter above 10", |v| v > 10)
            .await;
        u.wait_volume("remote-volume", "other side's meter above 10", |v| v > 10)
            .await;
    }
    // Alice mutes: her meter drops to 0, and bob hears silence.
    alice.click("Mute").await;
    alice
        .wait_volume("local-volume", "muted microphone meter at 0", |v| v == 0)
        .await;
    bob.wait_volume("remote-volume", "muted peer's meter near 0", |v| v <= 3)
        .await;
    // And back.
    alice.click("Unmute").await;
    bob.wait_volume("remote-volume", "unmuted peer's meter above 10", |v| v > 10)
        .await;
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
}

#[tokio::test]
async fn quality_indicator_shows_levels_and_numbers() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    establish_call(&alice, &bob).await;
    for u in [&alice, &bob] {
        let details = u
            .wait("a quality level and its numbers", READING, || async {
                let v = u
                    .eval(
                        "const q = document.getElementById('network-quality'); \
                         return q ? [q.dataset.level, \
                           document.getElementById('quality-details').textContent] : null;",
                    )
                    .await?;
                let level: u64 = v[0].as_str().and_then(|l| l.parse().ok()).unwrap_or(0);
                let text = v[1].as_str().unwrap_or_default().to_owned();
                // Loopback is excellent or good, and the round trip and loss are measured.
                if level >= 4 && text.contains(" ms") && text.contains(" %") {
                    Ok(Some(text))
                } else {
                    Err(format!("level {level}, details {text:?}"))
                }
            })
            .await;
        assert!(details.contains("Sending") && details.contains("Receiving"));
    }
    // The numbers show on keyboard focus too.
    let shown = alice
        .eval(
            "document.getElementById('network-quality').focus(); \
             return getComputedStyle(document.getElementById('quality-details')).display;",
        )
        .await
        .unwrap();
    assert_ne!(shown, "none", "the details stay hidden on focus");
    alice
        .eval("document.activeElement.blur(); return true;")
        .await
        .unwrap();
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
}

#[tokio::test]
async fn switching_the_microphone_mid_call_keeps_audio_flowing() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    establish_call(&alice, &bob).await;
    bob.assert_audio_flows(AUDIO).await;

    // Chromium's fake capture offers several microphones; pick one that is not in use.
    let chosen = alice
        .wait("a second microphone in the menu", UI, || async {
            let v = alice
                .eval(
                    "const s = document.getElementById('microphone'); \
                     if (!s) return null; \
                     const pc = window.__pcs[window.__pcs.length - 1]; \
                     const sender = pc.getSenders().find(x => x.track); \
                     const using = sender ? sender.track.getSettings().deviceId : null; \
                     const other = [...s.options].map(o => o.value) \
                       .find(v => v && v !== using && v !== 'default'); \
                     return other ? { other, using } : null;",
                )
                .await?;
            Ok::<_, String>(v["other"].as_str().map(str::to_owned))
        })
        .await;
    alice
        .eval(&format!(
            "const s = document.getElementById('microphone'); s.value = '{chosen}'; \
             s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;"
        ))
        .await
        .unwrap();

    // The connection sends the new microphone's track: replaced, not renegotiated.
    alice
        .wait("the new microphone on the connection", UI, || async {
            let v = alice
                .eval(
                    "const pc = window.__pcs[window.__pcs.length - 1]; \
                     const sender = pc.getSenders().find(x => x.track); \
                     return { pcs: window.__pcs.length, \
                       device: sender && sender.track.getSettings().deviceId, \
                       live: sender && sender.track.readyState };",
                )
                .await?;
            if v["device"] == chosen.as_str() && v["live"] == "live" && v["pcs"] == 1 {
                Ok(Some(()))
            } else {
                Err(format!("{v}"))
            }
        })
        .await;
    // Audio keeps flowing to bob, and the old microphone was stopped.
    bob.assert_audio_flows(AUDIO).await;
    let ended = alice
        .eval(
            "return window.__streams.flatMap(s => s.getTracks()) \
               .filter(t => t.readyState === 'ended').length;",
        )
        .await
        .unwrap();
    assert!(ended.as_u64() >= Some(1), "the old microphone still runs");
    // The choice is remembered.
    let saved = alice
        .eval("return localStorage.getItem('webcall.microphone');")
        .await
        .unwrap();
    assert_eq!(saved, chosen.as_str());

    // The speaker too, where the browser can choose it (Chromium can).
    let speaker = alice
        .eval(
            "const s = document.getElementById('speaker');              const other = s && [...s.options].map(o => o.value)                .find(v => v && v !== 'default');              if (!other) return null;              s.value = other; s.dispatchEvent(new Event('change', { bubbles: true }));              return other;",
        )
        .await
        .unwrap();
    let speaker = speaker.as_str().expect("a speaker to choose").to_owned();
    alice
        .wait("the call to play on the chosen speaker", UI, || async {
            let v = alice
                .eval("return [...document.querySelectorAll('audio')].map(a => a.sinkId);")
                .await?;
            match v.as_array() {
                Some(ids) if ids.iter().any(|id| id == speaker.as_str()) => Ok(Some(())),
                _ => Err(format!("sinks {v}")),
            }
        })
        .await;

    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.wait_media_released(UI).await;
}

#[tokio::test]
async fn plugging_a_device_updates_the_menus() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    establish_call(&alice, &bob).await;
    alice
        .wait("the microphone menu", UI, || async {
            let n = alice
                .eval("const s = document.getElementById('microphone'); return s ? s.options.length : 0;")
                .await?;
            Ok::<_, String>((n.as_u64() > Some(1)).then_some(()))
        })
        .await;
    // A headset is plugged in: the browser lists one more microphone and says `devicechange`.
    alice
        .eval(
            "const md = navigator.mediaDevices; const list = md.enumerateDevices.bind(md); \
             md.enumerateDevices = async () => [...await list(), { kind: 'audioinput', \
               deviceId: 'plugged-headset', groupId: 'g', label: 'USB Headset' }]; \
             md.dispatchEvent(new Event('devicechange')); return true;",
        )
        .await
        .unwrap();
    alice
        .wait("the plugged-in microphone in the menu", UI, || async {
            let v = alice
                .eval(
                    "return [...document.getElementById('microphone').options] \
                       .some(o => o.value === 'plugged-headset' && o.text.includes('USB Headset'));",
                )
                .await?;
            Ok::<_, String>((v == true).then_some(()))
        })
        .await;
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
}
