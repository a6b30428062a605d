//! Production settings: strict mode, where only UserSigs signed with the server's secret key
//! log in and the login page takes a pasted one (issued here by `webcall-server usersig`), and
//! HTTPS, where the app loads over `https://` and signals over `wss://`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::harness::{report, Harness};
use crate::user::{unique_id, User, UI};
use crate::{establish_call, AUDIO};

/// The secret key the strict servers of these tests verify UserSigs with.
const SECRET: &str = "strict-browser-test-secret-key";

/// Starts a server in strict mode with [`SECRET`].
async fn strict_server() -> Harness {
    Harness::start_with(&["--strict", "--secret-key", SECRET]).await
}

/// A UserSig for `user_id`, signed with `secret` and valid `expire_secs` (the server's default
/// when `None`), as an operator issues one: `webcall-server usersig --user <id>`.
fn issue_user_sig(user_id: &str, secret: &str, expire_secs: Option<u64>) -> String {
    let bin = std::env::var_os("WEBCALL_SERVER_BIN")
        .expect("WEBCALL_SERVER_BIN is not set: run the browser tests with `cargo xtask test`");
    let mut cmd = Command::new(&bin);
    cmd.args(["usersig", "--user", user_id, "--secret-key", secret]);
    if let Some(secs) = expire_secs {
        cmd.args(["--expire", &secs.to_string()]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", Path::new(&bin).display()));
    assert!(
        out.status.success(),
        "webcall-server usersig --user {user_id} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = String::from_utf8(out.stdout).expect("a UserSig is ASCII");
    let sig = sig.trim();
    assert!(!sig.is_empty(), "webcall-server usersig printed nothing");
    sig.to_owned()
}

/// On `/login`: types the user's ID, pastes `user_sig` into the UserSig field (which shows once
/// the page knows the server is strict) and clicks "Log in".
async fn submit_pasted(user: &User, user_sig: &str) {
    user.fill("User ID", &user.id).await;
    user.fill("UserSig", user_sig).await;
    user.click("Log in").await;
}

/// Logs `user` in with a pasted UserSig from [`issue_user_sig`] and waits for `/call`.
async fn login_pasted(user: &User) {
    user.goto("/login").await;
    submit_pasted(user, &issue_user_sig(&user.id, SECRET, None)).await;
    user.wait_page("/call", &format!("Logged in as {}", user.id), UI)
        .await;
}

/// Waits until `user` shows `message` on `/login`, then checks that it stays there.
async fn refused_with(user: &User, message: &str) {
    user.wait_page("/login", message, UI).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = user.path().await.unwrap_or_default();
    let text = user.body_text().await.unwrap_or_default();
    if path != "/login" || !text.contains(message) {
        user.fail(&format!(
            "a refused login left /login or its message {message:?}"
        ))
        .await;
    }
}

/// A strict server: each user pastes a UserSig issued with the server's secret key, logs in,
/// and the two talk.
#[tokio::test]
async fn strict_mode_login_with_a_pasted_usersig() {
    let h = strict_server().await;
    let alice = User::new(&h, "alice").await;
    let bob = User::new(&h, "bob").await;
    login_pasted(&alice).await;
    login_pasted(&bob).await;

    let accept_to_audio = establish_call(&alice, &bob).await;
    report(&format!(
        "strict mode, accept→audio: {accept_to_audio:.0} ms"
    ));
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}

/// A UserSig issued for someone else is refused with words that say so, and the user stays on
/// the login page.
#[tokio::test]
async fn strict_mode_rejects_a_usersig_for_another_user() {
    let h = strict_server().await;
    let alice = User::new(&h, "alice").await;
    alice.goto("/login").await;
    let mallorys = issue_user_sig(&unique_id("mallory"), SECRET, None);
    submit_pasted(&alice, &mallorys).await;
    refused_with(&alice, "This UserSig belongs to another user ID.").await;
    alice.close().await;
}

/// Expired, tampered, and foreign-key UserSigs are each refused with their own clear message;
/// a good one then logs in from the same page.
#[tokio::test]
async fn strict_mode_explains_expired_and_invalid_usersigs() {
    let h = strict_server().await;
    let alice = User::new(&h, "alice").await;
    alice.goto("/login").await;

    // Consecutive refusals differ, so that each message is the new one.
    let invalid = "This UserSig is not valid (it was changed or signed with another key).";
    // Valid for one second, used after two.
    let expired = issue_user_sig(&alice.id, SECRET, Some(1));
    let issued = std::time::Instant::now();

    let foreign = issue_user_sig(&alice.id, "another-secret-key", None);
    submit_pasted(&alice, &foreign).await;
    refused_with(&alice, invalid).await;

    tokio::time::sleep(Duration::from_secs(2).saturating_sub(issued.elapsed())).await;
    submit_pasted(&alice, &expired).await;
    refused_with(&alice, "This UserSig has expired. Get a new one.").await;

    // One character changed in the middle.
    let mut tampered = issue_user_sig(&alice.id, SECRET, None).into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("still ASCII");
    submit_pasted(&alice, &tampered).await;
    refused_with(&alice, invalid).await;

    submit_pasted(&alice, &issue_user_sig(&alice.id, SECRET, None)).await;
    alice
        .wait_page("/call", &format!("Logged in as {}", alice.id), UI)
        .await;
    alice.close().await;
}

/// A pasted UserSig cannot be renewed: when the server warns, `/call` says when the session
/// ends and what to do; at the end the user is back on `/login`, told why.
#[tokio::test]
async fn strict_mode_pasted_usersig_warns_then_expires() {
    let h = strict_server().await;
    let alice = User::new(&h, "alice").await;
    alice.goto("/login").await;
    // The server warns halfway through a UserSig this short, then ends the session.
    submit_pasted(&alice, &issue_user_sig(&alice.id, SECRET, Some(16))).await;
    alice
        .wait_page("/call", &format!("Logged in as {}", alice.id), UI)
        .await;
    alice
        .wait_page(
            "/call",
            "Your session expires in 1 minute. Log out and in again with a new UserSig.",
            Duration::from_secs(16),
        )
        .await;
    alice
        .wait_page(
            "/login",
            "Your session expired. Log in again.",
            Duration::from_secs(16),
        )
        .await;
    alice.close().await;
}

/// In development mode the app renews a session from `/api/usersig` when the server warns: it
/// outlives its first UserSig, without a warning on screen.
#[tokio::test]
async fn development_mode_renews_the_session() {
    const LIFETIME: Duration = Duration::from_secs(10);
    let h = Harness::start_with(&["--usersig-expire-secs", "10"]).await;
    let alice = User::new(&h, "alice").await;
    alice.login().await;
    let logged_in = format!("Logged in as {}", alice.id);
    let until = std::time::Instant::now() + LIFETIME + Duration::from_secs(4);
    while std::time::Instant::now() < until {
        let path = alice.path().await.unwrap_or_default();
        let text = alice.body_text().await.unwrap_or_default();
        if path != "/call" || !text.contains(&logged_in) || text.contains("session") {
            alice
                .fail("the session was not renewed (or a warning showed)")
                .await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    alice.close().await;
}

/// A stand-in for a customer's UserSig backend on 127.0.0.1: answers
/// `GET /usersig?user_id=<id>` with `{"user_sig": ...}` for the IDs it was given a UserSig
/// for, 403 for the others; CORS with credentials for the page's origin, as the README asks of
/// a real one. Stops when dropped.
struct UserSigBackend {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl UserSigBackend {
    async fn start(user_sigs: Vec<(String, String)>) -> UserSigBackend {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("binding the UserSig backend");
        let url = format!(
            "http://{}/usersig",
            listener.local_addr().expect("its address")
        );
        let user_sigs = std::sync::Arc::new(user_sigs);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(Self::answer(stream, user_sigs.clone()));
            }
        });
        UserSigBackend { url, task }
    }

    /// Answers one request and closes the connection.
    async fn answer(
        mut stream: tokio::net::TcpStream,
        user_sigs: std::sync::Arc<Vec<(String, String)>>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let request = String::from_utf8_lossy(&request);
        let target = request.split_whitespace().nth(1).unwrap_or_default();
        let user_id = target.strip_prefix("/usersig?user_id=").unwrap_or_default();
        let origin = request
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("origin"))
            .map_or("null", |(_, v)| v.trim());
        let (status, body) = match user_sigs.iter().find(|(id, _)| id == user_id) {
            Some((_, sig)) => ("200 OK", serde_json::json!({ "user_sig": sig }).to_string()),
            None => ("403 Forbidden", r#"{"error":"not you"}"#.to_string()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
             Access-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Credentials: true\r\n\
             Vary: Origin\r\nCache-Control: no-store\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    /// `http://127.0.0.1:<port>`.
    fn origin(&self) -> &str {
        self.url.trim_end_matches("/usersig")
    }
}

impl Drop for UserSigBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A strict server with a UserSig URL: the login page fetches the UserSig from the customer's
/// backend (cross-origin, CORS with credentials) and shows no UserSig field; a user the
/// backend refuses is told where the UserSig should have come from and why not.
#[tokio::test]
async fn strict_mode_login_through_the_usersig_url() {
    let alice_id = unique_id("alice");
    let backend = UserSigBackend::start(vec![(
        alice_id.clone(),
        issue_user_sig(&alice_id, SECRET, None),
    )])
    .await;
    let h = Harness::start_with(&[
        "--strict",
        "--secret-key",
        SECRET,
        "--usersig-url",
        &backend.url,
    ])
    .await;
    let mut alice = User::new(&h, "alice").await;
    alice.id = alice_id;
    // No UserSig to paste, and no development endpoint: the backend's UserSig logs in.
    alice.login().await;

    let bob = User::new(&h, "bob").await;
    bob.goto("/login").await;
    bob.fill("User ID", &bob.id).await;
    bob.click("Log in").await;
    let message = format!(
        "Could not get a UserSig from {}: it answered HTTP 403",
        backend.origin()
    );
    refused_with(&bob, &message).await;
    alice.close().await;
    bob.close().await;
}

/// A self-signed certificate for 127.0.0.1 and `localhost` from `openssl req`, in a directory
/// removed on drop (kept when the test fails).
struct TestCert {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// The base64 SHA-256 of the certificate's SubjectPublicKeyInfo, as Chromium's
    /// `--ignore-certificate-errors-spki-list` takes it.
    spki_sha256: String,
}

impl TestCert {
    fn generate() -> TestCert {
        let dir = std::env::temp_dir().join(format!("webcall-tls-{}", unique_id("cert")));
        std::fs::create_dir_all(&dir).expect("creating the certificate directory");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let (spki, digest) = (dir.join("spki.der"), dir.join("spki.sha256"));
        let path = |p: &Path| p.display().to_string();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            &path(&key),
            "-out",
            &path(&cert),
        ]);
        openssl(&[
            "pkey",
            "-in",
            &path(&key),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            &path(&spki),
        ]);
        openssl(&[
            "dgst",
            "-sha256",
            "-binary",
            "-out",
            &path(&digest),
            &path(&spki),
        ]);
        let spki_sha256 = openssl(&["base64", "-A", "-in", &path(&digest)])
            .trim()
            .to_owned();
        assert_eq!(
            spki_sha256.len(),
            44,
            "not a base64 SHA-256: {spki_sha256:?}"
        );
        TestCert {
            dir,
            cert,
            key,
            spki_sha256,
        }
    }
}

impl Drop for TestCert {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs `openssl` with `args`; its stdout.
fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running openssl (apt package openssl): {e}"));
    assert!(
        out.status.success(),
        "openssl {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run on the login page before logging in: records the URL of every WebSocket the page opens
/// into `window.__sockets`.
const RECORD_SOCKETS: &str = r#"
if (!window.__sockets) {
  window.__sockets = [];
  const Ws = window.WebSocket;
  window.WebSocket = class extends Ws {
    constructor(...args) { super(...args); window.__sockets.push(this.url); }
  };
}
return true;
"#;

/// The server serves HTTPS with a certificate made here, which the browsers trust by its key:
/// the app loads over https as a secure context, signals over wss, and a call has audio.
#[tokio::test]
async fn https_call_over_wss() {
    let cert = TestCert::generate();
    let mut h = Harness::start_with(&[
        "--tls-cert",
        &cert.cert.display().to_string(),
        "--tls-key",
        &cert.key.display().to_string(),
    ])
    .await;
    assert!(h.base_url.starts_with("https://"), "{}", h.base_url);
    h.chromium_args.push(format!(
        "--ignore-certificate-errors-spki-list={}",
        cert.spki_sha256
    ));

    let alice = User::new(&h, "alice").await;
    let bob = User::new(&h, "bob").await;
    for u in [&alice, &bob] {
        u.goto("/login").await;
        let page = u
            .client
            .execute("return [location.protocol, window.isSecureContext]", vec![])
            .await
            .unwrap_or_default();
        if page != serde_json::json!(["https:", true]) {
            u.fail(&format!("not a secure https page: {page}")).await;
        }
        if let Err(e) = u.client.execute(RECORD_SOCKETS, vec![]).await {
            u.fail(&format!("recording WebSockets: {e}")).await;
        }
        u.fill("User ID", &u.id).await;
        u.click("Log in").await;
        u.wait_page("/call", &format!("Logged in as {}", u.id), UI)
            .await;
        let sockets = u
            .client
            .execute("return window.__sockets", vec![])
            .await
            .unwrap_or_default();
        let wss = format!("{}/ws", h.base_url.replacen("https://", "wss://", 1));
        if sockets != serde_json::json!([wss]) {
            u.fail(&format!("signaling sockets {sockets}, expected [{wss:?}]"))
                .await;
        }
    }

    let accept_to_audio = establish_call(&alice, &bob).await;
    report(&format!("https/wss, accept→audio: {accept_to_audio:.0} ms"));
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}
