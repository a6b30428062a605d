//! Calls restored from the claims of their parties: after a server restart (or when a session
//! could not be resumed) a client logs in afresh with a [`CallClaim`] of the call it is in, and
//! the hub takes its word for a call it does not know, as long as the two parties' claims
//! agree.
//!
//! The first claim of an unknown call creates it, with the claimant's side bound to its device
//! and the other side [`UNBOUND`]; the other party's claim binds that side. A call whose other
//! party does not claim it within [`HubSettings::restore_window_secs`] ends: a ringing call
//! whose caller is not back as `Cancelled { disconnected: true }`, an accepted one as
//! `ConnectionLost` of the party that did not come back. A claim of a call that ended meanwhile
//! is answered with its `CallEnded`. A claim that does not fit (another peer, the wrong side,
//! a party busy in another call) is refused: the claimant device alone hears `CallEnded`
//! with `Failed` and the reason, and nothing else changes.
//!
//! A claim of a call the claimant left ([`ClaimPhase::Left`]: its `Cancel`, `Reject` or
//! `Hangup` may have died with the old server) ends a call the hub knows that way, and is
//! remembered among the ended calls when the hub does not know it, so that the other party's
//! claim, coming later, hears the call ended the way the user ended it.
//!
//! [`HubSettings::restore_window_secs`]: super::HubSettings::restore_window_secs

use tokio::time::{Duration, Instant};
use tracing::info;
use webcall_protocol::{
    validate_user_id, CallClaim, CallType, ClaimPhase, Outcome, ServerMsg, UserId,
    MAX_RING_TIMEOUT_SECS,
};

use super::call::{Call, Ended, HeldSignals, Interrupted, Phase, TimerGuard, UNBOUND};
use super::rules::AcceptedBy;
use super::{ConnId, Hub, State};

impl Hub {
    /// Answers the call claim of `device` of `user`, which just logged in afresh: binds the
    /// device to the call it claims, restores the call when unknown, tells it how the call
    /// ended, or refuses the claim. `may_create` says whether an unknown call may be created.
    /// Returns whether one was.
    pub(super) fn restore(
        &self,
        st: &mut State,
        device: ConnId,
        user: &str,
        claim: CallClaim,
        may_create: bool,
    ) -> bool {
        let CallClaim {
            call_id,
            peer,
            caller,
            phase,
        } = claim;
        if let Err(e) = validate_user_id(&peer) {
            refuse(st, device, user, &call_id, format!("invalid peer ID: {e}"));
            return false;
        }
        if peer == user {
            refuse(
                st,
                device,
                user,
                &call_id,
                "you cannot call yourself".into(),
            );
            return false;
        }
        if let ClaimPhase::Left { accepted, secs } = phase {
            self.claimed_leave(st, device, user, call_id, peer, caller, accepted, secs);
            return false;
        }
        if st.calls.contains_key(&call_id) {
            self.rejoin(st, device, user, &call_id, &peer, caller, &phase);
            return false;
        }
        if tell_ended(st, device, user, &call_id) {
            return false;
        }
        if uuid::Uuid::parse_str(&call_id).is_err() {
            refuse(st, device, user, &call_id, "not a call ID".into());
            return false;
        }
        if st.busy.contains_key(user) {
            refuse(st, device, user, &call_id, "you are in another call".into());
            return false;
        }
        if st.busy.contains_key(&peer) {
            let why = format!("{peer} is in another call");
            refuse(st, device, user, &call_id, why);
            return false;
        }
        if !may_create {
            let why = "too many calls in a short time: try again later".into();
            refuse(st, device, user, &call_id, why);
            return false;
        }
        self.recreate(st, device, user, call_id, peer, caller, phase);
        true
    }

    /// The claim of a call the claimant left (its `Cancel`, `Reject` or `Hangup` may have died
    /// with the old server): a call the hub knows ends so, a call that ended is told how, and a
    /// call the hub does not know is remembered as ended so, for the other party's claim.
    #[allow(clippy::too_many_arguments)]
    fn claimed_leave(
        &self,
        st: &mut State,
        device: ConnId,
        user: &str,
        call_id: String,
        peer: UserId,
        claims_caller: bool,
        accepted: bool,
        secs: u64,
    ) {
        let (caller, callee) = parties(user, peer, claims_caller);
        if let Some(call) = st.calls.get(&call_id) {
            if call.caller != caller || call.callee != callee {
                refuse(
                    st,
                    device,
                    user,
                    &call_id,
                    "the call is not as you claim it".into(),
                );
                return;
            }
            let outcome = match &call.phase {
                Phase::Ringing { .. } if claims_caller => Outcome::Cancelled {
                    disconnected: false,
                },
                Phase::Ringing { .. } => Outcome::Rejected,
                Phase::Active { since, .. } => Outcome::HungUp {
                    by: user.to_owned(),
                    duration_secs: since.elapsed().as_secs(),
                },
            };
            info!(%call_id, user, device, ?outcome, "restore: the claimant had left the call; it ends so");
            self.end_call(st, &call_id, outcome);
            return;
        }
        if tell_ended(st, device, user, &call_id) {
            return;
        }
        if uuid::Uuid::parse_str(&call_id).is_err() {
            refuse(st, device, user, &call_id, "not a call ID".into());
            return;
        }
        let outcome = match (accepted, claims_caller) {
            (true, _) => Outcome::HungUp {
                by: user.to_owned(),
                duration_secs: secs,
            },
            (false, true) => Outcome::Cancelled {
                disconnected: false,
            },
            (false, false) => Outcome::Rejected,
        };
        info!(%call_id, user, device, ?outcome, "restore: a call the server did not know was left; remembered as ended");
        let talked_secs = accepted.then_some(secs);
        let ended = crate::history::EndedCall {
            call_id: &call_id,
            caller: &caller,
            callee: &callee,
            placed_ms: crate::history::unix_now_ms().saturating_sub(secs.saturating_mul(1000)),
            talked_secs,
        };
        self.record_history(ended, &outcome);
        st.send(
            device,
            ServerMsg::CallEnded {
                call_id: call_id.clone(),
                outcome: outcome.clone(),
            },
        );
        st.ended.insert(
            call_id,
            Ended {
                caller,
                callee,
                outcome,
            },
        );
    }

    /// The claim of a call the hub knows: binds the claimant's side if it fits the record.
    #[allow(clippy::too_many_arguments)]
    fn rejoin(
        &self,
        st: &mut State,
        device: ConnId,
        user: &str,
        call_id: &str,
        peer: &str,
        claims_caller: bool,
        phase: &ClaimPhase,
    ) {
        let Some(call) = st.calls.get(call_id) else {
            return;
        };
        let claim_accepted = matches!(phase, ClaimPhase::Accepted { .. });
        if claims_caller && call.caller == user && call.callee == peer {
            if call.caller_conn != UNBOUND {
                let why = "the call is on another of your devices".into();
                refuse(st, device, user, call_id, why);
                return;
            }
            let ringing = call.is_ringing();
            if let Some(call) = st.calls.get_mut(call_id) {
                call.caller_conn = device;
            }
            if ringing && claim_accepted {
                // The callee accepted on a device that is not back yet.
                info!(
                    call_id,
                    user, device, "restore: the caller is back and says the call was accepted"
                );
                self.activate(st, call_id, UNBOUND, AcceptedBy::Accept);
                self.start_restore_timer(st, call_id);
            } else if ringing {
                info!(
                    call_id,
                    user, device, "restore: the caller is back; the call rings"
                );
                let devices = st.conns_of(peer).count() as u32;
                if let Some(call) = st.calls.get_mut(call_id) {
                    call.announced_ringing = devices;
                }
                let msg = ServerMsg::Ringing {
                    call_id: call_id.to_owned(),
                    devices,
                };
                st.send(device, msg);
            } else {
                info!(
                    call_id,
                    user, device, "restore: the caller is back in the accepted call"
                );
                let accepted = ServerMsg::Accepted {
                    call_id: call_id.to_owned(),
                };
                st.send(device, accepted);
                self.deliver_pending(st, call_id, device);
            }
        } else if !claims_caller && call.callee == user && call.caller == peer {
            match (call.callee_conn(), claim_accepted) {
                (None, false) => {
                    // The device rings already (its claim says so): it is not invited again,
                    // but the caller hears that it rings.
                    info!(
                        call_id,
                        user, device, "restore: the call rings on the callee's device again"
                    );
                    st.ringing_dirty.insert(call_id.to_owned());
                }
                (None, true) => {
                    info!(
                        call_id,
                        user, device, "restore: the callee's accept is applied again"
                    );
                    self.activate(st, call_id, device, AcceptedBy::Accept);
                }
                (Some(UNBOUND), true) => {
                    info!(
                        call_id,
                        user, device, "restore: the callee is back in the accepted call"
                    );
                    if let Some(Phase::Active { callee_conn, .. }) =
                        st.calls.get_mut(call_id).map(|call| &mut call.phase)
                    {
                        *callee_conn = device;
                    }
                    // A callee that was still waiting for the answer to its accept.
                    let accepted = ServerMsg::Accepted {
                        call_id: call_id.to_owned(),
                    };
                    st.send(device, accepted);
                    self.deliver_pending(st, call_id, device);
                }
                (Some(_), _) => {
                    let why = "the call was answered on another device".into();
                    refuse(st, device, user, call_id, why);
                    return;
                }
            }
        } else {
            let why = "the call is not as you claim it".into();
            refuse(st, device, user, call_id, why);
            return;
        }
        if let Some(call) = st.calls.get_mut(call_id) {
            if call.is_bound() && call.restore_timer.take().is_some() {
                info!(call_id, "restore: both parties are back");
            }
        }
    }

    /// Creates call `call_id`, which the hub does not know, from the claim of `device` of
    /// `user` (neither party busy): the claimant's side is bound, the other waits for its
    /// claim (a ringing callee: for any of its devices, as for an invitation).
    #[allow(clippy::too_many_arguments)]
    fn recreate(
        &self,
        st: &mut State,
        device: ConnId,
        user: &str,
        call_id: String,
        peer: UserId,
        claims_caller: bool,
        phase: ClaimPhase,
    ) {
        let (caller, callee) = parties(user, peer, claims_caller);
        let now = Instant::now();
        let caller_conn = if claims_caller { device } else { UNBOUND };
        let (phase, ring_secs) = match phase {
            ClaimPhase::Ringing { secs_left } => {
                let secs = secs_left.clamp(1, MAX_RING_TIMEOUT_SECS);
                let phase = Phase::Ringing {
                    held: HeldSignals::default(),
                    rings_until: now + Duration::from_secs(secs.into()),
                    _timer: Some(self.ring_timer(&call_id, secs)),
                };
                (phase, Some(secs))
            }
            // Answered by `claimed_leave` before a call is ever created.
            ClaimPhase::Left { .. } => return,
            ClaimPhase::Accepted { secs, connected } => {
                let phase = Phase::Active {
                    callee_conn: if claims_caller { UNBOUND } else { device },
                    since: now.checked_sub(Duration::from_secs(secs)).unwrap_or(now),
                    connected,
                    interrupted: Interrupted::default(),
                    _connect_timer: self.connect_timer(&call_id),
                };
                (phase, None)
            }
        };
        let ringing_devices = st.conns_of(&callee).count() as u32;
        let talked_ms = match &phase {
            Phase::Active { since, .. } => since.elapsed().as_millis() as u64,
            Phase::Ringing { .. } => 0,
        };
        let mut call = Call {
            id: call_id.clone(),
            caller: caller.clone(),
            caller_conn,
            callee: callee.clone(),
            placed_ms: crate::history::unix_now_ms().saturating_sub(talked_ms),
            call_type: CallType::Audio,
            phase,
            announced_ringing: ringing_devices,
            pending: HeldSignals::default(),
            restore_timer: None,
        };
        if !call.is_bound() {
            call.restore_timer = Some(self.restore_timer(&call_id));
        }
        info!(
            %call_id, %caller, %callee, device, claimant_is_caller = claims_caller,
            ringing = ring_secs.is_some(),
            "restore: a call the server did not know is restored from a claim"
        );

        // Every device of both parties but the claimant (whose claim says what it knows) hears
        // of the call as it would have: the callee's ring while it rings, the others have it
        // elsewhere.
        let invitation = call.invitation();
        let notices: Vec<(ConnId, ServerMsg)> = [(&caller, &callee), (&callee, &caller)]
            .into_iter()
            .flat_map(|(party, other)| {
                let elsewhere = ServerMsg::CallElsewhere {
                    call_id: call_id.clone(),
                    peer: other.clone(),
                };
                let msg = match &invitation {
                    Some(invited) if *party == callee => invited.clone(),
                    _ => elsewhere,
                };
                st.conns_of(party)
                    .filter(|&d| d != device)
                    .map(move |d| (d, msg.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        st.busy.insert(caller.clone(), call_id.clone());
        st.busy.insert(callee.clone(), call_id.clone());
        st.calls.insert(call_id.clone(), call);
        for (to, msg) in notices {
            st.send(to, msg);
        }
        if claims_caller && ring_secs.is_some() {
            let msg = ServerMsg::Ringing {
                call_id,
                devices: ringing_devices,
            };
            st.send(device, msg);
        } else if !claims_caller && ring_secs.is_none() {
            // A callee that was still waiting for the answer to its accept.
            st.send(device, ServerMsg::Accepted { call_id });
        }
    }

    /// A timer that ends `call_id` if a party is still not back after the restore window.
    fn restore_timer(&self, call_id: &str) -> TimerGuard {
        let call_id = call_id.to_owned();
        let secs = self.settings.restore_window_secs;
        TimerGuard(self.after(secs, move |hub| hub.restore_expired(&call_id)))
    }

    /// (Re)starts the restore window of `call_id`, whose other side is not back.
    fn start_restore_timer(&self, st: &mut State, call_id: &str) {
        let timer = self.restore_timer(call_id);
        if let Some(call) = st.calls.get_mut(call_id) {
            call.restore_timer = Some(timer);
        }
    }

    /// The restore window of `call_id` is over: if a party is still not back, the call ends.
    fn restore_expired(&self, call_id: &str) {
        let mut st = self.lock();
        let Some(call) = st.calls.get(call_id) else {
            return;
        };
        let outcome = match call.callee_conn() {
            None if call.caller_conn == UNBOUND => Outcome::Cancelled { disconnected: true },
            Some(_) if call.caller_conn == UNBOUND => Outcome::ConnectionLost {
                user: call.caller.clone(),
            },
            Some(UNBOUND) => Outcome::ConnectionLost {
                user: call.callee.clone(),
            },
            _ => return,
        };
        info!(
            call_id,
            ?outcome,
            "restore: a party did not claim the call in time"
        );
        self.end_call(&mut st, call_id, outcome);
        self.finish(&mut st);
    }

    /// Sends device `to`, just back in accepted call `call_id`, the signals held for it.
    fn deliver_pending(&self, st: &mut State, call_id: &str, to: ConnId) {
        let Some(call) = st.calls.get_mut(call_id) else {
            return;
        };
        let signals = call.pending.take();
        st.deliver(to, call_id, signals);
    }
}

/// The caller and the callee of a call that `user` claims with `peer`, as the caller when
/// `claims_caller`.
fn parties(user: &str, peer: UserId, claims_caller: bool) -> (UserId, UserId) {
    if claims_caller {
        (user.to_owned(), peer)
    } else {
        (peer, user.to_owned())
    }
}

/// Answers the claim of `device` of `user` to `call_id` when the call is among those that
/// ended: with its `CallEnded` when the user was a party, refused otherwise. Returns whether
/// the call was among them.
fn tell_ended(st: &mut State, device: ConnId, user: &str, call_id: &str) -> bool {
    let Some(ended) = st.ended.get(call_id) else {
        return false;
    };
    if ended.caller == user || ended.callee == user {
        info!(call_id, user, device, outcome = ?ended.outcome, "claim of a call that ended: told how");
        let msg = ServerMsg::CallEnded {
            call_id: call_id.to_owned(),
            outcome: ended.outcome.clone(),
        };
        st.send(device, msg);
    } else {
        refuse(st, device, user, call_id, "no such call".into());
    }
    true
}

/// Refuses the call claim of `device` of `user`: the device alone hears the call ended, with
/// the reason.
fn refuse(st: &mut State, device: ConnId, user: &str, call_id: &str, why: String) {
    info!(call_id, user, device, why, "restore: call claim refused");
    let msg = ServerMsg::CallEnded {
        call_id: call_id.to_owned(),
        outcome: Outcome::Failed { message: why },
    };
    st.send(device, msg);
}
