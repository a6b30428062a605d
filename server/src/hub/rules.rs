//! The rules of a call, decided under the hub's lock: invite (with busy, offline waiting and
//! glare), accept (first device wins), reject, cancel, hang-up, the relaying of signals, the
//! ring and connect timers, audio that is interrupted while the other party's device is away,
//! and the one outcome every call ends with.

use tokio::time::{Duration, Instant};
use tracing::{debug, info};
use webcall_protocol::{
    validate_user_id, CallType, Outcome, ServerMsg, Signal, UserId, MAX_FAILURE_LEN,
};

use super::call::{
    describe, Call, Ended, HeldSignals, Interrupted, Phase, Role, TimerGuard, UNBOUND,
};
use super::{ConnId, Hub, HubError, State};

/// How an accepted call was accepted, which decides what the accepting device is told.
pub(super) enum AcceptedBy {
    /// The device sent `Accept`.
    Accept,
    /// The device's own `Invite` (request `req`) crossed the call: glare.
    Glare { req: u32 },
}

impl Hub {
    /// `Invite`: checks the request, then merges it with a crossing call from the callee
    /// (glare), or creates the call: busy at once when the callee is in a call, ringing every
    /// device of the callee otherwise, or waiting for the callee to log in when none is online.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn invite(
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
        if let Some(call) = st.busy.get(&caller).and_then(|id| st.calls.get(id)) {
            // Glare: the callee's call to this user rings here. The call placed first stands,
            // and this invitation answers it.
            if call.is_ringing() && call.caller == callee && call.callee == caller {
                let call_id = call.id.clone();
                info!(%call_id, %caller, %callee, "glare: the crossing invitations merge into one call");
                self.activate(st, &call_id, conn, AcceptedBy::Glare { req });
                return Ok(());
            }
            return Err(HubError::AlreadyInCall(match call.role_of(conn, &caller) {
                _ if call.is_ringing() && call.callee == caller => {
                    "you have an incoming call: answer or reject it first"
                }
                Some(_) => "you already have a call going",
                None => "you are in a call on another device",
            }));
        }

        let call_id = uuid::Uuid::new_v4().to_string();
        let ringing = st.conns_of(&callee).count() as u32;
        st.send(
            conn,
            ServerMsg::CallCreated {
                req,
                call_id: call_id.clone(),
                callee: callee.clone(),
                ringing,
            },
        );
        if st.busy.contains_key(&callee) {
            info!(%call_id, %caller, %callee, "busy");
            let placed_ms = crate::history::unix_now_ms();
            let call = crate::history::EndedCall {
                call_id: &call_id,
                caller: &caller,
                callee: &callee,
                placed_ms,
                talked_secs: None,
            };
            self.record_history(call, &Outcome::Busy);
            st.send(
                conn,
                ServerMsg::CallEnded {
                    call_id,
                    outcome: Outcome::Busy,
                },
            );
            return Ok(());
        }

        let timeout_secs = self.ring_timeout_secs(timeout_secs);
        let timer = self.ring_timer(&call_id, timeout_secs);
        let invited = ServerMsg::Invited {
            call_id: call_id.clone(),
            caller: caller.clone(),
            call_type,
            timeout_secs,
        };
        st.send_user(&callee, &invited);
        let elsewhere = ServerMsg::CallElsewhere {
            call_id: call_id.clone(),
            peer: callee.clone(),
        };
        let others: Vec<ConnId> = st.conns_of(&caller).filter(|&c| c != conn).collect();
        for other in others {
            st.send(other, elsewhere.clone());
        }
        if ringing == 0 {
            info!(%call_id, %caller, %callee, timeout_secs, "callee offline: the invitation waits");
        } else {
            info!(%call_id, %caller, %callee, timeout_secs, devices = ringing, "ringing");
        }
        st.busy.insert(caller.clone(), call_id.clone());
        st.busy.insert(callee.clone(), call_id.clone());
        st.calls.insert(
            call_id.clone(),
            Call {
                id: call_id,
                caller,
                caller_conn: conn,
                callee,
                placed_ms: crate::history::unix_now_ms(),
                call_type,
                phase: Phase::Ringing {
                    held: HeldSignals::default(),
                    rings_until: Instant::now() + Duration::from_secs(timeout_secs.into()),
                    _timer: Some(timer),
                },
                announced_ringing: ringing,
                pending: HeldSignals::default(),
                restore_timer: None,
            },
        );
        Ok(())
    }

    /// `Accept`: the first callee device to accept a ringing call gets it.
    pub(super) fn accept(
        &self,
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
    ) -> Result<(), HubError> {
        let (role, call) = st.party(conn, user, call_id)?;
        match (role, call.is_ringing()) {
            (Role::Callee, true) => {
                self.activate(st, call_id, conn, AcceptedBy::Accept);
                Ok(())
            }
            (Role::Caller, _) => Err(HubError::WrongState("only the callee can accept")),
            (Role::Callee, false) => {
                Err(HubError::WrongState("you have already accepted this call"))
            }
        }
    }

    /// `Reject`: any callee device rejects a ringing call for all of them.
    pub(super) fn reject(
        &self,
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
    ) -> Result<(), HubError> {
        let (role, call) = st.party(conn, user, call_id)?;
        match (role, call.is_ringing()) {
            (Role::Callee, true) => {
                self.end_call(st, call_id, Outcome::Rejected);
                Ok(())
            }
            (Role::Caller, _) => Err(HubError::WrongState("only the callee can reject")),
            (Role::Callee, false) => Err(HubError::WrongState(
                "the call is already accepted: hang up instead",
            )),
        }
    }

    /// `Cancel`: the caller withdraws a ringing call.
    pub(super) fn cancel(
        &self,
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
    ) -> Result<(), HubError> {
        let (role, call) = st.party(conn, user, call_id)?;
        match (role, call.is_ringing()) {
            (Role::Caller, true) => {
                let outcome = Outcome::Cancelled {
                    disconnected: false,
                };
                self.end_call(st, call_id, outcome);
                Ok(())
            }
            (Role::Callee, _) => Err(HubError::WrongState("only the caller can cancel")),
            (Role::Caller, false) => Err(HubError::WrongState(
                "the call is already accepted: hang up instead",
            )),
        }
    }

    /// `Hangup`: ends the call whatever its phase: a cancel or a reject while it rings, a
    /// hang-up (or a failure, when the party says its side broke) once accepted.
    pub(super) fn hangup(
        &self,
        st: &mut State,
        conn: ConnId,
        user: UserId,
        call_id: &str,
        failure: Option<String>,
    ) -> Result<(), HubError> {
        let (role, call) = st.party(conn, &user, call_id)?;
        let outcome = match (&call.phase, role) {
            (Phase::Ringing { .. }, Role::Caller) => Outcome::Cancelled {
                disconnected: false,
            },
            (Phase::Ringing { .. }, Role::Callee) => Outcome::Rejected,
            (Phase::Active { .. }, _) if failure.is_some() => Outcome::Failed {
                message: format!("{user}: {}", bounded(failure.unwrap_or_default())),
            },
            (Phase::Active { since, .. }, _) => Outcome::HungUp {
                by: user,
                duration_secs: since.elapsed().as_secs(),
            },
        };
        self.end_call(st, call_id, outcome);
        Ok(())
    }

    /// `Signal`: relayed to the other party of an active call; held while the call rings when
    /// the caller sends it, or while the other party's device is not back (a restored call).
    pub(super) fn signal(
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
        signal: Signal,
    ) -> Result<(), HubError> {
        let (role, _) = st.party(conn, user, call_id)?;
        let call = st.calls.get_mut(call_id).ok_or(HubError::NoSuchCall)?;
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
        if to == UNBOUND {
            call.pending
                .push(signal)
                .map_err(|_| HubError::TooManyHeld)?;
            debug!(
                call_id,
                "signal held until the other party's device is back"
            );
            return Ok(());
        }
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

    /// `MediaConnected`: a party's audio flows (again), so the connect limit no longer applies.
    pub(super) fn media_connected(
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
    ) -> Result<(), HubError> {
        let (role, _) = st.party(conn, user, call_id)?;
        match st.calls.get_mut(call_id).map(|call| &mut call.phase) {
            Some(Phase::Active {
                connected,
                interrupted,
                ..
            }) => {
                *interrupted.of(role) = false;
                if !*connected {
                    *connected = true;
                    debug!(call_id, user, "audio connected");
                }
                Ok(())
            }
            _ => Err(HubError::WrongState("the call is not accepted yet")),
        }
    }

    /// `MediaInterrupted`: a party's audio stopped. When the other party's device is away (or
    /// not back after a restart), that party vanished with its network: the call ends as its
    /// connection lost, at once. Otherwise the report is kept, in case the other party's
    /// device goes away later ([`Hub::device_away`]).
    pub(super) fn media_interrupted(
        &self,
        st: &mut State,
        conn: ConnId,
        user: &str,
        call_id: &str,
    ) -> Result<(), HubError> {
        let (role, call) = st.party(conn, user, call_id)?;
        if call.is_ringing() {
            return Err(HubError::WrongState("the call is not accepted yet"));
        }
        let (other, other_conn) = call.side(role.other());
        let other = other.clone();
        if !st.is_connected(other_conn) {
            info!(call_id, user, %other, "audio interrupted while the other party is away: connection lost");
            self.end_call(st, call_id, Outcome::ConnectionLost { user: other });
            return Ok(());
        }
        if let Some(Phase::Active { interrupted, .. }) =
            st.calls.get_mut(call_id).map(|call| &mut call.phase)
        {
            *interrupted.of(role) = true;
            debug!(call_id, user, "audio interrupted");
        }
        Ok(())
    }

    /// `device` of `user` just went away (its socket was lost): if its call is accepted and
    /// the other party already reported its audio interrupted, both the device's network and
    /// its audio are gone, and the call ends as its connection lost, at once.
    pub(super) fn device_away(&self, st: &mut State, device: ConnId, user: &str) {
        let Some(call_id) = st.busy.get(user).cloned() else {
            return;
        };
        let Some(call) = st.calls.get(&call_id) else {
            return;
        };
        let Some(role) = call.role_of(device, user) else {
            return;
        };
        let peer_interrupted = match &call.phase {
            Phase::Active { interrupted, .. } => match role {
                Role::Caller => interrupted.callee,
                Role::Callee => interrupted.caller,
            },
            Phase::Ringing { .. } => false,
        };
        if peer_interrupted {
            info!(%call_id, user, device, "gone while the other party's audio is interrupted: connection lost");
            let outcome = Outcome::ConnectionLost {
                user: user.to_owned(),
            };
            self.end_call(st, &call_id, outcome);
        }
    }

    /// Makes ringing call `call_id` active on callee device `conn`: the caller and that device
    /// hear it is accepted, the callee's other devices that it was answered elsewhere, and the
    /// device gets the signals the caller sent meanwhile. With `conn` [`UNBOUND`] (a restored
    /// call accepted on a device that is not back yet) the signals wait for that device.
    pub(super) fn activate(&self, st: &mut State, call_id: &str, conn: ConnId, by: AcceptedBy) {
        let connect_timer = self.connect_timer(call_id);
        let Some(call) = st.calls.get_mut(call_id) else {
            return;
        };
        let phase = std::mem::replace(
            &mut call.phase,
            Phase::Active {
                callee_conn: conn,
                since: Instant::now(),
                connected: false,
                interrupted: Interrupted::default(),
                _connect_timer: connect_timer,
            },
        );
        let held = match phase {
            Phase::Ringing { held, .. } if conn == UNBOUND => {
                call.pending = held;
                Vec::new()
            }
            Phase::Ringing { mut held, .. } => held.take(),
            Phase::Active { .. } => Vec::new(),
        };
        let (caller, caller_conn, callee) =
            (call.caller.clone(), call.caller_conn, call.callee.clone());
        info!(call_id, %caller, %callee, conn, held = held.len(), "accepted");
        let accepted = ServerMsg::Accepted {
            call_id: call_id.to_owned(),
        };
        st.send(caller_conn, accepted.clone());
        st.send(
            conn,
            match by {
                AcceptedBy::Accept => accepted,
                AcceptedBy::Glare { req } => ServerMsg::CallMerged {
                    req,
                    call_id: call_id.to_owned(),
                    caller,
                },
            },
        );
        let elsewhere = ServerMsg::AnsweredElsewhere {
            call_id: call_id.to_owned(),
        };
        let others: Vec<ConnId> = st.conns_of(&callee).filter(|&c| c != conn).collect();
        for other in others {
            st.send(other, elsewhere.clone());
        }
        st.deliver(conn, call_id, held);
    }

    /// A timer that ends `call_id` as unanswered in `secs` seconds if it still rings then.
    pub(super) fn ring_timer(&self, call_id: &str, secs: u32) -> TimerGuard {
        let call_id = call_id.to_owned();
        TimerGuard(self.after(secs, move |hub| hub.ring_timeout(&call_id)))
    }

    /// A timer that fails `call_id` when the connect limit passes, unless a party has reported
    /// its audio by then.
    pub(super) fn connect_timer(&self, call_id: &str) -> TimerGuard {
        let call_id = call_id.to_owned();
        let secs = self.settings.connect_timeout_secs;
        TimerGuard(self.after(secs, move |hub| hub.connect_timeout(&call_id, secs)))
    }

    /// The ring timer of `call_id` went off: if it still rings, nobody answered.
    fn ring_timeout(&self, call_id: &str) {
        let mut st = self.lock();
        let Some(call) = st.calls.get(call_id).filter(|call| call.is_ringing()) else {
            return;
        };
        let offline = !st.users.contains_key(&call.callee);
        self.end_call(&mut st, call_id, Outcome::NoAnswer { offline });
        self.finish(&mut st);
    }

    /// The connect timer of `call_id` went off: if no party has reported audio, the call fails.
    fn connect_timeout(&self, call_id: &str, secs: u32) {
        let mut st = self.lock();
        let waiting = matches!(
            st.calls.get(call_id).map(|call| &call.phase),
            Some(Phase::Active {
                connected: false,
                ..
            })
        );
        if waiting {
            let message = format!("the audio did not connect within {secs} s");
            self.end_call(&mut st, call_id, Outcome::Failed { message });
            self.finish(&mut st);
        }
    }

    /// Ends call `call_id` with `outcome`: every device of both parties hears `CallEnded`, in
    /// this one step, and both users are free again.
    pub(super) fn end_call(&self, st: &mut State, call_id: &str, outcome: Outcome) {
        let Some(call) = st.calls.remove(call_id) else {
            return;
        };
        for user in [&call.caller, &call.callee] {
            if st.busy.get(user).is_some_and(|id| id == call_id) {
                st.busy.remove(user);
            }
        }
        info!(call_id, caller = %call.caller, callee = %call.callee, ?outcome, "call ended");
        let talked_secs = match &call.phase {
            Phase::Active { since, .. } => Some(since.elapsed().as_secs()),
            Phase::Ringing { .. } => None,
        };
        let ended = crate::history::EndedCall {
            call_id: &call.id,
            caller: &call.caller,
            callee: &call.callee,
            placed_ms: call.placed_ms,
            talked_secs,
        };
        self.record_history(ended, &outcome);
        let ended = ServerMsg::CallEnded {
            call_id: call.id.clone(),
            outcome: outcome.clone(),
        };
        st.send_user(&call.caller, &ended);
        st.send_user(&call.callee, &ended);
        st.ended.insert(
            call.id,
            Ended {
                caller: call.caller,
                callee: call.callee,
                outcome,
            },
        );
    }
}

impl State {
    /// Whether `device` is logged in with a socket bound (not away, not [`UNBOUND`]).
    pub(super) fn is_connected(&self, device: ConnId) -> bool {
        self.conns.get(&device).is_some_and(|c| c.handle.is_some())
    }

    /// Sends `signals` of call `call_id` to device `to`, in order.
    pub(super) fn deliver(&mut self, to: ConnId, call_id: &str, signals: Vec<Signal>) {
        for signal in signals {
            self.send(
                to,
                ServerMsg::Signal {
                    call_id: call_id.to_owned(),
                    signal,
                },
            );
        }
    }

    /// The role of connection `conn` (of `user`) in call `call_id`, and the call; or why the
    /// connection may not act on it.
    pub(super) fn party(
        &self,
        conn: ConnId,
        user: &str,
        call_id: &str,
    ) -> Result<(Role, &Call), HubError> {
        let Some(call) = self.calls.get(call_id) else {
            return Err(match self.ended.get(call_id) {
                Some(ended) if ended.caller == user || ended.callee == user => {
                    HubError::CallOver(describe(&ended.outcome))
                }
                _ => HubError::NoSuchCall,
            });
        };
        if let Some(role) = call.role_of(conn, user) {
            return Ok((role, call));
        }
        Err(if user == call.caller {
            HubError::WrongState("the call is on another of your devices")
        } else if user == call.callee {
            HubError::WrongState("the call was answered on another device")
        } else {
            HubError::NoSuchCall
        })
    }

    /// Tells the caller of ringing call `call_id` how many devices ring now, if that changed.
    pub(super) fn announce_ringing(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id).filter(|call| call.is_ringing()) else {
            return;
        };
        let devices = self.conns_of(&call.callee).count() as u32;
        if devices == call.announced_ringing {
            return;
        }
        let caller_conn = call.caller_conn;
        if let Some(call) = self.calls.get_mut(call_id) {
            call.announced_ringing = devices;
        }
        debug!(call_id, devices, "ringing devices changed");
        self.send(
            caller_conn,
            ServerMsg::Ringing {
                call_id: call_id.to_owned(),
                devices,
            },
        );
    }
}

/// `failure` cut to [`MAX_FAILURE_LEN`] bytes, on a character boundary.
fn bounded(mut failure: String) -> String {
    if failure.len() > MAX_FAILURE_LEN {
        let mut end = MAX_FAILURE_LEN;
        while !failure.is_char_boundary(end) {
            end -= 1;
        }
        failure.truncate(end);
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_cut_on_a_character_boundary() {
        assert_eq!(bounded("short".into()), "short");
        let long = "é".repeat(MAX_FAILURE_LEN);
        let cut = bounded(long);
        assert!(cut.len() <= MAX_FAILURE_LEN);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
