//! The signaling WebSocket at `/ws`: one task per connection that logs it in, feeds its
//! messages to the [`Hub`](crate::Hub), and a writer task that drains its outbox into the socket.
//!
//! A connection must log in within the login timeout with its first message; anything else
//! gets an `Error` and the connection is closed (code 1008), except a `Ping`, answered `Pong`
//! so that a device check can time the round trip without logging in. Once logged in, a bad
//! frame gets an `Error` and the connection stays open, except a frame over
//! [`MAX_MESSAGE_SIZE`], which closes it with code 1009.
//!
//! Heartbeat: the writer sends a WebSocket ping every third of the idle timeout, which browsers
//! answer on their own; a logged-in connection from which nothing at all arrives for the idle
//! timeout is dead (a laptop lid closed, a network gone).
//!
//! Each socket is a *link* to a hub device. A login binds it to a new device, or, resuming a
//! session, to the device of that session (cutting off the device's older socket, if any). When
//! the socket ends, the hub hears how: a close frame from the client, or a close the server
//! chose (session expired, a message too big) removes the device at once; a socket that failed,
//! fell silent, whose writer stopped, or that the client closed with [`CLOSE_RECONNECTING`] (to
//! reconnect on a new one) leaves the device *away*, waiting for a resume (see
//! [`Hub::disconnected`](crate::Hub::disconnected)). At shutdown the hub is not told: the
//! calls must stand, so that the clients, reconnecting to the next server, claim them.
//!
//! Before the upgrade, the handshake's `Origin` must be allowed ([`crate::origin`]; HTTP 403
//! otherwise) and a connection slot must be free (`--max-connections`; HTTP 503 otherwise).
//! Once logged in, the limits of [`crate::limits`] apply: messages per connection, invitations
//! and logins per user.
//!
//! Close codes the server sends, and when:
//!
//! | code | reason | when |
//! |---|---|---|
//! | 1000 | `logged in elsewhere` | single-device mode: a newer login of the same user took over (after `KickedOut`) |
//! | 1008 | `login timeout` | no `Login` within the login timeout |
//! | 1008 | `not logged in` | the first message (pings aside) is not a `Login`, or not a valid message |
//! | 1008 | `login failed` | the `Login` is refused (bad UserSig, wrong SDKAppID, too many devices, ...), after an `Error` |
//! | 1008 | `rate limit` | a login over the user's login limit (after `Error{RateLimited}`), or 3 × `--msg-burst` messages refused in a row |
//! | 1008 | `session expired` | the session's UserSig expired without a `Renew`, after `Error{SessionExpired}` |
//! | 1009 | `message too big` | a message or frame over [`MAX_MESSAGE_SIZE`] |
//! | 1012 | `server restarting` | the server stops: reconnect (and resume) at once |
//!
//! A connection whose outbox overflows (it does not read) or that stays silent for the idle
//! timeout is dropped without a close frame.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use webcall_protocol::{
    validate_user_id, ClientMsg, ErrorCode, Resume, ServerMsg, UserId, CLOSE_RECONNECTING,
    CLOSE_SERVICE_RESTART,
};

use crate::hub::{ConnHandle, ConnId, HubError, Login, Outgoing, CLOSE_POLICY, OUTBOX_CAPACITY};
use crate::limits::{Admit, MessageLimiter};
use crate::{unix_now, AppState, UserSigError};

/// The largest message (and frame) a client may send, in bytes.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// The socket's read buffer, allocated (and zeroed) up front for every connection, idle or not;
/// it grows for a bigger frame. Most messages are a few hundred bytes: 512 holds a `Login`,
/// and cost ~3 KB less per idle connection than 4 KB did (measured, `cargo xtask bench idle`).
const READ_BUFFER_SIZE: usize = 512;

/// How much the writer buffers before it writes: messages queued together go out in one write.
const WRITE_BUFFER_SIZE: usize = 8 * 1024;

/// How much unsent data a socket may buffer before writes fail.
const MAX_WRITE_BUFFER_SIZE: usize = 512 * 1024;

/// WebSocket close code: a message was too big.
const CLOSE_TOO_BIG: u16 = 1009;

/// How long a closing connection may take to finish the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// `GET /ws`: upgrades to the signaling WebSocket, unless the handshake comes from a page of a
/// foreign origin (403) or every connection slot is taken (503).
pub(crate) async fn handler(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = state.origins.check(&headers) {
        info!(%e, "WebSocket refused: foreign origin");
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let Some(slot) = state.limits.connection_slot() else {
        warn!(
            max = state.limits.max_connections(),
            "WebSocket refused: too many connections"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "10")],
            "too many connections\n",
        )
            .into_response();
    };
    ws.max_message_size(MAX_MESSAGE_SIZE)
        .max_frame_size(MAX_MESSAGE_SIZE)
        .read_buffer_size(READ_BUFFER_SIZE)
        .write_buffer_size(WRITE_BUFFER_SIZE)
        .max_write_buffer_size(MAX_WRITE_BUFFER_SIZE)
        .on_upgrade(move |socket| {
            let tracker = state.tracker.clone();
            tracker.track_future(async move {
                // The slot is held until the connection is over (or the upgrade fails and this
                // closure is dropped).
                let _slot = slot;
                serve(socket, state).await;
            })
        })
}

/// How a connection's session ended.
#[derive(Debug)]
enum Ending {
    /// The client sent a close frame (a logout, a closed tab).
    ClientClosed,
    /// The client closed the socket to reconnect on a new one ([`CLOSE_RECONNECTING`]).
    ClientReconnecting,
    /// The socket ended or failed without a close handshake.
    Gone,
    /// The server queued a close frame (bad login, login timeout).
    Closing,
    /// The client sent a message over [`MAX_MESSAGE_SIZE`].
    TooBig,
    /// The writer stopped: the hub closed the connection (replaced, stuck) or the socket failed.
    WriterDone,
    /// Nothing arrived for the idle timeout, not even an answer to a ping.
    Silent,
    /// The server shuts down.
    Shutdown,
}

impl Ending {
    /// Whether the session ended on purpose, by the client or the server: its device leaves
    /// at once. Otherwise the socket was lost and the device waits for a resume.
    fn is_clean(&self) -> bool {
        match self {
            // (The hub is not told of a shutdown.)
            Ending::ClientClosed | Ending::Closing | Ending::TooBig | Ending::Shutdown => true,
            Ending::ClientReconnecting | Ending::Gone | Ending::WriterDone | Ending::Silent => {
                false
            }
        }
    }
}

/// Runs one connection from upgrade to close.
async fn serve(socket: WebSocket, state: AppState) {
    let link = state.hub.next_conn_id();
    let (sink, mut stream) = socket.split();
    let (outbox, inbox) = mpsc::channel(OUTBOX_CAPACITY);
    let ping_every = state.settings.idle_timeout / 3;
    let mut writer = tokio::spawn(write_loop(sink, inbox, ping_every));
    let mut session = Session {
        link,
        device: None,
        handle: ConnHandle::boxed(outbox.clone(), Some(writer.abort_handle())),
        outbox,
        limiter: state.limits.message_limiter(Instant::now()),
        state: state.clone(),
        user: None,
        expires_at: tokio::time::Instant::now(),
    };
    debug!(link, "connection opened");

    let mut writer_done = false;
    let ending = tokio::select! {
        _ = state.shutdown.cancelled() => Ending::Shutdown,
        _ = &mut writer => {
            writer_done = true;
            Ending::WriterDone
        }
        ending = session.run(&mut stream) => ending,
    };

    // The hub hears of the end first, so that a call ends at once when it has to. At shutdown
    // it is not told: the calls stand for the clients to claim on the next server.
    if let Some(device) = session.device {
        if !matches!(ending, Ending::Shutdown) {
            state.hub.disconnected(device, link, ending.is_clean());
        }
    }
    debug!(link, ?ending, "connection closing");
    let close = match ending {
        Ending::Shutdown => Some((CLOSE_SERVICE_RESTART, "server restarting")),
        Ending::TooBig => Some((CLOSE_TOO_BIG, "message too big")),
        _ => None,
    };
    if let Some((code, reason)) = close {
        let _ = session
            .outbox
            .try_send(Box::new(Outgoing::Close { code, reason }));
    }
    let Session { outbox, handle, .. } = session;
    drop((outbox, handle));
    if !writer_done && matches!(ending, Ending::Closing | Ending::Shutdown | Ending::TooBig) {
        let _ = tokio::time::timeout(CLOSE_GRACE, &mut writer).await;
    }
    writer.abort();
    // Finish the close handshake: read until the client's close frame (or the end), so that the
    // socket closes cleanly. After a protocol error (a frame too big) the stream is unusable.
    if !matches!(ending, Ending::Gone | Ending::TooBig | Ending::Silent) {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
    }
    debug!(link, "connection closed");
}

/// Drains the outbox into the socket until told to close or the outbox is dropped, and pings
/// every `ping_every`. Messages queued together are written together and flushed once (one
/// write for a burst instead of one per message).
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut inbox: mpsc::Receiver<Box<Outgoing>>,
    ping_every: Duration,
) {
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let out = tokio::select! {
            out = inbox.recv() => out,
            _ = pings.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let Some(mut out) = out else {
            return;
        };
        loop {
            match *out {
                Outgoing::Msg(msg) => match serialize(&msg) {
                    Ok(text) => {
                        if sink.feed(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::error!("cannot serialize {msg:?}: {e}"),
                },
                Outgoing::Close { code, reason } => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: Utf8Bytes::from_static(reason),
                        })))
                        .await;
                    return;
                }
            }
            match inbox.try_recv() {
                Ok(next) => out = next,
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

/// How many bytes a message's JSON is given up front: most fit (a relayed signal of a few
/// hundred bytes), so that serializing one does not grow the text several times over.
const SERIALIZE_CAPACITY: usize = 1024;

/// A message as JSON text.
fn serialize(msg: &ServerMsg) -> Result<String, serde_json::Error> {
    let mut json = Vec::with_capacity(SERIALIZE_CAPACITY);
    serde_json::to_writer(&mut json, msg)?;
    // serde_json writes valid UTF-8; the check is cheap next to the rest.
    String::from_utf8(json).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// The reading side of a connection.
struct Session {
    /// This socket.
    link: ConnId,
    /// The hub device the socket is bound to, once logged in.
    device: Option<ConnId>,
    /// The handle the hub gets at login.
    handle: ConnHandle,
    /// For answers this task sends itself (errors).
    outbox: mpsc::Sender<Box<Outgoing>>,
    state: AppState,
    /// Set once logged in.
    user: Option<UserId>,
    /// When the session's UserSig expires (on the monotonic clock, so that a change of the
    /// system time does not move it); the session ends then unless it is renewed.
    expires_at: tokio::time::Instant,
    /// The connection's message rate limit (applied once logged in).
    limiter: MessageLimiter,
}

/// What became of a frame.
enum Frame {
    Msg(ClientMsg),
    /// Not a protocol message; the error says why.
    Bad(String),
    /// Nothing to do (ping, pong).
    Skip,
    End(Ending),
}

impl Session {
    /// Logs the connection in, then handles its messages until it ends.
    async fn run(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        let deadline = tokio::time::Instant::now() + self.state.settings.login_timeout;
        loop {
            let Ok(frame) = tokio::time::timeout_at(deadline, stream.next()).await else {
                info!(link = self.link, "no login in time; closing");
                self.close(CLOSE_POLICY, "login timeout").await;
                return Ending::Closing;
            };
            let frame = read(frame);
            if let Frame::Msg(ClientMsg::Ping) = frame {
                // A device check (the app's `/check`) times the round trip before any login;
                // such pings count against the connection's message limit.
                match self.admit(&frame).await {
                    Admit::Yes => self.send(ServerMsg::Pong).await,
                    Admit::Refuse => {}
                    Admit::Close => return Ending::Closing,
                }
                continue;
            }
            match frame {
                Frame::Msg(ClientMsg::Login {
                    user_id,
                    user_sig,
                    sdk_app_id,
                    resume,
                }) => match self.login(user_id, &user_sig, sdk_app_id, resume) {
                    Ok(()) => break,
                    Err((code, message)) => {
                        let reason = if code == ErrorCode::RateLimited {
                            "rate limit"
                        } else {
                            "login failed"
                        };
                        self.error(code, message, None).await;
                        self.close(CLOSE_POLICY, reason).await;
                        return Ending::Closing;
                    }
                },
                Frame::Msg(_) => {
                    self.error(ErrorCode::NotLoggedIn, "log in first".into(), None)
                        .await;
                    self.close(CLOSE_POLICY, "not logged in").await;
                    return Ending::Closing;
                }
                Frame::Bad(message) => {
                    self.error(ErrorCode::BadMessage, message, None).await;
                    self.close(CLOSE_POLICY, "not logged in").await;
                    return Ending::Closing;
                }
                Frame::Skip => {}
                Frame::End(ending) => return ending,
            }
        }
        let idle = self.state.settings.idle_timeout;
        // The warning instant is fixed once per expiry: recomputed on every frame, "half the
        // time left" would keep moving later and the warning come only seconds before the end.
        // A renewal moves the expiry, and the new one is warned of again.
        let mut warning = (self.expires_at, warning_instant(self.expires_at));
        let mut warned_of = None;
        loop {
            let end_at = self.expires_at;
            if warning.0 != end_at {
                warning = (end_at, warning_instant(end_at));
            }
            let warn_at = warning.1;
            let warned = warned_of == Some(end_at);
            let frame = tokio::select! {
                frame = tokio::time::timeout(idle, stream.next()) => match frame {
                    Ok(frame) => frame,
                    Err(_) => {
                        info!(link = self.link, user = ?self.user, "silent for {idle:?}: counted as gone");
                        return Ending::Silent;
                    }
                },
                _ = tokio::time::sleep_until(warn_at), if !warned => {
                    warned_of = Some(end_at);
                    let expires_in_secs = secs_until(self.expires_at);
                    self.send(ServerMsg::SessionExpiring { expires_in_secs }).await;
                    continue;
                }
                _ = tokio::time::sleep_until(end_at) => {
                    info!(link = self.link, user = ?self.user, "UserSig expired without renewal");
                    self.error(ErrorCode::SessionExpired, "the session's UserSig has expired: log in again".into(), None).await;
                    self.close(CLOSE_POLICY, "session expired").await;
                    return Ending::Closing;
                }
            };
            let counted = counts(&frame);
            let frame = read(frame);
            if counted {
                match self.admit(&frame).await {
                    Admit::Yes => {}
                    Admit::Refuse => continue,
                    Admit::Close => return Ending::Closing,
                }
            }
            match frame {
                Frame::Msg(ClientMsg::Renew { user_sig }) => match self.renew(&user_sig) {
                    Ok(expires_in_secs) => {
                        self.send(ServerMsg::Renewed { expires_in_secs }).await;
                    }
                    Err((code, message)) => self.error(code, message, None).await,
                },
                Frame::Msg(msg) => {
                    let req = match msg {
                        ClientMsg::Invite { req, .. } => Some(req),
                        _ => None,
                    };
                    if let (Some(req), Some(user)) = (req, &self.user) {
                        if let Err(e) = self.state.limits.invite(user, Instant::now()) {
                            info!(
                                link = self.link,
                                user, req, "invitation refused: rate limit"
                            );
                            self.error(ErrorCode::RateLimited, e.to_string(), Some(req))
                                .await;
                            continue;
                        }
                    }
                    let Some(device) = self.device else {
                        continue;
                    };
                    if let Err(e) = self.state.hub.handle_from(device, self.link, msg) {
                        debug!(link = self.link, device, %e, "request refused");
                        if let (Some(_), Some(user)) = (req, &self.user) {
                            // It rang no one: it does not count against the limit.
                            self.state.limits.invite_refused(user, Instant::now());
                        }
                        if e == HubError::NotLoggedIn {
                            // Replaced by a newer login, or taken over by a resume on another
                            // socket: the writer is closing or cut off.
                            continue;
                        }
                        self.error(e.code(), e.to_string(), req).await;
                    }
                }
                Frame::Bad(message) => self.error(ErrorCode::BadMessage, message, None).await,
                Frame::Skip => {}
                Frame::End(ending) => return ending,
            }
        }
    }

    /// Checks a `Login` and registers the connection with the hub (which answers `LoggedIn`),
    /// as a new device or, with `resume`, the device of a session it resumes. A claim of a
    /// call (in `resume`) that may create one counts against the user's invitation limit,
    /// like an `Invite`.
    fn login(
        &mut self,
        user_id: UserId,
        user_sig: &str,
        sdk_app_id: u32,
        resume: Option<Resume>,
    ) -> Result<(), (ErrorCode, String)> {
        let key = &self.state.key;
        validate_user_id(&user_id)
            .map_err(|e| (ErrorCode::BadUserId, format!("invalid user ID: {e}")))?;
        if sdk_app_id != key.sdk_app_id() {
            info!(link = self.link, user = %user_id, sdk_app_id, "login refused: wrong SDKAppID");
            return Err((
                ErrorCode::WrongSdkAppId,
                format!(
                    "this server serves SDKAppID {}, not {sdk_app_id}",
                    key.sdk_app_id()
                ),
            ));
        }
        let now = unix_now();
        let info = key.verify(&user_id, user_sig, now).map_err(|e| {
            info!(link = self.link, user = %user_id, %e, "login refused");
            usersig_error(&e)
        })?;
        self.state
            .limits
            .login(&user_id, Instant::now())
            .map_err(|e| {
                info!(link = self.link, user = %user_id, "login refused: rate limit");
                (ErrorCode::RateLimited, e.to_string())
            })?;
        let expires_at = expiry(info.time, info.expire, now);
        let ice_servers = (self.state.ice_servers)(&user_id);
        let claims = resume.as_ref().is_some_and(|r| r.call.is_some());
        let may_create_call = claims && self.state.limits.invite(&user_id, Instant::now()).is_ok();
        let login = Login {
            resume,
            may_create_call,
            ..Login::new(
                &user_id,
                self.handle.clone(),
                ice_servers,
                secs_until(expires_at),
            )
        };
        let joined = self.state.hub.login(self.link, login);
        if may_create_call && !joined.as_ref().is_ok_and(|j| j.created_call) {
            // It rang no one: it does not count against the limit.
            self.state.limits.invite_refused(&user_id, Instant::now());
        }
        let joined = joined.map_err(|e| (e.code(), e.to_string()))?;
        debug!(link = self.link, device = joined.device, user = %user_id, resumed = joined.resumed, "socket bound");
        self.device = Some(joined.device);
        self.user = Some(user_id);
        self.expires_at = expires_at;
        Ok(())
    }

    /// Checks a `Renew`: a valid UserSig for the same user extends the session. Returns the
    /// session's new lifetime in seconds.
    fn renew(&mut self, user_sig: &str) -> Result<u64, (ErrorCode, String)> {
        let user = self.user.as_deref().unwrap_or_default();
        let now = unix_now();
        let info = self
            .state
            .key
            .verify(user, user_sig, now)
            .map_err(|e| usersig_error(&e))?;
        // A renewal never shortens the session.
        self.expires_at = self.expires_at.max(expiry(info.time, info.expire, now));
        info!(link = self.link, user, "session renewed");
        Ok(secs_until(self.expires_at))
    }

    /// Sends `msg` to this connection.
    async fn send(&self, msg: ServerMsg) {
        let _ = self.outbox.send(Box::new(Outgoing::Msg(msg))).await;
    }

    /// Sends `Error` to this connection.
    async fn error(&self, code: ErrorCode, message: String, req: Option<u32>) {
        let msg = ServerMsg::Error { code, message, req };
        let _ = self.outbox.send(Box::new(Outgoing::Msg(msg))).await;
    }

    /// Asks the writer to close the socket.
    async fn close(&self, code: u16, reason: &'static str) {
        let _ = self
            .outbox
            .send(Box::new(Outgoing::Close { code, reason }))
            .await;
    }

    /// Counts a frame against the connection's message limit. One over the limit is dropped:
    /// a message is answered `Error{RateLimited}` (with the `req` of an `Invite`) when the
    /// outbox has room, a ping frame is not. After too many refusals in a row the connection
    /// is told to close (1008 "rate limit").
    async fn admit(&mut self, frame: &Frame) -> Admit {
        let admit = self.limiter.admit(Instant::now());
        if admit == Admit::Yes {
            return admit;
        }
        let req = match frame {
            Frame::Msg(ClientMsg::Invite { req, .. }) => Some(*req),
            _ => None,
        };
        if matches!(frame, Frame::Msg(_) | Frame::Bad(_)) {
            let message = self.state.limits.messages_limited().to_string();
            let code = ErrorCode::RateLimited;
            let msg = ServerMsg::Error { code, message, req };
            // A flooding client may not read: never wait for room in its outbox.
            let _ = self.outbox.try_send(Box::new(Outgoing::Msg(msg)));
        }
        if admit == Admit::Close {
            info!(link = self.link, user = ?self.user, "too many messages over the rate limit: closing");
            self.close(CLOSE_POLICY, "rate limit").await;
        } else {
            debug!(link = self.link, "message dropped: rate limit");
        }
        admit
    }
}

/// How long before a UserSig expires the session is warned: five minutes, or half the lifetime
/// left when that is shorter.
const EXPIRY_WARNING_SECS: u64 = 300;

/// When a UserSig issued at `time` (Unix seconds) for `expire` seconds expires, on the monotonic
/// clock, seen at Unix time `now`.
fn expiry(time: u64, expire: u64, now: u64) -> tokio::time::Instant {
    let left = time.saturating_add(expire).saturating_sub(now);
    tokio::time::Instant::now() + Duration::from_secs(left)
}

/// When to warn a session that ends at `end`: [`EXPIRY_WARNING_SECS`] before, or halfway when
/// less time than twice that is left.
fn warning_instant(end: tokio::time::Instant) -> tokio::time::Instant {
    let left = secs_until(end);
    end - Duration::from_secs(EXPIRY_WARNING_SECS.min(left / 2))
}

/// Whole seconds from now until `at` (0 when past).
fn secs_until(at: tokio::time::Instant) -> u64 {
    at.saturating_duration_since(tokio::time::Instant::now())
        .as_secs()
}

/// The protocol's error for a UserSig that does not verify: a distinct code for each reason.
fn usersig_error(error: &UserSigError) -> (ErrorCode, String) {
    let code = match error {
        UserSigError::Expired => ErrorCode::UserSigExpired,
        UserSigError::WrongUser => ErrorCode::UserSigWrongUser,
        UserSigError::WrongAppId { .. } => ErrorCode::WrongSdkAppId,
        UserSigError::Malformed(_) | UserSigError::BadSignature => ErrorCode::BadUserSig,
    };
    (code, error.to_string())
}

/// Whether a frame counts against the message limit: data frames and pings do, pongs (the
/// answers to the server's pings) and the end of the stream do not.
fn counts(frame: &Option<Result<Message, axum::Error>>) -> bool {
    matches!(
        frame,
        Some(Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_)))
    )
}

/// Turns what the socket gave into a protocol message, or says why it is not one.
fn read(frame: Option<Result<Message, axum::Error>>) -> Frame {
    match frame {
        None => Frame::End(Ending::Gone),
        Some(Err(e)) => Frame::End(if is_too_big(&e) {
            Ending::TooBig
        } else {
            debug!(%e, "socket error");
            Ending::Gone
        }),
        Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
            Ok(msg) => Frame::Msg(msg),
            Err(e) => Frame::Bad(format!("not a valid message: {e}")),
        },
        Some(Ok(Message::Binary(_))) => {
            Frame::Bad("binary frames are not supported: send JSON text".into())
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Frame::Skip,
        Some(Ok(Message::Close(Some(frame)))) if frame.code == CLOSE_RECONNECTING => {
            Frame::End(Ending::ClientReconnecting)
        }
        Some(Ok(Message::Close(_))) => Frame::End(Ending::ClientClosed),
    }
}

/// Whether a read failed because the client's message was over the size limit.
fn is_too_big(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}
