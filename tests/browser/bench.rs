//! The browser benches of issue 8, in real headless Chromium on loopback:
//! - call setup: from the caller's click on Call to the callee's incoming-call dialog, and from
//!   the callee's click on Accept to its first inbound audio packet, over many calls between
//!   the same two users, on host candidates and relayed through coturn (`--relay-only`);
//! - first load: from navigation start to a usable login form (`#log-in` present and enabled)
//!   in a browser with a fresh profile (cold cache), and the bytes fetched until then.
//!
//! They are benches, not tests: `#[ignore]`d so that `cargo xtask test` never runs them.
//! `cargo xtask bench browser` runs them with `--ignored --nocapture` in the same
//! loopback-only namespace as the browser tests, and reads the one `BENCH {json}` line each
//! prints on stdout (xtask/src/bench/browser.rs turns the samples into the table). The number
//! of calls and of loads can be raised with `WEBCALL_BENCH_CALLS` (default 20) and
//! `WEBCALL_BENCH_LOADS` (default 10).
//!
//! Every time is taken inside the pages, in page time, so that no WebDriver round trip or
//! polling interval is counted. The call → dialog time spans two browsers: both sides read
//! `performance.timeOrigin + performance.now()`, a wall-clock time in milliseconds that both
//! Chromium processes derive from the same machine clock.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{
    chromium_args, chromium_capabilities, http_get, report, wait_for, Coturn, Harness,
};
use crate::user::{User, UI};
use crate::AUDIO;

/// Installed in the callee's page before each call: records in `window.__ringAt` the wall-clock
/// time (ms) at which a dialog naming the caller (`arguments[0]`) enters the DOM.
const RING_OBSERVER: &str = r#"
const caller = arguments[0];
window.__ringAt = null;
if (window.__ringObserver) window.__ringObserver.disconnect();
const seen = () => {
  const dialog = document.querySelector('[role=dialog]');
  if (window.__ringAt === null && dialog && dialog.textContent.includes(caller)) {
    window.__ringAt = performance.timeOrigin + performance.now();
    window.__ringObserver.disconnect();
  }
};
window.__ringObserver = new MutationObserver(seen);
window.__ringObserver.observe(document.body, { childList: true, subtree: true, characterData: true });
seen();
return true;
"#;

/// Installed in the caller's page before each call: records in `window.__inviteAt` the
/// wall-clock time (ms) at which the page hands the invitation to its WebSocket, which splits
/// call → dialog into the caller's part and the rest (server and callee).
const INVITE_OBSERVER: &str = r#"
window.__inviteAt = null;
if (!window.__sendObserved) {
  window.__sendObserved = true;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (window.__inviteAt === null && typeof data === 'string' && data.includes('"invite"'))
      window.__inviteAt = performance.timeOrigin + performance.now();
    return send.call(this, data);
  };
}
return true;
"#;

/// The local candidate type (`host`, `relay`, ...) of the last peer connection's selected
/// candidate pair, or null while there is none.
const SELECTED_LOCAL_TYPE: &str = r#"
const done = arguments[arguments.length - 1];
const pc = (window.__pcs || [])[(window.__pcs || []).length - 1];
if (!pc) { done(null); return; }
pc.getStats().then((report) => {
  let type = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const pair = report.get(s.selectedCandidatePairId);
      const local = pair && report.get(pair.localCandidateId);
      if (local) type = local.candidateType;
    }
  });
  done(type);
}, () => done(null));
"#;

/// Evaluated in every new document of a first-load session before the page's own scripts:
/// records in `window.__usableAt` the page time (ms since navigation start) at which the login
/// button `#log-in` is in the DOM and enabled. Yew attaches the form's listeners in the same
/// render that inserts it, so from then on a click logs in.
const USABLE_OBSERVER: &str = r#"
(() => {
  window.__usableAt = null;
  const observer = new MutationObserver(() => {
    const button = document.getElementById('log-in');
    if (window.__usableAt === null && button && !button.disabled) {
      window.__usableAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, {
    childList: true, subtree: true, attributes: true, attributeFilter: ['disabled'],
  });
})();
"#;

/// What the page fetched up to the moment it became usable: the navigation (index.html) and
/// every resource whose response had ended by then, with Resource Timing's sizes
/// (`transferSize`: headers and body as sent, so it reflects the Content-Encoding served).
const FETCHED: &str = r#"
const usable = window.__usableAt;
if (usable === null || usable === undefined) return null;
const entries = [
  ...performance.getEntriesByType('navigation'),
  ...performance.getEntriesByType('resource'),
].filter((e) => e.responseEnd <= usable);
return {
  usable_ms: usable,
  resources: entries.map((e) => ({
    name: e.name.replace(location.origin, ''),
    transfer: e.transferSize,
    encoded: e.encodedBodySize,
    decoded: e.decodedBodySize,
    end_ms: e.responseEnd,
  })),
};
"#;

/// Server arguments that lift the invitation rate limit out of the bench's way (the default
/// one, meant for people, refuses a user's seventh call within a minute).
const NO_INVITE_LIMIT: [&str; 4] = ["--invite-rate", "100000", "--invite-burst", "10000"];

/// A count from the environment variable `var`, else `default`.
fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// Prints the samples for `cargo xtask bench browser`, on a line of their own.
fn emit(samples: &Value) {
    println!("\nBENCH {samples}");
}

/// Runs `script` in `user`'s page; fails the bench with the page's state if it cannot.
async fn eval(user: &User, script: &str, args: Vec<Value>) -> Value {
    match user.client.execute(script, args).await {
        Ok(v) => v,
        Err(e) => user.fail(&format!("running a bench script: {e}")).await,
    }
}

/// This process's wall clock, in milliseconds since the Unix epoch.
fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

/// How far `user`'s page clock (`performance.timeOrigin + performance.now()`) is ahead of
/// this process's wall clock, in milliseconds, with its uncertainty (half the shortest of ten
/// WebDriver round trips).
async fn page_clock_offset(user: &User) -> (f64, f64) {
    let mut best = (f64::NAN, f64::INFINITY);
    for _ in 0..10 {
        let before = unix_ms();
        let page = eval(
            user,
            "return performance.timeOrigin + performance.now()",
            vec![],
        )
        .await;
        let after = unix_ms();
        let half = (after - before) / 2.0;
        if let Some(page) = page.as_f64().filter(|_| half < best.1) {
            best = (page - (before + half), half);
        }
    }
    best
}

/// What one call measured, in milliseconds.
struct Call {
    /// From the caller's click on Call to the callee's dialog.
    to_ring: f64,
    /// The part of `to_ring` until the caller's page sent the invitation.
    to_invite: Option<f64>,
    /// From the callee's click on Accept to its first inbound audio packet.
    to_audio: f64,
    /// The caller's `getUserMedia` (it runs while the invitation goes out).
    caller_gum: Option<f64>,
    /// The callee's `getUserMedia`, after Accept.
    callee_gum: Option<f64>,
    /// The callee's selected local candidate type (`host`, `relay`, ...).
    local: String,
}

/// The last `getUserMedia` call's duration in `user`'s page, ms.
async fn last_gum_ms(user: &User) -> Option<f64> {
    eval(
        user,
        "const g = window.__gumMs || []; return g.length ? g[g.length - 1] : null",
        vec![],
    )
    .await
    .as_f64()
}

/// One call from `caller` to `callee`, accepted, then hung up by the caller.
async fn one_call(caller: &User, callee: &User) -> Call {
    eval(callee, RING_OBSERVER, vec![json!(caller.id)]).await;
    eval(caller, INVITE_OBSERVER, vec![]).await;
    eval(
        caller,
        "delete window.__clicks['Call']; return true",
        vec![],
    )
    .await;
    eval(
        callee,
        "delete window.__clicks['Accept']; window.__firstAudioAt = null; return true",
        vec![],
    )
    .await;

    caller.call(callee).await;
    callee.wait_ringing(caller).await;
    let clicked = eval(
        caller,
        "const c = window.__clicks['Call']; return c == null ? null : performance.timeOrigin + c",
        vec![],
    )
    .await;
    let rung = eval(callee, "return window.__ringAt", vec![]).await;
    let invited = eval(caller, "return window.__inviteAt", vec![]).await;
    let (Some(clicked), Some(rung)) = (clicked.as_f64(), rung.as_f64()) else {
        caller
            .fail(&format!(
                "no page time for the click on Call ({clicked}) or the dialog ({rung})"
            ))
            .await
    };

    callee.click_in_dialog("Accept").await;
    let to_audio = callee
        .wait(
            "the page time of the first inbound audio",
            AUDIO,
            || async { Ok::<_, String>(callee.ms_from_click_to_audio("Accept").await) },
        )
        .await;
    let local = callee
        .wait("a selected candidate pair", UI, || async {
            let v = callee
                .client
                .execute_async(SELECTED_LOCAL_TYPE, vec![])
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(v.as_str().map(String::from))
        })
        .await;
    caller.wait_page("/in-call", &callee.id, UI).await;
    callee.wait_page("/in-call", &caller.id, UI).await;
    let (caller_gum, callee_gum) = (last_gum_ms(caller).await, last_gum_ms(callee).await);

    caller.click("Hang up").await;
    callee.wait_page("/call", "Call ended", UI).await;
    caller.wait_page("/call", "Call ended", UI).await;
    caller.wait_media_released(UI).await;
    callee.wait_media_released(UI).await;
    Call {
        to_ring: rung - clicked,
        to_invite: invited.as_f64().map(|invited| invited - clicked),
        to_audio,
        caller_gum,
        callee_gum,
        local,
    }
}

/// `WEBCALL_BENCH_CALLS` calls between two users of `h`; prints them as bench `name`. With
/// `relayed`, every call must have gone through the TURN server.
async fn calls(h: &Harness, name: &str, relayed: bool) {
    let n = count("WEBCALL_BENCH_CALLS", 20);
    let alice = User::new(h, "alice").await;
    let bob = User::new(h, "bob").await;
    alice.login().await;
    bob.login().await;
    // The call → dialog time spans two browsers' clocks: how far apart they are.
    let (caller_offset, caller_error) = page_clock_offset(&alice).await;
    let (callee_offset, callee_error) = page_clock_offset(&bob).await;
    let skew = callee_offset - caller_offset;
    let skew_error = caller_error + callee_error;
    report(&format!(
        "{name}: the callee's page clock is {skew:.2} ± {skew_error:.2} ms ahead of the caller's"
    ));
    let (mut ring, mut audio, mut caller_gum, mut callee_gum) = (vec![], vec![], vec![], vec![]);
    let (mut invite, mut invite_to_ring) = (vec![], vec![]);
    for i in 0..n {
        let call = one_call(&alice, &bob).await;
        let local = &call.local;
        if relayed != (local == "relay") {
            bob.fail(&format!(
                "call {i}: the selected local candidate is {local} (relayed: {relayed})"
            ))
            .await;
        }
        report(&format!(
            "{name} call {i}: call→dialog {:.1} ms (invitation sent after {:?}, caller's \
             getUserMedia {:?}), accept→audio {:.1} ms (callee's getUserMedia {:?}), {local}",
            call.to_ring, call.to_invite, call.caller_gum, call.to_audio, call.callee_gum,
        ));
        ring.push(call.to_ring);
        audio.push(call.to_audio);
        invite.extend(call.to_invite);
        invite_to_ring.extend(call.to_invite.map(|to_invite| call.to_ring - to_invite));
        caller_gum.extend(call.caller_gum);
        callee_gum.extend(call.callee_gum);
    }
    emit(&json!({
        "bench": name,
        "call_to_ring_ms": ring,
        "accept_to_audio_ms": audio,
        "call_to_invite_ms": invite,
        "invite_to_ring_ms": invite_to_ring,
        "caller_gum_ms": caller_gum,
        "callee_gum_ms": callee_gum,
        "clock_skew_ms": skew,
        "clock_skew_error_ms": skew_error,
    }));
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
#[ignore = "a bench: run it with `cargo xtask bench browser`"]
async fn call_setup_host() {
    let h = Harness::start_with(&NO_INVITE_LIMIT).await;
    calls(&h, "call-setup-host", false).await;
}

#[tokio::test]
#[ignore = "a bench: run it with `cargo xtask bench browser`"]
async fn call_setup_relay() {
    const SECRET: &str = "bench-relay-secret";
    let coturn = Coturn::start(SECRET).await;
    let url = coturn.url();
    let mut args = vec!["--turn-url", &url, "--turn-secret", SECRET, "--relay-only"];
    args.extend(NO_INVITE_LIMIT);
    let h = Harness::start_with(&args).await;
    calls(&h, "call-setup-relay", true).await;
}

/// A free TCP port on 127.0.0.1 (free when asked; the child binds it right after).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// A chromedriver of the bench's own, whose address it knows (the first-load bench talks to
/// it directly for a command WebDriver lacks), killed with its browsers on drop.
struct Chromedriver {
    port: u16,
    child: Child,
}

impl Chromedriver {
    async fn start(dir: &Path) -> Chromedriver {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let bin = std::env::var("WEBCALL_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let log = std::fs::File::create(dir.join("chromedriver.log")).expect("creating a log");
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning a log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("starting chromedriver");
        let driver = Chromedriver { port, child };
        let addr = driver.addr();
        wait_for("chromedriver to report ready", UI, || async move {
            match http_get(addr, "/status").await {
                Ok((200, body)) if body.replace(' ', "").contains(r#""ready":true"#) => {
                    Ok(Some(()))
                }
                Ok((status, body)) => Err(format!("/status answered {status}: {body:.200}")),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        driver
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// A new headless Chromium session with the profile directory `profile`.
    async fn session(&self, profile: &Path) -> Client {
        let caps = chromium_capabilities(chromium_args(profile));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://{}", self.addr()))
            .await
            .unwrap_or_else(|e| panic!("could not open a Chromium session: {e}"))
    }

    /// Runs the Chrome DevTools Protocol command `cmd` in `session` (chromedriver's
    /// `goog/cdp/execute`); returns its result.
    async fn cdp(&self, session: &str, cmd: &str, params: Value) -> Result<Value, String> {
        let body = json!({ "cmd": cmd, "params": params }).to_string();
        let addr = self.addr();
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await?;
            let request = format!(
                "POST /session/{session}/goog/cdp/execute HTTP/1.1\r\nHost: {addr}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let n = stream.read(&mut buf).await?;
                response.extend_from_slice(&buf[..n]);
                if n == 0 || body_complete(&response) {
                    break;
                }
            }
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&response).into_owned())
        };
        let response = tokio::time::timeout(UI, exchange)
            .await
            .map_err(|_| format!("{cmd}: no answer from chromedriver in {UI:?}"))?
            .map_err(|e| format!("{cmd}: {e}"))?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("{cmd}: {head:.80} {body:.300}"));
        }
        let v: Value =
            serde_json::from_str(body).map_err(|e| format!("{cmd}: {e}: {body:.300}"))?;
        Ok(v["value"].clone())
    }
}

/// Whether an HTTP response holds its headers and `Content-Length` bytes of body.
fn body_complete(response: &[u8]) -> bool {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    String::from_utf8_lossy(&response[..end])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .is_some_and(|len| response.len() - (end + 4) >= len)
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The negative PID names the process group: chromedriver and the browsers it started.
        // SAFETY: kill(2) takes plain integers; a group that is gone is an ESRCH.
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory of the bench's own under the temporary directory, removed on drop unless the
/// bench failed.
struct BenchDir(PathBuf);

impl BenchDir {
    fn new(name: &str) -> BenchDir {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let dir = std::env::temp_dir().join(format!("webcall-bench-{name}-{started}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the bench directory");
        BenchDir(dir)
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            report(&format!("--- bench files kept in {}", self.0.display()));
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `WEBCALL_BENCH_LOADS` first loads of the app's start page, each in a new browser with an
/// empty profile (so an empty cache).
#[tokio::test]
#[ignore = "a bench: run it with `cargo xtask bench browser`"]
async fn first_load() {
    let n = count("WEBCALL_BENCH_LOADS", 10);
    let h = Harness::start().await;
    let dir = BenchDir::new("first-load");
    let driver = Chromedriver::start(&dir.0).await;
    let url = format!("{}/", h.base_url);
    let mut loads = Vec::new();
    for i in 0..n {
        let profile = dir.0.join(format!("profile-{i}"));
        std::fs::create_dir_all(&profile).expect("creating a browser profile directory");
        let client = driver.session(&profile).await;
        let session = client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("a WebDriver session ID");
        driver
            .cdp(
                &session,
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": USABLE_OBSERVER }),
            )
            .await
            .unwrap_or_else(|e| panic!("installing the observer: {e}"));
        client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("loading {url}: {e}"));
        let client = &client;
        let load = wait_for("a usable login form (#log-in enabled)", UI, || async move {
            let v = client.execute(FETCHED, vec![]).await?;
            Ok::<_, fantoccini::error::CmdError>((!v.is_null()).then_some(v))
        })
        .await
        .unwrap_or_else(|e| panic!("load {i} of {url}: {e}"));
        let sum = |key: &str| -> u64 {
            load["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r[key].as_u64())
                .sum()
        };
        report(&format!(
            "first load {i}: usable after {:.1} ms, {} B transferred ({} B bodies as served, \
             {} B decoded)",
            load["usable_ms"].as_f64().unwrap_or(f64::NAN),
            sum("transfer"),
            sum("encoded"),
            sum("decoded"),
        ));
        loads.push(load);
        let _ = client.clone().close().await;
        let _ = std::fs::remove_dir_all(&profile);
    }
    emit(&json!({ "bench": "first-load", "url": url, "loads": loads }));
}
