//! The signaling WebSocket at `/ws`: one task per connection that logs it in, feeds its
//! messages to the [`Hub`](crate::Hub), and writes its outbox into the socket.
//!
//! A connection must log in within the login timeout with its first message; anything else
//! gets an `Error` and the connection is closed (code 1008), except a `Ping`, answered `Pong`
//! so that a device check can time the round trip without logging in. Once logged in, a bad
//! message gets an `Error` and the connection stays open; a frame that breaks the WebSocket
//! protocol, or one over [`MAX_MESSAGE_SIZE`], closes it (codes 1002, 1007, 1009).
//!
//! The WebSocket layer is the server's own ([`handshake`], [`frame`], [`socket`]): an idle
//! connection holds no read or write buffer, which tungstenite's does (see [`socket`]).
//!
//! Heartbeat: the server sends a WebSocket ping every third of the idle timeout, which browsers
//! answer on their own; a logged-in connection from which nothing at all arrives for the idle
//! timeout is dead (a laptop lid closed, a network gone).
//!
//! Each socket is a *link* to a hub device. A login binds it to a new device, or, resuming a
//! session, to the device of that session (cutting off the device's older socket, if any). When
//! the socket ends, the hub hears how: a close frame from the client, or a close the server
//! chose (session expired, a bad frame) removes the device at once; a socket that failed,
//! fell silent, whose writes failed, or that the client closed with [`CLOSE_RECONNECTING`] (to
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
//! | (the client's) | (none) | the client closed the socket: its close frame is echoed |
//! | 1000 | `logged in elsewhere` | single-device mode: a newer login of the same user took over (after `KickedOut`) |
//! | 1008 | `login timeout` | no `Login` within the login timeout |
//! | 1008 | `not logged in` | the first message (pings aside) is not a `Login`, or not a valid message |
//! | 1008 | `login failed` | the `Login` is refused (bad UserSig, wrong SDKAppID, too many devices, ...), after an `Error` |
//! | 1008 | `rate limit` | a login over the user's login limit (after `Error{RateLimited}`), or 3 × `--msg-burst` messages refused in a row |
//! | 1008 | `session expired` | the session's UserSig expired without a `Renew`, after `Error{SessionExpired}` |
//! | 1002 | what is wrong, e.g. `unmasked client frame` | a frame the WebSocket protocol forbids (RSV bits set: no extension is negotiated) |
//! | 1007 | `invalid UTF-8` | a text message, or a close reason, that is not UTF-8 |
//! | 1009 | `message too big` | a message or frame over [`MAX_MESSAGE_SIZE`] |
//! | 1012 | `server restarting` | the server stops: reconnect (and resume) at once |
//!
//! A connection whose outbox overflows (it does not read) or that stays silent for the idle
//! timeout is dropped without a close frame.

mod frame;
mod handshake;
mod socket;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use webcall_protocol::{
    validate_user_id, ClientMsg, ErrorCode, Resume, ServerMsg, UserId, CLOSE_RECONNECTING,
    CLOSE_SERVICE_RESTART,
};

use crate::hub::outbox::{self, outbox};
use crate::hub::{ConnHandle, ConnId, HubError, Login, Outgoing, CLOSE_POLICY, OUTBOX_CAPACITY};
use crate::limits::{Admit, ConnectionSlot, MessageLimiter};
use crate::{unix_now, AppState, UserSigError};
use frame::{FrameError, Message};
use handshake::{Upgrade, Upgraded};
use socket::{Socket, SocketError};

/// The largest message (and frame) a client may send, in bytes.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// How long a closing connection may take to finish the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// `GET /ws`: upgrades to the signaling WebSocket, unless the handshake comes from a page of a
/// foreign origin (403) or every connection slot is taken (503). A request that is not a
/// WebSocket handshake is refused (400, 405 or 426) before either is looked at.
pub(crate) async fn handler(
    upgrade: Upgrade,
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
    let (response, upgraded) = upgrade.accept();
    // The connection runs in a task of its own, which the hub can abort (see `serve`); it
    // starts once the 101 answer is out and the stream is the WebSocket's. The slot is held
    // until the connection is over.
    let tracker = state.tracker.clone();
    let (me_tx, me) = oneshot::channel();
    let task = tokio::spawn(tracker.track_future(serve(upgraded, state, slot, me)));
    let _ = me_tx.send(task.abort_handle());
    response
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
    /// The client broke the WebSocket protocol, or sent a message over [`MAX_MESSAGE_SIZE`]:
    /// it is told why with a close frame.
    BadFrame(FrameError),
    /// Writing stopped: the hub closed the connection (replaced) or the socket failed.
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
            Ending::ClientClosed | Ending::Closing | Ending::BadFrame(_) | Ending::Shutdown => true,
            Ending::ClientReconnecting | Ending::Gone | Ending::WriterDone | Ending::Silent => {
                false
            }
        }
    }
}

/// Runs one connection from upgrade to close, in one task: it waits for the upgraded stream,
/// reads the socket, writes the outbox into it, pings, and keeps the connection's deadlines on
/// one timer. `me` brings the handle that aborts this task; the hub uses it to cut off a
/// connection whose outbox overflows (it does not read). The connection `slot` is given back
/// when the task ends.
///
/// One task per connection (rather than a reader and a writer over a split socket) saves an
/// idle connection a task, a lock around the socket and a ping timer, and a relayed message
/// a lock and a wake-up (measured: `cargo xtask bench idle relay`).
///
/// Not an `async fn`: its arguments would be stored twice in the future, as arguments and as
/// the body's locals (~250 bytes per connection); captured by an `async move` block and used
/// in place, they are stored once.
#[allow(clippy::manual_async_fn)] // See above: on purpose.
fn serve(
    upgraded: hyper::upgrade::OnUpgrade,
    state: AppState,
    slot: ConnectionSlot,
    me: oneshot::Receiver<AbortHandle>,
) -> impl std::future::Future<Output = ()> + Send {
    async move {
        let mut socket = match upgraded.await {
            Ok(io) => Socket::new(Upgraded::new(io)),
            Err(e) => {
                debug!(%e, "WebSocket upgrade failed");
                return;
            }
        };
        let Ok(me) = me.await else {
            return;
        };
        run(&mut socket, &state, me).await;
        drop(slot);
    }
}

/// The connection's life on `socket`, after the upgrade.
async fn run(socket: &mut Socket<Upgraded>, state: &AppState, me: AbortHandle) {
    let link = state.hub.next_conn_id();
    let (outbox, mut inbox) = outbox(OUTBOX_CAPACITY);
    let now = Instant::now();
    let mut session = Session {
        link,
        device: None,
        handle: ConnHandle::queued(outbox.clone(), Some(me)),
        outbox,
        limiter: state.limits.message_limiter(now),
        state,
        user: None,
        expires_at: now,
    };
    debug!(link, "connection opened");
    let mut clock = Clock::new(&state.settings, now);
    let timer = tokio::time::sleep_until(clock.next(None));
    tokio::pin!(timer);
    let shutdown = state.shutdown.cancelled();
    tokio::pin!(shutdown);

    let ending = loop {
        let due = clock.next(session.expiry());
        if timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        tokio::select! {
            biased;
            _ = &mut shutdown => break Ending::Shutdown,
            batch = inbox.recv() => {
                if write(socket, batch).await.is_err() {
                    break Ending::WriterDone;
                }
            }
            frame = socket.next() => {
                clock.heard(Instant::now());
                // A pong, or the echo of a close frame.
                if socket.has_unsent() && socket.flush().await.is_err() {
                    break Ending::WriterDone;
                }
                if let Some(ending) = session.on_frame(frame) {
                    break ending;
                }
            }
            () = &mut timer => match clock.fired(Instant::now(), &mut session) {
                Due::Nothing => {}
                Due::Ping => {
                    if socket.send(|frames| frames.ping()).await.is_err() {
                        break Ending::WriterDone;
                    }
                }
                Due::End(ending) => break ending,
            },
        }
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
        Ending::BadFrame(e) => Some((e.close_code(), e.reason())),
        _ => None,
    };
    if let Some((code, reason)) = close {
        session.close(code, reason);
    }
    drop(session);
    let queued = if matches!(
        ending,
        Ending::Closing | Ending::Shutdown | Ending::BadFrame(_)
    ) {
        // What is queued goes out, the close frame last.
        inbox.take()
    } else {
        Default::default()
    };
    drop(inbox);
    // Finish the close handshake: write, then read until the client's close frame (or the
    // end), so that the socket closes cleanly. After a protocol error the stream is not read
    // (`Socket` stops reading it), and a lost or silent one is not waited for. (The closing
    // future is boxed: made only at the end, it takes no room in every connection's future.)
    if !matches!(ending, Ending::Gone | Ending::Silent) {
        let _ = Box::pin(tokio::time::timeout(CLOSE_GRACE, async {
            let _ = write(socket, queued).await;
            socket.finish().await;
        }))
        .await;
    }
    debug!(link, "connection closed");
}

/// The writer stopped: a close frame went out, or the socket failed.
struct Stopped;

/// Writes a batch of queued messages into the socket, each serialized straight into the write
/// buffer, then flushes once (one write for a burst instead of one per message). After a close
/// frame nothing more is written.
async fn write(
    socket: &mut Socket<Upgraded>,
    batch: std::collections::VecDeque<Outgoing>,
) -> Result<(), Stopped> {
    let mut closed = false;
    let sent = socket
        .send(|frames| {
            for out in batch {
                match out {
                    Outgoing::Msg(msg) => {
                        if let Err(e) = frames.json(&msg) {
                            tracing::error!("cannot serialize {msg:?}: {e}");
                        }
                    }
                    Outgoing::Close { code, reason } => {
                        frames.close(code, reason);
                        closed = true;
                        break;
                    }
                }
            }
        })
        .await;
    sent.map_err(|_| Stopped)?;
    if closed {
        return Err(Stopped);
    }
    Ok(())
}

/// A connection's deadlines, kept on one timer: the next ping, the login timeout (until logged
/// in), the idle timeout, the UserSig's expiry warning and the expiry itself (once logged in).
///
/// The timer is moved only when one of them changes, not for every frame: hearing from the
/// client just notes the time, and when the idle deadline comes it is checked against the
/// last time the client was heard and moved on.
struct Clock {
    ping_every: Duration,
    idle: Duration,
    next_ping: Instant,
    /// Until logged in: when the login must have come.
    login_by: Instant,
    /// When silence is checked next.
    idle_check: Instant,
    /// When the client was last heard from.
    heard: Instant,
    /// The expiry the warning instant belongs to, and the warning instant: fixed once per
    /// expiry (recomputed on every frame, "half the time left" would keep moving later and the
    /// warning come only seconds before the end). A renewal moves the expiry, and the new one
    /// is warned of again.
    warning: Option<(Instant, Instant)>,
    /// The expiry last warned of.
    warned_of: Option<Instant>,
}

/// What the connection's timer says to do.
enum Due {
    Nothing,
    Ping,
    End(Ending),
}

impl Clock {
    fn new(settings: &crate::Settings, now: Instant) -> Clock {
        let ping_every = settings.idle_timeout / 3;
        Clock {
            ping_every,
            idle: settings.idle_timeout,
            next_ping: now + ping_every,
            login_by: now + settings.login_timeout,
            idle_check: now + settings.idle_timeout,
            heard: now,
            warning: None,
            warned_of: None,
        }
    }

    /// Something arrived from the client.
    fn heard(&mut self, now: Instant) {
        self.heard = now;
    }

    /// When the timer must fire next, given the session's expiry (`None`: not logged in).
    fn next(&mut self, expiry: Option<Instant>) -> Instant {
        let Some(end) = expiry else {
            return self.next_ping.min(self.login_by);
        };
        let warn_at = match self.warning {
            Some((of, at)) if of == end => at,
            _ => {
                let at = warning_instant(end);
                self.warning = Some((end, at));
                at
            }
        };
        let mut due = self.next_ping.min(self.idle_check).min(end);
        if self.warned_of != Some(end) {
            due = due.min(warn_at);
        }
        due
    }

    /// The timer fired at `now`: what is due.
    fn fired(&mut self, now: Instant, session: &mut Session) -> Due {
        let Some(end) = session.expiry() else {
            if now >= self.login_by {
                info!(link = session.link, "no login in time; closing");
                session.close(CLOSE_POLICY, "login timeout");
                return Due::End(Ending::Closing);
            }
            return self.ping_if_due(now);
        };
        if now >= end {
            info!(link = session.link, user = ?session.user, "UserSig expired without renewal");
            session.error(
                ErrorCode::SessionExpired,
                "the session's UserSig has expired: log in again".into(),
                None,
            );
            session.close(CLOSE_POLICY, "session expired");
            return Due::End(Ending::Closing);
        }
        if now >= self.idle_check {
            let silent_since = self.heard;
            if now.saturating_duration_since(silent_since) >= self.idle {
                let idle = self.idle;
                info!(link = session.link, user = ?session.user, "silent for {idle:?}: counted as gone");
                return Due::End(Ending::Silent);
            }
            self.idle_check = silent_since + self.idle;
        }
        if self.warned_of != Some(end) {
            if let Some((of, at)) = self.warning {
                if of == end && now >= at {
                    self.warned_of = Some(end);
                    let expires_in_secs = secs_until(end);
                    session.send(ServerMsg::SessionExpiring { expires_in_secs });
                }
            }
        }
        self.ping_if_due(now)
    }

    fn ping_if_due(&mut self, now: Instant) -> Due {
        if now >= self.next_ping {
            self.next_ping = now + self.ping_every;
            Due::Ping
        } else {
            Due::Nothing
        }
    }
}

/// A connection's session: its login, its limits, and what it says to the hub.
struct Session<'a> {
    /// This socket.
    link: ConnId,
    /// The hub device the socket is bound to, once logged in.
    device: Option<ConnId>,
    /// The handle the hub gets at login.
    handle: ConnHandle,
    /// For answers the connection sends itself (errors), queued behind what the hub queued.
    outbox: outbox::Sender,
    state: &'a AppState,
    /// Set once logged in.
    user: Option<UserId>,
    /// When the session's UserSig expires (on the monotonic clock, so that a change of the
    /// system time does not move it); the session ends then unless it is renewed.
    expires_at: Instant,
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

impl Session<'_> {
    /// When the session expires, once logged in.
    fn expiry(&self) -> Option<Instant> {
        self.user.as_ref().map(|_| self.expires_at)
    }

    /// Handles what the socket gave: `Some` when the connection ends. Before the login, the
    /// first message (pings aside) must be a `Login`.
    fn on_frame(&mut self, frame: Option<Result<Message, SocketError>>) -> Option<Ending> {
        if self.user.is_none() {
            return self.before_login(read(frame));
        }
        let counted = counts(&frame);
        let frame = read(frame);
        if counted {
            match self.admit(&frame) {
                Admit::Yes => {}
                Admit::Refuse => return None,
                Admit::Close => return Some(Ending::Closing),
            }
        }
        match frame {
            Frame::Msg(ClientMsg::Renew { user_sig }) => match self.renew(&user_sig) {
                Ok(expires_in_secs) => self.send(ServerMsg::Renewed { expires_in_secs }),
                Err((code, message)) => self.error(code, message, None),
            },
            Frame::Msg(msg) => self.pass_to_hub(msg),
            Frame::Bad(message) => self.error(ErrorCode::BadMessage, message, None),
            Frame::Skip => {}
            Frame::End(ending) => return Some(ending),
        }
        None
    }

    /// A frame before the login.
    fn before_login(&mut self, frame: Frame) -> Option<Ending> {
        let refuse = |session: &mut Session, code, message, reason| {
            session.error(code, message, None);
            session.close(CLOSE_POLICY, reason);
            Some(Ending::Closing)
        };
        match frame {
            Frame::Msg(ClientMsg::Ping) => {
                // A device check (the app's `/check`) times the round trip before any login;
                // such pings count against the connection's message limit.
                match self.admit(&frame) {
                    Admit::Yes => self.send(ServerMsg::Pong),
                    Admit::Refuse => {}
                    Admit::Close => return Some(Ending::Closing),
                }
                None
            }
            Frame::Msg(ClientMsg::Login {
                user_id,
                user_sig,
                sdk_app_id,
                resume,
            }) => match self.login(user_id, &user_sig, sdk_app_id, resume) {
                Ok(()) => None,
                Err((code, message)) => {
                    let reason = if code == ErrorCode::RateLimited {
                        "rate limit"
                    } else {
                        "login failed"
                    };
                    refuse(self, code, message, reason)
                }
            },
            Frame::Msg(_) => refuse(
                self,
                ErrorCode::NotLoggedIn,
                "log in first".into(),
                "not logged in",
            ),
            Frame::Bad(message) => refuse(self, ErrorCode::BadMessage, message, "not logged in"),
            Frame::Skip => None,
            Frame::End(ending) => Some(ending),
        }
    }

    /// Hands a logged-in connection's message to the hub (an `Invite` first passes the user's
    /// invitation limit), and answers a refusal with an `Error`.
    fn pass_to_hub(&mut self, msg: ClientMsg) {
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
                self.error(ErrorCode::RateLimited, e.to_string(), Some(req));
                return;
            }
        }
        let Some(device) = self.device else {
            return;
        };
        if let Err(e) = self.state.hub.handle_from(device, self.link, msg) {
            debug!(link = self.link, device, %e, "request refused");
            if let (Some(_), Some(user)) = (req, &self.user) {
                // It rang no one: it does not count against the limit.
                self.state.limits.invite_refused(user, Instant::now());
            }
            if e == HubError::NotLoggedIn {
                // Replaced by a newer login, or taken over by a resume on another socket:
                // the connection is closing or cut off.
                return;
            }
            self.error(e.code(), e.to_string(), req);
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

    /// Queues `msg` for this connection. A full outbox (the client does not read) drops it:
    /// the hub cuts such a connection off.
    fn send(&self, msg: ServerMsg) {
        let _ = self.outbox.try_send(Outgoing::Msg(msg));
    }

    /// Queues `Error` for this connection.
    fn error(&self, code: ErrorCode, message: String, req: Option<u32>) {
        self.send(ServerMsg::Error { code, message, req });
    }

    /// Queues a close frame: the connection ends once it is written.
    fn close(&self, code: u16, reason: &'static str) {
        let _ = self.outbox.try_send(Outgoing::Close { code, reason });
    }

    /// Counts a frame against the connection's message limit. One over the limit is dropped:
    /// a message is answered `Error{RateLimited}` (with the `req` of an `Invite`), a ping
    /// frame is not. After too many refusals in a row the connection is told to close (1008
    /// "rate limit").
    fn admit(&mut self, frame: &Frame) -> Admit {
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
            self.error(code, message, req);
        }
        if admit == Admit::Close {
            info!(link = self.link, user = ?self.user, "too many messages over the rate limit: closing");
            self.close(CLOSE_POLICY, "rate limit");
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
fn counts(frame: &Option<Result<Message, SocketError>>) -> bool {
    matches!(
        frame,
        Some(Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_)))
    )
}

/// Turns what the socket gave into a protocol message, or says why it is not one.
fn read(frame: Option<Result<Message, SocketError>>) -> Frame {
    match frame {
        None => Frame::End(Ending::Gone),
        Some(Err(SocketError::Frame(e))) => {
            debug!(%e, "WebSocket protocol error");
            Frame::End(Ending::BadFrame(e))
        }
        Some(Err(SocketError::Io(e))) => {
            debug!(%e, "socket error");
            Frame::End(Ending::Gone)
        }
        Some(Ok(Message::Text(text))) => match serde_json::from_str(&text) {
            Ok(msg) => Frame::Msg(msg),
            Err(e) => Frame::Bad(format!("not a valid message: {e}")),
        },
        Some(Ok(Message::Binary(_))) => {
            Frame::Bad("binary frames are not supported: send JSON text".into())
        }
        Some(Ok(Message::Ping(_) | Message::Pong)) => Frame::Skip,
        Some(Ok(Message::Close(Some(code)))) if code == CLOSE_RECONNECTING => {
            Frame::End(Ending::ClientReconnecting)
        }
        Some(Ok(Message::Close(_))) => Frame::End(Ending::ClientClosed),
    }
}
