//! Helpers for the integration tests: a real server on 127.0.0.1 port 0 and real WebSocket
//! clients that log in with UserSigs signed with the server's secret. Every wait has a deadline.
//!
//! The clients read the server's numbered messages ([`ServerMsg::Seq`]) unwrapped, checking
//! that the numbers follow each other, and remember the last number and the session token, for
//! tests of reconnecting. The test servers drop a device whose socket is lost at once
//! (`resume_grace_secs = 0`), unless a test sets a grace period.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webcall_protocol::{CallType, ClientMsg, ErrorCode, Outcome, Resume, ServerMsg, Signal};
use webcall_server::{run, AppState, Config};

/// The secret key of every test server.
pub const SECRET: &str = "integration-test-secret";

/// The SDKAppID of every test server.
pub const APP: u32 = 1_400_000_000;

/// How long any single expected event may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The body of the test dist folder's index.html.
pub const INDEX_HTML: &str = "<!doctype html><title>WebCall test</title><div id=app></div>";

/// A server running `run` on its own listener, with a temporary dist folder.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub dist: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// A server with the default config (plus the test secret and a dist with index.html).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server whose config `tweak` adjusts.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dist = tempfile::tempdir().expect("temp dir");
        std::fs::write(dist.path().join("index.html"), INDEX_HTML).expect("write index.html");
        let mut config = Config {
            secret_key: Some(SECRET.into()),
            sdk_app_id: APP,
            dist: dist.path().to_owned(),
            port: 0,
            resume_grace_secs: 0,
            ..Config::default()
        };
        tweak(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = AppState::new(&config);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            state,
            dist,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A UserSig for `user`, valid for an hour, signed with the server's secret.
    pub fn sig(&self, user: &str) -> String {
        webcall_server::UserSigKey::new(APP, SECRET).issue(user, 3600, unix_now())
    }

    /// A WebSocket connection to `/ws`, not logged in.
    pub async fn connect(&self) -> Client {
        let url = format!("ws://{}/ws", self.addr);
        let (ws, _) = within(tokio_tungstenite::connect_async(url))
            .await
            .expect("WebSocket handshake");
        Client::new(ws, "")
    }

    /// A connection logged in as `user`.
    pub async fn login(&self, user: &str) -> Client {
        let mut client = self.send_login(user).await;
        let resumed = client.expect_logged_in().await;
        assert!(!resumed, "{user}: a first login resumed a session");
        client
    }

    /// A connection of `user` that logs in with `resume`; returns it and whether the login
    /// resumed the session (the numbered messages after `resume.seq` follow).
    pub async fn login_resume(&self, user: &str, resume: Resume) -> (Client, bool) {
        let mut client = self.connect().await;
        client.user = user.into();
        client.last_seq = resume.seq;
        client
            .send(&ClientMsg::Login {
                user_id: user.into(),
                user_sig: self.sig(user),
                sdk_app_id: APP,
                resume: Some(resume),
            })
            .await;
        let resumed = client.expect_logged_in().await;
        (client, resumed)
    }

    /// A connection logged in as `user` whose waits (the login's too) last up to `deadline`:
    /// for paused-time tests, where the clock jumps ahead whenever everything waits.
    pub async fn login_patient(&self, user: &str, deadline: Duration) -> Client {
        let mut client = tokio::time::timeout(deadline, self.login(user))
            .await
            .expect("login in time");
        client.deadline = deadline;
        client
    }

    /// Waits until the hub no longer lists `user` as online.
    pub async fn wait_offline(&self, user: &str) {
        let hub = self.state.hub().clone();
        self.wait_until(move || !hub.is_online(user)).await;
    }

    /// Waits (polling, within the test deadline) until `done` holds.
    pub async fn wait_until(&self, mut done: impl FnMut() -> bool) {
        within(async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }

    /// Triggers the shutdown and waits for `run` to return.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        let _ = self.shutdown.take().expect("shut down once").send(());
        within(self.task.take().expect("shut down once"))
            .await
            .expect("run panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A real WebSocket client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub user: String,
    /// How long [`Client::next`] waits.
    pub deadline: Duration,
    /// The number of the last numbered message read.
    last_seq: u64,
    /// The session token of the last `LoggedIn`.
    session: String,
}

/// What the server sent, other than ping/pong frames.
#[derive(Debug)]
pub enum Received {
    Msg(ServerMsg),
    Close(Option<CloseFrame>),
    /// The connection ended without a close frame.
    End,
}

impl Client {
    /// A client of `user` on socket `ws`.
    pub fn new(ws: WebSocketStream<MaybeTlsStream<TcpStream>>, user: &str) -> Client {
        Client {
            ws,
            user: user.into(),
            deadline: DEADLINE,
            last_seq: 0,
            session: String::new(),
        }
    }

    /// The number of the last numbered message read (0: none in this session).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The session token of the last `LoggedIn`.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// A [`Resume`] of this client's session from the last message it read, claiming nothing.
    pub fn resume(&self) -> Resume {
        Resume {
            session: self.session.clone(),
            seq: self.last_seq,
            call: None,
        }
    }

    /// Acknowledges every numbered message up to `seq`.
    pub async fn ack(&mut self, seq: u64) {
        self.send(&ClientMsg::Ack { seq }).await;
    }

    /// Drops the socket without a close frame, as a lost network does.
    pub fn drop_unclean(self) {
        drop(self.ws);
    }

    /// Closes the socket cleanly: a close frame, then the server's close reply.
    pub async fn close_clean(self) {
        self.close_with(None).await;
    }

    /// Closes the socket with a close frame of `code` (none: no code), then reads until the
    /// server's close reply.
    pub async fn close_with(mut self, code: Option<u16>) {
        let frame = code.map(|code| CloseFrame {
            code: code.into(),
            reason: "".into(),
        });
        within(self.ws.close(frame)).await.expect("close");
        within(async { while let Some(Ok(_)) = self.ws.next().await {} }).await;
    }

    /// Expects `LoggedIn` for this client's user (with the test servers' settings and an
    /// hour-long UserSig); notes its session and returns whether it resumed one.
    pub async fn expect_logged_in(&mut self) -> bool {
        match self.recv().await {
            ServerMsg::LoggedIn {
                user_id,
                ice_servers,
                expires_in_secs,
                relay_only,
                session,
                resumed,
            } if user_id == self.user && ice_servers.is_empty() && !relay_only => {
                // The test UserSigs last an hour.
                assert!(
                    (3590..=3600).contains(&expires_in_secs),
                    "{expires_in_secs}"
                );
                assert!(!session.is_empty(), "{}: no session token", self.user);
                resumed
            }
            other => panic!("{}: expected LoggedIn, got {other:?}", self.user),
        }
    }

    /// Sends a protocol message.
    pub async fn send(&mut self, msg: &ClientMsg) {
        let text = serde_json::to_string(msg).expect("serialize");
        self.send_raw(Message::text(text)).await;
    }

    /// Sends a frame as it is.
    pub async fn send_raw(&mut self, msg: Message) {
        within(self.ws.send(msg)).await.expect("send");
    }

    /// The next thing the server sent.
    pub async fn next(&mut self) -> Received {
        loop {
            let next = tokio::time::timeout(self.deadline, self.ws.next()).await;
            let next = next.unwrap_or_else(|_| panic!("{}: nothing came in time", self.user));
            match next {
                Some(Ok(Message::Text(text))) => {
                    let msg: ServerMsg = serde_json::from_str(text.as_str()).unwrap_or_else(|e| {
                        panic!("{}: bad server message {text}: {e}", self.user)
                    });
                    return Received::Msg(self.unnumbered(msg));
                }
                Some(Ok(Message::Close(frame))) => return Received::Close(frame),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Binary(_))) => {
                    panic!("{}: binary frame from the server", self.user)
                }
                Some(Err(_)) | None => return Received::End,
            }
        }
    }

    /// `msg` without its number, which must follow the last one's; notes the session of a
    /// `LoggedIn` (a new session numbers from 1 again).
    fn unnumbered(&mut self, msg: ServerMsg) -> ServerMsg {
        match msg.unsequenced() {
            (Some(seq), msg) => {
                assert_eq!(
                    seq,
                    self.last_seq + 1,
                    "{}: {msg:?} is numbered {seq} after {}",
                    self.user,
                    self.last_seq
                );
                self.last_seq = seq;
                msg
            }
            (None, msg) => {
                if let ServerMsg::LoggedIn {
                    session, resumed, ..
                } = &msg
                {
                    self.session = session.clone();
                    if !resumed {
                        self.last_seq = 0;
                    }
                }
                msg
            }
        }
    }

    /// The next protocol message; panics on anything else.
    pub async fn recv(&mut self) -> ServerMsg {
        match self.next().await {
            Received::Msg(msg) => msg,
            other => panic!("{}: expected a message, got {other:?}", self.user),
        }
    }

    /// Expects an `Error` with `code`; returns its message.
    pub async fn expect_error(&mut self, code: ErrorCode, req: Option<u32>) -> String {
        match self.recv().await {
            ServerMsg::Error {
                code: got,
                message,
                req: got_req,
            } if got == code && got_req == req => message,
            other => panic!(
                "{}: expected Error {code:?} (req {req:?}), got {other:?}",
                self.user
            ),
        }
    }

    /// Expects the server to close the connection with `code`; returns the reason.
    pub async fn expect_close(&mut self, code: u16) -> String {
        match self.next().await {
            Received::Close(Some(frame)) if u16::from(frame.code) == code => {
                frame.reason.as_str().to_owned()
            }
            other => panic!("{}: expected close {code}, got {other:?}", self.user),
        }
    }

    /// Proves nothing is queued for this client: a ping's pong is the very next message.
    pub async fn expect_nothing_pending(&mut self) {
        self.send(&ClientMsg::Ping).await;
        assert_eq!(self.recv().await, ServerMsg::Pong, "{}", self.user);
    }

    /// Invites `callee` (with request number 1) and returns the new call's ID.
    pub async fn invite(&mut self, callee: &str) -> String {
        self.invite_with(callee, None).await
    }

    /// Invites `callee` with ring timeout `timeout_secs` and returns the call's ID.
    pub async fn invite_with(&mut self, callee: &str, timeout_secs: Option<u32>) -> String {
        self.send(&ClientMsg::Invite {
            req: 1,
            callee: callee.into(),
            call_type: CallType::Audio,
            timeout_secs,
        })
        .await;
        match self.recv().await {
            ServerMsg::CallCreated {
                req: 1,
                call_id,
                callee: got,
                ..
            } if got == callee => call_id,
            other => panic!("{}: expected CallCreated, got {other:?}", self.user),
        }
    }

    /// Expects an invitation from `caller`; returns the call's ID and ring timeout.
    pub async fn expect_invited(&mut self, caller: &str) -> (String, u32) {
        match self.recv().await {
            ServerMsg::Invited {
                call_id,
                caller: got,
                call_type: CallType::Audio,
                timeout_secs,
            } if got == caller => (call_id, timeout_secs),
            other => panic!(
                "{}: expected Invited from {caller}, got {other:?}",
                self.user
            ),
        }
    }

    /// Expects `CallEnded` for `call_id`; returns its outcome.
    pub async fn expect_ended(&mut self, call_id: &str) -> Outcome {
        match self.recv().await {
            ServerMsg::CallEnded {
                call_id: got,
                outcome,
            } if got == call_id => outcome,
            other => panic!(
                "{}: expected CallEnded for {call_id}, got {other:?}",
                self.user
            ),
        }
    }

    /// Sends a signal for `call_id`.
    pub async fn signal(&mut self, call_id: &str, signal: Signal) {
        self.send(&ClientMsg::Signal {
            call_id: call_id.into(),
            signal,
        })
        .await;
    }

    /// Sends `Accept` for `call_id`.
    pub async fn accept(&mut self, call_id: &str) {
        self.send(&ClientMsg::Accept {
            call_id: call_id.into(),
        })
        .await;
    }
}

/// `caller` calls `callee`, who accepts; both have seen `Accepted`. Returns the call's ID.
pub async fn connect_call(caller: &mut Client, callee: &mut Client) -> String {
    let call_id = caller.invite(&callee.user.clone()).await;
    let (invited, _) = callee.expect_invited(&caller.user.clone()).await;
    assert_eq!(invited, call_id);
    callee.accept(&call_id).await;
    let accepted = ServerMsg::Accepted {
        call_id: call_id.clone(),
    };
    assert_eq!(caller.recv().await, accepted);
    assert_eq!(callee.recv().await, accepted);
    call_id
}

/// Runs `fut` with the test deadline; panics when it passes.
pub async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("timed out waiting")
}

/// A plain HTTP/1.1 GET; returns the status, the raw head and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    within(async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let response = String::from_utf8(response).expect("UTF-8 response");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        (status, head.to_owned(), body.to_owned())
    })
    .await
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

impl TestServer {
    /// Sends a login for `user` on a fresh connection and returns the connection without
    /// reading the answer.
    pub async fn send_login(&self, user: &str) -> Client {
        let mut client = self.connect().await;
        client.user = user.into();
        client
            .send(&ClientMsg::Login {
                user_id: user.into(),
                user_sig: self.sig(user),
                sdk_app_id: APP,
                resume: None,
            })
            .await;
        client
    }
}

impl Client {
    /// Expects `msg` next.
    pub async fn expect(&mut self, msg: ServerMsg) {
        let got = self.recv().await;
        assert_eq!(got, msg, "{}", self.user);
    }

    /// Sends `msg` and expects an `Error` with `code` for it; returns its message.
    pub async fn refused(&mut self, msg: ClientMsg, code: ErrorCode) -> String {
        let req = match &msg {
            ClientMsg::Invite { req, .. } => Some(*req),
            _ => None,
        };
        self.send(&msg).await;
        self.expect_error(code, req).await
    }
}
