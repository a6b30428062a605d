//! The browser test harness: the WebCall server and chromedriver as child processes on
//! 127.0.0.1, Chromium sessions with a fake microphone, Firefox ESR sessions (each through a
//! geckodriver of its own) when a test asks for one ([`Browser`]), a coturn TURN server when a
//! test asks for one ([`Coturn`]), and `wait_for`.
//!
//! Runs inside a loopback-only network namespace (`cargo xtask test` sets that up); it only
//! ever talks to 127.0.0.1. Configuration comes from the environment:
//! `WEBCALL_SERVER_BIN`, `WEBCALL_DIST`, `WEBCALL_SPEECH_WAV`, and optionally
//! `WEBCALL_CHROMIUM` (default /usr/bin/chromium), `WEBCALL_CHROMEDRIVER` (default
//! chromedriver), `WEBCALL_FIREFOX` (default /usr/bin/firefox-esr) and `WEBCALL_GECKODRIVER`
//! (default geckodriver).

use std::fmt::Display;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How often `wait_for` polls.
pub const POLL: Duration = Duration::from_millis(50);

/// How long the server and chromedriver get to come up.
const STARTUP: Duration = Duration::from_secs(20);

/// Polls `check` every [`POLL`] until it yields `Some`, or fails once `timeout` has passed with
/// a message naming `what` and the last error `check` returned. Errors count as "not yet".
pub async fn wait_for<T, E, F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<T, String>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        // A check that hangs must not outlive the deadline.
        let left = timeout.saturating_sub(start.elapsed()).max(POLL);
        match tokio::time::timeout(left, check()).await {
            Ok(Ok(Some(value))) => return Ok(value),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => last_error = Some(e.to_string()),
            Err(_) => last_error = Some(format!("the check did not finish within {left:?}")),
        }
        if start.elapsed() >= timeout {
            let mut msg = format!("timed out after {timeout:?} waiting for {what}");
            if let Some(e) = last_error {
                msg.push_str(&format!(" (last error: {e})"));
            }
            return Err(msg);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Writes a line to stderr that libtest does not capture (a measurement worth seeing).
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn env_path(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("{name} is not set: run the browser tests with `cargo xtask test`")
        })
}

/// A free TCP port on 127.0.0.1 (free when asked; the child binds it right after).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// `GET path` over HTTP/1.1 on 127.0.0.1; returns the status code and the body. Gives up after
/// two seconds (a server may keep the connection open despite `Connection: close`).
pub async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let request = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await?;
            response.extend_from_slice(&buf[..n]);
            if n == 0 || response_complete(&response) {
                break;
            }
        }
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                std::io::Error::other(format!("not an HTTP response: {response:.80}"))
            })?;
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Ok((status, body.to_string()))
    };
    tokio::time::timeout(Duration::from_secs(2), request)
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::other(format!(
                "GET {path}: no complete answer in 2 s"
            )))
        })
}

/// Whether `response` holds the headers and `Content-Length` bytes of body.
fn response_complete(response: &[u8]) -> bool {
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

/// A child process in its own process group; dropping it kills the whole group (chromedriver's
/// browsers included) and reaps the child.
pub struct Proc {
    name: &'static str,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> Proc {
        use std::os::unix::process::CommandExt;
        let file = std::fs::File::create(&log).expect("creating a log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("cloning a log file"))
            .stderr(file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name} ({:?}): {e}", cmd.get_program()));
        Proc {
            name,
            child: Some(child),
            log,
        }
    }

    /// Fails if the process has exited (e.g. it could not bind its port).
    fn check_alive(&mut self) -> Result<(), String> {
        let child = self.child.as_mut().expect("process already killed");
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited with {status}; log {}",
                self.name,
                self.log.display()
            )),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The negative PID names the process group (the child leads it).
            // SAFETY: kill(2) takes plain integers; a group that is gone is an ESRCH.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a file, for failure messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One test's world: a WebCall server and a chromedriver, killed on drop.
pub struct Harness {
    /// `http://127.0.0.1:<port>` (`https://` when the server got `--tls-cert`), no trailing
    /// slash.
    pub base_url: String,
    /// More Chromium arguments for the sessions [`browser`](Harness::browser) opens from now on
    /// (`--ignore-certificate-errors-spki-list=…` for a test certificate, say).
    pub chromium_args: Vec<String>,
    webdriver_url: String,
    dir: PathBuf,
    browsers: AtomicUsize,
    server: Proc,
    server_port: u16,
    server_args: Vec<String>,
    /// How many times the server was started.
    server_starts: usize,
    chromedriver: Proc,
    /// One geckodriver per Firefox session (a geckodriver serves one session at a time).
    geckodrivers: Mutex<Vec<Proc>>,
}

/// The browser a session runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    /// Chromium, through the harness's chromedriver; its microphone plays the speech WAV.
    Chromium,
    /// Firefox ESR, headless, through a geckodriver of its own; its fake microphone plays a
    /// 1 kHz sine.
    Firefox,
}

/// Starts the server binary on `port` with `args`, logging to `server.log` (the first start) or
/// `server-<n>.log`.
fn spawn_server(dir: &Path, port: u16, args: &[String], n: usize) -> Proc {
    let log = match n {
        0 => dir.join("server.log"),
        n => dir.join(format!("server-{n}.log")),
    };
    Proc::spawn(
        "webcall-server",
        Command::new(env_path("WEBCALL_SERVER_BIN"))
            .arg("--dist")
            .arg(env_path("WEBCALL_DIST"))
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1"),
        log,
    )
}

impl Harness {
    /// Starts the server (with `extra_server_args`) and chromedriver and waits until both answer.
    /// With `--tls-cert` among the arguments the server speaks HTTPS, and the harness knows.
    pub async fn start_with(extra_server_args: &[&str]) -> Harness {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let dir = std::env::temp_dir().join(format!(
            "webcall-browser-{started}-{}",
            RUNS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the harness directory");

        let server_port = free_port();
        let scheme = if extra_server_args.contains(&"--tls-cert") {
            "https"
        } else {
            "http"
        };
        let mut server_args: Vec<String> =
            extra_server_args.iter().map(|a| a.to_string()).collect();
        if !server_args.iter().any(|a| a == "--secret-key") {
            // A key of its own, so that the UserSigs issued survive a restart of the server.
            server_args.extend(["--secret-key".into(), format!("harness-key-{started}")]);
        }
        if !server_args.iter().any(|a| a == "--db") {
            // The call history in this test's directory, kept across restarts of the server.
            let db = dir.join("webcall.db").display().to_string();
            server_args.extend(["--db".into(), db]);
        }
        let server = spawn_server(&dir, server_port, &server_args, 0);
        let driver_port = free_port();
        let chromedriver_bin =
            std::env::var("WEBCALL_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let chromedriver = Proc::spawn(
            "chromedriver",
            Command::new(chromedriver_bin).arg(format!("--port={driver_port}")),
            dir.join("chromedriver.log"),
        );
        let mut harness = Harness {
            base_url: format!("{scheme}://127.0.0.1:{server_port}"),
            chromium_args: Vec::new(),
            webdriver_url: format!("http://127.0.0.1:{driver_port}"),
            dir,
            browsers: AtomicUsize::new(0),
            server,
            server_port,
            server_args,
            server_starts: 1,
            chromedriver,
            geckodrivers: Mutex::new(Vec::new()),
        };
        harness.wait_ready(driver_port).await;
        harness
    }

    /// Kills the server with SIGKILL: no shutdown, no close frames, its memory lost.
    pub fn kill_server(&mut self) {
        self.server.kill();
    }

    /// Starts the server again on the same port with the same arguments (after
    /// [`kill_server`](Self::kill_server)) and waits until it answers. Its log goes to
    /// `server-<n>.log`.
    pub async fn restart_server(&mut self) {
        self.server.kill();
        self.server = spawn_server(
            &self.dir,
            self.server_port,
            &self.server_args,
            self.server_starts,
        );
        self.server_starts += 1;
        self.wait_server().await;
    }

    pub async fn start() -> Harness {
        Harness::start_with(&[]).await
    }

    /// Waits until the server answers: `GET /` with 200, or (HTTPS, which the harness does not
    /// speak) a TCP connection. Fails when the server exits first.
    async fn wait_server(&mut self) {
        let server_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.server_port));
        let tls = self.base_url.starts_with("https:");
        let server = &mut self.server;
        let what = if tls {
            "the server to listen"
        } else {
            "the server to answer GET / with 200"
        };
        let result = wait_for(what, STARTUP, || {
            let alive = server.check_alive();
            async move {
                alive?;
                if tls {
                    // The harness speaks no TLS; the server listens once its certificate and
                    // key have loaded, and the browsers do the rest.
                    return TcpStream::connect(server_addr)
                        .await
                        .map(|_| Some(()))
                        .map_err(|e| e.to_string());
                }
                match http_get(server_addr, "/").await {
                    Ok((200, _)) => Ok(Some(())),
                    Ok((status, _)) => Err(format!("GET / answered {status}")),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await;
        if let Err(e) = result {
            panic!("{e}\nserver log:\n{}", tail(&self.server.log, 30));
        }
    }

    async fn wait_ready(&mut self, driver_port: u16) {
        self.wait_server().await;
        wait_driver(&mut self.chromedriver, driver_port).await;
    }

    /// A new session in `browser`: [`browser_with_profile`](Self::browser_with_profile) for
    /// Chromium, [`firefox`](Self::firefox) for Firefox.
    pub async fn browser_in(&self, browser: Browser) -> (Client, PathBuf) {
        match browser {
            Browser::Chromium => self.browser_with_profile().await,
            Browser::Firefox => self.firefox().await,
        }
    }

    /// A new headless Firefox ESR session with a fake microphone (a 1 kHz sine), through a
    /// geckodriver started for it (killed with the harness). geckodriver makes the profile in
    /// its TMPDIR, a directory of the harness's (see [`kill_browser`]), and deletes it when the
    /// session ends.
    pub async fn firefox(&self) -> (Client, PathBuf) {
        let n = self.browsers.fetch_add(1, Ordering::SeqCst);
        let profile = self.dir.join(format!("profile-{n}"));
        std::fs::create_dir_all(&profile).expect("creating a browser profile directory");
        let port = free_port();
        let bin = std::env::var("WEBCALL_GECKODRIVER").unwrap_or_else(|_| "geckodriver".into());
        let mut driver = Proc::spawn(
            "geckodriver",
            Command::new(bin)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .env("TMPDIR", &profile),
            self.dir.join(format!("geckodriver-{n}.log")),
        );
        wait_driver(&mut driver, port).await;
        let binary =
            std::env::var("WEBCALL_FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into());
        // In a namespace with only `lo`, Firefox gathers no ICE candidate without
        // `ice.loopback` and `permission.fake`; `autoplay` lets the remote audio play without a
        // gesture, and the mock audio context stands in for the sound device there is none of.
        let caps = serde_json::json!({
            "browserName": "firefox",
            "moz:firefoxOptions": {
                "binary": binary,
                "args": ["-headless"],
                "prefs": {
                    "media.navigator.streams.fake": true,
                    "media.navigator.permission.disabled": true,
                    "media.navigator.permission.fake": true,
                    "media.peerconnection.ice.loopback": true,
                    "media.peerconnection.ice.obfuscate_host_addresses": false,
                    "media.autoplay.default": 0,
                    "media.autoplay.blocking_policy": 0,
                    "media.cubeb.force_mock_context": true,
                },
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "could not open a Firefox session: {e}\ngeckodriver log:\n{}",
                    tail(&driver.log, 30)
                )
            });
        self.geckodrivers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(driver);
        (client, profile)
    }

    /// A new Chromium session with its own profile and the speech WAV as its microphone.
    /// Returns it with its profile directory, which names its processes (see
    /// [`kill_browser`]).
    pub async fn browser_with_profile(&self) -> (Client, PathBuf) {
        let n = self.browsers.fetch_add(1, Ordering::SeqCst);
        let profile = self.dir.join(format!("profile-{n}"));
        std::fs::create_dir_all(&profile).expect("creating a browser profile directory");
        let wav = env_path("WEBCALL_SPEECH_WAV");
        assert!(
            wav.is_file(),
            "WEBCALL_SPEECH_WAV {} is not a file",
            wav.display()
        );
        // Every other browser speaks the speech backwards: two browsers playing the same
        // recording in step would have each one's echo canceller take the other's speech for
        // an echo of its own loudspeaker, and mute it.
        let wav = if n % 2 == 1 { reversed(&wav) } else { wav };
        let mut args = chromium_args(&profile);
        args.extend([
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            "--allow-loopback-in-peer-connection".into(),
            "--autoplay-policy=no-user-gesture-required".into(),
            format!("--use-file-for-fake-audio-capture={}", wav.display()),
        ]);
        args.extend(self.chromium_args.iter().cloned());
        let caps = chromium_capabilities(args);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.webdriver_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "could not open a Chromium session: {e}\nchromedriver log:\n{}",
                    tail(&self.chromedriver.log, 30)
                )
            });
        (client, profile)
    }
}

/// Chromium's flags for a headless session of the tests with its own `profile` directory: no
/// sandbox or GPU, and no traffic of its own (QUIC, background networking, component updates,
/// sync), which the loopback-only namespace would not carry anyway.
pub fn chromium_args(profile: &Path) -> Vec<String> {
    vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        format!("--user-data-dir={}", profile.display()),
    ]
}

/// WebDriver capabilities for Chromium (`WEBCALL_CHROMIUM`, else `/usr/bin/chromium`) with
/// `args`.
pub fn chromium_capabilities(args: Vec<String>) -> serde_json::Map<String, serde_json::Value> {
    let binary = std::env::var("WEBCALL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": binary, "args": args },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    caps
}

/// Waits until the WebDriver server `driver` (chromedriver or geckodriver) on `port` reports
/// ready; panics with its log when it does not in time or exits.
async fn wait_driver(driver: &mut Proc, port: u16) {
    let name = driver.name;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let result = wait_for(&format!("{name} to report ready"), STARTUP, || {
        let alive = driver.check_alive();
        async move {
            alive?;
            match http_get(addr, "/status").await {
                Ok((200, body)) if body.replace(' ', "").contains(r#""ready":true"#) => {
                    Ok(Some(()))
                }
                Ok((status, body)) => Err(format!("/status answered {status}: {body:.200}")),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await;
    if let Err(e) = result {
        panic!("{e}\n{name} log:\n{}", tail(&driver.log, 30));
    }
}

/// `wav` played backwards (made once, next to it, with sox): as loud as speech and as varied,
/// but unlike it sample by sample.
fn reversed(wav: &Path) -> PathBuf {
    static REVERSED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    REVERSED
        .get_or_init(|| {
            let out = wav.with_file_name("speech-reversed.wav");
            if !out.is_file() {
                let tmp = wav.with_file_name(format!("speech-reversed-{}.wav", std::process::id()));
                let status = Command::new("sox")
                    .arg(wav)
                    .arg(&tmp)
                    .arg("reverse")
                    .status()
                    .expect("running sox");
                assert!(status.success(), "sox could not reverse {}", wav.display());
                std::fs::rename(&tmp, &out).expect("renaming the reversed WAV");
            }
            out
        })
        .clone()
}

/// Kills (SIGKILL) every process of the browser whose profile is `profile`: Chromium's browser,
/// renderers and network service (`--user-data-dir=<profile>`), or Firefox's (`-profile
/// <profile>/…`, the profile geckodriver made inside it). Nothing says goodbye: the kernel
/// closes the sockets. Returns how many processes were killed.
pub fn kill_browser(profile: &Path) -> usize {
    let needle = format!("--user-data-dir={}", profile.display());
    let inside = format!("{}/", profile.display());
    let mut killed = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let matches = cmdline
            .split(|&b| b == 0)
            .any(|arg| arg == needle.as_bytes() || arg.starts_with(inside.as_bytes()));
        if matches {
            // SAFETY: kill(2) takes plain integers; a process that is gone is an ESRCH.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
    }
    killed
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.chromedriver.kill();
        for driver in self
            .geckodrivers
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
        {
            driver.kill();
        }
        self.server.kill();
        if std::thread::panicking() {
            report(&format!(
                "--- server log (tail; all logs kept in {}):\n{}",
                self.dir.display(),
                tail(&self.server.log, 40)
            ));
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A free port on 127.0.0.1 for both UDP and TCP (free when asked), as a TURN server needs.
fn free_udp_and_tcp_port() -> u16 {
    loop {
        let port = free_port();
        if std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// A coturn TURN server (`turnserver`, from the apt package coturn) on 127.0.0.1 with TURN
/// REST authentication (`use-auth-secret`) under a given secret, as `docs/coturn.md`
/// describes, killed on drop. Its pid file, user database and logs live in a directory of its
/// own, kept when the test fails. Set `WEBCALL_TURNSERVER` to use another binary.
pub struct Coturn {
    /// The UDP (and TCP) port it listens on.
    pub port: u16,
    dir: PathBuf,
    secret: String,
    /// How many times it was started.
    starts: usize,
    proc: Proc,
}

/// Starts `turnserver` on `port` with `secret`, its files in `dir` (the `n`th start logs to a
/// file of its own).
fn spawn_coturn(dir: &Path, port: u16, secret: &str, n: usize) -> Proc {
    let bin = std::env::var("WEBCALL_TURNSERVER").unwrap_or_else(|_| "turnserver".into());
    let path = |name: &str| format!("{}", dir.join(name).display());
    let (log, out) = match n {
        0 => ("turn.log".to_string(), "turnserver.out".to_string()),
        n => (format!("turn-{n}.log"), format!("turnserver-{n}.out")),
    };
    Proc::spawn(
        "turnserver",
        Command::new(bin).args([
            "-n".to_string(),
            "--listening-ip=127.0.0.1".into(),
            "--relay-ip=127.0.0.1".into(),
            format!("--listening-port={port}"),
            // Relay ports: a range of its own; coturn skips those in use.
            "--min-port=49152".into(),
            "--max-port=49999".into(),
            "--use-auth-secret".into(),
            format!("--static-auth-secret={secret}"),
            format!("--realm={}", Coturn::REALM),
            // The peers' relay addresses are on loopback too.
            "--allow-loopback-peers".into(),
            "--no-cli".into(),
            "--no-tls".into(),
            "--no-dtls".into(),
            "--fingerprint".into(),
            format!("--pidfile={}", path("turn.pid")),
            format!("--userdb={}", path("turndb")),
            format!("--log-file={}", path(&log)),
            "--simple-log".into(),
        ]),
        dir.join(out),
    )
}

impl Coturn {
    /// The realm it serves.
    pub const REALM: &'static str = "webcall.test";

    /// Starts coturn with `secret` and waits until it answers a STUN Binding request over UDP.
    pub async fn start(secret: &str) -> Coturn {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let dir = std::env::temp_dir().join(format!(
            "webcall-coturn-{started}-{}",
            RUNS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the coturn directory");
        let port = free_udp_and_tcp_port();
        let proc = spawn_coturn(&dir, port, secret, 0);
        let mut coturn = Coturn {
            port,
            dir,
            secret: secret.to_owned(),
            starts: 1,
            proc,
        };
        coturn.wait_ready().await;
        coturn
    }

    /// Kills coturn (every allocation, and so every relayed path, is gone).
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Starts coturn again on the same port (after [`kill`](Self::kill)) and waits until it
    /// answers.
    pub async fn restart(&mut self) {
        self.proc.kill();
        self.proc = spawn_coturn(&self.dir, self.port, &self.secret, self.starts);
        self.starts += 1;
        self.wait_ready().await;
    }

    /// `turn:127.0.0.1:<port>?transport=udp`.
    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.port)
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = tail(&self.dir.join("turn.log"), lines);
        if log.is_empty() {
            tail(&self.proc.log, lines)
        } else {
            log
        }
    }

    async fn wait_ready(&mut self) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let proc = &mut self.proc;
        let result = wait_for("coturn to answer a STUN Binding request", STARTUP, || {
            let alive = proc.check_alive();
            async move {
                alive?;
                stun_binding(addr).await.map(Some)
            }
        })
        .await;
        if let Err(e) = result {
            panic!("{e}\ncoturn log:\n{}", self.log_tail(30));
        }
    }
}

/// Sends a STUN Binding request (RFC 5389) to `addr` over UDP and waits briefly for a success
/// response to it.
async fn stun_binding(addr: SocketAddr) -> Result<(), String> {
    const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| e.to_string())?;
    let transaction: [u8; 12] = *b"webcall-stun";
    let mut request = vec![0x00, 0x01, 0x00, 0x00]; // Binding request, no attributes
    request.extend_from_slice(&MAGIC_COOKIE);
    request.extend_from_slice(&transaction);
    socket
        .send_to(&request, addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf))
        .await
        .map_err(|_| "no STUN answer within 300 ms".to_string())?
        .map_err(|e| e.to_string())?;
    let answer = &buf[..n];
    if n >= 20 && answer[..2] == [0x01, 0x01] && answer[8..20] == transaction {
        Ok(())
    } else {
        Err(format!("not a Binding success response: {answer:02x?}"))
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        self.proc.kill();
        if std::thread::panicking() {
            report(&format!(
                "--- coturn log (tail; all kept in {}):\n{}",
                self.dir.display(),
                self.log_tail(40)
            ));
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
