//! The hub: who is online, on which connections, and every call in progress.
//!
//! All signaling decisions are made here. The hub is shared by every connection task behind one
//! [`std::sync::Mutex`] that is never held across an `.await`: each operation locks, decides,
//! queues the resulting messages on the connections' outboxes (bounded channels drained by each
//! connection's writer task) and unlocks. Queuing never waits: a connection whose outbox is full
//! does not read what it is sent, and is disconnected.
//!
//! A user maps to a set of connections so that multi-device ringing can come later; for now a
//! new login replaces the user's older connection.

mod call;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use webcall_protocol::{
    validate_user_id, CallId, CallType, ClientMsg, ErrorCode, IceServer, Outcome, ServerMsg,
    Signal, UserId, UserIdError, MAX_RING_TIMEOUT_SECS,
};

use call::{Call, HeldSignals, Phase, Role, TimerGuard};
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
    /// The callee's ID is not a valid user ID.
    #[error("invalid callee ID: {0}")]
    BadUserId(UserIdError),
    /// The caller called themselves.
    #[error("you cannot call yourself")]
    CallSelf,
    /// A video call was asked for.
    #[error("video calls are not supported")]
    VideoUnsupported,
    /// The caller already has a call ringing or going.
    #[error("you already have a call going")]
    AlreadyInCall,
    /// The call does not exist, is over, or is not this connection's.
    #[error("no such call")]
    NoSuchCall,
    /// The action does not fit the caller's role or the call's phase.
    #[error("{0}")]
    WrongState(&'static str),
    /// The caller sent more signals than are held while the call rings.
    #[error("too many signals before the callee accepted (at most {MAX_HELD_SIGNALS} messages, {MAX_HELD_BYTES} bytes)")]
    TooManyHeld,
}

impl HubError {
    /// The protocol's code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::NotLoggedIn | HubError::AlreadyLoggedIn => ErrorCode::NotLoggedIn,
            HubError::BadUserId(_) => ErrorCode::BadUserId,
            HubError::CallSelf => ErrorCode::CallSelf,
            HubError::VideoUnsupported => ErrorCode::Unsupported,
            HubError::AlreadyInCall => ErrorCode::AlreadyInCall,
            HubError::NoSuchCall => ErrorCode::NoSuchCall,
            HubError::WrongState(_) | HubError::TooManyHeld => ErrorCode::WrongState,
        }
    }
}

/// Why a connection leaves the hub; decides how its call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    /// The socket closed or failed.
    Disconnected,
    /// A newer login of the same user took over.
    Replaced,
    /// Its outbox overflowed: it does not read.
    Stuck,
}

/// The signaling hub. Create with [`Hub::new`]; share the `Arc`.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<State>,
    next_conn: AtomicU64,
    /// Ring timeout for invitations that name none, in seconds.
    default_ring_secs: u32,
    /// This hub, for the ring timers it spawns.
    me: Weak<Hub>,
}

/// Everything behind the hub's lock.
#[derive(Debug, Default)]
struct State {
    /// Each online user's connections.
    users: HashMap<UserId, HashSet<ConnId>>,
    /// Each logged-in connection.
    conns: HashMap<ConnId, Conn>,
    /// Every ringing or active call.
    calls: HashMap<CallId, Call>,
    /// The call each user is in, ringing or active, as caller or callee.
    busy: HashMap<UserId, CallId>,
    /// Connections whose outbox overflowed during the current operation.
    stuck: Vec<ConnId>,
}

/// A logged-in connection.
#[derive(Debug)]
struct Conn {
    user: UserId,
    handle: ConnHandle,
}

impl Hub {
    /// A hub whose calls ring for `default_ring_secs` when the caller names no timeout (clamped
    /// to 1..=[`MAX_RING_TIMEOUT_SECS`]).
    pub fn new(default_ring_secs: u32) -> Arc<Hub> {
        Arc::new_cyclic(|me| Hub {
            state: Mutex::default(),
            next_conn: AtomicU64::new(1),
            default_ring_secs: default_ring_secs.clamp(1, MAX_RING_TIMEOUT_SECS),
            me: me.clone(),
        })
    }

    /// A fresh connection ID.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The ring timeout for an invitation that asks for `asked` seconds: the default when it
    /// names none or 0, at most [`MAX_RING_TIMEOUT_SECS`].
    pub fn ring_timeout_secs(&self, asked: Option<u32>) -> u32 {
        match asked {
            None | Some(0) => self.default_ring_secs,
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

    /// How many calls ring or are active.
    pub fn calls(&self) -> usize {
        self.lock().calls.len()
    }

    /// Logs connection `conn` in as `user` (whose UserSig the caller has verified) and sends it
    /// `LoggedIn` with `ice_servers`.
    ///
    /// The user's older connection, if any, is told `KickedOut: logged in elsewhere` and
    /// closed (code 1000); a call it was in ends `Failed` for both sides.
    pub fn login(&self, conn: ConnId, user: &str, handle: ConnHandle, ice_servers: Vec<IceServer>) {
        let mut st = self.lock();
        let older: Vec<ConnId> = st
            .users
            .get(user)
            .map(|conns| conns.iter().copied().filter(|&c| c != conn).collect())
            .unwrap_or_default();
        for old in older {
            info!(
                user,
                conn = old,
                by = conn,
                "connection replaced by a newer login"
            );
            self.remove_conn(&mut st, old, Gone::Replaced);
        }
        st.conns.insert(
            conn,
            Conn {
                user: user.to_owned(),
                handle,
            },
        );
        st.users.entry(user.to_owned()).or_default().insert(conn);
        st.send(
            conn,
            ServerMsg::LoggedIn {
                user_id: user.to_owned(),
                ice_servers,
            },
        );
        info!(user, conn, "logged in");
        self.cut_off_stuck(&mut st);
    }

    /// Removes connection `conn` after its socket closed. A call it was a party to ends for the
    /// other side: `Cancelled` when the caller left a ringing call, `Failed` otherwise. Does
    /// nothing for a connection that is not logged in.
    pub fn logout(&self, conn: ConnId) {
        let mut st = self.lock();
        if let Some(c) = st.conns.get(&conn) {
            info!(user = %c.user, conn, "disconnected");
        }
        self.remove_conn(&mut st, conn, Gone::Disconnected);
        self.cut_off_stuck(&mut st);
    }

    /// Handles a message from logged-in connection `conn`. The answers, and what the other
    /// party of a call hears, are queued on the connections' outboxes; a refusal is returned
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
            ClientMsg::Reject { call_id } => {
                let (role, ringing) = st.role(conn, &user, &call_id)?;
                match (role, ringing) {
                    (Role::Callee, true) => {
                        self.end_call(&mut st, &call_id, Outcome::Rejected);
                        Ok(())
                    }
                    (Role::Caller, _) => Err(HubError::WrongState("only the callee can reject")),
                    (Role::Callee, false) => Err(HubError::WrongState(
                        "the call is already accepted: hang up instead",
                    )),
                }
            }
            ClientMsg::Cancel { call_id } => {
                let (role, ringing) = st.role(conn, &user, &call_id)?;
                match (role, ringing) {
                    (Role::Caller, true) => {
                        self.end_call(&mut st, &call_id, Outcome::Cancelled);
                        Ok(())
                    }
                    (Role::Callee, _) => Err(HubError::WrongState("only the caller can cancel")),
                    (Role::Caller, false) => Err(HubError::WrongState(
                        "the call is already accepted: hang up instead",
                    )),
                }
            }
            ClientMsg::Hangup { call_id } => {
                let (role, _) = st.role(conn, &user, &call_id)?;
                let outcome = match (&st.calls[&call_id].phase, role) {
                    (Phase::Ringing { .. }, Role::Caller) => Outcome::Cancelled,
                    (Phase::Ringing { .. }, Role::Callee) => Outcome::Rejected,
                    (Phase::Active { since, .. }, _) => Outcome::HungUp {
                        by: user,
                        duration_secs: since.elapsed().as_secs(),
                    },
                };
                self.end_call(&mut st, &call_id, outcome);
                Ok(())
            }
            ClientMsg::Signal { call_id, signal } => {
                Self::signal(&mut st, conn, &user, &call_id, signal)
            }
        };
        self.cut_off_stuck(&mut st);
        result
    }

    /// `Invite`: checks the request, creates the call and rings the callee, or ends the call at
    /// once when the callee is offline or busy.
    #[allow(clippy::too_many_arguments)]
    fn invite(
        &self,
        st: &mut State,
        conn: ConnId,
        caller: UserId,
        req: u32,
        callee: UserId,
        call_type: CallType,
        timeout_secs: Option<u32>,
    ) -> Result<(), HubError> {
        validate_user_id(&callee).map_err(HubError::BadUserId)?;
        if callee == caller {
            return Err(HubError::CallSelf);
        }
        if call_type == CallType::Video {
            return Err(HubError::VideoUnsupported);
        }
        if st.busy.contains_key(&caller) {
            return Err(HubError::AlreadyInCall);
        }
        let call_id = uuid::Uuid::new_v4().to_string();
        st.send(
            conn,
            ServerMsg::CallCreated {
                req,
                call_id: call_id.clone(),
                callee: callee.clone(),
            },
        );
        let callee_conns: Vec<ConnId> = st
            .users
            .get(&callee)
            .map(|conns| conns.iter().copied().collect())
            .unwrap_or_default();
        let outcome = if callee_conns.is_empty() {
            Some(Outcome::Failed {
                message: format!("{callee} is offline"),
            })
        } else if st.busy.contains_key(&callee) {
            Some(Outcome::Busy)
        } else {
            None
        };
        if let Some(outcome) = outcome {
            info!(%call_id, %caller, %callee, ?outcome, "call ended before ringing");
            st.send(conn, ServerMsg::CallEnded { call_id, outcome });
            return Ok(());
        }

        let timeout_secs = self.ring_timeout_secs(timeout_secs);
        let timer = {
            let hub = self.me.clone();
            let call_id = call_id.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(timeout_secs.into())).await;
                if let Some(hub) = hub.upgrade() {
                    hub.ring_timeout(&call_id);
                }
            })
        };
        for &callee_conn in &callee_conns {
            st.send(
                callee_conn,
                ServerMsg::Invited {
                    call_id: call_id.clone(),
                    caller: caller.clone(),
                    call_type,
                    timeout_secs,
                },
            );
        }
        info!(%call_id, %caller, %callee, timeout_secs, "ringing");
        st.busy.insert(caller.clone(), call_id.clone());
        st.busy.insert(callee.clone(), call_id.clone());
        st.calls.insert(
            call_id.clone(),
            Call {
                id: call_id,
                caller,
                caller_conn: conn,
                callee,
                call_type,
                phase: Phase::Ringing {
                    held: HeldSignals::default(),
                    _timer: Some(TimerGuard(timer.abort_handle())),
                },
            },
        );
        Ok(())
    }

    /// `Accept`: the ringing call becomes active on `conn`; both sides hear `Accepted`, then the
    /// callee gets the held signals.
    fn accept(
        &self,
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
    ) -> Result<(), HubError> {
        let (role, ringing) = st.role(conn, user, call_id)?;
        match (role, ringing) {
            (Role::Callee, true) => {}
            (Role::Caller, _) => return Err(HubError::WrongState("only the callee can accept")),
            (Role::Callee, false) => {
                return Err(HubError::WrongState("the call is already accepted"))
            }
        }
        let call = st.calls.get_mut(call_id).expect("role() found the call");
        let phase = std::mem::replace(
            &mut call.phase,
            Phase::Active {
                callee_conn: conn,
                since: Instant::now(),
            },
        );
        let held = match phase {
            Phase::Ringing { mut held, .. } => held.take(),
            Phase::Active { .. } => unreachable!("role() said the call rings"),
        };
        let caller_conn = call.caller_conn;
        info!(
            call_id,
            caller = %call.caller,
            callee = user,
            call_type = ?call.call_type,
            held = held.len(),
            "accepted"
        );
        let accepted = ServerMsg::Accepted {
            call_id: call_id.to_owned(),
        };
        st.send(caller_conn, accepted.clone());
        st.send(conn, accepted);
        for signal in held {
            st.send(
                conn,
                ServerMsg::Signal {
                    call_id: call_id.to_owned(),
                    signal,
                },
            );
        }
        Ok(())
    }

    /// `Signal`: relayed to the other party of an active call; held while the call rings when
    /// the caller sends it.
    fn signal(
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
        signal: Signal,
    ) -> Result<(), HubError> {
        let (role, _) = st.role(conn, user, call_id)?;
        let call = st.calls.get_mut(call_id).expect("role() found the call");
        let to = match (&mut call.phase, role) {
            (Phase::Ringing { held, .. }, Role::Caller) => {
                held.push(signal).map_err(|_| HubError::TooManyHeld)?;
                debug!(call_id, "signal held until the callee accepts");
                return Ok(());
            }
            (Phase::Ringing { .. }, Role::Callee) => {
                return Err(HubError::WrongState("accept the call before signaling"))
            }
            (Phase::Active { callee_conn, .. }, Role::Caller) => *callee_conn,
            (Phase::Active { .. }, Role::Callee) => call.caller_conn,
        };
        debug!(call_id, from = conn, to, "signal relayed");
        st.send(
            to,
            ServerMsg::Signal {
                call_id: call_id.to_owned(),
                signal,
            },
        );
        Ok(())
    }

    /// The ring timer of `call_id` went off: if it still rings, nobody answered.
    fn ring_timeout(&self, call_id: &str) {
        let mut st = self.lock();
        if st.calls.get(call_id).is_some_and(Call::is_ringing) {
            self.end_call(&mut st, call_id, Outcome::NoAnswer);
            self.cut_off_stuck(&mut st);
        }
    }

    /// Ends call `call_id` with `outcome`: both parties hear `CallEnded` and are free again.
    fn end_call(&self, st: &mut State, call_id: &str, outcome: Outcome) {
        let Some(call) = st.calls.remove(call_id) else {
            return;
        };
        for user in [&call.caller, &call.callee] {
            if st.busy.get(user).is_some_and(|id| id == call_id) {
                st.busy.remove(user);
            }
        }
        let mut to = vec![call.caller_conn];
        match call.phase {
            Phase::Ringing { .. } => {
                to.extend(st.users.get(&call.callee).into_iter().flatten().copied())
            }
            Phase::Active { callee_conn, .. } => to.push(callee_conn),
        }
        info!(call_id, caller = %call.caller, callee = %call.callee, ?outcome, "call ended");
        for conn in to {
            st.send(
                conn,
                ServerMsg::CallEnded {
                    call_id: call.id.clone(),
                    outcome: outcome.clone(),
                },
            );
        }
    }

    /// Takes connection `conn` out of the hub, ending its call as `why` demands. A replaced
    /// connection is told why and closed; a stuck one has its writer stopped.
    fn remove_conn(&self, st: &mut State, conn: ConnId, why: Gone) {
        let Some(user) = st.conns.get(&conn).map(|c| c.user.clone()) else {
            return;
        };
        if let Some(call_id) = st.busy.get(&user).cloned() {
            let call = &st.calls[&call_id];
            let others_left = st
                .users
                .get(&user)
                .is_some_and(|conns| conns.iter().any(|&c| c != conn));
            let leaves_call = match call.role_of(conn, &user) {
                Some(Role::Caller) => true,
                // A ringing call keeps ringing while the callee has another device.
                Some(Role::Callee) => !call.is_ringing() || !others_left,
                None => false,
            };
            if leaves_call {
                let outcome = match (why, call.role_of(conn, &user), call.is_ringing()) {
                    (Gone::Disconnected, Some(Role::Caller), true) => Outcome::Cancelled,
                    (Gone::Replaced, ..) => Outcome::Failed {
                        message: format!("{user} logged in elsewhere"),
                    },
                    _ => Outcome::Failed {
                        message: format!("{user} disconnected"),
                    },
                };
                self.end_call(st, &call_id, outcome);
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
        st.conns.remove(&conn);
        if let Some(conns) = st.users.get_mut(&user) {
            conns.remove(&conn);
            if conns.is_empty() {
                st.users.remove(&user);
            }
        }
    }

    /// Disconnects every connection whose outbox overflowed, and any that overflow in turn.
    fn cut_off_stuck(&self, st: &mut State) {
        while let Some(conn) = st.stuck.pop() {
            if st.conns.contains_key(&conn) {
                warn!(
                    conn,
                    "outbox full: the connection does not read; disconnecting it"
                );
                self.remove_conn(st, conn, Gone::Stuck);
            }
        }
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

    /// The role of connection `conn` (of `user`) in call `call_id`, and whether the call rings.
    fn role(&self, conn: ConnId, user: &str, call_id: &str) -> Result<(Role, bool), HubError> {
        let call = self.calls.get(call_id).ok_or(HubError::NoSuchCall)?;
        let role = call.role_of(conn, user).ok_or(HubError::NoSuchCall)?;
        Ok((role, call.is_ringing()))
    }
}

#[cfg(test)]
mod tests;
