//! The hub: who is online, on which devices, who watches whose presence, and every call in
//! progress.
//!
//! All signaling decisions are made here. The hub is shared by every connection task behind one
//! [`std::sync::Mutex`] that is never held across an `.await`: each operation locks, decides,
//! queues the resulting messages on the connections' outboxes (bounded channels drained by each
//! connection's task) and unlocks. Queuing never waits: a connection whose outbox is full
//! does not read what it is sent, and is disconnected. Because every operation is one critical
//! section, races between devices (two accepts, two users calling each other) are decided by the
//! order in which their messages reach the lock, and every device of both parties hears an
//! outcome in the same step.
//!
//! A user may be logged in on up to [`HubSettings::max_devices`] devices at once: an invitation
//! rings them all and the first to accept gets the call. With [`HubSettings::single_device`] a
//! new login replaces the older one instead (TRTCCalling's behaviour, which tells the older one
//! `KickedOut`).
//!
//! A device is a logged-in session, not a socket: every message it is sent is numbered and
//! kept until acknowledged, and when its socket drops without a close it waits
//! [`HubSettings::resume_grace_secs`] for the client to come back on a new socket and resume
//! ([`Hub::login`] with a [`Resume`]), its calls standing meanwhile. After a server restart
//! clients come back with claims of their calls, from which the calls are restored
//! ([`HubSettings::restore_window_secs`]).
//!
//! The rules for calls are in the `rules` module, presence in `presence`, the call record in
//! `call`, devices and their numbered messages in `device`, restoring calls from claims in
//! `restore`.

mod call;
mod device;
mod idset;
pub mod outbox;
mod presence;
mod restore;
mod rules;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::{info, warn};
use webcall_protocol::{
    CallId, ClientMsg, ErrorCode, IceServer, Outcome, Resume, ServerMsg, UserId, UserIdError,
    DEFAULT_RING_TIMEOUT_SECS, MAX_RING_TIMEOUT_SECS, MAX_WATCHED,
};

use call::{Call, EndedCalls, Role};
pub use call::{MAX_HELD_BYTES, MAX_HELD_SIGNALS, UNBOUND};
use device::Conn;
pub use device::REPLAY_CAPACITY;
use idset::IdSet;

/// Identifies, for the life of the server, a WebSocket connection (a *link*) or a device (a
/// logged-in session, which has the ID of the link it logged in on and may move to later
/// ones). IDs start at 1; 0 is [`UNBOUND`].
pub type ConnId = u64;

/// How many messages may wait in a connection's outbox before the connection counts as stuck
/// and is disconnected.
pub const OUTBOX_CAPACITY: usize = 256;

/// WebSocket close code for a normal closure.
pub const CLOSE_NORMAL: u16 = 1000;

/// WebSocket close code for a policy violation (no login, bad login).
pub const CLOSE_POLICY: u16 = 1008;

/// How many devices a user may be logged in on at once, unless configured otherwise.
pub const DEFAULT_MAX_DEVICES: u32 = 5;

/// How long an accepted call's audio may take to connect, unless configured otherwise, in
/// seconds.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u32 = 30;

/// How long a device whose socket dropped waits for its client to resume, unless configured
/// otherwise, in seconds.
pub const DEFAULT_RESUME_GRACE_SECS: u32 = 10;

/// How long a call restored from one party's claim waits for the other party's, unless
/// configured otherwise, in seconds.
pub const DEFAULT_RESTORE_WINDOW_SECS: u32 = 15;

/// What a connection's task is asked to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Send this message as a JSON text frame.
    Msg(ServerMsg),
    /// Send a close frame with this code and reason, then stop writing.
    Close { code: u16, reason: &'static str },
}

/// How the hub reaches a connection: its outbox, and the means to stop its task when the
/// connection stops reading.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    outbox: Outbox,
    task: Option<AbortHandle>,
}

/// A connection's outbox: the server's sockets use an [`outbox`] (~80 bytes idle), the hub's
/// tests a tokio channel they can read.
#[derive(Debug, Clone)]
enum Outbox {
    Plain(mpsc::Sender<Outgoing>),
    Queue(outbox::Sender),
}

impl ConnHandle {
    /// A handle that queues on `outbox` and aborts `task` (the connection's task, which drains
    /// the outbox into the socket) if the connection has to be cut off.
    pub fn new(outbox: mpsc::Sender<Outgoing>, task: Option<AbortHandle>) -> Self {
        ConnHandle {
            outbox: Outbox::Plain(outbox),
            task,
        }
    }

    /// [`ConnHandle::new`] for an [`outbox`], the server's sockets' (it costs an idle
    /// connection ~500 bytes less than a tokio channel).
    pub fn queued(outbox: outbox::Sender, task: Option<AbortHandle>) -> Self {
        ConnHandle {
            outbox: Outbox::Queue(outbox),
            task,
        }
    }

    /// Queues `out` without waiting; false when the outbox is full (the connection does not
    /// read). A closed outbox (the connection is ending) takes anything.
    fn try_queue(&self, out: Outgoing) -> bool {
        use mpsc::error::TrySendError::Full;
        match &self.outbox {
            Outbox::Plain(outbox) => !matches!(outbox.try_send(out), Err(Full(_))),
            Outbox::Queue(outbox) => outbox.try_send(out).is_ok(),
        }
    }
}

/// The hub's rules that a deployment may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubSettings {
    /// Ring timeout for invitations that name none, in seconds (clamped to
    /// 1..=[`MAX_RING_TIMEOUT_SECS`]).
    pub ring_timeout_secs: u32,
    /// How long an accepted call's audio may take to connect before the call fails, in
    /// seconds (at least 1).
    pub connect_timeout_secs: u32,
    /// How many devices one user may be logged in on at once (at least 1).
    pub max_devices: u32,
    /// One device per user: a new login replaces the older one, which is told `KickedOut`.
    pub single_device: bool,
    /// Clients must relay all media through TURN; sent in `LoggedIn`.
    pub relay_only: bool,
    /// How long a device whose socket dropped without a close keeps its place (and its calls)
    /// for the client to resume, in seconds; 0 removes it at once.
    pub resume_grace_secs: u32,
    /// How long a call restored from one party's claim waits for the other party to claim it
    /// too, in seconds (at least 1).
    pub restore_window_secs: u32,
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            ring_timeout_secs: DEFAULT_RING_TIMEOUT_SECS,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            max_devices: DEFAULT_MAX_DEVICES,
            single_device: false,
            relay_only: false,
            resume_grace_secs: DEFAULT_RESUME_GRACE_SECS,
            restore_window_secs: DEFAULT_RESTORE_WINDOW_SECS,
        }
    }
}

/// A login whose UserSig the caller has verified, for [`Hub::login`].
#[derive(Debug)]
pub struct Login {
    /// The user logging in.
    pub user: UserId,
    /// The socket it comes on.
    pub handle: ConnHandle,
    /// The ICE servers for `LoggedIn`.
    pub ice_servers: Vec<IceServer>,
    /// When the UserSig expires, for `LoggedIn`.
    pub expires_in_secs: u64,
    /// The reconnecting client's session and call.
    pub resume: Option<Resume>,
    /// Whether a call claim may create a call the hub does not know (the user is within its
    /// invitation limit); a claim that may not is refused.
    pub may_create_call: bool,
}

impl Login {
    /// A first login of `user` on the socket of `handle` (no [`Resume`]).
    pub fn new(
        user: &str,
        handle: ConnHandle,
        ice_servers: Vec<IceServer>,
        expires_in_secs: u64,
    ) -> Login {
        Login {
            user: user.to_owned(),
            handle,
            ice_servers,
            expires_in_secs,
            resume: None,
            may_create_call: true,
        }
    }

    /// This login, reconnecting with `resume`.
    pub fn resuming(self, resume: Resume) -> Login {
        Login {
            resume: Some(resume),
            ..self
        }
    }
}

/// What [`Hub::login`] made of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// The device the socket is bound to: for [`Hub::handle_from`] and
    /// [`Hub::disconnected`].
    pub device: ConnId,
    /// The login resumed a session: the device is an older one.
    pub resumed: bool,
    /// The login's call claim created a call the hub did not know.
    pub created_call: bool,
}

/// Why a request from a connection was refused. Nothing changed in the hub when one is
/// returned; the connection is told with [`ServerMsg::Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// The connection has not logged in (or was replaced by a newer login).
    #[error("not logged in")]
    NotLoggedIn,
    /// A second `Login` on a logged-in connection.
    #[error("already logged in")]
    AlreadyLoggedIn,
    /// The user is logged in on as many devices as allowed.
    #[error("you are logged in on too many devices (at most {0}); log out on one first")]
    TooManyDevices(u32),
    /// A user ID in the request is not a valid user ID.
    #[error("invalid user ID: {0}")]
    BadUserId(UserIdError),
    /// The caller called themselves.
    #[error("you cannot call yourself")]
    CallSelf,
    /// A video call was asked for.
    #[error("video calls are not supported")]
    VideoUnsupported,
    /// The caller already has a call ringing or going, on this device or another.
    #[error("{0}")]
    AlreadyInCall(&'static str),
    /// The call does not exist or is not this user's.
    #[error("no such call")]
    NoSuchCall,
    /// The call ended already; says how.
    #[error("the call has already ended: {0}")]
    CallOver(&'static str),
    /// The action does not fit the caller's role or the call's phase.
    #[error("{0}")]
    WrongState(&'static str),
    /// The party sent more signals than are held while the call rings or the other party's
    /// device is not back.
    #[error("too many signals held for the other party (at most {MAX_HELD_SIGNALS} messages, {MAX_HELD_BYTES} bytes)")]
    TooManyHeld,
    /// More IDs were asked to be watched than allowed.
    #[error("at most {MAX_WATCHED} user IDs can be watched")]
    TooManyWatched,
}

impl HubError {
    /// The protocol's code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::NotLoggedIn | HubError::AlreadyLoggedIn => ErrorCode::NotLoggedIn,
            HubError::TooManyDevices(_) => ErrorCode::TooManyDevices,
            HubError::BadUserId(_) => ErrorCode::BadUserId,
            HubError::CallSelf => ErrorCode::CallSelf,
            HubError::VideoUnsupported => ErrorCode::Unsupported,
            HubError::AlreadyInCall(_) => ErrorCode::AlreadyInCall,
            HubError::NoSuchCall | HubError::CallOver(_) => ErrorCode::NoSuchCall,
            HubError::WrongState(_) | HubError::TooManyHeld => ErrorCode::WrongState,
            HubError::TooManyWatched => ErrorCode::BadMessage,
        }
    }
}

/// Why a device leaves the hub; decides how its call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    /// The socket closed, or failed or fell silent and was not resumed in time.
    Disconnected,
    /// A newer login of the same user took over (single-device mode).
    Replaced,
    /// Its outbox overflowed (it does not read), or its replay buffer while away.
    Stuck,
}

/// The signaling hub. Create with [`Hub::new`]; share the `Arc`.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<State>,
    next_conn: AtomicU64,
    settings: HubSettings,
    /// This hub, for the timers it spawns.
    me: Weak<Hub>,
    /// Where ended calls are recorded ([`Hub::set_history`]); none until set.
    history: std::sync::OnceLock<crate::history::History>,
}

/// Everything behind the hub's lock.
#[derive(Debug, Default)]
struct State {
    /// Each online user's devices, oldest first.
    users: HashMap<UserId, IdSet>,
    /// Each logged-in device, connected or away.
    conns: HashMap<ConnId, Conn>,
    /// Every ringing or active call.
    calls: HashMap<CallId, Call>,
    /// The call each user is in, ringing or active, as caller or callee.
    busy: HashMap<UserId, CallId>,
    /// The devices watching each user's presence.
    watchers: HashMap<UserId, IdSet>,
    /// Calls that ended lately, for clear answers to late actions.
    ended: EndedCalls,
    /// Devices whose outbox (or, while away, replay buffer) overflowed during the current
    /// operation.
    stuck: Vec<ConnId>,
    /// Users whose devices came or went in this operation, with whether they were online
    /// before it; their watchers are told at its end if that changed.
    presence_dirty: HashMap<UserId, bool>,
    /// Ringing calls whose callee's devices came or went in this operation; their callers are
    /// told the new count at its end.
    ringing_dirty: HashSet<CallId>,
}

impl Hub {
    /// A hub with `settings`.
    pub fn new(settings: HubSettings) -> Arc<Hub> {
        let settings = HubSettings {
            ring_timeout_secs: settings.ring_timeout_secs.clamp(1, MAX_RING_TIMEOUT_SECS),
            connect_timeout_secs: settings.connect_timeout_secs.max(1),
            max_devices: settings.max_devices.max(1),
            single_device: settings.single_device,
            relay_only: settings.relay_only,
            resume_grace_secs: settings.resume_grace_secs,
            restore_window_secs: settings.restore_window_secs.max(1),
        };
        Arc::new_cyclic(|me| Hub {
            state: Mutex::default(),
            next_conn: AtomicU64::new(1),
            settings,
            me: me.clone(),
            history: std::sync::OnceLock::new(),
        })
    }

    /// Records every call that ends from now on in `history`. Only the first history set
    /// counts; returns whether this one did.
    pub fn set_history(&self, history: crate::history::History) -> bool {
        self.history.set(history).is_ok()
    }

    /// The call history (a disabled one when none was set).
    pub fn history(&self) -> crate::history::History {
        self.history.get().cloned().unwrap_or_default()
    }

    /// Hands a call that ended to the call history, if one is set; never waits.
    fn record_history(&self, call: crate::history::EndedCall<'_>, outcome: &Outcome) {
        if let Some(history) = self.history.get() {
            history.call_ended(call, outcome);
        }
    }

    /// The rules this hub follows.
    pub fn settings(&self) -> HubSettings {
        self.settings
    }

    /// A fresh connection (link) ID.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The ring timeout for an invitation that asks for `asked` seconds: the default when it
    /// names none or 0, at most [`MAX_RING_TIMEOUT_SECS`].
    pub fn ring_timeout_secs(&self, asked: Option<u32>) -> u32 {
        match asked {
            None | Some(0) => self.settings.ring_timeout_secs,
            Some(secs) => secs.min(MAX_RING_TIMEOUT_SECS),
        }
    }

    /// How many users are online.
    pub fn online_users(&self) -> usize {
        self.lock().users.len()
    }

    /// Whether `user` has a logged-in device (connected or away).
    pub fn is_online(&self, user: &str) -> bool {
        self.lock().users.contains_key(user)
    }

    /// How many devices `user` is logged in on.
    pub fn devices(&self, user: &str) -> usize {
        self.lock().users.get(user).map_or(0, IdSet::len)
    }

    /// How many of `user`'s devices are away: their socket was lost and they wait for a
    /// resume.
    pub fn away_devices(&self, user: &str) -> usize {
        let st = self.lock();
        st.conns_of(user)
            .filter(|d| st.conns.get(d).is_some_and(|c| c.handle.is_none()))
            .count()
    }

    /// How many calls ring or are active.
    pub fn calls(&self) -> usize {
        self.lock().calls.len()
    }

    /// How many users are in a call, ringing or active.
    pub fn busy_users(&self) -> usize {
        self.lock().busy.len()
    }

    /// Logs socket `link` in as `login.user` (whose UserSig the caller has verified) and sends
    /// it `LoggedIn`.
    ///
    /// When the login resumes a session of the user that still holds every message after the
    /// client's `seq`, the socket takes that device over (cutting off its old socket, if still
    /// bound) and hears the kept messages after `LoggedIn { resumed: true }`. Otherwise it is a
    /// new device (with the ID `link`; a device of the resumed session that can not be
    /// resumed is removed first): it hears `LoggedIn { resumed: false }`, then what it needs
    /// to know about the user's call (the invitation when the call rings for the user,
    /// `CallElsewhere` when the user has it on another device), then the answer to its call
    /// claim, if it has one (see `restore`).
    ///
    /// In single-device mode the user's older devices are told `KickedOut` and closed (code
    /// 1000); otherwise a new device beyond [`HubSettings::max_devices`] is refused.
    pub fn login(&self, link: ConnId, login: Login) -> Result<Joined, HubError> {
        let Login {
            user,
            handle,
            ice_servers,
            expires_in_secs,
            resume,
            may_create_call,
        } = login;
        let user = user.as_str();
        let mut st = self.lock();
        let logged_in = |session: &str, resumed| ServerMsg::LoggedIn {
            user_id: user.to_owned(),
            ice_servers: ice_servers.clone(),
            expires_in_secs,
            relay_only: self.settings.relay_only,
            session: session.to_owned(),
            resumed,
        };
        let (resume_seq, claim, session) = match resume {
            Some(Resume { session, seq, call }) => (seq, call, session),
            None => (0, None, String::new()),
        };
        let stale = match Self::find_session(&st, user, &session) {
            Some(device) if st.conns[&device].replay.can_resume(resume_seq) => {
                let msg = logged_in(&session, true);
                self.resume(&mut st, device, link, handle, msg, resume_seq);
                self.finish(&mut st);
                return Ok(Joined {
                    device,
                    resumed: true,
                    created_call: false,
                });
            }
            other => other,
        };

        let older = st.conns_of(user).filter(|&d| Some(d) != stale).count();
        if !self.settings.single_device && older >= self.settings.max_devices as usize {
            info!(
                user,
                link,
                devices = older,
                "login refused: too many devices"
            );
            return Err(HubError::TooManyDevices(self.settings.max_devices));
        }
        if let Some(stale) = stale {
            info!(
                user,
                device = stale,
                link,
                "the session can not be resumed: it ends, and a new one starts"
            );
            self.remove_conn(&mut st, stale, Gone::Disconnected);
        }
        let older: Vec<ConnId> = st.conns_of(user).collect();
        let device = link;
        st.mark_presence(user);
        let conn = Conn::new(user, link, handle);
        let msg = logged_in(&conn.session, false);
        st.conns.insert(device, conn);
        st.users.entry(user.to_owned()).or_default().insert(device);
        st.send_unsequenced(device, msg);
        info!(user, device, devices = older.len() + 1, "logged in");
        if self.settings.single_device {
            for old in older {
                info!(
                    user,
                    device = old,
                    by = device,
                    "device replaced by a newer login"
                );
                self.remove_conn(&mut st, old, Gone::Replaced);
            }
        }
        // A claim of the user's current call is answered by the claim's handling; briefing
        // the device would tell it of its own call as if it were elsewhere.
        let claims_current = claim
            .as_ref()
            .is_some_and(|claim| st.busy.get(user) == Some(&claim.call_id));
        if !claims_current {
            Self::brief_new_device(&mut st, device, user);
        }
        let created_call = match claim {
            Some(claim) => self.restore(&mut st, device, user, claim, may_create_call),
            None => false,
        };
        self.finish(&mut st);
        Ok(Joined {
            device,
            resumed: false,
            created_call,
        })
    }

    /// Removes `device` at once, as after a clean close of its socket. A ringing call keeps
    /// ringing on the callee's other devices (or waits, when none is left); a caller that
    /// leaves a ringing call cancels it; a party that leaves an active call ends it as
    /// [`Outcome::ConnectionLost`]. Does nothing for a device that is not logged in.
    pub fn logout(&self, device: ConnId) {
        let mut st = self.lock();
        if let Some(c) = st.conns.get(&device) {
            info!(user = %c.user, device, "disconnected");
        }
        self.remove_conn(&mut st, device, Gone::Disconnected);
        self.finish(&mut st);
    }

    /// Handles a message from logged-in device `conn`. The answers, and what the other
    /// devices and party hear, are queued on the devices' outboxes; a refusal is returned
    /// for the caller to send as [`ServerMsg::Error`] (with the `Invite`'s `req` when it
    /// answers one).
    pub fn handle(&self, conn: ConnId, msg: ClientMsg) -> Result<(), HubError> {
        self.handle_on(conn, None, msg)
    }

    /// [`Hub::handle`] for a message that came on socket `link`: refused as
    /// [`HubError::NotLoggedIn`] when the device has moved to another socket since.
    pub fn handle_from(
        &self,
        device: ConnId,
        link: ConnId,
        msg: ClientMsg,
    ) -> Result<(), HubError> {
        self.handle_on(device, Some(link), msg)
    }

    /// Handles `msg` from `conn`, checking that it came on the device's socket when `link`
    /// says which.
    fn handle_on(
        &self,
        conn: ConnId,
        link: Option<ConnId>,
        msg: ClientMsg,
    ) -> Result<(), HubError> {
        let mut st = self.lock();
        let user = st
            .conns
            .get(&conn)
            .filter(|c| link.is_none_or(|link| c.link == link))
            .map(|c| c.user.clone())
            .ok_or(HubError::NotLoggedIn)?;
        let result = match msg {
            ClientMsg::Login { .. } => Err(HubError::AlreadyLoggedIn),
            // The connection checks renewals itself; one that reaches the hub changes nothing.
            ClientMsg::Renew { .. } => Ok(()),
            ClientMsg::Ping => {
                st.send_unsequenced(conn, ServerMsg::Pong);
                Ok(())
            }
            ClientMsg::Ack { seq } => Self::ack(&mut st, conn, seq),
            ClientMsg::Invite {
                req,
                callee,
                call_type,
                timeout_secs,
            } => self.invite(&mut st, conn, user, req, callee, call_type, timeout_secs),
            ClientMsg::Accept { call_id } => self.accept(&mut st, conn, &user, &call_id),
            ClientMsg::Reject { call_id } => self.reject(&mut st, conn, &user, &call_id),
            ClientMsg::Cancel { call_id } => self.cancel(&mut st, conn, &user, &call_id),
            ClientMsg::Hangup { call_id, failure } => {
                self.hangup(&mut st, conn, user, &call_id, failure)
            }
            ClientMsg::Signal { call_id, signal } => {
                Self::signal(&mut st, conn, &user, &call_id, signal)
            }
            ClientMsg::MediaConnected { call_id } => {
                Self::media_connected(&mut st, conn, &user, &call_id)
            }
            ClientMsg::MediaInterrupted { call_id } => {
                self.media_interrupted(&mut st, conn, &user, &call_id)
            }
            ClientMsg::Watch { users } => Self::watch(&mut st, conn, users),
        };
        self.finish(&mut st);
        result
    }

    /// Tells a device that just logged in about its user's call, if there is one.
    fn brief_new_device(st: &mut State, conn: ConnId, user: &str) {
        let Some(call) = st.busy.get(user).and_then(|id| st.calls.get(id)) else {
            return;
        };
        let msg = match call.invitation() {
            Some(invited) if call.callee == user => {
                info!(call_id = %call.id, user, conn, "invitation delivered to a device that logged in");
                st.ringing_dirty.insert(call.id.clone());
                invited
            }
            _ => ServerMsg::CallElsewhere {
                call_id: call.id.clone(),
                peer: call.peer_of(user).clone(),
            },
        };
        st.send(conn, msg);
    }

    /// Takes device `conn` out of the hub, ending its call as `why` demands. A replaced
    /// device is told why and closed; a stuck one has its connection's task stopped.
    fn remove_conn(&self, st: &mut State, conn: ConnId, why: Gone) {
        let Some(user) = st.conns.get(&conn).map(|c| c.user.clone()) else {
            return;
        };
        st.mark_presence(&user);
        if let Some(call_id) = st.busy.get(&user).cloned() {
            let call = &st.calls[&call_id];
            let ringing = call.is_ringing();
            match (call.role_of(conn, &user), ringing) {
                (Some(Role::Caller), true) => {
                    let outcome = Outcome::Cancelled { disconnected: true };
                    self.end_call(st, &call_id, outcome);
                }
                (Some(Role::Callee), true) => {
                    // The invitation rings on the callee's other devices, or waits for one.
                    st.ringing_dirty.insert(call_id);
                }
                (Some(_), false) => {
                    let outcome = match why {
                        Gone::Replaced => Outcome::Failed {
                            message: format!("{user} logged in elsewhere"),
                        },
                        Gone::Disconnected | Gone::Stuck => {
                            Outcome::ConnectionLost { user: user.clone() }
                        }
                    };
                    self.end_call(st, &call_id, outcome);
                }
                (None, _) => {}
            }
        }
        match why {
            Gone::Replaced => {
                st.send(
                    conn,
                    ServerMsg::Error {
                        code: ErrorCode::KickedOut,
                        message: "logged in elsewhere".into(),
                        req: None,
                    },
                );
                st.queue(
                    conn,
                    Outgoing::Close {
                        code: CLOSE_NORMAL,
                        reason: "logged in elsewhere",
                    },
                );
            }
            Gone::Stuck => {
                let handle = st.conns.get(&conn).and_then(|c| c.handle.as_ref());
                if let Some(task) = handle.and_then(|h| h.task.as_ref()) {
                    task.abort();
                }
            }
            Gone::Disconnected => {}
        }
        if let Some(c) = st.conns.remove(&conn) {
            st.unwatch(conn, &c.watching);
        }
        if let Some(conns) = st.users.get_mut(&user) {
            conns.remove(&conn);
            if conns.is_empty() {
                st.users.remove(&user);
            }
        }
    }

    /// Ends every operation: disconnects the connections whose outbox overflowed, then tells
    /// callers how many devices ring and watchers who came or went, until nothing is left.
    fn finish(&self, st: &mut State) {
        loop {
            if let Some(conn) = st.stuck.pop() {
                match st.conns.get(&conn).map(|c| c.handle.is_some()) {
                    Some(true) => warn!(
                        conn,
                        "outbox full: the connection does not read; disconnecting it"
                    ),
                    Some(false) => warn!(
                        conn,
                        "replay buffer full while away: the device can not resume; removing it"
                    ),
                    None => continue,
                }
                self.remove_conn(st, conn, Gone::Stuck);
                continue;
            }
            if let Some(call_id) = st.ringing_dirty.iter().next().cloned() {
                st.ringing_dirty.remove(&call_id);
                st.announce_ringing(&call_id);
                continue;
            }
            if let Some(user) = st.presence_dirty.keys().next().cloned() {
                let was_online = st.presence_dirty.remove(&user).unwrap_or(false);
                st.announce_presence(&user, was_online);
                continue;
            }
            break;
        }
    }

    /// Spawns a task that calls `then` on this hub after `secs` seconds, unless aborted.
    fn after(&self, secs: u32, then: impl FnOnce(&Hub) + Send + 'static) -> AbortHandle {
        let hub = self.me.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs.into())).await;
            if let Some(hub) = hub.upgrade() {
                then(&hub);
            }
        })
        .abort_handle()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every operation leaves the state consistent before it can panic, so a poisoned lock
        // is still usable; one bad request must not take the server down.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Queues `msg` for every device of `user`.
    fn send_user(&mut self, user: &str, msg: &ServerMsg) {
        let conns: Vec<ConnId> = self.conns_of(user).collect();
        for conn in conns {
            self.send(conn, msg.clone());
        }
    }

    /// The devices of `user`, oldest first.
    fn conns_of(&self, user: &str) -> impl Iterator<Item = ConnId> + '_ {
        self.users.get(user).into_iter().flatten().copied()
    }

    /// Notes that `user`'s devices are about to change, remembering whether they were online.
    fn mark_presence(&mut self, user: &str) {
        if !self.presence_dirty.contains_key(user) {
            let online = self.users.contains_key(user);
            self.presence_dirty.insert(user.to_owned(), online);
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod resume_tests;
