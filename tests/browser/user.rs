//! One user in one browser: drives the WebCall pages by visible text and labels, and reads
//! WebRTC state through a small instrumentation script.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::harness::{wait_for, Browser, Harness};

/// How long ordinary UI steps may take.
pub const UI: Duration = Duration::from_secs(10);

/// Run right after every page load: records every `RTCPeerConnection` into `window.__pcs`,
/// every stream `getUserMedia` returns into `window.__streams`, and console errors/warnings
/// into `window.__logs`. The app's wasm-bindgen glue looks the constructor up at call time.
const INSTRUMENT: &str = r#"
if (!window.__pcs) {
  window.__pcs = [];
  window.__streams = [];
  window.__logs = [];
  const Pc = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Pc {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
      // A remote track unmutes when its first RTP packet arrives: the in-page time audio began.
      window.__firstAudioAt = null;
      this.addEventListener('track', (e) => e.track.addEventListener('unmute', () => {
        if (window.__firstAudioAt === null) window.__firstAudioAt = performance.now();
      }));
    }
  };
  // When each button was last clicked, in page time, by its text.
  window.__clicks = {};
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('button');
    if (button) window.__clicks[button.textContent.trim()] = performance.now();
  }, true);
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  window.__gumMs = [];
  md.getUserMedia = async (constraints) => {
    const started = performance.now();
    const stream = await gum(constraints);
    window.__gumMs.push(performance.now() - started);
    window.__streams.push(stream);
    return stream;
  };
  for (const level of ['error', 'warn']) {
    const orig = console[level].bind(console);
    console[level] = (...args) => { window.__logs.push(level + ': ' + args.join(' ')); orig(...args); };
  }
  window.addEventListener('error', (e) => window.__logs.push('uncaught: ' + e.message));
  window.addEventListener('unhandledrejection', (e) => window.__logs.push('unhandled rejection: ' + e.reason));
}
return true;
"#;

/// The last peer connection's state and its inbound audio stats.
const STATS: &str = r#"
const done = arguments[arguments.length - 1];
if (!window.__pcs) { done({ error: 'page not instrumented (was there a full page load?)' }); return; }
const pc = window.__pcs[window.__pcs.length - 1];
if (!pc) { done({ pcs: 0 }); return; }
const out = { pcs: window.__pcs.length, state: pc.connectionState };
if (pc.connectionState === 'closed') { done(out); return; }
pc.getStats().then((report) => {
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out.packetsReceived = s.packetsReceived;
      out.packetsLost = s.packetsLost;
      out.audioLevel = s.audioLevel;
    }
  });
  done(out);
}, (e) => { out.error = String(e); done(out); });
"#;

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub pcs: u64,
    pub state: Option<String>,
    pub packets_received: Option<u64>,
    /// RTP packets the receiver noticed missing (negative counts, from duplicates, read as 0).
    pub packets_lost: Option<u64>,
    pub audio_level: Option<f64>,
}

impl Stats {
    fn describe(&self) -> String {
        format!(
            "{} peer connection(s), last {:?}, packetsReceived {:?}, audioLevel {:?}",
            self.pcs, self.state, self.packets_received, self.audio_level
        )
    }
}

/// What a packet trace saw: how long it ran, how many packets arrived, and the longest time
/// without a new packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacketTrace {
    pub samples: usize,
    pub span_ms: f64,
    pub packets: u64,
    pub longest_stall_ms: f64,
}

impl PacketTrace {
    fn new(samples: &[(f64, u64)]) -> PacketTrace {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return PacketTrace {
                samples: 0,
                span_ms: 0.0,
                packets: 0,
                longest_stall_ms: f64::INFINITY,
            };
        };
        let mut longest: f64 = 0.0;
        let mut since = first;
        for sample in samples {
            if sample.1 > since.1 {
                since = sample;
            }
            longest = longest.max(sample.0 - since.0);
        }
        PacketTrace {
            samples: samples.len(),
            span_ms: last.0 - first.0,
            packets: last.1 - first.1,
            longest_stall_ms: longest,
        }
    }
}

pub struct User {
    pub id: String,
    pub client: Client,
    /// The browser this user's session runs in.
    pub browser: Browser,
    base_url: String,
    /// The browser's profile directory, which names its processes.
    profile: Option<std::path::PathBuf>,
}

/// A user ID unique to this run: `<name>-<n>`, n from the clock and a counter.
pub fn unique_id(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{name}-{}{}",
        nanos % 100_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// An XPath string literal for `s` (which holds no `'`).
fn xpath_str(s: &str) -> String {
    assert!(!s.contains('\''), "XPath literal with a quote: {s}");
    format!("'{s}'")
}

fn button_xpath(text: &str) -> String {
    let t = xpath_str(text);
    format!("//button[normalize-space()={t} or @aria-label={t}]")
}

impl User {
    /// Opens a browser (Chromium) for a user named `<name>-<unique>`.
    pub async fn new(harness: &Harness, name: &str) -> User {
        User::new_in(harness, name, Browser::Chromium).await
    }

    /// Opens `browser` for a user named `<name>-<unique>`.
    pub async fn new_in(harness: &Harness, name: &str, browser: Browser) -> User {
        let (client, profile) = harness.browser_in(browser).await;
        User {
            id: unique_id(name),
            client,
            browser,
            base_url: harness.base_url.clone(),
            profile: Some(profile),
        }
    }

    /// Kills this user's browser with SIGKILL, as a crash or a machine that vanished would
    /// end it: no close frame, no goodbye.
    pub fn kill_browser(&self) {
        let profile = self
            .profile
            .as_deref()
            .expect("a browser with a known profile");
        let killed = crate::harness::kill_browser(profile);
        assert!(
            killed > 0,
            "no {:?} process of {}",
            self.browser,
            profile.display()
        );
    }

    /// Opens another browser (Chromium) for the same user: a second device.
    pub async fn another_device(harness: &Harness, of: &User) -> User {
        let (client, profile) = harness.browser_with_profile().await;
        User {
            id: of.id.clone(),
            client,
            browser: Browser::Chromium,
            base_url: harness.base_url.clone(),
            profile: Some(profile),
        }
    }

    /// Clicks the button labelled `text` from inside the page (an element `click()`), as a
    /// user would, but without WebDriver's checks: for two browsers that must click at the
    /// same moment, whatever else appears on the page meanwhile.
    pub async fn click_now(&self, text: &str) {
        let script = r#"
            const text = arguments[0];
            const button = [...document.querySelectorAll('button')]
                .find(b => b.textContent.trim() === text || b.getAttribute('aria-label') === text);
            if (!button) return false;
            button.click();
            return true;
        "#;
        let clicked = self
            .client
            .execute(script, vec![serde_json::json!(text)])
            .await;
        if !matches!(clicked, Ok(serde_json::Value::Bool(true))) {
            self.fail(&format!("no button {text:?} to click ({clicked:?})"))
                .await;
        }
    }

    /// Panics with `msg` plus what this user's page shows.
    pub async fn fail(&self, msg: &str) -> ! {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self.body_text().await.unwrap_or_default();
        let logs = self
            .client
            .execute("return (window.__logs || []).join('\\n')", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        panic!(
            "[{}] {msg}\n  url: {url}\n  page text: {text:?}\n  console: {logs}",
            self.id
        );
    }

    /// `wait_for`, failing with this user's page in the message.
    pub async fn wait<T, E, F, Fut>(&self, what: &str, timeout: Duration, check: F) -> T
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, E>>,
    {
        match wait_for(what, timeout, check).await {
            Ok(v) => v,
            Err(e) => self.fail(&e).await,
        }
    }

    /// Loads `path` and instruments the page.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base_url);
        if let Err(e) = self.client.goto(&url).await {
            self.fail(&format!("loading {url}: {e}")).await;
        }
        self.instrument().await;
    }

    pub async fn refresh(&self) {
        if let Err(e) = self.client.refresh().await {
            self.fail(&format!("reloading: {e}")).await;
        }
        self.instrument().await;
    }

    async fn instrument(&self) {
        if let Err(e) = self.client.execute(INSTRUMENT, vec![]).await {
            self.fail(&format!("instrumenting the page: {e}")).await;
        }
    }

    /// The page's visible text, whitespace collapsed.
    pub async fn body_text(&self) -> Result<String, fantoccini::error::CmdError> {
        let v = self
            .client
            .execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await?;
        Ok(v.as_str()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "))
    }

    pub async fn path(&self) -> Result<String, fantoccini::error::CmdError> {
        Ok(self.client.current_url().await?.path().to_string())
    }

    /// Waits until the URL path is `path` and the page shows `text` (`""`: any).
    pub async fn wait_page(&self, path: &str, text: &str, timeout: Duration) {
        let what = format!("{path} showing {text:?}");
        self.wait(&what, timeout, || async move {
            let ok = self.path().await? == path && self.body_text().await?.contains(text);
            Ok::<_, fantoccini::error::CmdError>(ok.then_some(()))
        })
        .await
    }

    /// Waits until the page shows `text`.
    pub async fn wait_text(&self, text: &str, timeout: Duration) {
        self.wait(&format!("text {text:?}"), timeout, || async move {
            Ok::<_, fantoccini::error::CmdError>(
                self.body_text().await?.contains(text).then_some(()),
            )
        })
        .await
    }

    /// Waits for an enabled, visible button with this text (or aria-label) and clicks it.
    pub async fn click(&self, text: &str) {
        self.click_xpath(&format!("button {text:?}"), &button_xpath(text))
            .await
    }

    /// Clicks a button inside the `role="dialog"` element.
    pub async fn click_in_dialog(&self, text: &str) {
        let xpath = format!("//*[@role='dialog']{}", button_xpath(text));
        self.click_xpath(&format!("button {text:?} in the dialog"), &xpath)
            .await
    }

    async fn click_xpath(&self, what: &str, xpath: &str) {
        let button = self
            .wait(&format!("{what} to be clickable"), UI, || async move {
                let b = self.client.find(Locator::XPath(xpath)).await?;
                let ready = b.is_displayed().await? && b.is_enabled().await?;
                Ok::<_, fantoccini::error::CmdError>(ready.then_some(b))
            })
            .await;
        if let Err(e) = button.click().await {
            self.fail(&format!("clicking {what}: {e}")).await;
        }
    }

    /// Types `value` into the input labelled `label` (`<label for=…>` or a wrapping label).
    pub async fn fill(&self, label: &str, value: &str) {
        let label_xpath = format!("//label[normalize-space()={}]", xpath_str(label));
        let label_xpath = label_xpath.as_str();
        let input = self
            .wait(&format!("an input labelled {label:?}"), UI, || async move {
                let label = self.client.find(Locator::XPath(label_xpath)).await?;
                let input = match label.attr("for").await? {
                    Some(id) => self.client.find(Locator::Id(&id)).await?,
                    None => label.find(Locator::XPath(".//input")).await?,
                };
                Ok::<_, fantoccini::error::CmdError>(Some(input))
            })
            .await;
        let typed = async {
            input.clear().await?;
            input.send_keys(value).await
        };
        if let Err(e) = typed.await {
            self.fail(&format!("typing into {label:?}: {e}")).await;
        }
    }

    /// Logs in as `self.id` from /login and waits for /call.
    pub async fn login(&self) {
        self.goto("/login").await;
        self.fill("User ID", &self.id).await;
        self.click("Log in").await;
        self.wait_page("/call", &format!("Logged in as {}", self.id), UI)
            .await;
    }

    /// Calls `callee` from /call and waits for the dialling state.
    pub async fn call(&self, callee: &User) {
        self.fill("Callee user ID", &callee.id).await;
        self.click("Call").await;
        self.wait_text(&format!("Calling {}", callee.id), UI).await;
    }

    /// The text of the `role="dialog"` element, if there is one.
    pub async fn dialog_text(&self) -> Result<Option<String>, fantoccini::error::CmdError> {
        let v = self
            .client
            .execute(
                "const d = document.querySelector('[role=dialog]'); return d ? d.innerText : null",
                vec![],
            )
            .await?;
        Ok(v.as_str()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")))
    }

    /// Waits for the incoming-call dialog from `caller`.
    pub async fn wait_ringing(&self, caller: &User) {
        let text = format!("Voice call from {}", caller.id);
        self.wait(&format!("a dialog {text:?}"), UI, || async {
            let d = self.dialog_text().await?;
            Ok::<_, fantoccini::error::CmdError>(d.filter(|d| d.contains(&text)).map(|_| ()))
        })
        .await
    }

    /// Waits until no dialog is shown.
    pub async fn wait_no_dialog(&self, timeout: Duration) {
        self.wait("the dialog to disappear", timeout, || async {
            Ok::<_, fantoccini::error::CmdError>(self.dialog_text().await?.is_none().then_some(()))
        })
        .await
    }

    /// The last peer connection's state and inbound audio.
    pub async fn stats(&self) -> Result<Stats, String> {
        let v = self
            .client
            .execute_async(STATS, vec![])
            .await
            .map_err(|e| e.to_string())?;
        if let Some(e) = v["error"].as_str() {
            return Err(e.to_string());
        }
        Ok(Stats {
            pcs: v["pcs"].as_u64().unwrap_or(0),
            state: v["state"].as_str().map(String::from),
            packets_received: v["packetsReceived"].as_u64(),
            packets_lost: v["packetsLost"].as_i64().map(|n| n.max(0) as u64),
            audio_level: v["audioLevel"].as_f64(),
        })
    }

    /// Milliseconds, in page time, from the last click on the button `button` to the first
    /// packet of remote audio (the remote track's `unmute`), when the page saw both.
    pub async fn ms_from_click_to_audio(&self, button: &str) -> Option<f64> {
        self.client
            .execute(
                "const c = window.__clicks && window.__clicks[arguments[0]]; \
                 const a = window.__firstAudioAt; \
                 return (c == null || a == null) ? null : a - c;",
                vec![button.into()],
            )
            .await
            .ok()?
            .as_f64()
    }

    /// Waits until inbound audio packets arrive; returns when they did.
    pub async fn wait_first_packets(&self, timeout: Duration) -> Instant {
        self.wait("inbound audio packets", timeout, || async {
            let s = self.stats().await?;
            if s.packets_received.unwrap_or(0) > 0 {
                return Ok(Some(Instant::now()));
            }
            Err(s.describe())
        })
        .await
    }

    /// Asserts that audio flows in: packetsReceived grows between two reads and the audio level
    /// rises above silence.
    pub async fn assert_audio_flows(&self, timeout: Duration) {
        let first = self
            .stats()
            .await
            .unwrap_or_default()
            .packets_received
            .unwrap_or(0);
        self.wait("packetsReceived to grow", timeout, || async {
            let s = self.stats().await?;
            match s.packets_received {
                Some(n) if n > first => Ok(Some(())),
                _ => Err(s.describe()),
            }
        })
        .await;
        self.wait(
            "inbound audioLevel > 0.01 (speech, not silence)",
            timeout,
            || async {
                let s = self.stats().await?;
                match s.audio_level {
                    Some(level) if level > 0.01 => Ok(Some(())),
                    _ => Err(s.describe()),
                }
            },
        )
        .await;
    }

    /// Starts recording the last peer connection's inbound audio `packetsReceived`, with the
    /// page time, every 100 ms (see [`packet_trace`](Self::packet_trace)).
    pub async fn start_packet_trace(&self) {
        const SCRIPT: &str = r#"
            const pc = window.__pcs[window.__pcs.length - 1];
            window.__trace = [];
            clearInterval(window.__traceTimer);
            window.__traceTimer = setInterval(() => pc.getStats().then((report) => {
              report.forEach((s) => {
                if (s.type === 'inbound-rtp' && s.kind === 'audio')
                  window.__trace.push([performance.now(), s.packetsReceived || 0]);
              });
            }), 100);
            return true;"#;
        if let Err(e) = self.client.execute(SCRIPT, vec![]).await {
            self.fail(&format!("starting the packet trace: {e}")).await;
        }
    }

    /// Stops the trace [`start_packet_trace`](Self::start_packet_trace) began and sums it up.
    pub async fn packet_trace(&self) -> PacketTrace {
        const SCRIPT: &str = "clearInterval(window.__traceTimer); return window.__trace;";
        let v = match self.client.execute(SCRIPT, vec![]).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("reading the packet trace: {e}")).await,
        };
        let samples: Vec<(f64, u64)> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s[0].as_f64()?, s[1].as_u64()?)))
            .collect();
        PacketTrace::new(&samples)
    }

    /// Waits until every peer connection is closed and every microphone track has ended.
    pub async fn wait_media_released(&self, timeout: Duration) {
        const SCRIPT: &str = "return { pcs: window.__pcs.map(p => p.connectionState), \
            tracks: window.__streams.flatMap(s => s.getTracks()).map(t => t.readyState) }";
        self.wait(
            "peer connections closed and mic tracks ended",
            timeout,
            || async {
                let v = self
                    .client
                    .execute(SCRIPT, vec![])
                    .await
                    .map_err(|e| e.to_string())?;
                let all = |key: &str, want: &str| {
                    let items = v[key].as_array().cloned().unwrap_or_default();
                    !items.is_empty() && items.iter().all(|s| s == want)
                };
                if all("pcs", "closed") && all("tracks", "ended") {
                    Ok(Some(()))
                } else {
                    Err(format!("state {v}"))
                }
            },
        )
        .await
    }

    /// Closes the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
