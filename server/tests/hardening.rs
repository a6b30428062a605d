//! Safe on the internet, over plain HTTP: the security headers on every kind of response,
//! `/api/config`, strict mode, and the binary's `usersig` command and start-up errors.

mod common;
mod hardening_support;

use std::process::{Command, Output, Stdio};

use common::*;
use hardening_support::*;
use tokio::net::TcpStream;
use webcall_protocol::{ClientMsg, ErrorCode, ServerMsg};
use webcall_server::UserSigKey;

/// A plain HTTP request to `server`.
async fn send(server: &TestServer, method: &str, path: &str) -> RawResponse {
    within(async {
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        request(stream, &server.addr.to_string(), method, path).await
    })
    .await
}

/// A server whose dist index.html has an inline script.
async fn server_with_script(tweak: impl FnOnce(&mut webcall_server::Config)) -> TestServer {
    TestServer::start_with(|c| {
        std::fs::write(c.dist.join("index.html"), index_with_script()).expect("index.html");
        tweak(c);
    })
    .await
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = server_with_script(|_| {}).await;
    std::fs::write(server.dist.path().join("app-1234.js"), "console.log(1)").unwrap();
    let csp = expected_csp(&[INLINE_SCRIPT], None);
    for (method, path, status) in [
        ("GET", "/", 200),
        ("GET", "/call", 200),
        ("GET", "/app-1234.js", 200),
        ("GET", "/app-9999.wasm", 404),
        ("GET", "/api/config", 200),
        ("GET", "/api/usersig?user_id=alice", 200),
        ("GET", "/api/usersig", 400),
        ("GET", "/api/nothing", 404),
        ("POST", "/api/config", 405),
        ("GET", "/ws", 400),
    ] {
        let what = format!("{method} {path}");
        let response = send(&server, method, path).await;
        assert_eq!(response.status, status, "{what}: {}", response.head);
        response.assert_security_headers(&csp, false, &what);
    }
    // The app itself.
    let index = send(&server, "GET", "/login").await;
    assert_eq!(index.body, index_with_script());
}

#[tokio::test]
async fn the_websocket_upgrade_carries_them_too() {
    let server = server_with_script(|_| {}).await;
    let url = format!("ws://{}/ws", server.addr);
    let (_ws, response) = within(tokio_tungstenite::connect_async(url))
        .await
        .expect("WebSocket handshake");
    assert_eq!(response.status(), 101);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert_eq!(csp, expected_csp(&[INLINE_SCRIPT], None));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
}

#[tokio::test]
async fn the_policy_follows_the_dist_index_html() {
    // The test dist's own index.html has no inline script.
    let server = TestServer::start().await;
    let response = send(&server, "GET", "/").await;
    response.assert_security_headers(&expected_csp(&[], None), false, "GET /");

    // Two inline scripts, CRLF line endings (hashed as the browser sees them: LF).
    let html = "<script>a();\r\nb();</script><p>x</p><script type=module>c()</script>";
    let server = TestServer::start_with(|c| {
        std::fs::write(c.dist.join("index.html"), html).unwrap();
    })
    .await;
    let response = send(&server, "GET", "/").await;
    response.assert_security_headers(&expected_csp(&["a();\nb();", "c()"], None), false, "GET /");

    // The app rebuilt while the server runs: its pages get the new hashes.
    std::fs::write(server.dist.path().join("index.html"), index_with_script()).unwrap();
    for path in ["/", "/call"] {
        let response = send(&server, "GET", path).await;
        assert_eq!(response.body, index_with_script());
        response.assert_security_headers(&expected_csp(&[INLINE_SCRIPT], None), false, path);
    }
}

#[tokio::test]
async fn config_endpoint_tells_how_to_log_in() {
    let server = TestServer::start().await;
    let response = send(&server, "GET", "/api/config").await;
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"strict": false, "usersig_url": null, "sdk_app_id": APP})
    );
}

#[tokio::test]
async fn strict_mode_has_no_development_endpoint() {
    let server = server_with_script(|c| {
        c.strict = true;
        c.usersig_url = Some("https://Sig.Example.com:8443/api/usersig".into());
    })
    .await;
    // The development endpoint is an unknown /api path like any other.
    let unknown = send(&server, "GET", "/api/nothing").await;
    for path in ["/api/usersig?user_id=alice", "/api/usersig"] {
        let response = send(&server, "GET", path).await;
        assert_eq!(response.status, 404, "{path}: {}", response.head);
        assert_eq!(response.body, unknown.body, "{path}");
        assert!(!response.body.contains("user_sig"), "{path}");
    }
    // The app learns it, and where to get UserSigs; the policy lets it fetch from there.
    let response = send(&server, "GET", "/api/config").await;
    let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "strict": true,
            "usersig_url": "https://Sig.Example.com:8443/api/usersig",
            "sdk_app_id": APP
        })
    );
    response.assert_security_headers(
        &expected_csp(&[INLINE_SCRIPT], Some("https://sig.example.com:8443")),
        false,
        "GET /api/config",
    );
    // A UserSig issued elsewhere with the secret key logs in, and the session works.
    let mut alice = server.login("alice").await;
    alice.expect_nothing_pending().await;
    // One signed with another key does not.
    let mut mallory = server.connect().await;
    mallory
        .send(&ClientMsg::Login {
            user_id: "mallory".into(),
            user_sig: UserSigKey::new(APP, "another key").issue("mallory", 3600, unix_now()),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    assert!(matches!(
        mallory.recv().await,
        ServerMsg::Error { code, .. } if code != ErrorCode::BadMessage
    ));
}

/// Runs the server binary with `args` and a clean environment (plus `env`) to its end; kills it
/// and panics when it runs past the test deadline.
async fn run_binary(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_webcall-server"))
        .args(args)
        .env_clear()
        .env("NO_COLOR", "1")
        // Keep no call history on disk (the default is ./webcall.db).
        .env("WEBCALL_DB", ":memory:")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start webcall-server");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while child.try_wait().expect("wait").is_none() {
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("webcall-server {args:?} did not exit in time");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    child.wait_with_output().expect("webcall-server output")
}

#[tokio::test]
async fn usersig_command_prints_a_sig_that_logs_in() {
    let app = APP.to_string();
    let output = run_binary(
        &[
            "--secret-key",
            SECRET,
            "--sdk-app-id",
            &app,
            "usersig",
            "--user",
            "alice",
            "--expire",
            "600",
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let sig = stdout.strip_suffix('\n').expect("one line");
    assert!(!sig.contains(char::is_whitespace), "{stdout:?}");
    let info = UserSigKey::new(APP, SECRET)
        .verify("alice", sig, unix_now())
        .unwrap();
    assert_eq!(info.expire, 600);
    assert!(info.time.abs_diff(unix_now()) < 60);

    // It logs in on a strict server with the same key.
    let server = TestServer::start_with(|c| c.strict = true).await;
    let mut client = server.connect().await;
    client
        .send(&ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: sig.into(),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    assert!(matches!(
        client.recv().await,
        ServerMsg::LoggedIn { user_id, expires_in_secs, .. }
            if user_id == "alice" && expires_in_secs <= 600
    ));
}

#[tokio::test]
async fn usersig_command_reads_the_environment() {
    let app = APP.to_string();
    let output = run_binary(
        &["usersig", "--user", "bob"],
        &[("WEBCALL_SECRET_KEY", SECRET), ("WEBCALL_SDK_APP_ID", &app)],
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let info = UserSigKey::new(APP, SECRET)
        .verify("bob", stdout.trim_end(), unix_now())
        .unwrap();
    // The default validity is the server's, --usersig-expire-secs.
    assert_eq!(info.expire, 86_400);
}

#[tokio::test]
async fn usersig_command_refuses_clearly() {
    // No secret key.
    let output = run_binary(&["usersig", "--user", "alice"], &[]).await;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no secret key"), "{stderr}");
    assert!(stderr.contains("WEBCALL_SECRET_KEY"), "{stderr}");
    // A bad user ID.
    let output = run_binary(&["--secret-key", "k", "usersig", "--user", "al ice"], &[]).await;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid user ID"), "{stderr}");
    // No user.
    let output = run_binary(&["--secret-key", "k", "usersig"], &[]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--user"));
}

#[tokio::test]
async fn bad_start_up_settings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM\n").unwrap();
    let garbage = garbage.to_str().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    for (args, env, expected) in [
        (
            vec!["--port", "0", "--tls-cert", garbage],
            vec![],
            "--tls-key",
        ),
        (
            vec!["--port", "0"],
            vec![("WEBCALL_TLS_KEY", garbage)],
            "--tls-cert",
        ),
        (
            vec!["--port", "0", "--tls-cert", missing, "--tls-key", garbage],
            vec![],
            "missing.pem",
        ),
        (
            vec!["--port", "0", "--tls-cert", garbage, "--tls-key", garbage],
            vec![],
            "garbage.pem holds no PEM certificate",
        ),
        (vec!["--port", "0", "--strict"], vec![], "--secret-key"),
        (
            vec!["--port", "0", "--usersig-url", "javascript:alert(1)"],
            vec![],
            "--usersig-url",
        ),
    ] {
        let output = run_binary(&args, &env).await;
        assert!(!output.status.success(), "{args:?}: {output:?}");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains(expected), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
}
