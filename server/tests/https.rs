//! HTTPS: with a certificate and key, one port serves the app over HTTPS and the signaling
//! socket as `wss://`, with the security headers plus `Strict-Transport-Security`.

mod common;
mod hardening_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use common::*;
use futures_util::{SinkExt, StreamExt};
use hardening_support::*;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use webcall_protocol::{ClientMsg, ServerMsg};
use webcall_server::{run_tls, tls, AppState, Config};

/// A self-signed certificate for `localhost` and its key, written as PEM files into `dir`.
struct TestCert {
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

fn self_signed(dir: &Path) -> TestCert {
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, pair.cert.pem()).expect("write cert");
    std::fs::write(&key, pair.signing_key.serialize_pem()).expect("write key");
    TestCert {
        cert,
        key,
        der: pair.cert.der().clone(),
    }
}

/// A TLS client that trusts only `cert`, offering h2 and HTTP/1.1 over ALPN as browsers do.
fn connector(cert: &CertificateDer<'static>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).expect("trust the test certificate");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// A TLS connection to `addr` as `localhost`.
async fn tls_connect(addr: SocketAddr, cert: &CertificateDer<'static>) -> TlsStream<TcpStream> {
    within(async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("server name");
        connector(cert)
            .connect(name, tcp)
            .await
            .expect("TLS handshake")
    })
    .await
}

/// A GET over a fresh TLS connection.
async fn https_get(addr: SocketAddr, cert: &CertificateDer<'static>, path: &str) -> RawResponse {
    let stream = tls_connect(addr, cert).await;
    within(request(stream, "localhost", "GET", path)).await
}

/// A server running [`run_tls`] with a self-signed certificate and a dist whose index.html has
/// an inline script.
struct TlsServer {
    addr: SocketAddr,
    cert: TestCert,
    _dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TlsServer {
    async fn start() -> TlsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = self_signed(dir.path());
        let dist = dir.path().join("dist");
        std::fs::create_dir(&dist).expect("dist");
        std::fs::write(dist.join("index.html"), index_with_script()).expect("index.html");
        let config = Config {
            secret_key: Some(SECRET.into()),
            sdk_app_id: APP,
            dist,
            port: 0,
            tls_cert: Some(cert.cert.clone()),
            tls_key: Some(cert.key.clone()),
            ..Config::default()
        };
        config.validate().expect("valid config");
        let tls = tls::load_server_config(&cert.cert, &cert.key).expect("certificate and key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run_tls(listener, tls, AppState::new(&config), async move {
            let _ = rx.await;
        }));
        TlsServer {
            addr,
            cert,
            _dir: dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A `wss://` connection to `/ws`, and the upgrade response's headers.
    async fn connect_wss(
        &self,
    ) -> (
        WebSocketStream<TlsStream<TcpStream>>,
        tokio_tungstenite::tungstenite::http::HeaderMap,
    ) {
        let stream = tls_connect(self.addr, &self.cert.der).await;
        let url = format!("wss://localhost:{}/ws", self.addr.port());
        let (ws, response) = within(tokio_tungstenite::client_async(url, stream))
            .await
            .expect("WebSocket handshake");
        assert_eq!(response.status(), 101);
        (ws, response.headers().clone())
    }

    /// Triggers the shutdown and waits for `run_tls` to return.
    async fn shutdown(mut self) -> std::io::Result<()> {
        let _ = self.shutdown.take().expect("shut down once").send(());
        within(self.task.take().expect("shut down once"))
            .await
            .expect("run_tls panicked")
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The next text message, skipping pings; `None` once the socket closes.
async fn next_text(ws: &mut WebSocketStream<TlsStream<TcpStream>>) -> Option<Message> {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(msg)) => return Some(msg),
            Some(Err(_)) | None => return None,
        }
    }
}

async fn send_msg(ws: &mut WebSocketStream<TlsStream<TcpStream>>, msg: &ClientMsg) {
    let text = serde_json::to_string(msg).expect("serialize");
    within(ws.send(Message::text(text))).await.expect("send");
}

async fn recv_msg(ws: &mut WebSocketStream<TlsStream<TcpStream>>) -> ServerMsg {
    match next_text(ws).await {
        Some(Message::Text(text)) => serde_json::from_str(text.as_str()).expect("server message"),
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn https_serves_the_app_with_the_security_headers() {
    let server = TlsServer::start().await;
    let csp = expected_csp(&[INLINE_SCRIPT], None);

    // HTTP/1.1 is what the server offers, even to a client that prefers h2.
    let stream = tls_connect(server.addr, &server.cert.der).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    let index = within(request(stream, "localhost", "GET", "/")).await;
    assert_eq!(index.status, 200, "{}", index.head);
    assert_eq!(index.body, index_with_script());
    index.assert_security_headers(&csp, true, "GET /");
    for (path, status) in [
        ("/call", 200),
        ("/api/config", 200),
        ("/api/usersig?user_id=alice", 200),
        ("/api/nothing", 404),
        ("/missing.wasm", 404),
    ] {
        let response = https_get(server.addr, &server.cert.der, path).await;
        assert_eq!(response.status, status, "{path}: {}", response.head);
        response.assert_security_headers(&csp, true, path);
    }
}

#[tokio::test]
async fn wss_logs_in_and_pings_then_shuts_down_gracefully() {
    let server = TlsServer::start().await;
    let (mut ws, headers) = server.connect_wss().await;
    assert_eq!(
        headers["strict-transport-security"], "max-age=31536000",
        "{headers:?}"
    );
    send_msg(
        &mut ws,
        &ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: test_sig("alice"),
            sdk_app_id: APP,
            resume: None,
        },
    )
    .await;
    assert!(matches!(
        recv_msg(&mut ws).await,
        ServerMsg::LoggedIn { user_id, .. } if user_id == "alice"
    ));
    send_msg(&mut ws, &ClientMsg::Ping).await;
    assert_eq!(recv_msg(&mut ws).await, ServerMsg::Pong);

    // The shutdown closes the socket with 1012 (service restart), and `run_tls` returns.
    let stopped = tokio::spawn(server.shutdown());
    match next_text(&mut ws).await {
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1012),
        other => panic!("expected close 1012, got {other:?}"),
    }
    // Reading on answers the close, so the server need not wait for it.
    assert!(next_text(&mut ws).await.is_none());
    within(stopped)
        .await
        .expect("join")
        .expect("run_tls returns Ok");
}

/// A UserSig for `user` under the test secret, valid for an hour.
fn test_sig(user: &str) -> String {
    webcall_server::UserSigKey::new(APP, SECRET).issue(user, 3600, unix_now())
}

#[tokio::test]
async fn slow_or_plain_clients_do_not_hold_up_others() {
    let server = TlsServer::start().await;
    // Clients that connect and never start a handshake.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(
            within(TcpStream::connect(server.addr))
                .await
                .expect("connect"),
        );
    }
    // A plain HTTP request to the HTTPS port: its handshake fails and the server closes it.
    let mut plain = within(TcpStream::connect(server.addr))
        .await
        .expect("connect");
    within(plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = within(tokio::io::AsyncReadExt::read_to_end(
        &mut plain,
        &mut answer,
    ))
    .await;
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    // Meanwhile real clients get through at once.
    for _ in 0..2 {
        let response = https_get(server.addr, &server.cert.der, "/").await;
        assert_eq!(response.status, 200);
    }
    let (mut ws, _) = server.connect_wss().await;
    send_msg(&mut ws, &ClientMsg::Ping).await;
    drop(silent);
}

/// Kills the child process when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_https_with_the_tls_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path());
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(dist.join("index.html"), index_with_script()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_webcall-server"))
        .args(["--port", "0", "--secret-key", SECRET, "--strict"])
        .arg("--dist")
        .arg(&dist)
        .env_clear()
        .env("NO_COLOR", "1")
        // Keep no call history on disk (the default is ./webcall.db).
        .env("WEBCALL_DB", ":memory:")
        .env("WEBCALL_TLS_CERT", &cert.cert)
        .env("WEBCALL_TLS_KEY", &cert.key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start webcall-server");
    let mut child = KillOnDrop(child);

    // The port comes from the log line "listening on https://127.0.0.1:<port>".
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some((_, rest)) = line.split_once("listening on https://") {
                let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let addr: SocketAddr = within(rx)
        .await
        .expect("the server logs where it listens")
        .parse()
        .expect("an address");

    let index = https_get(addr, &cert.der, "/").await;
    assert_eq!(index.status, 200, "{}", index.head);
    index.assert_security_headers(&expected_csp(&[INLINE_SCRIPT], None), true, "GET /");
    let config = https_get(addr, &cert.der, "/api/config").await;
    let json: serde_json::Value = serde_json::from_str(&config.body).unwrap();
    assert_eq!(json["strict"], true);
    let usersig = https_get(addr, &cert.der, "/api/usersig?user_id=alice").await;
    assert_eq!(usersig.status, 404);
}
