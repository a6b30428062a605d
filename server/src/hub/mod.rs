//! The hub: who is online, on which devices, who watches whose presence, and every call in
//! progress.
//!
//! All signaling decisions are made here. The hub is shared by every connection task behind one
//! [`std::sync::Mutex`] that is never held across an `.await`: each operation locks, decides,
//! queues the resulting messages on the connections' outboxes (bounded channels drained by each
//! connection's writer task) and unlocks. Queuing never waits: a connection whose outbox is full
//! does not read what it is sent, and is disconnected. Because every operation is one critical
//! section, races between devices (two accepts, two users calling each other) are decided by the
//! order in which their messages reach the lock, and every device of both parties hears an
//! outcome in the same step.
//!
//! A user may be logged in on up to [`HubSettings::max_devices`] connections ("devices") at once:
//! an invitation rings them all and the first to accept gets the call. With
//! [`HubSettings::single_device`] a new login replaces the older one instead (TRTCCalling's
//! behaviour, which tells the older one `KickedOut`).
//!
//! The rules for calls are in the `rules` module, presence in `presence`, the call record in
//! `call`.

mod call;
mod presence;
mod rules;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::{info, warn};
use webcall_protocol::{
    CallId, ClientMsg, ErrorCode, IceServer, Outcome, ServerMsg, UserId, UserIdError,
    DEFAULT_RING_TIMEOUT_SECS, MAX_RING_TIMEOUT_SECS, MAX_WATCHED,
};

use call::{Call, EndedCalls, Phase, Role};
pub use call::{MAX_HELD_BYTES, MAX_HELD_SIGNALS};

/// Identifies one WebSocket connection for the life of the server.
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

/// What a connection's writer task is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Send this message as a JSON text frame.
    Msg(ServerMsg),
    /// Send a close frame with this code and reason, then stop writing.
    Close { code: u16, reason: &'static str },
}

/// How the hub reaches a connection: its outbox, and the means to stop its writer when the
/// connection stops reading.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    outbox: mpsc::Sender<Outgoing>,
    writer: Option<AbortHandle>,
}

impl ConnHandle {
    /// A handle that queues on `outbox` and aborts `writer` (the task draining it into the
    /// socket) if the connection has to be cut off.
    pub fn new(outbox: mpsc::Sender<Outgoing>, writer: Option<AbortHandle>) -> Self {
        ConnHandle { outbox, writer }
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
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            ring_timeout_secs: DEFAULT_RING_TIMEOUT_SECS,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            max_devices: DEFAULT_MAX_DEVICES,
            single_device: false,
            relay_only: false,
        }
    }
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
    /// The caller sent more signals than are held while the call rings.
    #[error("too many signals before the callee accepted (at most {MAX_HELD_SIGNALS} messages, {MAX_HELD_BYTES} bytes)")]
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

/// Why a connection leaves the hub; decides how its call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    /// The socket closed, failed or fell silent.
    Disconnected,
    /// A newer login of the same user took over (single-device mode).
    Replaced,
    /// Its outbox overflowed: it does not read.
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
}

/// Everything behind the hub's lock.
#[derive(Debug, Default)]
struct State {
    /// Each online user's connections, oldest first.
    users: HashMap<UserId, BTreeSet<ConnId>>,
    /// Each logged-in connection.
    conns: HashMap<ConnId, Conn>,
    /// Every ringing or active call.
    calls: HashMap<CallId, Call>,
    /// The call each user is in, ringing or active, as caller or callee.
    busy: HashMap<UserId, CallId>,
    /// The connections watching each user's presence.
    watchers: HashMap<UserId, BTreeSet<ConnId>>,
    /// Calls that ended lately, for clear answers to late actions.
    ended: EndedCalls,
    /// Connections whose outbox overflowed during the current operation.
    stuck: Vec<ConnId>,
    /// Users whose devices came or went in this operation, with whether they were online
    /// before it; their watchers are told at its end if that changed.
    presence_dirty: HashMap<UserId, bool>,
    /// Ringing calls whose callee's devices came or went in this operation; their callers are
    /// told the new count at its end.
    ringing_dirty: HashSet<CallId>,
}

/// A logged-in connection.
#[derive(Debug)]
struct Conn {
    user: UserId,
    handle: ConnHandle,
    /// The user IDs whose presence it watches.
    watching: Vec<UserId>,
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
        };
        Arc::new_cyclic(|me| Hub {
            state: Mutex::default(),
            next_conn: AtomicU64::new(1),
            settings,
            me: me.clone(),
        })
    }

    /// The rules this hub follows.
    pub fn settings(&self) -> HubSettings {
        self.settings
    }

    /// A fresh connection ID.
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

    /// Whether `user` has a logged-in connection.
    pub fn is_online(&self, user: &str) -> bool {
        self.lock().users.contains_key(user)
    }

    /// How many devices `user` is logged in on.
    pub fn devices(&self, user: &str) -> usize {
        self.lock().users.get(user).map_or(0, BTreeSet::len)
    }

    /// How many calls ring or are active.
    pub fn calls(&self) -> usize {
        self.lock().calls.len()
    }

    /// How many users are in a call, ringing or active.
    pub fn busy_users(&self) -> usize {
        self.lock().busy.len()
    }

    /// Logs connection `conn` in as `user` (whose UserSig the caller has verified, and which
    /// expires in `expires_in_secs`) and sends it `LoggedIn` with `ice_servers`, then what it needs to know about the user's call: the
    /// invitation when the call rings for the user, `CallElsewhere` when the user has it on
    /// another device.
    ///
    /// In single-device mode the user's older connections are told `KickedOut` and closed
    /// (code 1000); otherwise a login beyond [`HubSettings::max_devices`] is refused.
    pub fn login(
        &self,
        conn: ConnId,
        user: &str,
        handle: ConnHandle,
        ice_servers: Vec<IceServer>,
        expires_in_secs: u64,
    ) -> Result<(), HubError> {
        let mut st = self.lock();
        let older: Vec<ConnId> = st
            .users
            .get(user)
            .map(|conns| conns.iter().copied().filter(|&c| c != conn).collect())
            .unwrap_or_default();
        if !self.settings.single_device && older.len() >= self.settings.max_devices as usize {
            info!(
                user,
                conn,
                devices = older.len(),
                "login refused: too many devices"
            );
            return Err(HubError::TooManyDevices(self.settings.max_devices));
        }
        st.mark_presence(user);
        st.conns.insert(
            conn,
            Conn {
                user: user.to_owned(),
                handle,
                watching: Vec::new(),
            },
        );
        st.users.entry(user.to_owned()).or_default().insert(conn);
        st.send(
            conn,
            ServerMsg::LoggedIn {
                user_id: user.to_owned(),
                ice_servers,
                expires_in_secs,
                relay_only: self.settings.relay_only,
            },
        );
        info!(user, conn, devices = older.len() + 1, "logged in");
        if self.settings.single_device {
            for old in older {
                info!(
                    user,
                    conn = old,
                    by = conn,
                    "connection replaced by a newer login"
                );
                self.remove_conn(&mut st, old, Gone::Replaced);
            }
        }
        Self::brief_new_device(&mut st, conn, user);
        self.finish(&mut st);
        Ok(())
    }

    /// Removes connection `conn` after its socket closed or fell silent. A ringing call keeps
    /// ringing on the callee's other devices (or waits, when none is left); a caller that leaves
    /// a ringing call cancels it; a party that leaves an active call ends it as failed. Does
    /// nothing for a connection that is not logged in.
    pub fn logout(&self, conn: ConnId) {
        let mut st = self.lock();
        if let Some(c) = st.conns.get(&conn) {
            info!(user = %c.user, conn, "disconnected");
        }
        self.remove_conn(&mut st, conn, Gone::Disconnected);
        self.finish(&mut st);
    }

    /// Handles a message from logged-in connection `conn`. The answers, and what the other
    /// devices and party hear, are queued on the connections' outboxes; a refusal is returned
    /// for the caller to send as [`ServerMsg::Error`] (with the `Invite`'s `req` when it
    /// answers one).
    pub fn handle(&self, conn: ConnId, msg: ClientMsg) -> Result<(), HubError> {
        let mut st = self.lock();
        let user = st
            .conns
            .get(&conn)
            .map(|c| c.user.clone())
            .ok_or(HubError::NotLoggedIn)?;
        let result = match msg {
            ClientMsg::Login { .. } => Err(HubError::AlreadyLoggedIn),
            // The connection checks renewals itself; one that reaches the hub changes nothing.
            ClientMsg::Renew { .. } => Ok(()),
            ClientMsg::Ping => {
                st.send(conn, ServerMsg::Pong);
                Ok(())
            }
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
        let msg = match &call.phase {
            Phase::Ringing { rings_until, .. } if call.callee == user => {
                let left = rings_until.saturating_duration_since(tokio::time::Instant::now());
                // Round up: the dialog must not claim less time than there is.
                let timeout_secs = left.as_millis().div_ceil(1000).max(1) as u32;
                info!(call_id = %call.id, user, conn, "invitation delivered to a device that logged in");
                st.ringing_dirty.insert(call.id.clone());
                ServerMsg::Invited {
                    call_id: call.id.clone(),
                    caller: call.caller.clone(),
                    call_type: call.call_type,
                    timeout_secs,
                }
            }
            _ => ServerMsg::CallElsewhere {
                call_id: call.id.clone(),
                peer: call.peer_of(user).clone(),
            },
        };
        st.send(conn, msg);
    }

    /// Takes connection `conn` out of the hub, ending its call as `why` demands. A replaced
    /// connection is told why and closed; a stuck one has its writer stopped.
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
                    let message = match why {
                        Gone::Replaced => format!("{user} logged in elsewhere"),
                        Gone::Disconnected | Gone::Stuck => format!("{user} disconnected"),
                    };
                    self.end_call(st, &call_id, Outcome::Failed { message });
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
                if let Some(writer) = st.conns.get(&conn).and_then(|c| c.handle.writer.as_ref()) {
                    writer.abort();
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
                if st.conns.contains_key(&conn) {
                    warn!(
                        conn,
                        "outbox full: the connection does not read; disconnecting it"
                    );
                    self.remove_conn(st, conn, Gone::Stuck);
                }
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
    /// Queues `msg` for connection `conn`.
    fn send(&mut self, conn: ConnId, msg: ServerMsg) {
        self.queue(conn, Outgoing::Msg(msg));
    }

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

    /// Queues `out` for connection `conn`, noting the connection as stuck when its outbox is
    /// full. A connection that is gone is skipped.
    fn queue(&mut self, conn: ConnId, out: Outgoing) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = c.handle.outbox.try_send(out) {
            self.stuck.push(conn);
        }
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
